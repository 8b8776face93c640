# -*- coding: utf-8 -*-
# Copyright (c) ctcloud.cloud contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The CT client's token handling: rotation, the store, forks, 401 renewal, secrets."""

from __future__ import annotations

import json
import os
import stat

import pytest

from ansible_collections.ctcloud.cloud.plugins.module_utils._api import ct as ct_module
from ansible_collections.ctcloud.cloud.plugins.module_utils._api import oauth
from ansible_collections.ctcloud.cloud.plugins.module_utils._api.ct import CtClient, digest
from ansible_collections.ctcloud.cloud.plugins.module_utils._api.errors import ApiError, AuthError, CtCloudError, InputError
from ansible_collections.ctcloud.cloud.plugins.module_utils._api.schemas import CT_LOCATION_LIST
from ansible_collections.ctcloud.cloud.tests.unit.plugins.module_utils.conftest import run_workers
from ansible_collections.ctcloud.cloud.tests.unit.plugins.module_utils.fake_oauth_server import (
    CT_CLIENT,
    INITIAL_REFRESH,
    FakeServer,
    Scripted,
)

PING = "/ct-api/api/v1/ping.json"


def client(fake, store_path, **overrides):
    options = {
        "api_url": fake.urls["ct_api_url"], "auth_url": fake.urls["ct_auth_url"], "client_id": CT_CLIENT[0],
        "client_secret": CT_CLIENT[1], "refresh_token": INITIAL_REFRESH, "token_store": store_path, "timeout": 5,
    }
    options.update(overrides)
    return CtClient.build(**options)


def worker_config(fake, store_path, **overrides):
    config = {"cloud": "ct", "ct_api_url": fake.urls["ct_api_url"], "ct_auth_url": fake.urls["ct_auth_url"], "client_id": CT_CLIENT[0],
              "client_secret": CT_CLIENT[1], "refresh_token": INITIAL_REFRESH, "store": store_path}
    config.update(overrides)
    return config


def stored(store_path):
    """The client's refresh chain and its API's access token as one dict (the store keeps two entries)."""
    with open(store_path) as handle:
        entries = {key: entry for key, entry in json.load(handle)["entries"].items() if key.startswith("ct|")}
    assert len(entries) <= 2, entries
    merged = {}
    for key in sorted(entries, key=len):  # the chain's key is a prefix of the access token's
        merged.update(entries[key])
    return merged


def test_first_request_refreshes_once_and_persists_the_rotated_token(fake, store_path):
    fake.state.script("GET", PING, Scripted(200, {"ping": "pong"}))
    ct = client(fake, store_path)
    assert ct.request("GET", "ping.json") == {"ping": "pong"}
    assert ct.request("GET", "ping.json") == {"ping": "pong"}
    assert fake.state.token_requests["refresh_token"] == 1
    entry = stored(store_path)
    assert entry["refresh_token"] != INITIAL_REFRESH
    assert entry["refresh_token"] in fake.state.valid_refresh_tokens()
    # The initial token was revoked by the first use of the new access token (Doorkeeper's default).
    assert INITIAL_REFRESH not in fake.state.valid_refresh_tokens()
    assert digest(INITIAL_REFRESH) in entry["lineage"]


def test_the_same_initial_refresh_token_keeps_working_after_rotation(fake, store_path):
    """The CI-secret case: every run passes the original token; the store continues its chain."""
    fake.state.script("GET", PING, Scripted(200, {"ping": "pong"}))
    for _run in range(3):
        ct = client(fake, store_path)
        ct.request("GET", "ping.json")
        fake.state.revoke_all_access()  # the access token "expires without notice" between runs
    assert fake.state.token_requests["refresh_token"] == 3
    assert fake.state.token_errors == []
    assert stored(store_path)["refresh_token"] in fake.state.valid_refresh_tokens()


