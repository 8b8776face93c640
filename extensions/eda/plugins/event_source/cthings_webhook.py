# -*- coding: utf-8 -*-
# Copyright (c) ctcloud.cloud contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""ansible-rulebook event source: cThings webhook readings, one event per reading."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: cthings_webhook
short_description: Receive cThings Cloud webhook readings as ansible-rulebook events
version_added: 0.2.0
description:
  - An event source for C(ansible-rulebook) and EDA controller. It runs an HTTPS listener for the webhooks cThings
    Cloud sends for every device reading, and puts one event per reading on the rulebook's queue.
  - >-
    Each event is C(event.cthings) = C({"type": "reading", "device_id", "device_name", "dtm", "readings": {key: {"value",
    "unit", "description", "primary"}}}) plus C(event.meta.received_at) (UTC, ISO 8601) and C(event.meta.endpoint) (the
    path the reading was posted to, without its query).
  - Every request must authenticate, with Basic authorization (O(basic_username) and O(basic_password)) or with a header
    of your choice (O(header_name) and O(header_value)), as configured for the webhook in cThings. Credentials are
    compared in constant time. A request without valid credentials gets C(401) and emits nothing; its body is not parsed.
  - >-
    The body must be the vendor's webhook shape, C({"uuid", "name", "device", "route", "dtm", "data": {key: {"value", ...}}}),
    checked with a JSON schema. A body that is not JSON or not that shape gets C(400) and emits nothing.
  - Bodies are bounded (O(max_body_bytes), C(413) beyond), every request must arrive within O(request_timeout) seconds
    (slow clients are disconnected), and at most O(max_connections) connections are served at once (C(503) beyond), so a
    slow or flooding client cannot exhaust the listener. One request per connection; chunked bodies are refused (C(411)).
  - Request bodies and headers are never logged; log lines name the remote address, the path without its query, and the
    answer.
author:
  - ctcloud.cloud contributors (@ctcloud)
options:
  host:
    description:
      - Address to listen on.
      - Plain HTTP (no O(certfile)) is allowed only on a loopback address such as V(127.0.0.1), for tests and for a TLS
        proxy on the same host.
    type: str
    default: 0.0.0.0
  port:
    description:
      - TCP port to listen on. V(0) picks a free port (logged at start).
    type: int
    default: 5000
  certfile:
    description:
      - PEM certificate (chain) of the listener. Required unless O(host) is a loopback address.
    type: path
  keyfile:
    description:
      - PEM private key of O(certfile), when the key is not in O(certfile) itself.
    type: path
  keyfile_password:
    description:
      - Password of an encrypted O(keyfile).
      - If not set, the environment variable E(CTHINGS_WEBHOOK_KEYFILE_PASSWORD) is used.
    type: str
  basic_username:
    description:
      - User name cThings sends with Basic authorization. Requires O(basic_password).
    type: str
  basic_password:
    description:
      - Password cThings sends with Basic authorization.
      - If not set while O(basic_username) is, the environment variable E(CTHINGS_WEBHOOK_PASSWORD) is used, so that the
        secret need not be a rulebook variable.
    type: str
  header_name:
    description:
      - Name of the header cThings sends its secret in (for example V(X-Cthings-Token)), instead of Basic authorization.
        Requires O(header_value).
    type: str
  header_value:
    description:
      - The secret value of O(header_name).
      - If not set while O(header_name) is, the environment variable E(CTHINGS_WEBHOOK_HEADER_VALUE) is used.
    type: str
  max_body_bytes:
    description:
      - Largest request body accepted, in bytes.
    type: int
    default: 65536
  request_timeout:
    description:
      - Seconds a client has for the TLS handshake, and then for sending one whole request.
    type: float
    default: 10
  max_connections:
    description:
      - Connections served at the same time; more are answered C(503) at once.
    type: int
    default: 32
