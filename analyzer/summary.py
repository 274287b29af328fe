"""The KQL-shaped summary: ``summarize count() by Protocol, DestinationPort, Fqdn, Action``.

Input is an *observations* frame (one row per connection and name, from a capture today,
from firewall logs later); output is one row per (protocol, port, fqdn or address, verdict).
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import pyarrow as pa

from analyzer import schema
from analyzer.verdicts import VERDICTS, action

SOURCE_RANK = {"sni": 0, "host": 1, "connect": 2, "dns": 3, "none": 4}
MAX_ADDRESSES_SHOWN = 8


def _join(values: pd.Series, limit: int = MAX_ADDRESSES_SHOWN) -> str | None:
    distinct = sorted({v for v in values.dropna().tolist() if v})
    if not distinct:
        return None
    if len(distinct) > limit:
        return ", ".join(distinct[:limit]) + f", +{len(distinct) - limit} more"
    return ", ".join(distinct)


def summarize(obs: pd.DataFrame) -> pd.DataFrame:
    if obs.empty:
        return _frame([])
    df = obs.copy()
    # Rows without a name are grouped by their address, as the firewall log would show them.
    df["_key"] = df["fqdn"].astype(object).where(df["fqdn"].notna(), df["address"].astype(object))
    rows: list[dict[str, Any]] = []
    for (protocol, port, _key, verdict), g in df.groupby(
        ["protocol", "port", "_key", "verdict"], dropna=False, sort=False
    ):
        sources = sorted(set(g["source"].dropna().tolist()), key=lambda s: SOURCE_RANK.get(s, 9))
        fqdn = g["fqdn"].iloc[0]
        rows.append(
            {
                "protocol": protocol,
                "port": int(port),  # type: ignore[call-overload]
                "fqdn": None if pd.isna(fqdn) else fqdn,
                "address": _join(g["address"]),
                "count": int(g["count"].sum()),
                "bytes": int(g["bytes"].sum()),
                "verdict": verdict,
                "action": action(str(verdict)),
                "first_seen": g["first_seen"].min(),
                "last_seen": g["last_seen"].max(),
                "source": sources[0] if sources else "none",
                "via": _join(g["via"]),
                "detail": g["detail"].mode().iloc[0] if g["detail"].notna().any() else None,
            }
        )
    order = {v: i for i, v in enumerate(VERDICTS)}
    rows.sort(
        key=lambda r: (
            r["action"] == "Allow",
            -r["count"],
            order.get(r["verdict"], 99),
            r["fqdn"] or "",
            r["address"] or "",
            r["protocol"],
            r["port"],
        )
    )
    return _frame(rows)


def _frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    df: pd.DataFrame = pa.Table.from_pylist(rows, schema=schema.SUMMARY).to_pandas(types_mapper=pd.ArrowDtype)
    return df
