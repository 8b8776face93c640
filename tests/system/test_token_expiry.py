# Copyright (c) ctcloud.cloud contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Issue 7, item 2: CT access tokens that die without notice, twenty forks at once, and a kill mid-rotation.

- ``forks: 20`` over 20 local hosts, every host calling CT modules at the same
  moment, while the emulator revokes every access token every 7th CT API request
  (that request answers 401). Under both rotation modes: ``on_use`` (Doorkeeper's
  default, the contract) and ``strict`` (a refresh token dies at once when used, so
  two processes refreshing with the same token would lose one: only the store's
  lock prevents it). Then: no ``invalid_grant`` at all, every host's location
  exists once, and a follow-up run that has to refresh gets in with the stored
  chain -- started from the same initial refresh token, as a CI secret would be.
- The kill window: a module process is SIGKILLed after it received a rotated
  refresh token and wrote it to a temporary file, before the rename that stores it
  (``kill_hook/sitecustomize.py``), while it holds the store's lock. The next run
  still authenticates. A module process exists where the module runs remotely (here:
  a host behind the ``pretend_remote`` connection); on a local connection the module
  runs inside Ansible's worker process (issue 14), and the same kill then hits that
  worker: the same guarantees hold. Why it must: the client stores before it uses the new
  access token, and the contract's server revokes the old refresh token only on
  that first use (docs/api-contract.md, "rotation"); so the old token, still in
  the store, still works. The unit test
  ``tests/unit/plugins/module_utils/test_ct_client.py::test_killed_between_token_received_and_stored_the_next_run_still_authenticates``
  shows the same for the client alone; under ``strict`` rotation no client can close
  that window (``test_with_strict_rotation_the_kill_window_loses_the_chain_and_says_how_to_recover``).
