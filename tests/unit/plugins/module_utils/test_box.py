# -*- coding: utf-8 -*-
# Copyright (c) ctcloud.cloud contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The box adapter: selection, MAC spellings, batching, a reboot that converges, waiting, all on a stubbed client."""

from __future__ import annotations

import threading

import pytest

from ansible_collections.ctcloud.cloud.plugins.module_utils._api.errors import ApiError, CtCloudError, InputError
from ansible_collections.ctcloud.cloud.plugins.module_utils._resources.box import (
    REBOOT,
    SKIP,
    BoxResource,
    RebootFailure,
    batches,
    booted_at,
    booted_at_latest,
    has_mac,
    normal_mac,
    plan_reboots,
    rebooted_since,
    skip_reason,
    validate_selection,
)
from ansible_collections.ctcloud.cloud.plugins.module_utils._resources.location import find_location
from ansible_collections.ctcloud.cloud.plugins.module_utils._state import resource as resource_module

NOW = 1_700_000_000.0
LOCATIONS = [
    {"id": "1001", "slug": "bath-spa-abc", "location_name": "Bath Spa Hotel"},
    {"id": "1002", "slug": "leeds-hub-def", "location_name": "Leeds Hub"},
    {"id": "1003", "slug": "twin-one", "location_name": "Twin Name"},
    {"id": "1004", "slug": "twin-two", "location_name": "Twin Name"},
    {"id": "1005", "slug": "office-xyz", "location_name": "office"},
]


def make_box(number, state="online", location="first", mac=None, uptime=86400, heartbeat=NOW - 30):
    location = LOCATIONS[0] if location == "first" else location
    up = state in ("online", "splash_only")
    return {
        "id": str(5000 + number),
        "slug": f"ap-{number:04d}",
        "location_id": location["id"] if location else None,
        "location_slug": location["slug"] if location else None,
        "calledstationid": mac or f"AA:BB:CC:00:00:{number:02X}",
        "description": f"Box {number}",
        "state": state,
        "is_online": up,
        "last_heartbeat": heartbeat,
        "uptime_seconds": uptime if up else 0,
        "machine_type": "MR36" if number % 2 else "MR46",
        "firmware_version": "2.7.0",
    }


class FakeClock:
    """Time that moves only when someone sleeps; thread-safe so that pools may share it."""

    def __init__(self, start=NOW):
        self.now = start
        self.lock = threading.Lock()
        self.sleeps = []

    def time(self):
        with self.lock:
            return self.now

    def sleep(self, seconds):
        with self.lock:
            self.sleeps.append(seconds)
            self.now += seconds


