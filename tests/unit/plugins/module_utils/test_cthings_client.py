# -*- coding: utf-8 -*-
# Copyright (c) ctcloud.cloud contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The cThings client: one token per credential across processes, the envelope, v3/v2 per endpoint."""

from __future__ import annotations

import base64
import json

import pytest

from ansible_collections.ctcloud.cloud.plugins.module_utils._api.cthings import CthingsClient
from ansible_collections.ctcloud.cloud.plugins.module_utils._api.errors import ApiError, AuthError, InputError
from ansible_collections.ctcloud.cloud.tests.unit.plugins.module_utils.conftest import run_workers
from ansible_collections.ctcloud.cloud.tests.unit.plugins.module_utils.fake_oauth_server import CTHINGS_CLIENT, Scripted, envelope

DEVICE_ID = "0f8fad5b-d9cb-469f-a165-70867728950e"
DEVICE_PATH = "/cthings-api/v3/device/" + DEVICE_ID


def client(fake, store_path, **overrides):
    options = {"api_url": fake.urls["cthings_api_url"], "auth_url": fake.urls["cthings_auth_url"], "client_id": CTHINGS_CLIENT[0],
               "client_secret": CTHINGS_CLIENT[1], "token_store": store_path, "timeout": 5}
    options.update(overrides)
    return CthingsClient.build(**options)


def test_two_processes_share_one_token_request(fake, store_path, tmp_path):
    fake.state.script("GET", DEVICE_PATH, Scripted(200, envelope({"id": DEVICE_ID, "name": "Meter"})))
    config = {"cloud": "cthings", "cthings_api_url": fake.urls["cthings_api_url"], "cthings_auth_url": fake.urls["cthings_auth_url"],
              "client_id": CTHINGS_CLIENT[0], "client_secret": CTHINGS_CLIENT[1], "store": store_path}
    first = run_workers(1, config, race=False)
    second = run_workers(1, config, race=False)
    assert [result[0] for result in first + second] == [0, 0], first + second
    assert json.loads(second[0][1])["result"]["name"] == "Meter"
    assert fake.state.token_requests["client_credentials"] == 1


def test_fifty_calls_cost_one_token_request(fake, store_path):
    fake.state.script("GET", DEVICE_PATH, Scripted(200, envelope({"id": DEVICE_ID, "name": "Meter"})))
    for _call in range(50):
        client(fake, store_path).get_device(DEVICE_ID)
    assert fake.state.token_requests["client_credentials"] == 1


def test_an_expired_token_is_renewed_on_401(fake, store_path):
    fake.state.script("GET", DEVICE_PATH, Scripted(200, envelope({"id": DEVICE_ID})))
    cthings = client(fake, store_path)
    cthings.get_device(DEVICE_ID)
    fake.state.cthings_tokens.clear()
    assert cthings.get_device(DEVICE_ID)["id"] == DEVICE_ID
    assert fake.state.token_requests["client_credentials"] == 2


def test_token_request_is_multipart_with_basic_auth_and_scope(fake, store_path):
    """The fake accepts only the seed's exact form; a successful call proves it was sent."""
    fake.state.script("GET", DEVICE_PATH, Scripted(200, envelope({"id": DEVICE_ID})))
    client(fake, store_path).get_device(DEVICE_ID)
    assert fake.state.token_errors == []


def test_wrong_secret_is_an_auth_error_without_the_secret(fake, store_path):
    with pytest.raises(AuthError, match="rejected client_id/client_secret") as caught:
        client(fake, store_path, client_secret="wrongSECRETvalue123").get_device(DEVICE_ID)
    assert "SECRET" not in str(caught.value) + json.dumps(caught.value.to_failure())


