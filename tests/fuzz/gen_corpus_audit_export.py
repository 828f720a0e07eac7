#!/usr/bin/env python3
"""gen_corpus_audit_export: writes the committed seed corpus of fuzz_audit_export.

Exports in the format of `sealbox audit export --jsonl` (src/gateway/gateway.h), built here with
the real chain (SHA-256(prev || canonical record || u64be(seq))), and damaged variants: a
damaged-record line, wrong types, unknown and duplicate members, bad hex, framing without a
final newline, blank lines, CRLF, truncations. Run from the repository root:
    python3 tests/fuzz/gen_corpus_audit_export.py
"""
import hashlib
import json
import os

OUT = os.path.join("tests", "fuzz", "corpus", "audit_export")


def canon(o):
    return json.dumps(o, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def export(records, ts=1700000000000):
    prev = bytes(32)
    lines = []
    for seq, rec in enumerate(records, 1):
        c = canon(dict(rec, ts=ts + seq))
        h = hashlib.sha256(prev + c + seq.to_bytes(8, "big")).digest()
        lines.append(b'{"seq":%d,"ts":%d,"prev":"%s","hash":"%s","record":%s}\n'
                     % (seq, ts + seq, prev.hex().encode(), h.hex().encode(), c))
        prev = h
    return lines


RECS = [
    {"agent": "claude", "server": "fs", "method": "tools/call", "tool": "read_file",
     "args": {"path": "/data/a.txt"}, "decision": "allow", "is_error": False},
    {"kind": "api", "action": "sandbox.create", "tenant": "a", "status": 201},
    {"kind": "admin", "action": "key.create", "key_id": "sbk_0123456789ab", "uid": 0},
    {"unicode": "h\u00e9llo \u2603 \U0001F600", "n": -1.5, "big": 9007199254740991},
]


def main():
    os.makedirs(OUT, exist_ok=True)
    lines = export(RECS)
    seeds = {
        "valid": b"".join(lines),
        "valid_no_final_newline": b"".join(lines).rstrip(b"\n"),
        "valid_blank_lines": b"\n".join(lines),
        "crlf": b"".join(l.replace(b"\n", b"\r\n") for l in lines),
        "one": lines[0],
        "damaged_record": b'{"seq":1,"ts":0,"prev":"%s","hash":"%s","record_damaged":"{not json"}\n'
        % (b"00" * 32, b"11" * 32),
        "both_records": lines[0].replace(b'"record":', b'"record_damaged":"x","record":'),
        "record_array": lines[1].replace(b'"record":{', b'"record":[{').replace(b"}}\n", b"}]}\n"),
        "seq_zero": lines[0].replace(b'"seq":1', b'"seq":0'),
        "seq_string": lines[0].replace(b'"seq":1', b'"seq":"1"'),
        "seq_huge": lines[0].replace(b'"seq":1', b'"seq":18446744073709551616'),
        "ts_negative": lines[0].replace(b'"ts":1700000000001', b'"ts":-1'),
        "prev_short": lines[0].replace(b'"prev":"00', b'"prev":"0'),
        "hash_upper": lines[0].replace(b'"hash":"', b'"hash":"A'),
        "unknown_member": lines[0].replace(b'{"seq"', b'{"x":1,"seq"'),
        "duplicate_member": lines[0].replace(b'{"seq":1', b'{"seq":1,"seq":2'),
        "duplicate_seq": lines[0] + lines[0],
        "not_json": b"seq=1 record=?\n",
        "nested_deep": b'{"seq":1,"ts":0,"prev":"%s","hash":"%s","record":%s}\n'
        % (b"00" * 32, b"00" * 32, b'{"a":' * 200 + b"1" + b"}" * 200),
        "empty": b"",
        "newlines_only": b"\n\n\n",
    }
    for i, cut in enumerate((1, 30, len(lines[0]) // 2, len(lines[0]) - 2)):
        seeds["truncated_%d" % i] = lines[0][:cut]
    for name, data in seeds.items():
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
