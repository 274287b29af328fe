"""The suppressions file: drift items the team has looked at and accepts for a while.

A YAML file kept in version control beside the allowlist::

    version: 1
    suppressions:
      - name: "*.cdn.snapcraftcontent.com"   # a name, or a shell-style pattern
        class: flapping                      # a drift class, or "*" for any
        reason: CDN edge rotates nightly
        expires: 2027-03-31                  # after this night it no longer applies, and is reported

Suppressed items are still reported (marked, with the reason) and never fail a gate.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from analyzer.errors import InputError

CLASSES = (
    "new",
    "gone",
    "newly-blocked",
    "unblocked",
    "port-change",
    "regression",
    "unused-entry",
    "flapping",
)


@dataclass(frozen=True, slots=True)
class Suppression:
    pattern: str
    drift_class: str  # a class or "*"
    reason: str
    expires: str  # YYYY-MM-DD

    def expired(self, night: str) -> bool:
        return self.expires < night

    def matches(self, name: str, drift_class: str) -> bool:
        return self.drift_class in ("*", drift_class) and fnmatch.fnmatchcase(name.lower(), self.pattern.lower())


def read(path: str | os.PathLike[str]) -> tuple[Suppression, ...]:
    import yaml

    p = Path(path)
    try:
        doc = yaml.safe_load(p.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(f"{p}: cannot read ({exc.strerror or exc})") from None
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise InputError(f"{p}: not YAML ({str(exc).splitlines()[0]})") from None
    if not isinstance(doc, dict) or doc.get("version") != 1 or not isinstance(doc.get("suppressions"), list):
        raise InputError(f"{p}: not a suppressions file (expected 'version: 1' and a 'suppressions' list)")
    return tuple(_one(p, i, item) for i, item in enumerate(doc["suppressions"], 1))


def _one(path: Path, n: int, item: Any) -> Suppression:
    where = f"{path}: suppression {n}"
    if not isinstance(item, dict):
        raise InputError(f"{where}: expected name, class, reason and expires")
    missing = [k for k in ("name", "class", "reason", "expires") if item.get(k) in (None, "")]
    if missing:
        raise InputError(f"{where}: missing {', '.join(missing)}")
    cls = str(item["class"])
    if cls != "*" and cls not in CLASSES:
        raise InputError(f"{where}: unknown class {cls!r} (one of {', '.join(CLASSES)}, or *)")
    expires = item["expires"]
    try:
        day = expires if isinstance(expires, dt.date) else dt.date.fromisoformat(str(expires))
    except ValueError:
        raise InputError(f"{where}: expires {expires!r} is not a date (YYYY-MM-DD)") from None
    return Suppression(str(item["name"]), cls, str(item["reason"]), day.isoformat())
