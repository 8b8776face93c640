"""Admin routes for event-source tests: device connection flips and cThings webhook deliveries."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from emulator_testing import RUN_EMULATOR

UUID_PATTERN = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"


class Receiver:
    """A webhook receiver on 127.0.0.1 that records every request and answers a scripted status."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.status = 200
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
                self.send_response(receiver.status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: Any) -> None:
                del args

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/hooks/cthings"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.close()


@pytest.fixture
def webhook_emu(emu) -> Iterator[Any]:
    """The shared emulator with no subscription before and after the test."""
    emu.admin("DELETE", "cthings/webhook")
    yield emu
    emu.admin("DELETE", "cthings/webhook")


def _a_device(emu, connected: bool, type_key: str | None = None) -> dict[str, Any]:
    devices = emu.admin("GET", "state")["devices"]
    return next(d for d in devices if d["connection"]["status"] is connected and type_key in (None, d["type"]["key"]))


# ---- connection flips ----------------------------------------------------------------------------


def test_a_flipped_device_is_offline_in_the_api_and_a_reset_restores_it(emu):
    device = _a_device(emu, connected=True)
    flipped = emu.admin("POST", f"cthings/devices/{device['id']}/connection", {"status": False})
    assert flipped["connection"]["status"] is False
    assert flipped["connection"]["lastConnected"] != device["connection"]["lastConnected"]
    assert flipped["connection"]["route"] == device["connection"]["route"]
    one = emu.cthings_get(f"/v3/device/{device['id']}").json()["data"]
    listed = [d for d in emu.cthings_get("/v3/device", params={"limit": 1000}).json()["data"] if d["id"] == device["id"]]
    assert one["connection"]["status"] is False
    assert [d["connection"]["status"] for d in listed] == [False]
    emu.admin("POST", "reset", {"counters": False})
    assert emu.cthings_get(f"/v3/device/{device['id']}").json()["data"] == device


def test_bringing_a_device_back_sets_the_given_fields(emu):
    device = _a_device(emu, connected=False)
    body = {"status": True, "lastConnected": "2026-01-02T03:04:05Z", "signalStrength": -71.5}
    back = emu.admin("POST", f"cthings/devices/{device['id']}/connection", body)
    assert {key: back["connection"][key] for key in body} == body
    assert emu.cthings_get(f"/v2/device/{device['id']}").json()["data"]["connection"]["status"] is True


@pytest.mark.parametrize("body", [{}, {"status": "offline"}, {"status": False, "route": []}, {"status": True, "signalStrength": "strong"}])
def test_bad_connection_bodies_are_400_and_change_nothing(emu, body):
    device = _a_device(emu, connected=True)
    response = emu.session.post(f"{emu.admin_url}/cthings/devices/{device['id']}/connection", json=body)
    assert response.status_code == 400, response.text
    assert emu.cthings_get(f"/v3/device/{device['id']}").json()["data"] == device


def test_an_unknown_device_is_404(emu):
    response = emu.session.post(f"{emu.admin_url}/cthings/devices/00000000-0000-4000-8000-000000000000/connection", json={"status": False})
    assert response.status_code == 404


# ---- webhooks --------------------------------------------------------------------------------------


def test_a_reading_is_delivered_in_the_vendor_shape_with_basic_authorization(webhook_emu, receiver):
    device = _a_device(webhook_emu, connected=True, type_key="temperature_sensor")
    subscription = webhook_emu.admin("POST", "cthings/webhook", {"url": receiver.url, "basic_username": "cthings", "basic_password": "s3cret-pass"})
    assert subscription["target"] == {"url": receiver.url, "auth": "basic", "header_name": None, "ca_file": None}
    assert "s3cret-pass" not in json.dumps(subscription)

    sent = webhook_emu.admin("POST", "cthings/webhook/send", {"device_id": device["id"], "values": {"temperature": 31.5}})

    assert sent["status"] == 200 and sent["error"] is None
    assert len(receiver.requests) == 1
    request = receiver.requests[0]
    assert request["path"] == "/hooks/cthings"
    assert request["headers"]["Authorization"] == "Basic " + base64.b64encode(b"cthings:s3cret-pass").decode()
    payload = json.loads(request["body"])
    assert payload == sent["payload"]
    assert set(payload) == {"uuid", "name", "device", "route", "dtm", "data"}
    assert (payload["uuid"], payload["name"], payload["device"]) == (device["id"], device["name"], device["device"])
    assert payload["route"] == device["connection"]["route"]
    assert payload["dtm"][10] == "T" and not payload["dtm"].endswith("Z")
    assert payload["data"]["temperature"] == {"description": "Temperature", "unit": "°C", "value": 31.5, "primary": True, "typeId": 1}
    assert set(payload["data"]) == {"temperature", "humidity"}
    log = webhook_emu.admin("GET", "cthings/webhook")["deliveries"]
    assert [(entry["status"], entry["credentials"]) for entry in log] == [(200, "valid")]


