# Copyright (c) ctcloud.cloud contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Issue 13: one CT token chain shared by every CI runner and AWX job, through a real Redis.

The runner test: four runners -- separate ``ansible-playbook`` processes, each with its
own HOME, Ansible home, temp and cache directories; nothing shared but the Redis server --
run one after another and all at once against the emulator in its revoke-at-refresh mode
(``ct_rotation: strict``: a refresh token dies the moment it is used, so two runners
refreshing with the same token would lose one) with 4-second access tokens. Each job
is what a CI job is: credentials, the initial refresh token (the CI secret), the Redis
URL and the encryption key in its environment, a ct_boxes inventory source and a CT
module task. Then:

- no ``invalid_grant`` (no token error at all), every run authenticated;
- refreshes bounded by one per expiry window: no refresh was issued while the token of
  the previous one was still inside its renewal window (from the emulator's own issue
  times, so a slow machine loosens nothing and tightens nothing);
- no plaintext token in Redis: every key's value is searched for every token the
  emulator issued, the initial refresh token and the client secret;
- no token store file in any runner's home.

Then the failure rules (item 4), each with its evidence: Redis down, a Redis that
refuses writes, a wrong key, a read-only file store -- no token request, the store
named without its password (at ``-vvv`` too), the chain untouched; and a runner killed
between the token reply and the write, after which the next runner continues the chain.
"""

from __future__ import annotations

import concurrent.futures
import itertools
import json
import time
from pathlib import Path
from typing import Any

import jinja2.sandbox
import pytest
import yaml
from ctsystem.ansible_run import Ansible, AnsibleRun
from ctsystem.collection import PLAYBOOKS, REPO
from ctsystem.redis_server import RedisServer
from test_token_expiry import kill_hook_interpreter

TTL = 4  # seconds an access token lives
MARGIN_SHARE = 0.25  # the client renews this share of a short lifetime early (oauth.EXPIRY_MARGIN_SHARE)
# The lifetime the client estimates is up to a second longer than TTL (it keeps whole seconds of its receipt time).
MIN_REFRESH_SPACING = TTL - (TTL + 1) * MARGIN_SHARE
RUNNERS = 4
KEY = "u9ZoS6dN7Qm1kjM3hVJ1n3N_sq8p6p7Tjq5f2bq0S9Y="
WRONG_KEY = "qA4mD0YQ2vHkEw7pW1Q1c6m3N0xYB8tZL0Gf3bq6yS4="
REDIS_PASSWORD = "Redis-Pa55-of-the-runners"
BOXES_INVENTORY = PLAYBOOKS / "inventory" / "boxes.ct_boxes.yml"
AWX_CREDENTIAL_TYPES = REPO / "docs" / "awx" / "credential-types"


@pytest.fixture
def redis_server(tmp_path: Path):
    server = RedisServer(str(tmp_path / "redis"), password=REDIS_PASSWORD).start()
    yield server
    server.stop()


def redis_url(server: RedisServer, password: str = REDIS_PASSWORD, user: str = "default") -> str:
    return f"redis://{user}:{password}@127.0.0.1:{server.port}/0"


class Runner:
    """One CI runner: a home of its own, and the environment a CI job gives ansible-playbook."""

    def __init__(self, base: Path, name: str, emulator: Any, store: str, key: str | None) -> None:
        self.name = name
        self.home = base / name
        self.home.mkdir(parents=True)
        self.ansible = Ansible(self.home / "work")
        self.env = {**emulator.environment(store), "HOME": str(self.home), "TMPDIR": str(self.home / "work")}
        if key:
            self.env["CTCLOUD_TOKEN_STORE_KEY"] = key

    def job(self, playbook: Path = PLAYBOOKS / "runner.yml", **options: Any) -> AnsibleRun:
        """``runner.yml`` with the ct_boxes inventory source, or another playbook on localhost alone."""
        sources = ["-i", str(BOXES_INVENTORY)] if playbook.name == "runner.yml" else []
        return self.ansible.playbook(playbook, args=sources, env=self.env, **options)


def issued(emulator: Any) -> list[dict[str, Any]]:
    return emulator.admin("GET", "ct/grants")["issued"]


def wait_out_the_access_token(emulator: Any) -> None:
    """Until the newest CT access token has expired (bounded by its lifetime), so that the next job must refresh."""
    grants = issued(emulator)
    if grants:
        remaining = grants[-1]["created_at"] + grants[-1]["expires_in"] - time.time()
        time.sleep(max(0.0, min(remaining, TTL)) + 0.1)


def refreshes(emulator: Any) -> int:
    return emulator.stats()["token_requests"]["ct"]["refresh_token"]


def assert_authenticated(run: AnsibleRun) -> None:
    run.check()
    assert run.one("List the locations").status == "ok", run.describe()


def assert_no_secret_in(values: dict[str, bytes], secrets: list[str]) -> None:
    for name, value in values.items():
        for secret in secrets:
            assert secret.encode() not in value, f"{name} holds a token or secret in the clear"


def test_runners_share_one_chain_through_redis_under_revoke_at_refresh(start_emulator, redis_server, tmp_path):
    emulator = start_emulator(ct_rotation="strict", ct_access_ttl=TTL)
    store = redis_url(redis_server)
    runners = [Runner(tmp_path, f"runner{number}", emulator, store, KEY) for number in range(RUNNERS)]

    # Alternately: each job on the next runner, so the chain's newest link is always another runner's.
    refreshed_by = set()
    for round_number in range(2):
        for runner in runners:
            if round_number == 0:
                # A job takes about a second now that modules run in the worker (issue 14): without waiting, one token
                # would serve them all and the chain would never move. The first round waits it out (at most TTL each).
                wait_out_the_access_token(emulator)
            before = refreshes(emulator)
            assert_authenticated(runner.job())
            if refreshes(emulator) > before:
                refreshed_by.add(runner.name)
        del round_number
    # Concurrently: every runner at once, twice.
    with concurrent.futures.ThreadPoolExecutor(max_workers=RUNNERS) as pool:
        for _round in range(2):
            for run in pool.map(lambda runner: runner.job(), runners):
                assert_authenticated(run)

    stats = emulator.stats()
    assert stats["token_errors"] == {}, stats  # not one invalid_grant
    grants = issued(emulator)
    assert len(grants) == stats["token_requests"]["ct"]["refresh_token"] >= 2, grants
    assert len(refreshed_by) >= 2, refreshed_by  # the chain really moved between runners
    times = [grant["created_at"] for grant in grants]
    spacings = [later - earlier for earlier, later in itertools.pairwise(times)]
    assert min(spacings) >= MIN_REFRESH_SPACING, spacings  # never two refreshes within one expiry window

    values = redis_server.values()
    token_values = {name: value for name, value in values.items() if name.startswith("ctcloud:token:")}
    assert token_values, values
    assert all(value.startswith(b"gAAAA") for value in token_values.values()), token_values  # sealed (Fernet)
    secrets = [emulator.ct["refresh_token"], emulator.ct["client_secret"]]
    secrets += [grant[kind] for grant in grants for kind in ("access_token", "refresh_token")]
    assert_no_secret_in(values, secrets)
    for runner in runners:
        assert not list(runner.home.rglob("tokens.json*")), runner.name  # the store is Redis, nowhere else


def test_redis_down_or_refusing_writes_fails_before_any_token_request_without_showing_its_password(start_emulator, redis_server, tmp_path):
    emulator = start_emulator(ct_rotation="strict")
    client = redis_server.client()
    client.acl_setuser("reader", enabled=True, passwords=["+Reader-Pa55-never-shown"], keys=["*"], commands=["+@read", "+@connection"])
    client.close()
    cases = {
        "refuses writes": (redis_url(redis_server, "Reader-Pa55-never-shown", "reader"), "Reader-Pa55-never-shown"),
        "down": ("redis://ci:Down-Pa55-never-shown@127.0.0.1:1/0", "Down-Pa55-never-shown"),
    }
    for case, (url, password) in cases.items():
        runner = Runner(tmp_path, case.replace(" ", "-"), emulator, url, KEY)
        run = runner.job(PLAYBOOKS / "ping.yml", extra_vars={"ct_conn": emulator.ct_connection(url)}, verbosity=3)
        assert run.rc != 0, case
        assert password not in run.text(), case  # messages, -vvv invocation, failure details
        assert "********@127.0.0.1" in run.text(), case  # the store is named, its password masked
        assert "no token is renewed" in run.text() or "cannot read the token store" in run.text(), run.describe()
    assert refreshes(emulator) == 0  # the chain was never touched
    assert emulator.stats()["token_errors"] == {}


def test_a_wrong_key_is_a_clear_error_that_never_rotates_or_overwrites_the_chain(start_emulator, redis_server, tmp_path):
    emulator = start_emulator(ct_rotation="strict")
    store = redis_url(redis_server)
    assert_authenticated(Runner(tmp_path, "first", emulator, store, KEY).job(PLAYBOOKS / "ping.yml", extra_vars={"ct_conn": {}}))
    before = redis_server.values()
    emulator.revoke()  # the next job has to refresh: it must not
    refreshes_before = refreshes(emulator)
    for name, key in (("wrong-key", WRONG_KEY), ("no-key", None)):
        run = Runner(tmp_path, name, emulator, store, key).job(PLAYBOOKS / "ping.yml", extra_vars={"ct_conn": {}})
        assert run.rc != 0
        message = run.one("List the locations").msg
        assert "cannot be decrypted" in message or "is encrypted, but no key is set" in message, message
        assert REDIS_PASSWORD not in run.text()
    assert refreshes(emulator) == refreshes_before
    assert {name: value for name, value in redis_server.values().items() if not name.startswith("ctcloud:lease:")} == \
        {name: value for name, value in before.items() if not name.startswith("ctcloud:lease:")}
    assert_authenticated(Runner(tmp_path, "right-key", emulator, store, KEY).job(PLAYBOOKS / "ping.yml", extra_vars={"ct_conn": {}}))
    assert emulator.stats()["token_errors"] == {}


def test_a_read_only_file_store_is_never_refreshed_into(start_emulator, ansible, tmp_path, token_store, scenario_vars):
    emulator = start_emulator(ct_rotation="strict")
    extra_vars = scenario_vars(emulator, token_store)
    ansible.playbook(PLAYBOOKS / "ping.yml", extra_vars).check()
    token_store.chmod(0o400)
    before = token_store.read_bytes()
    emulator.revoke()
    refreshes_before = refreshes(emulator)
    run = ansible.playbook(PLAYBOOKS / "ping.yml", extra_vars)
    assert run.rc != 0
    assert "is read-only (mode 0400), so no token is renewed" in run.one("List the locations").msg
    assert refreshes(emulator) == refreshes_before
    assert token_store.read_bytes() == before


def test_a_runner_killed_between_the_token_reply_and_the_write_leaves_a_chain_the_next_one_continues(start_emulator, redis_server, tmp_path):
    emulator = start_emulator()  # on_use: the old refresh token lives until the new access token is used
    store = redis_url(redis_server)
    first = Runner(tmp_path, "first", emulator, store, KEY)
    assert_authenticated(first.job(PLAYBOOKS / "ping.yml", extra_vars={"ct_conn": {}}))
    before = {name: value for name, value in redis_server.values().items() if name.startswith("ctcloud:token:")}
    emulator.revoke()

    killed = Runner(tmp_path, "killed", emulator, store, KEY)
    killed.env["CTCLOUD_KILL_AFTER_TOKEN_REPLY"] = "1"
    # As a module process of its own (not in the task's worker, issue 14), so that the killing interpreter runs it.
    inventory = killed.ansible.write_inventory(tmp_path / "killed.yml", ["localhost"], ctcloud_in_process=False,
                                               ansible_python_interpreter=str(kill_hook_interpreter(tmp_path, tmp_path / "no-file-store")))
    run = killed.ansible.playbook(PLAYBOOKS / "ping.yml", {"ct_conn": {}}, inventory=inventory, env=killed.env)
    failure = run.one("List the locations")
    assert failure.failed and failure.result.get("rc") == 128 + 9, failure.result  # SIGKILL, after the reply
    assert refreshes(emulator) == 2  # the new pair was issued...
    after_kill = {name: value for name, value in redis_server.values().items() if name.startswith("ctcloud:token:")}
    assert after_kill == before  # ...and never stored

    # The next runner waits out the dead runner's lease (bounded by its lifetime) and continues the chain.
    assert_authenticated(Runner(tmp_path, "next", emulator, store, KEY).job(PLAYBOOKS / "ping.yml", extra_vars={"ct_conn": {}}))
    stats = emulator.stats()
    assert stats["token_errors"] == {}, stats
    assert stats["token_requests"]["ct"]["refresh_token"] == 3, stats
    stored = {name: value for name, value in redis_server.values().items() if name.startswith("ctcloud:token:")}
    assert stored != before and json.dumps(sorted(stored))  # a newer link, sealed like the rest


def awx_environment(credential_type: Path, inputs: dict[str, str]) -> dict[str, str]:
    """The environment AWX gives a job for a credential of ``credential_type`` with ``inputs`` (unset fields render empty)."""
    definition = yaml.safe_load(credential_type.read_text(encoding="utf-8"))
    environment = jinja2.sandbox.SandboxedEnvironment()
    return {name: environment.from_string(template).render(**inputs) for name, template in definition["injectors"]["env"].items()}


def test_the_awx_credential_types_bootstrap_a_chain_into_redis_and_run_a_job_with_it(start_emulator, redis_server, tmp_path):
    emulator = start_emulator(ct_rotation="strict")
    types = {path.stem: yaml.safe_load(path.read_text(encoding="utf-8")) for path in AWX_CREDENTIAL_TYPES.glob("*.yml")}
    assert sorted(types) == ["ct", "cthings"]
    for definition in types.values():
        fields = {field["id"]: field for field in definition["inputs"]["fields"]}
        for secret in ("client_secret", "token_store", "token_store_key", "refresh_token"):
            assert secret not in fields or fields[secret].get("secret") is True, (definition["name"], secret)
        assert set(definition["inputs"]["required"]) <= set(fields)
    ct_env = awx_environment(AWX_CREDENTIAL_TYPES / "ct.yml", {
        "client_id": emulator.ct["client_id"], "client_secret": emulator.ct["client_secret"], "token_store": redis_url(redis_server),
        "token_store_key": KEY, "api_url": emulator.ct["api_url"], "auth_url": emulator.ct["auth_url"]})
    cthings_env = awx_environment(AWX_CREDENTIAL_TYPES / "cthings.yml", {
        key: emulator.cthings[key] for key in ("client_id", "client_secret", "api_url", "auth_url")})
    assert ct_env["CT_REFRESH_TOKEN"] == ""  # an unset field: the chain comes from the store

    bootstrap = Runner(tmp_path, "bootstrap", emulator, "", None)
    bootstrap.env = {"HOME": str(bootstrap.home), **ct_env}
    started = bootstrap.job(PLAYBOOKS / "awx_bootstrap.yml", extra_vars={"redirect_uri": emulator.ct["redirect_uri"]}).check()
    landed_on = emulator.landed_url(started.result("Step 1, the authorize URL")["authorize_url"])  # the browser step
    stored = bootstrap.job(PLAYBOOKS / "awx_bootstrap.yml", extra_vars={"redirect_uri": emulator.ct["redirect_uri"], "landed_on": landed_on},
                           verbosity=3).check()
    assert stored.result("Exchange the code")["token_store"] == f"redis://default:********@127.0.0.1:{redis_server.port}/0"
    assert REDIS_PASSWORD not in stored.text() and KEY not in stored.text()

    job = Runner(tmp_path, "job", emulator, "", None)
    job.env = {"HOME": str(job.home), **ct_env, **cthings_env}
    assert_authenticated(job.job())
    stats = emulator.stats()
    assert stats["token_requests"]["ct"] == {"authorization_code": 1, "refresh_token": 0}, stats  # the stored pair served the job
    assert stats["token_errors"] == {}, stats
