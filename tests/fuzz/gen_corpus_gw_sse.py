#!/usr/bin/env python3
"""gen_corpus_gw_sse: writes the committed seed corpus of fuzz_gw_sse (the text/event-stream
decoder for remote Streamable HTTP servers): one file per stream, its first byte saying where
the fuzzer splits it into two reads. Run from the repository root:
    python3 tests/fuzz/gen_corpus_gw_sse.py
"""
import hashlib
import os

OUT = os.path.join("tests", "fuzz", "corpus", "gw_sse")
MSG = '{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"Echo: hi"}]}}'
STREAMS = [
    "id: 1\ndata:\n\nevent: message\ndata: " + MSG + "\n\n",
    "retry: 1000\nid: abc\ndata: \n\n",
    ": keepalive\n\n: keepalive\r\n\r\n",
    "data: {\"jsonrpc\":\"2.0\",\r\ndata: \"method\":\"notifications/progress\"}\r\n\r\n",
    "data: a\rdata: b\r\r",
    "event: ping\ndata: x\n\nevent: message\ndata: y\n\n",
    "data\n\ndata:\n\n:\n\n",
    "id: with\x00nul\ndata: z\n\n",
    "retry: 99999999999999\nretry: x\ndata: q\n\n",
    "field-without-colon\nunknown: value\ndata:no-space\n\n",
    "data: " + "x" * 5000 + "\n\n",
    "event: " + "e" * 300 + "\n\n",
    "data: incomplete event without the blank line",
    "\n\n\n\r\n\r\r\n",
]

os.makedirs(OUT, exist_ok=True)
for f in os.listdir(OUT):
    os.remove(os.path.join(OUT, f))
for i, s in enumerate(STREAMS):
    b = s.encode("utf-8", "surrogatepass")
    for split in (0, len(b) // 2, max(len(b) - 1, 0)):
        data = bytes([split % 256]) + b
        name = hashlib.sha256(data).hexdigest()[:16]
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(data)
print(f"{len(os.listdir(OUT))} seeds in {OUT}")
