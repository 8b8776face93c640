# Copyright (c) ctcloud.cloud contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Issue 12: what a hostile server, a co-tenant on the same machine, or a pull request can do.

One test (or a few) per item of the issue, each against real ``ansible-playbook`` runs
and a real emulator or a hostile raw server on 127.0.0.1. ``docs/security.md`` names
the test behind each guarantee.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
from pathlib import Path
from typing import Any

# uid/gid of "another local user": nobody on Debian. Only root can give a file away, so the
# ownership cases run where the suite runs in CI (as root) and are left out elsewhere.
OTHER_USER = 65534
IS_ROOT = os.geteuid() == 0


def tasks_playbook(path: Path, tasks: list[dict[str, Any]], name: str = "Security cases") -> Path:
    """A play on the local targets with the emulator's connections as module defaults (JSON is YAML)."""
    play = {
        "name": name,
        "hosts": "targets",
        "gather_facts": False,
        "module_defaults": {"group/ctcloud.cloud.ct": "{{ ct_conn }}", "group/ctcloud.cloud.cthings": "{{ cthings_conn }}"},
        "tasks": tasks,
    }
    path.write_text(json.dumps([play], indent=1), encoding="utf-8")
    return path


def api_requests(stats: dict[str, Any] | None) -> int:
    assert stats is not None, "the run was not given stats_url"
    hosts = stats["hosts"]
    return hosts["ct_auth"] + hosts["ct_api"] + hosts["cthings_auth"] + hosts["cthings_api"]


# ---- item 3: the token store trusts only what the user owns and nobody else can write --------------


def test_item3_token_store_refuses_paths_it_cannot_trust_and_creates_private_directories(emulator, ansible, tmp_path, scenario_vars):
    # A real store with a valid access token, as a first run leaves it: the cases copy it, so a store that is
    # used sends no token request, and one that is refused sends nothing at all.
    good = tmp_path / "good" / "tokens.json"
    warm = tasks_playbook(tmp_path / "warm.yml", [{"name": "warm up", "ctcloud.cloud.ct_location_info": {"token_store": str(good)}}])
    ansible.playbook(warm, scenario_vars(emulator, good)).check()

    def planted(case: str, files: tuple[str, ...] = ("tokens.json", "tokens.json.lock")) -> Path:
        """A copy of the good store and its lock in a fresh private directory of this case.

        Without the store (only the lock), the module must renew its token and so take the lock.
        """
        directory = tmp_path / "cases" / case
        directory.mkdir(parents=True)
        directory.chmod(0o700)
        for name in files:
            shutil.copy2(good.parent / name, directory / name)
        return directory / "tokens.json"

    refused: dict[str, tuple[Path, str]] = {}  # case -> (token_store, what the message must say)

    def refuse(case: str, store: Path, *message: str) -> None:
        """The case's message: these parts in this order (paths literal, not patterns)."""
        refused[case] = (store, ".*".join(re.escape(part) for part in message))

    store = planted("group-writable store")
    store.chmod(0o660)
    refuse("group-writable store", store, f"the token store {store} is readable or writable by group or others (mode 0660)", f"chmod 600 {store}")
    store = planted("world-readable store")
    store.chmod(0o644)
    refuse("world-readable store", store, f"the token store {store} is readable or writable by group or others (mode 0644)", f"chmod 600 {store}")
    store = planted("world-writable directory")
    store.parent.chmod(0o777)
    refuse("world-writable directory", store, f"the token store directory {store.parent} is writable by group or others", f"chmod 700 {store.parent}")
    store = planted("group-writable lock", ("tokens.json.lock",))
    Path(f"{store}.lock").chmod(0o660)
    refuse("group-writable lock", store, f"the token store lock {store}.lock is writable by group or others", f"chmod 600 {store}.lock")
    store = planted("store is a symbolic link")
    store.unlink()
    store.symlink_to(good)
    refuse("store is a symbolic link", store, f"the token store {store} is a symbolic link, which is refused")
    store = planted("lock is a symbolic link", ("tokens.json.lock",))
    Path(f"{store}.lock").unlink()
    Path(f"{store}.lock").symlink_to(tmp_path / "elsewhere.lock")
    refuse("lock is a symbolic link", store, f"the token store lock {store}.lock is a symbolic link, which is refused")
    if IS_ROOT:
        store = planted("store of another user")
        os.chown(store, OTHER_USER, OTHER_USER)
        refuse("store of another user", store, f"the token store {store} belongs to uid {OTHER_USER}, not to uid 0", f"chown 0 {store}")
        store = planted("directory of another user")
        os.chown(store.parent, OTHER_USER, OTHER_USER)
        refuse("directory of another user", store, f"the token store directory {store.parent} belongs to uid {OTHER_USER}", f"chown 0 {store.parent}")
        store = planted("lock of another user", ("tokens.json.lock",))
        os.chown(f"{store}.lock", OTHER_USER, OTHER_USER)
        refuse("lock of another user", store, f"the token store lock {store}.lock belongs to uid {OTHER_USER}", f"chown 0 {store}.lock")
    fresh = tmp_path / "new" / "nested" / "private" / "tokens.json"

    tasks = [{"name": case, "ctcloud.cloud.ct_location_info": {"token_store": str(path)}, "ignore_errors": True}
             for case, (path, _message) in refused.items()]
    # The warm-up rotated the seed's refresh token away: the new store starts a chain of its own.
    fresh_chain = {"token_store": str(fresh), "refresh_token": emulator.fresh_refresh_token()}
    tasks.append({"name": "a store in directories that do not exist yet", "ctcloud.cloud.ct_location_info": fresh_chain, "no_log": True})
    playbook = tasks_playbook(tmp_path / "cases.yml", tasks)
    before = emulator.stats()
    run = ansible.playbook(playbook, scenario_vars(emulator, good), umask=0, stats_url=f"{emulator.admin_url}/stats")

    previous = api_requests(before)
    for case, (path, message) in refused.items():
        result = run.one(case)
        assert result.failed, f"{case}: the store at {path} was used\n{result.result}"
        assert re.search(message, result.msg, re.DOTALL), f"{case}: {result.msg}"
        assert api_requests(result.emulator_stats) == previous, f"{case}: requests were sent with a store that is refused"
        previous = api_requests(result.emulator_stats)
    assert not run.one("a store in directories that do not exist yet").failed, run.describe()
    for directory in (tmp_path / "new", tmp_path / "new" / "nested", fresh.parent):
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700, f"{directory} made under umask 000"
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o600
    assert (tmp_path / "elsewhere.lock").exists() is False  # the lock's link was not followed to create its target
