"""The cThings Cloud API host (`api_url`): devices (v3 and v2) and readings (v2 only), all in the envelope.

Every answer, errors and unknown paths included, is the seed's envelope with
`code` equal to the HTTP status. Device pages are assembled from the catalog's
pre-serialized JSON, so a 1000-device page costs a string join.
"""

from __future__ import annotations

import functools
import re
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from ctcloud_emulator.clock import parse_reading_time
from ctcloud_emulator.cthings_auth import token_problem
from ctcloud_emulator.devices import reading_count_and_first, readings_page
from ctcloud_emulator.services import CTHINGS_API, Endpoint, Services
from ctcloud_emulator.web import MalformedBody, bearer_token, json_body, json_text_response, to_json

PREFIX = "/cthings-api"
API_NAME = "cThings Cloud API"
API_VERSION = "3.13.1"
DEFAULT_LIMIT = 25
MAX_LIMIT = 1000
MAX_READING_WINDOW_SECONDS = 31 * 86_400
# The query parameters the contract names per endpoint; the dashboard dialect refuses any other.
DEVICE_LIST_PARAMETERS = ("page", "limit", "entity", "type", "active")
DEVICE_PARAMETERS: tuple[str, ...] = ()
READINGS_PARAMETERS = ("from", "to")
UUID_PATTERN = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.IGNORECASE)
FAULT_MESSAGES = {
    429: "Too many requests, retry later.",
    502: "Bad gateway.",
    503: "The service is temporarily unavailable.",
    504: "Gateway timeout.",
}

Handler = Callable[..., Response]


class BadParameters(Exception):
    """422: a query parameter the API cannot use."""


def _request_echo(request: Request) -> str:
    """The envelope's `request` member: the URL as called, the method and the JSON body (`{}` when none)."""
    try:
        body = json_body(request)
    except MalformedBody:
        body = None
    # The URL exactly as requested (percent-encoding kept), which werkzeug's `request.url` would decode.
    raw_target = request.environ.get("REQUEST_URI")
    url = f"{request.host_url.rstrip('/')}{raw_target}" if raw_target else request.url
    return to_json({"url": url, "method": request.method, "body": body if body is not None else {}})


def envelope(request: Request, status: int, data_json: str = "null", links: dict[str, Any] | None = None,
             message: str | None = None, headers: dict[str, str] | None = None) -> Response:
    """The seed's envelope, member order included; `data_json` is already JSON text."""
    text = (
        f'{{"api":"{API_NAME}","code":{status},"data":{data_json},"links":{to_json(links or {})},'
        f'"message":{to_json(message)},"request":{_request_echo(request)},"websocket":false,"version":"{API_VERSION}"}}'
    )
    return json_text_response(text, status, headers)