class FakeBoxApi:
    """Boxes and locations behind CtClient's two methods. A reboot comes back after ``reboot_delay`` clock seconds.

    ``patch_failures`` scripts what each PATCH raises: ``(error, processed_anyway)``. ``stuck`` boxes never come back.
    """

    def __init__(self, boxes, clock=None, reboot_delay=1.0, dashboard=False):
        self.boxes = {b["slug"]: dict(b) for b in boxes}
        # The dashboard's CT: integer ids, and an action on an offline box accepted (for its next start), not refused.
        self.dashboard = dashboard
        self.locations = [dict(loc) for loc in LOCATIONS]
        self.clock = clock or FakeClock()
        self.reboot_delay = reboot_delay
        self.done_at = {}
        self.stuck = set()
        self.patch_failures = []
        self.calls = []
        self.lock = threading.Lock()

    def _view(self, slug):
        box = dict(self.boxes[slug])
        done = self.done_at.get(slug)
        if done is not None and self.clock.time() >= done and slug not in self.stuck:
            box.update(state="online", is_online=True, last_heartbeat=done, uptime_seconds=0)
        if self.dashboard:
            box.update(id=int(box["id"]), is_online=int(box["is_online"]))
        return box

    def request(self, method, segments, params=None, body=None, schema=None, replay_safe=None):
        segments = list(segments) if isinstance(segments, (list, tuple)) else [segments]
        with self.lock:
            self.calls.append((method, "/".join(str(s) for s in segments), replay_safe))
        if segments[0] == "locations":
            for location in self.locations:
                if segments[1] in (location["id"], location["slug"]):
                    return dict(location)
            raise ApiError("Couldn't find Location", method, "/locations", 404)
        slug = segments[1]
        if slug not in self.boxes:
            raise ApiError("Couldn't find Box", method, "/boxes", 404)
        if method == "GET":
            return self._view(slug)
        assert method == "PATCH" and body == {"box": {"action": "reboot"}}
        with self.lock:
            error, processed = self.patch_failures.pop(0) if self.patch_failures else (None, True)
        if processed:
            current = self._view(slug)
            if current["state"] == "offline" and self.dashboard:
                return current
            if current["state"] == "offline":
                raise ApiError("action box is offline", method, "/boxes", 422, details={"body": {"errors": {"action": ["box is offline"]}}})
            self.boxes[slug] = dict(current, state="rebooting", is_online=False)
            self.done_at[slug] = self.clock.time() + self.reboot_delay
        if error is not None:
            raise error
        return self._view(slug)

    def list_all(self, segments, key, schema, params=None):
        segments = "/".join(str(s) for s in segments) if isinstance(segments, (list, tuple)) else segments  # as CtClient.url joins them
        params = dict(params or {})
        with self.lock:
            self.calls.append(("LIST", segments, tuple(sorted(params.items()))))
        if segments == "locations":
            return [dict(loc) for loc in self.locations if params.get("location_name") in (None, loc["location_name"])]
        assert segments == "boxes"
        boxes = [self._view(slug) for slug in self.boxes]
        if "location_id" in params:
            boxes = [b for b in boxes if b["location_slug"] == params["location_id"]]
        return [b for b in boxes if all(b.get(k) == v for k, v in params.items() if k in ("state", "machine_type"))]

    def methods(self, method):
        return [call[1] for call in self.calls if call[0] == method]


class NoClient:
    """Any use is a test failure: proves that bad input sends nothing."""

    def __getattr__(self, name):
        raise AssertionError(f"the client was used ({name}) although the input is invalid")


def resource_for(api, workers=1):
    return BoxResource(api, workers=workers, clock=api.clock.time, sleep=api.clock.sleep)


def run_reboot(api, boxes, batch_size=None, wait=True, timeout=60, workers=1, fail_on_offline=False, within=None):
    results = plan_reboots(boxes, api.clock.time(), batch_size, within)
    return resource_for(api, workers).run(results, {b["slug"]: b for b in boxes}, wait, timeout, fail_on_offline)


# -- MAC spellings -----------------------------------------------------------


@pytest.mark.parametrize("spelling", ["aa:bb:cc:dd:ee:0f", "AA-BB-CC-DD-EE-0F", "aabb.ccdd.ee0f", "AABBCCDDEE0F", " aa:bb:cc:dd:ee:0f "])
def test_every_common_mac_spelling_normalises_to_colons(spelling):
    assert normal_mac(spelling) == "AA:BB:CC:DD:EE:0F"


@pytest.mark.parametrize("junk", ["AA:BB:CC:DD:EE", "AA:BB:CC:DD:EE:FF:00", "GG:BB:CC:DD:EE:FF", None, 12, ""])
def test_a_value_that_is_not_a_mac_normalises_to_none(junk):
    assert normal_mac(junk) is None


def test_mac_selection_matches_the_api_spelling_with_dashes_and_lower_case():
    boxes = [make_box(1, mac="AA-BB-CC-00-00-01"), make_box(2, mac="aa:bb:cc:00:00:02"), make_box(3)]
    api = FakeBoxApi(boxes)
    selection = validate_selection(macs=["aabb.cc00.0001", "AA-BB-CC-00-00-02", "aa:bb:cc:00:00:03"])
    chosen = resource_for(api).select(selection)
    assert [b["slug"] for b in chosen] == ["ap-0001", "ap-0002", "ap-0003"]
    assert api.calls == [("LIST", "boxes", ())]  # one full list read, no GET per box


