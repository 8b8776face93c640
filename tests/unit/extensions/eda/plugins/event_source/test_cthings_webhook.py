# -*- coding: utf-8 -*-
# Copyright (c) ctcloud.cloud contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""ctcloud.cloud.cthings_webhook: main(queue, args) as a real listener on 127.0.0.1, spoken to over raw sockets."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import datetime
import json
import re
import ssl
from typing import Any

import pytest

from ansible_collections.ctcloud.cloud.tests.system.ctsystem.rawhttp import self_signed_certificate  # the system suite's, one copy
from ansible_collections.ctcloud.cloud.tests.unit.extensions.eda.plugins.event_source.conftest import documented_options, load_source

WEBHOOK = load_source("cthings_webhook")
LOGGER = "ctcloud.cloud.cthings_webhook"
BOUND = 60.0  # no test waits longer than this for anything; none is expected to come near it

BASIC = {"basic_username": "cthings", "basic_password": "pa55-word-SECRET"}
HEADER = {"header_name": "X-Cthings-Token", "header_value": "token-SECRET-123456"}
READING = {
    "uuid": "0f8fad5b-d9cb-469f-a165-70867728950e",
    "name": "Boiler Room Temperature Sensor",
    "device": "a1b2c3d4e5f60718",
    "route": ["00112233aabbccdd"],
    "dtm": "2026-12-06T10:15:00",
    "data": {
        "temperature": {"description": "Temperature", "unit": "°C", "value": 31.5, "primary": True, "typeId": 1},
        "humidity": {"description": "Humidity", "unit": "%RH", "value": 41, "primary": False, "typeId": 2},
    },
}


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


GOOD_BASIC = {"Authorization": basic(BASIC["basic_username"], BASIC["basic_password"])}
GOOD_HEADER = {HEADER["header_name"]: HEADER["header_value"]}


def post(path: str, body: bytes, headers: dict[str, str], length: bool = True) -> bytes:
    lines = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", "Content-Type: application/json"]
    if length:
        lines.append(f"Content-Length: {len(body)}")
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8") + body


def reading_body(**changes: Any) -> bytes:
    return json.dumps({**READING, **changes}).encode()


class Answer:
    def __init__(self, raw: bytes) -> None:
        head, _separator, self.body = raw.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        self.status = int(lines[0].split(" ")[1]) if lines[0] else 0
        self.headers = {name.lower(): value.strip() for name, _colon, value in (line.partition(":") for line in lines[1:])}

    def json(self) -> Any:
        return json.loads(self.body)


class Listener:
    """main() running as a task, its port read from its own start-up log line; cancelled on exit."""

    def __init__(self, log: Any, **args: Any) -> None:
        self.args = {"host": "127.0.0.1", "port": 0, **args}
        self.log = log
        self.queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.port = 0
        self.task: asyncio.Task[None] | None = None
        self.tls: ssl.SSLContext | None = None

    async def __aenter__(self) -> Listener:
        seen = len(self.log.lines)  # a listener of the same test before this one logged its own port
        self.task = asyncio.create_task(WEBHOOK["main"](self.queue, self.args))
        while not self.port:
            if self.task.done():
                self.task.result()  # raises what main() raised
                raise AssertionError("main() returned without listening")
            for line in self.log.lines[seen:]:
                match = re.search(r"listening on 127\.0\.0\.1:(\d+)", line)
                if match:
                    self.port = int(match.group(1))
            await asyncio.sleep(0.01)
        return self

    async def __aexit__(self, *exc: Any) -> None:
        assert self.task is not None
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task

    async def connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        return await asyncio.open_connection("127.0.0.1", self.port, ssl=self.tls, server_hostname="127.0.0.1" if self.tls else None)

    async def send(self, request: bytes) -> Answer:
        reader, writer = await self.connect()
        writer.write(request)
        await writer.drain()
        raw = await reader.read()  # the listener closes after one answer
        writer.close()
        return Answer(raw)

    def events(self) -> list[dict[str, Any]]:
        found = []
        while not self.queue.empty():
            found.append(self.queue.get_nowait())
        return found


