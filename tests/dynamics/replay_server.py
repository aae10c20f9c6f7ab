"""A tiny HTTPS server that answers with recorded Dataverse responses, in order, over real HTTP.

The replay tests (``test_replay_*.py``) point the real ``DynamicsClient`` at it: what reaches the
client is bytes on a socket, as from Dataverse, not a mocked ``requests`` call. Each answer is a
fixture file in ``tests/dynamics/replay/`` (see its README for the sources), in the form of an
HTTP response:

    # Source: https://learn.microsoft.com/...       <- comment lines first, then
    HTTP/1.1 429 Too Many Requests                   <- the status line,
    Retry-After: 2                                   <- headers,
                                                     <- a blank line,
    {"error": {...}}                                 <- and the body.

Replaying, ``[Organization URI]`` (any case) becomes the server's origin, as Microsoft writes it
in place of the org's URL; a ``multipart/`` body gets CRLF line ends, as on the wire (the pages
render them as plain newlines). Every request is recorded (method, path, headers, body).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
import ssl
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

FIXTURES = Path(__file__).parent / "replay"
_ORG_PLACEHOLDER = re.compile(r"\[Organization U[Rr][Ii]\]")


@dataclass
class Canned:
    """One recorded response."""

    status: int
    reason: str
    headers: list[tuple[str, str]]
    body: bytes

    @classmethod
    def load(cls, name: str, **replace: str) -> Canned:
        """Read fixture ``name``; ``replace`` swaps ``{key}`` markers in it (e.g. a Retry-After
        the test chooses)."""
        text = (FIXTURES / name).read_text(encoding="utf-8")
        for key, value in replace.items():
            text = text.replace("{" + key + "}", value)
        lines = text.split("\n")
        while lines and lines[0].startswith("#"):
            lines.pop(0)
        _, status, reason = lines.pop(0).split(" ", 2)
        headers = []
        while lines and lines[0].strip():
            name_, _, value = lines.pop(0).partition(":")
            headers.append((name_.strip(), value.strip()))
        body = "\n".join(lines[1:]) if lines else ""
        return cls(int(status), reason.strip(), headers, body.encode("utf-8"))

    def content_type(self) -> str:
        return next((v for k, v in self.headers if k.lower() == "content-type"), "")


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class ReplayServer:
    """Answers each request with the next queued response; records what it received."""

    cert_file: Path
    key_file: Path
    queue: list[Canned] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)

    def start(self) -> None:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                server.received.append(
                    Received(self.command, self.path, dict(self.headers.items()), body)
                )
                if not server.queue:
                    canned = Canned(599, "No Replay Queued", [], b"")
                else:
                    canned = server.queue.pop(0)
                payload = _ORG_PLACEHOLDER.sub(server.origin, canned.body.decode("utf-8"))
                if canned.content_type().lower().startswith("multipart/"):
                    payload = payload.replace("\r\n", "\n").replace("\n", "\r\n")
                data = payload.encode("utf-8")
                self.send_response(canned.status, canned.reason)
                for name, value in canned.headers:
                    self.send_header(name, _ORG_PLACEHOLDER.sub(server.origin, value))
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PATCH = do_DELETE = _answer  # noqa: N815

            def log_message(self, format, *args):  # noqa: A002 - the stdlib's signature
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert_file, self.key_file)
        self._httpd.socket = context.wrap_socket(self._httpd.socket, server_side=True)
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()

    @property
    def origin(self) -> str:
        return f"https://127.0.0.1:{self._httpd.server_address[1]}"

    @property
    def netloc(self) -> str:
        return self.origin.removeprefix("https://")

    def replay(self, *answers: Canned) -> None:
        """Queue these answers (after any still queued); forget what was received."""
        self.queue.extend(answers)
        self.received.clear()

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


def self_signed(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 that is its own CA, and its key."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "replay.test")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "replay.pem", directory / "replay.key"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file