def test_a_mac_shared_by_two_boxes_fails_listing_both():
    api = FakeBoxApi([make_box(1, mac="AA:BB:CC:00:00:01"), make_box(2, mac="aa-bb-cc-00-00-01")])
    with pytest.raises(CtCloudError) as caught:
        resource_for(api).select(validate_selection(macs=["AA:BB:CC:00:00:01"]))
    assert "2 boxes have MAC AA:BB:CC:00:00:01 (ap-0001, ap-0002)" in str(caught.value)


# -- validating the selection ---------------------------------------------------


def test_bad_macs_and_ids_are_all_reported_before_any_request():
    with pytest.raises(InputError) as caught:
        validate_selection(slugs=["ap-0001"], ids=["12a"], macs=["AA:BB:CC:DD:EE:FF", "AA:BB:CC:DD:EE"])
    message = str(caught.value)
    assert "id must be a numeric id" in message and "'12a'" in message
    assert "mac[1] must be a MAC address" in message and "'AA:BB:CC:DD:EE'" in message
    assert caught.value.field == "id"


def test_an_empty_selection_is_an_input_error():
    with pytest.raises(InputError, match="select boxes with slug, id, mac or location"):
        validate_selection()


def test_repeated_selectors_are_kept_once():
    selection = validate_selection(slugs=["ap-0001", "ap-0001"], macs=["aa:bb:cc:00:00:01", "AA-BB-CC-00-00-01"])
    assert selection.slugs == ["ap-0001"] and selection.macs == ["AA:BB:CC:00:00:01"]


def test_a_blank_location_is_an_input_error():
    with pytest.raises(InputError, match="location must not be empty"):
        validate_selection(locations=["  "])


# -- selecting ----------------------------------------------------------------


def test_slugs_alone_are_read_one_by_one_without_listing():
    api = FakeBoxApi([make_box(n) for n in range(1, 6)])
    chosen = resource_for(api).select(validate_selection(slugs=["ap-0004", "ap-0002"]))
    assert [b["slug"] for b in chosen] == ["ap-0004", "ap-0002"]
    assert api.methods("GET") == ["boxes/ap-0004", "boxes/ap-0002"] and not api.methods("LIST")


def test_a_location_by_name_lists_its_boxes_with_the_slug_filter():
    api = FakeBoxApi([make_box(1), make_box(2, location=LOCATIONS[1]), make_box(3, location=LOCATIONS[1])])
    chosen = resource_for(api).select(validate_selection(locations=["Leeds Hub"]))
    assert [b["slug"] for b in chosen] == ["ap-0002", "ap-0003"]
    assert ("LIST", "boxes", (("location_id", "leeds-hub-def"),)) in api.calls


def test_a_location_by_id_and_slug_resolves_to_the_same_boxes_once():
    api = FakeBoxApi([make_box(1), make_box(2, location=LOCATIONS[1])])
    chosen = resource_for(api).select(validate_selection(locations=["1002", "leeds-hub-def"], slugs=["ap-0002"]))
    assert [b["slug"] for b in chosen] == ["ap-0002"]


def test_an_ambiguous_location_name_fails_listing_both():
    api = FakeBoxApi([make_box(1)])
    with pytest.raises(CtCloudError) as caught:
        resource_for(api).select(validate_selection(locations=["Twin Name"]))
    assert "2 locations are named 'Twin Name' (ids 1003, 1004)" in str(caught.value)


def test_selectors_combine_in_order_and_each_box_is_chosen_once():
    api = FakeBoxApi([make_box(n) for n in range(1, 5)])
    selection = validate_selection(slugs=["ap-0003"], ids=["5001", "5003"], macs=["aa:bb:cc:00:00:02"], locations=["bath-spa-abc"])
    chosen = resource_for(api).select(selection)
    assert [b["slug"] for b in chosen] == ["ap-0003", "ap-0001", "ap-0002", "ap-0004"]