def run(scenario: Any) -> Any:
    return asyncio.run(asyncio.wait_for(scenario, BOUND))


@pytest.fixture
def log(source_log):
    return source_log(LOGGER)


# ---- what gets through -------------------------------------------------------------------------------


def test_a_reading_with_basic_credentials_becomes_one_event(log):
    async def scenario() -> tuple[Answer, list[dict[str, Any]]]:
        async with Listener(log, **BASIC) as listener:
            answer = await listener.send(post("/hooks/cthings?site=leeds", reading_body(), GOOD_BASIC))
            return answer, listener.events()

    answer, events = run(scenario())
    assert answer.status == 200 and answer.json() == {"status": "accepted"}
    assert len(events) == 1
    event = events[0]
    assert event["cthings"] == {
        "type": "reading",
        "device_id": READING["uuid"],
        "device_name": READING["name"],
        "dtm": READING["dtm"],
        "readings": {
            "temperature": {"value": 31.5, "unit": "°C", "description": "Temperature", "primary": True},
            "humidity": {"value": 41, "unit": "%RH", "description": "Humidity", "primary": False},
        },
    }
    assert event["meta"]["endpoint"] == "hooks/cthings"
    received = datetime.datetime.fromisoformat(event["meta"]["received_at"].replace("Z", "+00:00"))
    assert received.utcoffset() == datetime.timedelta(0)


def test_a_reading_with_the_named_header_becomes_one_event_whatever_the_header_case(log):
    async def scenario() -> tuple[list[int], list[dict[str, Any]]]:
        async with Listener(log, **HEADER) as listener:
            first = await listener.send(post("/", reading_body(), GOOD_HEADER))
            second = await listener.send(post("/", reading_body(dtm="2026-12-06T10:30:00"), {"x-cthings-token": HEADER["header_value"]}))
            return [first.status, second.status], listener.events()

    statuses, events = run(scenario())
    assert statuses == [200, 200]
    assert [event["cthings"]["dtm"] for event in events] == ["2026-12-06T10:15:00", "2026-12-06T10:30:00"]
    assert events[0]["meta"]["endpoint"] == ""


def test_expect_100_continue_is_honoured(log):
    async def scenario() -> tuple[bytes, Answer, int]:
        async with Listener(log, **BASIC) as listener:
            reader, writer = await listener.connect()
            body = reading_body()
            writer.write(post("/", b"", {**GOOD_BASIC, "Expect": "100-continue"}, length=False).replace(
                b"\r\n\r\n", f"\r\nContent-Length: {len(body)}\r\n\r\n".encode(), 1))
            await writer.drain()
            interim = await reader.readuntil(b"\r\n\r\n")
            writer.write(body)
            answer = Answer(await reader.read())
            writer.close()
            return interim, answer, len(listener.events())

    interim, answer, emitted = run(scenario())
    assert interim == b"HTTP/1.1 100 Continue\r\n\r\n"
    assert (answer.status, emitted) == (200, 1)


# ---- what does not -------------------------------------------------------------------------------------


@pytest.mark.parametrize("auth, headers", [
    (BASIC, {}),
    (BASIC, {"Authorization": basic("cthings", "pa55-word-WRONG")}),
    (BASIC, {"Authorization": basic("someone", BASIC["basic_password"])}),
    (BASIC, {"Authorization": basic("cthings", "pa55-word-SECRETX")}),
    (BASIC, {"Authorization": "Bearer " + base64.b64encode(b"cthings:pa55-word-SECRET").decode()}),
    (BASIC, {"Authorization": "Basic %%%not-base64%%%"}),
    (BASIC, {"Authorization": "Basic " + base64.b64encode(b"cthingspa55-word-SECRET").decode()}),
    (HEADER, {}),
    (HEADER, {"X-Cthings-Token": "token-SECRET-12345"}),
    (HEADER, {"X-Cthings-Token": ""}),
    (HEADER, {"X-Other-Token": HEADER["header_value"]}),
], ids=["basic-none", "basic-wrong-password", "basic-wrong-user", "basic-longer-password", "bearer-scheme", "basic-garbage",
        "basic-no-colon", "header-none", "header-prefix", "header-empty", "header-other-name"])
