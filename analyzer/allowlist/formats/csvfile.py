"""csv: a header row naming the destination column, one entry per row."""

from __future__ import annotations

import csv
import re

from analyzer.allowlist.document import Doc, Format, clean, fill_defaults, first_column, host_and_spec, parse_spec

CSV_DEST = {
    "fqdn",
    "fqdns",
    "destination",
    "destinations",
    "destinationfqdn",
    "domain",
    "domains",
    "host",
    "hosts",
    "hostname",
    "pattern",
    "target",
    "targetfqdn",
    "targetfqdns",
}
_CSV_PORT = {"port", "ports", "destinationport", "destinationports", "dport"}
_CSV_PROTOCOL = {"protocol", "protocols", "proto"}
_CSV_RULE = {"rule", "rulename", "name"}


def csv_columns(line: str) -> set[str]:
    return {re.sub(r"[^a-z]", "", cell.lower()) for cell in next(csv.reader([line]), [])}


def _read_csv(doc: Doc) -> None:
    reader = csv.reader(doc.lines)
    columns: dict[str, int | None] | None = None
    for row in reader:
        number = reader.line_num
        if not any(cell.strip() for cell in row) or row[0].lstrip().startswith("#"):
            continue
        if columns is None:
            header = [re.sub(r"[^a-z]", "", cell.lower()) for cell in row]
            columns = {
                "dest": first_column(header, CSV_DEST),
                "port": first_column(header, _CSV_PORT),
                "protocol": first_column(header, _CSV_PROTOCOL),
                "rule": first_column(header, _CSV_RULE),
            }
            if columns["dest"] is None:
                looked_for = "fqdn, destination, domain, host, pattern, target"
                raise doc.error(number, f"CSV header has no destination column (looked for {looked_for})")
            continue

        def cell(name: str, row: list[str] = row, columns: dict[str, int | None] = columns) -> str:
            col = columns[name]
            return row[col].strip() if col is not None and col < len(row) else ""

        if not clean(cell("dest")):
            doc.note(number, "skipped a row with an empty destination")
            continue
        with doc.entry(number):
            host, protocols, ports = host_and_spec(clean(cell("dest")))
            if cell("port"):
                found_protocols, ports = parse_spec(cell("port"), "port")
                protocols = found_protocols or protocols
            if cell("protocol"):
                protocols, found_ports = parse_spec(cell("protocol"), "protocol")
                ports = found_ports if found_ports is not None else ports
            filled_protocols, filled_ports, assumed = fill_defaults(
                protocols, ports, no_port="no port given", no_protocol="no protocol given"
            )
            doc.add(host, number, filled_protocols, filled_ports, assumed=assumed, rule=cell("rule") or None)


FORMAT = Format("csv", _read_csv, "rows under a fqdn/destination/domain/host/pattern/target column")
