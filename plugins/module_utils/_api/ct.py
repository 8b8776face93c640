# -*- coding: utf-8 -*-
# Copyright (c) ctcloud.cloud contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to ctcloud.cloud: no public API, may change in any release without notice (docs/architecture.md).
"""The CT API client: Doorkeeper authorization-code flow with rotating refresh tokens,
Bearer requests renewed on any 401, ``_links`` pagination, CT's three error shapes.

Rotation (``docs/api-contract.md``): each refresh returns a new refresh token and
the old one dies when the new access token is first used. So the new pair is
committed to the token store, under its lock, before this process sends any
request with the new access token.

A user may give the same initial refresh token on every run (a CI secret) long
after it was rotated away: each stored entry keeps the SHA-256 digests of every
refresh token in its chain (its *lineage*), and a given token found there means
"continue from the newest token of this chain".

Doorkeeper may instead revoke the old refresh token at the refresh itself (an
install without ``previous_refresh_token``, as CT's 2015-era token reply suggests).
Both work, with one difference no client can remove: if the refresh reply is lost
on the way, the old token is already dead and the new one never arrived. A refresh
is therefore resent by this file, not by the transport, so that it knows when that
happened and can say what to do (run ``ct_auth`` again). Token errors are decided by
the body's ``error``: older Doorkeeper answers every one of them with 401.

The store holds two entries per client: the refresh chain under the client's key
(the refresh token only ever goes to ``auth_url``), and the access token under the
client's key plus the API origin (it only ever goes to that API). Every API origin
continues the one chain, so switching ``api_url`` back and forth never strands a
revoked refresh token.
"""

from __future__ import annotations

import base64
import hashlib
import time
from secrets import token_urlsafe
from typing import Any, Mapping
from urllib.parse import quote, urlencode

from ansible_collections.ctcloud.cloud.plugins.module_utils._api import validation
from ansible_collections.ctcloud.cloud.plugins.module_utils._api.errors import ApiError, AuthError, InputError
from ansible_collections.ctcloud.cloud.plugins.module_utils._api.oauth import (
    BearerClient,
    StaticTokenProvider,
    TokenProvider,
    describe_oauth_error,
    oauth_error_code,
)
from ansible_collections.ctcloud.cloud.plugins.module_utils._api.pagination import CT_PER_PAGE_MAX, collect_ct_pages
from ansible_collections.ctcloud.cloud.plugins.module_utils._api.schemas import CT_TOKEN, check
from ansible_collections.ctcloud.cloud.plugins.module_utils._api.token_store import TokenStore, Transaction, open_token_store
from ansible_collections.ctcloud.cloud.plugins.module_utils._api.transport import Transport

DEFAULT_API_URL = "https://api.ctapp.io/api/v1"
DEFAULT_AUTH_URL = "https://id.ctapp.io"
DEFAULT_TOKEN_LIFETIME = 7200  # the seed's expires_in
LINEAGE_LENGTH = 50
REFRESH_ATTEMPTS = 5
REFRESH_PAUSE = 0.5  # seconds before the second attempt, doubled per attempt
# A started authorization (ct_auth step 1) waits this long for its code: a person signs in meanwhile.
PENDING_LIFETIME = 3600
PENDING_MAX = 10


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def describe_ct_error(status: int, data: Any, text: str) -> str:
    """CT answers ``{"errors": {field: [msg]}}``, ``{"errors": [msg]}`` or ``{"message": msg}``."""
    if isinstance(data, dict):
        errors = data.get("errors")
        if isinstance(errors, dict) and errors:
            return "; ".join(
                "{} {}".format(field, ", ".join(str(m) for m in (messages if isinstance(messages, list) else [messages])))
                for field, messages in errors.items()
            )
        if isinstance(errors, list) and errors:
            return "; ".join(str(message) for message in errors)
        if isinstance(data.get("message"), str) and data["message"]:
            return data["message"]
    return describe_oauth_error(status, data, text)


def field_errors(error: ApiError) -> dict[str, list[str]]:
    """The ``{"errors": {field: [msg]}}`` of a 422, or ``{}``."""
    body = error.details.get("body") if error.details else None
    errors = body.get("errors") if isinstance(body, dict) else None
    if not isinstance(errors, dict):
        return {}
    return {field: [str(m) for m in (msgs if isinstance(msgs, list) else [msgs])] for field, msgs in errors.items()}


def rails_boolean(value: Any) -> Any:
    """A Rails boolean as Python's: CT sends ``true``/``false`` or ``1``/``0`` (docs/api-contract.md, "Corrections")."""
    if value in (0, 1) and not isinstance(value, bool):
        return bool(value)
    return value


