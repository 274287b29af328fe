"""Read a port-policy document, its kind detected from the content (never the extension): request
documents arrive as .txt, YAML as .txt, tables pasted from web pages have no markup at all."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from analyzer.portpolicy import artesca, calico, csvfile, stackato
from analyzer.portpolicy.model import PolicyError, PortPolicy

MAX_BYTES = 8 * 1024 * 1024  # a policy document is kilobytes; anything this big is not one

KINDS: dict[str, Callable[[str, str], PortPolicy]] = {
    "calico": calico.read,  # Calico and Kubernetes NetworkPolicy YAML
    "artesca": artesca.read,
    "stackato": stackato.read,
    "csv": csvfile.read,
}


def detect(text: str) -> str | None:
    if calico.DETECT_RE.search(text):
        return "calico"
    if artesca.DETECT_RE.search(text):
        return "artesca"
    if stackato.DETECT_RE.search(text):
        return "stackato"
    if csvfile.DETECT_RE.search(text):
        return "csv"
    return None


def parse(text: str, file: str, kind: str | None = None) -> PortPolicy:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if kind is not None and kind not in KINDS:
        raise PolicyError(file, None, f"unknown port-policy kind {kind!r} (known: {', '.join(KINDS)})")
    chosen = kind or detect(text)
    if chosen is None:
        raise PolicyError(
            file, None, "no port rules found (looked for ARTESCA role tables or rule lines, a Stackato port table, "
            "Calico or Kubernetes NetworkPolicy YAML, a CSV with direction, protocol and ports)",
        )  # fmt: skip
    policy = KINDS[chosen](text, file)
    if not policy.rules and policy.failsafe is None:  # a FelixConfiguration alone is fine: merged with rules
        raise PolicyError(file, None, f"no port rules found in this {chosen} document")
    if not policy.kinds:
        policy.kinds = [chosen]
    return policy


def read(path: str | os.PathLike[str], kind: str | None = None) -> PortPolicy:
    return parse(load_text(str(path)), str(path), kind)


def load_text(file: str) -> str:
    try:
        with Path(file).open("rb") as fh:
            data = fh.read(MAX_BYTES + 1)
    except FileNotFoundError:
        raise PolicyError(file, None, "no such file") from None
    except IsADirectoryError:
        raise PolicyError(file, None, "is a directory, not a policy file") from None
    except OSError as exc:
        raise PolicyError(file, None, f"cannot read: {exc.strerror or exc}") from None
    if len(data) > MAX_BYTES:
        raise PolicyError(file, None, f"larger than {MAX_BYTES // (1024 * 1024)} MiB: not a policy document")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise PolicyError(file, data[: exc.start].count(b"\n") + 1, "not UTF-8 text") from None
