#!/usr/bin/env python3
"""gen_corpus_secret_spec: writes the seeds of fuzz_secret_spec (tests/fuzz/corpus/secret_spec/):
secrets in the form `sealbox run --secret` and the daemon's create message carry
("repo/type/tag[:file=PATH|:env=NAME]"), valid ones and near misses."""
import os, sys

out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "corpus", "secret_spec")
os.makedirs(out, exist_ok=True)
seeds = {
    "default_file": b"app/db/password",
    "env": b"app/db/password:env=DB_PASSWORD",
    "file": b"app/tls/key:file=/etc/agent/tls.key",
    "file_colon": b"a/b/c:file=/x:y",
    "empty_kind": b"a/b/c:",
    "bad_kind": b"a/b/c:mode=0400",
    "env_empty": b"a/b/c:env=",
    "env_nul": b"a/b/c:env=A\x00B",
    "dotdot": b"a/../c:file=/x",
    "relative_file": b"a/b/c:file=x/y",
    "two_segments": b"a/b:env=X",
    "long_path": b"a/b/" + b"t" * 200,
}
for name, data in seeds.items():
    with open(os.path.join(out, name), "wb") as f:
        f.write(data)
