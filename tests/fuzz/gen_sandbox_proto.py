#!/usr/bin/env python3
"""Writes the seed corpus of fuzz_sandbox_proto (tests/fuzz/corpus/sandbox_proto/): one frame of
each message type, built from the wire format in src/sandbox/sandbox.h."""
import os
import struct
import sys

out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "corpus", "sandbox_proto")
os.makedirs(out, exist_ok=True)


def hdr(t, eid):
    return struct.pack("<HHI", t, 0, eid)


def s(b):
    return struct.pack("<I", len(b)) + b


def strv(items):
    return struct.pack("<H", len(items)) + b"".join(s(i) for i in items)


seeds = {
    "ready": hdr(1, 0) + struct.pack("<I", 1),
    "exec": hdr(2, 1) + bytes([0]) + struct.pack("<HH", 0, 0) + s(b"/") + strv([b"/bin/sh", b"-c", b"echo hi"]) + strv([b"PATH=/usr/bin:/bin"]),
    "exec_tty": hdr(2, 2) + bytes([1]) + struct.pack("<HH", 24, 80) + s(b"/tmp") + strv([b"sh"]) + strv([]),
    "started": hdr(3, 1) + struct.pack("<I", 2),
    "stdin": hdr(4, 1) + b"input\n",
    "stdin_eof": hdr(4, 1),
    "stdout": hdr(5, 1) + b"hello\n",
    "stderr": hdr(6, 1) + b"oops\n",
    "exit": hdr(7, 1) + bytes([0]) + struct.pack("<i", 3),
    "signal": hdr(8, 0) + struct.pack("<I", 15),
    "resize": hdr(9, 2) + struct.pack("<HH", 50, 132),
    "error": hdr(10, 1) + b"refused",
    "exec_argc_over": hdr(2, 3) + bytes([0]) + struct.pack("<HH", 0, 0) + s(b"/") + struct.pack("<H", 0xFFFF),
    # secrets and the relay (docs/secrets.md, "In the sandbox")
    "secrets": hdr(11, 4) + struct.pack("<H", 2) + s(b"app/db/password") + bytes([0]) + s(b"/run/secrets/pw")
    + s(b"app/db/user") + bytes([1]) + s(b"DB_USER"),
    "secrets_bad_target": hdr(11, 4) + struct.pack("<H", 1) + s(b"a/b/c") + bytes([0]) + s(b"/a/../b"),
    "secrets_done_ok": hdr(12, 4) + bytes([1]),
    "secrets_done_refused": hdr(12, 4) + bytes([0]) + b"secret a/b/c: kbs resource refused (403 PolicyDeny)",
    "context_req": hdr(13, 0x80000001),
    "context": hdr(14, 0x80000001) + bytes([1]) + s(b"sealbox-software") + b'{"digest":"sha384:00","events":[]}',
    "kbs_req_auth": hdr(15, 0x80000002) + bytes([2]) + s(b"auth") + b'{"version":"0.4.0","tee":"sealbox-software","extra-params":""}',
    "kbs_req_resource": hdr(15, 0x80000004) + bytes([1]) + s(b"resource/app/db/password"),
    "kbs_resp": hdr(16, 0x80000002) + struct.pack("<H", 200) + b'{"nonce":"bm9uY2U=","extra-params":""}',
    "kbs_resp_not_relayed": hdr(16, 0x80000002) + struct.pack("<H", 0) + b"relay: route 'x' is not relayed",
    "evidence_req": hdr(17, 0x80000003) + b'{"tee-pubkey":{"kty":"EC"},"nonce":"bm9uY2U=","additional-evidence":"","sealbox-log":"sha384:00"}',
    "evidence": hdr(18, 0x80000003) + bytes([1]) + b'{"sealbox-software-evidence":1}',
}
for name, data in seeds.items():
    with open(os.path.join(out, name), "wb") as f:
        f.write(data)
