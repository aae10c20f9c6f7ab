"""HTTP(S) listeners: the standard library's ThreadingHTTPServer with HTTP/1.1 keep-alive.

`Handler` turns each HTTP request into a `wire.Request`, asks the `Emulator` for a `Response`
and writes it, or drops the connection when the response says so (fault injection). TLS uses a
self-signed certificate made with `cryptography` and kept next to the data file; the handshake
runs in the connection's own thread, so a slow or failing client never blocks the accept loop.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import ipaddress
import json
import os
import socket
import ssl
import struct
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from .wire import QUERY_ERROR, Request

MAX_BODY = 64 * 1024 * 1024  # a $batch of 1000 creates is a few MB at most
_QUIET_ERRORS = (ConnectionError, ssl.SSLError, TimeoutError, socket.timeout, OSError)


class Handler(BaseHTTPRequestHandler):
    """One connection; serves requests until the client closes it or goes idle."""

    protocol_version = "HTTP/1.1"
    server_version = "Dynamics365Emulator/1.0"
    sys_version = ""
    timeout = 120  # close keep-alive connections idle for this long
    # Buffer writes so that headers and body leave in one segment: with unbuffered writes the
    # body waits for the client's delayed ACK of the headers (Nagle), about 40 ms a request.
    wbufsize = 256 * 1024

    def setup(self) -> None:
        super().setup()
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_GET(self) -> None:  # noqa: N802 - the stdlib's naming
        self._serve()

    do_POST = do_PATCH = do_PUT = do_DELETE = do_HEAD = do_OPTIONS = do_GET

    def log_message(self, format: str, *args) -> None:  # noqa: A002
        if self.server.verbose:
            sys.stderr.write(f"{self.address_string()} - {format % args}\n")

    def send_error(self, code: int, message: str | None = None, explain: str | None = None):
        """Protocol-level errors (bad request line, huge headers) as Dataverse-style JSON."""
        if getattr(self, "request_version", "HTTP/0.9") == "HTTP/0.9":
            self.request_version = "HTTP/1.1"  # answer garbage with a real status line
        body = json.dumps({"error": {"code": QUERY_ERROR if code == 400 else "",
                                     "message": message or explain or "Bad request"}}).encode()
        with contextlib.suppress(*_QUIET_ERRORS):
            self.send_response(code, message)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Connection", "close")
            self.end_headers()
            if self.command != "HEAD" and code >= 200 and code not in (204, 304):
                self.wfile.write(body)
        self.close_connection = True

    def _read_body(self) -> bytes | None:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks = []
            total = 0
            while True:
                size_line = self.rfile.readline(65537)
                size = int(size_line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass
                    break
                total += size
                if total > MAX_BODY:
                    return None
                chunks.append(self.rfile.read(size))
                self.rfile.readline(65537)
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            return None
        return self.rfile.read(length) if length > 0 else b""

    def _serve(self) -> None:
        try:
            body = self._read_body()
        except ValueError:
            self.send_error(400, "The request body framing (Content-Length or chunks) is invalid.")
            return
        if body is None:
            self.send_error(413, "The request body is too large.")
            return
        split = urllib.parse.urlsplit(self.path)
        headers: dict[str, list[str]] = {}
        for name, value in self.headers.items():
            headers.setdefault(name.lower(), []).append(value)
        host = self.headers.get("Host") or f"127.0.0.1:{self.server.server_address[1]}"
        request = Request(
            method=self.command,
            path=urllib.parse.unquote(split.path) or "/",
            query_string=split.query,
            headers=headers,
            body=body,
            base_url=f"{self.server.scheme}://{host}",
        )
        response = self.server.emulator.handle(request, self.server.listener)
        if response.drop:
            self._drop()
            return
        self.send_response(response.status, response.reason)
        for name, value in response.headers:
            self.send_header(name, value)
        no_body = self.command == "HEAD" or response.status in (204, 304)
        self.send_header("Content-Length", "0" if no_body else str(len(response.body)))
        self.end_headers()
        if not no_body:
            self.wfile.write(response.body)

    def _drop(self) -> None:
        """Close the connection abruptly (RST), without an HTTP answer."""
        self.close_connection = True
        with contextlib.suppress(*_QUIET_ERRORS):
            raw = self.connection
            raw.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            raw.close()

    def handle(self) -> None:
        with contextlib.suppress(*_QUIET_ERRORS):
            super().handle()

    def finish(self) -> None:
        with contextlib.suppress(*_QUIET_ERRORS):
            super().finish()


class EmulatorServer(ThreadingHTTPServer):
    """A listener bound to one Emulator. `listener` is "main" or "browser"."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], emulator, *, listener: str = "main",
                 tls: ssl.SSLContext | None = None, verbose: bool = False):
        self.emulator = emulator
        self.listener = listener
        self.tls = tls
        self.scheme = "https" if tls else "http"
        self.verbose = verbose
        super().__init__(address, Handler)

    def get_request(self):
        connection, address = super().get_request()
        if self.tls is not None:
            # The handshake happens on first read, in the connection's thread.
            connection = self.tls.wrap_socket(connection, server_side=True,
                                              do_handshake_on_connect=False)
        return connection, address

    def handle_error(self, request, client_address) -> None:
        error = sys.exc_info()[1]
        if isinstance(error, _QUIET_ERRORS):
            return  # clients that hang up or distrust our certificate are not news
        super().handle_error(request, client_address)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"{self.scheme}://{host}:{port}"

    def serve_in_thread(self) -> threading.Thread:
        thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.1},
                                  name=f"{self.listener}-listener", daemon=True)
        thread.start()
        return thread


# -- TLS ------------------------------------------------------------------------------------------


def certificate_paths(data_path: str) -> tuple[Path, Path]:
    """(certificate, key) files kept next to the data file."""
    return Path(f"{data_path}.ca.pem").resolve(), Path(f"{data_path}.key.pem").resolve()


def ensure_certificate(data_path: str) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and localhost, reused while it is valid.

    The certificate is its own CA (basicConstraints CA:TRUE), so clients trust it by passing
    the same file as their CA bundle.
    """
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    cert_path, key_path = certificate_paths(data_path)
    now = dt.datetime.now(dt.UTC)
    if cert_path.exists() and key_path.exists():
        try:
            existing = x509.load_pem_x509_certificate(cert_path.read_bytes())
            if existing.not_valid_after_utc > now + dt.timedelta(days=1):
                return cert_path, key_path
        except ValueError:
            pass  # unreadable: make a new one

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Dynamics 365 emulator"),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "crm-sync-portal tests")])
    public = key.public_key()
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=90))
        .add_extension(x509.SubjectAlternativeName([
            x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
            x509.IPAddress(ipaddress.ip_address("::1")),
            x509.DNSName("localhost"),
        ]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                     content_commitment=False, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False,
                                     encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(public),
                       critical=False)
        .sign(key, hashes.SHA256())
    )
    key_bytes = key.private_bytes(serialization.Encoding.PEM,
                                  serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption())
    descriptor = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(key_bytes)
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    return cert_path, key_path


def tls_context(cert_path: Path, key_path: Path) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(str(cert_path), str(key_path))
    return context