def with_booleans(record: dict[str, Any], fields: tuple[str, ...]) -> dict[str, Any]:
    """``record`` with each of ``fields`` it has as a real boolean; the API's other values are kept."""
    return dict(record, **{name: rails_boolean(record[name]) for name in fields if name in record})


def _live_pending(entry: dict[str, Any] | None, now: float) -> dict[str, dict[str, Any]]:
    """The started authorizations of a pending entry that have not expired, by the digest of their state."""
    pending = entry.get("pending") if isinstance(entry, dict) else None
    if not isinstance(pending, dict):
        return {}
    return {key: value for key, value in pending.items() if isinstance(value, dict) and value.get("expires_at", 0) > now}


def _bounded_lineage(chain: list[str]) -> list[str]:
    """Each digest once, in chain order; when too long, the root and the newest.

    The root is the token users keep giving (the CI secret): dropping it would make the
    unchanged secret unrecognised after LINEAGE_LENGTH rotations, and the run fail with invalid_grant.
    """
    unique = list(dict.fromkeys(chain))
    if len(unique) <= LINEAGE_LENGTH:
        return unique
    return unique[:1] + unique[-(LINEAGE_LENGTH - 1):]


class LostRefreshError(AuthError):
    """A refresh whose reply was lost, after which the old refresh token was refused: the chain cannot continue."""


