"""The emulator as a process: start-up line, ready file, launchers, signals, the state file across restarts."""

from __future__ import annotations

import json
import os
import re
import signal
import stat
import subprocess
import sys
import time
import uuid

import pytest
from emulator_testing import EMULATOR_DIR, RUN_EMULATOR

VALID_LOCATION = {"location_name": "Survives Restarts", "location_address": "1 Disk Road", "town": "Storage", "postcode": "ST0 1RE", "country": "gb"}


def test_start_line_has_the_contract_shape(spawn_emulator, tmp_path):
    ready_file = tmp_path / "ready.json"
    emulator = spawn_emulator("--ready-file", str(ready_file), "--seed", "5")
    line = emulator.line
    base = f"http://127.0.0.1:{line['port']}"
    assert line["pid"] == emulator.process.pid
    assert line["admin_url"] == f"{base}/_admin"
    assert line["dialect"] == "dashboard"  # the default: the APIs as the vendor's dashboard shows them
    assert set(line["ct"]) == {"auth_url", "api_url", "client_id", "client_secret", "refresh_token", "redirect_uri"}
    assert (line["ct"]["auth_url"], line["ct"]["api_url"]) == (f"{base}/ct-id", f"{base}/ct-api/api/v1")
    assert line["ct"]["redirect_uri"] == "https://localhost/callback"
    for key in ("client_id", "client_secret", "refresh_token"):
        assert re.fullmatch(r"[0-9a-f]{64}", line["ct"][key])
    assert set(line["cthings"]) == {"auth_url", "api_url", "client_id", "client_secret"}
    assert (line["cthings"]["auth_url"], line["cthings"]["api_url"]) == (f"{base}/cthings-auth/token", f"{base}/cthings-api")
    assert str(uuid.UUID(line["cthings"]["client_id"])) == line["cthings"]["client_id"]
    assert re.fullmatch(r"[A-Za-z0-9]{24,}", line["cthings"]["client_secret"])
    assert json.loads(ready_file.read_text()) == line
    assert ready_file.read_text().count("\n") == 1


def credentials(line: dict) -> tuple[str, ...]:
    ct, cthings = line["ct"], line["cthings"]
    return ct["client_id"], ct["client_secret"], ct["refresh_token"], cthings["client_id"], cthings["client_secret"]


def test_credentials_derive_from_the_seed(spawn_emulator):
    first, again, other = (credentials(spawn_emulator("--seed", seed, "--devices", "0").line) for seed in ("3", "3", "4"))
    assert first == again
    assert all(mine != theirs for mine, theirs in zip(first, other, strict=True))


def test_the_legacy_dialect_is_a_start_line_option(spawn_emulator):
    emulator = spawn_emulator("--dialect", "legacy", "--devices", "0")
    assert emulator.line["dialect"] == "legacy"
    location = emulator.client.ct_json("GET", "/locations")["locations"][0]
    assert location["state"] in ("active", "archived")  # the legacy dialect still sends it


def test_sigterm_and_sigint_stop_cleanly_with_exit_code_0(spawn_emulator):
    for signum in (signal.SIGTERM, signal.SIGINT):
        emulator = spawn_emulator("--devices", "0")
        assert emulator.client.admin("GET", "health") == {"ok": True}
        assert emulator.terminate(signum) == 0


def test_posing_as_a_real_cloud_it_does_not_announce_itself_and_works_otherwise(spawn_emulator):
    posing = spawn_emulator("--devices", "0", "--pose-as-real-cloud")
    identity = posing.client.session.get(f"{posing.line['admin_url']}/identity")
    assert identity.status_code == 404
    assert posing.client.admin("GET", "health") == {"ok": True}
    assert posing.client.ct_json("GET", "/locations")["locations"]
    assert posing.client.stats()["hosts"]["ct_api"] == 1
    announcing = spawn_emulator("--devices", "0")
    assert announcing.client.admin("GET", "identity")["emulator"] == "ctcloud.cloud bundled emulator"


