"""cThings webhooks: the emulator posts device readings to one subscriber, as cThings does.

The vendor's article "How do I get started with webhooks?" describes what is
emulated here: an HTTPS endpoint the customer runs, optionally protected by
Basic authorization or a custom header, receiving one JSON body per device
reading, `{"uuid","name","device","route":[…],"dtm","data":{key:{"description",
"unit","value","primary","typeId"}}}`. cThings sends a reading when the device
reports one; the emulator sends one when a test asks (`POST
/_admin/cthings/webhook/send`), so a test knows exactly what went out and what
the receiver answered.

Deliveries go to loopback addresses only: the emulator is test equipment and
must never become a way to send traffic elsewhere.
"""

from __future__ import annotations

import base64
import collections
import dataclasses
import http.client
import ipaddress
import os
import ssl
import threading
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from ctcloud_emulator.devices import DEVICE_TYPES, Device, readings_page
from ctcloud_emulator.web import to_json

DELIVERY_TIMEOUT_SECONDS = 10.0
DELIVERY_LOG_SIZE = 100
REPLY_EXCERPT_BYTES = 200
USER_AGENT = "cThings-Webhook (ctcloud emulator)"
# How a delivery authenticates: as subscribed, not at all, or with a wrong secret (what an attacker would send).
CREDENTIAL_MODES = ("valid", "none", "wrong")


class WebhookError(ValueError):
    """A subscription or a send request the emulator cannot honour (400 on the admin API)."""


def _loopback_host(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _optional_text(options: Mapping[str, Any], name: str) -> str | None:
    value = options.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise WebhookError(f"{name} must be a string")
    return value


@dataclasses.dataclass(frozen=True)
class WebhookTarget:
    """Where readings go and how the delivery authenticates (Basic, a named header, or nothing)."""

    url: str
    basic_username: str | None = None
    basic_password: str | None = None
    header_name: str | None = None
    header_value: str | None = None
    ca_file: str | None = None

    OPTIONS = ("url", "basic_username", "basic_password", "header_name", "header_value", "ca_file")

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> WebhookTarget:
        unknown = sorted(set(options) - set(cls.OPTIONS))
        if unknown:
            raise WebhookError(f"unknown webhook option {unknown[0]!r}; options are {', '.join(cls.OPTIONS)}")
        values = {name: _optional_text(options, name) for name in cls.OPTIONS}
        url = values["url"]
        if url is None:
            raise WebhookError("url is required")
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise WebhookError(f"url must be an http:// or https:// URL, not {url!r}")
        if not _loopback_host(parts.hostname):
            raise WebhookError(f"url must point at a loopback address (127.0.0.0/8, ::1 or localhost), not {parts.hostname!r}")
        if (values["basic_username"] is None) != (values["basic_password"] is None):
            raise WebhookError("basic_username and basic_password go together")
        if (values["header_name"] is None) != (values["header_value"] is None):
            raise WebhookError("header_name and header_value go together")
        if values["basic_username"] is not None and values["header_name"] is not None:
            raise WebhookError("choose Basic authorization or a header, not both")
        if values["ca_file"] is not None and not os.path.isfile(values["ca_file"]):
            raise WebhookError(f"ca_file {values['ca_file']!r} does not exist")
        return cls(**values)

    @property
    def auth_kind(self) -> str | None:
        if self.basic_username is not None:
            return "basic"
        if self.header_name is not None:
            return "header"
        return None

    def describe(self) -> dict[str, Any]:
        """The subscription without its secrets."""
        return {"url": self.url, "auth": self.auth_kind, "header_name": self.header_name, "ca_file": self.ca_file}

    def auth_headers(self, mode: str) -> dict[str, str]:
        if mode == "none" or self.auth_kind is None:
            return {}
        if self.auth_kind == "basic":
            password = self.basic_password if mode == "valid" else f"not-{self.basic_password}"
            token = base64.b64encode(f"{self.basic_username}:{password}".encode()).decode("ascii")
            return {"Authorization": f"Basic {token}"}
        value = self.header_value if mode == "valid" else f"not-{self.header_value}"
        return {str(self.header_name): str(value)}


def reading_payload(device: Device, now: float, values: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The vendor's webhook body for the device's latest reading, with `values` overriding measured values."""
    measurements = {key for key, *_rest in DEVICE_TYPES[device["type"]["key"]][2]}
    unknown = sorted(set(values or {}) - measurements)
    if unknown:
        raise WebhookError(f"a {device['type']['key']} has no reading {unknown[0]!r}; it has {', '.join(sorted(measurements))}")
    step = device["dataInterval"] * 60
    # The reading of the current slot: what the v2 readings endpoint shows for this time too.
    reading = readings_page(device, int(now) // step * step, step, 0, 1, 1)[0]
    data = reading["data"]
    for key, value in (values or {}).items():
        data[key] = {**data[key], "value": value}
    return {
        "uuid": device["id"],
        "name": device["name"],
        "device": device["device"],
        "route": list(device["connection"].get("route") or []),
        "dtm": reading["dtm"],
        "data": data,
    }


@dataclasses.dataclass(frozen=True)
class Delivery:
    """One POST to the subscriber: what it answered (`status` None when it could not be reached)."""

    at: float
    url: str
    credentials: str
    status: int | None
    reply: str
    error: str | None

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


class WebhookSender:
    """The current subscription and the log of deliveries; thread-safe (requests are served by threads)."""

    def __init__(self, target: WebhookTarget | None = None) -> None:
        self._lock = threading.Lock()
        self._target = target
        self._deliveries: collections.deque[Delivery] = collections.deque(maxlen=DELIVERY_LOG_SIZE)

    @property
    def target(self) -> WebhookTarget | None:
        return self._target

    def subscribe(self, target: WebhookTarget | None) -> None:
        """Replace the subscription; the delivery log starts afresh with it."""
        with self._lock:
            self._target = target
            self._deliveries.clear()

    def deliveries(self) -> list[dict[str, Any]]:
        with self._lock:
            return [delivery.as_dict() for delivery in self._deliveries]

    def send(self, body: bytes, credentials: str = "valid") -> Delivery:
        """POST `body` to the subscriber and wait for its answer."""
        target = self._target
        if target is None:
            raise WebhookError("no webhook subscription: POST /_admin/cthings/webhook first (or start with --webhook-url)")
        if credentials not in CREDENTIAL_MODES:
            raise WebhookError(f"credentials must be one of {', '.join(CREDENTIAL_MODES)}")
        headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT, **target.auth_headers(credentials)}
        status, reply, error = _post(target, body, headers)
        delivery = Delivery(time.time(), target.url, credentials, status, reply, error)
        with self._lock:
            self._deliveries.append(delivery)
        return delivery


def _post(target: WebhookTarget, body: bytes, headers: dict[str, str]) -> tuple[int | None, str, str | None]:
    parts = urlsplit(target.url)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    connection: http.client.HTTPConnection
    if parts.scheme == "https":
        context = ssl.create_default_context(cafile=target.ca_file)
        connection = http.client.HTTPSConnection(parts.hostname, parts.port, timeout=DELIVERY_TIMEOUT_SECONDS, context=context)
    else:
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=DELIVERY_TIMEOUT_SECONDS)
    try:
        connection.request("POST", path, body=body, headers=headers)
        response = connection.getresponse()
        return response.status, response.read(REPLY_EXCERPT_BYTES).decode("utf-8", "replace"), None
    except (OSError, http.client.HTTPException) as failure:
        return None, "", f"{type(failure).__name__}: {failure}"
    finally:
        connection.close()


def encode(payload: Any) -> bytes:
    return to_json(payload).encode("utf-8")