notes:
  - Exactly one of Basic authorization or a named header must be configured.
  - Arguments may be given as strings (as C(ansible-rulebook --env-vars) passes them); an empty string means "not set",
    so C("{{ webhook_certfile | default('') }}") works in a rulebook.
  - See C(docs/event-driven.md) in the collection for the rulebook this source is made for, and for running it in EDA
    controller with certificates from a credential.
seealso:
  - name: Event-driven ctcloud.cloud
    description: The rulebook, the remediation playbook and running them under EDA controller.
    link: https://example.invalid/ctcloud/ctcloud.cloud/tree/main/docs/event-driven.md
"""

EXAMPLES = r"""
- name: cThings readings over HTTPS, authenticated by a header
  ctcloud.cloud.cthings_webhook:
    host: 0.0.0.0
    port: 5000
    certfile: /etc/eda/tls/webhook.crt
    keyfile: /etc/eda/tls/webhook.key
    header_name: X-Cthings-Token
    # header_value: from the environment variable CTHINGS_WEBHOOK_HEADER_VALUE

- name: On loopback behind a TLS proxy, with Basic authorization
  ctcloud.cloud.cthings_webhook:
    host: 127.0.0.1
    port: 5080
    basic_username: cthings
    basic_password: "{{ cthings_webhook_password }}"  # a rulebook variable works too
"""

import asyncio
import base64
import binascii
import contextlib
import functools
import hashlib
import hmac
import ipaddress
import json
import logging
import os
import re
import ssl
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

try:
    import jsonschema
except ImportError:  # reported when the source starts, not when ansible-rulebook loads it
    jsonschema = None

LOG = logging.getLogger("ctcloud.cloud.cthings_webhook")

DEFAULT_HOST = "0.0.0.0"
DEFAULT_PORT = 5000
DEFAULT_MAX_BODY_BYTES = 65536
DEFAULT_REQUEST_TIMEOUT = 10.0
DEFAULT_MAX_CONNECTIONS = 32
MAX_HEAD_BYTES = 16384
MAX_HEADERS = 100
LINGER_SECONDS = 2.0
# RFC 9110 token characters: what a header name may be made of.
HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
REASONS = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 405: "Method Not Allowed", 408: "Request Timeout",
           411: "Length Required", 413: "Content Too Large", 431: "Request Header Fields Too Large", 503: "Service Unavailable"}
SECRET_VARIABLES = {
    "basic_password": "CTHINGS_WEBHOOK_PASSWORD",
    "header_value": "CTHINGS_WEBHOOK_HEADER_VALUE",
    "keyfile_password": "CTHINGS_WEBHOOK_KEYFILE_PASSWORD",
}
OPTIONS = ("host", "port", "certfile", "keyfile", "keyfile_password", "basic_username", "basic_password", "header_name",
           "header_value", "max_body_bytes", "request_timeout", "max_connections")

# The vendor's webhook body ("How do I get started with webhooks?"); members the article does not show are allowed.
READING_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["uuid", "name", "device", "dtm", "data"],
    "properties": {
        "uuid": {"type": "string", "pattern": "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"},
        "name": {"type": "string", "maxLength": 1024},
        "device": {"type": "string", "maxLength": 256},
        "route": {"type": "array", "items": {"type": "string"}, "maxItems": 64},
        "dtm": {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}"},
        "data": {
            "type": "object",
            "minProperties": 1,
            "maxProperties": 256,
            "additionalProperties": {
                "type": "object",
                "required": ["value"],
                "properties": {
                    "value": {"type": ["number", "string", "boolean", "null"]},
                    "unit": {"type": ["string", "null"]},
                    "description": {"type": ["string", "null"]},
                    "primary": {"type": ["boolean", "null"]},
                    "typeId": {"type": ["integer", "null"]},
                },
            },
        },
    },
}


class HttpError(Exception):
    """The answer to a request (200 too); the message goes to the client and the log, so it never quotes the request."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None, body_read: bool = False) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}
        self.body_read = body_read  # False: request bytes may be left unread, the connection needs a lingering close


