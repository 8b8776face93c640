"""Injected faults: answered before state is touched, only on the API hosts, seeded, counted; latency."""

from __future__ import annotations

import time

import pytest

VALID_LOCATION = {"location_name": "Faulted Location", "location_address": "1 Fault Road", "town": "Faultby", "postcode": "FA1 1LT", "country": "gb"}


def test_every_api_request_faults_at_rate_one_with_retry_after_on_429(emu):
    token = emu.ct_login()
    cthings_token = emu.cthings_token()
    emu.configure(fault_rate=1, fault_statuses=[429], retry_after=7)
    ct = emu.ct_get("/locations", token=token)
    assert ct.status_code == 429
    assert ct.headers["Retry-After"] == "7"
    assert set(ct.json()) == {"message"}
    cthings = emu.cthings_get("/v3/device", token=cthings_token)
    assert cthings.status_code == 429
    assert cthings.headers["Retry-After"] == "7"
    assert (cthings.json()["code"], cthings.json()["data"]) == (429, None)


def test_503_fault_has_the_hosts_error_shape(emu):
    emu.configure(fault_rate=1, fault_statuses="503")
    ct = emu.ct_get("/ping.json", token="whatever")
    assert ct.status_code == 503 and set(ct.json()) == {"message"}
    cthings = emu.cthings_get("/v3/device", token="whatever")
    assert cthings.status_code == 503 and cthings.json()["code"] == 503


def test_a_faulted_post_created_nothing(emu):
    token = emu.ct_login()
    emu.configure(fault_rate=1)
    response = emu.ct_request("POST", "/locations", token=token, json={"location": VALID_LOCATION})
    assert response.status_code in (429, 503)
    emu.configure(fault_rate=0)
    assert emu.ct_json("GET", "/locations", token=token, params={"q": "Faulted Location"})["locations"] == []
    stats = emu.stats()
    assert stats["writes_total"] == 0
    assert sum(stats["faults"].values()) == 1


def test_a_faulted_request_does_not_use_up_the_new_access_token(emu):
    old_refresh = emu.refresh_token
    new = emu.ct_refresh(old_refresh).json()
    emu.configure(fault_rate=1)
    assert emu.ct_get("/ping.json", token=new["access_token"]).status_code in (429, 503)
    emu.configure(fault_rate=0)
    assert emu.ct_refresh(old_refresh).status_code == 200  # rotation did not happen


def test_auth_hosts_and_admin_are_never_faulted(emu):
    emu.configure(fault_rate=1)
    assert emu.ct_refresh(emu.refresh_token).status_code == 200
    assert emu.cthings_token_request().status_code == 200
    assert emu.session.get(f"{emu.admin_url}/health").json() == {"ok": True}
    assert emu.stats()["faults"] == {"429": 0, "503": 0}


def test_fault_sequence_is_seeded_and_restarts_with_the_counters(emu):
    token = emu.ct_login()

    def run():
        emu.configure(fault_rate=0.5)
        statuses = [emu.ct_get("/ping.json", token=token).status_code for _repeat in range(30)]
        emu.configure(fault_rate=0)
        return statuses

    first = run()
    assert {200, 429, 503} <= set(first)
    emu.admin("POST", "reset", {"data": False, "counters": True})
    assert run() == first
    stats = emu.stats()
    assert stats["faults"]["429"] == first.count(429)
    assert stats["faults"]["503"] == first.count(503)


def test_fault_rate_counts_requests_and_faults(emu):
    emu.configure(fault_rate=1, fault_statuses=[503])
    for _repeat in range(4):
        emu.cthings_get("/v3/device", token="t")
    stats = emu.stats()
    assert stats["faults"] == {"429": 0, "503": 4}
    assert stats["hosts"]["cthings_api"] == 4
    assert stats["requests"] == {"GET /cthings-api/v3/device": 4}


def test_latency_is_added_to_api_requests_only(emu):
    token = emu.ct_login()
    # A wide gap between the latency and an unslowed loopback request, so that a busy machine cannot blur them.
    emu.configure(latency_ms=800)
    started = time.monotonic()
    assert emu.ct_get("/ping.json", token=token).status_code == 200
    assert time.monotonic() - started >= 0.8
    started = time.monotonic()
    emu.ct_refresh(emu.refresh_token)
    assert time.monotonic() - started < 0.8


@pytest.mark.parametrize("knobs", [
    {"fault_rate": 1.5}, {"fault_statuses": [500]}, {"fault_statuses": []}, {"ct_rotation": "sometimes"},
    {"ct_access_ttl": 0}, {"latency_ms": -1}, {"no_such_knob": 1}, {"revoke_every": "often"},
])
def test_invalid_knobs_are_refused_and_nothing_changes(emu, knobs):
    before = emu.admin("GET", "config")
    response = emu.session.post(f"{emu.admin_url}/config", json=knobs)
    assert response.status_code == 400
    assert "error" in response.json()
    assert emu.admin("GET", "config") == before
