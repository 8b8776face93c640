# -*- coding: utf-8 -*-
# Copyright (c) ctcloud.cloud contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The runner: check mode writes nothing, creates converge instead of duplicating, failures report progress."""

from __future__ import annotations

import itertools

import pytest

from ansible_collections.ctcloud.cloud.plugins.module_utils._api.errors import ApiError, CtCloudError, InputError
from ansible_collections.ctcloud.cloud.plugins.module_utils._resources.location import LocationResource
from ansible_collections.ctcloud.cloud.plugins.module_utils._state.resource import Runner

NEW = {"name": "New Place", "address": "2 Side Road", "town": "Bath", "postcode": "BA2 2BB", "country": "gb", "state": "present"}


class FakeLocations(LocationResource):
    """LocationResource with the API replaced by a list; ``failures`` scripts what a write raises."""

    def __init__(self, objects=(), failures=()):
        super().__init__(client=None)
        self.objects = [dict(o) for o in objects]
        self.failures = list(failures)  # (method, error, persisted_anyway)
        self.calls = []
        self.ids = itertools.count(100)

    def _fail(self, method):
        if self.failures and self.failures[0][0] == method:
            error, persisted = self.failures.pop(0)[1:]
            return error, persisted
        return None, False

    def find(self, options):
        return self.find_by_key(options["name"])

    def find_by_key(self, key_value):
        self.calls.append(("GET", key_value))
        matches = [o for o in self.objects if o["location_name"] == key_value]
        return dict(matches[0]) if matches else None

    def list_all(self, params=None):
        self.calls.append(("LIST", None))
        return [dict(o) for o in self.objects]

    def create(self, payload):
        self.calls.append(("POST", payload["location_name"]))
        error, persisted = self._fail("POST")
        obj = dict(payload, id=str(next(self.ids)), state="active", archived=False)
        if error is None or persisted:
            self.objects.append(obj)
        if error:
            raise error
        return dict(obj)

    def update(self, current, payload):
        self.calls.append(("PATCH", current["location_name"]))
        error = self._fail("PATCH")[0]
        if error:
            raise error
        for obj in self.objects:
            if obj["id"] == current["id"]:
                obj.update(payload)
                return dict(obj)
        raise ApiError("gone", status=404)

    def delete(self, current):
        self.calls.append(("DELETE", current["location_name"]))
        error, persisted = self._fail("DELETE")
        if error is None or persisted:
            self.objects = [o for o in self.objects if o["id"] != current["id"]]
        if error:
            raise error


def writes(fake):
    return [call for call in fake.calls if call[0] in ("POST", "PATCH", "DELETE")]


def test_check_mode_plans_but_writes_nothing():
    fake = FakeLocations()
    runner = Runner(fake, check_mode=True)
    item = runner.plan_one(NEW)
    result = runner.apply(item, NEW)
    assert item.changed and result["location_name"] == "New Place" and result["id"] is None
    assert writes(fake) == []


def test_a_create_answered_503_after_it_went_through_is_not_repeated():
    fake = FakeLocations(failures=[("POST", ApiError("busy", "POST", "u", 503, retryable=True), True)])
    runner = Runner(fake)
    created = runner.apply(runner.plan_one(NEW), NEW)
    assert created["location_name"] == "New Place"
    assert [c for c in writes(fake) if c[0] == "POST"] == [("POST", "New Place")]
    assert len(fake.objects) == 1


def test_a_create_that_really_failed_is_created_once_more():
    fake = FakeLocations(failures=[("POST", ApiError("busy", "POST", "u", 503, retryable=True), False)])
    runner = Runner(fake)
    runner.apply(runner.plan_one(NEW), NEW)
    assert [c[0] for c in writes(fake)] == ["POST", "POST"]
    assert len(fake.objects) == 1


def test_a_validation_error_on_create_is_not_retried():
    fake = FakeLocations(failures=[("POST", ApiError("postcode is too long", "POST", "u", 422), False)])
    runner = Runner(fake)
    with pytest.raises(ApiError, match="postcode"):
        runner.apply(runner.plan_one(NEW), NEW)
    assert [c[0] for c in writes(fake)] == ["POST"]


def test_create_archived_is_a_create_then_one_update():
    fake = FakeLocations()
    runner = Runner(fake)
    options = dict(NEW, state="archived")
    created = runner.apply(runner.plan_one(options), options)
    assert created["state"] == "archived"
    assert [c[0] for c in writes(fake)] == ["POST", "PATCH"]


def test_creating_without_required_fields_fails_before_writing():
    fake = FakeLocations()
    with pytest.raises(InputError, match="creating it needs address, town, postcode"):
        Runner(fake).plan_one({"name": "New Place", "state": "present"})
    assert writes(fake) == []


def test_a_deleted_object_that_is_already_gone_counts_as_deleted():
    existing = {"id": "5", "location_name": "Old Place", "state": "active"}
    fake = FakeLocations([existing], failures=[("DELETE", ApiError("gone", "DELETE", "u", 404), False)])
    runner = Runner(fake)
    assert runner.apply(runner.plan_one({"name": "Old Place"}, absent=True)) is None


def test_set_failure_reports_what_was_already_done():
    existing = [{"id": str(i), "location_name": f"Place {i:03d}", "location_address": "1 Road", "town": "Bath", "postcode": "BA1 1AA", "state": "active"}
                for i in range(3)]
    fake = FakeLocations(existing, failures=[("PATCH", None, False), ("PATCH", ApiError("boom", "PATCH", "u", 500), False)])
    runner = Runner(fake)
    entries = [{"name": f"Place {i:03d}", "postcode": "BA9 9ZZ", "state": "present"} for i in range(3)]
    set_plan = runner.plan_set(entries, None)
    with pytest.raises(CtCloudError, match=r"while applying location 'Place 001'; already done: updated: Place 000") as caught:
        runner.apply_set(set_plan, entries)
    assert caught.value.details["done"] == {"updated": ["Place 000"]}


def test_set_with_an_entry_missing_create_fields_writes_nothing():
    fake = FakeLocations([{"id": "1", "location_name": "Place 001", "state": "active"}])
    entries = [{"name": "Place 001", "postcode": "BA9 9ZZ", "state": "present"}, {"name": "Brand New", "state": "present"}]
    with pytest.raises(InputError, match=r"nothing was changed: 'Brand New' does not exist; creating it needs address"):
        Runner(fake).plan_set(entries, None)
    assert writes(fake) == []