def test_401_renews_the_token_once_and_resends(fake, store_path):
    fake.state.script("GET", PING, Scripted(200, {"ping": "pong"}))
    ct = client(fake, store_path)
    ct.request("GET", "ping.json")
    fake.state.revoke_all_access()
    assert ct.request("GET", "ping.json") == {"ping": "pong"}
    assert fake.state.token_requests["refresh_token"] == 2
    assert fake.state.count("GET", PING) == 3  # ok, 401, ok


def test_a_401_on_a_post_is_resent_because_nothing_was_processed(fake, store_path):
    fake.state.script("GET", PING, Scripted(200, {"ping": "pong"}))
    fake.state.script("POST", "/ct-api/api/v1/locations", Scripted(201, {"id": "7", "location_name": "Seven"}))
    ct = client(fake, store_path)
    ct.request("GET", "ping.json")
    fake.state.revoke_all_access()
    assert ct.request("POST", "locations", body={"location": {"location_name": "Seven"}})["id"] == "7"
    assert fake.state.count("POST", "/ct-api/api/v1/locations") == 2


def test_twenty_processes_refreshing_at_once_all_succeed_with_one_refresh(strict_fake, store_path, tmp_path):
    """Strict rotation makes any second refresh with the same token fail: the lock must prevent it."""
    strict_fake.state.script("GET", PING, Scripted(200, {"ping": "pong"}))
    results = run_workers(20, worker_config(strict_fake, store_path), tmp_dir=str(tmp_path))
    assert [result[0] for result in results] == [0] * 20, results
    assert strict_fake.state.token_requests["refresh_token"] == 1
    assert strict_fake.state.token_errors == []
    assert stat.S_IMODE(os.stat(store_path).st_mode) == 0o600
    assert stored(store_path)["refresh_token"] in strict_fake.state.valid_refresh_tokens()


def test_twenty_processes_with_a_revoked_access_token_renew_it_once(strict_fake, store_path, tmp_path):
    strict_fake.state.script("GET", PING, Scripted(200, {"ping": "pong"}))
    client(strict_fake, store_path).request("GET", "ping.json")
    strict_fake.state.revoke_all_access()
    results = run_workers(20, worker_config(strict_fake, store_path), tmp_dir=str(tmp_path))
    assert [result[0] for result in results] == [0] * 20, results
    assert strict_fake.state.token_requests["refresh_token"] == 2
    assert strict_fake.state.token_errors == []
    assert stored(store_path)["refresh_token"] in strict_fake.state.valid_refresh_tokens()


def test_killed_between_token_received_and_stored_the_next_run_still_authenticates(fake, store_path, tmp_path):
    """Doorkeeper revokes the old refresh token only when the NEW access token is first used.
    The client stores before it uses, so a process killed in between never used it."""
    fake.state.script("GET", PING, Scripted(200, {"ping": "pong"}))
    [(code, _out, _err)] = run_workers(1, worker_config(fake, store_path, kill_before_store=True), race=False)
    assert code == -9  # SIGKILL inside the store write
    assert fake.state.token_requests["refresh_token"] == 1
    assert not os.path.exists(store_path)
    assert client(fake, store_path).request("GET", "ping.json") == {"ping": "pong"}
    assert fake.state.token_errors == []


def test_with_strict_rotation_the_kill_window_loses_the_chain_and_says_how_to_recover(strict_fake, store_path):
    """Documents why the store-before-use order matters: under strict rotation (not Doorkeeper's
    default) the window between receipt and fsync cannot be closed by any client."""
    strict_fake.state.script("GET", PING, Scripted(200, {"ping": "pong"}))
    [(code, _out, _err)] = run_workers(1, worker_config(strict_fake, store_path, kill_before_store=True), race=False)
    assert code == -9
    with pytest.raises(AuthError, match=r"invalid_grant.*ct_auth"):
        client(strict_fake, store_path).request("GET", "ping.json")