# ---- arguments ------------------------------------------------------------------------------------


def _text(args: dict[str, Any], name: str) -> str | None:
    value = args.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ValueError(f"cthings_webhook: {name} must be a string")
    return value


def _secret(args: dict[str, Any], name: str, partner: str, environ: Mapping[str, str]) -> str | None:
    """``args[name]``, else its environment variable when ``partner`` is given."""
    value = _text(args, name)
    if value is None and _text(args, partner) is not None:
        value = environ.get(SECRET_VARIABLES[name]) or None
    return value


def _number(args: dict[str, Any], name: str, default: float, kind: type, low: float, high: float) -> Any:
    value = args.get(name)
    if value is None or value == "":
        return default
    try:
        if isinstance(value, bool):
            raise ValueError
        number = kind(value)
    except (TypeError, ValueError):
        raise ValueError(f"cthings_webhook: {name} must be a number, not {value!r}") from None
    if not low <= number <= high:
        raise ValueError(f"cthings_webhook: {name} must be between {low:g} and {high:g}, not {number!r}")
    return number


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _digest(value: str) -> bytes:
    # Comparing fixed-size digests keeps the comparison's time independent of the secret's length too.
    return hashlib.sha256(value.encode("utf-8")).digest()


class Credentials:
    """What a request must carry: Basic user and password, or one named header; compared in constant time."""

    def __init__(self, pair: tuple[str, str], kind: str) -> None:
        self.kind = kind
        self._header_name = pair[0].lower() if kind == "header" else "authorization"
        self._expected = (_digest(pair[0]), _digest(pair[1])) if kind == "basic" else (_digest(pair[1]),)

    def challenge(self) -> dict[str, str]:
        return {"WWW-Authenticate": 'Basic realm="cthings_webhook", charset="UTF-8"'} if self.kind == "basic" else {}

    def accept(self, headers: dict[str, list[str]]) -> bool:
        values = headers.get(self._header_name, [])
        supplied = values[0] if len(values) == 1 else ""  # a repeated credential header is ambiguous: refused
        if self.kind == "header":
            return hmac.compare_digest(_digest(supplied), self._expected[0]) and len(values) == 1
        scheme, _separator, encoded = supplied.partition(" ")
        try:
            decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            decoded = ""
        user, separator, password = decoded.partition(":")
        # Both digests are compared whatever the first answer: no early exit tells which half was wrong.
        user_ok = hmac.compare_digest(_digest(user), self._expected[0])
        password_ok = hmac.compare_digest(_digest(password), self._expected[1])
        return user_ok and password_ok and bool(separator) and scheme.lower() == "basic"


