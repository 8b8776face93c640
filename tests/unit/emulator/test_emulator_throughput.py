"""Throughput: prints requests per second so the docs can quote them; asserts only a generous sanity bound.

The machines here are noisy two-core boxes: the numbers are for reading, and
the bounds only catch a pathology (such as a 40 ms Nagle stall per request).
"""

from __future__ import annotations

import time

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


def test_small_get_throughput(emu, capsys):
    token = emu.ct_login()

    def ping():
        assert emu.ct_get("/ping.json", token=token).status_code == 200

    per_second = rate(SMALL_GET_REQUESTS, ping)
    report(capsys, f"GET /ct-api/api/v1/ping.json, one kept-alive connection: {per_second:.0f} requests/s")
    assert per_second > 50


def test_thousand_device_page_throughput(large_catalog, capsys):
    emu = large_catalog
    token = emu.cthings_token()

    def page():
        response = emu.cthings_get("/v3/device", token=token, params={"limit": 1000, "page": 3})
        assert response.status_code == 200
        assert response.content.count(b'"createdAt"') == 1000

    per_second = rate(PAGE_REQUESTS, page)
    report(capsys, f"GET /cthings-api/v3/device?limit=1000 of 10,000 devices: {per_second:.1f} pages/s ({1000 / per_second:.1f} ms each)")
    assert per_second > 2
