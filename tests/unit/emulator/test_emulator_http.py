"""HTTP behaviour: kept-alive connections, unread bodies, loopback only, concurrent writes."""

from __future__ import annotations

import http.client
import json
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import pytest
from ctcloud_emulator.config import Knobs
from emulator_testing import TEST_SEED, Emulator


def connection(emu) -> http.client.HTTPConnection:
    parts = urlsplit(emu.admin_url)
    return http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)


def test_many_requests_share_one_kept_alive_connection(emu):
    conn = connection(emu)
    conn.request("GET", "/_admin/health")
    first = conn.getresponse()
    assert first.version == 11
    assert first.getheader("Connection") is None
    first.read()
    socket_before = conn.sock
    for _repeat in range(5):
        conn.request("GET", "/_admin/health")
        response = conn.getresponse()
        assert json.loads(response.read()) == {"ok": True}
    assert conn.sock is socket_before
    conn.close()


def test_an_unread_request_body_does_not_corrupt_the_next_request(emu):
    emu.configure(fault_rate=1)
    conn = connection(emu)
    body = json.dumps({"location": {"location_name": "x" * 5000}})
    conn.request("POST", "/ct-api/api/v1/locations", body=body, headers={"Content-Type": "application/json"})
    faulted = conn.getresponse()
    faulted.read()
    assert faulted.status in (429, 503)
    conn.request("GET", "/_admin/health")
    assert json.loads(conn.getresponse().read()) == {"ok": True}
    conn.close()


def test_chunked_request_bodies_are_read(emu):
    token = emu.ct_login()
    conn = connection(emu)
    body = json.dumps({"location": {"location_name": "Chunked Place", "location_address": "1 Chunk Road", "town": "Chunkton", "postcode": "CH1 1NK",
                                    "country": "gb"}})
    conn.request("POST", "/ct-api/api/v1/locations", body=iter([body.encode()]), encode_chunked=True,
                 headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}", "Transfer-Encoding": "chunked"})
    response = conn.getresponse()
    assert response.status == 201, response.read()
    response.read()
    conn.request("GET", "/_admin/health")
    assert conn.getresponse().status == 200
    conn.close()


def test_client_asking_to_close_gets_connection_close(emu):
    conn = connection(emu)
    conn.request("GET", "/_admin/health", headers={"Connection": "close"})
    assert conn.getresponse().getheader("Connection") == "close"
    conn.close()


def test_unknown_top_level_path_is_404_json(emu):
    response = emu.session.get(f"{emu.admin_url.rsplit('/', 1)[0]}/elsewhere")
    assert response.status_code == 404
    assert response.json() == {"message": "Not found"}
    assert emu.stats()["total"] == 0


def test_the_emulator_refuses_any_address_but_loopback():
    with pytest.raises(ValueError, match=r"127\.0\.0\.1"):
        Emulator(TEST_SEED, Knobs(), host="0.0.0.0")


def test_concurrent_creates_get_distinct_ids_and_are_all_counted(emu):
    token = emu.ct_login()

    def create(number: int) -> str:
        body = {"location": {"location_name": f"Parallel {number:03d}", "location_address": "1 Thread Road", "town": "Lockton", "postcode": "LK1 1CK",
                             "country": "gb"}}
        return emu.ct_json("POST", "/locations", 201, token=token, json=body)["id"]

    with ThreadPoolExecutor(max_workers=8) as pool:
        ids = list(pool.map(create, range(80)))
    assert len(set(ids)) == 80
    assert emu.stats()["writes"]["locations"]["POST"] == 80
    assert emu.ct_json("GET", "/locations", token=token, params={"q": "Parallel", "per": 100})["_links"]["total_entries"] == 80
