# -*- coding: utf-8 -*-
# Copyright (c) ctcloud.cloud contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Redis token store against a real redis-server: compare-and-set, the lease, sealing, and failing before a refresh."""

from __future__ import annotations

import time

import pytest
import redis

from ansible_collections.ctcloud.cloud.plugins.module_utils._api import redis_token_store, token_store
from ansible_collections.ctcloud.cloud.plugins.module_utils._api.ct import CtClient, digest
from ansible_collections.ctcloud.cloud.plugins.module_utils._api.errors import TokenStoreError
from ansible_collections.ctcloud.cloud.plugins.module_utils._api.redis_token_store import KEY_PREFIX, LEASE_PREFIX, RedisTokenStore
from ansible_collections.ctcloud.cloud.plugins.module_utils._api.token_store import Sealer, StoreConflict, open_token_store
from ansible_collections.ctcloud.cloud.tests.unit.plugins.module_utils.conftest import run_workers
from ansible_collections.ctcloud.cloud.tests.unit.plugins.module_utils.fake_oauth_server import CT_CLIENT, INITIAL_REFRESH, Scripted
from ansible_collections.ctcloud.cloud.tests.unit.plugins.module_utils.redis_server import RedisServer

KEY = "9uj6by6kyAsoVVAHK_18OuHx9CoTS5NonLs2jvWf8r4="
OTHER_KEY = "-NtddCFjqLQqrS4_Ez0sAj8Mcsyommy4sOdTL6p-xW8="
PING = "/ct-api/api/v1/ping.json"
READER_PASSWORD = "reader-Pa55word-never-shown"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    started = RedisServer(str(tmp_path_factory.mktemp("redis"))).start()
    try:
        yield started
    finally:
        started.stop()


@pytest.fixture
def url(server):
    admin = redis.Redis.from_url(server.url)
    admin.flushall()
    admin.acl_deluser("reader")
    admin.close()
    return server.url


@pytest.fixture
def admin(url):
    client = redis.Redis.from_url(url)
    yield client
    client.close()


def ct_client(fake, store, key=None, **overrides):
    options = {"api_url": fake.urls["ct_api_url"], "auth_url": fake.urls["ct_auth_url"], "client_id": CT_CLIENT[0],
               "client_secret": CT_CLIENT[1], "refresh_token": INITIAL_REFRESH, "token_store": store, "token_store_key": key, "timeout": 5}
    options.update(overrides)
    return CtClient.build(**options)


def all_values(admin):
    return {key.decode(): admin.get(key) for key in admin.scan_iter(count=100) if admin.type(key) == b"string"}


def test_entries_round_trip_with_growing_revisions(url):
    store = RedisTokenStore(url)
    with store.transaction("ct|client") as txn:
        assert txn.get("ct|client") is None
        txn.put("ct|client", {"refresh_token": "r1"})
    assert store.read_versioned("ct|client") == ({"refresh_token": "r1"}, 1)
    with store.transaction("ct|client") as txn:
        txn.put("ct|client", {"refresh_token": "r2"})
        txn.delete("ct|old")  # never stored: nothing to delete
    assert store.read_versioned("ct|client") == ({"refresh_token": "r2"}, 2)


def test_a_writer_that_lost_the_race_writes_nothing(url):
    loser, winner = RedisTokenStore(url), RedisTokenStore(url)
    with pytest.raises(StoreConflict), loser.transaction("scope-of-loser") as txn:
        txn.get("ct|client")
        winner.compare_and_set({"ct|client": 0}, {"ct|client": {"refresh_token": "winner"}})
        txn.put("ct|client", {"refresh_token": "loser"})
    assert loser.read("ct|client") == {"refresh_token": "winner"}