class CtAuth(TokenProvider):
    kind = "ct"

    def __init__(
        self,
        store: TokenStore,
        transport: Transport,
        auth_url: str,
        client_id: str,
        client_secret: str,
        refresh_token: str | None = None,
        api_url: str = DEFAULT_API_URL,
    ) -> None:
        super().__init__(store, auth_url.rstrip("/"), client_id, client_secret, api_url)
        self.transport = transport
        self.refresh_token = refresh_token or None  # "" (an unset CI secret) is no token: use the stored chain

    @property
    def token_url(self) -> str:
        return self.auth_url + "/oauth/token"

    def authorize_url(self, redirect_uri: str, state: str, code_challenge: str | None = None) -> str:
        fields = {"client_id": self.client_id, "redirect_uri": redirect_uri, "response_type": "code", "state": state}
        if code_challenge is not None:
            fields.update(code_challenge=code_challenge, code_challenge_method="S256")
        return f"{self.auth_url}/oauth/authorize?{urlencode(fields)}"

    @property
    def pending_key(self) -> str:
        """Where the authorizations started (step 1) and not yet completed are kept: per client of auth_url."""
        return f"ct-authorize|{self.auth_url}|{self.client_id}"

    def begin_authorization(self, redirect_uri: str, pkce: bool, record: bool = True) -> tuple[str, str]:
        """The authorize URL and its ``state``, recorded in the store (unless ``record`` is false) for exchange_code.

        ``state`` (RFC 6749 section 10.12) binds the code that comes back to this step: a code from somebody
        else's authorization (a pasted link that signs you into their tenant) has no state recorded here. With
        ``pkce``, the verifier (RFC 7636, S256) stays in the store and only its hash goes into the URL.
        """
        state = token_urlsafe(32)
        verifier = token_urlsafe(64) if pkce else None
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode("ascii")).digest()).decode("ascii").rstrip("=") if verifier else None
        if record:
            with self.store.transaction(self.client_key) as txn:
                now = time.time()
                pending = _live_pending(txn.get(self.pending_key), now)
                pending[digest(state)] = {"redirect_uri": redirect_uri, "expires_at": now + PENDING_LIFETIME,
                                          **({"code_verifier": verifier} if verifier else {})}
                newest = sorted(pending.items(), key=lambda item: item[1]["expires_at"])[-PENDING_MAX:]
                txn.put(self.pending_key, {"pending": dict(newest)})
        return self.authorize_url(redirect_uri, state, challenge), state

    def pending_authorization(self, state: str, redirect_uri: str, txn: Transaction | None = None) -> dict[str, Any]:
        """The recorded step 1 that ``state`` names, for ``redirect_uri``; InputError when there is none."""
        entry = txn.get(self.pending_key) if txn is not None else self.store.read(self.pending_key)
        found = _live_pending(entry, time.time()).get(digest(state))
        if found is None:
            raise InputError(
                f"state does not match an authorization started by step 1 (ct_auth without code) with the token store {self.store.description} "
                f"in the last {PENDING_LIFETIME // 60} minutes, or it was completed already: run step 1 again and use the URL it returns. "
                "Nothing was sent",
                "state",
            )
        if found["redirect_uri"] != redirect_uri:
            raise InputError("redirect_uri differs from the one step 1 used for this state; use the same redirect_uri in both steps", "redirect_uri")
        return found

    def secrets(self) -> list[str | None]:
        return [self.client_secret, self.refresh_token, *sorted(self._seen)]

    def exchange_code(self, code: str, redirect_uri: str, state: str) -> dict[str, Any]:
        """The one-time browser step's code → tokens, stored. Returns the stored entry's public facts.

        ``state`` must name an authorization begun here (begin_authorization); it is used up with the code.
        """
        with self.store.transaction(self.client_key) as txn:
            pending = self.pending_authorization(state, redirect_uri, txn)
            txn.prepare_write()  # a code is used up by the exchange: never exchange it for tokens that cannot be kept
            fields = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
            if "code_verifier" in pending:
                fields["code_verifier"] = pending["code_verifier"]
            # A code is single-use: never replayed, even after a 503 (replay_safe=False).
            reply = self._grant(fields, replay_safe=False)
            remaining = _live_pending(txn.get(self.pending_key), time.time())
            remaining.pop(digest(state), None)
            txn.put(self.pending_key, {"pending": remaining})
            self._save(txn, reply, lineage=[])
            return {"expires_at": txn.get(self.key)["expires_at"], "token_store": self.store.description}

    # -- TokenProvider -----------------------------------------------------

    def _belongs(self, entry: dict[str, Any]) -> bool:
        # Without a given refresh token, whatever is stored for this client is ours (ct_auth put it there).
        return self.refresh_token is None or digest(self.refresh_token) in entry.get("lineage", [])

    def _obtain(self, txn: Transaction) -> str:
        # The refresh chain is the client's, not this API origin's. (0.1.0 stored the access token in the
        # chain's entry too: obtained for whatever API was configured then, it is never read.)
        chain = txn.get(self.client_key)
        candidates = []  # (refresh token, lineage it continues)
        if chain and self._belongs(chain) and chain.get("refresh_token"):
            candidates.append((chain["refresh_token"], list(chain.get("lineage", []))))
        if self.refresh_token and all(self.refresh_token != token for token, _lineage in candidates):
            candidates.append((self.refresh_token, []))
        if not candidates:
            raise InputError(
                "no CT refresh token: set refresh_token (or CT_REFRESH_TOKEN), or run ctcloud.cloud.ct_auth once "
                "with the code from the browser step (docs/ct-authorization.md)",
                "refresh_token",
            )
        self._seen.update(token for token, _lineage in candidates)  # the stored one is sent too: redact it
        failure: AuthError | None = None
        for refresh_token, lineage in candidates:
            try:
                reply = self._grant({"grant_type": "refresh_token", "refresh_token": refresh_token}, replay_safe=True)
            except AuthError as exc:
                if oauth_error_code(exc) != "invalid_grant":
                    raise
                if not isinstance(failure, LostRefreshError):
                    failure = exc  # this one was revoked; the next candidate may still work
                continue
            return self._save(txn, reply, [*lineage, digest(refresh_token)])
        raise failure  # type: ignore[misc]

    # -- internals ---------------------------------------------------------

    def _grant(self, fields: Mapping[str, str], replay_safe: bool) -> dict[str, Any]:
        """One grant; a refresh is resent here after an unknown outcome (5xx, no reply), at most REFRESH_ATTEMPTS times."""
        form = dict(fields, client_id=self.client_id, client_secret=self.client_secret)
        refreshing = fields["grant_type"] == "refresh_token"
        lost: ApiError | None = None
        for attempt in range(1, REFRESH_ATTEMPTS + 1):
            self.token_requests += 1
            try:
                # replay_safe=False: the transport then resends only what provably never reached CT.
                reply = self.transport.request(
                    "POST", self.token_url, form=form, replay_safe=replay_safe and not refreshing, describe_error=describe_oauth_error
                )
            except ApiError as exc:
                if refreshing and replay_safe and exc.retryable and attempt < REFRESH_ATTEMPTS:
                    lost = exc  # CT may have made the grant, and (revoking at refresh) dropped the token we hold
                    time.sleep(REFRESH_PAUSE * 2 ** (attempt - 1))
                    continue
                raise self._auth_error(exc, fields["grant_type"], lost).redacted(self.secrets()) from None
            return check(CT_TOKEN, reply.data, "POST", self.token_url, reply.status)
        raise AssertionError("unreachable")  # pragma: no cover

    def _auth_error(self, exc: ApiError, grant_type: str, lost: ApiError | None = None) -> ApiError:
        code = oauth_error_code(exc)
        if code == "invalid_grant" and grant_type == "refresh_token" and lost is not None:
            return LostRefreshError(
                f"CT's reply to a token refresh was lost ({lost.message}), and CT then rejected the refresh token (invalid_grant): "
                "it had already replaced it, revoking the old one at the refresh, and the new one never arrived. This token chain "
                f"cannot continue: run ctcloud.cloud.ct_auth again to authorize anew (docs/ct-authorization.md); {self.store.description} "
                "then holds the new chain",
                exc.method,
                exc.url,
                exc.status,
                details=exc.details,
            )
        if code == "invalid_grant" and grant_type == "refresh_token":
            hint = (
                "CT rejected the refresh token (invalid_grant): it was revoked, or rotated by an earlier run whose "
                f"token store is not {self.store.description}. Run ctcloud.cloud.ct_auth again (docs/ct-authorization.md)"
            )
        elif code == "invalid_grant":
            hint = "CT rejected the authorization code (invalid_grant): codes are single-use, expire after 10 minutes, and redirect_uri must match"
        elif code == "invalid_client":
            hint = "CT rejected client_id/client_secret (invalid_client)"
        elif code:
            hint = f"CT refused the token request: {exc.message}"
        else:
            return exc
        return AuthError(hint, exc.method, exc.url, exc.status, details=exc.details)

    def _save(self, txn: Transaction, reply: dict[str, Any], lineage: list[str]) -> str:
        self._seen.update((reply["access_token"], reply["refresh_token"]))
        validation.token_from_server(reply["access_token"], "an access token")
        validation.token_from_server(reply["refresh_token"], "a refresh token")
        chain = {
            "refresh_token": reply["refresh_token"],
            "lineage": _bounded_lineage([*lineage, digest(reply["refresh_token"])]),
            "updated_at": int(time.time()),
        }
        # The access token carries its chain's lineage: whether it may be used for a given refresh token is
        # decided from this entry alone, as for the chain (_belongs).
        access = {
            "access_token": reply["access_token"],
            "expires_at": self._expires_at(reply, DEFAULT_TOKEN_LIFETIME),
            "lineage": chain["lineage"],
            "secret_mark": self.secret_mark(),
            "updated_at": chain["updated_at"],
        }
        txn.put(self.client_key, chain)
        txn.put(self.key, access)
        txn.commit()  # on disk before the new access token is used: see the module docstring
        return access["access_token"]