def test_a_wrong_secret_fails_at_once_even_while_a_stored_token_is_valid(fake, store_path):
    fake.state.script("GET", DEVICE_PATH, Scripted(200, envelope({"id": DEVICE_ID})))
    client(fake, store_path).get_device(DEVICE_ID)
    assert fake.state.token_requests["client_credentials"] == 1
    with pytest.raises(AuthError, match="rejected client_id/client_secret"):
        client(fake, store_path, client_secret="wrongSECRETvalue123").get_device(DEVICE_ID)
    assert fake.state.token_requests["client_credentials"] == 2
    # The store keeps a mark of the secret, never the secret; the right secret reuses the token again.
    with open(store_path, encoding="utf-8") as handle:
        assert CTHINGS_CLIENT[1] not in handle.read()
    client(fake, store_path).get_device(DEVICE_ID)
    assert fake.state.token_requests["client_credentials"] == 2


def test_readings_use_v2_and_devices_use_v3(fake, store_path):
    readings = f"/cthings-api/v2/device/{DEVICE_ID}/readings"
    fake.state.script("GET", readings, Scripted(200, envelope([{"dtm": "2017-07-01T12:30:00", "data": {}}])))
    cthings = client(fake, store_path)
    assert cthings.device_readings(DEVICE_ID, "2017-07-01T00:00:00", "2017-07-02T00:00:00")[0]["dtm"] == "2017-07-01T12:30:00"
    assert cthings.endpoint_url("device", device_id=DEVICE_ID).endswith("/v3/device/" + DEVICE_ID)


def test_readings_send_only_from_and_to_and_follow_links_when_there_are_some(fake, store_path):
    """The contract names from and to for readings, nothing else: no limit, no page (a strict server refuses them)."""
    readings = f"/cthings-api/v2/device/{DEVICE_ID}/readings"
    nxt = fake.urls["cthings_api_url"] + f"/v2/device/{DEVICE_ID}/readings?from=2017-07-01T00:00:00&to=2017-07-02T00:00:00&page=2"
    fake.state.script("GET", readings, Scripted(200, envelope([{"dtm": "2017-07-01T00:00:00", "data": {}}], {"next": nxt})),
                      Scripted(200, envelope([{"dtm": "2017-07-01T00:15:00", "data": {}}], {"next": None})))
    got = client(fake, store_path).device_readings(DEVICE_ID, "2017-07-01T00:00:00", "2017-07-02T00:00:00")
    assert [reading["dtm"] for reading in got] == ["2017-07-01T00:00:00", "2017-07-01T00:15:00"]
    sent = [query for method, path, query in fake.state.queries if path == readings]
    assert sent[0] == {"from": ["2017-07-01T00:00:00"], "to": ["2017-07-02T00:00:00"]}
    assert sent[1] == {"from": ["2017-07-01T00:00:00"], "to": ["2017-07-02T00:00:00"], "page": ["2"]}  # the server's own link


def test_the_device_list_asks_for_large_pages_because_the_contract_names_limit(fake, store_path):
    fake.state.script("GET", "/cthings-api/v3/device", Scripted(200, envelope([], {"next": None})))
    client(fake, store_path).list_devices(active=True)
    assert [query for method, path, query in fake.state.queries if path == "/cthings-api/v3/device"] == [{"active": ["true"], "limit": ["1000"]}]
    assert [query for method, path, query in fake.state.queries if path == DEVICE_PATH] == []


def test_a_parameter_the_contract_does_not_name_never_leaves(fake, store_path):
    with pytest.raises(ValueError, match="names no query parameter limit for the device_readings endpoint"):
        client(fake, store_path).collect("device_readings", {"from": "a", "to": "b", "limit": 5}, device_id=DEVICE_ID)
    assert fake.state.requests == []


def test_a_link_to_another_origin_is_not_followed(fake, store_path):
    readings = f"/cthings-api/v2/device/{DEVICE_ID}/readings"
    elsewhere = f"http://user:pw@127.0.0.2:1/v2/device/{DEVICE_ID}/readings?page=2"
    fake.state.script("GET", readings, Scripted(200, envelope([{"dtm": "2017-07-01T00:00:00", "data": {}}], {"next": elsewhere})))
    with pytest.raises(ApiError, match=r"page link outside api_url \(http://127\.0\.0\.2:1/.*not followed, so the access token is not sent there") as caught:
        client(fake, store_path).device_readings(DEVICE_ID, "2017-07-01T00:00:00", "2017-07-02T00:00:00")
    assert "pw" not in str(caught.value)
    assert fake.state.count("GET", readings) == 1