def test_the_loser_of_a_race_never_uses_its_own_new_token_and_takes_the_winners(fake, url, monkeypatch):
    loser = ct_client(fake, url)
    auth = loser.auth
    now = time.time()
    winner = {"access_token": "access-of-the-winner", "expires_at": now + 3600, "updated_at": int(now),
              "lineage": [digest(INITIAL_REFRESH), digest("refresh-of-the-winner")],
              "secret_mark": auth.secret_mark()}  # the winner is a runner with the same client secret
    original = RedisTokenStore.compare_and_set

    def another_runner_stores_first(self, expected, changes):
        # Between this runner's refresh and its write, another runner (whose lease this one's outlived) stores its pair.
        monkeypatch.setattr(RedisTokenStore, "compare_and_set", original)
        original(RedisTokenStore(url), {auth.client_key: 0, auth.key: 0},
                 {auth.client_key: dict(winner, refresh_token="refresh-of-the-winner"), auth.key: winner})
        return original(self, expected, changes)

    monkeypatch.setattr(RedisTokenStore, "compare_and_set", another_runner_stores_first)
    assert auth.token() == "access-of-the-winner"
    assert fake.state.token_requests["refresh_token"] == 1  # this runner did refresh...
    assert RedisTokenStore(url).read(auth.client_key)["refresh_token"] == "refresh-of-the-winner"  # ...and its pair was dropped
    assert fake.state.requests == [("POST", "/ct-id/oauth/token")]


def test_a_sealed_store_leaves_no_token_in_the_clear_in_redis(fake, url, admin):
    fake.state.script("GET", PING, Scripted(200, {"ping": "pong"}))
    client = ct_client(fake, url, key=KEY)
    assert client.request("GET", "ping.json") == {"ping": "pong"}
    values = all_values(admin)
    assert any(name.startswith(KEY_PREFIX) for name in values)
    secrets = [INITIAL_REFRESH, *client.auth.secrets()]
    for name, value in values.items():
        for secret in secrets:
            assert secret is None or secret.encode() not in value, name
        if name.startswith(KEY_PREFIX):
            assert value.startswith(b"gAAAA"), name


@pytest.mark.parametrize("key", [OTHER_KEY, None])
def test_a_wrong_or_missing_key_never_refreshes_or_overwrites(fake, url, admin, key):
    fake.state.script("GET", PING, Scripted(200, {"ping": "pong"}))
    ct_client(fake, url, key=KEY).request("GET", "ping.json")
    before = all_values(admin)
    fake.state.revoke_all_access()
    requests_before = fake.state.token_requests["refresh_token"]
    with pytest.raises(TokenStoreError, match=r"cannot be decrypted|is encrypted, but no key is set"):
        ct_client(fake, url, key=key).request("GET", "ping.json")
    assert fake.state.token_requests["refresh_token"] == requests_before
    assert all_values(admin) == before


def test_with_a_key_an_unencrypted_entry_in_redis_is_refused(url, admin):
    RedisTokenStore(url).compare_and_set({}, {"ct|client": {"refresh_token": "planted"}})
    with pytest.raises(TokenStoreError, match="holds an unencrypted entry, but a key is set"):
        RedisTokenStore(url, Sealer(KEY)).read("ct|client")


def test_redis_down_fails_before_any_token_request_naming_the_store_without_its_password(fake, server):
    down = "redis://ci:Down-Pa55word@127.0.0.1:1/0"
    with pytest.raises(TokenStoreError) as caught:
        ct_client(fake, down).request("GET", "ping.json")
    assert "redis://ci:********@127.0.0.1:1/0" in str(caught.value)
    assert "Down-Pa55word" not in str(caught.value)
    assert fake.state.token_requests["refresh_token"] == 0


def test_a_redis_that_refuses_writes_fails_before_any_token_request(fake, url, admin):
    admin.acl_setuser("reader", enabled=True, passwords=[f"+{READER_PASSWORD}"], keys=["*"], commands=["+@read", "+@connection", "+ping"])
    reader_url = url.replace("redis://", f"redis://reader:{READER_PASSWORD}@")
    with pytest.raises(TokenStoreError, match="so no token is renewed") as caught:
        ct_client(fake, reader_url).request("GET", "ping.json")
    assert READER_PASSWORD not in str(caught.value) and "reader:********@" in str(caught.value)
    assert fake.state.token_requests["refresh_token"] == 0
    assert fake.state.requests == []