def test_unknown_references_fail_together_and_nothing_is_written():
    api = FakeBoxApi([make_box(1)])
    with pytest.raises(CtCloudError) as caught:
        resource_for(api).select(validate_selection(slugs=["ap-9999"], ids=["5001", "7777"], macs=["00:00:00:00:00:01"]))
    assert str(caught.value) == "no box has slug 'ap-9999', id 7777, MAC 00:00:00:00:00:01; nothing was rebooted"
    assert not api.methods("PATCH")


def test_an_unknown_location_fails():
    api = FakeBoxApi([make_box(1)])
    with pytest.raises(CtCloudError, match="location 'Nowhere Town' does not exist"):
        resource_for(api).select(validate_selection(locations=["Nowhere Town"]))


def test_find_location_falls_back_to_the_name_when_a_slug_shaped_reference_is_no_slug():
    api = FakeBoxApi([])
    assert find_location(api, "office")["id"] == "1005"  # "office" is slug-shaped: GET 404, then the name
    assert api.calls[0][:2] == ("GET", "locations/office")
    assert find_location(api, "1001")["slug"] == "bath-spa-abc"
    assert find_location(api, "No Such Place") is None


# -- planning -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("state", "reason"),
    [
        ("offline", "offline: a reboot would only happen at its next start, so none was sent"),
        ("new", "never connected (state new)"),
        ("rebooting", "already rebooting"),
        ("upgrading", "upgrading its firmware; a reboot now could interrupt the upgrade"),
        ("processing", "busy applying its configuration (state processing)"),
        ("warming_up", "state 'warming_up' is not one a box is rebooted from (online, splash_only)"),
        ("online", None),
        ("splash_only", None),
    ],
)
def test_only_boxes_that_are_up_are_rebooted(state, reason):
    assert skip_reason(make_box(1, state=state), NOW, None) == reason


def test_boot_time_is_last_heartbeat_minus_uptime():
    assert booted_at(make_box(1, heartbeat=NOW - 30, uptime=600)) == NOW - 630
    assert booted_at({"last_heartbeat": None, "uptime_seconds": 5}) is None
    assert booted_at({"last_heartbeat": NOW, "uptime_seconds": True}) is None


def test_the_guard_skips_a_box_that_booted_recently_and_keeps_one_that_did_not():
    recent = make_box(1, heartbeat=NOW - 10, uptime=100)  # booted 100 s ago (uptime to now) or 110 s ago (to the heartbeat)
    older = make_box(2, heartbeat=NOW - 10, uptime=5000)
    unknown = dict(make_box(3), uptime_seconds=None)
    assert skip_reason(recent, NOW, 300) == "booted 100 seconds ago, within skip_if_rebooted_within (300)"
    assert skip_reason(older, NOW, 300) is None
    assert skip_reason(unknown, NOW, 300) is None  # cannot tell: not skipped


def test_the_guard_takes_the_boot_time_that_errs_toward_recently_rebooted():
    # Rebooted 4 s ago: uptime counted to now, the heartbeat 37 s old. Heartbeat minus uptime says 41 s ago.
    lagging = make_box(1, heartbeat=NOW - 37, uptime=4)
    assert booted_at(lagging) == NOW - 41
    assert booted_at_latest(lagging, NOW) == NOW - 4
    assert skip_reason(lagging, NOW, 30) == "booted 4 seconds ago, within skip_if_rebooted_within (30)"
    # Uptime counted to the heartbeat (the other reading): the heartbeat's estimate is the later one then only when the
    # controller's clock is behind the API's; either way the later estimate wins.
    assert booted_at_latest(make_box(2, heartbeat=NOW + 20, uptime=30), NOW) == NOW - 10
    assert booted_at_latest({"last_heartbeat": None, "uptime_seconds": 50}, NOW) == NOW - 50
    assert booted_at_latest({"last_heartbeat": NOW, "uptime_seconds": None}, NOW) is None