"""

from __future__ import annotations

import fcntl
import json
import os
import stat
import sys
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from ctsystem.ansible_run import AnsibleRun
from ctsystem.collection import CONNECTION_PLUGINS, PLAYBOOKS, SYSTEM_DIR
from ctsystem.dialects import across_dialects
from ctsystem.evidence import stored_ct_entry

HOSTS = [f"fork{number:02d}" for number in range(1, 21)]
REVOKE_EVERY = 25


def hosts_inventory(ansible, tmp_path: Path) -> Path:
    return ansible.write_inventory(tmp_path / "forks.yml", HOSTS)


def refresh_is_accepted(emulator, refresh_token: str) -> bool:
    """Ask the emulator's token endpoint directly (the last step of a test: this rotates the chain)."""
    form = {"grant_type": "refresh_token", "refresh_token": refresh_token, "client_id": emulator.ct["client_id"],
            "client_secret": emulator.ct["client_secret"]}
    request = urllib.request.Request(f"{emulator.ct['auth_url']}/oauth/token", data=urllib.parse.urlencode(form).encode(), method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status == 200
    except urllib.error.HTTPError:
        return False


# Each rotation once, each with another dialect (the 2015-era Doorkeeper the dashboard suggests rotates strictly).
@across_dialects("rotation", ["strict", "on_use"])
def test_twenty_forks_survive_revocations_without_invalid_grant(start_emulator, ansible, tmp_path, token_store, scenario_vars, rotation):
    emulator = start_emulator(revoke_every=REVOKE_EVERY, ct_rotation=rotation)
    inventory = hosts_inventory(ansible, tmp_path)
    extra_vars = scenario_vars(emulator, token_store)

    run = ansible.playbook(PLAYBOOKS / "forks.yml", extra_vars, inventory=inventory, forks=20).check()
    stats = emulator.stats()
    assert stats["revocations"] >= 2, stats  # tokens really died under the forks, more than once
    assert stats["token_errors"] == {}, stats
    assert sorted(result.host for result in run.tasks("It exists exactly once") if result.status == "ok") == HOSTS
    assert stats["writes"]["locations"]["POST"] == 20
    first_refreshes = stats["token_requests"]["ct"]["refresh_token"]
    assert first_refreshes >= stats["revocations"] // 2, stats  # revocations were answered by refreshing, not by luck

    entry = stored_ct_entry(token_store)
    assert entry is not None and entry["refresh_token"] != emulator.ct["refresh_token"]
    assert stat.S_IMODE(token_store.stat().st_mode) == 0o600
    assert stat.S_IMODE(token_store.parent.stat().st_mode) == 0o700

    # Follow-up: every access token dead, no more revocations; the same initial refresh token is given again.
    emulator.configure(revoke_every=0)
    emulator.revoke()
    emulator.reset(data=False, counters=True)
    again = ansible.playbook(PLAYBOOKS / "forks.yml", extra_vars, inventory=inventory, forks=20).check()
    stats = emulator.stats()
    assert stats["token_errors"] == {}, stats
    assert stats["token_requests"]["ct"]["refresh_token"] == 1, stats  # one fork refreshed; nineteen took its token from the store
    assert stats["writes_total"] == 0, stats
    assert not any(result.result.get("changed") for result in again.tasks("Make sure this host's location exists"))
    assert refresh_is_accepted(emulator, stored_ct_entry(token_store)["refresh_token"])


def kill_hook_interpreter(tmp_path: Path, store: Path) -> Path:
    """An interpreter for the module processes that dies with SIGKILL just before storing a token in ``store``."""
    wrapper = tmp_path / "python-killed-before-store"
    hook_dir = SYSTEM_DIR / "kill_hook"
    wrapper.write_text(
        "#!/bin/sh\n"
        f"CTCLOUD_KILL_ON_STORE_REPLACE='{store}' PYTHONPATH='{hook_dir}'${{PYTHONPATH:+:$PYTHONPATH}} exec '{sys.executable}' \"$@\"\n",
        encoding="utf-8",
    )
    wrapper.chmod(0o755)
    return wrapper


def test_a_module_killed_between_token_received_and_stored_loses_nothing(start_emulator, ansible, tmp_path, token_store, scenario_vars):
    emulator = start_emulator()
    extra_vars = scenario_vars(emulator, token_store)
    ansible.playbook(PLAYBOOKS / "ping.yml", extra_vars).check()
    before = token_store.read_bytes()
    stored_refresh = stored_ct_entry(token_store)["refresh_token"]
    emulator.revoke()  # the stored access token dies without notice: the next request must refresh
    emulator.reset(data=False, counters=True)

    # A connection that is not local: the module runs as a process of its own, with the killing interpreter.
    killed_inventory = ansible.write_inventory(tmp_path / "killed.yml", ["localhost"], ansible_connection="pretend_remote",
                                               ansible_python_interpreter=str(kill_hook_interpreter(tmp_path, token_store)))
    killed = ansible.playbook(PLAYBOOKS / "ping.yml", extra_vars, inventory=killed_inventory, env={"ANSIBLE_CONNECTION_PLUGINS": str(CONNECTION_PLUGINS)})
    assert killed.rc != 0
    failure = killed.one("List the locations")
    assert failure.failed, failure.result
    assert failure.result.get("rc") == 128 + 9 and "Killed" in failure.result.get("module_stderr", ""), failure.result  # SIGKILL
    assert_nothing_lost(ansible, emulator, token_store, extra_vars, before, stored_refresh)


def test_a_worker_killed_between_token_received_and_stored_loses_nothing(start_emulator, ansible, tmp_path, token_store, scenario_vars):
    """On a local connection the module runs in Ansible's worker process: the kill hook, loaded into ansible-playbook, kills that."""
    emulator = start_emulator()
    extra_vars = scenario_vars(emulator, token_store)
    ansible.playbook(PLAYBOOKS / "ping.yml", extra_vars).check()
    before = token_store.read_bytes()
    stored_refresh = stored_ct_entry(token_store)["refresh_token"]
    emulator.revoke()
    emulator.reset(data=False, counters=True)

    python_path = os.pathsep.join(filter(None, [str(SYSTEM_DIR / "kill_hook"), os.environ.get("PYTHONPATH")]))
    hook = {"CTCLOUD_KILL_ON_STORE_REPLACE": str(token_store), "PYTHONPATH": python_path}
    killed = ansible.playbook(PLAYBOOKS / "ping.yml", extra_vars, env=hook)
    assert killed.rc != 0
    assert "A worker was found in a dead state" in killed.stdout + killed.stderr, killed.describe()
    assert_nothing_lost(ansible, emulator, token_store, extra_vars, before, stored_refresh)


def assert_nothing_lost(ansible, emulator, token_store: Path, extra_vars: dict, before: bytes, stored_refresh: str) -> None:
    """After a kill between receiving a rotated refresh token and storing it: the store holds the previous chain, and it still works."""
    stats = emulator.stats()
    assert stats["token_requests"]["ct"]["refresh_token"] == 1, stats  # the rotated token was issued...
    assert token_store.read_bytes() == before  # ...and never stored: the store still holds the previous chain
    # The dead process's temporary file (the kill came after the write, before the rename) stays, private like the store.
    [leftover] = [path for path in token_store.parent.iterdir() if path.name.endswith(".tmp")]
    assert stat.S_IMODE(leftover.stat().st_mode) == 0o600
    with open(f"{token_store}.lock", "a", encoding="utf-8") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)  # the kernel released the dead holder's lock

    recovered = ansible.playbook(PLAYBOOKS / "ping.yml", extra_vars).check()
    assert recovered.one("List the locations").status == "ok"
    stats = emulator.stats()
    assert stats["token_errors"] == {}, stats
    assert stats["token_requests"]["ct"]["refresh_token"] == 2, stats
    new_refresh = stored_ct_entry(token_store)["refresh_token"]
    assert new_refresh != stored_refresh
    assert refresh_is_accepted(emulator, new_refresh)
    json.loads(token_store.read_text(encoding="utf-8"))  # and the store is whole
    assert os.stat(token_store).st_size > 0