def test_requests_without_valid_credentials_get_401_and_emit_nothing(log, auth, headers):
    async def scenario() -> tuple[Answer, list[dict[str, Any]]]:
        async with Listener(log, **auth) as listener:
            return await listener.send(post("/", reading_body(), headers)), listener.events()

    answer, events = run(scenario())
    assert answer.status == 401 and events == []
    assert answer.json() == {"error": "missing or invalid credentials"}
    if auth is BASIC:
        assert answer.headers["www-authenticate"].startswith("Basic realm=")


def test_a_repeated_credential_header_is_refused(log):
    request = post("/", reading_body(), GOOD_HEADER).replace(b"\r\n\r\n", f"\r\nX-Cthings-Token: {HEADER['header_value']}\r\n\r\n".encode(), 1)

    async def scenario() -> tuple[Answer, list[dict[str, Any]]]:
        async with Listener(log, **HEADER) as listener:
            return await listener.send(request), listener.events()

    answer, events = run(scenario())
    assert (answer.status, events) == (401, [])


CANARY = "ECHO-CANARY-7f3a"


@pytest.mark.parametrize("body", [
    b"{not json " + CANARY.encode(),
    b"\xff\xfe" + CANARY.encode(),
    json.dumps([READING]).encode(),
    json.dumps({k: v for k, v in READING.items() if k != "data"}).encode(),
    reading_body(uuid=CANARY),
    reading_body(dtm=CANARY),
    reading_body(data={}),
    reading_body(data={"temperature": CANARY}),
    reading_body(data={"temperature": {"unit": "°C"}}),
    reading_body(data={"temperature": {"value": {"nested": CANARY}}}),
    reading_body(name=None),
], ids=["not-json", "not-utf8", "a-list", "no-data", "bad-uuid", "bad-dtm", "empty-data", "reading-not-object", "reading-no-value",
        "value-object", "name-null"])
def test_bodies_that_are_not_cthings_readings_get_400_and_emit_nothing(log, body):
    async def scenario() -> tuple[Answer, list[dict[str, Any]]]:
        async with Listener(log, **BASIC) as listener:
            return await listener.send(post("/", body, GOOD_BASIC)), listener.events()

    answer, events = run(scenario())
    assert answer.status == 400 and events == []
    assert CANARY not in answer.body.decode("utf-8", "replace")
    assert not any(CANARY in line for line in log.lines)


def test_size_framing_and_method_limits(log):
    big = json.dumps({**READING, "name": "x" * 70000}).encode()

    async def scenario() -> tuple[list[int], list[dict[str, Any]]]:
        async with Listener(log, **BASIC) as listener:
            answers = [
                await listener.send(post("/", big, GOOD_BASIC)),
                await listener.send(post("/", reading_body(), GOOD_BASIC, length=False)),
                await listener.send(post("/", reading_body(), {**GOOD_BASIC, "Transfer-Encoding": "chunked"}, length=False)),
                await listener.send(b"GET / HTTP/1.1\r\nHost: x\r\n" + f"Authorization: {GOOD_BASIC['Authorization']}\r\n\r\n".encode()),
                await listener.send(post("/", reading_body(), {**GOOD_BASIC, "X-Padding": "p" * 20000})),
                await listener.send(b"NONSENSE\r\n\r\n"),
                await listener.send(post("/", reading_body(), {**GOOD_BASIC, "Content-Length": "12"})),
            ]
            return [answer.status for answer in answers], listener.events()

    statuses, events = run(scenario())
    assert statuses == [413, 411, 411, 405, 431, 400, 400]
    assert events == []


