"""The dashboard dialect: CT and cThings as the vendor's dashboard shows them (docs/api-contract.md, "Corrections").

Each test names the behaviour of ctcloud_emulator/dialects.py it proves; the legacy
dialect's side of the same behaviour is in the other test files (the `emu` fixture).
"""

from __future__ import annotations

import socket
import urllib.parse

import pytest
import requests

NEW = {"location_name": "Harbour Light Cafe", "location_address": "2 Quay Street", "town": "Whitby", "postcode": "YO21 3PU", "country": "gb"}
TIME_BATCH = {
    "batch_name": "Harbour Day Passes", "batch_description": "One day", "quantity": 10, "access_type": 1,
    "validity_minutes": 1440, "session_timeout": 60, "length": 8, "splash_page_id": "external",
}


def create(client, expected=201, **fields):
    return client.ct_json("POST", "/locations", expected, json={"location": {**NEW, **fields}})


# ---- location replies ---------------------------------------------------------------------------------------


def test_location_replies_carry_archived_and_no_state(dash):
    created = create(dash)
    assert "state" not in created and created["archived"] == 0
    archived = dash.ct_json("PATCH", f"/locations/{created['id']}", json={"location": {"state": "archived"}})
    assert "state" not in archived and archived["archived"] == 1
    assert dash.ct_json("GET", f"/locations/{created['slug']}")["archived"] == 1
    listed = dash.ct_json("GET", "/locations", params={"location_name": NEW["location_name"]})["locations"]
    assert [(item["id"], item["archived"]) for item in listed] == [(created["id"], True)]
    assert all("state" not in item for item in dash.ct_json("GET", "/locations", params={"per": 100})["locations"])


def test_the_admin_state_keeps_the_canonical_shape(dash):
    created = create(dash)
    dumped = next(item for item in dash.admin("GET", "state?without=devices")["locations"] if item["id"] == created["id"])
    assert (dumped["state"], dumped["archived"]) == ("active", False)


# ---- finding by name, and the lagging search index ----------------------------------------------------------


def test_location_name_is_exact_and_immediate_while_q_lags(dash):
    dash.configure(search_lag=600)
    created = create(dash)
    by_name = dash.ct_json("GET", "/locations", params={"location_name": NEW["location_name"]})["locations"]
    assert [item["id"] for item in by_name] == [created["id"]]
    assert dash.ct_json("GET", "/locations", params={"location_name": NEW["location_name"].lower()})["locations"] == []
    assert dash.ct_json("GET", "/locations", params={"q": "Harbour Light Cafe"})["locations"] == []
    dash.configure(search_lag=0)  # the index has caught up
    found = dash.ct_json("GET", "/locations", params={"q": "harbour light cafe"})["locations"]
    assert found[0]["id"] == created["id"]


def test_q_matches_words_and_ranks_them_not_substrings(dash):
    dash.configure(search_lag=0)
    both = create(dash, location_name="Quokka Wombat Lounge")["id"]
    one = create(dash, location_name="Quokka Tea Rooms")["id"]
    create(dash, location_name="Quokkas Everywhere")
    found = [item["id"] for item in dash.ct_json("GET", "/locations", params={"q": "wombat QUOKKA", "per": 100})["locations"]]
    assert found[:2] == [both, one]  # two shared words rank above one; "Quokkas" is another word
    assert len(found) == 2


def test_a_write_reaches_the_index_after_the_lag_and_a_delete_leaves_it(dash):
    dash.configure(search_lag=600)
    seeded = dash.ct_json("GET", "/locations")["locations"][0]
    old_word = seeded["location_name"].split()[0]
    renamed = dash.ct_json("PATCH", f"/locations/{seeded['id']}", json={"location": {"location_name": "Zanzibar Quayside Hall"}})
    assert dash.ct_json("GET", "/locations", params={"q": "Zanzibar"})["locations"] == []
    # Found by its old words, shown as it is now: the database answers, the index only chose.
    old = dash.ct_json("GET", "/locations", params={"q": old_word, "per": 100})["locations"]
    assert renamed in [dict(item, archived=int(item["archived"])) for item in old]
    dash.configure(search_lag=0)
    assert [item["id"] for item in dash.ct_json("GET", "/locations", params={"q": "Zanzibar"})["locations"]] == [seeded["id"]]


