"""Checks for the collection's playbooks; ansible-test passes `-e @integration_config.yml`."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import urllib.request

import yaml


def integration_vars(argv: list[str]) -> dict:
    for index, arg in enumerate(argv):
        if arg == "-e" and argv[index + 1].startswith("@"):
            with open(argv[index + 1][1:], encoding="utf-8") as handle:
                return yaml.safe_load(handle)
    sys.exit("expected -e @integration_config.yml")


def collection_dir() -> str:
    listed = subprocess.run(["ansible-galaxy", "collection", "list", "ctcloud.cloud", "--format", "json"],
                            check=True, capture_output=True, text=True).stdout
    for root, collections in json.loads(listed).items():
        if "ctcloud.cloud" in collections:
            return os.path.join(root, "ctcloud", "cloud")
    sys.exit("ctcloud.cloud is not installed where ansible looks")


class Emulator:
    def __init__(self, admin_url: str) -> None:
        self.admin_url = admin_url

    def call(self, path: str, body: dict | None = None) -> dict:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(f"{self.admin_url}/{path}", data=data, method="GET" if body is None else "POST",
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as reply:
            return json.load(reply)

    def writes(self) -> dict:
        return self.call("stats")["writes"]


def run(playbook: str, env: dict, *extra: str, expect_rc: int = 0, cwd: str | None = None) -> str:
    result = subprocess.run(["ansible-playbook", os.path.join(COLLECTION, "playbooks", playbook), *extra],
                            env=env, capture_output=True, text=True, timeout=600, check=False, cwd=cwd)
    if result.returncode != expect_rc:
        print(result.stdout[-6000:], result.stderr[-3000:])
        sys.exit(f"{playbook}: exit code {result.returncode}, expected {expect_rc}")
    return result.stdout


def check(condition: bool, message: str) -> None:
    if not condition:
        sys.exit(f"FAILED: {message}")
    print(f"ok: {message}")


KNOWN_AFTER_CREATE = "(known after create)"


def known_part(planned: dict, returned: dict) -> tuple[dict, dict]:
    """The fields the plan claimed to know, from both sides (a planned create leaves the rest to the server)."""
    keys = [key for key, value in planned.items() if value != KNOWN_AFTER_CREATE]
    return {key: planned[key] for key in keys}, {key: returned.get(key) for key in keys}


def check_ci_plan_equals_apply(env: dict, emulator: Emulator, report: str) -> None:
    emulator.call("reset", {"data": True, "counters": True})
    run("ci-plan.yml", env, "-e", f"ci_report_dir={report}")
    check(sum(sum(m.values()) for m in emulator.writes().values()) == 0, "ci-plan.yml writes nothing")
    run("ci-apply.yml", env, "-e", f"ci_report_dir={report}")
    with open(f"{report}/plan.json", encoding="utf-8") as handle:
        plan = json.load(handle)
    with open(f"{report}/applied.json", encoding="utf-8") as handle:
        applied = json.load(handle)
    for outcome in ("created", "updated", "archived", "deleted", "unchanged"):
        check(plan[outcome] == applied[outcome], f"plan and apply agree on {outcome}: {len(plan[outcome])}")
    check(plan["created"] != [] and plan["archived"] != [], "the plan has creates and archives to prove something")
    writes = emulator.writes()["locations"]
    created_archived = 1  # Cardiff Bay Pop-up is declared archived: a create, then an archive
    check(writes["POST"] == len(plan["created"]), f"one POST per planned create ({writes['POST']})")
    check(writes["PATCH"] == len(plan["archived"]) + len(plan["updated"]) + created_archived, f"one PATCH per planned change ({writes['PATCH']})")
    check(sorted(plan["diff"]["after"]) == sorted(applied["diff"]["after"]), "the apply returned exactly the planned locations")
    mismatches = {}
    for name, planned in plan["diff"]["after"].items():
        claimed, returned = known_part(planned, applied["diff"]["after"][name])
        if claimed != returned:
            mismatches[name] = (claimed, returned)
    check(not mismatches, f"every field the plan predicted is what the API returned {mismatches or ''}")
    unknown = sum(value == KNOWN_AFTER_CREATE for view in plan["diff"]["after"].values() for value in view.values())
    check(unknown > 0, f"the plan left {unknown} server-decided fields unknown instead of claiming null")
    emulator.call("reset", {"data": False, "counters": True})
    run("ci-plan.yml", env, "-e", f"ci_report_dir={report}/again")
    with open(f"{report}/again/plan.json", encoding="utf-8") as handle:
        again = json.load(handle)
    check(again["created"] == again["updated"] == again["archived"] == again["deleted"] == [], "after the apply the plan is empty")
    check(again["diff"]["before"] == applied["diff"]["after"], "the state read back equals what the apply reported")


def check_rolling_reboot_stops(env: dict, emulator: Emulator) -> None:
    emulator.call("reset", {"data": True, "counters": True})
    emulator.call("config", {"reboot_delay": 30})
    try:
        output = run("reboot-rolling.yml", env, "-e", "reboot_locations=all", "-e", "reboot_wait_timeout=2", "-e", "reboot_batch_size=2",
                     expect_rc=2)
    finally:
        emulator.call("config", {"reboot_delay": 2.0})
    patches = emulator.writes()["boxes"]["PATCH"]
    check(patches == 2, f"the rolling reboot stopped after its first batch of 2 ({patches} reboots sent)")
    check("did not come back" in output or "not back" in output or "back_online" in output, "the failure names the box")


def check_device_report(env: dict, emulator: Emulator, report: str) -> None:
    emulator.call("reset", {"data": True, "counters": True})
    inventory = os.path.join(COLLECTION, "playbooks", "inventory", "devices.cthings.yml")
    # Without report_dir, the report goes to the directory ansible-playbook runs in.
    os.makedirs(report)
    run("device-report.yml", env, "-i", inventory, cwd=report)
    devices = [d for d in emulator.call("state")["devices"] if not d.get("isTest")]
    offline = [d for d in devices if not (d.get("connection") or {}).get("status")]
    with open(f"{report}/device-report.md", encoding="utf-8") as handle:
        markdown = handle.read()
    with open(f"{report}/device-report.html", encoding="utf-8") as handle:
        html = handle.read()
    check(f"{len(devices)} devices, **{len(offline)} offline**" in markdown, f"the Markdown counts {len(devices)} devices, {len(offline)} offline")
    check(all(d["name"] in markdown for d in offline), "every offline device is listed")
    check("<svg" in html and "<rect" in html, "the HTML has its chart")
    check(not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html) and "<script" not in html, "the HTML loads nothing from anywhere")


CONFIG = integration_vars(sys.argv[1:])
COLLECTION = collection_dir()


def main() -> None:
    env = dict(
        os.environ,
        CT_API_URL=CONFIG["ct_api_url"], CT_AUTH_URL=CONFIG["ct_auth_url"], CT_CLIENT_ID=CONFIG["ct_client_id"],
        CT_CLIENT_SECRET=CONFIG["ct_client_secret"], CT_REFRESH_TOKEN=CONFIG["ct_refresh_token"],
        CTHINGS_API_URL=CONFIG["cthings_api_url"], CTHINGS_AUTH_URL=CONFIG["cthings_auth_url"],
        CTHINGS_CLIENT_ID=CONFIG["cthings_client_id"], CTHINGS_CLIENT_SECRET=CONFIG["cthings_client_secret"],
        CTCLOUD_TOKEN_STORE=CONFIG["ctcloud_token_store"], ANSIBLE_LOCALHOST_WARNING="false",
    )
    emulator = Emulator(CONFIG["emulator_admin_url"])
    with tempfile.TemporaryDirectory() as report:
        check_ci_plan_equals_apply(env, emulator, f"{report}/ci")
        check_rolling_reboot_stops(env, emulator)
        check_device_report(env, emulator, f"{report}/devices")


if __name__ == "__main__":
    main()