def test_batches_number_only_the_boxes_to_reboot_in_selection_order():
    boxes = [make_box(1), make_box(2, state="offline"), make_box(3), make_box(4), make_box(5, state="rebooting"), make_box(6)]
    results = plan_reboots(boxes, NOW, batch_size=2)
    assert [(r["slug"], r["action"], r["batch"]) for r in results] == [
        ("ap-0001", REBOOT, 1),
        ("ap-0002", SKIP, None),
        ("ap-0003", REBOOT, 1),
        ("ap-0004", REBOOT, 2),
        ("ap-0005", SKIP, None),
        ("ap-0006", REBOOT, 2),
    ]
    assert [[r["slug"] for r in batch] for batch in batches(results)] == [["ap-0001", "ap-0003"], ["ap-0004", "ap-0006"]]
    assert plan_reboots(boxes, NOW)[5]["batch"] == 1  # no batch_size: all at once


def test_results_carry_the_normalised_mac_and_the_location():
    result = plan_reboots([make_box(7, mac="aa-bb-cc-dd-ee-07")], NOW)[0]
    assert result["mac"] == "AA:BB:CC:DD:EE:07" and result["calledstationid"] == "aa-bb-cc-dd-ee-07"
    assert result["location_slug"] == "bath-spa-abc" and result["state_before"] == "online"


def test_the_mac_filter_is_the_only_one_applied_on_our_side():
    box = make_box(1, mac="AA-BB-CC-00-00-01")
    assert has_mac(box, "AA:BB:CC:00:00:01") and has_mac(box, None)
    assert not has_mac(box, "AA:BB:CC:00:00:02")


# -- rebooting and converging -------------------------------------------------------------


def test_a_reboot_is_sent_once_and_never_replayed_by_the_transport():
    api = FakeBoxApi([make_box(1)])
    results = run_reboot(api, [make_box(1)], wait=False)
    assert api.calls[0] == ("PATCH", "boxes/ap-0001", False)  # replay_safe=False
    assert results[0]["rebooted"] is True and results[0]["state_after"] == "rebooting"
    assert results[0]["back_online"] is None and len(api.methods("PATCH")) == 1


def test_a_lost_reply_of_a_processed_reboot_is_not_resent():
    api = FakeBoxApi([make_box(1)])
    api.patch_failures = [(ApiError("bad gateway", "PATCH", "/boxes", 502, retryable=True), True)]
    results = run_reboot(api, [make_box(1)], wait=False)
    assert api.methods("PATCH") == ["boxes/ap-0001"]
    assert api.methods("GET") == ["boxes/ap-0001"]  # the re-read that found it rebooting
    assert results[0]["rebooted"] is True and results[0]["state_after"] == "rebooting"


def test_a_processed_reboot_that_already_came_back_is_recognised_by_its_boot_time():
    box = make_box(1)
    api = FakeBoxApi([box], reboot_delay=0.0)
    api.patch_failures = [(ApiError("no reply within the timeout", "PATCH", "/boxes", None, retryable=True), True)]
    results = run_reboot(api, [box], wait=False)  # back online before the re-read: not "rebooting"
    assert results[0]["state_after"] == "online" and rebooted_since(box, api._view("ap-0001"))
    assert len(api.methods("PATCH")) == 1 and results[0]["rebooted"]
    assert not rebooted_since(box, dict(box, last_heartbeat=box["last_heartbeat"] + 60, uptime_seconds=box["uptime_seconds"] + 60))


def test_an_unprocessed_reboot_is_sent_again():
    api = FakeBoxApi([make_box(1)])
    api.patch_failures = [(ApiError("service unavailable", "PATCH", "/boxes", 503, retryable=True), False)]
    results = run_reboot(api, [make_box(1)], wait=False)
    assert api.methods("PATCH") == ["boxes/ap-0001", "boxes/ap-0001"]
    assert results[0]["rebooted"] is True