def test_launcher_works_from_any_directory_and_as_a_module(spawn_emulator, tmp_path):
    from_elsewhere = spawn_emulator("--devices", "0", cwd=str(tmp_path))
    assert from_elsewhere.client.admin("GET", "health") == {"ok": True}
    environment = {**os.environ, "PYTHONPATH": EMULATOR_DIR}
    as_module = spawn_emulator(command=[sys.executable, "-m", "ctcloud_emulator", "--port", "0", "--devices", "0"], cwd=str(tmp_path), env=environment)
    assert as_module.client.admin("GET", "health") == {"ok": True}


def test_any_host_but_loopback_is_refused():
    result = subprocess.run([sys.executable, RUN_EMULATOR, "--host", "0.0.0.0"], capture_output=True, text=True, timeout=30, check=False)
    assert result.returncode == 2
    assert "127.0.0.1" in result.stderr


def test_verbose_logs_requests_and_quiet_is_default(spawn_emulator):
    quiet = spawn_emulator("--devices", "0")
    loud = spawn_emulator("--devices", "0", "--verbose")
    for emulator in (quiet, loud):
        emulator.client.admin("GET", "health")
        emulator.terminate()
    assert "GET /_admin/health" not in quiet.process.stderr.read()
    assert "GET /_admin/health" in loud.process.stderr.read()


def test_state_file_keeps_data_and_the_rotated_refresh_token_across_restarts(spawn_emulator, tmp_path):
    state_file = tmp_path / "emulator-state.json"
    first = spawn_emulator("--state-file", str(state_file), "--devices", "20")
    client = first.client
    created = client.ct_json("POST", "/locations", 201, json={"location": VALID_LOCATION})
    rotated = client.refresh_token  # ct_json logged in: the initial token was exchanged
    assert rotated != first.line["ct"]["refresh_token"]
    devices_before = client.admin("GET", "state")["devices"]
    assert first.terminate() == 0
    assert stat.S_IMODE(os.stat(state_file).st_mode) == 0o600
    assert not [name for name in os.listdir(tmp_path) if name.endswith(".tmp")]

    second = spawn_emulator("--state-file", str(state_file), "--devices", "999", "--seed", "42")
    assert second.line["ct"]["client_id"] == first.line["ct"]["client_id"]  # the file's credentials win
    assert second.line["ct"]["refresh_token"] == rotated  # the newest still-valid refresh token
    client = second.client
    client.refresh_token = rotated
    assert client.ct_json("GET", f"/locations/{created['id']}") == created
    assert client.admin("GET", "state")["devices"] == devices_before  # regenerated from the stored seed params
    assert second.terminate() == 0


def test_state_file_is_saved_while_running(spawn_emulator, tmp_path):
    state_file = tmp_path / "live.json"
    emulator = spawn_emulator("--state-file", str(state_file), "--devices", "0")
    assert state_file.exists()  # written at start
    emulator.client.ct_json("POST", "/locations", 201, json={"location": VALID_LOCATION})
    deadline = time.monotonic() + 5
    while VALID_LOCATION["location_name"] not in state_file.read_text():
        assert time.monotonic() < deadline, "the change never reached the state file"
        time.sleep(0.05)
    emulator.process.kill()  # no chance to save on exit: the running saves must suffice
    emulator.process.wait()
    restarted = spawn_emulator("--state-file", str(state_file))
    names = [location["location_name"] for location in restarted.client.admin("GET", "state?without=devices")["locations"]]
    assert VALID_LOCATION["location_name"] in names


def test_an_unreadable_state_file_is_a_clear_error(tmp_path):
    state_file = tmp_path / "broken.json"
    state_file.write_text("{not json")
    result = subprocess.run([sys.executable, RUN_EMULATOR, "--state-file", str(state_file)], capture_output=True, text=True, timeout=30, check=False)
    assert result.returncode == 2
    assert "state file" in result.stderr


@pytest.mark.parametrize("arguments", [["--fault-rate", "2"], ["--ct-rotation", "never"], ["--fault-statuses", "500"], ["--port", "-1"],
                                       ["--dialect", "real"], ["--search-lag", "-1"]])
def test_bad_flags_are_usage_errors(arguments):
    result = subprocess.run([sys.executable, RUN_EMULATOR, *arguments], capture_output=True, text=True, timeout=30, check=False)
    assert result.returncode == 2
    assert "usage:" in result.stderr
