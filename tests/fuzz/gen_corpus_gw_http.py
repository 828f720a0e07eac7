#!/usr/bin/env python3
"""gen_corpus_gw_http: writes the committed seed corpus of fuzz_gw_http (the Streamable HTTP
transport's header parsers): one file per value, its first byte choosing the header (0 Accept,
1 Authorization, 2 Mcp-Session-Id, 3 MCP-Protocol-Version, 4 Origin, 5 Host, 6 Last-Event-ID).
Run from the repository root:  python3 tests/fuzz/gen_corpus_gw_http.py
"""
import hashlib
import os

OUT = os.path.join("tests", "fuzz", "corpus", "gw_http")
SEEDS = {
    0: ["application/json, text/event-stream", "text/event-stream", "*/*",
        "application/*;q=0.5, text/*;q=0", "application/json;charset=\"utf-8\";q=1.000",
        "text/event-stream;q=1.5", "application/json,,, text/html", "application",
        "a/b;x", ",".join(["a/b"] * 70), "text/event-stream; q=0.001"],
    1: ["Bearer sbgw_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "bearer  abc==", "Basic abc",
        "Bearer", "Bearer a=b", "Bearer abc ", "Bearer " + "x" * 600, "Bearer a\tb"],
    2: ["A" * 43, "A" * 42, "A" * 43 + "=", "abc+def/" * 5 + "abc", "-_" * 21 + "z"],
    3: ["2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05", "2026-07-28", "2025-11-25 ", ""],
    4: ["http://localhost:6274", "HTTPS://Example.COM:443", "null", "http://evil.com/path",
        "http://user@evil.com", "ftp://x", "http://0x7f.1:8080", "http://[::1]:3000",
        "http://b\u00fccher.de", "localhost:80", "http://a.com?x", "http://%41.com"],
    5: ["127.0.0.1:8931", "localhost", "[::1]:80", "evil.com:8931", "127.1", "2130706433",
        "LOCALHOST.", "0x7f.0.0.1:1", "a/b", "[::ffff:127.0.0.1]"],
    6: ["0-0", "3-17", "4294967295-18446744073709551615", "4294967296-1", "1-18446744073709551616",
        "01-2", "1-02", "-1", "1-", "1--2", "1-2 ", " 1-2", "12", "a-b", "1-2-3", "9" * 40],
}

os.makedirs(OUT, exist_ok=True)
for f in os.listdir(OUT):
    os.remove(os.path.join(OUT, f))
for which, values in SEEDS.items():
    for v in values:
        data = bytes([which]) + v.encode("utf-8")
        name = "%d-%s" % (which, hashlib.sha256(data).hexdigest()[:16])
        with open(os.path.join(OUT, name), "wb") as fh:
            fh.write(data)
