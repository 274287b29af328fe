"""Reading the shared corpus and its tshark ground truth (``*.truth.tsv``)."""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.paths import CORPUS


@dataclass
class Truth:
    dns: set[str] = field(default_factory=set)
    tls: set[str] = field(default_factory=set)
    http: set[str] = field(default_factory=set)
    quic: set[str] = field(default_factory=set)


def strip_port(host: str) -> str:
    if host.startswith("["):
        return host[1 : host.find("]")] if "]" in host else host
    if host.count(":") == 1:
        return host.partition(":")[0]
    return host


def read_truth(path: Path) -> Truth:
    t = Truth()
    with path.open(newline="") as fh:
        for row in csv.DictReader(fh, delimiter="\t"):
            name = row["name"]
            proto = row["proto"]
            if proto in ("dns", "mdns", "llmnr"):
                t.dns.add(name.lower().rstrip("."))
            elif proto == "tls":
                t.tls.add(name.lower())
            elif proto == "http":
                t.http.add(strip_port(name).lower().rstrip("."))
            elif proto == "quic":
                t.quic.add(name.lower())
    return t


def manifest() -> list[dict[str, str]]:
    with (CORPUS / "MANIFEST.tsv").open(newline="") as fh:
        return list(csv.DictReader(fh, delimiter="\t"))
