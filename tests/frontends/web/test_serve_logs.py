"""The upload service takes firewall logs as it takes captures (a real uvicorn, the real job store).

The log is AZFWApplicationRule records written from Microsoft's column reference
(https://learn.microsoft.com/en-us/azure/azure-monitor/reference/tables/azfwapplicationrule).
"""

from __future__ import annotations

import gzip

from frontends.web.sniff import Rejected, sniff
from tests.frontends.web.conftest import Server, wait_done
from tests.support.logs import app_rule, envelope

T = "2024-06-10T06:13:20Z"


def _log() -> bytes:
    rows = [app_rule(T, "10.10.0.4", 1000 + i, "dc.services.visualstudio.com") for i in range(3)]
    rows.append(app_rule(T, "10.10.0.4", 2000, "mcr.microsoft.com", action="Allow", rule="Allow container images"))
    return envelope(rows).encode()


def test_sniff_takes_what_the_detector_takes() -> None:
    log = _log()
    assert sniff(log[:100], final=False) is None  # text: wait for its first lines
    assert sniff(log, final=True) == "log"
    assert sniff(gzip.compress(log), final=True) == "log-gzip"
    squid = b"1718000000.123 412 10.0.0.5 TCP_TUNNEL/200 5123 CONNECT mcr.microsoft.com:443 - HIER_DIRECT/1.2.3.4 -\n"
    assert sniff(squid, final=True) == "log"
    for junk in (b"<html><script>alert(1)</script></html>" * 100, b"hello world\n" * 2000):
        try:
            sniff(junk, final=True)
        except Rejected as exc:
            assert exc.status == 415 and exc.reason.startswith("not a pcap")
        else:
            raise AssertionError("junk taken")


def test_a_log_is_uploaded_and_analysed(server: Server) -> None:
    for body, name in ((_log(), "azfw.json"), (gzip.compress(_log()), "azfw.json.gz")):
        with server.client() as c:
            r = c.post("/api/v1/captures", params={"name": name}, content=body)
            assert r.status_code in (200, 202), r.text
            sent = r.json()
            state = wait_done(c, str(sent["status_url"]))
            assert state["status"] == "done", state
            doc = c.get(str(sent["report_url"])).json()
        assert doc["sources"][0]["format"] == "azure-firewall-json"
        got = {(r["fqdn"], r["count"], r["action"]) for r in doc["summary"]}
        assert got == {("dc.services.visualstudio.com", 3, "Deny"), ("mcr.microsoft.com", 1, "Allow")}
