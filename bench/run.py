"""`make bench`: egress analyze against its peers, timed in the same run on the same files.

Builds the captures with bench/gen.py (deterministic), runs each tool under /usr/bin/time for wall
time, CPU time and peak RSS, prints a table with packets/s, MB/s and ratios, the issue 15 targets
with their figures, and writes bench/out/results.json.  A benchmark, not a test: nothing here fails
the build.

Peers: tshark, a naive dpkt loop, nfstream (the `bench` extra) and nDPI's ndpiReader (Debian's
libndpi-bin); a peer that is not installed is skipped with a note.  ``BENCH_SCALE`` (default 1)
scales every capture, so that ``BENCH_SCALE=0.05`` checks this script in a minute; ratios at a
small scale weigh the fixed cost of a run more than the full run does.
"""

from __future__ import annotations

import importlib.util
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: the repository root holds parsers
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from parsers.capture_writer import CaptureWriter

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
BIN = Path(sys.executable).parent
GEN = ROOT / "bench" / "gen.py"
ALLOWLIST = ROOT / "fixtures" / "replay" / "sunbeam.allowlist.md"
REPEAT = 3  # every tool but the slow dpkt loop runs this many times on each capture; the median is reported
SCALE = float(os.environ.get("BENCH_SCALE", "1"))
# The issue 15 targets.
BULK_X_TSHARK = 8.0
HANDSHAKE_X_TSHARK = 1.6
RSS_MB = 300.0
FIXED_S = 0.2
VLAN_SHARE = 0.2  # a trunk port's share of tagged packets
# Memory captures (issue 15): what each holds a million or a hundred thousand of, if gen.py offers it.
MEMORY_KINDS = {"synscan": ("connections", 1_000_000), "dnsnames": ("names", 200_000), "snis": ("names", 100_000)}


def scaled(n: int, least: int = 1) -> int:
    return max(least, round(n * SCALE))