def test_converging_gives_up_after_the_bounded_attempts():
    api = FakeBoxApi([make_box(1)])
    api.patch_failures = [(ApiError("service unavailable", "PATCH", "/boxes", 503, retryable=True), False)] * 10
    with pytest.raises(RebootFailure) as caught:
        run_reboot(api, [make_box(1)], wait=False)
    assert len(api.methods("PATCH")) == resource_module.CONVERGE_ATTEMPTS
    assert "ap-0001 (MAC AA:BB:CC:00:00:01, location bath-spa-abc)" in str(caught.value)
    assert caught.value.results[0]["rebooted"] is False


def test_a_refusal_is_not_retried():
    api = FakeBoxApi([make_box(1)])
    api.patch_failures = [(ApiError("Couldn't find Box", "PATCH", "/boxes", 404), False)]
    with pytest.raises(RebootFailure, match="the reboot of 1 box failed"):
        run_reboot(api, [make_box(1)], wait=False)
    assert len(api.methods("PATCH")) == 1 and not api.methods("GET")


def test_a_box_that_went_offline_after_it_was_read_is_skipped_or_fails_with_fail_on_offline():
    api = FakeBoxApi([make_box(1, state="offline")])
    read_as_online = make_box(1)
    results = run_reboot(api, [read_as_online])
    assert results[0]["action"] == SKIP and results[0]["reason"] == "offline: the API refused the reboot (box is offline)"
    with pytest.raises(RebootFailure, match="box is offline"):
        run_reboot(api, [read_as_online], fail_on_offline=True)


def test_a_box_gone_offline_whose_reboot_ct_accepts_is_skipped_not_waited_for():
    """The dashboard's CT takes an action on an offline box for its next start: a 200, not a 422 to count on."""
    api = FakeBoxApi([make_box(1, state="offline")], dashboard=True)
    read_as_online = make_box(1)
    results = run_reboot(api, [read_as_online], timeout=600)
    assert results[0]["action"] == SKIP and results[0]["reason"].startswith("offline: it went offline before the reboot reached it")
    assert results[0]["rebooted"] is False and api.clock.sleeps == []  # nothing waited for
    with pytest.raises(RebootFailure, match="went offline before the reboot reached it"):
        run_reboot(api, [read_as_online], fail_on_offline=True)


def test_a_box_ct_allows_no_job_is_skipped_and_sent_nothing():
    held = dict(make_box(1), allowed_job=False)
    api = FakeBoxApi([held, dict(make_box(2), allowed_job=True), make_box(3, state="offline")], dashboard=True)
    boxes = resource_for(api).select(validate_selection(slugs=["ap-0001", "ap-0002", "ap-0003"]))
    results = run_reboot(api, boxes)
    assert [r["action"] for r in results] == [SKIP, REBOOT, SKIP]
    assert results[0]["reason"].startswith("CT allows this box no job now (allowed_job false")
    assert results[2]["reason"] == "offline: a reboot would only happen at its next start, so none was sent"
    assert api.methods("PATCH") == ["boxes/ap-0002"]


def test_integer_ids_and_rails_booleans_are_read_as_the_collection_shows_them():
    api = FakeBoxApi([make_box(1), make_box(2, state="offline")], dashboard=True)
    boxes = resource_for(api).select(validate_selection(ids=["5002", "5001"]))
    assert [(box["id"], box["is_online"]) for box in boxes] == [("5002", False), ("5001", True)]
    assert plan_reboots(boxes, NOW)[1]["id"] == "5001"


# -- batches and waiting ------------------------------------------------------------------


