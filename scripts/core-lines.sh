#!/usr/bin/env bash
# Non-test lines of sipdial-core (issue #20's measure): every line of the .rs files under
# crates/sipdial-core/src, without files named tests.rs or *_tests.rs and without inline
# `#[cfg(test)] mod … { … }` blocks. Prints the total, then the N largest files.
#
#   bash scripts/core-lines.sh [N]
set -euo pipefail
cd "$(dirname "$0")/.."
python3 - "${1:-0}" <<'PY'
import os, re, sys
root = "crates/sipdial-core/src"
per = {}
for d, _, fs in os.walk(root):
    for f in fs:
        if not f.endswith(".rs") or f == "tests.rs" or f.endswith("_tests.rs"):
            continue
        p = os.path.join(d, f)
        lines = open(p).read().split("\n")
        if lines and lines[-1] == "":
            lines = lines[:-1]
        n, i = 0, 0
        while i < len(lines):
            if lines[i].strip() == "#[cfg(test)]" and i + 1 < len(lines) and re.match(
                r"\s*(pub(\(.*\))?\s+)?mod\s+\w+\s*\{", lines[i + 1]
            ):
                depth, j = 0, i + 1
                while j < len(lines):
                    depth += lines[j].count("{") - lines[j].count("}")
                    j += 1
                    if depth <= 0:
                        break
                i = j
                continue
            n += 1
            i += 1
        per[p] = n
print(sum(per.values()))
for p, n in sorted(per.items(), key=lambda x: -x[1])[: int(sys.argv[1])]:
    print(n, p)
PY
