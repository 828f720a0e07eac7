// client.mjs: a real MCP client (@modelcontextprotocol/sdk) that launches
// `sealbox gateway stdio` as its server and checks what it sees through it.
//   node client.mjs SCENARIO SEALBOX CONFIG STATE_DIR
// Scenarios: real (server-everything, filesystem, memory), hostile (tests/mcp/mcp_testserver),
// rugged (after its definition changed), reapproved. Prints "ok …"/"FAIL …"; exit 1 on failure.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { LoggingMessageNotificationSchema } from '@modelcontextprotocol/sdk/types.js';

const [scenario, sealbox, config, stateDir] = process.argv.slice(2);
let failures = 0;
const ok = (name) => console.log(`ok     ${name}`);
const bad = (name, detail) => { failures++; console.log(`FAIL   ${name}: ${detail}`); };
const check = (cond, name, detail) => (cond ? ok(name) : bad(name, detail));
const text = (r) => (r?.content ?? []).map((c) => c.text ?? '').join('');

async function expectError(name, fn, pattern) {
  try {
    const r = await fn();
    if (r?.isError && pattern.test(text(r))) return ok(name);
    bad(name, `no error: ${JSON.stringify(r).slice(0, 200)}`);
  } catch (e) {
    check(pattern.test(String(e.message)), name, `error '${e.message}' does not match ${pattern}`);
  }
}

// With SB_GW_DAEMON_SOCKET the client is the thin client of sealboxd --gateway (CONFIG is then the
// daemon's, and the agent's token comes from SEALBOX_GATEWAY_TOKEN); SB_GW_CLIENT_UID runs it as
// that unprivileged user.
function command() {
  const sock = process.env.SB_GW_DAEMON_SOCKET;
  const args = sock ? ['gateway', 'stdio', '--agent', 'test-agent', '--socket', sock]
    : ['gateway', 'stdio', '--config', config, '--agent', 'test-agent', '--state-dir', stateDir];
  const uid = process.env.SB_GW_CLIENT_UID;
  if (!uid) return { command: sealbox, args };
  return { command: 'setpriv', args: [`--reuid=${uid}`, `--regid=${uid}`, '--clear-groups', '--', sealbox, ...args] };
}

async function connect(extraEnv = {}) {
  const transport = new StdioClientTransport({
    ...command(),
    env: { ...process.env, SECRET_NOT_GRANTED: 'host-secret-123', ...extraEnv },
    stderr: 'inherit',
  });
  const client = new Client({ name: 'sealbox-test-client', version: '1.0.0' });
  await client.connect(transport);
  return client;
}

async function allTools(client) {
  const names = [];
  let cursor;
  let pages = 0;
  do {
    const r = await client.listTools(cursor ? { cursor } : {});
    names.push(...r.tools.map((t) => t.name));
    cursor = r.nextCursor;
    pages++;
  } while (cursor && pages < 50);
  return { names, pages };
}