def timed(cmd: list[str], repeat: int = 1) -> dict[str, float]:
    """Median wall and CPU (user+sys) seconds and the largest peak RSS (MB) of ``repeat`` runs,
    measured by GNU time (CPU time includes a tool's child processes, such as nfstream's meters)."""
    stats = OUT / "time.txt"
    walls, cpus, peaks = [], [], []
    for _ in range(repeat):
        t0 = time.monotonic()
        subprocess.run(
            ["/usr/bin/time", "-f", "%e %M %U %S", "-o", str(stats), *cmd],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        walls.append(time.monotonic() - t0)
        _, rss, user, sys_ = stats.read_text().split()[-4:]
        peaks.append(int(rss))
        cpus.append(float(user) + float(sys_))
    return {
        "seconds": round(statistics.median(walls), 3),
        "cpu_seconds": round(statistics.median(cpus), 3),
        "peak_rss_mb": round(max(peaks) / 1024, 1),
        "runs": repeat,
    }


def gen_offers() -> tuple[set[str], set[str]]:
    """The kinds and options bench/gen.py offers (other work adds kinds to it)."""
    text = subprocess.run([sys.executable, str(GEN), "--help"], check=True, capture_output=True, text=True).stdout
    choices = re.search(r"\{([a-z,]+)\}", text)
    kinds = set(choices.group(1).split(",")) if choices else set()
    return kinds, set(re.findall(r"--([a-z][a-z-]*)", text))


def capture(kind: str, name: str, **kw: int | float | bool) -> tuple[Path, int]:
    path = OUT / name
    args = [sys.executable, str(GEN), kind, str(path)]
    for k, v in kw.items():
        flag = "--" + k.replace("_", "-")
        args += [flag] if v is True else [flag, str(v)]
    line = subprocess.run(args, check=True, capture_output=True, text=True).stdout
    return path, int(line.split(":")[1].split()[0])


def peers(notes: list[str]) -> dict[str, list[str]]:
    """The command of each peer that is installed, before the capture's path."""
    found: dict[str, list[str]] = {}
    found["dpkt-naive"] = [sys.executable, str(ROOT / "bench" / "naive_dpkt.py")]
    if shutil.which("tshark"):
        fields = ("dns.qry.name", "tls.handshake.extensions_server_name", "http.host")
        found["tshark"] = ["tshark", "-n", "-T", "fields", *(a for f in fields for a in ("-e", f)), "-r"]
    else:
        notes.append("tshark not installed: skipped (make system-deps installs it)")
    if importlib.util.find_spec("nfstream") is not None:
        found["nfstream"] = [sys.executable, str(ROOT / "bench" / "peer_nfstream.py")]
    else:
        notes.append("nfstream not installed: skipped (pip install -e '.[bench]')")
    if shutil.which("ndpiReader"):
        # -v 2 lists every flow with the host name or SNI nDPI read from it (what the others print).
        found["ndpiReader"] = ["ndpiReader", "-v", "2", "-i"]
    else:
        notes.append("ndpiReader not installed: skipped (Debian's libndpi-bin; make bench installs it as root)")
    return found


def egress_build(notes: list[str]) -> str:
    """Which build the egress runs load, and make it the compiled one when there is one.

    ``make bench`` builds the compiled wheel's modules in a copy of the tree (``make compiled``) and
    names it in EGRESS_BENCH_TREE: first on PYTHONPATH, it is what every egress run below imports (the
    editable install's finder comes after the path). That is the build a release is to ship. Without it,
    the sources are measured, and a note says so."""
    tree = os.environ.get("EGRESS_BENCH_TREE")  # never a default: a tree left from an older build is stale
    if tree and (Path(tree) / "analyzer").is_dir():
        os.environ["PYTHONPATH"] = str(Path(tree).resolve())
    # Asked from OUT: `python -c` puts its working directory first on the path, and ROOT holds the sources.
    probe = [sys.executable, "-c", "import analyzer.engine as m; print(m.__file__)"]
    loaded = subprocess.run(probe, check=True, capture_output=True, text=True, cwd=OUT).stdout.strip()
    if loaded.endswith(".py"):
        notes.append("egress ran as pure Python: no compiled build (`make compiled` needs a C compiler)")
        return "pure Python"
    return f"compiled (mypyc), from {Path(loaded).parents[1]}"


def verdict(ok: bool) -> str:
    return "met" if ok else "NOT MET"


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    notes: list[str] = []
    tools = peers(notes)
    kinds, options = gen_offers()
    egress = [str(BIN / "egress"), "analyze"]
    egress_run = ["--allowlist", str(ALLOWLIST), "--format", "json", "-o", "/dev/null"]
    results: dict[str, Any] = {
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "platform": platform.platform()},
        "egress_build": egress_build(notes),
        "scale": SCALE,
        "captures": {},
    }
    bulk_mb, hs_packets = scaled(520, 5), scaled(120_000, 2000)
    tagged = {"mb": bulk_mb, "vlan_share": VLAN_SHARE}
    plan: list[tuple[str, str, str, dict[str, int | float | bool]]] = [
        ("bulk", "bulk", "bulk.pcap", {"mb": bulk_mb}),
        ("bulk", "bulk", "bulk-vlan.pcap", tagged),
        ("handshake", "handshake", "handshake.pcap", {"packets": hs_packets}),
        # The same traffic as Wireshark or dumpcap would write it.
        ("bulk", "bulk", "bulk.pcapng", {"mb": bulk_mb, "pcapng": True}),
        ("bulk", "bulk", "bulk-vlan.pcapng", {**tagged, "pcapng": True}),
        ("handshake", "handshake", "handshake.pcapng", {"packets": hs_packets, "pcapng": True}),
    ]
    rows = []
    for kind, family, name, kw in plan:
        path, packets = capture(kind, name, **kw)
        size_mb = path.stat().st_size / 1e6
        runs = {"egress": timed([*egress, str(path), *egress_run], REPEAT)}
        for tool, cmd in tools.items():
            runs[tool] = timed([*cmd, str(path)], 1 if tool == "dpkt-naive" else REPEAT)
        if name.endswith(".pcap"):  # the floor: a bare loop over the record headers, nothing decoded
            runs["walk-floor"] = timed([sys.executable, str(ROOT / "bench" / "walk_floor.py"), str(path)], REPEAT)
        for r in runs.values():
            r["packets_per_s"] = round(packets / r["seconds"])
            r["mb_per_s"] = round(size_mb / r["seconds"], 1)
        e, e_cpu = runs["egress"]["seconds"], max(runs["egress"]["cpu_seconds"], 0.01)
        ratios = {f"{tool}/egress": round(r["seconds"] / e, 2) for tool, r in runs.items() if tool != "egress"}
        # CPU time as well: on a shared machine wall time varies with the load, and a peer that
        # runs in several processes (nfstream) or threads spends more CPU than its wall time shows.
        cpu_ratios = {
            f"{tool}/egress": round(r["cpu_seconds"] / e_cpu, 2) for tool, r in runs.items() if tool != "egress"
        }
        results["captures"][name] = {
            "family": family,
            "packets": packets,
            "mb": round(size_mb),
            "runs": runs,
            "ratios": ratios,
            "cpu_ratios": cpu_ratios,
        }
        for tool, r in runs.items():
            rows.append(
                (
                    name,
                    tool,
                    packets,
                    r["seconds"],
                    r["cpu_seconds"],
                    r["packets_per_s"],
                    r["mb_per_s"],
                    r["peak_rss_mb"],
                    ratios.get(f"{tool}/egress", ""),
                    cpu_ratios.get(f"{tool}/egress", ""),
                )
            )
        path.unlink()
    # The fixed cost of one run (interpreter, imports, allowlist, report) on a capture with no packets,
    # so that the per-packet rate can be read apart from it.
    empty = OUT / "empty.pcap"
    CaptureWriter(empty).close()
    fixed = timed([*egress, str(empty), *egress_run], 5)
    fixed_bare = timed([*egress, str(empty), "--format", "json", "-o", "/dev/null"], 5)
    results["fixed_cost"] = fixed
    results["fixed_cost_without_allowlist"] = fixed_bare
    empty.unlink()
    # Memory must not grow with capture size: the same bulk traffic at 200 MB and 2 GB.
    flat = {}
    for mb in (scaled(200, 5), scaled(2000, 50)):
        path, packets = capture("bulk", f"bulk-{mb}mb.pcap", mb=mb)
        flat[f"{mb}MB"] = {"packets": packets, **timed([*egress, str(path), "--format", "json", "-o", "/dev/null"])}
        path.unlink()
    results["memory_flatness"] = flat
    # Nor with what a capture holds: connections, DNS names, SNIs (when bench/gen.py can write them).
    memory: dict[str, dict[str, Any]] = {}
    for kind, (option, count) in MEMORY_KINDS.items():
        if kind not in kinds:
            notes.append(f"bench/gen.py has no '{kind}' capture yet: its memory figure is not measured")
            continue
        size = {option: scaled(count, 100)} if option in options else {}
        for ng in (False, True):
            name = f"{kind}.pcap" + ("ng" if ng else "")
            path, packets = capture(kind, name, **size, **({"pcapng": True} if ng else {}))
            memory[name] = {"packets": packets, **timed([*egress, str(path), *egress_run])}
            path.unlink()
    results["memory"] = memory
    # A night's directory: four captures, one worker versus every core.
    nightly = [capture("handshake", f"night-{i}.pcap", packets=scaled(60_000, 1000))[0] for i in range(4)]
    parallel = {}
    for jobs in (1, os.cpu_count() or 1):
        parallel[f"jobs={jobs}"] = timed(
            [*egress, *map(str, nightly), "--format", "json", "-o", str(OUT / "night"), "--jobs", str(jobs)]
        )
    for path in nightly:
        path.unlink()
    results["directory"] = parallel
    results["targets"] = targets = judge(results)
    results["notes"] = notes
    (OUT / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    report(results, rows, targets, notes)


def judge(results: dict[str, Any]) -> list[tuple[str, str, bool]]:
    """Each issue 15 target: (what, the figure, met)."""
    out = []
    for name, c in results["captures"].items():
        ratios, cpu = c["ratios"], c["cpu_ratios"]
        want = BULK_X_TSHARK if c["family"] == "bulk" else HANDSHAKE_X_TSHARK
        # Judged on wall time, what a user waits for; the CPU-time ratio is printed beside it.
        if "tshark/egress" in ratios:
            x = ratios["tshark/egress"]
            out.append((f"{name}: at least {want}x tshark", f"{x}x ({cpu['tshark/egress']}x cpu)", x >= want))
        if "nfstream/egress" in ratios:
            x = ratios["nfstream/egress"]
            out.append((f"{name}: faster than nfstream", f"{x}x ({cpu['nfstream/egress']}x cpu)", x > 1.0))
    peaks = {name: c["runs"]["egress"]["peak_rss_mb"] for name, c in results["captures"].items()}
    peaks.update({name: m["peak_rss_mb"] for name, m in results["memory"].items()})
    for name, mb in peaks.items():
        out.append((f"{name}: peak RSS at most {RSS_MB:.0f} MB", f"{mb} MB", mb <= RSS_MB))
    small, big = results["memory_flatness"].values()
    # "Equals": within 5 % (the allocator's rounding and the interpreter's own growth).
    flat_ok = big["peak_rss_mb"] <= small["peak_rss_mb"] * 1.05
    out.append(
        (
            "peak RSS of the large bulk capture equals the small one's",
            f"{big['peak_rss_mb']} MB vs {small['peak_rss_mb']} MB",
            flat_ok,
        )
    )
    fixed = results["fixed_cost"]
    out.append(
        (
            f"fixed cost (empty capture, whole process) at most {FIXED_S} s",
            f"{fixed['seconds']} s wall, {fixed['cpu_seconds']} s cpu",
            fixed["seconds"] <= FIXED_S,
        )
    )
    return out


def report(
    results: dict[str, Any], rows: list[tuple[object, ...]], targets: list[tuple[str, str, bool]], notes: list[str]
) -> None:
    head = ("capture", "tool", "packets", "seconds", "cpu s", "pkts/s", "MB/s", "RSS MB", "peer/egress", "(cpu)")
    print(f"{head[0]:18} {head[1]:11} " + " ".join(f"{h:>11}" for h in head[2:]))
    for r in rows:
        print(f"{r[0]!s:18} {r[1]!s:11} " + " ".join(f"{v!s:>11}" for v in r[2:]))
    fixed, bare = results["fixed_cost"], results["fixed_cost_without_allowlist"]
    print(
        f"fixed cost of a run (empty capture, whole process): {fixed['seconds']} s wall, {fixed['cpu_seconds']} s cpu "
        f"(target {FIXED_S} s); without an allowlist {bare['seconds']} s wall, {bare['cpu_seconds']} s cpu"
    )
    for size, r in results["memory_flatness"].items():
        print(
            f"egress on a {size} bulk capture: {r['seconds']} s, {r['packets'] / r['seconds']:.0f} packets/s, "
            f"peak RSS {r['peak_rss_mb']} MB"
        )
    for name, r in results["memory"].items():
        print(f"memory: {name}, {r['packets']} packets: peak RSS {r['peak_rss_mb']} MB (target {RSS_MB:.0f} MB)")
    for name, c in results["captures"].items():
        e = c["runs"]["egress"]["seconds"] - fixed["seconds"]
        if e > 0:
            print(f"{name}: {c['packets'] / e:.0f} packets/s after the fixed cost of a run ({fixed['seconds']} s)")
    for label, r in results["directory"].items():
        print(f"4 handshake captures, {label}: {r['seconds']} s, peak RSS {r['peak_rss_mb']} MB")
    print(f"egress build measured: {results['egress_build']}")
    print("targets (issue 15):")
    for what, figure, ok in targets:
        print(f"  {verdict(ok):8} {what}: {figure}")
    for note in notes:
        print(f"note: {note}")
    if SCALE != 1:
        print(f"note: BENCH_SCALE={SCALE}: small captures weigh the fixed cost more; the targets are for scale 1")
    print(f"results: {OUT / 'results.json'}")


if __name__ == "__main__":
    main()
