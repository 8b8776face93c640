"""CT's API host (`api_url`): Rails-style JSON over locations, vouchers and boxes."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from ctcloud_emulator.ct_store import Invalid, NotFound, Refused
from ctcloud_emulator.seed_data import ACCOUNT_USER_ID
from ctcloud_emulator.services import CT_API, Endpoint, Services
from ctcloud_emulator.web import MalformedBody, bearer_token, json_body, json_response, no_content, optional_int

PREFIX = "/ct-api"
BASE = f"{PREFIX}/api/v1"
DEFAULT_PER = 15
MAX_PER = 100
FAULT_MESSAGES = {
    429: "Rate limit exceeded, retry later",
    502: "Bad gateway",
    503: "Service temporarily unavailable",
    504: "Gateway timeout",
}
ME = {"id": ACCOUNT_USER_ID, "username": "ct-emulator", "email": "ct-emulator@example.com"}

Handler = Callable[..., Response]


class ParamMissing(Exception):
    """Rails' ActionController::ParameterMissing: the `{"location": {…}}` wrapper is absent or empty."""


def unauthorized(message: str) -> Response:
    """Doorkeeper's 401, with the contract's `{"message": …}` body."""
    header = f'Bearer realm="Doorkeeper", error="invalid_token", error_description="{message}"'
    return json_response({"message": message}, 401, {"WWW-Authenticate": header})


def fault_response(status: int, retry_after: int) -> Response:
    headers = {"Retry-After": str(retry_after)} if status == 429 else {}
    return json_response({"message": FAULT_MESSAGES[status]}, status, headers)