def test_a_lease_left_by_a_killed_runner_expires_and_the_chain_continues(fake, url, admin, monkeypatch):
    monkeypatch.setattr(redis_token_store, "LEASE_SECONDS", 0.5)
    fake.state.script("GET", PING, Scripted(200, {"ping": "pong"}))
    client = ct_client(fake, url)
    lease = LEASE_PREFIX + redis_token_store.hashlib.sha256(client.auth.client_key.encode()).hexdigest()[:32]
    admin.set(lease, "a-runner-that-was-killed", px=500)
    assert client.request("GET", "ping.json") == {"ping": "pong"}
    assert admin.get(lease) is None  # released by this runner after the dead one's expired
    assert fake.state.token_requests["refresh_token"] == 1 and fake.state.token_errors == []


def test_a_lease_lost_during_the_refresh_is_reported_as_a_conflict_not_written_over(url, admin):
    store = RedisTokenStore(url)
    with store.transaction("ct|client") as txn:
        [lease] = admin.keys(LEASE_PREFIX + "*")
        admin.set(lease, "another runner, after this one's expired")
        with pytest.raises(StoreConflict):
            txn.prepare_write()
    assert admin.get(lease) == b"another runner, after this one's expired"  # not released: it is not this runner's


def test_without_redis_py_the_error_says_what_to_install(monkeypatch):
    monkeypatch.setattr(redis_token_store, "HAS_REDIS", False)
    with pytest.raises(TokenStoreError, match=r"needs the Python library 'redis'.*pip install redis") as caught:
        open_token_store("redis://user:Secret-Pw@127.0.0.1:6379/0")
    assert "Secret-Pw" not in str(caught.value)


def test_racing_processes_through_redis_refresh_once_without_invalid_grant(strict_fake, url, admin, tmp_path):
    strict_fake.state.script("GET", PING, Scripted(200, {"ping": "pong"}))
    config = {"cloud": "ct", "ct_api_url": strict_fake.urls["ct_api_url"], "ct_auth_url": strict_fake.urls["ct_auth_url"],
              "client_id": CT_CLIENT[0], "client_secret": CT_CLIENT[1], "refresh_token": INITIAL_REFRESH, "store": url, "key": KEY}
    results = run_workers(8, config, tmp_dir=str(tmp_path))
    assert [code for code, _out, _err in results] == [0] * 8, results
    assert strict_fake.state.token_requests["refresh_token"] == 1
    assert strict_fake.state.token_errors == []
    stored = RedisTokenStore(url, Sealer(KEY)).read(f"ct|{strict_fake.urls['ct_auth_url']}|{CT_CLIENT[0]}")
    assert stored["refresh_token"] in strict_fake.state.valid_refresh_tokens()
    assert token_store.is_redis_url(url)


def test_a_redis_user_with_the_permissions_docs_ci_md_names_keeps_the_chain(fake, url, admin):
    # docs/ci.md: ACL SETUSER ct on >password ~ctcloud:* +@read +@write +@transaction +@scripting +@connection
    admin.acl_setuser("ct", enabled=True, passwords=["+Ct-user-Pa55"], keys=["ctcloud:*"],
                      commands=["+@read", "+@write", "+@transaction", "+@scripting", "+@connection"])
    fake.state.script("GET", PING, Scripted(200, {"ping": "pong"}))
    store = url.replace("redis://", "redis://ct:Ct-user-Pa55@")
    assert ct_client(fake, store, key=KEY).request("GET", "ping.json") == {"ping": "pong"}
    fake.state.revoke_all_access()
    assert ct_client(fake, store, key=KEY).request("GET", "ping.json") == {"ping": "pong"}
    assert fake.state.token_requests["refresh_token"] == 2 and fake.state.token_errors == []
    assert admin.keys(LEASE_PREFIX + "*") == []  # released by the script the user may run
    admin.acl_deluser("ct")
