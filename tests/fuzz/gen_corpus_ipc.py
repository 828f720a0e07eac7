#!/usr/bin/env python3
"""gen_corpus_ipc: writes the committed seed corpus of fuzz_ipc (front<->monitor messages).

Valid messages of every type, plus truncated, oversized and hostile variants, all built here
from the wire format in src/api/api.h. Run from the repository root:
    python3 tests/fuzz/gen_corpus_ipc.py
"""
import os
import struct

OUT = os.path.join("tests", "fuzz", "corpus", "ipc")
KEY = b"sbk_0123456789ab_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"


def hdr(t, rid=1, flags=0):
    return struct.pack("<HHI", t, flags, rid)


def s(b):
    return struct.pack("<I", len(b)) + b


def lst(items):
    return struct.pack("<H", len(items)) + b"".join(s(i) for i in items)


def u8(v):
    return struct.pack("<B", v)


def u16(v):
    return struct.pack("<H", v)


def u32(v):
    return struct.pack("<I", v)


SEEDS = {
    "log": hdr(1) + u8(1) + s(b"front 12 serving"),
    "health": hdr(2, 7),
    "metrics": hdr(3) + s(KEY),
    "tenant": hdr(4) + s(KEY),
    "list": hdr(5) + s(KEY) + s(b"sbx_a") + u32(50) + u8(1) + lst([b"team=a", b"env=prod"]),
    "get": hdr(6) + s(KEY) + s(b"sbx_0123"),
    "create": hdr(7) + s(KEY) + s(b"default") + u32(512) + u32(1000) + u32(300) + u32(0)
    + lst([b"A=1", b"PATH=/usr/bin"]) + lst([b"owner=ci"]),
    "delete": hdr(8) + s(KEY) + s(b"sbx_1"),
    "standby": hdr(9) + s(KEY) + s(b"sbx_1"),
    "resume": hdr(10) + s(KEY) + s(b"sbx_1"),
    "sbx_log": hdr(15) + s(KEY) + s(b"sbx_1"),
    "sbx_log_bad_id": hdr(15) + s(KEY) + s(b"sbx_../x"),
    "exec": hdr(11) + s(KEY) + s(b"sbx_1") + lst([b"sh", b"-c", b"echo hi"]) + lst([]) + s(b"/")
    + s(b"\x00\x01stdin") + u32(30) + u8(0),
    "exec_background": hdr(11) + s(KEY) + s(b"sbx_1") + lst([b"sleep", b"9"]) + lst([b"A=1"])
    + s(b"") + s(b"") + u32(0) + u8(2),
    "stream_ack": hdr(40, 9) + u32(65536),
    "stream_close": hdr(41, 9),
    "proc_list": hdr(42) + s(KEY) + s(b"sbx_1"),
    "proc_get": hdr(43) + s(KEY) + s(b"sbx_1") + u32(3),
    "proc_signal": hdr(44) + s(KEY) + s(b"sbx_1") + u32(3) + u8(15),
    "proc_stdin": hdr(45) + s(KEY) + s(b"sbx_1") + u32(3) + s(b"\x00line\n") + u8(1),
    "proc_output": hdr(46) + s(KEY) + s(b"sbx_1") + u32(3),
    "file_get": hdr(47) + s(KEY) + s(b"sbx_1") + s(b"/etc/hostname"),
    "file_put": hdr(48, 5) + s(KEY) + s(b"sbx_1") + s(b"/tmp/x") + struct.pack("<Q", 3),
    "file_data": hdr(49, 5) + s(KEY) + s(b"sbx_1") + s(b"abc") + u8(1),
    "file_list": hdr(50) + s(KEY) + s(b"sbx_1") + s(b"/"),
    "file_mkdir": hdr(51) + s(KEY) + s(b"sbx_1") + s(b"/a/b") + u8(1),
    "file_delete": hdr(52) + s(KEY) + s(b"sbx_1") + s(b"/a/b"),
    "stream_start": hdr(66, 9) + u16(200) + u8(1) + struct.pack("<Q", 11),
    "stream_event": hdr(67, 9) + u8(2) + s(b"out\xff"),
    "stream_end": hdr(68, 9),
    "path_ctrl": hdr(47) + s(KEY) + s(b"sbx_1") + s(b"/tmp/\x01"),
    "data_over": hdr(49) + s(KEY) + s(b"sbx_1") + u32(128 * 1024 + 1),
    "kbs_attest": hdr(12) + s(b"snp") + s(b'{"platform":"snp","report_data":"00"}')
    + s(b'{"nonce":"bg==","tee-pubkey":{"kty":"EC"},"additional-evidence":""}'),
    "kbs_resource": hdr(13) + s(b"eyJhbGciOiJFUzI1NiJ9.e30.AAAA") + s(b"default/key/one"),
    "kbs_admin": hdr(14) + s(KEY) + u8(0) + s(b"default/key/one") + s(b"\x00secret bytes"),
    "kbs_admin_bad_op": hdr(14) + s(KEY) + u8(200) + s(b"") + s(b""),
    "reply": hdr(64) + u16(200) + u8(0) + s(b'{"ok":true}'),
    "shutdown": hdr(65),
    # the gateway's control channel (sealboxd --gateway)
    "gw_config": hdr(30),
    "gw_spawn": hdr(31) + s(b"everything"),
    "gw_spawn_long": hdr(31) + s(b"x" * 33),
    "gw_stop": hdr(32) + struct.pack("<Q", 7),
    "gw_pin_get": hdr(33) + s(b"t") + s(b"tool") + s(b"echo") + s(b"sha256:" + b"0" * 64),
    "gw_pin_name": hdr(34) + s(b"t") + s(b"resource-template") + s(b"file:///{path}"),
    "gw_pin_insert": hdr(35) + s(b"t") + s(b"call") + s(b"agent/add") + s(b"sha256:" + b"1" * 64)
    + s(b'{"a":1}') + u8(0),
    "gw_pin_name_over": hdr(34) + s(b"t") + s(b"tool") + s(b"n" * 256),
    "gw_audit": hdr(36) + s(b'{"type":"mcp","method":"tools/call","agent":"a"}'),
    "gw_reply": hdr(69) + u32(0) + struct.pack("<QQ", 3, 1) + s(b""),
    "gw_reply_error": hdr(69) + u32(11) + struct.pack("<QQ", 0, 0) + s(b"no pinned definition"),
    # hostile variants
    "unknown_type": hdr(0x7fff) + b"junk",
    "flags_set": hdr(2, 1, 1),
    "trailing": hdr(2) + b"\x00",
    "short_header": b"\x02\x00\x00",
    "huge_len": hdr(4) + u32(0xFFFFFFFF),
    "cred_over": hdr(4) + s(b"a" * 129),
    "list_over": hdr(5) + s(KEY) + s(b"") + u32(1) + u8(0) + u16(17),
    "nul_in_text": hdr(6) + s(KEY) + s(b"sbx\x00x"),
    "ctrl_in_list": hdr(7) + s(KEY) + s(b"i") + u32(1) * 4 + lst([b"A=\n"]) + lst([]),
    "truncated_list": hdr(11) + s(KEY) + s(b"sbx_1") + u16(3) + s(b"sh"),
}


def main():
    os.makedirs(OUT, exist_ok=True)
    for name, data in SEEDS.items():
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
