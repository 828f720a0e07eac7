// relay_client.mjs: a real MCP client (@modelcontextprotocol/sdk) with sampling, elicitation and
// roots handlers, driving servers that send it requests through the sealbox gateway.
//   node relay_client.mjs SCENARIO stdio SEALBOX CONFIG STATE_DIR AGENT
//   node relay_client.mjs SCENARIO http URL TOKEN
//   node relay_client.mjs SCENARIO daemon SEALBOX GATEWAY_SOCKET AGENT TOKEN  (sealboxd --gateway)
// Scenarios: everything (server-everything e1/e2: sampling, elicitation, roots, two servers
// answered out of order), denied (an agent whose policy denies them), undeclared (a client that
// declares none), hostile (tests/mcp/mcp_testserver with $SREQ: flood, reused id, unknown method,
// cancellation, timeout, answers for ids never sent), remote (remote Streamable HTTP servers:
// server-everything and tests/mcp/headers_server.mjs). Prints "ok …"/"FAIL …"; exit 1 on failure.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  CallToolResultSchema, CreateMessageRequestSchema, ElicitRequestSchema, ListRootsRequestSchema,
} from '@modelcontextprotocol/sdk/types.js';

const [scenario, transportKind, ...rest] = process.argv.slice(2);
let failures = 0;
const ok = (name) => console.log(`ok     ${name} (${transportKind})`);
const bad = (name, detail) => { failures++; console.log(`FAIL   ${name} (${transportKind}): ${detail}`); };
const check = (cond, name, detail) => (cond ? ok(name) : bad(name, detail));
const text = (r) => (r?.content ?? []).map((c) => c.text ?? '').join('');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const seen = { sampling: [], elicitation: [], roots: 0, aborted: [] };

async function connect(declare = true) {
  const caps = declare ? { sampling: {}, elicitation: { form: {} }, roots: { listChanged: true } } : {};
  const client = new Client({ name: 'sealbox-relay-test', version: '1.0.0' }, { capabilities: caps });
  if (declare) {
    client.setRequestHandler(CreateMessageRequestSchema, async (req, extra) => {
      const prompt = req.params.messages.map((m) => m.content?.text ?? '').join(' ');
      seen.sampling.push(prompt);
      if (/hang|never mind/.test(prompt)) {
        // answers only when cancelled (which the gateway must forward); the SDK may abort the
        // signal before the handler runs when the cancellation arrives in the same read
        if (!extra.signal.aborted) await new Promise((resolve) => extra.signal.addEventListener('abort', resolve));
        seen.aborted.push(prompt);
        throw new Error('cancelled');
      }
      if (/slow/.test(prompt)) await sleep(600);
      return { role: 'assistant', content: { type: 'text', text: `answer-to:${prompt}` }, model: 'test-model' };
    });
    client.setRequestHandler(ElicitRequestSchema, async (req) => {
      seen.elicitation.push(req.params.message);
      const props = req.params.requestedSchema?.properties ?? {};
      const content = {};
      for (const [k, v] of Object.entries(props)) {
        if (v.type === 'string') content[k] = v.format === 'email' ? 'ada@example.org' : v.format === 'uri' ? 'https://example.org' : v.format === 'date' ? '2026-01-01' : 'Ada';
        else if (v.type === 'boolean') content[k] = true;
        else if (v.type === 'number' || v.type === 'integer') content[k] = v.minimum ?? 1;
        else if (v.enum) content[k] = v.enum[0];
      }
      for (const [k, v] of Object.entries(props)) if (!(k in content) && (v.enum || v.oneOf)) content[k] = (v.enum ?? v.oneOf.map((o) => o.const))[0];
      return { action: 'accept', content };
    });
    client.setRequestHandler(ListRootsRequestSchema, async () => {
      seen.roots++;
      return { roots: [{ uri: 'file:///data/relay-root', name: 'relay root' }] };
    });
  }
  let transport;
  if (transportKind === 'http') {
    const [url, token] = rest;
    transport = new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers: { Authorization: `Bearer ${token}` } } });
  } else if (transportKind === 'daemon') {
    const [sealbox, sock, agent, token] = rest;
    transport = new StdioClientTransport({
      command: sealbox, args: ['gateway', 'stdio', '--agent', agent, '--socket', sock],
      env: { ...process.env, SEALBOX_GATEWAY_TOKEN: token }, stderr: 'inherit',
    });
  } else {
    const [sealbox, config, stateDir, agent] = rest;
    transport = new StdioClientTransport({
      command: sealbox, args: ['gateway', 'stdio', '--config', config, '--agent', agent, '--state-dir', stateDir],
      stderr: 'inherit',
    });
  }
  await client.connect(transport);
  return client;
}

