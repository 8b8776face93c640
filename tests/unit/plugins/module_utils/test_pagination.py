# -*- coding: utf-8 -*-
# Copyright (c) ctcloud.cloud contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import threading

import pytest

from ansible_collections.ctcloud.cloud.plugins.module_utils._api.errors import ApiError
from ansible_collections.ctcloud.cloud.plugins.module_utils._api.pagination import collect_ct_pages, collect_link_pages, followed_link, planned_link_pages


def ct_pages(total_items, per, last_next=None, grow_to=None):
    """A CT list of ``total_items``; ``last_next`` is what the last page says (null or 0)."""
    calls = []
    lock = threading.Lock()

    def fetch(page):
        with lock:
            calls.append(page)
        count = grow_to if grow_to and page > 1 else total_items
        pages = max(1, -(-count // per))
        items = [{"id": str(i)} for i in range((page - 1) * per, min(page * per, count))]
        return {"locations": items, "_links": {"current_page": page, "total_pages": pages if page > 1 else -(-total_items // per),
                                               "next_page": page + 1 if page < pages else last_next}}

    return fetch, calls


@pytest.mark.parametrize("last_next", [None, 0])
def test_ct_last_page_null_or_zero_both_mean_no_more(last_next):
    fetch, calls = ct_pages(250, 100, last_next)
    items = collect_ct_pages(fetch, "locations")
    assert [item["id"] for item in items] == [str(i) for i in range(250)]
    assert sorted(calls) == [1, 2, 3]


def test_ct_single_page_costs_one_request():
    fetch, calls = ct_pages(15, 100)
    assert len(collect_ct_pages(fetch, "locations")) == 15
    assert calls == [1]


def test_ct_list_that_grew_while_reading_is_followed_to_the_end():
    fetch, calls = ct_pages(200, 100, grow_to=250)
    assert len(collect_ct_pages(fetch, "locations")) == 250
    assert sorted(calls) == [1, 2, 3]


def test_ct_pagination_that_does_not_advance_is_an_error():
    def fetch(page):
        return {"locations": [], "_links": {"total_pages": None, "next_page": 1}}

    with pytest.raises(ApiError, match="does not advance"):
        collect_ct_pages(fetch, "locations")


def link_pages(count, with_last=True):
    base = "http://127.0.0.1/v3/device?entity=e1&page=%d&limit=2"
    fetched = []

    def reply(number):
        links = {"self": base % number, "next": base % (number + 1) if number < count else None}
        if with_last:
            links["last"] = base % count
        return {"data": [number * 10, number * 10 + 1], "links": links}

    def fetch(url):
        fetched.append(url)
        return reply(int(url.split("page=")[1].split("&")[0]))

    return reply(1), fetch, fetched


def test_links_with_last_are_fetched_as_planned_pages_keeping_filters():
    first, fetch, fetched = link_pages(4)
    items = collect_link_pages(fetch, first, lambda r: r["data"], lambda r: r["links"], "http://127.0.0.1", workers=3)
    assert items == [10, 11, 20, 21, 30, 31, 40, 41]
    assert all("entity=e1" in url and "limit=2" in url for url in fetched)
    assert len(fetched) == 3


def test_links_without_last_are_followed_one_by_one():
    first, fetch, fetched = link_pages(3, with_last=False)
    items = collect_link_pages(fetch, first, lambda r: r["data"], lambda r: r["links"], "http://127.0.0.1")
    assert items == [10, 11, 20, 21, 30, 31]
    assert len(fetched) == 2


def test_links_that_repeat_are_an_error():
    first = {"data": [1], "links": {"next": "http://x/a?cursor=abc"}}
    with pytest.raises(ApiError, match="does not advance"):
        collect_link_pages(lambda url: first, first, lambda r: r["data"], lambda r: r["links"], "http://x")


def test_planned_pages_need_a_page_parameter_in_both_next_and_last():
    assert planned_link_pages({"next": "http://x/d?cursor=b", "last": "http://x/d?cursor=z"}) == []
    assert planned_link_pages({"next": "http://x/d?page=2", "last": "http://x/d?page=3"}) == ["http://x/d?page=2", "http://x/d?page=3"]


# -- page links are fetched with the token: only links under api_url are followed (issue 12, item 1) --

API = "https://api.cthings.example/cthings-api"


@pytest.mark.parametrize(
    ("link", "resolved"),
    [
        (f"{API}/v3/device?page=2", f"{API}/v3/device?page=2"),
        ("HTTPS://API.CTHINGS.EXAMPLE:443/cthings-api/v3/device?page=2", "https://API.CTHINGS.EXAMPLE:443/cthings-api/v3/device?page=2"),
        ("/cthings-api/v3/device?page=2", f"{API}/v3/device?page=2"),
        ("v3/device?page=2", f"{API}/v3/device?page=2"),
    ],
)
def test_links_under_the_api_url_are_followed(link, resolved):
    assert followed_link(API, link) == resolved


@pytest.mark.parametrize(
    "link",
    [
        "https://evil.example/cthings-api/v3/device?page=2",  # another host
        "http://api.cthings.example/cthings-api/v3/device?page=2",  # cleartext behind a TLS-terminating balancer
        "https://api.cthings.example:8443/cthings-api/v3/device?page=2",  # another port
        "https://api.cthings.example.evil.example/cthings-api/v3/device",  # a host that merely starts the same
        "//evil.example/cthings-api/v3/device",  # scheme-relative
        "https://api.cthings.example@evil.example/cthings-api/v3/device",  # userinfo trick: the host is evil.example
        "https://user@api.cthings.example/cthings-api/v3/device",
        "https://api.cthings.example/other-api/v3/device",  # outside the path prefix
        "https://api.cthings.example/cthings-api-admin/v3",  # a prefix of the name is not the path prefix
        "https://api.cthings.example/cthings-api/../admin",
        "https://api.cthings.example/cthings-api/%2e%2e/admin",
        "https://api.cthings.example/cthings-api/v3%2f..%2f..%2fadmin",
        "/admin",
        "",
        42,
    ],
)
def test_links_outside_the_api_url_are_refused(link):
    with pytest.raises(ApiError, match="not followed"):
        followed_link(API, link)


def test_a_foreign_next_or_last_link_is_refused_before_any_page_is_fetched():
    for links in ({"next": "https://evil.example/cthings-api/v3/device?page=2"},
                  {"next": f"{API}/v3/device?page=2", "last": "https://evil.example/cthings-api/v3/device?page=3"}):
        fetched = []
        first = {"data": [1], "links": links}
        with pytest.raises(ApiError, match=r"outside api_url \(https://evil.example/.*the access token is not sent there"):
            collect_link_pages(fetched.append, first, lambda r: r["data"], lambda r: r["links"], API)
        assert fetched == []


def test_a_foreign_link_on_a_later_page_stops_there():
    fetched = []

    def fetch(url):
        fetched.append(url)
        return {"data": [2], "links": {"next": "http://api.cthings.example/cthings-api/v3/device?page=3"}}

    first = {"data": [1], "links": {"next": f"{API}/v3/device?page=2"}}
    with pytest.raises(ApiError, match="outside api_url"):
        collect_link_pages(fetch, first, lambda r: r["data"], lambda r: r["links"], API)
    assert fetched == [f"{API}/v3/device?page=2"]