def paginated(plural: str, items: Sequence[Any], request: Request) -> dict[str, Any]:
    """Kaminari-style page with the contract's `_links`; `per` is clamped, bad numbers fall back to defaults."""
    page = optional_int(request.args.get("page"))
    page = page if page is not None and page >= 1 else 1
    per = optional_int(request.args.get("per"))
    per = min(per, MAX_PER) if per is not None and per >= 1 else DEFAULT_PER
    total = len(items)
    total_pages = -(-total // per)
    start = (page - 1) * per
    return {
        plural: list(items[start:start + per]),
        "_links": {
            "current_page": page,
            "total_pages": total_pages,
            "next_page": page + 1 if page < total_pages else None,
            "total_entries": total,
            "size": per,
        },
    }


def _flag(text: str | None) -> bool | None:
    return {"true": True, "1": True, "false": False, "0": False}.get(text or "")


def wrapped_params(request: Request, key: str) -> Mapping[str, Any]:
    """`params.require(key)`: the inner object of `{"key": {…}}`."""
    body = json_body(request)
    inner = body.get(key) if isinstance(body, dict) else None
    if not isinstance(inner, dict) or not inner:
        raise ParamMissing(key)
    return inner


class CtApi:
    def __init__(self, services: Services) -> None:
        self.services = services
        self.store = services.state.ct

    def rules(self) -> list[Rule]:
        routes: list[tuple[str, str, Handler]] = [
            ("/ping.json", "GET", self.ping),
            ("/me.json", "GET", self.me),
            ("/locations", "GET", self.list_locations),
            ("/locations", "POST", self.create_location),
            ("/locations/<ref>", "GET", self.get_location),
            ("/locations/<ref>", "PATCH", self.update_location),
            ("/locations/<ref>", "DELETE", self.delete_location),
            ("/locations/<ref>/vouchers", "GET", self.list_vouchers),
            ("/locations/<ref>/vouchers", "POST", self.create_voucher),
            ("/locations/<ref>/vouchers/<unique_id>", "GET", self.get_voucher),
            ("/locations/<ref>/vouchers/<unique_id>", "PATCH", self.update_voucher),
            ("/locations/<ref>/vouchers/<unique_id>", "DELETE", self.delete_voucher),
            ("/locations/<ref>/vouchers/<unique_id>/codes", "GET", self.list_codes),
            ("/boxes", "GET", self.list_boxes),
            ("/boxes/<slug>", "GET", self.get_box),
            ("/boxes/<slug>", "PATCH", self.update_box),
        ]
        rules = [Rule(f"{BASE}{path}", methods=[method], endpoint=Endpoint(CT_API, self._guarded(handler))) for path, method, handler in routes]
        # Rails answers an unknown route with 404 before any authentication.
        rules.append(Rule(f"{PREFIX}/<path:unknown>", endpoint=Endpoint(CT_API, self.not_found)))
        return rules

    @staticmethod
    def not_found(request: Request, unknown: str) -> Response:
        del request, unknown
        return json_response({"message": "Not found"}, 404)

    def _guarded(self, handler: Handler) -> Handler:
        """Bearer authentication first, then the handler, with domain errors turned into Rails' answers."""
        @functools.wraps(handler)
        def guarded(request: Request, **arguments: str) -> Response:
            token = bearer_token(request)
            if token is None:
                return unauthorized("The access token is missing")
            problem = self.services.state.ct_tokens.authenticate(token, time.time())
            if problem:
                return unauthorized(problem)
            try:
                return handler(request, **arguments)
            except NotFound as error:
                return json_response({"message": str(error)}, 404)
            except Invalid as error:
                return json_response({"errors": error.errors}, 422)
            except Refused as error:
                return json_response({"errors": [str(error)]}, 422)
            except ParamMissing as error:
                return json_response({"errors": [f"param is missing or the value is empty: {error}"]}, 400)
            except MalformedBody as error:
                return json_response({"errors": [f"the request body is not valid JSON: {error}"]}, 400)
        return guarded

    def _wrote(self, resource: str, request: Request) -> None:
        self.services.stats.count_write(resource, request.method)

    # ---- the dialect's reply shapes ---------------------------------------------------------

    def _location(self, record: Mapping[str, Any], single: bool) -> dict[str, Any]:
        """The dashboard reads only `archived` (1/0 or a boolean) and never sees a `state`."""
        dialect = self.services.dialect
        view = dict(record)
        if not dialect.location_state_in_replies:
            view.pop("state", None)
        if single and dialect.archived_as_integer:
            view["archived"] = int(bool(view["archived"]))
        return view

    def _box(self, record: Mapping[str, Any]) -> dict[str, Any]:
        """The dashboard compares `parseInt(data.id) === box.id`: box ids are integers there."""
        if not self.services.dialect.dashboard_boxes:
            return dict(record)
        return {**record, "id": int(record["id"])}

    # ---- account ----------------------------------------------------------------------------

    @staticmethod
    def ping(request: Request) -> Response:
        del request
        return json_response({"ping": "pong"})

    @staticmethod
    def me(request: Request) -> Response:
        del request
        return json_response(ME)

    # ---- locations --------------------------------------------------------------------------

    def list_locations(self, request: Request) -> Response:
        args = request.args
        locations = self.store.list_locations(args.get("q"), args.get("sort"), args.get("direction"), args.get("location_name"),
                                              time.time(), self.services.knobs.search_lag)
        page = paginated("locations", locations, request)
        page["locations"] = [self._location(location, single=False) for location in page["locations"]]
        return json_response(page)

    def get_location(self, request: Request, ref: str) -> Response:
        del request
        return json_response(self._location(self.store.get_location(ref), single=True))

    def create_location(self, request: Request) -> Response:
        knobs = self.services.knobs
        location = self.store.create_location(wrapped_params(request, "location"), time.time(), knobs.search_lag, knobs.unique_location_names)
        self._wrote("locations", request)
        return json_response(self._location(location, single=True), 201)

    def update_location(self, request: Request, ref: str) -> Response:
        knobs = self.services.knobs
        location = self.store.update_location(ref, wrapped_params(request, "location"), time.time(), knobs.search_lag, knobs.unique_location_names)
        self._wrote("locations", request)
        return json_response(self._location(location, single=True))

    def delete_location(self, request: Request, ref: str) -> Response:
        self.store.delete_location(ref, time.time(), self.services.knobs.search_lag)
        self._wrote("locations", request)
        return no_content()

    # ---- vouchers ---------------------------------------------------------------------------

    def list_vouchers(self, request: Request, ref: str) -> Response:
        vouchers = self.store.list_vouchers(ref, request.args.get("q"), request.args.get("batch_name"), time.time(),
                                            self.services.knobs.search_lag)
        return json_response(paginated("vouchers", vouchers, request))

    def get_voucher(self, request: Request, ref: str, unique_id: str) -> Response:
        del request
        return json_response(self.store.get_voucher(ref, unique_id, time.time()))

    def create_voucher(self, request: Request, ref: str) -> Response:
        params = wrapped_params(request, "voucher")
        knobs = self.services.knobs
        voucher = self.store.create_voucher(ref, params, time.time(), knobs.voucher_delay, knobs.search_lag, knobs.voucher_id_length)
        self._wrote("vouchers", request)
        return json_response(voucher, 201)

    def update_voucher(self, request: Request, ref: str, unique_id: str) -> Response:
        voucher = self.store.update_voucher(ref, unique_id, wrapped_params(request, "voucher"), time.time(), self.services.knobs.search_lag)
        self._wrote("vouchers", request)
        return json_response(voucher)

    def delete_voucher(self, request: Request, ref: str, unique_id: str) -> Response:
        self.store.delete_voucher(ref, unique_id, time.time(), self.services.knobs.search_lag)
        self._wrote("vouchers", request)
        return no_content()

    def list_codes(self, request: Request, ref: str, unique_id: str) -> Response:
        codes = self.store.list_codes(ref, unique_id, _flag(request.args.get("activated")), time.time())
        return json_response(paginated("codes", codes, request))

    # ---- boxes ------------------------------------------------------------------------------

    def list_boxes(self, request: Request) -> Response:
        filters = {name: request.args.get(name) or None for name in ("location_id", "q", "state", "firmware_version", "machine_type")}
        page = paginated("boxes", self.store.list_boxes(filters, time.time(), self.services.knobs.heartbeat_lag), request)
        page["boxes"] = [self._box(box) for box in page["boxes"]]
        return json_response(page)

    def get_box(self, request: Request, slug: str) -> Response:
        del request
        return json_response(self._box(self.store.get_box(slug, time.time(), self.services.knobs.heartbeat_lag)))

    def update_box(self, request: Request, slug: str) -> Response:
        knobs = self.services.knobs
        box = self.store.box_action(slug, wrapped_params(request, "box"), time.time(), knobs.reboot_delay, knobs.heartbeat_lag)
        self._wrote("boxes", request)
        return json_response(self._box(box))