def test_falls_back_to_the_given_token_when_the_stored_chain_was_revoked(fake, store_path):
    fake.state.script("GET", PING, Scripted(200, {"ping": "pong"}))
    client(fake, store_path).request("GET", "ping.json")
    # The server forgot the chain (e.g. an emulator restarted) but the given token is valid again.
    fake.state.grants = {INITIAL_REFRESH: {"access": None, "previous": None, "revoked": False}}
    fake.state.revoke_all_access()
    assert client(fake, store_path).request("GET", "ping.json") == {"ping": "pong"}


def test_a_new_refresh_token_starts_a_new_chain(fake, store_path):
    fake.state.script("GET", PING, Scripted(200, {"ping": "pong"}))
    client(fake, store_path).request("GET", "ping.json")
    other = fake.state.valid_refresh_tokens()[0]  # e.g. from a second browser bootstrap
    fake.state.revoke_all_access()
    client(fake, store_path, refresh_token=other).request("GET", "ping.json")
    assert digest(other) in stored(store_path)["lineage"]


def test_code_exchange_stores_tokens_usable_without_a_given_refresh_token(fake, store_path):
    fake.state.script("GET", PING, Scripted(200, {"ping": "pong"}))
    ct = client(fake, store_path, refresh_token=None)
    _url, state = ct.auth.begin_authorization("https://localhost/callback", pkce=False)
    ct.auth.exchange_code("good-code", "https://localhost/callback", state)
    assert ct.request("GET", "ping.json") == {"ping": "pong"}
    assert fake.state.token_requests == {"refresh_token": 0, "authorization_code": 1, "client_credentials": 0}
    with pytest.raises(InputError, match="state does not match"):  # the state is used up with its code
        ct.auth.exchange_code("good-code", "https://localhost/callback", state)
    _url, state = ct.auth.begin_authorization("https://localhost/callback", pkce=False)
    with pytest.raises(AuthError, match="authorization code"):
        ct.auth.exchange_code("good-code", "https://localhost/callback", state)


def test_missing_refresh_token_is_an_input_error_before_any_request(fake, store_path):
    with pytest.raises(InputError, match="no CT refresh token"):
        client(fake, store_path, refresh_token=None).request("GET", "ping.json")
    assert fake.state.requests == []


def test_a_wrong_secret_fails_at_once_even_while_a_stored_token_is_valid(fake, store_path):
    fake.state.script("GET", PING, Scripted(200, {"ping": "pong"}))
    client(fake, store_path).request("GET", "ping.json")
    assert fake.state.token_requests["refresh_token"] == 1
    with pytest.raises(AuthError, match=r"CT rejected client_id/client_secret \(invalid_client\)"):
        client(fake, store_path, client_secret="wrong-SECRET-value").request("GET", "ping.json")
    assert stored(store_path)["secret_mark"] not in (None, CT_CLIENT[1])
    client(fake, store_path).request("GET", "ping.json")  # the right secret: the stored token again
    assert fake.state.token_requests["refresh_token"] == 2


def test_missing_client_secret_is_an_input_error(fake, store_path):
    with pytest.raises(InputError, match="client_secret"):
        client(fake, store_path, client_secret=None)


def test_static_access_token_is_used_as_is_and_a_401_says_so(fake, store_path):
    fake.state.script("GET", PING, Scripted(200, {"ping": "pong"}))
    ct = client(fake, store_path, refresh_token=None, access_token="static-SECRET-token")
    with pytest.raises(AuthError, match="no refresh token was given"):
        ct.request("GET", "ping.json")
    assert fake.state.token_requests["refresh_token"] == 0


def test_validation_errors_keep_the_fields(fake, store_path):
    fake.state.script("POST", "/ct-api/api/v1/locations", Scripted(422, {"errors": {"postcode": ["is too long (maximum is 8 characters)"]}}))
    with pytest.raises(ApiError, match="postcode is too long") as caught:
        client(fake, store_path).request("POST", "locations", body={"location": {}})
    assert caught.value.status == 422