def test_batch_name_is_exact_and_immediate_while_q_lags(dash):
    dash.configure(search_lag=600)
    location = dash.ct_json("GET", "/locations")["locations"][0]
    path = f"/locations/{location['id']}/vouchers"
    voucher = dash.ct_json("POST", path, 201, json={"voucher": TIME_BATCH})
    exact = dash.ct_json("GET", path, params={"batch_name": TIME_BATCH["batch_name"]})["vouchers"]
    assert [item["unique_id"] for item in exact] == [voucher["unique_id"]]
    assert dash.ct_json("GET", path, params={"q": "Harbour"})["vouchers"] == []
    dash.configure(search_lag=0)
    assert [item["unique_id"] for item in dash.ct_json("GET", path, params={"q": "harbour"})["vouchers"]] == [voucher["unique_id"]]


# ---- slugs and deletes ----------------------------------------------------------------------------------------


def test_a_rename_changes_the_slug_and_the_old_one_finds_nothing(dash):
    state = dash.admin("GET", "state?without=devices")
    location = next(loc for loc in state["locations"] if any(box["location_id"] == loc["id"] for box in state["boxes"]))
    renamed = dash.ct_json("PATCH", f"/locations/{location['id']}", json={"location": {"location_name": "Renamed Beacon Hall"}})
    assert renamed["slug"] != location["slug"] and renamed["slug"].startswith("renamed-beacon-hall-")
    assert dash.ct_request("GET", f"/locations/{location['slug']}").status_code == 404
    assert dash.ct_json("GET", f"/locations/{renamed['slug']}")["id"] == location["id"]
    boxes = dash.ct_json("GET", "/boxes", params={"location_id": renamed["slug"], "per": 100})["boxes"]
    assert boxes and {box["location_slug"] for box in boxes} == {renamed["slug"]}
    assert dash.ct_json("GET", "/boxes", params={"location_id": location["slug"]})["boxes"] == []


def test_a_location_with_session_data_is_not_deleted(dash):
    seeded = next(loc for loc in dash.admin("GET", "state?without=devices")["locations"] if loc["clients_total"] > 0)
    body = dash.ct_json("DELETE", f"/locations/{seeded['id']}", 422)
    assert body == {"errors": ["You cannot delete a location with session data."]}
    assert dash.ct_json("GET", f"/locations/{seeded['id']}")["id"] == seeded["id"]
    assert dash.stats()["writes"]["locations"]["DELETE"] == 0
    dash.admin("POST", f"ct/locations/{seeded['id']}", {"clients_total": 0})
    assert dash.ct_request("DELETE", f"/locations/{seeded['id']}").status_code == 204
    created = create(dash)
    assert dash.ct_request("DELETE", f"/locations/{created['id']}").status_code == 204  # a new location has no sessions


def test_admin_location_fields_are_checked(dash):
    location = dash.ct_json("GET", "/locations")["locations"][0]
    response = dash.session.post(f"{dash.admin_url}/ct/locations/{location['id']}", json={"no_such_field": 1})
    assert response.status_code == 400 and "no_such_field" in response.json()["error"]
    assert dash.session.post(f"{dash.admin_url}/ct/locations/999999", json={"clients_total": 0}).status_code == 404


# ---- boxes ------------------------------------------------------------------------------------------------------


def test_boxes_have_integer_ids_and_allowed_job(dash):
    boxes = dash.ct_json("GET", "/boxes", params={"per": 100})["boxes"]
    assert all(isinstance(box["id"], int) for box in boxes)
    assert all(box["allowed_job"] is (box["state"] != "offline") for box in boxes)
    dumped = dash.admin("GET", "state?without=devices")["boxes"]
    assert [box["id"] for box in dumped] == [str(box["id"]) for box in boxes]  # the dump keeps digit strings


def test_a_rebooting_box_allows_no_job_until_it_is_back(dash):
    box = next(box for box in dash.ct_json("GET", "/boxes", params={"per": 100})["boxes"] if box["state"] == "online")
    dash.configure(reboot_delay=600)
    rebooting = dash.ct_json("PATCH", f"/boxes/{box['slug']}", json={"box": {"action": "reboot"}})
    assert (rebooting["state"], rebooting["allowed_job"], rebooting["id"]) == ("rebooting", False, box["id"])
    cancelled = dash.ct_json("PATCH", f"/boxes/{box['slug']}", json={"box": {"action": "cancel"}})
    assert (cancelled["state"], cancelled["allowed_job"]) == ("online", True)
    dash.configure(reboot_delay=0)
    dash.ct_json("PATCH", f"/boxes/{box['slug']}", json={"box": {"action": "reboot"}})
    back = dash.ct_json("GET", f"/boxes/{box['slug']}")
    assert (back["state"], back["allowed_job"], back["uptime_seconds"]) == ("online", True, 0)