const call = (client, name, args = {}, timeout = 30000) =>
  client.request({ method: 'tools/call', params: { name, arguments: args } }, CallToolResultSchema, { timeout });

async function tools(client) {
  const r = await client.listTools();
  return r.tools.map((t) => t.name);
}

async function everything() {
  const client = await connect();
  const names = await tools(client);
  for (const s of ['e1', 'e2'])
    for (const t of ['trigger-sampling-request', 'trigger-elicitation-request', 'get-roots-list'])
      check(names.includes(`${s}__${t}`), `${s}__${t} is listed (the server was told the agent's capabilities)`, names.join(','));
  let r = await call(client, 'e1__trigger-sampling-request', { prompt: 'hello sampling', maxTokens: 5 });
  check(text(r).includes('answer-to:') && text(r).includes('hello sampling') && text(r).includes('test-model'),
    'sampling/createMessage reaches the agent and its answer the server', text(r).slice(0, 200));
  check(seen.sampling.some((p) => p.includes('hello sampling')), 'the sampling handler saw the prompt', JSON.stringify(seen.sampling));
  // two servers, answered out of order: e1's request is answered after e2's
  const [a, b] = await Promise.all([
    call(client, 'e1__trigger-sampling-request', { prompt: 'slow one for e1' }),
    (async () => { await sleep(100); return call(client, 'e2__trigger-sampling-request', { prompt: 'fast one for e2' }); })(),
  ]);
  check(text(a).includes('slow one for e1') && !text(a).includes('fast one') && text(b).includes('fast one for e2') && !text(b).includes('slow one'),
    'out-of-order answers reach the server that asked', `${text(a).slice(0, 120)} | ${text(b).slice(0, 120)}`);
  // several at once from one server
  const many = await Promise.all([1, 2, 3, 4].map((i) => call(client, 'e2__trigger-sampling-request', { prompt: `parallel ${i}` })));
  check(many.every((m, i) => text(m).includes(`parallel ${i + 1}`)), 'concurrent requests of one server are matched by id',
    many.map((m) => text(m).slice(0, 60)).join(' | '));
  r = await call(client, 'e1__trigger-elicitation-request');
  check(seen.elicitation.length === 1 && /Ada/.test(text(r)) && /accept/.test(text(r)), 'elicitation/create reaches the agent and its answer the server',
    text(r).slice(0, 300));
  r = await call(client, 'e2__get-roots-list');
  check(text(r).includes('file:///data/relay-root'), 'roots/list reaches the agent and its roots the server', text(r).slice(0, 200));
  check(seen.roots >= 1, 'the roots handler was called', String(seen.roots));
  await client.close();
}

async function denied() {
  const client = await connect();
  const names = await tools(client);
  check(!names.some((n) => /trigger-sampling-request|get-roots-list/.test(n)),
    'a server is not told capabilities the policy denies (its tools that need them are not offered)', names.join(','));
  check(names.includes('e1__trigger-elicitation-request') && names.includes('e2__trigger-elicitation-request'),
    'and is told those the policy allows it (elicitation for e*)', names.join(','));
  let r = await call(client, 't__sample', { prompt: 'denied' });
  check(/results=0 errors=1/.test(text(r)) && /agents\.denied\.sampling: \\?"deny\\?" \(the default\)/.test(text(r)),
    'a denied sampling request is refused to the server, naming the rule', text(r));
  r = await call(client, 't__elicit');
  check(/results=0 errors=1/.test(text(r)) && /agents\.denied\.elicitation: server \\?"t\\?" matches no entry/.test(text(r)),
    'elicitation allowed only for other servers is refused naming the rule', text(r));
  r = await call(client, 't__roots');
  check(/results=0 errors=1/.test(text(r)) && /agents\.denied\.roots: \\?"deny\\?"/.test(text(r)), 'roots denied explicitly', text(r));
  check(seen.sampling.length === 0 && seen.elicitation.length === 0 && seen.roots === 0, 'the agent saw none of them',
    JSON.stringify(seen));
  await client.close();
}

async function undeclared() {
  const client = await connect(false);
  const r = await call(client, 't__sample', { prompt: 'undeclared' });
  check(/results=0 errors=1/.test(text(r)) && /did not declare the sampling capability/.test(text(r)),
    'a request for a capability the agent did not declare is refused', text(r));
  await client.close();
}