async function real() {
  const client = await connect();
  const sv = client.getServerVersion();
  check(sv?.name === 'sealbox-gateway', 'serverInfo is the gateway', JSON.stringify(sv));
  const { names } = await allTools(client);
  for (const t of ['everything__echo', 'everything__get-env', 'fs__read_text_file',
    'fs__list_directory', 'memory__create_entities', 'memory__read_graph']) {
    check(names.includes(t), `tools/list has ${t}`, names.join(','));
  }
  check(names.every((n) => /^(everything|fs|memory)__/.test(n)), 'every tool is namespaced',
    names.filter((n) => !n.includes('__')).join(','));

  const echo = await client.callTool({ name: 'everything__echo', arguments: { message: 'hi' } });
  check(text(echo) === 'Echo: hi', 'everything__echo through the gateway', text(echo));

  const env = JSON.parse(text(await client.callTool({ name: 'everything__get-env', arguments: {} })));
  const keys = Object.keys(env).sort().join(',');
  check(keys === 'GRANTED_TOKEN,PATH', 'get-env shows only the env the config granted', keys);
  check(!JSON.stringify(env).includes('host-secret-123'), 'no host secret in the server', keys);

  const file = await client.callTool({ name: 'fs__read_text_file', arguments: { path: '/data/hello.txt' } });
  check(text(file).includes('hello from the host'), 'fs reads the mounted directory', text(file));
  const passwd = await client.callTool({ name: 'fs__read_text_file', arguments: { path: '/etc/passwd' } });
  check(passwd.isError === true, 'fs refuses a path outside its root', text(passwd));

  await client.callTool({ name: 'memory__create_entities', arguments: { entities: [
    { name: 'sealbox', entityType: 'project', observations: ['runs MCP servers in sandboxes'] }] } });
  const graph = await client.callTool({ name: 'memory__read_graph', arguments: {} });
  check(text(graph).includes('runs MCP servers in sandboxes'), 'memory keeps an entity', text(graph).slice(0, 200));

  // many calls in flight at once, to three servers: every answer goes to its own request
  const calls = [];
  for (let i = 0; i < 24; i++) {
    calls.push(client.callTool({ name: 'everything__echo', arguments: { message: `m${i}` } }));
    if (i % 4 === 0) calls.push(client.callTool({ name: 'fs__list_allowed_directories', arguments: {} }));
  }
  const res = await Promise.all(calls);
  const echoes = res.filter((r) => text(r).startsWith('Echo: ')).map(text);
  check(echoes.length === 24 && echoes.every((t, i) => t === `Echo: m${i}`), 'concurrent calls matched to their requests',
    echoes.join(' '));

  // progress notifications come back with the agent's own token
  let progress = 0;
  const lr = await client.callTool({ name: 'everything__trigger-long-running-operation', arguments: { duration: 1, steps: 3 } },
    undefined, { onprogress: () => { progress++; } });
  check(progress >= 2 && !lr.isError, 'progress notifications forwarded', `${progress} notifications`);

  const prompts = await client.listPrompts();
  const pnames = prompts.prompts.map((p) => p.name);
  check(pnames.includes('everything__simple-prompt'), 'prompts are namespaced and merged', pnames.join(','));
  const pg = await client.getPrompt({ name: 'everything__simple-prompt', arguments: {} });
  check(Array.isArray(pg.messages) && pg.messages.length > 0, 'prompts/get routed', JSON.stringify(pg).slice(0, 200));

  const resources = await client.listResources();
  check(resources.resources.length > 0, 'resources listed', JSON.stringify(resources).slice(0, 200));
  const first = resources.resources[0];
  const rd = await client.readResource({ uri: first.uri });
  check(rd.contents?.[0]?.uri === first.uri, 'resources/read routed by URI', JSON.stringify(rd).slice(0, 200));
  await expectError('unknown resource is -32002', () => client.readResource({ uri: 'nope://x' }), /Resource not found/);

  await client.ping();
  ok('ping');
  check(!names.includes('everything__get-tiny-image'), 'a denied tool is invisible', 'listed');
  await expectError('... and uncallable', () => client.callTool({ name: 'everything__get-tiny-image', arguments: {} }),
    /unknown tool/);
  const long = await client.callTool({ name: 'everything__echo', arguments: { message: 'x'.repeat(65) } });
  check(long.isError && /denied by the gateway policy.*maxLength/.test(text(long)),
    'an argument rule refuses at its bound, naming the rule', text(long));
  const edge = await client.callTool({ name: 'everything__echo', arguments: { message: 'x'.repeat(64) } });
  check(!edge.isError && text(edge).length === 70, '... and accepts at its bound', text(edge).slice(0, 80));
  await expectError('unknown tool is refused', () => client.callTool({ name: 'everything__nope', arguments: {} }),
    /unknown tool/);
  await expectError('unknown server is refused', () => client.callTool({ name: 'ghost__echo', arguments: {} }),
    /unknown tool/);
  await client.close();
}