class Settings:
    """The listener's arguments, checked. (Not a dataclass: runpy-loaded modules need not be in sys.modules.)"""

    def __init__(self, host: str, port: int, tls: ssl.SSLContext | None, credentials: Credentials, max_body_bytes: int,
                 request_timeout: float, max_connections: int) -> None:
        self.host = host
        self.port = port
        self.tls = tls
        self.credentials = credentials
        self.max_body_bytes = max_body_bytes
        self.request_timeout = request_timeout
        self.max_connections = max_connections

    @classmethod
    def from_args(cls, args: dict[str, Any], environ: Mapping[str, str] | None = None) -> Settings:
        """Every argument checked before anything listens; ValueError names the first bad one."""
        environ = os.environ if environ is None else environ
        unknown = sorted(name for name in args if name not in OPTIONS and not name.startswith("eda_"))
        if unknown:
            raise ValueError(f"cthings_webhook: unknown argument {unknown[0]!r}; arguments are {', '.join(OPTIONS)}")
        if jsonschema is None:
            raise ValueError("cthings_webhook: the Python library jsonschema is required (pip install jsonschema)")
        host = _text(args, "host") or DEFAULT_HOST
        port = _number(args, "port", DEFAULT_PORT, int, 0, 65535)
        # The secrets may come from the environment (an EDA credential's env injector), never the names.
        basic = (_text(args, "basic_username"), _secret(args, "basic_password", "basic_username", environ))
        header = (_text(args, "header_name"), _secret(args, "header_value", "header_name", environ))
        if (basic[0] is None) != (basic[1] is None):
            raise ValueError("cthings_webhook: basic_username and basic_password go together")
        if (header[0] is None) != (header[1] is None):
            raise ValueError("cthings_webhook: header_name and header_value go together")
        if basic[0] is not None and header[0] is not None:
            raise ValueError("cthings_webhook: choose Basic authorization or a header, not both")
        if basic[0] is None and header[0] is None:
            raise ValueError("cthings_webhook: set basic_username and basic_password, or header_name and header_value, "
                             "as configured for the webhook in cThings")
        if header[0] is not None and not HEADER_NAME.match(header[0]):
            raise ValueError(f"cthings_webhook: header_name {header[0]!r} is not a valid HTTP header name")
        certfile, keyfile = _text(args, "certfile"), _text(args, "keyfile")
        if certfile is None and not _is_loopback(host):
            raise ValueError(f"cthings_webhook: plain HTTP is allowed on a loopback address only; give certfile (and keyfile) "
                             f"to listen on {host}")
        if keyfile is not None and certfile is None:
            raise ValueError("cthings_webhook: keyfile needs certfile")
        tls = None
        if certfile is not None:
            tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            tls.minimum_version = ssl.TLSVersion.TLSv1_2
            try:
                tls.load_cert_chain(certfile, keyfile, _secret(args, "keyfile_password", "certfile", environ))
            except (OSError, ssl.SSLError) as error:
                raise ValueError(f"cthings_webhook: cannot load certfile/keyfile ({error})") from None
        return cls(
            host=host,
            port=port,
            tls=tls,
            credentials=Credentials(basic, "basic") if basic[0] is not None else Credentials(header, "header"),  # type: ignore[arg-type]
            max_body_bytes=_number(args, "max_body_bytes", DEFAULT_MAX_BODY_BYTES, int, 64, 64 * 1024 * 1024),
            request_timeout=_number(args, "request_timeout", DEFAULT_REQUEST_TIMEOUT, float, 0.01, 3600),
            max_connections=_number(args, "max_connections", DEFAULT_MAX_CONNECTIONS, int, 1, 10000),
        )


# ---- events ---------------------------------------------------------------------------------------


def _utc_now() -> str:
    return datetime.now(timezone.utc).isoformat().replace("+00:00", "Z")


def reading_event(payload: dict[str, Any], endpoint: str, received_at: str) -> dict[str, Any]:
    """The rulebook's view of one webhook body (already schema-checked)."""
    readings = {
        key: {"value": reading.get("value"), "unit": reading.get("unit"), "description": reading.get("description"),
              "primary": bool(reading.get("primary"))}
        for key, reading in payload["data"].items()
    }
    return {
        "cthings": {"type": "reading", "device_id": payload["uuid"], "device_name": payload["name"], "dtm": payload["dtm"],
                    "readings": readings},
        "meta": {"received_at": received_at, "endpoint": endpoint},
    }


@functools.lru_cache(maxsize=1)
def _reading_validator() -> Any:
    """Built once, on the first request: the schema never changes (Settings.from_args checked that jsonschema is there)."""
    return jsonschema.Draft202012Validator(READING_SCHEMA)