def test_an_action_on_an_offline_box_is_accepted_and_changes_nothing_now(dash):
    box = next(box for box in dash.ct_json("GET", "/boxes", params={"per": 100})["boxes"] if box["state"] == "online")
    offline = dash.admin("POST", f"ct/boxes/{box['slug']}", {"state": "offline", "is_online": False})
    assert offline["allowed_job"] is False  # as the dashboard's heartbeat sets it
    reply = dash.ct_json("PATCH", f"/boxes/{box['slug']}", json={"box": {"action": "reboot"}})
    assert (reply["state"], reply["allowed_job"]) == ("offline", False)
    assert dash.stats()["writes"]["boxes"]["PATCH"] == 1
    held = dash.admin("POST", f"ct/boxes/{box['slug']}", {"state": "online", "is_online": True, "allowed_job": False})
    assert (held["state"], held["allowed_job"]) == ("online", False)


# ---- tokens ------------------------------------------------------------------------------------------------------


def test_every_token_error_answers_401(dash):
    for fields, error in (
        ({"grant_type": "refresh_token", "refresh_token": "no-such-token"}, "invalid_grant"),
        ({"grant_type": "password"}, "unsupported_grant_type"),
        ({"grant_type": "refresh_token"}, "invalid_request"),
        ({"grant_type": "refresh_token", "refresh_token": "x", "client_secret": "wrong"}, "invalid_client"),
    ):
        response = dash.ct_token_request(**fields)
        assert (response.status_code, response.json()["error"]) == (401, error)


@pytest.mark.parametrize("rotation", ["on_use", "strict"])
def test_a_lost_refresh_reply_made_the_grant(dash, rotation):
    """The grant happens, the reply never arrives: strictly rotating, the old refresh token is gone with it."""
    dash.configure(ct_rotation=rotation, lose_refresh_replies=1)
    with pytest.raises(requests.exceptions.ConnectionError):
        dash.ct_refresh(dash.refresh_token)
    assert dash.stats()["token_requests"]["ct"]["refresh_token"] == 1
    again = dash.ct_refresh(dash.refresh_token)
    assert again.status_code == (200 if rotation == "on_use" else 401), again.text


def test_a_lost_reply_closes_the_connection_without_a_byte(dash):
    dash.configure(lose_refresh_replies=1)
    auth = urllib.parse.urlsplit(dash.ct["auth_url"])
    form = urllib.parse.urlencode({"grant_type": "refresh_token", "refresh_token": dash.refresh_token,
                                   "client_id": dash.ct["client_id"], "client_secret": dash.ct["client_secret"]})
    request = (f"POST {auth.path}/oauth/token HTTP/1.1\r\nHost: {auth.netloc}\r\nContent-Type: application/x-www-form-urlencoded\r\n"
               f"Content-Length: {len(form)}\r\n\r\n{form}").encode()
    with socket.create_connection((auth.hostname, auth.port), timeout=10) as connection:
        connection.sendall(request)
        assert connection.recv(1024) == b""


# ---- cThings ---------------------------------------------------------------------------------------------------------


def test_cthings_refuses_parameters_the_contract_does_not_name(dash):
    device = dash.cthings_get("/v3/device").json()["data"][0]
    readings = f"/v2/device/{device['id']}/readings"
    window = {"from": "2023-11-01T00:00:00", "to": "2023-11-02T00:00:00"}
    for path, params, unknown in (
        (readings, {**window, "limit": 1000}, "limit"),
        (readings, {**window, "page": 2}, "page"),
        (f"/v3/device/{device['id']}", {"expand": "all"}, "expand"),
        ("/v3/device", {"sort": "name"}, "sort"),
    ):
        response = dash.cthings_get(path, params=params)
        assert response.status_code == 422, (path, params)
        assert response.json()["message"] == f"Unknown query parameter: {unknown}."
    assert dash.cthings_get("/v3/device", params={"page": 2, "limit": 5, "active": "true"}).status_code == 200


def test_readings_come_whole_without_links(dash):
    device = dash.cthings_get("/v3/device").json()["data"][0]
    body = dash.cthings_get(f"/v2/device/{device['id']}/readings", params={"from": "2023-11-01T00:00:00", "to": "2023-11-08T00:00:00"}).json()
    interval = device["dataInterval"]
    assert body["links"] == {}
    assert len(body["data"]) == 7 * 24 * 60 // interval
