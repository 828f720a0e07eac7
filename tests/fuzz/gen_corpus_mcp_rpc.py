#!/usr/bin/env python3
"""Writes the seed corpus of fuzz_mcp_rpc (tests/fuzz/corpus/mcp_rpc/): agent sessions of
newline-delimited JSON-RPC — a full lifecycle, list cursors, namespaced calls, cancellation —
and the malformed shapes the codec must refuse (batches, null ids, bad versions, deep nesting)."""
import json
import os
import sys

out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "corpus", "mcp_rpc")
os.makedirs(out, exist_ok=True)


def msg(**kw):
    d = {"jsonrpc": "2.0"}
    d.update(kw)
    return json.dumps(d, separators=(",", ":"))


init = msg(id=1, method="initialize", params={"protocolVersion": "2025-11-25", "capabilities": {},
                                              "clientInfo": {"name": "seed", "version": "1"}})
inited = msg(method="notifications/initialized")
seeds = {
    "lifecycle": [init, inited, msg(id=2, method="tools/list"), msg(id=3, method="ping")],
    "old_version": [msg(id="a", method="initialize", params={"protocolVersion": "2025-03-26", "capabilities": {},
                                                             "clientInfo": {"name": "x"}}), inited],
    "unknown_version": [msg(id=1, method="initialize", params={"protocolVersion": "1999-01-01", "capabilities": {},
                                                               "clientInfo": {"name": "x"}})],
    "before_init": [msg(id=1, method="tools/call", params={"name": "a__b"})],
    "double_init": [init, init, inited],
    "call": [init, inited, msg(id=7, method="tools/call", params={"name": "fs__read_text_file",
                                                                  "arguments": {"path": "/x"},
                                                                  "_meta": {"progressToken": "p1"}})],
    "cursor": [init, inited, msg(id=4, method="tools/list", params={"cursor": "sbgw:0:1:100"}),
               msg(id=5, method="prompts/list", params={"cursor": "sbgw:1:99999999999999999999:1"}),
               msg(id=6, method="resources/list", params={"cursor": 5})],
    "uri": [init, inited, msg(id=8, method="resources/read", params={"uri": "file:///etc/passwd"}),
            msg(id=9, method="completion/complete", params={"ref": {"type": "ref/prompt", "name": "x__y"}})],
    "cancel": [init, inited, msg(method="notifications/cancelled", params={"requestId": 7, "reason": "r"})],
    "setlevel": [init, inited, msg(id=10, method="logging/setLevel", params={"level": "debug"})],
    "responses": [msg(id=1, result={}), msg(id=None, error={"code": -32700, "message": "x"}),
                  msg(id=2, error={"code": "x", "message": "y"})],
    "batch": ["[" + init + "," + inited + "]"],
    "null_id": [msg(id=None, method="ping")],
    "bad_version": ['{"jsonrpc":"1.0","id":1,"method":"ping"}'],
    "extra_member": ['{"jsonrpc":"2.0","id":1,"method":"ping","x":1}'],
    "params_array": ['{"jsonrpc":"2.0","id":1,"method":"ping","params":[1,2]}'],
    "not_json": ["{\"jsonrpc\":\"2.0\",", "garbage", "\"just a string\"", "42"],
    "deep": ["[" * 100 + "]" * 100, '{"jsonrpc":"2.0","id":1,"method":"x","params":' + '{"a":' * 80 + "1" + "}" * 81],
    "long_id": [msg(id="i" * 300, method="ping")],
    "dup_keys": ['{"jsonrpc":"2.0","id":1,"id":2,"method":"ping"}'],
    "crlf_blank": [init + "\r", "", inited + "\r", msg(id=2, method="ping") + "\r"],
    "unicode": [msg(id="\u00e9\u2028", method="ping"), '{"jsonrpc":"2.0","id":1,"method":"p\\u0000ng"}'],
    "oversize": [msg(id=11, method="ping", params={"pad": "x" * 5000})],
}
for name, lines in seeds.items():
    with open(os.path.join(out, name), "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