async function hostile() {
  const client = await connect();
  let logs = 0;
  client.setNotificationHandler(LoggingMessageNotificationSchema, () => { logs++; });
  const { names, pages } = await allTools(client);
  check(names.includes('t__echo') && names.includes('t__extra_119'), 'paginated server lists are followed',
    `${names.length} tools`);
  const tcount = names.filter((n) => n.startsWith('t__')).length;
  check(pages >= 3 && tcount === 129 && names.length === 258, 'the gateway presents its own pages',
    `${pages} pages, ${tcount} t__ tools, ${names.length} in all`);
  const echo = await client.callTool({ name: 't__echo', arguments: { message: 'x' } });
  check(text(echo) === 'Echo: x', 'pinned tool callable', text(echo));
  check(!names.includes('t__inject'), 'a description with injection text is hidden', names.filter((n) => /inject/.test(n)).join(','));
  await expectError('... and uncallable', () => client.callTool({ name: 't__inject', arguments: {} }),
    /hidden-instruction pattern/);
  const inst = client.getInstructions() ?? '';
  check(inst.includes('Test server'), 'approved instructions are passed on', inst.slice(0, 100));

  await expectError('oversized response becomes an error', () => client.callTool({ name: 't__big', arguments: {} }),
    /over \d+ bytes/);
  await expectError('malformed JSON becomes an error', () => client.callTool({ name: 't__bad_json', arguments: {} }),
    /malformed response/);
  await expectError('malformed result shape becomes an error', () => client.callTool({ name: 't__bad_shape', arguments: {} }),
    /malformed tools\/call result/);
  await expectError('a hanging server times out', () => client.callTool({ name: 't__hang', arguments: {} }, undefined,
    { timeout: 20000 }), /did not answer tools\/call/);
  // The gateway forwards at most SB_GW_NOTIFY_RATE (200/s) per server after a burst of 400:
  // whatever the host's load, no more than 400 + 200/s x the call's duration may arrive.
  const t0 = performance.now();
  const fl = await client.callTool({ name: 't__flood', arguments: {} });
  const bound = 400 + Math.ceil(200 * (performance.now() - t0) / 1000) + 1;
  check(text(fl) === 'flooded', 'a notification flood does not stop the call', text(fl));
  check(logs > 0 && logs <= bound && logs < 5000, 'the flood is rate-limited',
    `${logs} of 5000 notifications reached the agent (bound ${bound})`);
  const after = await client.callTool({ name: 't__echo', arguments: { message: 'still here' } });
  check(text(after) === 'Echo: still here', 'the gateway survives all of it', text(after));
  const p = await client.callTool({ name: 'e__echo', arguments: { message: 'other server' } });
  check(text(p) === 'Echo: other server', 'the second server is unaffected', text(p));

  await expectError('a dying server yields an error', () => client.callTool({ name: 't__die', arguments: {} }),
    /gone|exited/);
  await expectError('calls to a dead server fail cleanly', () => client.callTool({ name: 't__echo', arguments: { message: 'x' } }),
    /unknown tool|not running/);
  const p2 = await client.callTool({ name: 'e__echo', arguments: { message: 'alive' } });
  check(text(p2) === 'Echo: alive', 'other servers keep working after one died', text(p2));
  await client.close();
}

async function rugged() {
  const client = await connect();
  const { names } = await allTools(client);
  check(!names.includes('t__echo'), 'a changed definition disappears from tools/list', names.slice(0, 5).join(','));
  check(names.includes('t__add'), 'unchanged tools stay', names.slice(0, 5).join(','));
  check(!names.includes('u__echo'), 'tools never pinned are hidden', names.filter((n) => n.startsWith('u__')).join(','));
  await expectError('a changed tool is uncallable until re-approved',
    () => client.callTool({ name: 't__echo', arguments: { message: 'x' } }), /changed since it was approved.*approve \d+/);
  const pend = await client.callTool({ name: 't__add', arguments: { a: 2, b: 3 } });
  const m = /pending approval (\d+)/.exec(text(pend));
  check(pend.isError && m, 'a tool that needs approval answers at once with pending approval', text(pend));
  if (m) console.log(`PENDING_CALL ${m[1]}`);
  await expectError('a never-pinned tool is uncallable',
    () => client.callTool({ name: 'u__echo', arguments: { message: 'x' } }), /not approved/);
  await client.close();
}

async function reapproved() {
  const client = await connect();
  const { names } = await allTools(client);
  check(names.includes('t__echo'), 're-approved definition is visible again', names.slice(0, 5).join(','));
  const tools = (await client.listTools()).tools;
  const echo = tools.find((t) => t.name === 't__echo');
  check(echo && /v2/.test(echo.description), 'the agent sees the approved (new) definition', echo?.description);
  const sum = await client.callTool({ name: 't__add', arguments: { a: 2, b: 3 } });
  check(text(sum) === '5' && !sum.isError, 'an approved call goes through on retry', text(sum));
  const other = await client.callTool({ name: 't__add', arguments: { a: 2, b: 4 } });
  check(other.isError && /pending approval \d+/.test(text(other)), 'approval covers that exact call only', text(other));
  const r = await client.callTool({ name: 't__echo', arguments: { message: 'back' } });
  check(text(r) === 'Echo: back', 're-approved tool callable', text(r));
  await client.close();
}

// Rate-limit state lives with the gateway, not with one client: e.add allows two calls an hour.
async function rate1() {
  const client = await connect();
  for (const i of [1, 2]) {
    const r = await client.callTool({ name: 'e__add', arguments: { a: i, b: 1 } });
    check(!r.isError && text(r) === String(i + 1), `rate-limited tool call ${i} goes through`, text(r));
  }
  await client.close();
}

async function rate2() {
  const client = await connect();
  const r = await client.callTool({ name: 'e__add', arguments: { a: 5, b: 1 } });
  check(r.isError && /rate.*used up/.test(text(r)), 'a new client finds the bucket used up', text(r));
  await client.close();
}

const scenarios = { real, hostile, rugged, reapproved, rate1, rate2 };
try {
  await scenarios[scenario]();
} catch (e) {
  bad(`scenario ${scenario}`, e.stack || String(e));
}
process.exit(failures ? 1 : 0);
