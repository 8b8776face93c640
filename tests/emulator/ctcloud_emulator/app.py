"""The WSGI application: one URL map for the four emulated hosts and the admin API.

Per request, in this order: route; count (not admin); for the two API hosts,
add latency, then maybe answer with an injected fault, then (CT only) maybe
revoke the access tokens; and only then run the handler. Faults therefore never
see or change state.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from typing import Any

from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import Map
from werkzeug.wrappers import Request, Response

from ctcloud_emulator import ct_api, cthings_api
from ctcloud_emulator.admin import Admin
from ctcloud_emulator.ct_auth import CtAuth
from ctcloud_emulator.cthings_admin import CthingsAdmin
from ctcloud_emulator.cthings_auth import CthingsAuth
from ctcloud_emulator.services import ADMIN, API_HOSTS, CT_API, Endpoint, Services
from ctcloud_emulator.web import json_response
from ctcloud_emulator.webhooks import WebhookSender

LOG = logging.getLogger("ctcloud_emulator")
MAX_BODY_BYTES = 10 * 1024 * 1024


class EmulatorApp:
    def __init__(self, services: Services, webhooks: WebhookSender | None = None) -> None:
        self.services = services
        rules = [
            *CtAuth(services).rules(),
            *ct_api.CtApi(services).rules(),
            *CthingsAuth(services).rules(),
            *cthings_api.CthingsApi(services).rules(),
            *Admin(services).rules(),
            *CthingsAdmin(services, webhooks or WebhookSender()).rules(),
        ]
        # No trailing-slash redirects: an API client must get an answer, not a 308.
        self.url_map = Map(rules, strict_slashes=False, merge_slashes=False)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        request = Request(environ)
        request.max_content_length = MAX_BODY_BYTES
        return self.dispatch(request)(environ, start_response)

    def dispatch(self, request: Request) -> Response:
        try:
            rule, arguments = self.url_map.bind_to_environ(request.environ).match(return_rule=True)
        except NotFound:
            return json_response({"message": "Not found"}, 404)
        except MethodNotAllowed as error:
            return json_response({"message": "Method not allowed"}, 405, {"Allow": ", ".join(error.valid_methods or [])})
        endpoint: Endpoint = rule.endpoint
        services = self.services
        if endpoint.host != ADMIN:
            services.stats.count_request(endpoint.host, f"{request.method} {rule.rule}")
        if endpoint.host in API_HOSTS:
            early_answer = self._network_effects(endpoint.host, request)
            if early_answer is not None:
                return early_answer
        try:
            return endpoint.handler(request, **arguments)
        except Exception:  # pylint: disable=broad-except  # a bug must answer 500, not kill the connection
            LOG.exception("unhandled error in %s %s", request.method, request.path)
            return json_response({"message": "Internal server error"}, 500)

    def _network_effects(self, host: str, request: Request) -> Response | None:
        """Latency, then an injected fault or a CT revocation; None lets the request through."""
        services = self.services
        knobs = services.knobs
        if knobs.latency_ms > 0:
            time.sleep(knobs.latency_ms / 1000)
        status = services.faults.draw_fault(knobs)
        if status is not None:
            services.stats.count_fault(status)
            if host == CT_API:
                return ct_api.fault_response(status, knobs.retry_after)
            return cthings_api.fault_response(request, status, knobs.retry_after)
        if host == CT_API and services.faults.ct_request_revokes(knobs):
            services.state.ct_tokens.revoke_all_access()
            services.stats.count_revocation()
            return ct_api.unauthorized("The access token was revoked")
        return None
