// bearer-preload.mjs: loaded with `node --import` in front of a client that has no option for
// request headers (the MCP conformance suite): adds `Authorization: Bearer $SB_GW_TOKEN` to every
// request toward $SB_GW_URL's origin, the way any configured client sends its token — both
// fetch() and undici's request() (which the suite's dns-rebinding scenario uses), through
// undici's global dispatcher that both share. Nothing else about the requests changes.
import { getGlobalDispatcher } from 'undici';

const token = process.env.SB_GW_TOKEN;
const target = process.env.SB_GW_URL;

function hasAuth(headers) {
  if (!headers) return false;
  if (Array.isArray(headers)) {
    const flat = headers.flat();
    for (let i = 0; i < flat.length; i += 2) if (String(flat[i]).toLowerCase() === 'authorization') return true;
    return false;
  }
  if (typeof headers.has === 'function') return headers.has('authorization');
  return Object.keys(headers).some((k) => k.toLowerCase() === 'authorization');
}

function withAuth(headers, value) {
  if (hasAuth(headers)) return headers;
  if (!headers) return { authorization: value };
  if (Array.isArray(headers)) {
    return Array.isArray(headers[0]) ? [...headers, ['authorization', value]] : [...headers, 'authorization', value];
  }
  if (typeof headers.entries === 'function' && typeof headers.has === 'function') {
    return { ...Object.fromEntries(headers.entries()), authorization: value };
  }
  return { ...headers, authorization: value };
}

if (token && target) {
  const origin = new URL(target).origin;
  const value = `Bearer ${token}`;
  const d = getGlobalDispatcher();
  const dispatch = d.dispatch.bind(d);
  d.dispatch = (opts, handler) => {
    let o = null;
    try { o = new URL(String(opts.origin)).origin; } catch { /* not a URL: leave it */ }
    if (o === origin) opts = { ...opts, headers: withAuth(opts.headers, value) };
    return dispatch(opts, handler);
  };
  const orig = globalThis.fetch;
  globalThis.fetch = (input, init = {}) => {
    const u = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    if (u.startsWith(origin)) {
      const h = new Headers(init.headers ?? (input instanceof Request ? input.headers : undefined));
      if (!h.has('authorization')) h.set('authorization', value);
      init = { ...init, headers: h };
    }
    return orig(input, init);
  };
}
