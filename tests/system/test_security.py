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

from ctsystem.collection import PLAYBOOKS as SYSTEM_PLAYBOOKS
from ctsystem.evidence import stored_ct_entry
from ctsystem.rawhttp import Reply

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


# ---- item 6: no cleartext tokens, and a stored token only for the API origin it was obtained for ----------

# Plain-http hosts that are not this machine. The runs send plain http through a recording proxy on 127.0.0.1
# (requests honours HTTP_PROXY), so whatever the collection would send to them never leaves this machine.
REMOTE = {
    "ct_api": "http://ct-api.example.com/ct-api/api/v1",
    "ct_auth": "http://ct-id.example.com/ct-id",
    "cthings_api": "http://api.cthings.example.com/cthings-api",
    "cthings_auth": "http://auth.cthings.example.com/token",
}
REFUSED_HTTP = "must use https: {url} would carry tokens and secrets in cleartext"


def test_item6_plain_http_to_another_machine_is_refused_before_anything_is_sent(emulator, raw_server, ansible, tmp_path, scenario_vars):
    proxy = raw_server(lambda request: Reply(502, {"message": "the recording proxy forwards nothing"}))
    proxy_env = {"HTTP_PROXY": proxy.base_url, "http_proxy": proxy.base_url, "NO_PROXY": "127.0.0.1,localhost,::1",
                 "no_proxy": "127.0.0.1,localhost,::1"}
    loopback_name = emulator.ct["api_url"].replace("//127.0.0.1:", "//localhost:")

    def store(case: str) -> str:
        return str(tmp_path / "stores" / case / "tokens.json")  # a fresh store: a refusal must not depend on a stored token

    cases = [
        ("CT api_url", "ct_location_info", {"api_url": REMOTE["ct_api"], "token_store": store("ct-api")}, "api_url", REMOTE["ct_api"]),
        ("CT auth_url", "ct_location_info", {"auth_url": REMOTE["ct_auth"], "token_store": store("ct-auth")}, "auth_url", REMOTE["ct_auth"]),
        ("cThings api_url", "cthings_device_info", {"api_url": REMOTE["cthings_api"], "token_store": store("cthings-api")}, "api_url",
         REMOTE["cthings_api"]),
        ("cThings auth_url", "cthings_device_info", {"auth_url": REMOTE["cthings_auth"], "token_store": store("cthings-auth")}, "auth_url",
         REMOTE["cthings_auth"]),
        ("ct_auth authorize URL", "ct_auth", {"auth_url": REMOTE["ct_auth"], "redirect_uri": emulator.ct["redirect_uri"]}, "auth_url",
         REMOTE["ct_auth"]),
    ]
    tasks = [{"name": name, f"ctcloud.cloud.{module}": args, "ignore_errors": True} for name, module, args, _option, _url in cases]
    tasks.append({"name": "http to localhost is this machine", "ctcloud.cloud.ct_location_info": {"api_url": loopback_name}})
    playbook = tasks_playbook(tmp_path / "http.yml", tasks)
    before = api_requests(emulator.stats())
    run = ansible.playbook(playbook, scenario_vars(emulator, tmp_path / "stores" / "shared" / "tokens.json"), env=proxy_env,
                           stats_url=f"{emulator.admin_url}/stats")

    sent = [f"{request.method} {request.target} (authorization: {'authorization' in request.headers})" for request in proxy.requests]
    assert sent == [], f"requests reached the plain-http hosts: {sent}"
    for name, _module, _args, option, url in cases:
        result = run.one(name)
        assert result.failed, f"{name}: {url} was accepted\n{result.result}"
        assert f"{option} {REFUSED_HTTP.format(url=url)}" in result.msg, f"{name}: {result.msg}"
        assert result.result["failure"]["details"]["field"] == option
        assert api_requests(result.emulator_stats) == before, f"{name}: a request was sent before the refusal"
    assert not run.one("http to localhost is this machine").failed, run.describe()

    # The inventory plugins build the same clients: the same refusal, nothing sent.
    inventory = ansible.inventory([SYSTEM_PLAYBOOKS / "inventory" / "boxes.ct_boxes.yml"],
                                  env={**emulator.environment(tmp_path / "stores" / "inventory" / "tokens.json"), "CT_API_URL": REMOTE["ct_api"],
                                       **proxy_env})
    assert inventory.rc != 0, inventory.describe()
    assert f"api_url {REFUSED_HTTP.format(url=REMOTE['ct_api'])}" in inventory.stderr, inventory.describe()
    assert proxy.requests == []


def test_item6_a_stored_token_is_never_sent_to_another_api_origin(emulator, raw_server, ansible, tmp_path, scenario_vars, token_store):
    other_api = raw_server(lambda request: Reply(200, {"locations": [], "_links": {"current_page": 1, "total_pages": 1, "next_page": None,
                                                                                   "total_entries": 0}}))
    first = tasks_playbook(tmp_path / "first.yml", [{"name": "list locations", "ctcloud.cloud.ct_location_info": {}}])
    ansible.playbook(first, scenario_vars(emulator, token_store)).check()
    stored_for_emulator = stored_ct_entry(token_store)["access_token"]

    # The same client, auth server and token store; only api_url now names another server (a CT_API_URL left over
    # from another environment, or planted).
    elsewhere = tasks_playbook(tmp_path / "elsewhere.yml", [
        {"name": "list locations elsewhere", "ctcloud.cloud.ct_location_info": {"api_url": f"{other_api.base_url}/ct-api/api/v1"}}])
    ansible.playbook(elsewhere, scenario_vars(emulator, token_store)).check()
    received = {request.headers.get("authorization") for request in other_api.requests}
    assert received, "the other API was not asked at all"
    assert f"Bearer {stored_for_emulator}" not in received, "the token stored for the emulator's origin went to another API"

    # Both origins continue the one refresh chain: back at the emulator, with every access token revoked, the
    # stored chain still renews (no invalid_grant).
    emulator.revoke()
    back = ansible.playbook(first, scenario_vars(emulator, token_store)).check()
    assert not back.one("list locations").failed
    assert emulator.stats()["token_errors"] == {}
