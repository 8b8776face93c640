"""`/_admin`: what tests and CI use to inspect and steer the emulator. Never counted, never faulted."""

from __future__ import annotations

import ipaddress
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from ctcloud_emulator.config import KnobError
from ctcloud_emulator.ct_store import NotFound
from ctcloud_emulator.services import ADMIN, Endpoint, Services
from ctcloud_emulator.web import MalformedBody, json_body, json_response, json_text_response, to_json

PREFIX = "/_admin"
# What `GET /_admin/identity` answers in "emulator": the shipped playbooks write only where they read exactly this.
BUNDLED_EMULATOR = "ctcloud.cloud bundled emulator"
RESET_DEFAULTS = {"data": True, "counters": True, "tokens": False}
BOX_ADDRESS_FIELDS = ("wan_ip", "public_ip")


class AdminRequestError(Exception):
    """400 `{"error": …}`."""


Route = tuple[str, str, Callable[..., Response]]  # path under PREFIX, method, handler
# Per exception type a handler may raise: the status it answers and the text of its `{"error": …}`.
ErrorAnswers = Mapping[type[Exception], tuple[int, Callable[[Exception], str]]]


def admin_rules(routes: list[Route], answers: ErrorAnswers) -> list[Rule]:
    """The rules of admin routes, each answering the exceptions of ``answers`` as `{"error": …}` with their status."""
    caught = tuple(answers)

    def answering(handler: Callable[..., Response]) -> Callable[..., Response]:
        def answer(request: Request, **arguments: str) -> Response:
            try:
                return handler(request, **arguments)
            except caught as error:  # pylint: disable=catching-non-exception  # the exception types of answers, a tuple
                status, text = next(answer for kind, answer in answers.items() if isinstance(error, kind))
                return json_response({"error": text(error)}, status)
        return answer

    return [Rule(f"{PREFIX}{path}", methods=[method], endpoint=Endpoint(ADMIN, answering(handler))) for path, method, handler in routes]


def _object_body(request: Request) -> Mapping[str, Any]:
    """The JSON object sent, `{}` for an empty body.

    Unlike the CT API (Rails ignores a body that is not JSON), the admin API refuses one:
    a test whose `curl -d '{...}'` forgot the content type must not silently change nothing.
    """
    if request.get_data(cache=True).strip() and not (request.mimetype == "application/json" or request.mimetype.endswith("+json")):
        raise AdminRequestError(f"send the body as JSON (Content-Type: application/json), not {request.mimetype or 'no content type'!r}")
    try:
        body = json_body(request)
    except MalformedBody as error:
        raise AdminRequestError(f"body is not JSON: {error}") from None
    if body is None:
        return {}
    if not isinstance(body, dict):
        raise AdminRequestError("body must be a JSON object")
    return body


def _is_loopback(value: Any) -> bool:
    try:
        return isinstance(value, str) and ipaddress.ip_address(value).is_loopback
    except ValueError:
        return False