def test_list_all_reads_every_page(fake, store_path):
    pages = {
        1: {"locations": [{"id": "1", "location_name": "One"}], "_links": {"current_page": 1, "total_pages": 2, "next_page": 2}},
        2: {"locations": [{"id": "2", "location_name": "Two"}], "_links": {"current_page": 2, "total_pages": 2, "next_page": None}},
    }
    ct = client(fake, store_path)
    ct.request = lambda method, segments, params=None, body=None, schema=None, replay_safe=None: pages[params["page"]]
    assert [loc["id"] for loc in ct.list_all("locations", "locations", CT_LOCATION_LIST)] == ["1", "2"]


def test_secrets_never_appear_in_any_error(fake, store_path):
    fake.state.script("GET", PING, Scripted(500, {"message": "echo: Bearer {}".format("access-000001-SECRET")}))
    failures = []
    cases = [
        {"client_secret": "wrong-SECRET-value"},  # invalid_client
        {"refresh_token": "revoked-SECRET-token"},  # invalid_grant
        {},  # the API echoes the access token in a 500
    ]
    for overrides in cases:
        with pytest.raises(CtCloudError) as caught:
            client(fake, store_path, **overrides).request("GET", "ping.json")
        failures.append(caught.value)
    for failure in failures:
        shown = str(failure) + json.dumps(failure.to_failure())
        assert "SECRET" not in shown, shown
        assert CT_CLIENT[1] not in shown and INITIAL_REFRESH not in shown


def test_the_initial_refresh_token_keeps_working_after_more_rotations_than_the_lineage_holds(fake, store_path, monkeypatch):
    """The CI secret is the root of its chain: it must stay recognised however long the chain grows."""
    monkeypatch.setattr(ct_module, "LINEAGE_LENGTH", 5)
    fake.state.script("GET", PING, Scripted(200, {"ping": "pong"}))
    for _run in range(12):
        client(fake, store_path).request("GET", "ping.json")
        fake.state.revoke_all_access()
    assert fake.state.token_errors == []
    lineage = stored(store_path)["lineage"]
    assert len(lineage) == 5 and len(set(lineage)) == 5
    assert lineage[0] == digest(INITIAL_REFRESH)
    assert lineage[-1] == digest(stored(store_path)["refresh_token"])


def test_an_empty_refresh_token_is_no_token_and_the_stored_chain_is_used(fake, store_path):
    """CT_REFRESH_TOKEN="" (a CI secret that is not set) must not hide what ct_auth stored."""
    fake.state.script("GET", PING, Scripted(200, {"ping": "pong"}))
    auth = client(fake, store_path, refresh_token=None).auth
    auth.exchange_code("good-code", "https://localhost/callback", auth.begin_authorization("https://localhost/callback", pkce=False)[1])
    fake.state.revoke_all_access()
    assert client(fake, store_path, refresh_token="").request("GET", "ping.json") == {"ping": "pong"}
    assert fake.state.token_requests["refresh_token"] == 1


def revoking_again_after_renewal(fake, ct, times):
    """The renewed access token dies before its first use ``times`` times (another fork's request found
    every token expired, as the emulator's revoke_every does): the client must renew again."""
    renew = ct.auth.token_after_rejection
    calls = {"count": 0}

    def renew_then_revoke(rejected):
        token = renew(rejected)
        calls["count"] += 1
        if calls["count"] <= times:
            fake.state.revoke_all_access()
        return token

    ct.auth.token_after_rejection = renew_then_revoke
    return calls


def test_a_renewed_token_revoked_again_before_use_is_renewed_again(fake, store_path):
    fake.state.script("GET", PING, Scripted(200, {"ping": "pong"}))
    ct = client(fake, store_path)
    ct.request("GET", "ping.json")
    fake.state.revoke_all_access()
    calls = revoking_again_after_renewal(fake, ct, times=2)
    assert ct.request("GET", "ping.json") == {"ping": "pong"}
    assert calls["count"] == 3
    assert fake.state.count("GET", PING) == 1 + 4  # ok, then 401, 401, 401, ok
    assert fake.state.token_errors == []


