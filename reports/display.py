"""Formatting shared by the renderers: the core keeps integers and lists, the page and the terminal show text."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from functools import lru_cache

from analyzer.report import NoiseItem

MAX_ADDRESSES_SHOWN = 8


@lru_cache(maxsize=4096)
def _second(sec: int) -> str:
    return dt.datetime.fromtimestamp(sec, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S")


def iso(ns: int | None) -> str | None:
    """ISO-8601 UTC with µs, or ns when the capture has them (``2024-06-10T06:13:20.001000Z``)."""
    if ns is None:
        return None
    sec, frac = divmod(ns, 1_000_000_000)  # frac >= 0 even before 1970
    base = _second(sec)  # packets of one second share the formatting
    # zfill rather than a format spec: a third of the time, and this runs twice per row of the JSON.
    return f"{base}.{str(frac // 1000).zfill(6)}Z" if frac % 1000 == 0 else f"{base}.{str(frac).zfill(9)}Z"


def short_list(values: Sequence[str], limit: int = MAX_ADDRESSES_SHOWN) -> str | None:
    """``a, b, c`` or, past ``limit``, the first ``limit`` and ``+N more``; None for an empty list."""
    if not values:
        return None
    if len(values) > limit:
        return ", ".join(values[:limit]) + f", +{len(values) - limit} more"
    return ", ".join(values)


# The summary's row for unnamed destinations beyond its cap (analyzer.summary.unlisted) has no
# addresses: it is called this, never shown as an empty address list.
UNLISTED = "(other unnamed addresses)"


def addresses_text(fqdn: str | None, addresses: Sequence[str]) -> str | None:
    """A summary row's Address cell: its addresses, shortened; for an unnamed row without any (the
    addresses beyond the summary's cap, counted together) what the row stands for."""
    return short_list(addresses) or (UNLISTED if fqdn is None else None)


def label(fqdn: str | None, addresses: Sequence[str]) -> str | None:
    """What a summary row is called: its name, else its addresses."""
    return fqdn if fqdn is not None else addresses_text(fqdn, addresses)


def noise_label(item: NoiseItem) -> str:
    """A noise item as the reports list it: the DNS name, or ``name-or-addresses protocol/port``."""
    if item.protocol is None:
        return str(item.name)
    return f"{label(item.name, item.addresses)} {item.protocol}/{item.port}"