def _schema_problem(payload: Any) -> str | None:
    """Where the body departs from the vendor's shape, without quoting it (the answer and the log must not echo it)."""
    errors = sorted(_reading_validator().iter_errors(payload), key=lambda error: list(error.absolute_path))
    if not errors:
        return None
    error = errors[0]
    where = "".join(f"[{part!r}]" if isinstance(part, int) else f".{part}" for part in error.absolute_path) or "the body"
    if error.validator == "required":
        missing = [name for name in error.validator_value if isinstance(error.instance, dict) and name not in error.instance]
        return f"{where.lstrip('.')} lacks {', '.join(missing)}"
    return f"{where.lstrip('.')} fails the {error.validator!r} rule of the cThings webhook shape"


# ---- HTTP -----------------------------------------------------------------------------------------


def _parse_head(head: bytes) -> tuple[str, str, dict[str, list[str]]]:
    try:
        text = head.decode("latin-1")
    except UnicodeDecodeError:  # pragma: no cover - latin-1 decodes every byte
        raise HttpError(400, "malformed request") from None
    lines = text[:-4].split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
        raise HttpError(400, "malformed request line")
    if len(lines) - 1 > MAX_HEADERS:
        raise HttpError(431, "too many headers")
    headers: dict[str, list[str]] = {}
    for line in lines[1:]:
        name, separator, value = line.partition(":")
        if not separator or not HEADER_NAME.match(name):
            raise HttpError(400, "malformed header line")
        headers.setdefault(name.lower(), []).append(value.strip(" \t"))
    return parts[0], parts[1], headers


def _content_length(headers: dict[str, list[str]], limit: int) -> int:
    if "transfer-encoding" in headers:
        raise HttpError(411, "send the body with a Content-Length, not chunked")
    values = set(headers.get("content-length", []))
    if not values:
        raise HttpError(411, "a Content-Length is required")
    if len(values) != 1 or not next(iter(values)).isdigit():
        raise HttpError(400, "invalid Content-Length")
    length = int(next(iter(values)))
    if length > limit:
        raise HttpError(413, f"the body may have at most {limit} bytes")
    return length


