"""`make bench`: egress analyze against tshark and a naive dpkt loop, timed in the same run on the same files.

Builds the captures with bench/gen.py (deterministic), runs each tool under /usr/bin/time for wall
time and peak RSS, prints a table with packets/s, MB/s and ratios, and writes bench/out/results.json.
A benchmark, not a test: nothing here fails the build.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from parsers.capture_writer import CaptureWriter

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
BIN = Path(sys.executable).parent
ALLOWLIST = ROOT / "fixtures" / "replay" / "sunbeam.allowlist.md"
REPEAT = 3  # egress and tshark run this many times on each capture; the median is reported


def timed(cmd: list[str], repeat: int = 1) -> dict[str, float]:
    """Median wall seconds and the largest peak RSS (MB) of ``repeat`` runs, measured by GNU time."""
    stats = OUT / "time.txt"
    walls, peaks = [], []
    for _ in range(repeat):
        t0 = time.monotonic()
        subprocess.run(
            ["/usr/bin/time", "-f", "%e %M", "-o", str(stats), *cmd],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        walls.append(time.monotonic() - t0)
        peaks.append(int(stats.read_text().split()[1]))
    return {"seconds": round(statistics.median(walls), 3), "peak_rss_mb": round(max(peaks) / 1024, 1), "runs": repeat}


def capture(kind: str, name: str, **kw: int | bool) -> tuple[Path, int]:
    path = OUT / name
    args = [sys.executable, str(ROOT / "bench" / "gen.py"), kind, str(path)]
    for k, v in kw.items():
        args += [f"--{k}"] if v is True else [f"--{k}", str(v)]
    line = subprocess.run(args, check=True, capture_output=True, text=True).stdout
    return path, int(line.split(":")[1].split()[0])


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    have_tshark = shutil.which("tshark") is not None
    egress = [str(BIN / "egress"), "analyze"]
    results: dict[str, object] = {
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "platform": platform.platform()},
        "captures": {},
    }
    plan: list[tuple[str, str, dict[str, int | bool]]] = [
        ("bulk", "bulk-520mb.pcap", {"mb": 520}),
        ("handshake", "handshake-120k.pcap", {"packets": 120_000}),
        # The same traffic as Wireshark or dumpcap would write it.
        ("bulk", "bulk-520mb.pcapng", {"mb": 520, "pcapng": True}),
        ("handshake", "handshake-120k.pcapng", {"packets": 120_000, "pcapng": True}),
    ]
    rows = []
    for kind, name, kw in plan:
        path, packets = capture(kind, name, **kw)
        size_mb = path.stat().st_size / 1e6
        runs = {
            "egress": timed(
                [*egress, str(path), "--allowlist", str(ALLOWLIST), "--format", "json", "-o", "/dev/null"], REPEAT
            ),
            "dpkt-naive": timed([sys.executable, str(ROOT / "bench" / "naive_dpkt.py"), str(path)]),
        }
        if name.endswith(".pcap"):  # the floor: a bare loop over the record headers, nothing decoded
            runs["walk-floor"] = timed([sys.executable, str(ROOT / "bench" / "walk_floor.py"), str(path)], REPEAT)
        if have_tshark:
            runs["tshark"] = timed(
                [
                    "tshark",
                    "-n",
                    "-r",
                    str(path),
                    "-T",
                    "fields",
                    "-e",
                    "dns.qry.name",
                    "-e",
                    "tls.handshake.extensions_server_name",
                    "-e",
                    "http.host",
                ],
                REPEAT,
            )
        for r in runs.values():
            r["packets_per_s"] = round(packets / r["seconds"])
            r["mb_per_s"] = round(size_mb / r["seconds"], 1)
        e = runs["egress"]["seconds"]
        ratios = {f"{tool}/egress": round(r["seconds"] / e, 2) for tool, r in runs.items() if tool != "egress"}
        results["captures"][name] = {"packets": packets, "mb": round(size_mb), "runs": runs, "ratios": ratios}  # type: ignore[index]
        for tool, r in runs.items():
            rows.append(
                (
                    name,
                    tool,
                    packets,
                    r["seconds"],
                    r["packets_per_s"],
                    r["mb_per_s"],
                    r["peak_rss_mb"],
                    ratios.get(f"{tool}/egress", ""),
                )
            )
        path.unlink()
    # The fixed cost of one run (interpreter, imports, allowlist, report) on a capture with no packets,
    # so that the per-packet rate can be read apart from it.
    empty = OUT / "empty.pcap"
    CaptureWriter(empty).close()
    fixed = timed([*egress, str(empty), "--allowlist", str(ALLOWLIST), "--format", "json", "-o", "/dev/null"], 5)
    results["fixed_cost"] = fixed
    empty.unlink()
    # Memory must not grow with capture size: the same bulk traffic at 200 MB and 2 GB.
    flat = {}
    for mb in (200, 2000):
        path, packets = capture("bulk", f"bulk-{mb}mb.pcap", mb=mb)
        flat[f"{mb}MB"] = {"packets": packets, **timed([*egress, str(path), "--format", "json", "-o", "/dev/null"])}
        path.unlink()
    results["memory_flatness"] = flat
    # A night's directory: four captures, one worker versus every core.
    nightly = [capture("handshake", f"night-{i}.pcap", packets=60_000)[0] for i in range(4)]
    parallel = {}
    for jobs in (1, os.cpu_count() or 1):
        parallel[f"jobs={jobs}"] = timed(
            [*egress, *map(str, nightly), "--format", "json", "-o", str(OUT / "night"), "--jobs", str(jobs)]
        )
    for path in nightly:
        path.unlink()
    results["directory"] = parallel
    (OUT / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    head = ("capture", "tool", "packets", "seconds", "pkts/s", "MB/s", "RSS MB", "x slower")
    print(f"{head[0]:22} {head[1]:10} " + " ".join(f"{h:>9}" for h in head[2:]))
    for r in rows:
        print(f"{r[0]:22} {r[1]:10} " + " ".join(f"{v!s:>9}" for v in r[2:]))
    for size, r in flat.items():
        print(
            f"egress on a {size} bulk capture: {r['seconds']} s, {r['packets'] / r['seconds']:.0f} packets/s, "
            f"peak RSS {r['peak_rss_mb']} MB"
        )
    for name, c in results["captures"].items():  # type: ignore[attr-defined]
        e = c["runs"]["egress"]["seconds"] - fixed["seconds"]
        print(f"{name}: {c['packets'] / e:.0f} packets/s after the fixed cost of a run ({fixed['seconds']} s)")
    for label, r in parallel.items():
        print(f"4 captures of 60 k handshake packets, {label}: {r['seconds']} s, peak RSS {r['peak_rss_mb']} MB")
    print(f"results: {OUT / 'results.json'}")


if __name__ == "__main__":
    main()