async function hostile() {
  const client = await connect();
  let r = await call(client, 't__sample', { prompt: 'plain' });
  check(/results=1 errors=0/.test(text(r)) && text(r).includes('answer-to:plain'), 'the test server gets its sampling answer', text(r));
  r = await call(client, 't__elicit');
  check(/results=1 errors=0/.test(text(r)) && /"action":"accept"/.test(text(r)), 'the test server gets its elicitation answer', text(r));
  r = await call(client, 't__roots');
  check(/results=1 errors=0/.test(text(r)) && text(r).includes('relay-root'), 'the test server gets the roots', text(r));
  const before = seen.sampling.length;
  r = await call(client, 't__sreq_flood', {}, 60000);
  const m = /results=(\d+) errors=(\d+)/.exec(text(r));
  const relayed = seen.sampling.length - before;
  check(m && Number(m[1]) + Number(m[2]) === 300 && Number(m[1]) >= 1 && Number(m[1]) < 300 && Number(m[1]) === relayed &&
    /over 20 server requests per second|already wait for the agent/.test(text(r)),
    `a flood of 300 server requests: every one answered, ${m?.[1]} relayed, the rest refused by the limits`, text(r).slice(0, 400));
  r = await call(client, 't__sreq_dup');
  check(/results=1 errors=1/.test(text(r)) && /id already in use/.test(text(r)), 'a reused request id is refused while the first is open', text(r).slice(0, 300));
  r = await call(client, 't__sreq_other');
  check(/results=0 errors=1/.test(text(r)) && /tools\/call: method not found/.test(text(r)), 'a server request of another method is -32601', text(r).slice(0, 300));
  r = await call(client, 't__sreq_cancel');
  for (let i = 0; i < 50 && !seen.aborted.includes('never mind'); i++) await sleep(100);
  check(seen.aborted.includes('never mind'), "the server's notifications/cancelled reaches the agent's handler", JSON.stringify(seen.aborted));
  r = await call(client, 't__sample', { prompt: 'hang' }, 30000);
  check(/results=0 errors=1/.test(text(r)) && /the agent did not answer sampling\/createMessage within 3000 ms/.test(text(r)),
    'an unanswered relayed request times out toward the server', text(r).slice(0, 300));
  for (let i = 0; i < 50 && !seen.aborted.includes('hang'); i++) await sleep(100);
  check(seen.aborted.includes('hang'), 'and the agent is told it was cancelled', JSON.stringify(seen.aborted));
  r = await call(client, 't__sreq_bogus');
  check(text(r) === 'bogus answers sent', 'answers for ids the gateway never sent are dropped', text(r));
  r = await call(client, 't__echo', { message: 'still alive' });
  check(text(r) === 'Echo: still alive', 'the session still works after all of it', text(r));
  await client.close();
}

async function remote() {
  const client = await connect();
  const names = await tools(client);
  check(names.includes('ev__echo') && names.includes('hdr__headers'), 'the remote servers\' tools are listed', names.join(','));
  let r = await call(client, 'ev__echo', { message: 'via the monitor' });
  check(text(r) === 'Echo: via the monitor', 'a call reaches the remote server-everything', text(r));
  const many = await Promise.all([1, 2, 3].map((i) => call(client, 'ev__echo', { message: `c${i}` })));
  check(many.every((m, i) => text(m) === `Echo: c${i + 1}`), 'concurrent calls to a remote', many.map(text).join(','));
  r = await call(client, 'hdr__headers');
  const h = JSON.parse(text(r) || '{}');
  check(h['x-api-key'] === process.env.REMOTE_KEY, 'the configured header (read from a file by the monitor) reaches the remote', text(r).slice(0, 300));
  check(!JSON.stringify(h).includes('sbgw_'), "the agent's token does not", text(r).slice(0, 300));
  r = await call(client, 'down__x').catch((e) => ({ content: [{ text: String(e.message) }], isError: true }));
  check(r.isError && /unknown tool 'down__x'/.test(text(r)), 'an unreachable remote is left out of the session', text(r));
  // the relay works with remote servers too: server-everything's sampling over Streamable HTTP
  if (names.includes('ev__trigger-sampling-request')) {
    r = await call(client, 'ev__trigger-sampling-request', { prompt: 'remote sampling' });
    check(text(r).includes('answer-to:') && text(r).includes('remote sampling'), 'a remote server\'s sampling request reaches the agent', text(r).slice(0, 200));
  } else {
    bad('a remote server\'s sampling request reaches the agent', 'ev__trigger-sampling-request not listed');
  }
  await client.close();
}

const run = { everything, denied, undeclared, hostile, remote }[scenario];
if (!run) { console.log(`unknown scenario ${scenario}`); process.exit(2); }
try {
  await run();
} catch (e) {
  bad(`scenario ${scenario}`, e.stack ?? String(e));
}
process.exit(failures ? 1 : 0);