def test_a_slow_client_is_cut_off_and_does_not_hold_up_others(log):
    async def scenario() -> tuple[Answer, Answer, int]:
        async with Listener(log, **BASIC, request_timeout="3") as listener:
            slow_reader, slow_writer = await listener.connect()
            slow_writer.write(b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # ... and never the rest
            await slow_writer.drain()
            served = await listener.send(post("/", reading_body(), GOOD_BASIC))
            cut_off = Answer(await slow_reader.read())
            slow_writer.close()
            return served, cut_off, len(listener.events())

    served, cut_off, emitted = run(scenario())
    assert (served.status, emitted) == (200, 1)
    assert cut_off.status == 408


def test_a_flood_of_connections_is_capped_and_the_listener_recovers(log):
    async def scenario() -> tuple[int, list[int], Answer]:
        async with Listener(log, **BASIC, max_connections=2, request_timeout=3) as listener:
            idle = [await listener.connect() for _slot in range(2)]  # they send nothing: each holds a slot
            refused = await listener.send(post("/", reading_body(), GOOD_BASIC))
            timed_out = [Answer(await reader.read()).status for reader, _writer in idle]
            for _reader, writer in idle:
                writer.close()
            # The slots come free once the listener has closed those connections: bounded retries, not a sleep.
            for _attempt in range(500):
                after = await listener.send(post("/", reading_body(), GOOD_BASIC))
                if after.status != 503:
                    break
                await asyncio.sleep(0.01)
            assert len(listener.events()) == 1
            return refused.status, timed_out, after

    refused, timed_out, after = run(scenario())
    assert refused == 503
    assert timed_out == [408, 408]
    assert after.status == 200


def test_logs_name_the_path_but_never_credentials_queries_or_bodies(log):
    async def scenario() -> None:
        async with Listener(log, **BASIC) as listener:
            await listener.send(post("/hook?token=QUERY-SECRET", reading_body(name=CANARY), GOOD_BASIC))
            await listener.send(post("/hook", reading_body(), {"Authorization": basic("cthings", "guess-SECRET")}))
            await listener.send(post("/hook", b"{" + CANARY.encode(), GOOD_BASIC))

    run(scenario())
    text = "\n".join(log.lines)
    assert "POST /hook from 127.0.0.1" in text and ": 401 " in text
    for secret in (BASIC["basic_password"], "guess-SECRET", "QUERY-SECRET", CANARY, GOOD_BASIC["Authorization"].split()[1]):
        assert secret not in text


def test_an_internal_error_closes_that_connection_quietly_and_the_listener_goes_on(log, monkeypatch):
    namespace = WEBHOOK["WebhookListener"]._read_and_emit.__globals__  # the module's globals, as the methods see them

    def broken(payload: Any) -> str:
        raise RuntimeError(f"bug while looking at {CANARY}")

    async def scenario() -> tuple[bytes, int, int]:
        async with Listener(log, **BASIC) as listener:
            monkeypatch.setitem(namespace, "_schema_problem", broken)
            reader, writer = await listener.connect()
            writer.write(post("/", reading_body(), GOOD_BASIC))
            dropped = await reader.read()
            writer.close()
            monkeypatch.undo()
            after = await listener.send(post("/", reading_body(), GOOD_BASIC))
            return dropped, after.status, len(listener.events())

    dropped, status, emitted = run(scenario())
    assert (dropped, status, emitted) == (b"", 200, 1)
    assert any("internal error RuntimeError" in line for line in log.lines)
    assert not any(CANARY in line for line in log.lines)


def test_https_with_a_certificate(log, tmp_path):
    pytest.importorskip("cryptography")
    cert, key = self_signed_certificate(tmp_path)
    client = ssl.create_default_context(cafile=str(cert))

    async def scenario() -> tuple[Answer, int, bytes, str]:
        async with Listener(log, **HEADER, certfile=str(cert), keyfile=str(key), request_timeout=3) as listener:
            # A client that never starts the TLS handshake is dropped after the request timeout.
            reader, writer = await asyncio.open_connection("127.0.0.1", listener.port)
            try:
                stalled = await reader.read()
            except ConnectionResetError:
                stalled = b""
            writer.close()
            listener.tls = client
            answer = await listener.send(post("/", reading_body(), GOOD_HEADER))
            return answer, len(listener.events()), stalled, "\n".join(log.lines)

    answer, emitted, stalled, text = run(scenario())
    assert stalled == b""
    assert (answer.status, emitted) == (200, 1)
    assert "(https, header authorization)" in text


# ---- arguments -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("args, message", [
    ({}, "set basic_username and basic_password, or header_name and header_value"),
    ({"basic_username": "u"}, "basic_username and basic_password go together"),
    ({"header_value": "v"}, "header_name and header_value go together"),
    ({**BASIC, **HEADER}, "not both"),
    ({**HEADER, "header_name": "X Token"}, "not a valid HTTP header name"),
    ({**BASIC, "host": "0.0.0.0"}, "plain HTTP is allowed on a loopback address only"),
    ({**BASIC, "host": "192.0.2.10"}, "plain HTTP is allowed on a loopback address only"),
    ({**BASIC, "port": "http"}, "port must be a number"),
    ({**BASIC, "port": 70000}, "port must be between 0 and 65535"),
    ({**BASIC, "max_connections": 0}, "max_connections must be between"),
    ({**BASIC, "request_timeout": True}, "request_timeout must be a number"),
    ({**BASIC, "keyfile": "/nonexistent.key"}, "keyfile needs certfile"),
    ({**BASIC, "certfile": "/nonexistent.crt"}, "cannot load certfile/keyfile"),
    ({**BASIC, "token": "x"}, "unknown argument 'token'"),
    ({**BASIC, "basic_password": 1234}, "basic_password must be a string"),
])
def test_bad_arguments_fail_before_anything_listens(log, args, message):
    async def scenario() -> None:
        await WEBHOOK["main"](asyncio.Queue(), {"host": "127.0.0.1", "port": 0, **args})

    with pytest.raises(ValueError, match=re.escape(message)):
        run(scenario())
    assert not any("listening" in line for line in log.lines)