def test_envelope_errors_carry_the_api_message(fake, store_path):
    fake.state.script("GET", DEVICE_PATH, Scripted(404, envelope(None, code=404, message="Device not found")))
    with pytest.raises(ApiError, match="Device not found") as caught:
        client(fake, store_path).get_device(DEVICE_ID)
    assert caught.value.status == 404


def test_a_reply_without_the_envelope_is_a_clear_error(fake, store_path):
    fake.state.script("GET", DEVICE_PATH, Scripted(200, {"id": DEVICE_ID}))
    with pytest.raises(ApiError, match="unexpected reply shape at the top level: 'code' is a required property"):
        client(fake, store_path).get_device(DEVICE_ID)


def test_malformed_device_id_fails_before_any_request(fake, store_path):
    with pytest.raises(InputError, match="must be a UUID"):
        client(fake, store_path).get_device("not-a-uuid")
    assert fake.state.requests == []


def test_device_list_follows_links_concurrently(fake, store_path):
    base = fake.urls["cthings_api_url"] + "/v3/device"

    def page(number, last=3):
        links = {"self": f"{base}?page={number}&limit=2", "last": f"{base}?page={last}&limit=2",
                 "next": f"{base}?page={number + 1}&limit=2" if number < last else None}
        return envelope([{"id": f"{number * 10 + i:08d}-0000-4000-8000-000000000000"} for i in range(2)], links)

    cthings = client(fake, store_path)
    calls = []

    def fake_get(url, params=None):
        calls.append(url)
        number = int(url.split("page=")[1].split("&")[0]) if "page=" in url else 1
        return page(number)

    cthings.get_envelope = fake_get
    devices = cthings.list_devices()
    assert len(devices) == 6 and len({d["id"] for d in devices}) == 6
    assert len(calls) == 3


def test_the_basic_credentials_and_a_stored_token_are_redacted(fake, store_path):
    """A server echoing the request (headers included) must not make the error show a credential in any spelling."""
    fake.state.script("GET", DEVICE_PATH, Scripted(200, envelope({"id": DEVICE_ID})))
    client(fake, store_path).get_device(DEVICE_ID)  # another process obtains and stores the token
    with open(store_path) as handle:
        access_token = next(iter(json.load(handle)["entries"].values()))["access_token"]
    basic = base64.b64encode(f"{CTHINGS_CLIENT[0]}:{CTHINGS_CLIENT[1]}".encode()).decode()
    echo = f"echo: Authorization: Bearer {access_token}; earlier Basic {basic}"
    fake.state.script("GET", DEVICE_PATH, Scripted(500, envelope(None, code=500, message=echo)))
    cthings = client(fake, store_path)
    with pytest.raises(ApiError) as caught:
        cthings.get_device(DEVICE_ID)
    shown = str(caught.value) + json.dumps(caught.value.to_failure())
    assert access_token not in shown and basic not in shown, shown
    assert basic in cthings.secrets()


def test_a_renewed_token_rejected_again_is_renewed_again_like_ct(fake, store_path):
    """The 401 rule is one mechanism for both clouds (oauth.send_with_token), bounded the same way."""
    fake.state.script("GET", DEVICE_PATH, Scripted(200, envelope({"id": DEVICE_ID})))
    cthings = client(fake, store_path)
    cthings.get_device(DEVICE_ID)
    fake.state.cthings_tokens.clear()
    renew = cthings.auth.token_after_rejection
    renewals = {"count": 0}

    def renew_then_expire(rejected):
        renewals["count"] += 1
        token = renew(rejected)
        if renewals["count"] <= 2:  # another fork's request finds it expired before ours uses it
            fake.state.cthings_tokens.clear()
        return token

    cthings.auth.token_after_rejection = renew_then_expire
    assert cthings.get_device(DEVICE_ID)["id"] == DEVICE_ID
    assert renewals["count"] == 3
