"""`/_admin/cthings/…`: what tests of event sources steer — device connection flips and webhook deliveries.

A device's connection status changes only here (the cThings API itself is
read-only), so a poller test can make a device go offline or come back. A
reset of the data (`POST /_admin/reset`) puts every flipped device back as seeded.
"""

from __future__ import annotations

import time
from typing import Any

from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from ctcloud_emulator.admin import AdminRequestError, _object_body, admin_rules
from ctcloud_emulator.clock import iso_z
from ctcloud_emulator.services import Services
from ctcloud_emulator.web import json_response
from ctcloud_emulator.webhooks import WebhookError, WebhookSender, WebhookTarget, encode, reading_payload

CONNECTION_FIELDS = ("status", "lastConnected", "signalStrength")
SEND_OPTIONS = ("device_id", "values", "credentials", "body", "raw")


class UnknownDevice(LookupError):
    """404 `{"error": …}`."""


class CthingsAdmin:
    def __init__(self, services: Services, webhooks: WebhookSender) -> None:
        self.services = services
        self.webhooks = webhooks

    def rules(self) -> list[Rule]:
        routes = [
            ("/cthings/devices/<device_id>/connection", "POST", self.set_connection),
            ("/cthings/webhook", "GET", self.get_webhook),
            ("/cthings/webhook", "POST", self.subscribe),
            ("/cthings/webhook", "DELETE", self.unsubscribe),
            ("/cthings/webhook/send", "POST", self.send),
        ]
        return admin_rules(routes, {
            AdminRequestError: (400, str),
            WebhookError: (400, str),
            UnknownDevice: (404, lambda error: f"no device {error.args[0]}"),
        })

    # ---- devices ----------------------------------------------------------------------------

    def set_connection(self, request: Request, device_id: str) -> Response:
        """`{"status": false}` takes a device offline, `true` brings it back; `lastConnected` moves to now unless given."""
        changes = _object_body(request)
        unknown = sorted(set(changes) - set(CONNECTION_FIELDS))
        if unknown:
            raise AdminRequestError(f"a connection has no settable field {unknown[0]!r}; fields are {', '.join(CONNECTION_FIELDS)}")
        if not isinstance(changes.get("status"), bool):
            raise AdminRequestError("status (true or false) is required")
        if "lastConnected" in changes and not isinstance(changes["lastConnected"], str):
            raise AdminRequestError("lastConnected must be an ISO 8601 time with Z")
        strength = changes.get("signalStrength")
        if "signalStrength" in changes and (isinstance(strength, bool) or not isinstance(strength, (int, float))):
            raise AdminRequestError("signalStrength must be a number")
        state = self.services.state
        with state.lock:
            catalog = state.devices
            index = catalog.find(device_id)
            if index is None:
                raise UnknownDevice(device_id)
            connection = dict(catalog.devices[index]["connection"])
            if connection.get("status") != changes["status"] and "lastConnected" not in changes:
                connection["lastConnected"] = iso_z(time.time())
            connection.update(changes)
            device = catalog.replace_connection(index, connection)
        return json_response(device)

    # ---- webhooks ---------------------------------------------------------------------------

    def _subscription(self) -> dict[str, Any]:
        target = self.webhooks.target
        return {"target": None if target is None else target.describe(), "deliveries": self.webhooks.deliveries()}

    def get_webhook(self, request: Request) -> Response:
        del request
        return json_response(self._subscription())

    def subscribe(self, request: Request) -> Response:
        self.webhooks.subscribe(WebhookTarget.from_options(_object_body(request)))
        return json_response(self._subscription())

    def unsubscribe(self, request: Request) -> Response:
        del request
        self.webhooks.subscribe(None)
        return json_response(self._subscription())

    def send(self, request: Request) -> Response:
        """Deliver one reading of `device_id` now (or `body`/`raw` instead, to test a receiver's refusals)."""
        options = _object_body(request)
        unknown = sorted(set(options) - set(SEND_OPTIONS))
        if unknown:
            raise AdminRequestError(f"unknown send option {unknown[0]!r}; options are {', '.join(SEND_OPTIONS)}")
        payload: Any = None
        if "raw" in options:
            if not isinstance(options["raw"], str):
                raise AdminRequestError("raw must be a string (sent as UTF-8, as is)")
            body = options["raw"].encode("utf-8")
        elif "body" in options:
            payload = options["body"]
            body = encode(payload)
        else:
            payload = self._reading(options.get("device_id"), options.get("values"))
            body = encode(payload)
        delivery = self.webhooks.send(body, options.get("credentials", "valid"))
        return json_response({**delivery.as_dict(), "payload": payload})

    def _reading(self, device_id: Any, values: Any) -> dict[str, Any]:
        if not isinstance(device_id, str):
            raise AdminRequestError("device_id is required (or body / raw)")
        if values is not None and not isinstance(values, dict):
            raise AdminRequestError("values must be an object of reading key -> value")
        state = self.services.state
        with state.lock:
            index = state.devices.find(device_id)
            if index is None:
                raise UnknownDevice(device_id)
            device = state.devices.devices[index]
        return reading_payload(device, time.time(), values)
