"""Throughput: prints requests per second so the docs can quote them.

The machines here are noisy two-core boxes, so no number is asserted: a rate
bound failed whenever other work shared the cores. What the rates depend on is
checked instead, deterministically: many requests travel over one kept-alive
connection, and the server's side of it has Nagle's algorithm off (headers and
body are two writes; with Nagle on, each answer waits ~40 ms for a delayed ACK).
"""

from __future__ import annotations

import gc
import http.client
import socket
import time
from urllib.parse import urlsplit

import pytest

SMALL_GET_REQUESTS = 300
PAGE_REQUESTS = 20


@pytest.fixture
def large_catalog(emu):
    emu.admin("POST", "reset", {"seed": {"devices": 10_000}})
    return emu


def rate(count: int, call) -> float:
    call()  # warm the connection
    started = time.perf_counter()
    for _repeat in range(count):
        call()
    return count / (time.perf_counter() - started)


def report(capsys, text: str) -> None:
    """Shown even when pytest captures output, so CI logs carry the numbers."""
    with capsys.disabled():
        print(f"\n{text}")


def test_small_gets_share_one_connection_without_nagle(emu, capsys):
    token = emu.ct_login()
    api = urlsplit(emu.ct["api_url"])
    connection = http.client.HTTPConnection(api.hostname, api.port, timeout=30)
    sockets = set()

    def ping():
        connection.request("GET", f"{api.path}/ping.json", headers={"Authorization": f"Bearer {token}"})
        response = connection.getresponse()
        assert response.status == 200
        assert response.getheader("Connection", "").lower() != "close"
        response.read()
        sockets.add(id(connection.sock))

    try:
        per_second = rate(SMALL_GET_REQUESTS, ping)
        # The server's end of this connection: the emulator runs in this process.
        client_port = connection.sock.getsockname()[1]
        server_side = [
            sock for sock in _open_tcp_sockets() if sock.getpeername()[1] == client_port and sock.getsockname()[1] == api.port
        ]
        nodelay = [sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) for sock in server_side]
    finally:
        connection.close()
    report(capsys, f"GET /ct-api/api/v1/ping.json, one kept-alive connection: {per_second:.0f} requests/s")
    assert len(sockets) == 1, "the emulator closed a kept-alive connection"
    assert len(nodelay) == 1 and nodelay[0], "the emulator's side of the connection has Nagle's algorithm on"


def _open_tcp_sockets() -> list[socket.socket]:
    found = []
    for obj in gc.get_objects():
        if isinstance(obj, socket.socket) and obj.fileno() != -1 and obj.type == socket.SOCK_STREAM:
            try:
                obj.getpeername()
            except OSError:
                continue
            found.append(obj)
    return found


def test_thousand_device_page_throughput(large_catalog, capsys):
    emu = large_catalog
    token = emu.cthings_token()

    def page():
        response = emu.cthings_get("/v3/device", token=token, params={"limit": 1000, "page": 3})
        assert response.status_code == 200
        assert response.content.count(b'"createdAt"') == 1000

    per_second = rate(PAGE_REQUESTS, page)
    report(capsys, f"GET /cthings-api/v3/device?limit=1000 of 10,000 devices: {per_second:.1f} pages/s ({1000 / per_second:.1f} ms each)")
