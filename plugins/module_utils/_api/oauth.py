# -*- coding: utf-8 -*-
# Copyright (c) ctcloud.cloud contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to ctcloud.cloud: no public API, may change in any release without notice (docs/architecture.md).
"""What both OAuth2 flows share: a token provider backed by the token store, and
a client base whose requests carry its token.

A provider hands out an access token. It reuses the stored one while it is
valid, so a whole playbook run costs one token request per credential, not one
per task. When a token is missing, expired, or was just rejected with 401, it
takes the store's lock, re-reads (another fork may have refreshed meanwhile) and
only then asks the authorization server, storing the answer before returning it.
Subclasses say how to ask (``_obtain``) and which stored entry is theirs
(``_belongs``).

The store is asked whether it can be written before the authorization server is
asked for anything (a renewed token it cannot keep is lost), and a store shared
by other machines may report that another process stored first: then this
process's new token is never used; it re-reads and takes the winner's.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from typing import Any, Callable, TypeVar

from ansible_collections.ctcloud.cloud.plugins.module_utils._api.errors import ApiError, AuthError, TokenStoreError
from ansible_collections.ctcloud.cloud.plugins.module_utils._api.schemas import check
from ansible_collections.ctcloud.cloud.plugins.module_utils._api.token_store import StoreConflict, TokenStore, Transaction
from ansible_collections.ctcloud.cloud.plugins.module_utils._api.transport import DEFAULT_WORKERS
from ansible_collections.ctcloud.cloud.plugins.module_utils._api.validation import origin

T = TypeVar("T")

# Renew this long before the announced expiry: clocks drift and requests take time. For short-lived
# tokens at most a quarter of their lifetime, or every use would renew them.
EXPIRY_MARGIN = 60
EXPIRY_MARGIN_SHARE = 0.25
# A lost compare-and-set race is retried with the winner's entry; a store that keeps changing under us
# (many runners each renewing) is reported, not chased forever.
STORE_RACES = 5
# Per request: renewed tokens that may be rejected again before the request fails. With forks,
# another process's request may be the one that finds every token expired, so a token renewed
# here can die as suddenly; but a server that rejects every token must fail, not loop.
TOKEN_RENEWALS = 5


def describe_oauth_error(status: int, data: Any, text: str) -> str:
    """RFC 6749 section 5.2 error bodies: ``{"error": ..., "error_description": ...}``."""
    if isinstance(data, dict) and isinstance(data.get("error"), str):
        description = data.get("error_description")
        if isinstance(description, str) and description:
            return "{}: {}".format(data["error"], description)
        return data["error"]
    if isinstance(data, dict) and isinstance(data.get("message"), str):
        return data["message"]
    return f"unexpected HTTP {status} reply from the authorization server"


def basic_credentials(client_id: str, client_secret: str) -> str:
    """The value after ``Basic `` in an Authorization header: a secret too, in another spelling."""
    return base64.b64encode(f"{client_id}:{client_secret}".encode()).decode("ascii")


def renewal_margin(entry: dict[str, Any]) -> float:
    """Seconds before ``expires_at`` at which a stored access token is renewed."""
    lifetime = entry.get("expires_at", 0) - entry.get("updated_at", 0)
    if not entry.get("updated_at") or lifetime <= 0:
        return EXPIRY_MARGIN
    return min(EXPIRY_MARGIN, lifetime * EXPIRY_MARGIN_SHARE)


def send_with_token(provider: Any, send: Callable[[str], T], cloud: str) -> T:
    """``send(token)`` with the provider's token; on 401 renew it and send again, a bounded number of times.

    A 401 means the request was not processed (expired "without notice", or revoked), so resending
    is safe even for a request that creates something.
    """
    token = provider.token()
    renewals = 0
    while True:
        try:
            return send(token)
        except ApiError as exc:
            if exc.status != 401:
                raise
            if renewals == TOKEN_RENEWALS:
                raise AuthError(f"{cloud} rejected a freshly issued access token: {exc.message}", exc.method, exc.url, 401) from None
        token = provider.token_after_rejection(token)
        renewals += 1


def oauth_error_code(error: ApiError) -> str | None:
    body = error.details.get("body") if error.details else None
    if isinstance(body, dict) and isinstance(body.get("error"), str):
        return body["error"]
    return None


class TokenProvider:
    """Tokens of one client of one authorization server, for one API origin.

    The API origin (scheme, host, port) is part of the access token's key in the store: a stored
    token is only ever sent to the origin it was obtained for, so pointing ``api_url`` elsewhere
    (a typo, a CT_API_URL left over from another environment) never hands it to another server.
    """

    kind = "oauth2"

    def __init__(self, store: TokenStore, auth_url: str, client_id: str, client_secret: str | None, api_url: str) -> None:
        self.store = store
        self.auth_url = auth_url
        self.client_id = client_id
        self.client_secret = client_secret
        self.api_origin = origin(api_url)
        self.token_requests = 0
        # Every token this process sent or received, also those read from the store (another process got them),
        # so that an error echoing a request cannot show one.
        self._seen: set[str] = set()

    @property
    def client_key(self) -> str:
        """The store key of what belongs to the client as a whole (CT's refresh chain): it only goes to ``auth_url``."""
        return f"{self.kind}|{self.auth_url}|{self.client_id}"

    @property
    def key(self) -> str:
        """The store key of the access token: per client and API origin, the one server it is sent to."""
        return f"{self.client_key}|{self.api_origin}"

    def secrets(self) -> list[str | None]:
        """Every credential this provider knows, for redacting error messages."""
        return []

    def token(self) -> str:
        entry = self.store.read(self.key)
        if self._usable(entry):
            return self._handed_out(entry["access_token"])
        return self._renewed(self._usable)

    def token_after_rejection(self, rejected: str) -> str:
        """A token other than ``rejected``, which the API just answered 401 to."""
        return self._renewed(lambda entry: self._usable(entry) and entry["access_token"] != rejected)

    def _renewed(self, acceptable: Callable[[Any], bool]) -> str:
        """Under the store's lock: the stored token if ``acceptable`` (another process renewed it), else a new one."""
        for _race in range(STORE_RACES):
            try:
                with self.store.transaction(self.client_key) as txn:
                    entry = txn.get(self.key)
                    if acceptable(entry):
                        return self._handed_out(entry["access_token"])
                    txn.prepare_write()
                    return self._handed_out(self._obtain(txn))
            except StoreConflict:
                # Another process stored first: our new token (if any) is dropped unused; the next turn takes theirs.
                continue
        raise TokenStoreError(
            f"the token store {self.store.description} kept changing while tokens were renewed ({STORE_RACES} times); "
            "are many jobs renewing tokens of this client at once?"
        )

    def _handed_out(self, access_token: str) -> str:
        self._seen.add(access_token)
        return access_token

    # -- for subclasses ----------------------------------------------------

    def _belongs(self, entry: dict[str, Any]) -> bool:
        return True

    def _usable(self, entry: dict[str, Any] | None) -> bool:
        return bool(
            entry
            and entry.get("access_token")
            and entry.get("expires_at", 0) - renewal_margin(entry) > time.time()
            and self._belongs(entry)
            and entry.get("secret_mark") == self.secret_mark()
        )

    def secret_mark(self) -> str | None:
        """What a stored entry remembers of the client secret that obtained it: an HMAC, never the secret.

        A stored access token is used only with that same secret. Otherwise a wrong secret would go
        unnoticed for as long as the token lives (an hour), and a scheduled job would fail an hour
        after the change that broke it; with the mark, the next run asks the server and fails at once.
        """
        if not self.client_secret:
            return None
        return hmac.new(self.client_secret.encode("utf-8"), f"ctcloud token store|{self.key}".encode(), hashlib.sha256).hexdigest()

    def _obtain(self, txn: Transaction) -> str:
        """Ask the authorization server, ``txn.put`` + ``txn.commit()`` the answer, return the access token."""
        raise NotImplementedError

    @staticmethod
    def _expires_at(reply: dict[str, Any], default_lifetime: int) -> float:
        lifetime = reply.get("expires_in")
        if not isinstance(lifetime, int) or lifetime <= 0:
            lifetime = default_lifetime
        # Local receipt time, not the server's created_at: our clock is the one that decides later.
        return time.time() + lifetime


class StaticTokenProvider:
    """A user-supplied access token: used as is, cannot be renewed."""

    def __init__(self, access_token: str, what: str) -> None:
        self._access_token = access_token
        self._what = what
        self.token_requests = 0

    def secrets(self) -> list[str | None]:
        return [self._access_token]

    def token(self) -> str:
        return self._access_token

    def token_after_rejection(self, rejected: str) -> str:
        raise AuthError(
            f"the {self._what} access token was rejected (expired or revoked) and no refresh token was given to renew it",
            status=401,
        )


class BearerClient:
    """What both API clients share: a transport, a token provider, and requests that carry its token."""

    cloud = ""  # names the cloud in a token failure

    def __init__(self, api_url: str, auth: Any, transport: Any, workers: int = DEFAULT_WORKERS) -> None:
        self.api_url = api_url.rstrip("/")
        self.auth = auth
        self.transport = transport
        self.workers = workers

    def secrets(self) -> list[str | None]:
        return self.auth.secrets()

    def close(self) -> None:
        self.transport.close()

    def authorized(self, method: str, url: str, schema: dict[str, Any] | None = None, **request: Any) -> Any:
        """The JSON body of ``method url`` sent with the provider's token (renewed on 401, see send_with_token).

        The body is checked against ``schema`` when one is given; every error is redacted of the credentials.
        """

        def send(token: str) -> Any:
            return self.transport.request(method, url, headers={"Authorization": f"Bearer {token}"}, **request)

        try:
            reply = send_with_token(self.auth, send, self.cloud)
            return reply.data if schema is None else check(schema, reply.data, method.upper(), url, reply.status)
        except ApiError as exc:
            raise exc.redacted(self.secrets()) from None
