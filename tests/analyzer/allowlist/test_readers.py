"""Allowlist readers: the real request documents in /work/shared/requests, and one small fixture per format."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from analyzer.allowlist.model import AllowlistError, Entry, PortRange
from analyzer.allowlist.readers import FORMATS, detect_format, read_allowlist, read_allowlists
from tests.support.paths import ALLOWLISTS, SHARED

REQUESTS = SHARED / "requests"
FIXTURES = ALLOWLISTS

needs_shared = pytest.mark.skipif(not REQUESTS.is_dir(), reason=f"{REQUESTS} is not available")

WEB = (PortRange(80, 80), PortRange(443, 443))

Row = tuple[int, str, str, str, str, str | None, str | None]


def rows(entries: list[Entry]) -> list[Row]:
    """(line, pattern, protocols, ports, kind, assumed, rule): everything a test needs to compare, flat."""
    return [
        (e.line, e.pattern, "/".join(sorted(e.protocols)), e.port_text(), e.kind, e.assumed, e.rule) for e in entries
    ]


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# ---------------------------------------------------------------------------------------------
# The real request documents


@needs_shared
def test_microstack_request_gives_exactly_its_38_destinations_as_tcp_80_443() -> None:
    path = REQUESTS / "microstack-acl-request.md"
    lines = path.read_text(encoding="utf-8").split("\n")
    # Independent extraction: the "  - name" bullets right under "- Destinations:".
    start = next(i for i, line in enumerate(lines) if re.fullmatch(r"- Destinations:\s*", line))
    expected: list[tuple[int, str]] = []
    for number, line in enumerate(lines[start + 1 :], start + 2):
        match = re.fullmatch(r"\s+- (\S+)\s*", line)
        if not match:
            break
        expected.append((number, match[1]))
    assert len(expected) == 38

    allowlist = read_allowlist(path)

    assert allowlist.formats == ["request-md"]
    assert [(e.line, e.pattern) for e in allowlist.entries] == expected
    for entry in allowlist.entries:
        assert entry.protocols == {"TCP"}
        assert entry.ports == WEB
        assert entry.assumed is None  # the document states Protocol: TCP and Port: 80/443
        assert entry.kind == "fqdn"
        assert entry.rule == "Key points about the firewall rule"
        assert entry.file == str(path)
        assert entry.raw == f"- {entry.pattern}"
    assert allowlist.notes == []


@needs_shared
def test_private_aks_notes_give_the_bicep_target_fqdns_and_no_kql_rows() -> None:
    path = REQUESTS / "private-aks-firewall-notes.md"
    text = path.read_text(encoding="utf-8")
    lines = text.split("\n")
    # Independent extraction: quoted strings inside "targetFqdns: [ ... ]" of each ```bicep block.
    expected: list[tuple[int, str]] = []
    in_bicep = in_targets = False
    for number, line in enumerate(lines, 1):
        if line.startswith("```"):
            in_bicep = line.strip() == "```bicep"
        elif in_bicep and "targetFqdns: [" in line:
            in_targets = True
        elif in_targets and line.strip() == "]":
            in_targets = False
        elif in_targets:
            expected.append((number, line.strip().strip("'")))
    kql_rows = {n for n, line in enumerate(lines, 1) if line.startswith("| HTTP")}
    assert len(expected) == 6 and len(kql_rows) == 16

    allowlist = read_allowlist(path)

    assert allowlist.formats == ["request-md"]
    assert [(e.line, e.pattern) for e in allowlist.entries] == expected
    assert rows(allowlist.entries) == [
        (88, "mcr.microsoft.com", "HTTPS", "443", "fqdn", None, "Allow container images from mcr.microsoft.com"),
        (89, "*.data.mcr.microsoft.com", "HTTPS", "443", "fqdn", None, "Allow container images from mcr.microsoft.com"),
        (134, "dc.services.visualstudio.com", "HTTPS", "443", "fqdn", None, "Allow monitoring"),
        (135, "*.ods.opinsights.azure.com", "HTTPS", "443", "fqdn", None, "Allow monitoring"),
        (136, "*.oms.opinsights.azure.com", "HTTPS", "443", "fqdn", None, "Allow monitoring"),
        (137, "*.monitoring.azure.com", "HTTPS", "443", "fqdn", None, "Allow monitoring"),
    ]
    # The KQL result tables are observed traffic, not requested destinations.
    assert not {e.line for e in allowlist.entries} & kql_rows
    patterns = {e.pattern for e in allowlist.entries}
    assert not patterns & {"esm.ubuntu.com", "packages.microsoft.com", "azure.archive.ubuntu.com", "motd.ubuntu.com"}
    assert [n for n in allowlist.notes if "count_" in n] == [
        f"{path}:34: skipped a table with a count_ column: it is observed traffic, not a request",
        f"{path}:101: skipped a table with a count_ column: it is observed traffic, not a request",
    ]


@needs_shared
@pytest.mark.parametrize("name", ["artesca-calico-host-firewall.md", "stackato-network-guide.md"])
def test_documents_without_an_fqdn_allowlist_are_refused(name: str) -> None:
    # Artesca documents Calico host-endpoint ports (no destinations); Stackato is a network setup
    # guide (hostnames of its own nodes, not an egress request).  Both are prose, so both go to the
    # request reader, which finds no Destinations list, no destination table and no rule blocks.
    path = REQUESTS / name
    assert detect_format(path.read_text(encoding="utf-8")) == "request-md"
    with pytest.raises(AllowlistError) as caught:
        read_allowlist(path)
    assert caught.value.file == str(path)
    assert caught.value.line is None
    assert caught.value.problem.startswith("no allowlist entries found (looked for a Destinations: list")


@needs_shared
def test_forcing_text_on_the_request_document_names_the_first_prose_line() -> None:
    path = REQUESTS / "microstack-acl-request.md"
    # Each bad line is reported and skipped (issue 10, item 12): the first is the prose on line 3.
    first = read_allowlist(path, "text").invalid[0]
    assert (first.file, first.line) == (str(path), 3)
    assert "spaces inside" in first.problem


# ---------------------------------------------------------------------------------------------
# One fixture per format: exact entries


def test_cilium_policy() -> None:
    allowlist = read_allowlist(FIXTURES / "microk8s-cilium.yaml")
    assert allowlist.formats == ["cilium"]
    # The kube-dns rule (toEndpoints + dns matchPattern "*") is not an entry.
    assert rows(allowlist.entries) == [
        (24, "api.snapcraft.io", "TCP", "443", "fqdn", None, "microk8s-snap-egress"),
        (25, "*.snapcraft.io", "TCP", "443", "pattern", None, "microk8s-snap-egress"),
        (39, "ntp.ubuntu.com", "UDP", "123", "fqdn", None, "cluster-time-and-nodeports"),
        (
            45,
            "10.152.183.0/24",
            "ANY",
            "30000-32767",
            "address",
            "protocol ANY (Cilium default)",
            "cluster-time-and-nodeports",
        ),
    ]
    assert allowlist.entries[0].raw == "- matchName: api.snapcraft.io"
    assert allowlist.notes == [
        f"{FIXTURES / 'microk8s-cilium.yaml'}: assumed protocol ANY (Cilium default) for 1 entry (line 45)"
    ]


def test_cilium_without_to_ports_allows_every_port(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "policy.yaml",
        "apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata:\n  name: p\nspec:\n  egress:\n"
        "  - toFQDNs:\n    - matchName: example.com\n",
    )
    entry = read_allowlist(path).entries[0]
    assert (entry.pattern, entry.protocols, entry.ports) == ("example.com", frozenset({"ANY"}), ())
    assert entry.assumed == "any port and protocol (no toPorts)"


def test_azure_arm_export() -> None:
    path = FIXTURES / "azure-firewall-export.json"
    allowlist = read_allowlist(path)
    assert allowlist.formats == ["azure-arm"]
    # Http:80 + Https:443 become two entries, so the list never allows Http on 443.
    assert rows(allowlist.entries) == [
        (25, "api.snapcraft.io", "HTTPS", "443", "fqdn", None, "snap-store"),
        (25, "*.snapcraftcontent.com", "HTTPS", "443", "fqdn", None, "snap-store"),
        (35, "archive.ubuntu.com", "HTTP", "80", "fqdn", None, "ubuntu-archive"),
        (35, "archive.ubuntu.com", "HTTPS", "443", "fqdn", None, "ubuntu-archive"),
        (43, "azurekubernetesservice", "HTTPS", "443", "tag", None, "aks-required"),
        (75, "ntp.ubuntu.com", "UDP", "123", "fqdn", None, "ntp"),
    ]
    assert allowlist.notes == [
        f"{path}:43: FQDN tag 'AzureKubernetesService' is kept as a tag entry; the FQDNs behind it are not expanded",
        f"{path}:58: skipped Deny rule 'no-pastebins' (1 destination)",
    ]


def test_azure_bicep_rule_collection_group() -> None:
    path = FIXTURES / "firewall-policy.bicep"
    allowlist = read_allowlist(path)
    assert allowlist.formats == ["azure-bicep"]
    assert rows(allowlist.entries) == [
        (34, "azurekubernetesservice", "HTTPS", "443", "tag", None, "aks-fqdn-tag"),
        (42, "security.ubuntu.com", "HTTP", "80", "fqdn", None, "ubuntu"),
        (42, "security.ubuntu.com", "HTTPS", "443", "fqdn", None, "ubuntu"),
        (42, "azure.archive.ubuntu.com", "HTTP", "80", "fqdn", None, "ubuntu"),
        (42, "azure.archive.ubuntu.com", "HTTPS", "443", "fqdn", None, "ubuntu"),
        (74, "ntp.ubuntu.com", "UDP", "123", "fqdn", None, "ntp"),
        (85, "azurecloud.westeurope", "TCP/UDP", "1194/9000", "tag", None, "api-server"),
    ]
    assert allowlist.notes == [
        f"{path}:34: FQDN tag 'AzureKubernetesService' is kept as a tag entry; the FQDNs behind it are not expanded",
        f"{path}:54: skipped targetFqdns of rule 'extra': an expression, not evaluated",
        f"{path}:85: service tag 'AzureCloud.WestEurope' is kept as a tag entry; its addresses are not expanded",
    ]


def test_squid_conf() -> None:
    path = FIXTURES / "squid.conf"
    allowlist = read_allowlist(path)
    assert allowlist.formats == ["squid"]
    # Ports come from the SSL_ports / Safe_ports acls, so nothing is assumed.
    assert rows(allowlist.entries) == [
        (10, "api.snapcraft.io", "HTTP/HTTPS", "80/443", "fqdn", None, "snap_store"),
        (10, ".snapcraftcontent.com", "HTTP/HTTPS", "80/443", "fqdn", None, "snap_store"),
        (11, "archive.ubuntu.com", "HTTP/HTTPS", "80/443", "fqdn", None, "ubuntu"),
        (11, "security.ubuntu.com", "HTTP/HTTPS", "80/443", "fqdn", None, "ubuntu"),
        (12, "registry.k8s.io", "HTTP/HTTPS", "80/443", "fqdn", None, "k8s_images"),
        (12, ".pkg.dev", "HTTP/HTTPS", "80/443", "fqdn", None, "k8s_images"),
    ]
    assert allowlist.notes == [
        f'{path}:13: acl site_extras reads "/etc/squid/extra-domains.txt": not followed '
        "(pass that file as its own allowlist)",
        f"{path}:14: skipped acl pastebins: only http_access deny lines use it",
    ]


def test_squid_dstdomain_list_assumes_web_ports() -> None:
    path = FIXTURES / "squid-dstdomains.txt"
    allowlist = read_allowlist(path)
    assumed = "HTTP/HTTPS 80/443 (no squid port acls; CONNECT to 443)"
    assert allowlist.formats == ["squid"]
    assert rows(allowlist.entries) == [
        (2, ".snapcraft.io", "HTTP/HTTPS", "80/443", "fqdn", assumed, None),
        (3, ".snapcraftcontent.com", "HTTP/HTTPS", "80/443", "fqdn", assumed, None),
        (4, ".ubuntu.com", "HTTP/HTTPS", "80/443", "fqdn", assumed, None),
        (5, "api.charmhub.io", "HTTP/HTTPS", "80/443", "fqdn", assumed, None),
    ]
    assert allowlist.notes == [f"{path}: assumed {assumed} for 4 entries (line 2, 3, 4, 5)"]


def test_text_list() -> None:
    path = FIXTURES / "egress.txt"
    allowlist = read_allowlist(path)
    no_port, no_protocol = "TCP 80/443 (no port given)", "TCP (no protocol given)"
    assert allowlist.formats == ["text"]
    assert rows(allowlist.entries) == [
        (2, "api.snapcraft.io", "TCP", "443", "fqdn", no_protocol, None),
        (3, "*.snapcraftcontent.com", "TCP", "80/443", "fqdn", no_port, None),
        (4, "archive.ubuntu.com", "TCP", "80/443", "fqdn", no_protocol, None),
        (5, "registry.k8s.io", "TCP", "443", "fqdn", None, None),
        (6, "ntp.ubuntu.com", "UDP", "123", "fqdn", None, None),
        (8, "proxy.internal.example", "TCP", "3128", "fqdn", no_protocol, None),
        (9, "2001:db8::10", "TCP", "443", "address", no_protocol, None),
        (10, "10.152.183.0/24", "TCP", "80/443", "address", no_port, None),
        (11, "quay.io", "TCP", "80/443", "fqdn", no_port, None),
    ]
    assert allowlist.entries[1].raw == "*.snapcraftcontent.com          # snap downloads; no port given -> TCP 80/443"
    assert allowlist.notes == [
        f"{path}: assumed {no_protocol} for 4 entries (line 2, 4, 8, 9)",
        f"{path}: assumed {no_port} for 3 entries (line 3, 10, 11)",
    ]


def test_csv() -> None:
    allowlist = read_allowlist(FIXTURES / "egress.csv")
    assert allowlist.formats == ["csv"]
    assert rows(allowlist.entries) == [
        (2, "api.snapcraft.io", "TCP", "443", "fqdn", None, "snap store"),
        (3, "*.snapcraftcontent.com", "TCP", "80/443", "fqdn", None, "snap downloads"),
        (4, "ntp.ubuntu.com", "UDP", "123", "fqdn", None, "time"),
        (5, "registry.k8s.io", "TCP", "80/443", "fqdn", "TCP 80/443 (no port given)", "images"),
    ]


def test_request_md_table_deny_section_and_section_defaults() -> None:
    path = FIXTURES / "request-table.md"
    allowlist = read_allowlist(path)
    assert allowlist.formats == ["request-md"]
    table, ports = "Allowed destinations", "ports 80/443 (no port in the request)"
    # Port/Protocol columns win; empty cells fall back to the defaults; the Deny section is skipped.
    assert rows(allowlist.entries) == [
        (9, "api.snapcraft.io", "TCP", "443", "fqdn", None, table),
        (10, "pypi.org", "TCP", "443", "fqdn", "TCP (no protocol in the request)", table),
        (11, "files.pythonhosted.org", "TCP", "80/443", "fqdn", "TCP 80/443 (no port in the request)", table),
        (24, "mirror.example.org", "TCP", "80/443", "fqdn", ports, "Mirrors"),
        (25, "ports.ubuntu.com", "TCP", "80/443", "fqdn", ports, "Mirrors"),
    ]
    assert f"{path}: skipped 2 destinations listed under 'Action: Deny' (line 17, 18)" in allowlist.notes
    assert f"{path}: assumed ports 80/443 (no port in the request) for 2 entries (line 24, 25)" in allowlist.notes


def test_request_md_markup_is_removed_and_missing_port_is_assumed(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "request.md",
        "# Request\n\n"
        "- Protocol: TCP\n"
        "- Action: Allow\n"
        "- Destinations:\n"
        "  * `API.Snapcraft.io.`\n"
        "  + [charmhub.io](https://charmhub.io)\n"
        "  1. \\*.snapcraftcontent.com\n"
        "  2. https://registry.k8s.io/v2/\n"
        '     - "nested.example.com"\n'
        "\nSome prose after the list.\n",
    )
    allowlist = read_allowlist(path)
    assumed = "ports 80/443 (no port in the request)"
    assert rows(allowlist.entries) == [
        (6, "api.snapcraft.io", "TCP", "80/443", "fqdn", assumed, "Request"),
        (7, "charmhub.io", "TCP", "80/443", "fqdn", assumed, "Request"),
        (8, "*.snapcraftcontent.com", "TCP", "80/443", "fqdn", assumed, "Request"),
        (9, "registry.k8s.io", "TCP", "80/443", "fqdn", assumed, "Request"),
        (10, "nested.example.com", "TCP", "80/443", "fqdn", assumed, "Request"),
    ]
    assert allowlist.notes == [f"{path}: assumed {assumed} for 5 entries (line 6, 7, 8, 9, 10)"]


@pytest.mark.parametrize("port_line", ["80/443", "80, 443", "80 and 443"])
def test_request_md_port_line_spellings(tmp_path: Path, port_line: str) -> None:
    path = write(tmp_path, "r.md", f"# R\n- Port: {port_line}\n- Destinations:\n  - a.example.com\n")
    entry = read_allowlist(path).entries[0]
    assert entry.ports == WEB
    assert entry.assumed == "TCP (no protocol in the request)"


def test_request_md_without_protocol_or_port_assumes_tcp_80_443(tmp_path: Path) -> None:
    path = write(tmp_path, "r.md", "# R\nDestinations:\n\n- a.example.com\n- b.example.com:8443\n")
    allowlist = read_allowlist(path)
    assert rows(allowlist.entries) == [
        (4, "a.example.com", "TCP", "80/443", "fqdn", "TCP 80/443 (no port in the request)", "R"),
        (5, "b.example.com", "TCP", "8443", "fqdn", "TCP (no protocol in the request)", "R"),
    ]


def test_request_md_reads_json_rule_blocks(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "r.md",
        "# Rules\n\n```json\n"
        '{"name": "r", "protocols": [{"protocolType": "Https", "port": 8443}],\n'
        ' "targetFqdns": ["json.example.com"]}\n```\n',
    )
    assert rows(read_allowlist(path).entries) == [(5, "json.example.com", "HTTPS", "8443", "fqdn", None, "r")]


# ---------------------------------------------------------------------------------------------
# Detection and forced formats

DETECTED = {
    "microk8s-cilium.yaml": "cilium",
    "azure-firewall-export.json": "azure-arm",
    "firewall-policy.bicep": "azure-bicep",
    "squid.conf": "squid",
    "squid-dstdomains.txt": "squid",
    "egress.txt": "text",
    "egress.csv": "csv",
    "request-table.md": "request-md",
}


def test_every_fixture_is_covered() -> None:
    assert sorted(p.name for p in FIXTURES.iterdir()) == sorted(DETECTED)
    assert set(DETECTED.values()) == set(FORMATS)


@pytest.mark.parametrize(("name", "fmt"), sorted(DETECTED.items()))
def test_detection_by_content(name: str, fmt: str, tmp_path: Path) -> None:
    text = (FIXTURES / name).read_text(encoding="utf-8")
    assert detect_format(text) == fmt
    assert read_allowlist(FIXTURES / name).formats == [fmt]
    # The extension plays no part: the same content under a neutral name reads the same.
    copy = write(tmp_path, "allowlist.txt", text)
    assert read_allowlist(copy).formats == [fmt]
    assert read_allowlist(FIXTURES / name, fmt).formats == [fmt]


@needs_shared
@pytest.mark.parametrize(
    "name",
    [
        "microstack-acl-request.md",
        "private-aks-firewall-notes.md",
        "artesca-calico-host-firewall.md",
        "stackato-network-guide.md",
    ],
)
def test_detection_of_the_real_documents(name: str) -> None:
    assert detect_format((REQUESTS / name).read_text(encoding="utf-8")) == "request-md"


@pytest.mark.parametrize(
    ("name", "fmt", "line", "problem"),
    [
        ("egress.txt", "cilium", 4, "YAML syntax error"),
        ("egress.txt", "azure-arm", 1, "JSON syntax error"),
        ("egress.txt", "squid", 2, "is not a host name"),
        ("egress.txt", "csv", 2, "no destination column"),
        ("egress.csv", "text", 1, "is not a host name"),
        ("egress.csv", "cilium", 1, "expected a CiliumNetworkPolicy"),
        ("microk8s-cilium.yaml", "text", 2, "spaces inside"),
        ("microk8s-cilium.yaml", "squid", 2, "spaces inside"),
        ("azure-firewall-export.json", "csv", 1, "no destination column"),
        ("azure-firewall-export.json", "cilium", 1, "expected kind CiliumNetworkPolicy"),
        ("firewall-policy.bicep", "azure-arm", 1, "JSON syntax error"),
        ("firewall-policy.bicep", "text", 1, "spaces inside"),
        ("squid.conf", "text", 4, "spaces inside"),
        ("squid-dstdomains.txt", "cilium", 2, "expected a CiliumNetworkPolicy"),
        ("request-table.md", "csv", 3, "no destination column"),
        ("request-table.md", "cilium", 7, "YAML syntax error"),
    ],
)
def test_forcing_a_wrong_format_names_file_and_line(name: str, fmt: str, line: int, problem: str) -> None:
    path = FIXTURES / name
    with pytest.raises(AllowlistError) as caught:
        read_allowlist(path, fmt)
    assert caught.value.file == str(path)
    assert caught.value.line == line
    assert problem in caught.value.problem
    assert str(caught.value).startswith(f"{path}:{line}: ")


@pytest.mark.parametrize("fmt", ["request-md", "azure-bicep"])
def test_forcing_a_reader_that_finds_nothing_says_what_it_looked_for(fmt: str) -> None:
    with pytest.raises(AllowlistError) as caught:
        read_allowlist(FIXTURES / "egress.txt", fmt)
    assert caught.value.line is None
    assert caught.value.problem.startswith("no allowlist entries found (looked for ")


# ---------------------------------------------------------------------------------------------
# Errors


def test_bad_yaml_reports_its_line(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "bad.yaml",
        "apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata:\n  name: broken\nspec:\n  egress:\n"
        "    - toFQDNs:\n        - matchName: api.snapcraft.io\n       toPorts:\n        - ports:\n",
    )
    with pytest.raises(AllowlistError) as caught:
        read_allowlist(path)
    assert (caught.value.file, caught.value.line) == (str(path), 9)
    assert caught.value.problem.startswith("YAML syntax error")


def test_out_of_range_port_reports_line_and_port(tmp_path: Path) -> None:
    # A bad line no longer stops the read (issue 10, item 12): it is skipped with its line and problem.
    path = write(tmp_path, "list.txt", "api.snapcraft.io:443\nsnapcraftcontent.com:99999\n")
    allowlist = read_allowlist(path)
    assert [e.pattern for e in allowlist.entries] == ["api.snapcraft.io"]
    (caught,) = allowlist.invalid
    assert caught.line == 2
    assert "port" in caught.problem
    assert "99999" in caught.problem


def test_bad_protocol_port_reports_its_line(tmp_path: Path) -> None:
    path = write(tmp_path, "list.txt", "# ports\napi.snapcraft.io tcp/99999\n")
    with pytest.raises(AllowlistError) as caught:
        read_allowlist(path)
    assert caught.value.line == 2
    assert caught.value.problem == "port 99999 is out of range (1-65535)"


def test_entry_with_spaces_inside_reports_its_line(tmp_path: Path) -> None:
    path = write(
        tmp_path, "r.md", "# Request\n- Port: 443\n- Destinations:\n  - ok.example.com\n  - foo bar.example.com\n"
    )
    allowlist = read_allowlist(path)  # skipped with its line and problem, not fatal (issue 10, item 12)
    assert [e.pattern for e in allowlist.entries] == ["ok.example.com"]
    (caught,) = allowlist.invalid
    assert caught.line == 5
    assert caught.problem == "entry has spaces inside: 'foo bar.example.com'"


@pytest.mark.parametrize("text", ["", "\n\n", "# nothing but a comment\n"])
def test_file_without_entries(tmp_path: Path, text: str) -> None:
    path = write(tmp_path, "empty.txt", text)
    with pytest.raises(AllowlistError) as caught:
        read_allowlist(path)
    assert caught.value.file == str(path)
    assert caught.value.line is None
    assert caught.value.problem == "no allowlist entries found (looked for one host name, address or pattern per line)"


def test_bad_json_reports_its_line(tmp_path: Path) -> None:
    path = write(tmp_path, "fw.json", '{\n  "targetFqdns": ["a.example.com",]\n}\n')
    with pytest.raises(AllowlistError) as caught:
        read_allowlist(path)
    assert caught.value.line == 2
    assert caught.value.problem.startswith("JSON syntax error")


def test_missing_file_and_unknown_format(tmp_path: Path) -> None:
    with pytest.raises(AllowlistError, match="no such file"):
        read_allowlist(tmp_path / "absent.txt")
    with pytest.raises(AllowlistError, match="unknown format 'yaml'"):
        read_allowlist(FIXTURES / "egress.txt", "yaml")


# ---------------------------------------------------------------------------------------------
# Merging


def test_read_allowlists_merges_entries_formats_and_notes() -> None:
    paths = [FIXTURES / "egress.txt", FIXTURES / "squid.conf", FIXTURES / "egress.csv"]
    merged = read_allowlists(paths)
    singles = [read_allowlist(p) for p in paths]
    assert merged.formats == ["text", "squid", "csv"]
    assert merged.entries == [e for a in singles for e in a.entries]
    assert merged.notes == [n for a in singles for n in a.notes]
    assert {e.file for e in merged.entries} == {str(p) for p in paths}
