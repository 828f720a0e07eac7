#!/usr/bin/env python3
"""gen_corpus_gw_hello: writes the committed seed corpus of fuzz_gw_hello (the hello line of a
stdio client of sealboxd's gateway, src/gateway/gw_daemon.c): valid hellos and hostile variants.
Run from the repository root:  python3 tests/fuzz/gen_corpus_gw_hello.py
"""
import hashlib
import json
import os

OUT = os.path.join("tests", "fuzz", "corpus", "gw_hello")
TOK = "sbgw_" + "A" * 43


def hello(**kw):
    return json.dumps(kw, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


SEEDS = [
    hello(sealbox_gateway=1, agent="desktop", token=TOK),
    hello(token=TOK, agent="ci-bot", sealbox_gateway=1),
    hello(sealbox_gateway=1, agent="\u00e9l\u00e8ve \u2603", token=TOK),
    hello(sealbox_gateway=2, agent="a", token=TOK),
    hello(sealbox_gateway=1, agent="", token=TOK),
    hello(sealbox_gateway=1, agent="a" * 257, token=TOK),
    hello(sealbox_gateway=1, agent="a\nb", token=TOK),
    hello(sealbox_gateway=1, agent="a\u007fb", token=TOK),
    hello(sealbox_gateway=1, agent="a", token="sbgw_a=b"),
    hello(sealbox_gateway=1, agent="a", token="x" * 513),
    hello(sealbox_gateway=1, agent="a"),
    hello(sealbox_gateway=1, agent="a", token=TOK, extra=True),
    hello(sealbox_gateway="1", agent="a", token=TOK),
    hello(sealbox_gateway=1, agent=["a"], token=TOK),
    b'{"sealbox_gateway":1,"agent":"a","agent":"b","token":"t"}',
    b'{"sealbox_gateway":1,"agent":"a\\u0000b","token":"t"}',
    b'[1,2,3]',
    b'GET / HTTP/1.1',
    b'{"sealbox_gateway":1,"agent":"a","token":"t"',
    b' {"sealbox_gateway":1 , "agent":"a", "token":"t"} ',
    b'{"sealbox_gateway":1e0,"agent":"a","token":"t"}',
    b"\xff\xfe{}",
]

os.makedirs(OUT, exist_ok=True)
for f in os.listdir(OUT):
    os.remove(os.path.join(OUT, f))
for data in SEEDS:
    name = hashlib.sha256(data).hexdigest()[:16]
    with open(os.path.join(OUT, name), "wb") as fh:
        fh.write(data)
