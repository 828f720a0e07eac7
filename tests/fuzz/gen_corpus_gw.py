#!/usr/bin/env python3
"""gen_corpus_gw: writes the committed seed corpora of fuzz_gw_url, fuzz_gw_path and
fuzz_gw_config (the MCP gateway's policy parsers): the attack spellings the unit tests cover,
plus configurations that reach every rule kind. Run from the repository root:
    python3 tests/fuzz/gen_corpus_gw.py
"""
import json
import os

BASE = os.path.join("tests", "fuzz", "corpus")

URLS = [
    "http://ok.com/", "HTTP://Ok.COM", "http://ok.com@evil.com/", "http://a@b@evil.com/",
    "http://evil.com#@ok.com", "http://evil.com?@ok.com", "http://evil.com\\@ok.com/",
    "http:ok.com", "http:\\\\ok.com\\x", "http://2130706433/", "http://0x7f.1/",
    "http://0177.0.0.01/", "http://127.1/", "http://127.0.0.1./", "http://4294967296/",
    "http://1.2.3.4.5/", "http://foo.0x/", "http://OK.COM./", "http://ok..com/",
    "http://%6f%6b.com/", "http://ok%2ecom/", "http://ok%zz.com/", "http://b\u00fccher.de/",
    "http://xn--bcher-kva.de/", "http://\uff4f\uff4b.com/", "http://ok\u3002com/",
    "http://[::1]/", "http://[::ffff:127.0.0.1]:8080/", "http://[::1.2.3.4]/",
    "http://[1:2:3:4:5:6:7:8:9]/", "http://[1::2::3]/", "http://ok.com:99999/",
    "http://ok.com\t/", "javascript:alert(1)", "file:///etc/passwd", "//ok.com/",
    "wss://Ok.Com:443/x", "*.example.org", "[0::1]", "0x7f.1",
]
PATHS = [
    "/data/x", "/data/", "/data//x", "/data/./x/.", "/data/../etc/passwd", "/../../data/x",
    "/data/..", "/data/...", "x/../../..", "data/x", "~/x", "/data/%2e%2e/etc",
    "/data\\..\\etc", "/data/\x01x", "/data/x\x00/../../etc", "/" + "a/" * 40, "",
]
AGENTS = {
    "alice": {
        "servers": {"allow": ["fs", "web*"], "deny": ["admin"]},
        "tools": {
            "allow": ["fs.*", "web.fetch"], "deny": ["fs.write_*"],
            "fs.read_file": {
                "arguments": {
                    "type": "object", "required": ["path"], "additionalProperties": False,
                    "properties": {
                        "path": {"type": "string", "path_prefix": ["/data/"]},
                        "lines": {"type": "integer", "minimum": 1, "maximum": 100},
                        "mode": {"enum": ["text", "base64"]},
                        "name": {"type": "string", "maxLength": 5, "pattern": "^[a-z]+$"},
                        "tags": {"type": "array", "maxItems": 2, "items": {"type": "string"}},
                    },
                },
                "rate": {"per_minute": 2}, "timeout_ms": 5000,
            },
            "web.fetch": {"arguments": {"properties": {"url": {
                "url_host": ["ok.com", "*.ok.org", "[::1]"], "url_schemes": ["https"]}}}},
            "fs.delete": {"approval": True},
        },
        "resources": {"allow": ["fs.file:///data/*"]},
        "prompts": {"allow": ["*"]},
        "approval": ["fs.move_*"],
        "rate": {"per_second": 5, "burst": 3},
        "limits": {"max_request_bytes": 65536, "timeout_ms": 10000},
        "auto_pin": ["fs"], "injection": "flag",
    }
}
CALLS = [
    {"agent": "alice", "server": "fs", "tool": "read_file", "args": {"path": "/data/a"}},
    {"agent": "alice", "server": "fs", "tool": "read_file",
     "args": {"path": "/data/../etc/passwd", "lines": 0}},
    {"agent": "alice", "server": "web", "tool": "fetch", "args": {"url": "https://ok.com@evil.com"}},
    {"agent": "alice", "server": "fs", "tool": "delete"},
    {"agent": "alice", "server": "fs", "kind": "resource", "tool": "file:///data/../x"},
    {"agent": "bob", "server": "fs", "tool": "x"},
]
CONFIGS = {
    "full": {"agents": AGENTS, "calls": CALLS},
    "bare_agents": AGENTS,
    "catastrophic": {"agents": {"a": {"servers": {"allow": ["s"]}, "tools": {
        "allow": ["s.t"], "s.t": {"arguments": {"properties": {"x": {"pattern": "^(a+)+$"}}}}}}},
        "calls": [{"agent": "a", "server": "s", "tool": "t", "args": {"x": "a" * 30 + "!"}}]},
    "bad_keyword": {"a": {"tools": {"s.t": {"arguments": {"maxlength": 3}}}}},
    "bad_rate": {"a": {"rate": {"per_minute": 0}}},
    "server_requests": {"agents": {
        "a": {"sampling": "allow", "elicitation": ["fs", "web*"], "roots": "deny",
              "limits": {"server_request_timeout_ms": 1500}},
        "b": {"sampling": []}},
        "calls": [{"agent": "a", "server": "fs", "sreq": 0}, {"agent": "a", "server": "web2", "sreq": 1},
                  {"agent": "a", "server": "x", "sreq": 2}, {"agent": "b", "server": "fs", "sreq": 0},
                  {"agent": "c", "server": "fs", "sreq": 7}]},
    "bad_sampling": {"a": {"sampling": "ask"}},
    "empty": {},
    "not_object": [1, 2],
}


def write(parser, name, data):
    d = os.path.join(BASE, parser)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def main():
    for i, u in enumerate(URLS):
        write("gw_url", "url_%02d" % i, u.encode("utf-8"))
    for i, p in enumerate(PATHS):
        write("gw_path", "path_%02d" % i, p.encode("utf-8"))
    for name, c in CONFIGS.items():
        write("gw_config", name, json.dumps(c, indent=1).encode())


if __name__ == "__main__":
    main()
