// remote_client.mjs: the SDK client (StreamableHTTPClientTransport) against `sealbox gateway http`
// whose servers are remote Streamable HTTP servers: server-everything in its streamableHttp mode,
// a second `sealbox gateway http`, and headers_server.mjs (which shows what reaches a remote).
//   node remote_client.mjs URL TOKEN
// Prints "ok …"/"FAIL …"; exit 1 on any failure.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';

const [url, token] = process.argv.slice(2);
let failures = 0;
const ok = (name) => console.log(`ok     ${name}`);
const bad = (name, detail) => { failures++; console.log(`FAIL   ${name}: ${detail}`); };
const check = (cond, name, detail) => (cond ? ok(name) : bad(name, detail));
const text = (r) => (r?.content ?? []).map((c) => c.text ?? '').join('');

async function connect() {
  const transport = new StreamableHTTPClientTransport(new URL(url),
    { requestInit: { headers: { Authorization: `Bearer ${token}` } } });
  const client = new Client({ name: 'sealbox-remote-test', version: '1.0.0' });
  await client.connect(transport);
  return { client, transport };
}

async function main() {
  const { client, transport } = await connect();
  const names = (await client.listTools()).tools.map((t) => t.name);
  check(names.includes('ev__echo') && names.includes('hdr__headers'), 'remote servers\' tools are listed, namespaced',
    names.join(','));
  check(names.includes('gw__t__echo'), 'a remote sealbox gateway\'s tools too (server gw, tool t__echo)', names.join(','));
  check(!names.includes('ev__get-tiny-image'), 'the policy hides a remote server\'s denied tool', 'listed');
  check(!names.some((n) => n.startsWith('down__') || n.startsWith('badauth__')),
    'unreachable and refusing remotes present nothing', names.filter((n) => /^(down|badauth)__/.test(n)).join(','));

  const echo = await client.callTool({ name: 'ev__echo', arguments: { message: 'over the wire' } });
  check(text(echo) === 'Echo: over the wire', 'tools/call to server-everything over Streamable HTTP', text(echo));
  let progress = 0;
  const lr = await client.callTool({ name: 'ev__trigger-long-running-operation', arguments: { duration: 1, steps: 3 } },
    undefined, { onprogress: () => { progress++; } });
  check(progress >= 2 && !lr.isError, 'progress from the remote\'s SSE answer reaches the agent', `${progress} notifications`);
  const calls = [];
  for (let i = 0; i < 12; i++) calls.push(client.callTool({ name: 'ev__echo', arguments: { message: `c${i}` } }));
  const res = (await Promise.all(calls)).map(text);
  check(res.every((t, i) => t === `Echo: c${i}`), 'concurrent calls to a remote matched to their requests', res.join(' '));
  const denied = await client.callTool({ name: 'ev__get-tiny-image', arguments: {} });
  check(denied.isError && /unknown tool/.test(text(denied)), '... and the denied tool is uncallable', text(denied));

  const chained = await client.callTool({ name: 'gw__t__echo', arguments: { message: 'two gateways' } });
  check(text(chained) === 'Echo: two gateways', 'through a remote sealbox gateway (its bearer token from a file)', text(chained));

  const h = JSON.parse(text(await client.callTool({ name: 'hdr__headers', arguments: {} })) || '{}');
  check(h['x-api-key'] === 'remote-secret-123', 'the server\'s configured header reaches it', JSON.stringify(h));
  check(!JSON.stringify(h).includes(token) && h.authorization === undefined,
    'the agent\'s bearer token is not passed through', JSON.stringify(h));
  check(h['mcp-protocol-version'] === '2025-11-25' && /^[0-9a-f-]{36}$/.test(h['mcp-session-id'] ?? ''),
    'the remote session id and protocol version are sent', JSON.stringify(h));

  // a notification on the remote's GET stream reaches the agent's GET stream
  let changed = 0;
  client.setNotificationHandler(ToolListChangedNotificationSchema, () => { changed++; });
  await client.callTool({ name: 'hdr__changed', arguments: {} });
  for (let i = 0; i < 50 && !changed; i++) await new Promise((r) => setTimeout(r, 100));
  check(changed >= 1, 'a list_changed on the remote\'s GET stream reaches the agent', `${changed}`);

  const resources = (await client.listResources()).resources;
  const first = resources.find((r) => r.name.startsWith('ev__'));
  const rd = first ? await client.readResource({ uri: first.uri }) : null;
  check(rd?.contents?.[0]?.uri === first?.uri, 'resources/read routed to the remote', JSON.stringify(rd).slice(0, 200));
  check(JSON.stringify(await client.subscribeResource({ uri: 'test://watched-resource' })) === '{}',
    'a subscription reaches the remote that offers them', 'refused');
  const pg = await client.getPrompt({ name: 'ev__simple-prompt', arguments: {} });
  check(Array.isArray(pg.messages) && pg.messages.length > 0, 'prompts/get to the remote', JSON.stringify(pg).slice(0, 200));

  await transport.terminateSession();
  await client.close();

  // a new session: its own remote sessions; the ended one was closed with DELETE
  const again = await connect();
  await new Promise((r) => setTimeout(r, 300));
  const d = text(await again.client.callTool({ name: 'hdr__deletes', arguments: {} }));
  check(Number(d) >= 1, 'ending the agent\'s session ends the remote sessions (DELETE)', d);
  // the remote forgets its sessions: the next call is refused with the reason, the server is gone
  await again.client.callTool({ name: 'hdr__forget', arguments: {} });
  await new Promise((r) => setTimeout(r, 200));
  const gone = await again.client.callTool({ name: 'hdr__headers', arguments: {} }).catch((e) => ({ err: e.message }));
  check(/session ended \(HTTP 404\)/.test(gone.err ?? text(gone)), 'a remote session that ended (404) is reported',
    JSON.stringify(gone).slice(0, 300));
  const after = await again.client.callTool({ name: 'ev__echo', arguments: { message: 'still' } });
  check(text(after) === 'Echo: still', 'the other remotes keep working', text(after));
  await again.transport.terminateSession();
  await again.client.close();
}

main().then(() => process.exit(failures ? 1 : 0), (e) => { console.log(`FAIL   uncaught: ${e.stack}`); process.exit(1); });
