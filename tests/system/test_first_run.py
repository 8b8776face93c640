# Copyright (c) ctcloud.cloud contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Issue 17: a user's first real run is safe. The shipped playbooks, run as a user runs them.

Every writing playbook under ``playbooks/`` of the collection under test is run, with the
``CT_*``/``CTHINGS_*`` environment a user exports, against an emulator started with
``--pose-as-real-cloud`` (it is then, to the playbooks, a cloud like any other): each refuses
with a message naming the override variable, and the emulator counts 0 writes (and not one
API request). A URL off this machine is refused without any request at all: a loopback trap
stands in as the HTTP(S) proxy, so a request that should not happen would land there, not on
the internet. The override lets a playbook through, and then ct_locations' own purge guard
refuses with the counts. Against the bundled emulator, ``reboot-rolling.yml`` needs a target,
and under ``--check --diff`` its plan names the boxes batch by batch and writes nothing.
"""

from __future__ import annotations

import json
import os
import pty
import re
import select
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from ctsystem.ansible_run import Ansible, AnsibleRun, executable, kill_group, run_command
from ctsystem.collection import ALL_MODULES, REPO, collection_root, has_module
from ctsystem.emulator import Emulator
from ctsystem.evidence import comparable_state
from ctsystem.rawhttp import Reply

OVERRIDE = "ctcloud_allow_real_cloud"
# The playbooks that write, and what a run of each needs besides the environment.
WRITING_PLAYBOOKS = {
    "demo.yml": [],
    "locations.yml": [],
    "ci-apply.yml": ["-e", "ci_report_dir=report"],
    "reboot-rolling.yml": ["-e", "reboot_locations=all"],
}


def shipped(name: str) -> Path:
    root = collection_root()
    assert root is not None
    return root / "playbooks" / name


def play(ansible: Ansible, name: str, env: dict[str, str], args: list[str], check: bool = False, diff: bool = False) -> AnsibleRun:
    """ansible-playbook on a shipped playbook with the implicit localhost, as a user runs it after exporting credentials."""
    inventory = ansible.workdir / "none.ini"
    inventory.write_text("", encoding="utf-8")
    return ansible.playbook(shipped(name), inventory=inventory, env={**env, "ANSIBLE_LOCALHOST_WARNING": "false"}, args=args,
                            check=check, diff=diff)


def refusal(run: AnsibleRun) -> str:
    failed = run.failures()
    assert run.rc != 0 and len(failed) == 1, run.describe()
    return failed[0].msg


def untouched(emulator: Emulator, before: dict[str, Any]) -> None:
    stats = emulator.stats()
    assert stats["writes_total"] == 0, stats["writes"]
    assert stats["total"] == 0, stats["requests"]  # not even a token request: the guard asks /_admin only
    assert comparable_state(emulator.state()) == before


@pytest.mark.parametrize("name, check", [
    *((name, False) for name in sorted(WRITING_PLAYBOOKS)),
    # --check --diff is how a careful user starts; it is refused the same way.
    ("locations.yml", True), ("reboot-rolling.yml", True),
])
def test_a_writing_playbook_refuses_an_emulator_that_is_not_the_bundled_one(name, check, start_emulator, ansible, token_store):
    posing = start_emulator(pose_as_real_cloud=True)
    before = comparable_state(posing.state())
    run = play(ansible, name, posing.environment(token_store), WRITING_PLAYBOOKS[name], check=check, diff=check)
    message = refusal(run)
    assert message.startswith(f"Refusing to run playbooks/{name}: it "), message
    assert f"CT_API_URL {posing.ct['api_url']}" in message and "not served by the bundled emulator" in message
    assert f"-e {OVERRIDE}=true" in message and "Nothing was written." in message
    assert run.failures()[0].task == "Guard | Refuse anything but the bundled emulator, unless ctcloud_allow_real_cloud is true"
    untouched(posing, before)
    assert not token_store.exists()


def test_urls_off_this_machine_are_refused_without_a_request(start_emulator, ansible, token_store, raw_server):
    emulator = start_emulator()
    before = comparable_state(emulator.state())
    # Any request that slipped through would go to this proxy on loopback, and be counted, never to the internet.
    trap = raw_server(lambda request: Reply(502, {"message": "the test's trap proxy"}))
    env = {**emulator.environment(token_store), "CT_API_URL": "https://api.ctapp.io/api/v1", "CTHINGS_AUTH_URL": "https://192.0.2.10/token"}
    env.update(dict.fromkeys(("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY"), trap.base_url))
    env.update(NO_PROXY="", no_proxy="")
    message = refusal(play(ansible, "demo.yml", env, []))
    assert "CT_API_URL is https://api.ctapp.io/api/v1, CTHINGS_AUTH_URL is https://192.0.2.10/token, not on this machine" in message
    assert trap.requests == []
    untouched(emulator, before)


def test_with_the_override_the_playbook_runs_and_ct_locations_refuses_a_purge_of_most_of_the_account(start_emulator, ansible, token_store):
    posing = start_emulator(pose_as_real_cloud=True)
    active = [location["location_name"] for location in posing.state()["locations"] if not location["archived"]]
    run = play(ansible, "locations.yml", posing.environment(token_store), ["-e", f"{OVERRIDE}=true"])
    message = refusal(run)
    assert run.failures()[0].action == "ctcloud.cloud.ct_locations"
    assert message.startswith(f"purge: archive would archive {len(active)} of the account's {len(active)} active locations (100%), "
                              "more than purge_max_share allows (50%): "), message
    assert all(repr(name) in message for name in active)
    assert run.failures()[0].result["failure"]["details"]["locations"] == active
    said = run.results[[result.task for result in run.results].index("Guard | Say so when the run writes to something that is not the bundled emulator")]
    assert "this run writes there" in said.result["msg"]
    stats = posing.stats()
    assert stats["writes_total"] == 0 and stats["requests"]["GET /ct-api/api/v1/locations"] == 1


def test_reboot_rolling_needs_an_explicit_target(emulator, ansible, token_store):
    before = comparable_state(emulator.state())
    message = refusal(play(ansible, "reboot-rolling.yml", emulator.environment(token_store), []))
    assert message.startswith("reboot-rolling.yml needs an explicit target: ")
    assert "-e reboot_locations=all" in message and "Nothing was read or rebooted." in message
    untouched(emulator, before)


def test_the_rolling_reboot_plan_under_check_diff_names_the_boxes_batch_by_batch(emulator, ansible, token_store):
    boxes = emulator.state()["boxes"]
    site = next(box["location_slug"] for box in boxes if box["location_slug"] and box["state"] == "online")
    up = [box["slug"] for box in boxes if box["location_slug"] == site and box["state"] in ("online", "splash_only")]
    run = play(ansible, "reboot-rolling.yml", emulator.environment(token_store), ["-e", f"reboot_locations={site}"], check=True, diff=True)
    assert run.rc == 0, run.describe()
    assert "+++ after: reboot plan" in run.stdout
    planned = re.findall(rf"^\+  (\S+) \(MAC [0-9A-F:]+, location {re.escape(site)}\): reboot, then wait until it is back up$", run.stdout, re.M)
    assert planned == up, run.stdout
    assert re.search(r"^ batch 1 of \d+:$", run.stdout, re.M), run.stdout
    report = run.result(f"Report {site}")["msg"]
    assert report.startswith(f"{site}: would reboot {len(up)} boxes in "), report
    stats = emulator.stats()
    assert stats["writes_total"] == 0 and "PATCH /ct-api/api/v1/boxes/<slug>" not in stats["requests"]


def test_a_play_over_inventory_hosts_runs_modules_with_no_interpreter_configured(emulator, ansible, token_store, tmp_path):
    """Both plugins' hosts that are local run the collection's modules with the Python running Ansible, unasked."""
    devices = tmp_path / "devices.cthings.yml"
    devices.write_text("plugin: ctcloud.cloud.cthings\n", encoding="utf-8")
    boxes = tmp_path / "boxes.ct_boxes.yml"
    boxes.write_text("plugin: ctcloud.cloud.ct_boxes\ncompose:\n  ansible_connection: \"'local'\"\n", encoding="utf-8")
    playbook = tmp_path / "inventory_hosts.yml"
    playbook.write_text(json.dumps([
        {"name": "Devices", "hosts": "cthings_online[0:1]", "gather_facts": False,
         "tasks": [{"name": "Read the device", "ctcloud.cloud.cthings_device_info": {"id": "{{ cthings_id }}"}}]},
        {"name": "Boxes", "hosts": "ct_state_online[0:1]", "gather_facts": False,
         "tasks": [{"name": "Read the box", "ctcloud.cloud.ct_box_info": {"slug": "{{ ct_box_slug }}"}}]},
    ]), encoding="utf-8")
    env = {**emulator.environment(token_store), "ANSIBLE_INVENTORY_ENABLED": "ctcloud.cloud.cthings,ctcloud.cloud.ct_boxes"}
    assert "ANSIBLE_PYTHON_INTERPRETER" not in ansible.environment(env)
    run = ansible.playbook(playbook, inventory=devices, env=env, args=["-i", str(boxes)])
    assert run.rc == 0, run.describe()
    read = run.tasks("Read the device") + run.tasks("Read the box")
    assert len(read) == 4 and all(result.status == "ok" for result in read), run.describe()
    for result in run.tasks("Read the device"):
        assert [device["id"] for device in result.result["devices"]] != []
    for result in run.tasks("Read the box"):
        assert [box["slug"] for box in result.result["boxes"]] == [result.host]
    # The interpreter came from the inventory: Ansible never had to discover one (which finds whatever python3 is on PATH).
    assert not any("discovered_interpreter_python" in result.result.get("ansible_facts", {}) for result in read)
    assert emulator.stats()["writes_total"] == 0


def recommended_ansible_cfg() -> str:
    """The ansible.cfg that docs/inventory.md recommends, as the reader copies it."""
    text = (REPO / "docs" / "inventory.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```ini\n(# ansible\.cfg\n.*?)```", text, re.S)
    assert len(blocks) == 1, "docs/inventory.md should hold one ansible.cfg block"
    return blocks[0]


def test_with_the_recommended_ansible_cfg_a_plugin_failure_is_the_only_warning(ansible, tmp_path, token_store, emulator):
    (tmp_path / "ansible.cfg").write_text(recommended_ansible_cfg(), encoding="utf-8")
    config = tmp_path / "boxes.ct_boxes.yml"
    config.write_text("plugin: ctcloud.cloud.ct_boxes\nstates: [online, sleeping]\n", encoding="utf-8")
    run = ansible.inventory([config], env={**emulator.environment(token_store), "ANSIBLE_CONFIG": str(tmp_path / "ansible.cfg")})
    output = run.stdout + run.stderr
    assert run.rc != 0
    assert output.count("[WARNING]: Failed to parse inventory with") == 1, output
    assert "boxes.ct_boxes.yml: states: 'sleeping' is not a box state" in output
    assert "No inventory was parsed" in output
    assert emulator.stats()["total"] == 0


def test_module_docs_show_each_note_once_and_the_action_group(ansible):
    modules = [f"ctcloud.cloud.{name}" for name in ALL_MODULES if has_module(name)]
    run = run_command([executable("ansible-doc"), "--json", *modules], ansible.environment(), ansible.workdir, 120)
    assert run.rc == 0, run.describe()
    docs = {name: entry["doc"] for name, entry in json.loads(run.stdout).items()}
    assert sorted(docs) == sorted(modules)
    for name, doc in docs.items():
        notes = doc.get("notes", [])
        assert len(notes) == len(set(notes)), f"{name} repeats a note: {notes}"
        group = "ctcloud.cloud.cthings" if name.startswith("ctcloud.cloud.cthings_") else "ctcloud.cloud.ct"
        assert doc["attributes"]["action_group"]["membership"] == [group], name


def documented_ct_auth_playbook() -> str:
    """The browser-step playbook of docs/ct-authorization.md, as a reader copies it."""
    text = (REPO / "docs" / "ct-authorization.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```yaml\n(# ct-auth\.yml.*?)```", text, re.S)
    assert len(blocks) == 1, "docs/ct-authorization.md should hold one ct-auth.yml block"
    return blocks[0]


def read_terminal(master: int, done: Callable[[bytes], bool], bound: float = 120.0) -> bytes:
    """What the terminal showed, until ``done(shown)`` or its end; bounded, never a timing assertion."""
    seen = b""
    deadline = time.monotonic() + bound
    while not done(seen) and time.monotonic() < deadline:
        ready = select.select([master], [], [], 0.5)[0]
        if ready:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # the other side is gone: the run ended
                break
            if not chunk:
                break
            seen += chunk
    return seen


def test_the_documented_browser_step_works_when_the_url_is_copied_from_the_prompt(emulator, ansible, token_store, tmp_path):
    """docs/ct-authorization.md's playbook on a terminal: copy the URL the pause prompt shows, "open" it, paste where it lands."""
    playbook = tmp_path / "ct-auth.yml"
    playbook.write_text(documented_ct_auth_playbook(), encoding="utf-8")
    # As a user runs it: on a terminal, no inventory (the implicit localhost), no refresh token yet.
    env = ansible.environment({**emulator.environment(token_store), "ANSIBLE_LOCALHOST_WARNING": "false", "ANSIBLE_INVENTORY_UNPARSED_FAILED": "false"})
    del env["CT_REFRESH_TOKEN"]
    command = [executable("ansible-playbook"), str(playbook), "-e", f"redirect_uri={emulator.ct['redirect_uri']}"]
    pid, master = pty.fork()  # the child's controlling terminal is the pty, as pause needs
    if pid == 0:  # pragma: no cover - the child becomes ansible-playbook
        os.chdir(tmp_path)
        os.execve(command[0], command, env)
    try:
        # pause shows its prompt followed by ':' and waits.
        prompt = read_terminal(master, lambda shown: b"/oauth/authorize?" in shown and shown.rstrip().endswith(b":")).decode("utf-8", "replace")
        copied = [word for word in prompt.split() if "/oauth/authorize?" in word]
        assert len(copied) == 1, prompt
        # The browser: sign-in and consent are the emulator's automatic yes; CT redirects to the callback with the code.
        landed = follow_without_redirect(copied[0])
        assert "code=" in landed and "error=" not in landed, (copied[0], landed)
        os.write(master, landed.encode() + b"\r")
        rest = read_terminal(master, lambda shown: False).decode("utf-8", "replace")  # to the end of the run
    finally:
        os.close(master)
        kill_group(pid)
        status = os.waitpid(pid, 0)[1]
    assert os.waitstatus_to_exitcode(status) == 0, (prompt + rest)[-4000:]
    assert emulator.stats()["token_requests"]["ct"]["authorization_code"] == 1
    assert json.loads(token_store.read_text(encoding="utf-8"))["entries"], "the tokens were stored"


def follow_without_redirect(url: str) -> str:
    """The Location a GET of ``url`` redirects to (the emulator's authorize endpoint, on loopback)."""
    assert url.startswith("http://127.0.0.1:"), url

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: Any, **kwargs: Any) -> None:
            return None

    try:
        urllib.request.build_opener(NoRedirect).open(url, timeout=30)
    except urllib.error.HTTPError as error:
        return error.headers.get("Location", "")
    raise AssertionError(f"{url} did not redirect")


def test_the_readme_opens_with_install_and_use_and_keeps_the_two_commands_of_a_clone():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    sections = re.findall(r"^## (.+)$", readme, re.M)
    assert sections[0] == "Install and use", sections
    assert "ansible-galaxy collection install" in readme.split("\n## ")[1]
    commands = [line for block in re.findall(r"```sh\n(.*?)```", readme, re.S) for line in block.splitlines() if "tools/bootstrap.py" in line]
    assert [command.split("#")[0].strip() for command in commands] == ["python3 tools/bootstrap.py -s demo", "python3 tools/bootstrap.py"]
    assert "\nexec python3 tools/bootstrap.py\n" in (REPO / ".ci" / "run").read_text(encoding="utf-8")