@pytest.mark.both_dialects
@pytest.mark.parametrize("rotation", ["on_use", "strict"])
def test_a_lost_refresh_reply_is_survived_or_ends_in_run_ct_auth_again(start_emulator, ansible, tmp_path, token_store, scenario_vars, rotation):
    """The refresh is made but its reply never arrives. Revoking on first use, the old refresh token still works and the
    resent refresh gets in. Revoking at refresh (a 2015-era Doorkeeper, as CT's may be), it is dead with the reply: the
    task fails saying to run ct_auth again, and doing so recovers."""
    emulator = start_emulator(ct_rotation=rotation)
    extra_vars = scenario_vars(emulator, token_store)
    emulator.configure(lose_refresh_replies=1)
    run = ansible.playbook(PLAYBOOKS / "ping.yml", extra_vars)
    listed = run.one("List the locations")
    stats = emulator.stats()
    assert stats["token_requests"]["ct"]["refresh_token"] == 2, stats  # the lost one and one more, never a third
    if rotation == "on_use":
        assert listed.status == "ok", listed.result
        assert stats["token_errors"] == {}, stats
        assert refresh_is_accepted(emulator, stored_ct_entry(token_store)["refresh_token"])
        return
    assert listed.failed
    assert "reply to a token refresh was lost" in listed.msg and "run ctcloud.cloud.ct_auth again" in listed.msg, listed.msg
    assert listed.python_traceback() is None
    assert stats["hosts"]["ct_api"] == 0 and stats["token_errors"] == {"invalid_grant": 1}, stats

    # What the message says to do: the browser step again, into the same store; later runs need no refresh_token.
    def ct_auth(path: Path, name: str, **options: str) -> AnsibleRun:
        path.write_text(json.dumps([{"hosts": "targets", "gather_facts": False, "tasks": [
            {"name": name, "ctcloud.cloud.ct_auth": {**extra_vars["ct_conn"], "redirect_uri": emulator.ct["redirect_uri"], **options}}]}]),
            encoding="utf-8")
        return ansible.playbook(path, extra_vars).check()

    started = ct_auth(tmp_path / "authorize.yml", "Step 1").result("Step 1")
    ct_auth(tmp_path / "exchange.yml", "Exchange the new code", code=emulator.landed_url(started["authorize_url"]))
    without_token = dict(extra_vars, ct_conn={key: value for key, value in extra_vars["ct_conn"].items() if key != "refresh_token"})
    assert ansible.playbook(PLAYBOOKS / "ping.yml", without_token).check().one("List the locations").status == "ok"
