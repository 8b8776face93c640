# -*- coding: utf-8 -*-
# Copyright (c) ctcloud.cloud contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to ctcloud.cloud: no public API, may change in any release without notice (docs/architecture.md).
"""The cThings Cloud API client: client-credentials tokens, the response envelope,
``links.next`` pagination, and v3 with a v2 fallback declared per endpoint.

The token request follows the seed exactly: ``Authorization: Basic`` of
``client_id:client_secret``, a multipart/form-data body with
``grant_type=client_credentials`` and ``scope=api``. The token is kept in the
token store until shortly before ``expires_in``, so one playbook run costs one
token request per credential.
"""

from __future__ import annotations

import time
from typing import Any, Mapping
from urllib.parse import quote

from ansible_collections.ctcloud.cloud.plugins.module_utils._api.errors import ApiError, AuthError, InputError
from ansible_collections.ctcloud.cloud.plugins.module_utils._api.oauth import (
    BearerClient,
    TokenProvider,
    basic_credentials,
    describe_oauth_error,
    oauth_error_code,
)
from ansible_collections.ctcloud.cloud.plugins.module_utils._api.pagination import CTHINGS_LIMIT_MAX, collect_link_pages
from ansible_collections.ctcloud.cloud.plugins.module_utils._api.schemas import (
    CTHINGS_DEVICE,
    CTHINGS_DEVICE_LIST,
    CTHINGS_ENVELOPE,
    CTHINGS_READING_LIST,
    CTHINGS_TOKEN,
    check,
)
from ansible_collections.ctcloud.cloud.plugins.module_utils._api.token_store import TokenStore, Transaction, open_token_store
from ansible_collections.ctcloud.cloud.plugins.module_utils._api.transport import DEFAULT_WORKERS, Transport
from ansible_collections.ctcloud.cloud.plugins.module_utils._api.validation import credential, service_url, token_from_server, uuid_value

try:
    from requests.auth import HTTPBasicAuth
except ImportError:  # reported by the modules through transport.HAS_REQUESTS
    HTTPBasicAuth = None

DEFAULT_API_URL = "https://api.cthings.cloud"
DEFAULT_AUTH_URL = "https://authserver.cthings.cloud/token"
DEFAULT_TOKEN_LIFETIME = 3600  # the seed's expires_in

# The seed: "Wherever possible v3 should be used ... Some endpoints aren't available in the
# v3 version, in which case you should fallback to v2." The fallback is declared here, per
# endpoint, rather than guessed from a 404 (which also means "no such device").
# The last column is every query parameter the contract names for the endpoint: nothing else is
# ever sent, because a strict server refuses unknown parameters (docs/api-contract.md, "cThings").
ENDPOINTS: dict[str, tuple[str, str, dict[str, Any], tuple[str, ...]]] = {
    "device": ("v3", "device/{device_id}", CTHINGS_DEVICE, ()),
    "devices": ("v3", "device", CTHINGS_DEVICE_LIST, ("page", "limit", "entity", "type", "active")),
    "device_readings": ("v2", "device/{device_id}/readings", CTHINGS_READING_LIST, ("from", "to")),
}


def describe_cthings_error(status: int, data: Any, text: str) -> str:
    if isinstance(data, dict) and isinstance(data.get("message"), str) and data["message"]:
        return data["message"]
    return describe_oauth_error(status, data, text)


class CthingsAuth(TokenProvider):
    kind = "cthings"

    def __init__(
        self, store: TokenStore, transport: Transport, auth_url: str, client_id: str, client_secret: str, api_url: str = DEFAULT_API_URL
    ) -> None:
        super().__init__(store, auth_url, client_id, client_secret, api_url)
        self.transport = transport

    def secrets(self) -> list[str | None]:
        return [self.client_secret, basic_credentials(self.client_id, self.client_secret), *sorted(self._seen)]

    def _obtain(self, txn: Transaction) -> str:
        txn.delete(self.client_key)  # where 0.1.0 kept the token, for whatever API it was used with: never sent again
        self.token_requests += 1
        try:
            # A client-credentials grant creates nothing on the server: safe to replay.
            reply = self.transport.request(
                "POST",
                self.auth_url,
                multipart={"grant_type": "client_credentials", "scope": "api"},
                auth=HTTPBasicAuth(self.client_id, self.client_secret),
                replay_safe=True,
                describe_error=describe_oauth_error,
            )
        except ApiError as exc:
            code = oauth_error_code(exc)
            # The body's error decides; the status only when there is none (token servers differ on 400 and 401).
            if code == "invalid_client" or (code is None and exc.status == 401):
                exc = AuthError(f"cThings rejected client_id/client_secret ({exc.message})", exc.method, exc.url, exc.status, exc.details)
            raise exc.redacted(self.secrets()) from None
        data = check(CTHINGS_TOKEN, reply.data, "POST", self.auth_url, reply.status)
        self._seen.add(data["access_token"])
        token_from_server(data["access_token"], "an access token")
        entry = {
            "access_token": data["access_token"],
            "expires_at": self._expires_at(data, DEFAULT_TOKEN_LIFETIME),
            "secret_mark": self.secret_mark(),
            "updated_at": int(time.time()),
        }
        txn.put(self.key, entry)
        txn.commit()
        return entry["access_token"]


