"""How lint and the allowlist diff scale with the number of entries (issue 10, item 10).

Writes a text allowlist of N entries shaped like big real ones (mostly exact names, some
``*.domain`` wildcards, a few ``*domain`` and duplicates) and times reading it, linting it and
diffing a capture's worth of names against it.  Run: python bench/allowlist_scale.py 3000 10000 100000
"""

from __future__ import annotations

import random
import sys
import tempfile
import time
from pathlib import Path

from analyzer.allowlist.index import EntryIndex
from analyzer.allowlist.lint import lint
from analyzer.allowlist.readers import read_allowlist


def allowlist_text(count: int, seed: int = 7) -> str:
    rng = random.Random(seed)
    tlds = ["com", "net", "io", "org", "co.uk", "dev"]
    domains = [f"vendor{i}.{rng.choice(tlds)}" for i in range(max(1, count // 5))]
    lines = []
    for i in range(count):
        domain = rng.choice(domains)
        roll = rng.random()
        if roll < 0.70:
            lines.append(f"host{i}.{domain}:443")
        elif roll < 0.90:
            lines.append(f"*.{domain}:443")
        elif roll < 0.95:
            lines.append(f"*{domain}:443")
        else:
            lines.append(lines[rng.randrange(len(lines))] if lines else f"{domain}:443")
    return "\n".join(lines) + "\n"


def main(sizes: list[int]) -> None:
    names = [f"host{i}.vendor{i % 97}.com" for i in range(500)] + [f"cdn.vendor{i}.net" for i in range(500)]
    for count in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "allow.txt"
            path.write_text(allowlist_text(count))
            start = time.perf_counter()
            allowlist = read_allowlist(path)
            read_s = time.perf_counter() - start
            start = time.perf_counter()
            findings = lint(allowlist, "azure")
            lint_s = time.perf_counter() - start
            start = time.perf_counter()
            index = EntryIndex(allowlist.entries, "azure")
            hits = sum(len(index.matches(name)) for name in names)
            diff_s = time.perf_counter() - start
        print(
            f"{count:>7} entries: read {read_s:6.2f} s  lint {lint_s:6.2f} s ({len(findings)} findings)  "
            f"index+{len(names)} lookups {diff_s:6.2f} s ({hits} hits)"
        )


if __name__ == "__main__":
    main([int(arg) for arg in sys.argv[1:]] or [3000, 10000, 100000])
