// http_client.mjs: the official SDK client (StreamableHTTPClientTransport) and raw HTTP requests
// against `sealbox gateway http`, in front of the real npm servers in sandboxes.
//   node http_client.mjs URL TOKEN OTHER_TOKEN SEALBOX STATE_DIR
// Prints "ok …"/"FAIL …"; exit 1 on any failure.
import { execFileSync } from 'node:child_process';
import http from 'node:http';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

const [url, token, otherToken, sealbox, stateDir] = process.argv.slice(2);
let failures = 0;
const ok = (name) => console.log(`ok     ${name}`);
const bad = (name, detail) => { failures++; console.log(`FAIL   ${name}: ${detail}`); };
const check = (cond, name, detail) => (cond ? ok(name) : bad(name, detail));
const text = (r) => (r?.content ?? []).map((c) => c.text ?? '').join('');
const INIT = (v = '2025-11-25') => ({ jsonrpc: '2.0', id: 1, method: 'initialize',
  params: { protocolVersion: v, capabilities: {}, clientInfo: { name: 'raw', version: '0' } } });

// what content types POST answers came back with (the SDK reads JSON and SSE alike)
const postTypes = [];
const recordingFetch = async (u, init) => {
  const r = await fetch(u, init);
  if (init?.method === 'POST' && r.status === 200) postTypes.push(r.headers.get('content-type') ?? '');
  return r;
};

async function connect(tok = token) {
  const transport = new StreamableHTTPClientTransport(new URL(url),
    { requestInit: { headers: { Authorization: `Bearer ${tok}` } }, fetch: recordingFetch });
  const client = new Client({ name: 'sealbox-http-test', version: '1.0.0' });
  await client.connect(transport);
  return { client, transport };
}