def error(request: Request, status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    return envelope(request, status, message=message, headers=headers)


def fault_response(request: Request, status: int, retry_after: int) -> Response:
    headers = {"Retry-After": str(retry_after)} if status == 429 else None
    return error(request, status, FAULT_MESSAGES[status], headers)


def _positive_int(request: Request, name: str, default: int) -> int:
    text = request.args.get(name)
    if text is None or text == "":
        return default
    try:
        value = int(text)
    except ValueError:
        raise BadParameters(f"The {name} parameter must be a positive integer.") from None
    if value < 1:
        raise BadParameters(f"The {name} parameter must be a positive integer.")
    return value


def refuse_unknown_parameters(request: Request, known: tuple[str, ...]) -> None:
    unknown = [name for name in request.args if name not in known]
    if unknown:
        raise BadParameters(f"Unknown query parameter: {unknown[0]}.")


def _page_window(request: Request) -> tuple[int, int]:
    """(page, limit); `limit` above the maximum is clamped, not refused."""
    return _positive_int(request, "page", 1), min(_positive_int(request, "limit", DEFAULT_LIMIT), MAX_LIMIT)


def page_links(request: Request, page: int, limit: int, total: int, kept: dict[str, str]) -> dict[str, str | None]:
    """Absolute links that keep the filters (`kept`) and the effective limit."""
    last = max(1, -(-total // limit))

    def link(number: int) -> str:
        return f"{request.base_url}?{urlencode({'page': number, 'limit': limit, **kept})}"

    return {
        "self": link(page),
        "first": link(1),
        "prev": link(page - 1) if page > 1 else None,
        "next": link(page + 1) if page < last else None,
        "last": link(last),
    }


class CthingsApi:
    def __init__(self, services: Services) -> None:
        self.services = services

    def rules(self) -> list[Rule]:
        rules = []
        for version in ("v3", "v2"):
            rules.append(Rule(f"{PREFIX}/{version}/device", methods=["GET"], endpoint=Endpoint(CTHINGS_API, self._guarded(self.list_devices))))
            rules.append(Rule(f"{PREFIX}/{version}/device/<device_id>", methods=["GET"],
                              endpoint=Endpoint(CTHINGS_API, self._guarded(self.get_device))))
        # Readings exist in v2 only: the v3 path falls through to the unknown-path rule, a 404.
        rules.append(Rule(f"{PREFIX}/v2/device/<device_id>/readings", methods=["GET"],
                          endpoint=Endpoint(CTHINGS_API, self._guarded(self.list_readings))))
        rules.append(Rule(f"{PREFIX}/<path:unknown>", endpoint=Endpoint(CTHINGS_API, self.not_found)))
        return rules

    @staticmethod
    def not_found(request: Request, unknown: str) -> Response:
        del unknown
        return error(request, 404, "The requested endpoint does not exist.")

    def _guarded(self, handler: Handler) -> Handler:
        @functools.wraps(handler)
        def guarded(request: Request, **arguments: str) -> Response:
            token = bearer_token(request)
            if token is None:
                return error(request, 401, "An access token is required.")
            problem = token_problem(self.services.state.cthings_signing_key(), token, time.time())
            if problem:
                return error(request, 401, f"{problem}.")
            try:
                return handler(request, **arguments)
            except BadParameters as failure:
                return error(request, 422, str(failure))
        return guarded

    def _check_parameters(self, request: Request, known: tuple[str, ...]) -> None:
        if self.services.dialect.cthings_strict_parameters:
            refuse_unknown_parameters(request, known)

    def list_devices(self, request: Request) -> Response:
        self._check_parameters(request, DEVICE_LIST_PARAMETERS)
        page, limit = _page_window(request)
        kept = {name: request.args[name] for name in ("entity", "type", "active") if request.args.get(name)}
        entity = kept.get("entity")
        if entity is not None and not UUID_PATTERN.match(entity):
            raise BadParameters("The entity parameter must be an entity id (a UUID).")
        active = kept.get("active")
        if active is not None and active not in ("true", "false"):
            raise BadParameters("The active parameter must be true or false.")
        catalog = self.services.state.devices
        selection = catalog.select(entity, kept.get("type"), None if active is None else active == "true")
        start = (page - 1) * limit
        texts = catalog.json_texts
        data_json = "[" + ",".join([texts[index] for index in selection[start:start + limit]]) + "]"
        return envelope(request, 200, data_json, page_links(request, page, limit, len(selection), kept))

    def get_device(self, request: Request, device_id: str) -> Response:
        self._check_parameters(request, DEVICE_PARAMETERS)
        catalog = self.services.state.devices
        index = catalog.find(device_id)
        if index is None:
            return error(request, 404, "The device does not exist.")
        return envelope(request, 200, catalog.json_texts[index])

    def list_readings(self, request: Request, device_id: str) -> Response:
        self._check_parameters(request, READINGS_PARAMETERS)
        catalog = self.services.state.devices
        index = catalog.find(device_id)
        if index is None:
            return error(request, 404, "The device does not exist.")
        from_text, to_text = request.args.get("from"), request.args.get("to")
        if not from_text or not to_text:
            raise BadParameters("The from and to parameters are required (YYYY-MM-DDTHH:MM:SS).")
        try:
            from_ts, to_ts = int(parse_reading_time(from_text)), int(parse_reading_time(to_text))
        except ValueError:
            raise BadParameters("The from and to parameters must look like YYYY-MM-DDTHH:MM:SS, without a zone.") from None
        if from_ts >= to_ts:
            raise BadParameters("The from parameter must be before the to parameter.")
        if to_ts - from_ts > MAX_READING_WINDOW_SECONDS:
            raise BadParameters("The from and to parameters must be at most 31 days apart.")
        device = catalog.devices[index]
        count, first, step = reading_count_and_first(device, from_ts, to_ts, time.time())
        if self.services.dialect.cthings_strict_parameters:
            # Only from and to are named for readings: the whole window in one reply, no links to follow.
            return envelope(request, 200, to_json(readings_page(device, first, step, 0, count, count)))
        page, limit = _page_window(request)
        readings = readings_page(device, first, step, (page - 1) * limit, limit, count)
        links = page_links(request, page, limit, count, {"from": from_text, "to": to_text})
        return envelope(request, 200, to_json(readings), links)