def test_header_credentials_can_be_left_out_or_wrong_and_raw_bodies_go_as_is(webhook_emu, receiver):
    device = _a_device(webhook_emu, connected=True)
    webhook_emu.admin("POST", "cthings/webhook", {"url": receiver.url, "header_name": "X-Cthings-Token", "header_value": "token-123456"})
    receiver.status = 401
    answers = [
        webhook_emu.admin("POST", "cthings/webhook/send", {"device_id": device["id"], "credentials": "none"}),
        webhook_emu.admin("POST", "cthings/webhook/send", {"device_id": device["id"], "credentials": "wrong"}),
        webhook_emu.admin("POST", "cthings/webhook/send", {"raw": "{not json", "credentials": "valid"}),
        webhook_emu.admin("POST", "cthings/webhook/send", {"body": {"uuid": "x"}}),
    ]
    assert [answer["status"] for answer in answers] == [401, 401, 401, 401]
    tokens = [request["headers"].get("X-Cthings-Token") for request in receiver.requests]
    assert tokens == [None, "not-token-123456", "token-123456", "token-123456"]
    assert [request["body"] for request in receiver.requests[2:]] == [b"{not json", b'{"uuid":"x"}']


def test_an_unreachable_receiver_is_reported_not_raised(webhook_emu, receiver):
    url = receiver.url
    receiver.close()
    webhook_emu.admin("POST", "cthings/webhook", {"url": url})
    device = _a_device(webhook_emu, connected=True)
    sent = webhook_emu.admin("POST", "cthings/webhook/send", {"device_id": device["id"]})
    assert sent["status"] is None and "Connection" in sent["error"]


@pytest.mark.parametrize("options", [
    {"url": "http://198.51.100.3/hook"},
    {"url": "https://example.com/hook"},
    {"url": "ftp://127.0.0.1/hook"},
    {"url": "http://127.0.0.1:9/hook", "basic_username": "only-the-user"},
    {"url": "http://127.0.0.1:9/hook", "basic_username": "u", "basic_password": "p", "header_name": "X", "header_value": "v"},
    {"url": "http://127.0.0.1:9/hook", "secret": "x"},
    {},
])
def test_bad_subscriptions_are_400_and_never_leave_loopback(webhook_emu, options):
    response = webhook_emu.session.post(f"{webhook_emu.admin_url}/cthings/webhook", json=options)
    assert response.status_code == 400, response.text
    assert webhook_emu.admin("GET", "cthings/webhook")["target"] is None


def test_sending_without_a_subscription_or_with_a_bad_request_is_refused(webhook_emu):
    device = _a_device(webhook_emu, connected=True, type_key="energy_meter")
    assert webhook_emu.session.post(f"{webhook_emu.admin_url}/cthings/webhook/send", json={"device_id": device["id"]}).status_code == 400
    webhook_emu.admin("POST", "cthings/webhook", {"url": "http://127.0.0.1:9/hook"})
    for body, status in (({"device_id": device["id"], "values": {"temperature": 5}}, 400),
                         ({"device_id": device["id"], "credentials": "stolen"}, 400),
                         ({"device_id": "00000000-0000-4000-8000-000000000000"}, 404),
                         ({}, 400)):
        response = webhook_emu.session.post(f"{webhook_emu.admin_url}/cthings/webhook/send", json=body)
        assert response.status_code == status, (body, response.text)
    assert webhook_emu.admin("GET", "cthings/webhook")["deliveries"] == []


def test_the_subscription_can_be_given_at_start(spawn_emulator, receiver):
    spawned = spawn_emulator("--devices", "5", "--webhook-url", receiver.url, "--webhook-header-name", "X-Token", "--webhook-header-value", "abcdef")
    assert spawned.client.admin("GET", "cthings/webhook")["target"] == {"url": receiver.url, "auth": "header", "header_name": "X-Token", "ca_file": None}
    device = spawned.client.admin("GET", "state")["devices"][0]
    assert spawned.client.admin("POST", "cthings/webhook/send", {"device_id": device["id"]})["status"] == 200
    assert receiver.requests[0]["headers"]["X-Token"] == "abcdef"


def test_a_webhook_flag_pointing_off_the_machine_is_a_usage_error():
    done = subprocess.run([sys.executable, RUN_EMULATOR, "--port", "0", "--webhook-url", "http://203.0.113.10/hook"],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2
    assert "loopback" in done.stderr
