# Copyright (c) ctcloud.cloud contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A tiny HTTP(S) server on raw sockets, for replies no well-behaved server sends.

The emulator implements the contract faithfully; this server does what the
contract's servers must not: HTML error pages, truncated JSON, resets, stalls,
bodies echoing the request's secrets. It can also forward to the emulator
(recording every exchange, or terminating TLS in front of it).

Each connection carries one request and is closed after the reply
(``Connection: close``), so every request is seen and counted here.
"""

from __future__ import annotations

import contextlib
import datetime
import http.client
import json
import socket
import socketserver
import ssl
import struct
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

MAX_HEAD = 64 * 1024
SOCKET_TIMEOUT = 30.0


@dataclass
class Request:
    method: str
    target: str
    headers: dict[str, str]
    body: bytes

    @property
    def path(self) -> str:
        return urlsplit(self.target).path

    @property
    def query(self) -> dict[str, list[str]]:
        return parse_qs(urlsplit(self.target).query)

    def form(self) -> dict[str, str]:
        return {key: values[0] for key, values in parse_qs(self.body.decode("utf-8", "replace")).items()}


@dataclass
class Reply:
    status: int
    body: bytes | str | Any = b""
    content_type: str = "application/json"
    reason: str | None = None
    headers: dict[str, str] = field(default_factory=dict)

    def payload(self) -> bytes:
        if isinstance(self.body, bytes):
            return self.body
        if isinstance(self.body, str):
            return self.body.encode("utf-8")
        return json.dumps(self.body).encode("utf-8")


@dataclass
class Reset:
    """Close the connection with a TCP RST after reading the request: no reply at all."""


@dataclass
class Stall:
    """Read the request, then say nothing until ``seconds`` pass or the server stops."""

    seconds: float = 60.0


@dataclass
class Forward:
    """Send the request on to ``host:port`` (plain HTTP) and hand its reply back.

    Absolute links to ``host:port`` in the reply become links to this server, as a reverse proxy in
    front of an API shows them (links the API builds from ``X-Forwarded-*``, or that the proxy rewrites):
    the collection follows a page link only under its ``api_url``, which names this server.
    """

    port: int
    host: str = "127.0.0.1"


Action = Reply | Reset | Stall | Forward
Behaviour = Callable[[Request], Action]


@dataclass
class Exchange:
    request: Request
    status: int | None
    reply_body: bytes


class RawHttpServer:
    """``behaviour(request) -> action`` on 127.0.0.1, a port of its own, optionally behind TLS."""

    def __init__(self, behaviour: Behaviour, tls: ssl.SSLContext | None = None) -> None:
        self.behaviour = behaviour
        self.tls = tls
        self.exchanges: list[Exchange] = []
        self.handshake_failures = 0
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self._server: socketserver.ThreadingTCPServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> RawHttpServer:
        owner = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                owner.handle(self.request)

        class Server(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True

        self._server = Server(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        self.stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    @property
    def port(self) -> int:
        assert self._server is not None
        return self._server.server_address[1]

    @property
    def base_url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    @property
    def requests(self) -> list[Request]:
        with self._lock:
            return [exchange.request for exchange in self.exchanges]

    # ---- one connection --------------------------------------------------------------------

    def handle(self, sock: socket.socket) -> None:
        sock.settimeout(SOCKET_TIMEOUT)
        if self.tls is not None:
            try:
                sock = self.tls.wrap_socket(sock, server_side=True)
            except (ssl.SSLError, OSError):
                with self._lock:
                    self.handshake_failures += 1
                return
        try:
            request = read_request(sock)
        except (OSError, ValueError):
            return
        if request is None:
            return
        exchange = Exchange(request, None, b"")
        with self._lock:
            self.exchanges.append(exchange)  # in order of arrival, before any reply (a stalled one has none yet)
        action = self.behaviour(request)
        try:
            if isinstance(action, Reply):
                exchange.status, exchange.reply_body = action.status, action.payload()
                send_reply(sock, action)
            elif isinstance(action, Forward):
                reply = forward(action, request, self.base_url)
                exchange.status, exchange.reply_body = reply.status, reply.payload()
                send_reply(sock, reply)
            elif isinstance(action, Stall):
                self.stopping.wait(action.seconds)
            elif isinstance(action, Reset):
                # SO_LINGER with a zero timeout: close() sends RST instead of FIN.
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                sock.close()


def read_request(sock: socket.socket) -> Request | None:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return None
        data += chunk
        if len(data) > MAX_HEAD:
            raise ValueError("request head too large")
    head, _separator, body = data.partition(b"\r\n\r\n")
    lines = head.decode("iso-8859-1").split("\r\n")
    method, target, _version = lines[0].split(" ", 2)
    headers = {}
    for line in lines[1:]:
        name, _colon, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0") or 0)
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return Request(method, target, headers, body[:length])


def send_reply(sock: socket.socket, reply: Reply) -> None:
    payload = reply.payload()
    reason = reply.reason or http.client.responses.get(reply.status, "Unknown")
    head = [f"HTTP/1.1 {reply.status} {reason}", f"Content-Length: {len(payload)}", "Connection: close"]
    if reply.content_type:
        head.append(f"Content-Type: {reply.content_type}")
    head += [f"{name}: {value}" for name, value in reply.headers.items()]
    sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode("iso-8859-1") + payload)


HOP_BY_HOP = {"connection", "keep-alive", "host", "content-length", "transfer-encoding", "accept-encoding"}


def forward(action: Forward, request: Request, public_base: str) -> Reply:
    connection = http.client.HTTPConnection(action.host, action.port, timeout=SOCKET_TIMEOUT)
    try:
        headers = {name: value for name, value in request.headers.items() if name not in HOP_BY_HOP}
        connection.request(request.method, request.target, body=request.body or None, headers=headers)
        response = connection.getresponse()
        body = response.read().replace(f"http://{action.host}:{action.port}".encode("ascii"), public_base.encode("ascii"))
        kept = {name: value for name, value in response.getheaders() if name.lower() in ("retry-after", "location", "www-authenticate")}
        return Reply(response.status, body, response.getheader("Content-Type") or "", response.reason, kept)
    finally:
        connection.close()


# ---- TLS -------------------------------------------------------------------------------------


def self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    """A throw-away certificate for 127.0.0.1 (right name, wrong issuer): only the trust check can fail."""
    # pylint: disable=import-outside-toplevel  # only the TLS test needs cryptography
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ctcloud system test")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    directory.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = directory / "server.crt", directory / "server.key"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    key_path.chmod(0o600)
    return cert_path, key_path


def server_tls_context(cert_path: Path, key_path: Path) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(cert_path), str(key_path))
    return context
