#!/usr/bin/env python3
"""Writes the seed corpus of fuzz_mlog (tests/fuzz/corpus/mlog/): measurement logs built from the
format in docs/secrets.md (JCS events, SHA-384 chain), valid ones and one near-miss per rule."""
import copy
import hashlib
import json
import os
import sys

out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "corpus", "mlog")
os.makedirs(out, exist_ok=True)


def jcs(v):
    # Enough of RFC 8785 for these ASCII seeds: sorted keys, no whitespace, integers.
    return json.dumps(v, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def d384(b):
    return "sha384:" + hashlib.sha384(b).hexdigest()


def log(events, digest=True, tainted=True):
    st = bytes(48)
    for e in events:
        st = hashlib.sha384(st + hashlib.sha384(jcs(e)).digest()).digest()
    o = {"version": 1, "hash": "sha384", "events": events}
    if digest:
        o["digest"] = "sha384:" + st.hex()
    if tainted:
        o["tainted"] = len(events) > 3
    return o


config = {"cpu_millis": 0, "disk_bytes": 268435456, "env": ["PATH"], "hostname": "sandbox",
          "memory_bytes": 536870912, "mounts": [], "network": "none", "pids": 512}
img = {"seq": 0, "type": "image", "digest": "sha256:" + "ab" * 32}
cfg = {"seq": 1, "type": "config", "digest": d384(jcs(config))}


def cmd(seq, kind, argv, exe="/usr/bin/python3"):
    return {"seq": seq, "type": kind, "argv": argv, "env": ["HOME", "PATH"], "workdir": "/",
            "executable": exe, "digest": d384(exe.encode()) if exe else ""}


seeds = {
    "initial": log([img, cfg]),
    "entrypoint": log([img, cfg, cmd(2, "entrypoint", ["python3", "-m", "agent"])]),
    "tainted": log([img, cfg, cmd(2, "entrypoint", ["python3"]), cmd(3, "exec", ["sh", "-c", "id"], "/bin/sh"),
                    cmd(4, "exec", ["missing"], "")]),
    "no_digest": log([img, cfg, cmd(2, "entrypoint", ["a"])], digest=False, tainted=False),
    "host_image": log([{"seq": 0, "type": "image", "digest": "mutable:host-usr"}, cfg]),
}
bad = copy.deepcopy(seeds["entrypoint"])
bad["events"][2]["argv"].append("tampered")
seeds["tampered_argv"] = bad
bad = copy.deepcopy(seeds["tainted"])
bad["tainted"] = False
seeds["lying_taint"] = bad
bad = copy.deepcopy(seeds["tainted"])
bad["events"][3]["type"] = "entrypoint"
seeds["two_entrypoints"] = bad
bad = copy.deepcopy(seeds["entrypoint"])
bad["events"][2]["seq"] = 7
seeds["bad_seq"] = bad
bad = copy.deepcopy(seeds["entrypoint"])
bad["events"][2]["extra"] = True
seeds["unknown_member"] = bad

for name, v in seeds.items():
    with open(os.path.join(out, name + ".json"), "wb") as f:
        f.write(json.dumps(v, sort_keys=True, separators=(",", ":")).encode())
with open(os.path.join(out, "truncated.json"), "wb") as f:
    f.write(json.dumps(seeds["tainted"]).encode()[:200])
