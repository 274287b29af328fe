"""Real servers and a real client for the live-capture tests, run as processes (also inside a netns).

``python -m tests.support.live serve ADDR DIR`` starts, on ADDR: an HTTP server, a TLS server (a
self-signed certificate made with ``cryptography``), a UDP echo, and finds a port nobody listens on;
it prints the ports as one JSON line and serves until killed.  ``python -m tests.support.live client
ADDR PORTS`` talks to each once: an HTTP GET with a Host header, a TLS handshake with an SNI, a
connection to the closed port (the kernel answers RST) and a UDP datagram echoed back; then it stays
``--hold`` seconds, or until the file ``--hold-until`` exists (a test's signal that it saw what it waited for).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import http.server
import json
import socket
import ssl
import sys
import threading
import time
from pathlib import Path

HTTP_NAME = "web.egress-live.test"
HOLD_UNTIL_S = 120.0  # --hold-until's bound: a test that never creates the file still ends
TIMEOUT_S = 30.0  # each exchange's socket timeout: ample on a loaded machine, and nothing when it is quick
TLS_NAME = "tls.egress-live.test"


def self_signed(folder: Path, name: str) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


class OkHandler(http.server.BaseHTTPRequestHandler):
    """Answers every GET with ``ok``, quietly: the servers the capture tests reach."""

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *_args: object) -> None:
        pass


def serve(addr: str, folder: Path) -> None:
    cert, key = self_signed(folder, TLS_NAME)
    plain = http.server.ThreadingHTTPServer((addr, 0), OkHandler)
    tls = http.server.ThreadingHTTPServer((addr, 0), OkHandler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(str(cert), str(key))
    tls.socket = ctx.wrap_socket(tls.socket, server_side=True)
    echo = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    echo.bind((addr, 0))
    with socket.socket() as probe:
        probe.bind((addr, 0))
        closed = probe.getsockname()[1]

    def echo_loop() -> None:
        while True:
            data, peer = echo.recvfrom(2048)
            echo.sendto(data, peer)

    for target in (plain.serve_forever, tls.serve_forever, echo_loop):
        threading.Thread(target=target, daemon=True).start()
    ports = {"http": plain.server_address[1], "tls": tls.server_address[1], "udp": echo.getsockname()[1]}
    print(json.dumps({**ports, "closed": closed}), flush=True)
    while True:
        time.sleep(3600)


def client(addr: str, ports: dict[str, int], host: str, hold: float, code: int, hold_until: Path | None = None) -> int:
    with socket.create_connection((addr, ports["http"]), timeout=TIMEOUT_S) as s:
        s.sendall(f"GET / HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode("utf-8", "surrogateescape"))
        while s.recv(4096):
            pass
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with (
        socket.create_connection((addr, ports["tls"]), timeout=TIMEOUT_S) as raw,
        ctx.wrap_socket(raw, server_hostname=TLS_NAME) as s,
    ):
        s.sendall(f"GET / HTTP/1.1\r\nHost: {TLS_NAME}\r\nConnection: close\r\n\r\n".encode())
        while s.recv(4096):
            pass
    with contextlib.suppress(ConnectionRefusedError):
        socket.create_connection((addr, ports["closed"]), timeout=TIMEOUT_S).close()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
        u.settimeout(TIMEOUT_S)
        u.sendto(b"ping", (addr, ports["udp"]))
        assert u.recvfrom(2048)[0] == b"ping"
    time.sleep(hold)
    if hold_until is not None:  # until the test has seen what it watches for while the command still runs
        deadline = time.monotonic() + HOLD_UNTIL_S
        while not hold_until.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
    return code


def main() -> None:
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("serve")
    s.add_argument("addr")
    s.add_argument("folder", type=Path)
    c = sub.add_parser("client")
    c.add_argument("addr")
    c.add_argument("ports")
    c.add_argument("--host", default=HTTP_NAME)
    c.add_argument("--hold", type=float, default=0.0)
    c.add_argument("--exit", type=int, default=0)
    c.add_argument("--hold-until", type=Path, default=None, help="after the traffic, wait until this file exists")
    a = p.parse_args()
    if a.cmd == "serve":
        serve(a.addr, a.folder)
    else:
        sys.exit(client(a.addr, json.loads(a.ports), a.host, a.hold, a.exit, a.hold_until))


if __name__ == "__main__":
    main()
