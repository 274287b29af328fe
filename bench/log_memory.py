"""Peak memory of reading a large firewall log: flat, whatever the log's size (issue 13).

Writes Azure Firewall AZFWApplicationRule records as JSON lines (a storage account's PT1H.json
shape) of about SIZE MB each, gzip'd or not, with 400 names, 40 clients and one connection per
record (its own source port), then runs ``analyze`` on each in a fresh process and prints the
peak RSS (ru_maxrss) and the time.  Flat memory: the peak at 4x the size is about the same.

    python bench/log_memory.py 50 200          # two sizes, plain JSON lines
    python bench/log_memory.py --gzip 50 200
    python bench/log_memory.py --envelope 200  # one {"records": [...]} document (an Event Hub capture's shape)
"""

from __future__ import annotations

import gzip
import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHILD = """
import resource, sys, time
from analyzer.api import analyze
t = time.perf_counter()
r = analyze(sys.argv[1])
print(r.capture.packets, len(r.observations), len(r.summary), round(time.perf_counter() - t, 1),
      resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)
"""


def write_log(path: Path, megabytes: int, compressed: bool, seed: int = 13, envelope: bool = False) -> int:
    rng = random.Random(seed)
    names = [f"host{i}.vendor{i % 37}.example" for i in range(400)]
    clients = [f"10.10.{i // 250}.{i % 250 + 1}" for i in range(40)]
    target = megabytes << 20
    written = records = 0
    opener = gzip.open if compressed else open
    with opener(path, "wt") as out:  # type: ignore[operator]
        if envelope:
            out.write('{"records": [\n')
        while written < target:
            deny = rng.random() < 0.2
            rec = {
                "time": f"2024-06-10T{rng.randrange(24):02d}:{rng.randrange(60):02d}:{rng.randrange(60):02d}.1234567Z",
                "resourceId": "/SUBSCRIPTIONS/X/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.NETWORK/AZUREFIREWALLS/FW",
                "category": "AZFWApplicationRule",
                "properties": {
                    "Protocol": "HTTPS", "SourceIp": rng.choice(clients), "SourcePort": rng.randrange(1024, 65535),
                    "DestinationPort": 443, "Fqdn": rng.choice(names), "TargetUrl": "",
                    "Action": "Deny" if deny else "Allow", "Policy": "p", "RuleCollectionGroup": "g",
                    "RuleCollection": "c", "Rule": "" if deny else "allow-vendors",
                    "ActionReason": "Default Action" if deny else "", "IsTlsInspected": False,
                    "IsExplicitProxyRequest": False,
                },
            }  # fmt: skip
            line = ("" if not envelope or records == 0 else ",\n") + json.dumps(rec, indent=1 if envelope else None)
            out.write(line if envelope else line + "\n")
            written += len(line)
            records += 1
        if envelope:
            out.write("\n]}\n")
    return records


def main(argv: list[str]) -> None:
    compressed = "--gzip" in argv
    envelope = "--envelope" in argv
    sizes = [int(a) for a in argv if a.isdigit()] or [50, 200]
    with tempfile.TemporaryDirectory() as tmp:
        for mb in sizes:
            path = Path(tmp) / (f"azfw-{mb}.json" + (".gz" if compressed else ""))
            records = write_log(path, mb, compressed, envelope=envelope)
            started = time.perf_counter()
            out = subprocess.run([sys.executable, "-c", CHILD, str(path)], capture_output=True, text=True, check=True)
            got, rows, summary, secs, rss = out.stdout.split()
            assert int(got) == records, (got, records)
            print(
                f"{mb} MB{' gzip' if compressed else ''}{' envelope' if envelope else ''}: {records} records, "
                f"{rows} observation rows held, "
                f"{summary} summary rows, {secs} s, peak RSS {rss} MiB "
                f"(file {path.stat().st_size >> 20} MiB, wall {time.perf_counter() - started:.1f} s)"
            )


if __name__ == "__main__":
    main(sys.argv[1:])
