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
}
for name, data in seeds.items():
    with open(os.path.join(out, name), "wb") as f:
        f.write(data)