def test_each_batch_comes_back_before_the_next_is_rebooted():
    boxes = [make_box(n) for n in range(1, 7)]
    api = FakeBoxApi(boxes, reboot_delay=1.0)
    results = run_reboot(api, boxes, batch_size=2)
    patches = [i for i, call in enumerate(api.calls) if call[0] == "PATCH"]
    assert len(patches) == 6
    # The third PATCH (batch 2) comes after GETs of batch 1 that saw it back online.
    first_batch_reads = [call[1] for call in api.calls[: patches[2]] if call[0] == "GET"]
    assert {"boxes/ap-0001", "boxes/ap-0002"} <= set(first_batch_reads)
    assert all(r["back_online"] is True and r["state_after"] == "online" for r in results)
    assert [r["batch"] for r in results] == [1, 1, 2, 2, 3, 3]
    # Pauses grow by 1.25 from 0.2 s: reads at 0.2, 0.45, 0.7625, 1.153 s, so a box back after 1 s
    # is seen within 1.25x its reboot time (doubling pauses saw it at 1.4 s).
    assert all(r["seconds_to_online"] == pytest.approx(1.2) for r in results)  # 1.153 s, reported to 0.1 s
    # Not at 0 s: the reboot replies had just said "rebooting". Four reads per box, then it is back.
    assert len(api.methods("GET")) == 4 * 6  # four reads per box (doubling pauses needed three, seeing it later)


def test_a_box_still_showing_up_in_the_reboot_reply_is_not_back_until_seen_down():
    box = make_box(1)
    api = FakeBoxApi([box], reboot_delay=1.0)
    original = api.request

    def stale_reply(method, segments, **kwargs):
        reply = original(method, segments, **kwargs)
        return dict(box) if method == "PATCH" else reply  # an eventually consistent API

    api.request = stale_reply
    results = run_reboot(api, [box])
    assert results[0]["back_online"] is True
    assert results[0]["seconds_to_online"] >= 1.0  # not the immediate first read


def test_a_box_that_does_not_come_back_fails_naming_it_and_stops_later_batches():
    boxes = [make_box(n) for n in range(1, 6)]
    api = FakeBoxApi(boxes, reboot_delay=1.0)
    api.stuck = {"ap-0002"}
    with pytest.raises(RebootFailure) as caught:
        run_reboot(api, boxes, batch_size=2, timeout=30)
    message = str(caught.value)
    assert message.startswith("1 box did not come back online within 30 seconds of the reboot: ap-0002 (MAC AA:BB:CC:00:00:02")
    assert "last state rebooting" in message
    assert message.endswith("3 boxes in 2 later batches were not rebooted")
    assert api.methods("PATCH") == ["boxes/ap-0001", "boxes/ap-0002"]
    results = {r["slug"]: r for r in caught.value.results}
    assert results["ap-0001"]["back_online"] is True
    assert results["ap-0002"]["back_online"] is False
    assert results["ap-0003"]["rebooted"] is False and results["ap-0003"]["reason"] == "not rebooted: an earlier batch failed"
    assert api.clock.time() - NOW == pytest.approx(30.0)  # waited exactly the timeout, no longer


def test_without_wait_batches_are_not_polled():
    boxes = [make_box(n) for n in range(1, 4)]
    api = FakeBoxApi(boxes)
    results = run_reboot(api, boxes, wait=False)
    assert not api.methods("GET") and all(r["back_online"] is None for r in results)


def test_waits_are_concurrent_so_batches_not_boxes_set_the_duration():
    """20 boxes, batches of 10, a 0.3 s reboot: about two reboot times, not twenty.

    On the fake clock (it moves only when the module sleeps), with the reads in a real pool of 10
    threads, so the bound is exact on any machine: waiting box by box would sleep 20 x 0.3 s = 6 s.
    """
    boxes = [make_box(n) for n in range(1, 21)]
    api = FakeBoxApi(boxes, reboot_delay=0.3)
    started = api.clock.time()
    results = run_reboot(api, boxes, batch_size=10, timeout=30, workers=10)
    assert all(r["back_online"] for r in results)
    assert api.clock.time() - started < 2.0


def test_many_slugs_are_found_in_one_list_read():
    api = FakeBoxApi([make_box(n) for n in range(1, 31)])
    slugs = [f"ap-{n:04d}" for n in range(30, 10, -1)]
    chosen = resource_for(api).select(validate_selection(slugs=slugs))
    assert [b["slug"] for b in chosen] == slugs
    assert api.calls == [("LIST", "boxes", ())]