def test_a_server_rejecting_every_renewed_token_fails_after_a_bounded_number_of_renewals(fake, store_path):
    fake.state.script("GET", PING, Scripted(200, {"ping": "pong"}))
    ct = client(fake, store_path)
    ct.request("GET", "ping.json")
    fake.state.revoke_all_access()
    calls = revoking_again_after_renewal(fake, ct, times=1000)
    with pytest.raises(AuthError, match="CT rejected a freshly issued access token"):
        ct.request("GET", "ping.json")
    assert calls["count"] == oauth.TOKEN_RENEWALS
    assert fake.state.count("GET", PING) == 1 + 1 + oauth.TOKEN_RENEWALS


def test_a_stored_access_token_echoed_by_the_api_is_redacted_in_a_process_that_did_not_obtain_it(fake, store_path):
    """Another process (an earlier task, a fork) got the token; this one only read it from the store."""
    fake.state.script("GET", PING, Scripted(200, {"ping": "pong"}))
    client(fake, store_path).request("GET", "ping.json")
    access_token = stored(store_path)["access_token"]
    fake.state.script("GET", PING, Scripted(500, {"message": f"cannot serve Bearer {access_token}"}))
    with pytest.raises(ApiError) as caught:
        client(fake, store_path).request("GET", "ping.json")
    shown = str(caught.value) + json.dumps(caught.value.to_failure())
    assert access_token not in shown and "cannot serve Bearer ********" in shown


def test_the_stored_refresh_token_sent_by_this_process_is_among_its_secrets(fake, store_path):
    fake.state.script("GET", PING, Scripted(200, {"ping": "pong"}))
    client(fake, store_path).request("GET", "ping.json")
    fake.state.revoke_all_access()
    stored_refresh = stored(store_path)["refresh_token"]
    ct = client(fake, store_path)
    ct.request("GET", "ping.json")  # refreshes with the stored token, not the given one
    assert stored_refresh in ct.secrets()


# -- Doorkeeper as CT may really run it: every token error 401, the old refresh token revoked at refresh ----------


def test_token_errors_answered_401_are_decided_by_their_error(store_path):
    """Older Doorkeeper answers invalid_grant with 401: the stored chain's revoked token still falls back to the given one."""
    with FakeServer(token_error_status=401) as server:
        server.state.script("GET", PING, Scripted(200, {"ping": "pong"}))
        client(server, store_path).request("GET", "ping.json")
        server.state.grants = {INITIAL_REFRESH: {"access": None, "previous": None, "revoked": False}}  # the stored chain is gone
        server.state.revoke_all_access()
        assert client(server, store_path).request("GET", "ping.json") == {"ping": "pong"}
        assert server.state.token_errors == ["invalid_grant"]
        with pytest.raises(AuthError, match=r"CT rejected the refresh token \(invalid_grant\).*ct_auth"):
            client(store_path=str(store_path) + ".other", fake=server, refresh_token="unknown-SECRET-token").request("GET", "ping.json")
        with pytest.raises(AuthError, match=r"CT rejected client_id/client_secret \(invalid_client\)"):
            client(server, str(store_path) + ".third", client_secret="wrong-SECRET-value").request("GET", "ping.json")
        with pytest.raises(AuthError, match=r"authorization code \(invalid_grant\)"):
            fourth = client(server, str(store_path) + ".fourth", refresh_token=None).auth
            _url, state = fourth.begin_authorization("https://localhost/callback", pkce=False)
            fourth.exchange_code("no-such-code", "https://localhost/callback", state)