def test_secrets_may_come_from_the_environment_but_names_never_do(log, monkeypatch):
    monkeypatch.setenv("CTHINGS_WEBHOOK_HEADER_VALUE", HEADER["header_value"])
    monkeypatch.setenv("CTHINGS_WEBHOOK_PASSWORD", BASIC["basic_password"])

    async def scenario() -> list[int]:
        async with Listener(log, header_name=HEADER["header_name"], header_value="") as header_listener:
            by_header = await header_listener.send(post("/", reading_body(), GOOD_HEADER))
        async with Listener(log, basic_username=BASIC["basic_username"]) as basic_listener:
            by_basic = await basic_listener.send(post("/", reading_body(), GOOD_BASIC))
        return [by_header.status, by_basic.status]

    assert run(scenario()) == [200, 200]
    with pytest.raises(ValueError, match="set basic_username and basic_password, or header_name and header_value"):
        WEBHOOK["Settings"].from_args({"host": "127.0.0.1"})  # a password alone in the environment authenticates nobody


def test_arguments_given_as_strings_and_empty_optionals_work(log):
    async def scenario() -> int:
        async with Listener(log, **BASIC, port="0", max_body_bytes="65536", max_connections="4", certfile="", keyfile="",
                            eda_feedback_queue=None) as listener:
            return (await listener.send(post("/", reading_body(), GOOD_BASIC))).status

    assert run(scenario()) == 200


def test_the_documented_arguments_are_exactly_the_accepted_ones():
    assert documented_options(WEBHOOK) == set(WEBHOOK["OPTIONS"])