def _response(status: int, body: dict[str, Any], headers: dict[str, str]) -> bytes:
    content = json.dumps(body).encode("utf-8")
    lines = [f"HTTP/1.1 {status} {REASONS.get(status, 'Error')}", "Content-Type: application/json",
             f"Content-Length: {len(content)}", "Connection: close", "Cache-Control: no-store"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + content


class WebhookListener:
    """The listener: one request per connection, every step bounded in size and time."""

    def __init__(self, settings: Settings, queue: Any) -> None:
        self.settings = settings
        self.queue = queue
        self.active = 0
        self.connections: set[asyncio.Task[Any]] = set()

    async def serve(self) -> None:
        settings = self.settings
        tls: dict[str, Any] = {"ssl": settings.tls, "ssl_handshake_timeout": settings.request_timeout} if settings.tls else {}
        server = await asyncio.start_server(self.connection, settings.host, settings.port, limit=MAX_HEAD_BYTES, **tls)
        addresses = ", ".join("{}:{}".format(*sock.getsockname()[:2]) for sock in server.sockets)
        LOG.info("cthings_webhook listening on %s (%s, %s authorization)", addresses, "https" if settings.tls else "http",
                 settings.credentials.kind)
        try:
            async with server:
                await server.serve_forever()
        finally:
            # Stopping the source also ends the requests in flight, instead of leaving them to the event loop's end.
            for task in list(self.connections):
                task.cancel()
            await asyncio.gather(*self.connections, return_exceptions=True)

    async def connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self.connections.add(task)
        try:
            await self._serve_connection(reader, writer)
        except asyncio.CancelledError:
            writer.close()  # the source is stopping; the task was started by asyncio, nobody awaits its cancellation
        except Exception as error:  # pylint: disable=broad-exception-caught  # one bad request must not leak a connection
            # The type only: a message could quote the request.
            LOG.error("cthings_webhook: internal error %s while serving a request; connection closed", type(error).__name__)
            writer.close()
        finally:
            self.connections.discard(task)  # type: ignore[arg-type]

    async def _serve_connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        remote = "{}:{}".format(*peer[:2]) if isinstance(peer, tuple) else "?"
        if self.active >= self.settings.max_connections:
            LOG.warning("cthings_webhook: %s refused, %d connections already open", remote, self.active)
            await self._answer(reader, writer, HttpError(503, "busy, retry later", {"Retry-After": "1"}), unread=True)
            return
        self.active += 1
        where = ["-", "-"]  # method and path, once the request line is in: the log names them, never the query
        try:
            try:
                await asyncio.wait_for(self._read_and_emit(reader, writer, where), self.settings.request_timeout)
                answer = HttpError(200, "accepted", body_read=True)
            except asyncio.TimeoutError:
                answer = HttpError(408, f"the request did not arrive within {self.settings.request_timeout:g} s")
            except HttpError as error:
                answer = error
            except (asyncio.IncompleteReadError, ConnectionError, ssl.SSLError):
                writer.close()  # the client went away: nobody to answer
                return
            log = LOG.info if answer.status == 200 else LOG.warning
            log("cthings_webhook: %s %s from %s: %d %s", where[0], where[1], remote, answer.status, answer.message)
            await self._answer(reader, writer, answer, unread=not answer.body_read)
        finally:
            self.active -= 1

    async def _read_and_emit(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, where: list[str]) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except asyncio.LimitOverrunError:
            raise HttpError(431, f"the request line and headers may have at most {MAX_HEAD_BYTES} bytes") from None
        method, target, headers = _parse_head(head)
        path = target.split("?", 1)[0]
        where[:] = [method, path]
        if method != "POST":
            raise HttpError(405, "only POST is accepted", {"Allow": "POST"})
        # Before the body: a request without credentials costs no JSON parsing and emits nothing.
        if not self.settings.credentials.accept(headers):
            raise HttpError(401, "missing or invalid credentials", self.settings.credentials.challenge())
        length = _content_length(headers, self.settings.max_body_bytes)
        if headers.get("expect", [""])[0].lower() == "100-continue":
            writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            await writer.drain()
        raw = await reader.readexactly(length)
        try:
            payload = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise HttpError(400, "the body is not JSON", body_read=True) from None
        problem = _schema_problem(payload)
        if problem:
            raise HttpError(400, f"not a cThings webhook reading: {problem}", body_read=True)
        await self.queue.put(reading_event(payload, path.lstrip("/"), _utc_now()))

    async def _answer(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, answer: HttpError, unread: bool) -> None:
        body = {"status": "accepted"} if answer.status == 200 else {"error": answer.message}
        with contextlib.suppress(ConnectionError, ssl.SSLError, asyncio.TimeoutError, OSError):
            writer.write(_response(answer.status, body, answer.headers))
            await asyncio.wait_for(writer.drain(), self.settings.request_timeout)
            if writer.can_write_eof():
                writer.write_eof()
            if unread:
                # A lingering close: closing with unread request bytes makes the kernel reset the connection, and the
                # client could lose the answer. Discard what is left, bounded in bytes and time, then close.
                await asyncio.wait_for(self._discard(reader), min(LINGER_SECONDS, self.settings.request_timeout))
        writer.close()
        with contextlib.suppress(ConnectionError, ssl.SSLError, asyncio.TimeoutError, OSError):
            await asyncio.wait_for(writer.wait_closed(), self.settings.request_timeout)

    async def _discard(self, reader: asyncio.StreamReader) -> None:
        left = self.settings.max_body_bytes + MAX_HEAD_BYTES
        while left > 0:
            chunk = await reader.read(min(left, 65536))
            if not chunk:
                return
            left -= len(chunk)


async def main(queue: Any, args: dict[str, Any]) -> None:
    """Listen until ansible-rulebook cancels the source; bad arguments fail before anything listens."""
    await WebhookListener(Settings.from_args(dict(args or {})), queue).serve()
