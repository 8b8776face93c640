# -*- coding: utf-8 -*-
# Copyright (c) ctcloud.cloud contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to ctcloud.cloud: no public API, may change in any release without notice (docs/architecture.md).
"""Collect every page of a list, in order, with a bounded number of requests in flight.

Two styles (``docs/api-contract.md``):

- CT: ``page``/``per`` query parameters and ``_links.total_pages``/``next_page``;
  ``next_page`` is null or 0 on the last page.
- cThings: ``links.next`` absolute URLs, followed until falsy.

Pages after the first are fetched concurrently only when the first reply says
how many there are (CT ``total_pages``; cThings ``links.last`` with the same
``page`` parameter as ``links.next``). Otherwise, and after the planned pages if
the last one still points further, the next links are followed one by one.
Every loop is bounded.

A page link is fetched with the access token, so every link a reply names goes
through :func:`followed_link` first: only a URL under the configured API URL
(same scheme, host, port and path prefix) is ever requested.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Sequence
from urllib.parse import parse_qsl, unquote, urlencode, urljoin, urlsplit, urlunsplit

from ansible_collections.ctcloud.cloud.plugins.module_utils._api.errors import ApiError, redact_url
from ansible_collections.ctcloud.cloud.plugins.module_utils._api.transport import DEFAULT_WORKERS
from ansible_collections.ctcloud.cloud.plugins.module_utils._api.validation import origin

CT_PER_PAGE_MAX = 100  # assumed: larger `per` is clamped by the server
CTHINGS_LIMIT_MAX = 1000  # assumed: larger `limit` is clamped by the server
MAX_PAGES = 100000


def concurrently(function: Callable[[Any], Any], items: Sequence[Any], workers: int) -> list[Any]:
    """``function(item)`` for each item, at most ``workers`` at a time, results in the items' order."""
    if workers <= 1 or len(items) <= 1:
        return [function(item) for item in items]
    with ThreadPoolExecutor(max_workers=min(workers, len(items))) as pool:
        return list(pool.map(function, items))


def collect_ct_pages(
    fetch_page: Callable[[int], dict[str, Any]],
    key: str,
    workers: int = DEFAULT_WORKERS,
) -> list[dict[str, Any]]:
    """All items of a CT list. ``fetch_page(n)`` returns page ``n``'s reply (already shape-checked)."""
    first = fetch_page(1)
    items = list(first[key])
    links = first.get("_links") or {}
    if not links.get("next_page"):
        return items
    total_pages = links.get("total_pages")
    last_reply = first
    last_page = 1
    if isinstance(total_pages, int) and 2 <= total_pages <= MAX_PAGES:
        pages = concurrently(fetch_page, list(range(2, total_pages + 1)), workers)
        for reply in pages:
            items.extend(reply[key])
        last_reply, last_page = pages[-1], total_pages
    # The list may have grown while we read it, or total_pages was missing: follow next_page.
    while (last_reply.get("_links") or {}).get("next_page"):
        next_page = last_reply["_links"]["next_page"]
        if not isinstance(next_page, int) or next_page <= last_page or next_page > MAX_PAGES:
            raise ApiError(f"the server's pagination does not advance (next_page {next_page!r} after page {last_page})")
        last_reply, last_page = fetch_page(next_page), next_page
        items.extend(last_reply[key])
    return items


def followed_link(api_url: str, link: Any) -> str:
    """A page link from a reply, resolved against ``api_url``, if it stays under it; else ApiError, and nothing is sent.

    Under means: the same scheme, host and port (an ``http://`` link from an ``https`` API would carry the token
    in cleartext, another host would receive it), no ``user@``, and a path inside the API URL's path with no
    ``.``/``..`` segment, plain or percent-encoded, that could climb out of it on the server.
    """
    base = api_url.rstrip("/") + "/"
    shown = redact_url(str(link))[:200]
    if not isinstance(link, str) or not link.strip():
        raise ApiError(f"the reply names a page link that is not a URL ({shown!r}); it is not followed")
    resolved = urljoin(base, link.strip())
    parts = urlsplit(resolved)
    try:
        same_origin = origin(resolved) == origin(base) and "@" not in parts.netloc
    except ValueError:
        same_origin = False
    segments = [unquote(segment) for segment in parts.path.split("/")]
    escapes = any(segment in (".", "..") or "/" in segment or "\\" in segment for segment in segments)
    if not same_origin or escapes or not parts.path.startswith(urlsplit(base).path):
        raise ApiError(
            f"the reply names a page link outside api_url ({shown}); it is not followed, so the access token is not sent "
            f"there (api_url is {redact_url(api_url)})",
            "GET",
            shown,
        )
    return resolved


def _with_page(url: str, parameter: str, page: int) -> str:
    parts = urlsplit(url)
    query = [(name, str(page) if name == parameter else value) for name, value in parse_qsl(parts.query, keep_blank_values=True)]
    return urlunsplit(parts._replace(query=urlencode(query)))


def _page_number(url: str | None, parameter: str = "page") -> int | None:
    if not url:
        return None
    values = [value for name, value in parse_qsl(urlsplit(url).query) if name == parameter]
    if len(values) == 1 and values[0].isdigit():
        return int(values[0])
    return None


def planned_link_pages(links: dict[str, Any]) -> list[str]:
    """URLs of pages 2..last when ``next`` and ``last`` agree on a ``page`` parameter, else ``[]``."""
    next_url, last_url = links.get("next"), links.get("last")
    next_page, last_page = _page_number(next_url), _page_number(last_url)
    if next_page is None or last_page is None or not next_page <= last_page <= MAX_PAGES:
        return []
    # Build every page URL from `last` so that filters and limit are the server's own.
    return [_with_page(last_url, "page", page) for page in range(next_page, last_page + 1)]


def collect_link_pages(
    fetch_url: Callable[[str], Any],
    first: Any,
    items_of: Callable[[Any], list[Any]],
    links_of: Callable[[Any], dict[str, Any]],
    api_url: str,
    workers: int = DEFAULT_WORKERS,
) -> list[Any]:
    """All items of a list paginated by ``links.next``; ``first`` is the first page's reply.

    Every link that is followed (each ``next``, and ``last`` when the pages are planned from it) is checked
    by :func:`followed_link` against ``api_url`` before anything is fetched.
    """

    def next_link(reply: Any) -> str | None:
        link = links_of(reply).get("next")
        return followed_link(api_url, link) if link else None

    items = list(items_of(first))
    next_url = next_link(first)
    if not next_url:
        return items
    seen = set()
    last_reply = first
    last = links_of(first).get("last")
    planned = planned_link_pages({"next": next_url, "last": followed_link(api_url, last) if last else None})
    if planned:
        pages = concurrently(fetch_url, planned, workers)
        for reply in pages:
            items.extend(items_of(reply))
        last_reply = pages[-1]
        seen.update(planned)
    while next_url := next_link(last_reply):
        if next_url in seen or len(seen) >= MAX_PAGES:
            raise ApiError(f"the server's pagination does not advance (links.next repeats {next_url})")
        seen.add(next_url)
        last_reply = fetch_url(next_url)
        items.extend(items_of(last_reply))
    return items