class CthingsClient(BearerClient):
    """Requests against the cThings API with a client-credentials token."""

    cloud = "cThings"

    @classmethod
    def build(
        cls,
        api_url: str | None = None,
        auth_url: str | None = None,
        client_id: str | None = None,
        client_secret: str | None = None,
        token_store: str | None = None,
        validate_certs: bool = True,
        timeout: float = 30.0,
        workers: int = DEFAULT_WORKERS,
        token_store_key: str | None = None,
    ) -> CthingsClient:
        for name, value in (("client_id", client_id), ("client_secret", client_secret)):
            if not value:
                raise InputError(f"cThings {name} is required (or CTHINGS_{name.upper()})", name)
            credential(value, name)
        api_url = service_url(api_url or DEFAULT_API_URL, "api_url")
        auth_url = service_url(auth_url or DEFAULT_AUTH_URL, "auth_url")
        transport = Transport(timeout=timeout, validate_certs=validate_certs, describe_error=describe_cthings_error, pool_size=max(10, workers))
        auth = CthingsAuth(open_token_store(token_store, token_store_key), transport, auth_url, client_id, client_secret, api_url)
        return cls(api_url, auth, transport, workers)

    def endpoint_url(self, endpoint: str, **path: str) -> str:
        version, template, _schema, _parameters = ENDPOINTS[endpoint]
        quoted = {name: quote(value, safe="") for name, value in path.items()}
        return f"{self.api_url}/{version}/{template.format(**quoted)}"

    @staticmethod
    def _query(endpoint: str, params: Mapping[str, Any] | None) -> dict[str, Any]:
        unnamed = sorted(set(params or {}) - set(ENDPOINTS[endpoint][3]))
        if unnamed:  # a bug of ours, not the user's: never let it reach the server
            raise ValueError(f"the contract names no query parameter {', '.join(unnamed)} for the {endpoint} endpoint")
        return dict(params or {})

    def get_envelope(self, url: str, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """GET one URL (a built endpoint URL or a ``links.next``): the checked envelope (see BearerClient.authorized)."""
        return self.authorized("GET", url, CTHINGS_ENVELOPE, params=params)

    def call(self, endpoint: str, params: Mapping[str, Any] | None = None, **path: str) -> Any:
        """The checked ``data`` of one endpoint's envelope."""
        url = self.endpoint_url(endpoint, **path)
        envelope = self.get_envelope(url, self._query(endpoint, params) or None)
        return check(ENDPOINTS[endpoint][2], envelope["data"], "GET", url, envelope.get("code"))

    def collect(self, endpoint: str, params: Mapping[str, Any] | None = None, **path: str) -> list[Any]:
        """Every item of an endpoint, following ``links.next`` when a reply has it (pages fetched concurrently where possible).

        Only the parameters the contract names for the endpoint are sent; a larger page (``limit``) is asked
        for only where it is named, and a link outside api_url (another origin or path) is not followed.
        """
        url = self.endpoint_url(endpoint, **path)
        schema = ENDPOINTS[endpoint][2]
        query = self._query(endpoint, params)
        if "limit" in ENDPOINTS[endpoint][3]:
            query.setdefault("limit", CTHINGS_LIMIT_MAX)

        def fetch(page_url: str, page_params: Mapping[str, Any] | None = None) -> dict[str, Any]:
            # collect_link_pages follows a link only under api_url (same origin and path prefix)
            envelope = self.get_envelope(page_url, page_params)
            check(schema, envelope["data"], "GET", page_url, envelope.get("code"))
            return envelope

        def links_of(envelope: dict[str, Any]) -> dict[str, Any]:
            links = envelope.get("links")
            return links if isinstance(links, dict) else {}

        first = fetch(url, query or None)
        try:
            return collect_link_pages(fetch, first, lambda envelope: envelope["data"], links_of, self.api_url, self.workers)
        except ApiError as exc:
            raise exc.redacted(self.secrets()) from None  # a refused link may quote what a hostile server put in it

    # -- the resources ---------------------------------------------------

    def get_device(self, device_id: str) -> dict[str, Any]:
        return self.call("device", device_id=uuid_value(device_id, "id"))

    def list_devices(self, entity: str | None = None, type_key: str | None = None, active: bool | None = None) -> list[dict[str, Any]]:
        params: dict[str, Any] = {}
        if entity:
            params["entity"] = entity
        if type_key:
            params["type"] = type_key
        if active is not None:
            params["active"] = "true" if active else "false"
        return self.collect("devices", params)

    def device_readings(self, device_id: str, start: str, end: str) -> list[dict[str, Any]]:
        return self.collect("device_readings", {"from": start, "to": end}, device_id=uuid_value(device_id, "id"))