@pytest.mark.parametrize("rotation", ["on_use", "strict"])
def test_a_refresh_whose_reply_is_lost_is_sent_again(store_path, rotation):
    """Revoking on use, the old refresh token still works and the second try gets in; revoking at refresh, it is dead,
    and the failure says so and how to recover, instead of a bare invalid_grant."""
    with FakeServer(rotation=rotation, token_error_status=401 if rotation == "strict" else None) as server:
        server.state.script("GET", PING, Scripted(200, {"ping": "pong"}))
        server.state.lose_refresh_replies = 1
        ct = client(server, store_path)
        if rotation == "on_use":
            assert ct.request("GET", "ping.json") == {"ping": "pong"}
            assert server.state.token_requests["refresh_token"] == 2 and server.state.token_errors == []
            assert stored(store_path)["refresh_token"] in server.state.valid_refresh_tokens()
            return
        with pytest.raises(AuthError) as caught:
            ct.request("GET", "ping.json")
        message = str(caught.value)
        assert "reply to a token refresh was lost" in message and "run ctcloud.cloud.ct_auth again" in message
        assert server.state.token_requests["refresh_token"] == 2  # the lost one, and the one CT refused
        assert server.state.count("GET", PING) == 0  # no API request was sent with a token we do not have
        assert "SECRET" not in message + json.dumps(caught.value.to_failure())


def test_a_refresh_answered_503_is_sent_again(fake, store_path):
    fake.state.script("GET", PING, Scripted(200, {"ping": "pong"}))
    fake.state.token_faults = [503, 502]
    assert client(fake, store_path).request("GET", "ping.json") == {"ping": "pong"}
    assert fake.state.count("POST", "/ct-id/oauth/token") == 3 and fake.state.token_requests["refresh_token"] == 1
# -- a stored access token goes to the API origin it was obtained for, and nowhere else (issue 12, item 6) --


def test_a_token_stored_for_one_api_origin_is_never_sent_to_another(fake, store_path):
    fake.state.script("GET", PING, Scripted(200, {"ping": "pong"}), Scripted(200, {"ping": "pong"}), Scripted(200, {"ping": "pong"}))
    first = client(fake, store_path)
    first.request("GET", "ping.json")
    token_for_first = first.auth.token()
    other_origin = fake.urls["ct_api_url"].replace("127.0.0.1", "localhost")  # the same server, another origin
    second = client(fake, store_path, api_url=other_origin)
    assert second.auth.token() != token_for_first
    second.request("GET", "ping.json")
    assert fake.state.token_requests["refresh_token"] == 2
    # Both origins continue the one chain: back on the first origin, the rotated chain still works.
    fake.state.revoke_all_access()
    first = client(fake, store_path)
    first.request("GET", "ping.json")
    assert fake.state.token_errors == []
    assert fake.state.token_requests["refresh_token"] == 3


def test_a_chain_stored_by_0_1_0_continues_without_sending_its_access_token(fake, store_path):
    fake.state.script("GET", PING, Scripted(200, {"ping": "pong"}), Scripted(200, {"ping": "pong"}))
    earlier = client(fake, store_path)
    earlier.request("GET", "ping.json")
    current = stored(store_path)
    # What 0.1.0 wrote: one entry per client, its access token valid for whatever API was configured then.
    legacy_key = f"ct|{fake.urls['ct_auth_url']}|{CT_CLIENT[0]}"
    with open(store_path, "w") as handle:  # the file exists: it keeps its mode 0600
        json.dump({"version": 1, "entries": {legacy_key: {key: current[key] for key in ("access_token", "refresh_token", "expires_at", "lineage")}}}, handle)
    later = client(fake, store_path, refresh_token=None)
    assert later.auth.token() != current["access_token"]
    later.request("GET", "ping.json")
    assert fake.state.token_requests["refresh_token"] == 2 and fake.state.token_errors == []
    with open(store_path) as handle:
        assert "access_token" not in json.load(handle)["entries"][legacy_key]