class CtClient(BearerClient):
    """Requests against the CT API with a token from ``auth`` (a CtAuth or a static token)."""

    cloud = "CT"

    @classmethod
    def build(
        cls,
        api_url: str | None = None,
        auth_url: str | None = None,
        client_id: str | None = None,
        client_secret: str | None = None,
        refresh_token: str | None = None,
        access_token: str | None = None,
        token_store: str | None = None,
        validate_certs: bool = True,
        timeout: float = 30.0,
        token_store_key: str | None = None,
    ) -> CtClient:
        """A client from the connection options every CT module and plugin shares."""
        api_url = validation.service_url(api_url or DEFAULT_API_URL, "api_url")
        auth_url = validation.service_url(auth_url or DEFAULT_AUTH_URL, "auth_url")
        for name, value in (("client_id", client_id), ("client_secret", client_secret), ("refresh_token", refresh_token), ("access_token", access_token)):
            validation.credential(value, name)
        transport = Transport(timeout=timeout, validate_certs=validate_certs, describe_error=describe_ct_error)
        if access_token and not refresh_token:
            auth: Any = StaticTokenProvider(access_token, "CT")
        else:
            if not client_id or not client_secret:
                missing = "client_id" if not client_id else "client_secret"
                raise InputError(
                    f"CT {missing} is required (or CT_{missing.upper()}), unless access_token is given", missing
                )
            auth = CtAuth(open_token_store(token_store, token_store_key), transport, auth_url, client_id, client_secret, refresh_token, api_url)
        return cls(api_url, auth, transport)

    def url(self, *segments: Any) -> str:
        return "/".join([self.api_url] + [quote(str(segment), safe="") for segment in segments])

    def request(
        self,
        method: str,
        segments: Any,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
        schema: dict[str, Any] | None = None,
        replay_safe: bool | None = None,
    ) -> Any:
        """Send a request to ``api_url/segments...`` (see BearerClient.authorized). Returns the JSON body."""
        url = self.url(*segments) if isinstance(segments, (list, tuple)) else self.url(segments)
        return self.authorized(method, url, schema, params=params, json_body=body, replay_safe=replay_safe)

    def list_all(self, segments: Any, key: str, schema: dict[str, Any], params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        """Every item of a paginated list, pages after the first fetched concurrently."""
        base = dict(params or {})

        def fetch_page(page: int) -> dict[str, Any]:
            return self.request("GET", segments, params=dict(base, page=page, per=CT_PER_PAGE_MAX), schema=schema)

        return collect_ct_pages(fetch_page, key, self.workers)
