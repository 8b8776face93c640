# -*- coding: utf-8 -*-
# Copyright (c) ctcloud.cloud contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""ansible-rulebook event source: cThings devices going offline and coming back online."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: cthings_devices
short_description: Poll cThings Cloud devices and emit their online/offline transitions as ansible-rulebook events
version_added: 0.2.0
description:
  - An event source for C(ansible-rulebook) and EDA controller. cThings Cloud reports a device's connection only in its
    device API (C(connection.status)), not in webhooks, so this source reads the device list every O(interval) seconds
    and emits an event when a device's status changes.
  - >-
    Each event is C(event.cthings) = C({"type": "offline" | "online", "device_id", "device_name", "last_connected",
    "signal_strength", "entity_id", "entity_name", "device_type", "initial"}); C(initial) is V(true) only for the
    events of O(report_offline_at_start).
  - The first successful poll is the baseline, it emits nothing unless O(report_offline_at_start) is set. After that, a
    device whose status flips emits one event. A device seen for the first time, a device without a status, and a device
    that left the list emit nothing, so a partial or odd reply never looks like a transition.
  - It uses the collection's own cThings client and token store, like the modules (v3 with the v2 fallback where the
    API needs it, one token request per credential until the token expires), and sends only the list parameters the
    API documents (C(page), C(limit), C(entity), C(type), C(active)).
  - When a poll fails (an API fault after the client's own retries, a timeout, a malformed reply) nothing is emitted
    and the next poll waits longer, doubling up to O(max_backoff) seconds; the first good poll compares with the last
    good one. Rejected credentials end the source with an error, since retrying cannot fix them.
author:
  - ctcloud.cloud contributors (@ctcloud)
extends_documentation_fragment:
  - ctcloud.cloud.cthings
  - ctcloud.cloud.token_store
options:
  interval:
    description:
      - Seconds between two polls of the device list.
    type: float
    default: 60
  entity:
    description:
      - Only devices of this entity (its id, a UUID); the API's C(entity) filter.
    type: str
  type:
    description:
      - Only devices of this type key (for example V(temperature_sensor)); the API's C(type) filter.
    type: str
  active:
    description:
      - Only active (V(true)) or inactive (V(false)) devices; the API's C(active) filter. Default is both.
    type: bool
  report_offline_at_start:
    description:
      - Emit one C(offline) event, with C(initial=true), for every device that is already offline at the first poll.
    type: bool
    default: false
  max_backoff:
    description:
      - Longest wait, in seconds, between polls while the API keeps failing.
    type: float
    default: 600
notes:
  - Arguments may be given as strings (as C(ansible-rulebook --env-vars) passes them); an empty string means "not set".
    Connection arguments that are not set come from the same environment variables as the modules'
    (E(CTHINGS_CLIENT_ID), E(CTHINGS_CLIENT_SECRET), E(CTHINGS_API_URL), E(CTHINGS_AUTH_URL), E(CTCLOUD_TOKEN_STORE)).
  - A device that goes offline and back between two polls is not seen. Lower O(interval) to see shorter outages; each
    poll reads the whole (filtered) list, 1000 devices a page.
  - See C(docs/event-driven.md) in the collection for the rulebook this source is made for.
"""

EXAMPLES = r"""
- name: Connection changes of one entity's devices, every two minutes
  ctcloud.cloud.cthings_devices:
    interval: 120
    entity: 4f6d2a8e-0c1b-4d3e-9a7f-2b5c8d1e0f3a
    report_offline_at_start: true

- name: Credentials from rulebook variables instead of the environment
  ctcloud.cloud.cthings_devices:
    client_id: "{{ cthings_client_id }}"
    client_secret: "{{ cthings_client_secret }}"
    type: temperature_sensor
"""

import asyncio
import importlib
import logging
import os
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

LOG = logging.getLogger("ctcloud.cloud.cthings_devices")

DEFAULT_INTERVAL = 60.0
DEFAULT_MAX_BACKOFF = 600.0
CONNECTION_OPTIONS = {
    # option: environment variable it falls back to, as in the modules
    "api_url": "CTHINGS_API_URL",
    "auth_url": "CTHINGS_AUTH_URL",
    "client_id": "CTHINGS_CLIENT_ID",
    "client_secret": "CTHINGS_CLIENT_SECRET",
    "token_store": "CTCLOUD_TOKEN_STORE",
    "token_store_key": "CTCLOUD_TOKEN_STORE_KEY",
}
OPTIONS = (*CONNECTION_OPTIONS, "validate_certs", "timeout", "interval", "entity", "type", "active", "report_offline_at_start",
           "max_backoff")
TRUE_WORDS = ("true", "yes", "on", "1")
FALSE_WORDS = ("false", "no", "off", "0")


def collection_module(name: str) -> ModuleType:
    """One of this collection's ``plugins/module_utils``, from the same installed copy as this file.

    ansible-rulebook loads sources with ``runpy.run_path``, outside Ansible's collection loader, so the
    directory holding ``ansible_collections`` may not be importable yet; it is put first on ``sys.path``
    so that this file and the client it uses come from the same collection version.
    """
    here = Path(__file__).resolve()
    collections_dir = here.parents[6]
    if collections_dir.name == "ansible_collections":
        root = str(collections_dir.parent)
        if root not in sys.path:
            sys.path.insert(0, root)
    try:
        return importlib.import_module(f"ansible_collections.ctcloud.cloud.plugins.module_utils._api.{name}")
    except ImportError as error:
        raise ValueError(f"cthings_devices: cannot import the ctcloud.cloud collection's {name} ({error}); run the source from "
                         "an installed collection (ansible-galaxy collection install ctcloud.cloud)") from None


# ---- arguments ------------------------------------------------------------------------------------


def _text(args: dict[str, Any], name: str) -> str | None:
    value = args.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ValueError(f"cthings_devices: {name} must be a string")
    return value


def _flag(args: dict[str, Any], name: str, default: bool | None) -> bool | None:
    value = args.get(name)
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in TRUE_WORDS + FALSE_WORDS:
        return value.strip().lower() in TRUE_WORDS
    raise ValueError(f"cthings_devices: {name} must be true or false, not {value!r}")


def _seconds(args: dict[str, Any], name: str, default: float, low: float) -> float:
    value = args.get(name)
    if value is None or value == "":
        return default
    try:
        if isinstance(value, bool):
            raise ValueError
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"cthings_devices: {name} must be a number of seconds, not {value!r}") from None
    if not number >= low:  # also false for NaN
        raise ValueError(f"cthings_devices: {name} must be at least {low:g} seconds, not {value!r}")
    return number


class Settings:
    """The source's arguments, checked before any request is sent."""

    def __init__(self, args: dict[str, Any], environ: dict[str, str] | None = None) -> None:
        environ = os.environ if environ is None else environ
        unknown = sorted(name for name in args if name not in OPTIONS and not name.startswith("eda_"))
        if unknown:
            raise ValueError(f"cthings_devices: unknown argument {unknown[0]!r}; arguments are {', '.join(OPTIONS)}")
        self.connection: dict[str, Any] = {
            name: _text(args, name) or environ.get(variable) or None for name, variable in CONNECTION_OPTIONS.items()
        }
        for name in ("client_id", "client_secret"):
            if not self.connection[name]:
                raise ValueError(f"cthings_devices: {name} is required (or the environment variable {CONNECTION_OPTIONS[name]})")
        self.connection["validate_certs"] = _flag(args, "validate_certs", True)
        self.connection["timeout"] = _seconds(args, "timeout", 30.0, 1.0)
        self.interval = _seconds(args, "interval", DEFAULT_INTERVAL, 0.001)
        self.max_backoff = max(self.interval, _seconds(args, "max_backoff", DEFAULT_MAX_BACKOFF, 0.001))
        self.report_offline_at_start = bool(_flag(args, "report_offline_at_start", False))
        validation = collection_module("validation")
        errors = collection_module("errors")
        entity = _text(args, "entity")
        try:
            self.entity = validation.uuid_value(entity, "entity") if entity is not None else None
        except errors.InputError as error:
            raise ValueError(f"cthings_devices: {error}") from None
        self.type_key = _text(args, "type")
        self.active = _flag(args, "active", None)

    def backoff(self, failures: int) -> float:
        """Seconds before the next poll after ``failures`` failed polls in a row."""
        return min(self.interval * 2 ** min(failures, 30), self.max_backoff)


# ---- transitions ----------------------------------------------------------------------------------


def device_event(device: dict[str, Any], online: bool, initial: bool = False) -> dict[str, Any]:
    connection = device.get("connection") if isinstance(device.get("connection"), dict) else {}
    entity = device.get("entity") if isinstance(device.get("entity"), dict) else {}
    device_type = device.get("type") if isinstance(device.get("type"), dict) else {}
    return {
        "cthings": {
            "type": "online" if online else "offline",
            "device_id": device.get("id"),
            "device_name": device.get("name"),
            "last_connected": connection.get("lastConnected"),
            "signal_strength": connection.get("signalStrength"),
            "entity_id": entity.get("id"),
            "entity_name": entity.get("name"),
            "device_type": device_type.get("key"),
            "initial": initial,
        }
    }


class ConnectionTracker:
    """The last known status of every device, and the events a new device list means."""

    def __init__(self) -> None:
        self.known: dict[str, bool] | None = None  # None until the first good poll

    def update(self, devices: list[dict[str, Any]], report_offline: bool = False) -> list[dict[str, Any]]:
        first = self.known is None
        previous = self.known or {}
        current: dict[str, bool] = {}
        events = []
        for device in devices:
            device_id = device.get("id")
            if not isinstance(device_id, str) or device_id in current:
                continue
            connection = device.get("connection")
            status = connection.get("status") if isinstance(connection, dict) else None
            if not isinstance(status, bool):
                # Unknown now: remember what was known, emit nothing.
                if device_id in previous:
                    current[device_id] = previous[device_id]
                continue
            current[device_id] = status
            if first:
                if report_offline and not status:
                    events.append(device_event(device, online=False, initial=True))
            elif device_id in previous and previous[device_id] != status:
                events.append(device_event(device, online=status))
        self.known = current
        return events


# ---- the poller -----------------------------------------------------------------------------------


async def poll(queue: Any, settings: Settings, client: Any, errors: ModuleType) -> None:
    """Poll until cancelled; only AuthError (credentials the API refuses) ends it."""
    tracker = ConnectionTracker()
    failures = 0
    while True:
        try:
            devices = await asyncio.to_thread(client.list_devices, settings.entity, settings.type_key, settings.active)
        except errors.AuthError:
            raise
        except errors.CtCloudError as error:
            failures += 1
            delay = settings.backoff(failures)
            LOG.warning("cthings_devices: poll failed (%s); no events, next poll in %.0f s", error, delay)
            await asyncio.sleep(delay)
            continue
        if failures:
            LOG.info("cthings_devices: the API answers again after %d failed poll(s)", failures)
        failures = 0
        for event in tracker.update(devices, settings.report_offline_at_start):
            await queue.put(event)
        await asyncio.sleep(settings.interval)


async def main(queue: Any, args: dict[str, Any]) -> None:
    """Emit device connection transitions until ansible-rulebook cancels the source."""
    settings = Settings(dict(args or {}))
    cthings = collection_module("cthings")
    errors = collection_module("errors")
    try:
        client = cthings.CthingsClient.build(**settings.connection)
    except errors.CtCloudError as error:
        raise ValueError(f"cthings_devices: {error}") from None
    LOG.info("cthings_devices: polling %s every %g s", client.endpoint_url("devices"), settings.interval)
    try:
        await poll(queue, settings, client, errors)
    finally:
        client.close()
