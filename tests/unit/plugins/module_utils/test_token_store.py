# -*- coding: utf-8 -*-
# Copyright (c) ctcloud.cloud contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import json
import os
import stat
import threading

import pytest

from ansible_collections.ctcloud.cloud.plugins.module_utils.errors import TokenStoreError
from ansible_collections.ctcloud.cloud.plugins.module_utils.token_store import TokenStore, default_path


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
    from ansible_collections.ctcloud.cloud.plugins.module_utils import token_store

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