// One raw request; returns {status, headers, body (text)}.
async function raw(method, body, headers = {}) {
  const h = { 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream', ...headers };
  const r = await fetch(url, { method, headers: h, body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: r.status, headers: r.headers, body: await r.text() };
}

// A raw session: initialize (+ initialized); returns its id and negotiated version.
async function rawSession(version = '2025-11-25', tok = token) {
  const r = await raw('POST', INIT(version), { Authorization: `Bearer ${tok}` });
  const sid = r.headers.get('mcp-session-id');
  const res = JSON.parse(r.body);
  const v = res.result?.protocolVersion;
  const n = await raw('POST', { jsonrpc: '2.0', method: 'notifications/initialized' },
    { Authorization: `Bearer ${tok}`, 'Mcp-Session-Id': sid, 'MCP-Protocol-Version': v });
  return { sid, v, status: r.status, initialized: n.status, ctype: r.headers.get('content-type') };
}

// node:http lets the Host header be set (fetch does not)
function rawHost(host) {
  return new Promise((resolve) => {
    const u = new URL(url);
    const req = http.request({ host: u.hostname, port: u.port, path: u.pathname, method: 'POST',
      headers: { Host: host, Authorization: `Bearer ${token}`, 'Content-Type': 'application/json',
        Accept: 'application/json, text/event-stream' } }, (res) => {
      let b = '';
      res.on('data', (d) => { b += d; });
      res.on('end', () => resolve({ status: res.statusCode, body: b }));
    });
    req.on('error', (e) => resolve({ status: 0, body: String(e) }));
    req.end(JSON.stringify(INIT()));
  });
}

async function sdk() {
  const { client, transport } = await connect();
  const sv = client.getServerVersion();
  check(sv?.name === 'sealbox-gateway', 'SDK over HTTP: serverInfo is the gateway', JSON.stringify(sv));
  check(/^[A-Za-z0-9_-]{43}$/.test(transport.sessionId ?? ''), 'a session id was issued', transport.sessionId);
  const tools = (await client.listTools()).tools.map((t) => t.name);
  check(tools.includes('everything__echo') && tools.includes('fs__read_text_file'), 'tools/list over HTTP',
    tools.join(','));
  const echo = await client.callTool({ name: 'everything__echo', arguments: { message: 'over http' } });
  check(text(echo) === 'Echo: over http', 'tools/call over HTTP', text(echo));
  const file = await client.callTool({ name: 'fs__read_text_file', arguments: { path: '/data/hello.txt' } });
  check(text(file).includes('hello from the host'), 'a second server behind the endpoint', text(file));

  check(!tools.includes('everything__get-tiny-image'), 'a denied tool is invisible over HTTP', 'listed');
  const denied = await client.callTool({ name: 'everything__get-tiny-image', arguments: {} });
  check(denied.isError === true && /unknown tool/.test(text(denied)), '... and uncallable (an isError result)',
    JSON.stringify(denied).slice(0, 200));
  const long = await client.callTool({ name: 'everything__echo', arguments: { message: 'x'.repeat(65) } });
  check(long.isError && /denied by the gateway policy.*maxLength/.test(text(long)),
    'an argument rule refuses over HTTP, naming the rule', text(long));

  // approval: pending at once, approved out of band, the retry goes through
  const pend = await client.callTool({ name: 'everything__get-sum', arguments: { a: 2, b: 3 } });
  const m = /pending approval (\d+)/.exec(text(pend));
  check(pend.isError && m, 'a call needing approval answers pending approval', text(pend));
  if (m) {
    execFileSync(sealbox, ['gateway', 'approve', m[1], '--state-dir', stateDir]);
    const sum = await client.callTool({ name: 'everything__get-sum', arguments: { a: 2, b: 3 } });
    check(!sum.isError && /5/.test(text(sum)), 'after approve, the same call goes through', text(sum));
  }

  // SSE response path: a request with a progress token is answered as an event stream, its
  // progress notifications on the same stream
  let progress = 0;
  const before = postTypes.length;
  const lr = await client.callTool({ name: 'everything__trigger-long-running-operation',
    arguments: { duration: 1, steps: 3 } }, undefined, { onprogress: () => { progress++; } });
  const types = postTypes.slice(before);
  check(!lr.isError && progress >= 2 && types.length === 1 && /text\/event-stream/.test(types[0]),
    'SSE response with progress notifications', `${progress} notifications, POST answered as ${types}`);
  const answered = postTypes.slice(0, before);
  if (process.env.SSE_ALWAYS === '1')
    check(answered.length >= 5 && answered.every((t) => /text\/event-stream/.test(t)),
      'with --sse every request is answered as an SSE stream', answered.join(' | '));
  else
    check(answered.filter((t) => /application\/json/.test(t)).length >= 5,
      'other requests were answered as JSON', answered.join(' | '));

  // concurrency over one session
  const calls = [];
  for (let i = 0; i < 16; i++) calls.push(client.callTool({ name: 'everything__echo', arguments: { message: `c${i}` } }));
  const res = (await Promise.all(calls)).map(text);
  check(res.every((t, i) => t === `Echo: c${i}`), 'concurrent POSTs matched to their requests', res.join(' '));

  // DELETE ends the session; the old id is then unknown
  const sid = transport.sessionId;
  await transport.terminateSession();
  const after = await raw('POST', { jsonrpc: '2.0', id: 9, method: 'tools/list' },
    { Authorization: `Bearer ${token}`, 'Mcp-Session-Id': sid, 'MCP-Protocol-Version': '2025-11-25' });
  check(after.status === 404, 'DELETE, then the session is 404', `${after.status} ${after.body}`);
  await client.close();

  // a fresh SDK client works (the gateway re-initializes per session)
  const again = await connect();
  const e2 = await again.client.callTool({ name: 'everything__echo', arguments: { message: 'again' } });
  check(text(e2) === 'Echo: again', 'a new session after DELETE', text(e2));
  await again.transport.terminateSession();
  await again.client.close();
}

async function rawChecks() {
  const auth = { Authorization: `Bearer ${token}` };
  let r = await raw('POST', INIT());
  check(r.status === 401 && /Bearer/.test(r.headers.get('www-authenticate') ?? '') && /Authorization: missing/.test(r.body),
    'no bearer token: 401 naming the header', `${r.status} ${r.body}`);
  r = await raw('POST', INIT(), { Authorization: 'Bearer sbgw_wrong' });
  check(r.status === 401 && /not one of http.tokens/.test(r.body), 'a wrong bearer token: 401', `${r.status} ${r.body}`);
  r = await raw('POST', INIT(), { Authorization: 'Basic dXNlcjpwYXNz' });
  check(r.status === 401 && /scheme must be Bearer/.test(r.body), 'another scheme: 401', `${r.status} ${r.body}`);
  r = await raw('POST', INIT(), { ...auth, Origin: 'http://evil.example' });
  check(r.status === 403 && /Origin: http:\/\/evil.example is not in http.allowed_origins/.test(r.body),
    'a foreign Origin: 403 naming it', `${r.status} ${r.body}`);
  r = await raw('POST', INIT(), { ...auth, Origin: 'null' });
  check(r.status === 403, 'Origin null: 403', `${r.status} ${r.body}`);
  r = await rawHost('rebind.evil.example:80');
  check(r.status === 403 && /Host: .* is not a loopback name/.test(r.body), 'a foreign Host on loopback: 403', `${r.status} ${r.body}`);

  const s = await rawSession();
  check(s.status === 200 && s.v === '2025-11-25' && s.initialized === 202 && /application\/json/.test(s.ctype),
    'raw initialize: JSON result, session id, 202 for the notification', JSON.stringify(s));
  const H = { ...auth, 'Mcp-Session-Id': s.sid, 'MCP-Protocol-Version': '2025-11-25' };
  r = await raw('POST', { jsonrpc: '2.0', id: 2, method: 'tools/list' }, { ...auth, Origin: 'http://localhost:6274', 'Mcp-Session-Id': s.sid, 'MCP-Protocol-Version': '2025-11-25' });
  check(r.status === 200 && JSON.parse(r.body).result?.tools?.length > 0, 'an allowed Origin passes', `${r.status}`);
  const port = Number(new URL(url).port);
  for (const o of [`http://localhost:${port}`, `http://127.0.0.1:${port}`, `http://[::1]:${port}`]) {
    r = await raw('POST', { jsonrpc: '2.0', id: 2, method: 'tools/list' }, { ...H, Origin: o });
    check(r.status === 200, `the listener's own origin ${o} passes`, `${r.status} ${r.body}`);
  }
  r = await raw('POST', { jsonrpc: '2.0', id: 2, method: 'tools/list' }, { ...H, Origin: `http://localhost:${port + 1}` });
  check(r.status === 403, 'a loopback origin on another port: 403', `${r.status} ${r.body}`);
  r = await raw('POST', { jsonrpc: '2.0', id: 2, method: 'tools/list' }, { ...H, Origin: `https://localhost:${port}` });
  check(r.status === 403, 'the own origin with another scheme: 403', `${r.status} ${r.body}`);
  r = await raw('POST', { jsonrpc: '2.0', id: 3, method: 'tools/list' }, { ...H, 'Mcp-Session-Id': 'A'.repeat(43) });
  check(r.status === 404 && /no such session/.test(r.body), 'an unknown session: 404', `${r.status} ${r.body}`);
  r = await raw('POST', { jsonrpc: '2.0', id: 3, method: 'tools/list' }, { ...H, 'Mcp-Session-Id': 'not a session' });
  check(r.status === 400 && /Mcp-Session-Id/.test(r.body), 'a malformed session id: 400 naming the header', `${r.status} ${r.body}`);
  r = await raw('POST', { jsonrpc: '2.0', id: 3, method: 'tools/list' }, auth);
  check(r.status === 400 && /Mcp-Session-Id: header required/.test(r.body), 'no session id after initialize: 400', `${r.status} ${r.body}`);
  r = await raw('POST', { jsonrpc: '2.0', id: 3, method: 'tools/list' }, { ...H, 'MCP-Protocol-Version': '1999-01-01' });
  check(r.status === 400 && /MCP-Protocol-Version: '1999-01-01' is not supported/.test(r.body), 'an unsupported protocol version: 400', `${r.status} ${r.body}`);
  r = await raw('POST', { jsonrpc: '2.0', id: 3, method: 'tools/list' }, { ...H, 'MCP-Protocol-Version': '2025-03-26' });
  check(r.status === 200, 'another supported version than the negotiated one is accepted (as the SDK server does)', `${r.status} ${r.body}`);
  r = await raw('POST', { jsonrpc: '2.0', id: 3, method: 'tools/list' }, { ...auth, 'Mcp-Session-Id': s.sid });
  check(r.status === 400 && /MCP-Protocol-Version: header required/.test(r.body), 'a missing version header on a 2025-11-25 session: 400', `${r.status} ${r.body}`);
  r = await raw('POST', { jsonrpc: '2.0', id: 3, method: 'tools/list' }, { ...H, Authorization: `Bearer ${otherToken}` });
  check(r.status === 404, "another agent's session: 404", `${r.status} ${r.body}`);
  r = await raw('POST', [{ jsonrpc: '2.0', id: 3, method: 'ping' }], H);
  check(r.status === 400 && JSON.parse(r.body).error?.code === -32600, 'a batch: 400 with -32600', `${r.status} ${r.body}`);
  r = await raw('POST', { jsonrpc: '2.0', id: 3, method: 'ping' }, { ...H, Accept: 'text/html' });
  check(r.status === 406 && /Accept/.test(r.body), 'an Accept without JSON or SSE: 406', `${r.status} ${r.body}`);
  r = await raw('POST', { jsonrpc: '2.0', id: 3, method: 'ping' }, { ...H, 'Content-Type': 'text/plain' });
  check(r.status === 415, 'a body that is not JSON: 415', `${r.status} ${r.body}`);
  r = await raw('PUT', { jsonrpc: '2.0', id: 3, method: 'ping' }, H);
  check(r.status === 405 && /GET, POST, DELETE/.test(r.headers.get('allow') ?? ''), 'PUT: 405 with Allow', `${r.status}`);
  r = await raw('POST', { jsonrpc: '2.0', id: 3, method: 'ping' }, { ...H, Accept: 'text/event-stream' });
  const data = /data: (.+)\n/.exec(r.body);
  check(r.status === 200 && /text\/event-stream/.test(r.headers.get('content-type') ?? '') && data &&
    JSON.parse(data[1]).id === 3, 'an SSE-only Accept gets an SSE response', `${r.status} ${r.body}`);
  r = await raw('POST', { jsonrpc: '2.0', id: 4, method: 'tools/call', params: { name: 'everything__echo', arguments: { message: 'raw' } } }, H);
  check(r.status === 200 && JSON.parse(r.body).result?.content?.[0]?.text === 'Echo: raw', 'raw tools/call', r.body.slice(0, 200));

  // the GET stream: one per session; a list_changed-style notification would go there
  const ac = new AbortController();
  const g = await fetch(url, { method: 'GET', headers: { ...H, Accept: 'text/event-stream' }, signal: ac.signal });
  check(g.status === 200 && /text\/event-stream/.test(g.headers.get('content-type') ?? ''), 'GET opens an SSE stream', `${g.status}`);
  r = await raw('GET', undefined, { ...H, Accept: 'text/event-stream' });
  check(r.status === 409, 'a second GET stream: 409', `${r.status} ${r.body}`);
  r = await raw('GET', undefined, { ...H, Accept: 'application/json' });
  check(r.status === 406, 'GET without text/event-stream: 406', `${r.status}`);
  // a notification that belongs to no request (server logging) arrives on the GET stream
  r = await raw('POST', { jsonrpc: '2.0', id: 6, method: 'tools/call', params: { name: 'everything__toggle-simulated-logging', arguments: {} } }, H);
  const reader = g.body.getReader();
  let seen = '';
  const until = Date.now() + 12000;
  while (Date.now() < until && !/notifications\/message/.test(seen)) {
    const chunk = await Promise.race([reader.read(), new Promise((res) => setTimeout(() => res({ value: undefined }), 1000))]);
    if (chunk.done) break;
    if (chunk.value) seen += new TextDecoder().decode(chunk.value);
  }
  const ev = /event: message\ndata: (.*notifications\/message.*)\n\n/.exec(seen);
  check(r.status === 200 && ev && /^everything/.test(JSON.parse(ev[1]).params?.logger ?? ''),
    'server logging reaches the GET stream, its logger prefixed', seen.slice(0, 300));
  ac.abort();

  r = await raw('DELETE', undefined, H);
  check(r.status === 200, 'DELETE ends the session', `${r.status} ${r.body}`);
  r = await raw('POST', { jsonrpc: '2.0', id: 5, method: 'ping' }, H);
  check(r.status === 404, 'after DELETE: 404', `${r.status} ${r.body}`);
  r = await raw('DELETE', undefined, H);
  check(r.status === 404, 'DELETE of an ended session: 404', `${r.status}`);

  // version negotiation: 2025-06-18 and 2025-03-26 are echoed, others get the latest
  const s2 = await rawSession('2025-06-18');
  check(s2.v === '2025-06-18', 'initialize 2025-06-18 is negotiated', JSON.stringify(s2));
  r = await raw('POST', { jsonrpc: '2.0', id: 2, method: 'ping' }, { ...auth, 'Mcp-Session-Id': s2.sid, 'MCP-Protocol-Version': '2025-06-18' });
  check(r.status === 200, '... and used with its header', `${r.status} ${r.body}`);
  const s3 = await rawSession('2025-03-26');
  r = await raw('POST', { jsonrpc: '2.0', id: 2, method: 'ping' }, { ...auth, 'Mcp-Session-Id': s3.sid });
  check(s3.v === '2025-03-26' && r.status === 200, 'a 2025-03-26 session may omit the version header', `${s3.v} ${r.status}`);
  const s4 = await rawSession('2024-01-01');
  check(s4.v === '2025-11-25', 'an unknown version is answered with the latest', JSON.stringify(s4));
  r = await raw('POST', INIT(), { ...auth, 'MCP-Protocol-Version': '2099-01-01' });
  check(r.status === 400, 'initialize with an unsupported version header: 400', `${r.status} ${r.body}`);
  r = await raw('POST', { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25' } }, auth);
  check(r.status === 400 && !r.headers.get('mcp-session-id') && /capabilities/.test(r.body),
    'a refused initialize issues no session', `${r.status} ${r.body}`);
  for (const x of [s2, s3, s4]) await raw('DELETE', undefined, { ...auth, 'Mcp-Session-Id': x.sid, 'MCP-Protocol-Version': x.v });
}

// Reads SSE events from a fetch response until pred(events) holds, the stream ends or ms pass.
async function readEvents(resp, pred, ms = 20000) {
  const reader = resp.body.getReader();
  const events = [];
  let buf = '';
  let ended = false;
  const until = Date.now() + ms;
  while (Date.now() < until && !pred(events)) {
    const chunk = await Promise.race([reader.read(), new Promise((res) => setTimeout(() => res({ value: undefined }), 500))]);
    if (chunk.done) { ended = true; break; }
    if (!chunk.value) continue;
    buf += new TextDecoder().decode(chunk.value);
    let at;
    while ((at = buf.indexOf('\n\n')) >= 0) {
      const block = buf.slice(0, at);
      buf = buf.slice(at + 2);
      const ev = { id: undefined, data: undefined, comment: [] };
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) ev.comment.push(line.slice(1).trim());
        else if (line.startsWith('id: ')) ev.id = line.slice(4);
        else if (line.startsWith('data: ')) ev.data = line.slice(6);
      }
      events.push(ev);
    }
  }
  return { events, ended, reader };
}

// Last-Event-ID: an SSE answer picked up again on a GET after its connection was lost, the GET
// stream's events kept while its client is away, the bound on what a session keeps.
async function resume() {
  const auth = { Authorization: `Bearer ${token}` };
  const s = await rawSession();
  const H = { ...auth, 'Mcp-Session-Id': s.sid, 'MCP-Protocol-Version': s.v };
  const call = (id, steps, duration) => ({ jsonrpc: '2.0', id, method: 'tools/call', params: {
    name: 'everything__trigger-long-running-operation', arguments: { duration, steps }, _meta: { progressToken: `p${id}` } } });
  const sseOnly = { ...H, Accept: 'text/event-stream' };
  const progressOf = (e) => e.data && JSON.parse(e.data).method === 'notifications/progress';
  const resultOf = (e) => e.data && JSON.parse(e.data).result;

  // 1. the answer's stream: a priming event, then two progress events; the client goes away
  let ac = new AbortController();
  let resp = await fetch(url, { method: 'POST', headers: { ...H, 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream' },
    body: JSON.stringify(call(10, 8, 3)), signal: ac.signal });
  let got = await readEvents(resp, (ev) => ev.filter(progressOf).length >= 2);
  const prime = got.events[0];
  const m = /^(\d+)-0$/.exec(prime?.id ?? '');
  check(resp.status === 200 && m && prime.data === '', 'an SSE answer starts with a priming event (an id, empty data)',
    JSON.stringify(got.events.slice(0, 2)));
  const k = m ? m[1] : '0';
  const ids = got.events.filter(progressOf).map((e) => e.id);
  check(ids[0] === `${k}-1` && ids[1] === `${k}-2`, 'its events are numbered STREAM-EVENT', ids.join(' '));
  ac.abort();
  // 2. GET with Last-Event-ID: the rest of the progress and the answer, then the stream ends
  resp = await fetch(url, { method: 'GET', headers: { ...sseOnly, 'Last-Event-ID': ids[1] ?? `${k}-2` } });
  got = await readEvents(resp, () => false, 30000);
  const rest = got.events.filter((e) => e.data);
  const seqs = rest.map((e) => Number(e.id.split('-')[1]));
  const res = rest.find(resultOf);
  check(resp.status === 200 && got.ended && res && JSON.parse(res.data).id === 10 && seqs[0] === 3 &&
    seqs.every((q, i) => i === 0 || q === seqs[i - 1] + 1) && rest.filter(progressOf).length === 6,
    'GET with Last-Event-ID resumes the answer: the missed events in order, the result, the end',
    `${resp.status} ended=${got.ended} ${rest.map((e) => e.id).join(' ')}`);
  // 3. the same stream again from its start: everything replayed, then the end
  resp = await fetch(url, { method: 'GET', headers: { ...sseOnly, 'Last-Event-ID': `${k}-0` } });
  got = await readEvents(resp, () => false);
  check(got.ended && got.events.filter(progressOf).length === 8 && got.events.some(resultOf),
    'a finished stream replays from any of its events', got.events.map((e) => e.id).join(' '));
  // 4. ids that are not this session's, or not ids
  for (const [lei, why] of [[`${k}-99`, 'never sent'], ['4242-0', 'no such stream'], ['x-1', 'malformed'], [`0${k}-1`, 'a leading zero']]) {
    const r = await raw('GET', undefined, { ...sseOnly, 'Last-Event-ID': lei });
    check(r.status === 400 && /Last-Event-ID/.test(r.body), `Last-Event-ID ${lei} (${why}): 400 naming the header`, `${r.status} ${r.body}`);
  }
  // 5. the GET stream keeps its events while its client is away
  ac = new AbortController();
  resp = await fetch(url, { method: 'GET', headers: sseOnly, signal: ac.signal });
  let r = await raw('POST', { jsonrpc: '2.0', id: 11, method: 'tools/call', params: { name: 'everything__toggle-simulated-logging', arguments: {} } }, H);
  got = await readEvents(resp, (ev) => ev.some((e) => e.data));
  const first = got.events.find((e) => e.data);
  check(got.events[0]?.id === '0-0' && first?.id === '0-1', 'the GET stream is primed and numbered too', got.events.map((e) => e.id).join(' '));
  ac.abort();
  await new Promise((res) => setTimeout(res, 11000)); // the server logs every 5 s: kept while away
  resp = await fetch(url, { method: 'GET', headers: { ...sseOnly, 'Last-Event-ID': '0-1' } });
  got = await readEvents(resp, (ev) => ev.some((e) => e.data));
  check(resp.status === 200 && got.events.find((e) => e.data)?.id === '0-2', 'GET stream resumed: nothing missed',
    got.events.map((e) => e.id).join(' '));
  await got.reader.cancel();
  r = await raw('POST', { jsonrpc: '2.0', id: 12, method: 'tools/call', params: { name: 'everything__toggle-simulated-logging', arguments: {} } }, H);
  // 6. the bound: 300 progress events on one stream; a replay from its start says what is lost
  resp = await fetch(url, { method: 'POST', headers: { ...H, 'Content-Type': 'application/json', Accept: 'text/event-stream' },
    body: JSON.stringify(call(13, 300, 2)) });
  got = await readEvents(resp, () => false, 60000);
  const last = got.events.find(resultOf);
  const n = Number(last?.id?.split('-')[1] ?? 0);
  const k2 = last?.id?.split('-')[0];
  resp = await fetch(url, { method: 'GET', headers: { ...sseOnly, 'Last-Event-ID': `${k2}-0` } });
  got = await readEvents(resp, () => false);
  const kept = got.events.filter((e) => e.data);
  const note = got.events.flatMap((e) => e.comment).find((c) => /no longer kept/.test(c));
  check(n > 256 && kept.length === 256 && Number(kept[0].id.split('-')[1]) === n - 255 && resultOf(kept[255]) && note,
    'a session keeps its last 256 events; a replay says which are lost', `${n} sent, ${kept.length} replayed from ${kept[0]?.id}; ${note}`);
  // 7. clients of older versions get no priming event (they would take it for a message)
  const old = await rawSession('2025-06-18');
  r = await raw('POST', { jsonrpc: '2.0', id: 2, method: 'ping' }, { ...auth, 'Mcp-Session-Id': old.sid, 'MCP-Protocol-Version': '2025-06-18', Accept: 'text/event-stream' });
  check(r.status === 200 && /^id: \d+-1\nevent: message\ndata: \{/.test(r.body), 'a 2025-06-18 session: no priming event', r.body.slice(0, 120));
  for (const x of [s, old]) await raw('DELETE', undefined, { ...auth, 'Mcp-Session-Id': x.sid, 'MCP-Protocol-Version': x.v });
}

// CORS ("cors": true): preflights answered without a token for pages of http.allowed_origins,
// their Origin named back and Mcp-Session-Id exposed; nothing for anyone else.
async function cors() {
  const page = 'http://localhost:6274';
  const pre = (origin) => raw('OPTIONS', undefined, { Origin: origin, 'Access-Control-Request-Method': 'POST',
    'Access-Control-Request-Headers': 'authorization, content-type, mcp-session-id, mcp-protocol-version' });
  let r = await pre(page);
  const allowH = (r.headers.get('access-control-allow-headers') ?? '').toLowerCase();
  check(r.status === 204 && r.headers.get('access-control-allow-origin') === page &&
    /POST/.test(r.headers.get('access-control-allow-methods') ?? '') &&
    ['authorization', 'content-type', 'mcp-session-id', 'mcp-protocol-version', 'last-event-id'].every((x) => allowH.includes(x)) &&
    /Origin/.test(r.headers.get('vary') ?? ''), 'CORS preflight from an allowed origin: 204, no token needed',
    `${r.status} ${[...r.headers].join(' | ')}`);
  r = await pre('http://evil.example');
  check(r.status === 403 && !r.headers.get('access-control-allow-origin'), 'a preflight from another origin: 403, no CORS headers', `${r.status}`);
  r = await raw('POST', INIT(), { Authorization: `Bearer ${token}`, Origin: page });
  const sid = r.headers.get('mcp-session-id');
  check(r.status === 200 && r.headers.get('access-control-allow-origin') === page &&
    /Mcp-Session-Id/i.test(r.headers.get('access-control-expose-headers') ?? ''),
    'an answer to an allowed page names its origin and exposes Mcp-Session-Id', `${r.status} ${[...r.headers].join(' | ')}`);
  r = await raw('POST', INIT(), { Origin: page });
  check(r.status === 401 && r.headers.get('access-control-allow-origin') === page, '... its errors too (a 401 it can read)', `${r.status}`);
  r = await raw('POST', { jsonrpc: '2.0', id: 2, method: 'ping' }, { Authorization: `Bearer ${token}`, 'Mcp-Session-Id': sid, 'MCP-Protocol-Version': '2025-11-25' });
  check(r.status === 200 && !r.headers.get('access-control-allow-origin'), 'no Origin: no CORS headers', `${r.status}`);
  const port = Number(new URL(url).port);
  r = await raw('POST', { jsonrpc: '2.0', id: 3, method: 'ping' }, { Authorization: `Bearer ${token}`, 'Mcp-Session-Id': sid,
    'MCP-Protocol-Version': '2025-11-25', Origin: `http://localhost:${port}` });
  check(r.status === 200 && !r.headers.get('access-control-allow-origin'), "the listener's own origin: allowed, but no CORS", `${r.status}`);
  await raw('DELETE', undefined, { Authorization: `Bearer ${token}`, 'Mcp-Session-Id': sid, 'MCP-Protocol-Version': '2025-11-25' });
}

// CORS off (the default): an allowed page gets its answers but no CORS headers, and no preflight.
async function corsOff() {
  const page = 'http://localhost:6274';
  let r = await raw('OPTIONS', undefined, { Origin: page, 'Access-Control-Request-Method': 'POST' });
  check(r.status === 401 && !r.headers.get('access-control-allow-origin'), 'CORS off: a preflight is not answered (401)', `${r.status}`);
  r = await raw('OPTIONS', undefined, { Origin: page, Authorization: `Bearer ${token}` });
  check(r.status === 405, 'CORS off: OPTIONS with a token: 405', `${r.status}`);
  r = await raw('POST', INIT(), { Authorization: `Bearer ${token}`, Origin: page });
  check(r.status === 200 && !r.headers.get('access-control-allow-origin'), 'CORS off: no CORS headers on answers', `${r.status}`);
  const sid = r.headers.get('mcp-session-id');
  if (sid) await raw('DELETE', undefined, { Authorization: `Bearer ${token}`, 'Mcp-Session-Id': sid, 'MCP-Protocol-Version': '2025-11-25' });
}

const which = process.env.SCENARIOS ?? 'sdk,raw,resume';
try {
  if (which.includes('sdk')) await sdk();
  if (which.includes('raw')) await rawChecks();
  if (which.includes('resume')) await resume();
  if (/(^|,)cors(,|$)/.test(which)) await cors();
  if (which.includes('corsoff')) await corsOff();
} catch (e) {
  bad('scenario', e.stack || String(e));
}
process.exit(failures ? 1 : 0);
