# -*- coding: utf-8 -*-
# Copyright (c) ctcloud.cloud contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import json
import os
import stat
import threading
from pathlib import Path

import pytest

from ansible_collections.ctcloud.cloud.plugins.module_utils._api.errors import TokenStoreError
from ansible_collections.ctcloud.cloud.plugins.module_utils._api.token_store import (
    KEY_ENV,
    Sealer,
    StoreConflict,
    TokenStore,
    default_path,
    describe_location,
    open_token_store,
    url_passwords,
)


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def test_store_file_is_0600_and_its_new_directory_0700(store_path):
    store = TokenStore(store_path)
    with store.transaction() as txn:
        txn.put("k", {"access_token": "a"})
    assert mode(store_path) == 0o600
    assert mode(os.path.dirname(store_path)) == 0o700
    assert store.read("k") == {"access_token": "a"}


def test_store_stays_0600_under_a_permissive_umask(store_path):
    old = os.umask(0)
    try:
        with TokenStore(store_path).transaction() as txn:
            txn.put("k", {"v": 1})
    finally:
        os.umask(old)
    assert mode(store_path) == 0o600
    assert mode(os.path.dirname(store_path)) == 0o700


def test_transaction_writes_only_when_something_changed(store_path):
    store = TokenStore(store_path)
    with store.transaction() as txn:
        assert txn.get("missing") is None
    assert not os.path.exists(store_path)


def test_commit_inside_the_block_is_on_disk_before_the_lock_is_released(store_path):
    store = TokenStore(store_path)
    with store.transaction() as txn:
        txn.put("k", {"v": 1})
        txn.commit()
        assert TokenStore(store_path).read("k") == {"v": 1}


def test_entries_of_other_keys_survive_a_write(store_path):
    store = TokenStore(store_path)
    with store.transaction() as txn:
        txn.put("a", {"v": 1})
    with store.transaction() as txn:
        txn.put("b", {"v": 2})
    assert store.read("a") == {"v": 1} and store.read("b") == {"v": 2}


def test_unreadable_store_is_reported_and_never_overwritten(store_path):
    os.makedirs(os.path.dirname(store_path))
    with open(store_path, "w") as handle:
        handle.write('{"entries": {"k": {"refresh_token": "only-copy"')  # truncated by hand
    os.chmod(store_path, 0o600)
    store = TokenStore(store_path)
    with pytest.raises(TokenStoreError, match="not valid JSON"), store.transaction() as txn:
        txn.put("k", {"v": 1})
    with open(store_path) as handle:
        assert "only-copy" in handle.read()