class Admin:
    def __init__(self, services: Services) -> None:
        self.services = services
        self._config_lock = threading.Lock()  # two concurrent config changes must not lose one

    def rules(self) -> list[Rule]:
        routes = [
            ("/stats", "GET", self.stats),
            ("/reset", "POST", self.reset),
            ("/state", "GET", self.state),
            ("/config", "GET", self.get_config),
            ("/config", "POST", self.set_config),
            ("/ct/revoke", "POST", self.revoke),
            ("/ct/grants", "GET", self.grants),
            ("/ct/boxes/<slug>", "POST", self.set_box),
            ("/ct/locations/<ref>", "POST", self.set_location),
            ("/health", "GET", self.health),
        ]
        if self.services.announces_itself:
            routes.append(("/identity", "GET", self.identity))
        return admin_rules(routes, {AdminRequestError: (400, str), KnobError: (400, str)})

    def stats(self, request: Request) -> Response:
        del request
        return json_response(self.services.stats.as_dict())

    def reset(self, request: Request) -> Response:
        body = _object_body(request)
        unknown = sorted(set(body) - {*RESET_DEFAULTS, "seed"})
        if unknown:
            raise AdminRequestError(f"unknown reset option {unknown[0]!r}")
        options = {**RESET_DEFAULTS, **{key: value for key, value in body.items() if key != "seed"}}
        if not all(isinstance(value, bool) for value in options.values()):
            raise AdminRequestError("data, counters and tokens must be booleans")
        state = self.services.state
        seed = body.get("seed")
        if seed is not None:
            if not isinstance(seed, dict):
                raise AdminRequestError("seed must be an object")
            state.reseed(state.seed_params.updated(seed))
        elif options["data"]:
            state.reseed(state.seed_params)
        if options["tokens"]:
            state.reset_tokens()
        if options["counters"]:
            self.services.stats.reset()
            self.services.faults.reset()
        return json_response({"ok": True, "seed": state.seed_params.as_dict()})

    def state(self, request: Request) -> Response:
        """The dump; devices are joined from their cached JSON rather than re-serialized."""
        without = set(request.args.get("without", "").split(","))
        state = self.services.state
        text = to_json(state.ct.dump(time.time()))
        if "devices" not in without:
            text = f'{text[:-1]},"devices":[{",".join(state.devices.json_texts)}]}}'
        return json_text_response(text)

    def get_config(self, request: Request) -> Response:
        del request
        return json_response(self.services.knobs.as_dict())

    def set_config(self, request: Request) -> Response:
        changes = _object_body(request)
        with self._config_lock:
            self.services.knobs = self.services.knobs.updated(changes)
        if "revoke_every" in changes:
            self.services.faults.restart_revocation_count()
        if "lose_refresh_replies" in changes:
            self.services.faults.restart_lost_reply_count()
        return json_response(self.services.knobs.as_dict())

    def revoke(self, request: Request) -> Response:
        del request
        revoked = self.services.state.ct_tokens.revoke_all_access()
        self.services.stats.count_revocation()
        return json_response({"revoked": revoked})

    def grants(self, request: Request) -> Response:
        del request
        return json_response({"issued": self.services.state.ct_tokens.issued()})

    def set_box(self, request: Request, slug: str) -> Response:
        fields = _object_body(request)
        for name in BOX_ADDRESS_FIELDS:
            if fields.get(name) is not None and not _is_loopback(fields[name]):
                raise AdminRequestError(f"{name} must be a loopback address (127.0.0.0/8) or null, got {fields[name]!r}: "
                                        "the emulator hands out no address a play could reach beyond this machine")
        try:
            box = self.services.state.ct.admin_set_box(slug, fields, time.time())
        except NotFound as error:
            return json_response({"error": str(error)}, 404)
        except KeyError as error:
            raise AdminRequestError(f"boxes have no settable field {error.args[0]!r}") from None
        return json_response(box)

    def set_location(self, request: Request, ref: str) -> Response:
        fields = _object_body(request)
        try:
            location = self.services.state.ct.admin_set_location(ref, fields, time.time())
        except NotFound as error:
            return json_response({"error": str(error)}, 404)
        except KeyError as error:
            raise AdminRequestError(f"locations have no settable field {error.args[0]!r}") from None
        return json_response(location)

    @staticmethod
    def health(request: Request) -> Response:
        del request
        return json_response({"ok": True})

    @staticmethod
    def identity(request: Request) -> Response:
        """Who answers here, and the base URLs it serves, spelled with the host the client used to reach it."""
        base = request.host_url.rstrip("/")
        return json_response({
            "emulator": BUNDLED_EMULATOR,
            "ct": {"api_url": f"{base}/ct-api/api/v1", "auth_url": f"{base}/ct-id"},
            "cthings": {"api_url": f"{base}/cthings-api", "auth_url": f"{base}/cthings-auth/token"},
        })
