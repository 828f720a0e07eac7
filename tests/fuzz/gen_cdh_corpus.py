#!/usr/bin/env python3
"""gen_cdh_corpus: writes the seeds of fuzz_cdh (tests/fuzz/corpus/cdh/): requests a workload
sends sealbox-init's secret socket (first byte 0) and responses sealbox-secret reads (first
byte 1), built from the formats in src/sandbox/cdh.c."""
import os, sys

out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "cdh")
os.makedirs(out, exist_ok=True)
req = lambda s: b"\x00" + s
resp = lambda s: b"\x01" + s
seeds = {
    "req_helper": req(b"GET /cdh/resource/app/db/password HTTP/1.1\r\nHost: sealbox\r\n\r\n"),
    "req_curl": req(b"GET /cdh/resource/default/key/1 HTTP/1.1\r\nHost: localhost\r\nUser-Agent: curl/7.88.1\r\nAccept: */*\r\n\r\n"),
    "req_http10": req(b"GET /cdh/resource/a/b/c HTTP/1.0\r\n\r\n"),
    "req_partial": req(b"GET /cdh/resource/a/b/c HTTP/1.1\r\nHost: x\r\n"),
    "req_post": req(b"POST /cdh/resource/a/b/c HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}"),
    "req_other_target": req(b"GET /aa/evidence?runtime_data=x HTTP/1.1\r\n\r\n"),
    "req_dotdot": req(b"GET /cdh/resource/a/../c HTTP/1.1\r\n\r\n"),
    "req_body": req(b"GET /cdh/resource/a/b/c HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello"),
    "req_bare_lf": req(b"GET /cdh/resource/a/b/c HTTP/1.1\nHost: x\n\n"),
    "resp_ok": resp(b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: 5\r\nConnection: close\r\n\r\nvalue"),
    "resp_refused": resp(b"HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nContent-Length: 23\r\n\r\nsecret a/b/c: refused\r\n"),
    "resp_short_body": resp(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"),
    "resp_two_lengths": resp(b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx"),
    "resp_no_length": resp(b"HTTP/1.1 200 OK\r\n\r\n"),
}
for name, data in seeds.items():
    with open(os.path.join(out, name), "wb") as f:
        f.write(data)
