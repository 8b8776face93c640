# -*- coding: utf-8 -*-
# Copyright (c) ctcloud.cloud contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""An in-memory stand-in for CtClient over locations and voucher batches, for the voucher tests.

It answers ``request`` and ``list_all`` the way CtClient does (bare objects, 404 as ApiError),
records every call, and lets a test script faults: a write that fails with a given error, and
whether the server processed it anyway (the unknown-outcome POST). The contract's full behaviour
is the emulator's job; this fake exists to make faults and counts exact.
"""

from __future__ import annotations

import itertools
from typing import Any

from ansible_collections.ctcloud.cloud.plugins.module_utils._api.errors import ApiError

LOCATIONS = [
    {"id": "1001", "slug": "brighton-seafront-cafe-abc", "location_name": "Brighton Seafront Cafe", "town": "Brighton"},
    {"id": "1002", "slug": "office-def", "location_name": "office", "town": "Leeds"},
    {"id": "1003", "slug": "twin-a", "location_name": "Twin Name", "town": "Bath"},
    {"id": "1004", "slug": "twin-b", "location_name": "Twin Name", "town": "York"},
]


def batch(unique_id: str, location_id: str, name: str, **settings: Any) -> dict[str, Any]:
    record = {
        "unique_id": unique_id, "location_id": location_id, "batch_name": name, "batch_description": "seeded",
        "quantity": 10, "access_type": 1, "validity_minutes": 60, "access_restrict_data": None, "session_timeout": 60,
        "idle_timeout": None, "simultaneous_use": 1, "length": 8, "voucher_format": "alphanumeric",
        "access_restrict_period": "", "download_speed": 2048, "upload_speed": 1024, "splash_page_id": "external",
        "is_active": True, "completed": True, "created_at": 1700000000, "csv_link": None, "pdf_link": None,
    }
    record.update(settings)
    return record


def _parts(segments: Any) -> list[str]:
    """CtClient takes one segment as a string or several as a list."""
    return [segments] if isinstance(segments, str) else [str(s) for s in segments]


class FakeCtApi:
    """``polls_until_complete``: how many GETs of a new batch answer ``completed: false`` first."""

    instance: FakeCtApi | None = None
    builds = 0
    api_url = "https://api.ctapp.io/api/v1"

    def __init__(self, vouchers: list[dict[str, Any]] | None = None, polls_until_complete: int = 2) -> None:
        self.locations = [dict(loc) for loc in LOCATIONS]
        self.vouchers = [dict(v) for v in (vouchers or [])]
        self.polls_until_complete = polls_until_complete
        self.pending: dict[str, int] = {}
        self.calls: list[tuple[str, str]] = []
        self.failures: list[tuple[str, ApiError, bool]] = []  # (method, error, processed anyway)
        self.ids = itertools.count(1)

    @classmethod
    def build(cls, **kwargs: Any) -> FakeCtApi:
        """Stands in for CtClient.build: hands out the prepared instance (or a fresh one)."""
        cls.builds += 1
        if cls.instance is None:
            cls.instance = cls()
        return cls.instance

    # -- what a test reads -------------------------------------------------

    @property
    def writes(self) -> list[tuple[str, str]]:
        return [call for call in self.calls if call[0] in ("POST", "PATCH", "DELETE")]

    def secrets(self) -> list[str]:
        return []

    def close(self) -> None:
        pass

    # -- CtClient's interface ------------------------------------------------

    def request(self, method: str, segments: Any, params: Any = None, body: Any = None, schema: Any = None, replay_safe: Any = None) -> Any:
        segments = _parts(segments)
        path = "/".join(segments)
        self.calls.append((method, path))
        failure = self._scripted(method)
        if failure is not None and not failure[1]:
            raise failure[0]
        reply = self._serve(method, segments, body)
        if failure is not None:
            raise failure[0]
        return reply

    def list_all(self, segments: Any, key: str, schema: Any, params: Any = None) -> list[dict[str, Any]]:
        segments = _parts(segments)
        path = "/".join(segments)
        query_string = "&".join(f"{name}={value}" for name, value in (params or {}).items() if value is not None)
        self.calls.append(("LIST", path + (f"?{query_string}" if query_string else "")))
        query = ((params or {}).get("q") or "").casefold()
        parts = segments
        if parts == ["locations"]:
            exact = (params or {}).get("location_name")
            return [dict(loc) for loc in self.locations
                    if query in loc["location_name"].casefold() and exact in (None, loc["location_name"])]
        if len(parts) == 3 and parts[2] == "vouchers":
            location = self._location(parts[1])
            exact = (params or {}).get("batch_name")
            return [self._view(v) for v in self.vouchers if v["location_id"] == location["id"] and query in v["batch_name"].casefold()
                    and exact in (None, v["batch_name"])]
        if len(parts) == 5 and parts[4] == "codes":
            voucher = self._voucher(parts[1], parts[3])
            if not self._view(voucher)["completed"]:
                return []
            return [
                {"username": f"user{n:03d}", "password": f"pass{n:03d}", "serial": n, "active": False, "date_activated": None}
                for n in range(1, voucher["quantity"] + 1)
            ]
        raise AssertionError(f"unexpected list {path}")

    # -- internals -----------------------------------------------------------

    def _scripted(self, method: str) -> tuple[ApiError, bool] | None:
        if self.failures and self.failures[0][0] == method:
            _method, error, processed = self.failures.pop(0)
            return error, processed
        return None

    def _location(self, ref: str) -> dict[str, Any]:
        for loc in self.locations:
            if ref in (loc["id"], loc["slug"]):
                return loc
        raise ApiError("Couldn't find Location", "GET", f"http://ct/locations/{ref}", 404)

    def _voucher(self, location_ref: str, unique_id: str) -> dict[str, Any]:
        location = self._location(location_ref)
        for voucher in self.vouchers:
            if voucher["unique_id"] == unique_id and voucher["location_id"] == location["id"]:
                return voucher
        raise ApiError("Couldn't find Voucher", "GET", f"http://ct/vouchers/{unique_id}", 404)

    def _view(self, voucher: dict[str, Any]) -> dict[str, Any]:
        return dict(voucher, completed=self.pending.get(voucher["unique_id"], 0) <= 0)

    def _serve(self, method: str, parts: list[str], body: Any) -> Any:
        if parts[0] != "locations":
            raise AssertionError(f"unexpected path {parts}")
        if len(parts) == 2 and method == "GET":
            return dict(self._location(parts[1]))
        if len(parts) == 3 and method == "POST":
            location = self._location(parts[1])
            unique_id = f"{next(self.ids):032x}"
            record = batch(unique_id, location["id"], "", idle_timeout=None)
            record.update(body["voucher"])
            record["is_active"] = True
            self.vouchers.append(record)
            self.pending[unique_id] = self.polls_until_complete
            return self._view(record)
        voucher = self._voucher(parts[1], parts[3])
        if method == "GET":
            if self.pending.get(voucher["unique_id"], 0) > 0:
                self.pending[voucher["unique_id"]] -= 1
            return self._view(voucher)
        if method == "PATCH":
            fixed = [f for f in ("quantity", "voucher_format", "access_restrict_period", "access_type", "length") if f in body["voucher"]]
            if any(body["voucher"][f] != voucher[f] for f in fixed):
                raise ApiError("quantity cannot be changed after creation", "PATCH", "http://ct/v", 422,
                               details={"body": {"errors": {fixed[0]: ["cannot be changed after creation"]}}})
            voucher.update(body["voucher"])
            return self._view(voucher)
        if method == "DELETE":
            self.vouchers.remove(voucher)
            return None
        raise AssertionError(f"unexpected {method} {parts}")
