// headers_server.mjs: a Streamable HTTP MCP server (@modelcontextprotocol/sdk, stateful) on
// 127.0.0.1 that shows what reaches a remote server through `sealbox gateway`: the tool
// `headers` returns the HTTP request headers of the call, `deletes` how many sessions were
// ended with DELETE, `changed` sends tools/list_changed on the session's GET stream, `forget`
// drops every session (the next request of one is 404).
//   node headers_server.mjs    -> prints "listening PORT"
import http from 'node:http';
import { randomUUID } from 'node:crypto';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';

const sessions = new Map();
let deletes = 0;
const text = (t) => ({ content: [{ type: 'text', text: t }] });

function make() {
  const s = new McpServer({ name: 'headers-server', version: '1.0.0' });
  s.registerTool('headers', { description: 'Returns the HTTP request headers of this call' },
    async (extra) => text(JSON.stringify(extra?.requestInfo?.headers ?? {})));
  s.registerTool('deletes', { description: 'How many sessions were ended with DELETE' },
    async () => text(String(deletes)));
  s.registerTool('changed', { description: 'Announces, on the GET stream, that its tool list changed' },
    async () => {
      setTimeout(() => s.sendToolListChanged(), 100);
      return text('announced');
    });
  s.registerTool('forget', { description: 'Forgets every session' }, async () => {
    setImmediate(() => sessions.clear());
    return text('forgotten');
  });
  return s;
}

const srv = http.createServer(async (req, res) => {
  const sid = req.headers['mcp-session-id'];
  let t = sid ? sessions.get(sid) : undefined;
  if (sid && !t) {
    res.writeHead(404, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ jsonrpc: '2.0', error: { code: -32001, message: 'Session not found' }, id: null }));
    return;
  }
  if (req.method === 'DELETE') deletes++;
  if (!t) {
    t = new StreamableHTTPServerTransport({ sessionIdGenerator: () => randomUUID(),
      onsessioninitialized: (id) => sessions.set(id, t) });
    await make().connect(t);
  }
  await t.handleRequest(req, res);
});
srv.listen(0, '127.0.0.1', () => console.log(`listening ${srv.address().port}`));
