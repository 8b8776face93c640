# -*- coding: utf-8 -*-
# Copyright (c) ctcloud.cloud contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The controller's create lock: where its files live, the directory rules, exclusion, and a bounded wait."""

from __future__ import annotations

import os
import stat

import pytest

from ansible_collections.ctcloud.cloud.plugins.module_utils._api.errors import TokenStoreError
from ansible_collections.ctcloud.cloud.plugins.module_utils._api.token_store import ensure_private_directory
from ansible_collections.ctcloud.cloud.plugins.module_utils._state import controller_lock
from ansible_collections.ctcloud.cloud.plugins.module_utils._state.controller_lock import LockError, held, lock_directory


def test_the_locks_live_beside_a_token_store_file(tmp_path):
    assert lock_directory(str(tmp_path / "store" / "tokens.json"), {}) == str(tmp_path / "store" / "locks")


def test_a_store_url_or_no_store_falls_back_to_the_cache_directory(tmp_path):
    environ = {"XDG_CACHE_HOME": str(tmp_path / "cache")}
    assert lock_directory("redis://127.0.0.1:6379/0", environ) == str(tmp_path / "cache" / "ctcloud" / "locks")
    assert lock_directory(None, environ) == str(tmp_path / "cache" / "ctcloud" / "locks")  # the default store's directory
    environ["CTCLOUD_TOKEN_STORE"] = str(tmp_path / "elsewhere" / "t.json")
    assert lock_directory(None, environ) == str(tmp_path / "elsewhere" / "locks")


def test_directories_are_created_private_whatever_the_umask(tmp_path):
    old = os.umask(0)
    try:
        with held(str(tmp_path / "store" / "locks"), "voucher", ("api", "1001", "Race")) as path:
            assert os.path.dirname(path) == str(tmp_path / "store" / "locks")
    finally:
        os.umask(old)
    for directory in (tmp_path / "store", tmp_path / "store" / "locks"):
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    [lock] = (tmp_path / "store" / "locks").iterdir()
    assert stat.S_IMODE(lock.stat().st_mode) == 0o600 and lock.name.startswith("voucher-")


def test_a_directory_others_may_write_to_is_refused(tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    with pytest.raises(TokenStoreError, match=r"is writable by group or others \(mode 0777\)"):
        ensure_private_directory(str(shared))
    with pytest.raises(TokenStoreError, match="writable by group or others"), held(str(shared / "locks"), "voucher", ("k",)):
        pass  # pragma: no cover
    assert not (shared / "locks").exists()  # refused before anything was made inside it


def test_a_directory_of_another_user_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(controller_lock.os, "geteuid", lambda: os.stat(tmp_path).st_uid + 1)
    with pytest.raises(TokenStoreError, match="belongs to uid"):
        ensure_private_directory(str(tmp_path))


def test_one_holder_at_a_time_and_a_bounded_wait(tmp_path):
    directory = str(tmp_path / "store" / "locks")
    now = [0.0]

    def clock():
        return now[0]

    def sleep(seconds):
        now[0] += seconds

    with held(directory, "voucher", ("api", "1001", "Race")):
        # flock locks belong to an open file: a second open, even in this process, has to wait its turn.
        with (
            pytest.raises(LockError, match=r"held .* for more than 2 seconds"),
            held(directory, "voucher", ("api", "1001", "Race"), wait_limit=2, clock=clock, sleep=sleep),
        ):
            pass  # pragma: no cover
        assert 2 <= now[0] < 3  # bounded: it gave up once the limit had passed
        with held(directory, "voucher", ("api", "1001", "Another name"), wait_limit=0, clock=clock, sleep=sleep):
            pass  # another key is another lock
    with held(directory, "voucher", ("api", "1001", "Race"), wait_limit=0, clock=clock, sleep=sleep):
        pass  # released when the block ended


def test_a_lock_file_that_is_a_symbolic_link_or_writable_by_others_is_refused(tmp_path):
    directory = tmp_path / "store" / "locks"
    with held(str(directory), "voucher", ("api", "1001", "Race")) as path:
        pass
    os.chmod(path, 0o666)
    with pytest.raises(TokenStoreError, match=r"lock file .* is writable by group or others"), held(str(directory), "voucher", ("api", "1001", "Race")):
        pass  # pragma: no cover
    os.unlink(path)
    os.symlink(tmp_path / "elsewhere", path)
    with pytest.raises(LockError, match="is a symbolic link, which is refused"), held(str(directory), "voucher", ("api", "1001", "Race")):
        pass  # pragma: no cover
    assert not (tmp_path / "elsewhere").exists()