def test_concurrent_transactions_in_threads_lose_no_update(store_path):
    store = TokenStore(store_path)

    def bump():
        for _bump in range(20):
            with store.transaction() as txn:
                entry = txn.get("counter") or {"n": 0}
                txn.put("counter", {"n": entry["n"] + 1})

    threads = [threading.Thread(target=bump) for _thread in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert store.read("counter") == {"n": 100}
    with open(store_path) as handle:
        assert json.load(handle)["version"] == 1


def test_default_path_follows_env_then_xdg_then_home():
    assert default_path({"CTCLOUD_TOKEN_STORE": "/x/t.json", "XDG_CACHE_HOME": "/c"}) == "/x/t.json"
    assert default_path({"XDG_CACHE_HOME": "/c"}) == "/c/ctcloud/tokens.json"
    assert default_path({}).endswith(os.path.join(".cache", "ctcloud", "tokens.json"))


def test_a_temp_file_left_by_a_killed_writer_is_removed_by_the_next_write(store_path):
    store = TokenStore(store_path)
    with store.transaction() as txn:
        txn.put("k", {"v": 1})
    directory = os.path.dirname(store_path)
    leftover = os.path.join(directory, ".tokens.json-deadbeef.tmp")
    other_store_temp = os.path.join(directory, ".other.json-cafe.tmp")
    for path in (leftover, other_store_temp):
        with open(path, "w") as handle:
            handle.write('{"half": ')
    with store.transaction() as txn:
        txn.put("k", {"v": 2})
    assert not os.path.exists(leftover)
    assert os.path.exists(other_store_temp)  # another store's business
    assert store.read("k") == {"v": 2}


# -- a store trusts only what the user running Ansible owns and nobody else can write (issue 12, item 3) --


def _stored(store_path):
    with TokenStore(store_path).transaction() as txn:
        txn.put("k", {"refresh_token": "mine"})


def test_missing_parent_directories_are_created_0700_under_a_permissive_umask(tmp_path):
    store_path = str(tmp_path / "a" / "b" / "c" / "tokens.json")
    old = os.umask(0)
    try:
        _stored(store_path)
    finally:
        os.umask(old)
    for directory in ("a", "a/b", "a/b/c"):
        assert mode(tmp_path / directory) == 0o700, directory


def test_a_store_of_another_user_is_refused_naming_the_chown(store_path, monkeypatch):
    _stored(store_path)
    from ansible_collections.ctcloud.cloud.plugins.module_utils._api import token_store

    monkeypatch.setattr(token_store.os, "geteuid", lambda: os.getuid() + 4242)
    with pytest.raises(TokenStoreError, match=r"belongs to uid \d+, not to uid \d+ running Ansible.*chown") as caught:
        TokenStore(store_path).read("k")
    assert os.path.dirname(store_path) in str(caught.value)  # the directory is checked first: it is also the user's


@pytest.mark.parametrize("bits", [0o020, 0o002, 0o004, 0o040])
def test_a_store_others_may_read_or_write_is_refused_naming_the_chmod(store_path, bits):
    _stored(store_path)
    os.chmod(store_path, 0o600 | bits)
    for attempt in (lambda: TokenStore(store_path).read("k"), lambda: TokenStore(store_path).transaction().__enter__()):
        with pytest.raises(TokenStoreError, match=rf"the token store {store_path} is readable or writable by group or others .*chmod 600 {store_path}"):
            attempt()


def test_a_directory_others_may_write_is_refused(store_path):
    _stored(store_path)
    directory = os.path.dirname(store_path)
    os.chmod(directory, 0o777)
    with pytest.raises(TokenStoreError, match=rf"token store directory {directory} is writable by group or others .*chmod 700 {directory}"):
        TokenStore(store_path).read("k")
    with pytest.raises(TokenStoreError, match="token store directory"), TokenStore(store_path).transaction() as txn:
        txn.put("k", {"refresh_token": "planted"})
    os.chmod(directory, 0o700)
    assert TokenStore(store_path).read("k") == {"refresh_token": "mine"}


def test_a_lock_file_others_may_write_is_refused(store_path):
    _stored(store_path)
    os.chmod(store_path + ".lock", 0o666)
    with pytest.raises(TokenStoreError, match=r"token store lock .* is writable by group or others"), TokenStore(store_path).transaction():
        pass


@pytest.mark.parametrize("which", ["store", "lock"])
def test_symbolic_links_are_never_followed(store_path, tmp_path, which):
    _stored(store_path)
    elsewhere = tmp_path / "elsewhere.json"
    link = store_path if which == "store" else store_path + ".lock"
    os.replace(link, elsewhere)
    os.symlink(elsewhere, link)
    with pytest.raises(TokenStoreError, match=r"is a symbolic link, which is refused"), TokenStore(store_path).transaction() as txn:
        txn.put("k", {"refresh_token": "written through the link"})
    if which == "store":
        with pytest.raises(TokenStoreError, match=r"is a symbolic link"):
            TokenStore(store_path).read("k")
    assert "written through the link" not in elsewhere.read_text()


# -- compare-and-set, sealing, and the write probe (issue 13) --

KEY = "9uj6by6kyAsoVVAHK_18OuHx9CoTS5NonLs2jvWf8r4="
OTHER_KEY = "-NtddCFjqLQqrS4_Ez0sAj8Mcsyommy4sOdTL6p-xW8="


def test_a_compare_and_set_against_a_stale_revision_writes_nothing(store_path):
    store = TokenStore(store_path)
    with store.transaction() as txn:
        txn.put("chain", {"refresh_token": "first"})
    entry, revision = store.read_versioned("chain")
    assert entry == {"refresh_token": "first"} and revision == 1
    store.compare_and_set({"chain": revision}, {"chain": {"refresh_token": "winner"}})
    with pytest.raises(StoreConflict, match="changed meanwhile"):
        store.compare_and_set({"chain": revision}, {"chain": {"refresh_token": "loser"}})
    assert store.read_versioned("chain") == ({"refresh_token": "winner"}, 2)


def test_a_sealed_file_store_holds_no_token_in_the_clear_and_reads_back(store_path):
    with TokenStore(store_path, Sealer(KEY)).transaction() as txn:
        txn.put("ct|chain", {"refresh_token": "refresh-SECRET-value"})
    with open(store_path) as handle:
        text = handle.read()
    assert "refresh-SECRET-value" not in text and "gAAAA" in text
    assert TokenStore(store_path, Sealer(KEY)).read("ct|chain") == {"refresh_token": "refresh-SECRET-value"}
    # Key rotation: the new key first, the old one still opens what it sealed.
    assert TokenStore(store_path, Sealer(f"{OTHER_KEY},{KEY}")).read("ct|chain") == {"refresh_token": "refresh-SECRET-value"}


@pytest.mark.parametrize("keys", [OTHER_KEY, None])
def test_a_wrong_or_missing_key_is_a_clear_error_and_the_sealed_store_is_never_overwritten(store_path, keys):
    with TokenStore(store_path, Sealer(KEY)).transaction() as txn:
        txn.put("ct|chain", {"refresh_token": "only-copy"})
    before = Path(store_path).read_bytes()
    expected = "cannot be decrypted" if keys else "is encrypted, but no key is set"
    with pytest.raises(TokenStoreError, match=expected):
        TokenStore(store_path, Sealer(keys)).read("ct|chain")
    with pytest.raises(TokenStoreError, match=expected), TokenStore(store_path, Sealer(keys)).transaction() as txn:
        txn.put("ct|chain", {"refresh_token": "would-replace-it"})
    assert Path(store_path).read_bytes() == before


def test_an_entry_sealed_for_another_key_is_refused(store_path):
    with TokenStore(store_path, Sealer(KEY)).transaction() as txn:
        txn.put("ct|a", {"access_token": "for-a"})
    with open(store_path) as handle:
        document = json.load(handle)
    document["entries"]["ct|b"] = document["entries"]["ct|a"]  # moved to another API origin's key
    with open(store_path, "w") as handle:
        json.dump(document, handle)
    with pytest.raises(TokenStoreError, match="sealed for another key"):
        TokenStore(store_path, Sealer(KEY)).read("ct|b")


def test_an_unsealed_file_store_is_sealed_at_its_next_write_once_a_key_is_set(store_path):
    with TokenStore(store_path).transaction() as txn:
        txn.put("ct|chain", {"refresh_token": "plain-token-value"})
    store = TokenStore(store_path, Sealer(KEY))
    assert store.read("ct|chain") == {"refresh_token": "plain-token-value"}
    with store.transaction() as txn:
        txn.put("ct|access", {"access_token": "new-access-value"})
    with open(store_path) as handle:
        text = handle.read()
    assert "plain-token-value" not in text and "new-access-value" not in text
    assert store.read("ct|chain") == {"refresh_token": "plain-token-value"}


@pytest.mark.parametrize("value", ["not-a-key", KEY[:-2]])
def test_a_malformed_key_is_refused_without_echoing_it(value):
    with pytest.raises(TokenStoreError, match="is not a Fernet key") as caught:
        Sealer(value)
    assert value not in str(caught.value)


def test_a_read_only_store_fails_the_write_probe_and_is_left_as_it_was(store_path):
    _stored(store_path)
    os.chmod(store_path, 0o400)
    before = Path(store_path).read_bytes()
    with pytest.raises(TokenStoreError, match=r"is read-only \(mode 0400\), so no token is renewed.*chmod 600"), \
            TokenStore(store_path).transaction() as txn:
        txn.prepare_write()
    assert Path(store_path).read_bytes() == before
    assert [name for name in os.listdir(os.path.dirname(store_path)) if name.endswith(".tmp")] == []


def test_open_token_store_chooses_the_backend_and_expands_a_path(tmp_path, monkeypatch):
    monkeypatch.setenv("STORE_HOME", str(tmp_path))
    monkeypatch.delenv(KEY_ENV, raising=False)
    store = open_token_store("$STORE_HOME/t.json")
    assert isinstance(store, TokenStore) and store.path == str(tmp_path / "t.json")
    monkeypatch.setenv(KEY_ENV, KEY)
    assert open_token_store(str(tmp_path / "t.json")).sealer.enabled


def test_a_redis_url_is_shown_with_its_password_masked():
    assert describe_location("redis://ci:s3cr%40t@redis.example:6380/2") == "redis://ci:********@redis.example:6380/2"
    assert describe_location("rediss://:pw-only@h/0") == "rediss://:********@h/0"
    assert describe_location("redis://h:6379") == "redis://h:6379"
    assert url_passwords("redis://ci:s3cr%40t@h/0") == ["s3cr%40t", "s3cr@t"]
    # Unencoded "/" or "@" in a password: still recognised whole, never shown in part.
    assert describe_location("redis://ci:pa/ss@w@h:1/0?ssl_cert_reqs=none") == "redis://ci:********@h:1/0?ssl_cert_reqs=none"
    assert url_passwords("redis://ci:pa/ss@w@h:1/0") == ["pa/ss@w"]
    assert describe_location("redis://ci@h/0") == "redis://ci@h/0" and url_passwords("redis://ci@h/0") == []
