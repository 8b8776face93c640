"""Admin API: exact statistics, resets, state dump, config, health; determinism of the seed."""

from __future__ import annotations

from emulator_testing import TEST_KNOBS, TEST_SEED


def test_stats_count_exactly_what_was_requested(emu):
    token = emu.ct_login()
    emu.ct_get("/locations", token=token)
    emu.ct_get("/locations/1001", token=token)
    emu.ct_get("/locations/999999", token=token)
    emu.ct_request("PATCH", "/locations/1001", token=token, json={"location": {"town": "Stats Town"}})
    emu.ct_get("/nowhere", token=token)
    emu.cthings_get("/v3/device")
    emu.admin("GET", "state?without=devices")  # admin requests are not counted
    stats = emu.stats()
    assert stats == {
        "requests": {
            "GET /ct-api/<path:unknown>": 1,
            "GET /ct-api/api/v1/locations": 1,
            "GET /ct-api/api/v1/locations/<ref>": 2,
            "GET /cthings-api/v3/device": 1,
            "PATCH /ct-api/api/v1/locations/<ref>": 1,
            "POST /ct-id/oauth/token": 1,
            "POST /cthings-auth/token": 1,
        },
        "hosts": {"ct_auth": 1, "ct_api": 5, "cthings_auth": 1, "cthings_api": 1},
        "total": 8,
        "token_requests": {"ct": {"authorization_code": 0, "refresh_token": 1}, "cthings": {"client_credentials": 1}},
        "token_errors": {},
        "writes": {
            "locations": {"POST": 0, "PATCH": 1, "DELETE": 0},
            "vouchers": {"POST": 0, "PATCH": 0, "DELETE": 0},
            "boxes": {"POST": 0, "PATCH": 0, "DELETE": 0},
        },
        "writes_total": 1,
        "faults": {"429": 0, "503": 0},
        "revocations": 0,
    }


def test_reset_counters_only_keeps_data(emu):
    emu.ct_request("PATCH", "/locations/1001", json={"location": {"town": "Kept Town"}})
    emu.admin("POST", "reset", {"data": False})
    assert emu.stats()["total"] == 0
    assert emu.ct_json("GET", "/locations/1001")["town"] == "Kept Town"


def test_reset_data_restores_the_seed_and_keeps_tokens(emu):
    token = emu.ct_login()
    original = emu.ct_json("GET", "/locations/1001", token=token)
    emu.ct_request("DELETE", "/locations/1001", token=token)
    emu.admin("POST", "reset", {"counters": False})
    assert emu.ct_json("GET", "/locations/1001", token=token) == original
    assert emu.stats()["writes_total"] == 1


def test_reset_tokens_restores_the_initial_refresh_token(emu):
    initial = emu.refresh_token
    emu.ct_get("/ping.json", token=emu.ct_login())  # first use of the new token revokes the initial one
    assert emu.ct_refresh(initial).status_code == 400
    emu.admin("POST", "reset", {"tokens": True})
    assert emu.ct_refresh(initial).status_code == 200


def test_reset_with_seed_changes_the_sizes(emu):
    result = emu.admin("POST", "reset", {"seed": {"locations": 3, "boxes": 4, "devices": 5}})
    assert result["seed"] == {"locations": 3, "boxes": 4, "devices": 5, "seed": TEST_SEED.seed}
    state = emu.admin("GET", "state")
    assert (len(state["locations"]), len(state["boxes"]), len(state["devices"])) == (3, 4, 5)


def test_bad_reset_bodies_are_400(emu):
    for body in ({"data": "yes"}, {"seed": {"planets": 3}}, {"everything": True}, ["data"]):
        assert emu.session.post(f"{emu.admin_url}/reset", json=body).status_code == 400


def test_a_body_without_a_json_content_type_is_refused_not_ignored(emu):
    before = emu.admin("GET", "config")
    reply = emu.session.post(f"{emu.admin_url}/config", data='{"reboot_delay": 9}', headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert reply.status_code == 400 and "Content-Type: application/json" in reply.json()["error"]
    assert emu.admin("GET", "config") == before
    assert emu.session.post(f"{emu.admin_url}/reset").status_code == 200  # no body at all is fine


def test_state_dump_has_every_collection_and_can_leave_devices_out(emu):
    state = emu.admin("GET", "state")
    assert set(state) == {"locations", "vouchers", "codes", "boxes", "devices"}
    assert (len(state["locations"]), len(state["boxes"]), len(state["devices"])) == (TEST_SEED.locations, TEST_SEED.boxes, TEST_SEED.devices)
    assert set(state["codes"]) == {voucher["unique_id"] for voucher in state["vouchers"] if voucher["completed"]}
    assert all(not key.startswith("_") for record in state["vouchers"] + state["boxes"] for key in record)
    assert set(emu.admin("GET", "state?without=devices")) == {"locations", "vouchers", "codes", "boxes"}


def test_same_seed_gives_the_same_dump_and_another_seed_does_not(emu):
    first = emu.admin("GET", "state")
    emu.admin("POST", "reset", {"seed": {"seed": TEST_SEED.seed + 1}})
    other = emu.admin("GET", "state")
    emu.admin("POST", "reset", {"seed": {"seed": TEST_SEED.seed}})
    assert emu.admin("GET", "state") == first
    assert other["locations"] != first["locations"] and other["devices"] != first["devices"]


def test_config_reads_and_changes_knobs(emu):
    assert emu.admin("GET", "config") == TEST_KNOBS
    changed = emu.configure(fault_rate=0.25, ct_rotation="strict", fault_statuses="429,503,504")
    assert changed == {**TEST_KNOBS, "fault_rate": 0.25, "ct_rotation": "strict", "fault_statuses": [429, 503, 504]}
    assert emu.admin("GET", "config") == changed


def test_health(emu):
    assert emu.admin("GET", "health") == {"ok": True}


def test_identity_announces_the_bundled_emulator_and_the_urls_it_serves(emu):
    identity = emu.admin("GET", "identity")
    assert identity["emulator"] == "ctcloud.cloud bundled emulator"
    assert identity["ct"] == {"api_url": emu.ct["api_url"], "auth_url": emu.ct["auth_url"]}
    assert identity["cthings"] == {"api_url": emu.cthings["api_url"], "auth_url": emu.cthings["auth_url"]}
    spelled_localhost = emu.session.get(emu.admin_url.replace("127.0.0.1", "localhost") + "/identity").json()
    assert spelled_localhost["ct"]["api_url"] == emu.ct["api_url"].replace("127.0.0.1", "localhost")
    assert emu.stats()["total"] == 0


def test_ct_grants_lists_every_issued_pair_revoked_ones_too_and_reset_forgets_them(emu):
    emu.configure(ct_rotation="strict")
    first = emu.ct_login()
    second = emu.ct_login()  # revokes the first pair at once (strict)
    issued = emu.admin("GET", "ct/grants")["issued"]
    assert [row["access_token"] for row in issued] == [first, second]
    assert issued[1]["refresh_token"] == emu.refresh_token
    assert all(row["grant_type"] == "refresh_token" and row["expires_in"] > 0 for row in issued)
    assert issued[0]["created_at"] <= issued[1]["created_at"]
    assert emu.stats()["requests"].get("GET /_admin/ct/grants") is None  # admin requests are not counted
    emu.admin("POST", "reset", {"tokens": True})
    assert emu.admin("GET", "ct/grants") == {"issued": []}
