// bearer-preload.mjs: loaded with `node --import` in front of a client that has no option for
// request headers (the MCP conformance suite): adds `Authorization: Bearer $SB_GW_TOKEN` to every
// fetch toward $SB_GW_URL's origin, the way any configured client sends its token. Nothing else
// about the requests changes.
const token = process.env.SB_GW_TOKEN;
const target = process.env.SB_GW_URL;
if (token && target) {
  const orig = globalThis.fetch;
  globalThis.fetch = (input, init = {}) => {
    const u = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    if (u.startsWith(new URL(target).origin)) {
      const h = new Headers(init.headers ?? (input instanceof Request ? input.headers : undefined));
      if (!h.has('authorization')) h.set('authorization', `Bearer ${token}`);
      init = { ...init, headers: h };
    }
    return orig(input, init);
  };
}
