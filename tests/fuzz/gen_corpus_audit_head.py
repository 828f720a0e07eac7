#!/usr/bin/env python3
"""gen_corpus_audit_head: writes the committed seed corpus of fuzz_audit_head.

Head files in the format of src/gateway/gateway.h (sb_audit_head_parse), valid in shape, and
variants (version 1, and version 2 with its counter) with each member missing, mistyped, out of range, duplicated or unknown, plus
truncations and non-JSON. Run from the repository root:
    python3 tests/fuzz/gen_corpus_audit_head.py
"""
import base64
import hashlib
import json
import os

OUT = os.path.join("tests", "fuzz", "corpus", "audit_head")


def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def head(seq=42, ts=1700000000123, kid=None, sig=None, h=None, **extra):
    d = {
        "format": "sealbox-audit-head",
        "version": 1,
        "seq": seq,
        "ts": ts,
        "hash": h if h is not None else hashlib.sha256(b"row " + str(seq).encode()).hexdigest(),
        "kid": kid if kid is not None else b64u(hashlib.sha256(b"kid").digest()),
        "sig": sig if sig is not None else b64u(hashlib.sha512(b"sig " + str(seq).encode()).digest()),
    }
    d.update(extra)
    return d


def dump(d):
    return (json.dumps(d, sort_keys=True, separators=(",", ":")) + "\n").encode()


def main():
    os.makedirs(OUT, exist_ok=True)
    seeds = {
        "valid": dump(head()),
        "valid_seq1": dump(head(seq=1, ts=0)),
        "valid_max": dump(head(seq=2**53 - 1, ts=2**53 - 1)),
        "valid_pretty": json.dumps(head(), indent=2).encode(),
        "seq0": dump(head(seq=0)),
        "seq_big": dump(head(seq=2**53)),
        "seq_neg": dump(head(seq=-1)),
        "seq_real": dump(head(seq=4.5)),
        "seq_str": dump(head(seq="42")),
        "ts_null": dump(head(ts=None)),
        "hash_short": dump(head(h="ab" * 31)),
        "hash_upper": dump(head(h="AB" * 32)),
        "hash_nothex": dump(head(h="zz" * 32)),
        "kid_empty": dump(head(kid="")),
        "kid_long": dump(head(kid="k" * 64)),
        "kid_slash": dump(head(kid="a/b")),
        "sig_short": dump(head(sig=b64u(b"\0" * 63))),
        "sig_long": dump(head(sig=b64u(b"\0" * 65))),
        "sig_std_alphabet": dump(head(sig=base64.b64encode(b"\xff" * 64).decode())),
        "version2_no_counter": dump(dict(head(), version=2)),
        "version2_counter": dump(dict(head(), version=2, counter=17)),
        "version2_counter_max": dump(dict(head(), version=2, counter=2**53 - 1)),
        "version2_counter0": dump(dict(head(), version=2, counter=0)),
        "version2_counter_big": dump(dict(head(), version=2, counter=2**53)),
        "version2_counter_str": dump(dict(head(), version=2, counter="17")),
        "version1_counter": dump(dict(head(), counter=17)),
        "version3": dump(dict(head(), version=3, counter=17)),
        "format_other": dump(dict(head(), format="other")),
        "unknown_member": dump(head(extra=1)),
        "array": b"[" + dump(head()).strip() + b"]",
        "nested": dump({"head": head()}),
        "empty_object": b"{}",
        "empty": b"",
        "not_json": b"seq=42 hash=00",
        "duplicate": dump(head()).replace(b'"seq":42', b'"seq":42,"seq":43'),
        "nul_in_kid": dump(head()).replace(b'"kid":"', b'"kid":"\\u0000'),
        "oversized": b'{"format":"' + b"x" * 5000 + b'"}',
    }
    valid = dump(head())
    for cut in (1, 20, len(valid) // 2, len(valid) - 3):
        seeds["truncated_%d" % cut] = valid[:cut]
    for name in ("format", "version", "seq", "ts", "hash", "kid", "sig"):
        d = head()
        del d[name]
        seeds["missing_" + name] = dump(d)
    for name, data in seeds.items():
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
