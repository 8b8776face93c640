"""CT authorization state, modelled on Doorkeeper's tables.

A *grant* is one row of Doorkeeper's `oauth_access_tokens`: an access token and
the refresh token issued with it. Rotation follows Doorkeeper's
`refresh_token_revoked_on_use` (the contract's `on_use`, on by default): a
refresh creates a new row that remembers the old refresh token in
`previous_refresh_token`; the old row is revoked only when the new access token
is used for the first time. In `strict` mode the old row is revoked at refresh.

Revoked rows are deleted: a deleted or unknown token is rejected the same way
(`invalid_grant`, or 401), so remembering them would only grow the state.
"""

from __future__ import annotations

import base64
import collections
import dataclasses
import hashlib
import hmac
import secrets
import threading
from collections.abc import Callable
from typing import Any

from ctcloud_emulator.clock import FIXED_EPOCH
from ctcloud_emulator.credentials import Credentials

AUTH_CODE_LIFETIME_SECONDS = 600  # Doorkeeper's default `authorization_code_expires_in`
# How many issued grants `/_admin/ct/grants` remembers: enough for any test, bounded for a long-running emulator.
ISSUED_LOG_LENGTH = 10_000


@dataclasses.dataclass
class CtGrant:
    access_token: str
    refresh_token: str
    created_at: float
    expires_in: int
    # Doorkeeper's column: this refresh token's row is revoked when our access token is first used.
    previous_refresh_token: str | None = None
    # The emulator's "expires without notice": the access token is dead, its refresh token still works.
    access_revoked: bool = False

    def token_response(self) -> dict[str, Any]:
        return {
            "access_token": self.access_token,
            "token_type": "bearer",
            "expires_in": self.expires_in,
            "refresh_token": self.refresh_token,
            "created_at": int(self.created_at),
        }


@dataclasses.dataclass
class AuthCode:
    client_id: str
    redirect_uri: str
    expires_at: float
    # PKCE (RFC 7636), as Doorkeeper >= 5.1 stores it with the grant when the authorize request carried one.
    code_challenge: str | None = None
    code_challenge_method: str | None = None

    def verifier_matches(self, code_verifier: str | None) -> bool:
        """Doorkeeper's validate_code_verifier: no challenge and no verifier pass; anything else must match."""
        if self.code_challenge is None and not code_verifier:
            return True
        if self.code_challenge is None or not code_verifier:
            return False
        if self.code_challenge_method == "S256":
            computed = base64.urlsafe_b64encode(hashlib.sha256(code_verifier.encode("ascii", "replace")).digest()).decode("ascii").rstrip("=")
        else:
            computed = code_verifier  # "plain"
        return hmac.compare_digest(computed, self.code_challenge)


class CtTokenRegistry:
    """Grants and authorization codes; every public method holds the state lock."""

    def __init__(self, credentials: Credentials, lock: threading.RLock, on_change: Callable[[], None]) -> None:
        self._credentials = credentials
        self._lock = lock
        self._on_change = on_change
        self._by_access: dict[str, CtGrant] = {}
        self._by_refresh: dict[str, CtGrant] = {}
        self._codes: dict[str, AuthCode] = {}
        # Every grant issued since the last reset, revoked ones too: tests check where tokens went, and when.
        self._issued: collections.deque[dict[str, Any]] = collections.deque(maxlen=ISSUED_LOG_LENGTH)
        self.reset()

    def reset(self) -> None:
        """Forget every issued token; only the refresh token of the emulated browser step remains."""
        with self._lock:
            self._by_access.clear()
            self._by_refresh.clear()
            self._codes.clear()
            self._issued.clear()
            self._add(CtGrant(
                access_token=self._credentials.ct_initial_access_token,
                refresh_token=self._credentials.ct_initial_refresh_token,
                created_at=float(FIXED_EPOCH),  # long expired: only its refresh token is useful
                expires_in=7200,
            ))
        self._on_change()

    def _add(self, grant: CtGrant) -> None:
        self._by_access[grant.access_token] = grant
        self._by_refresh[grant.refresh_token] = grant

    def _revoke(self, grant: CtGrant) -> None:
        self._by_access.pop(grant.access_token, None)
        self._by_refresh.pop(grant.refresh_token, None)

    def _issue(self, ttl: int, now: float, previous_refresh_token: str | None = None, grant_type: str = "refresh_token") -> CtGrant:
        grant = CtGrant(secrets.token_hex(32), secrets.token_hex(32), now, ttl, previous_refresh_token)
        self._add(grant)
        self._issued.append({"grant_type": grant_type, "access_token": grant.access_token, "refresh_token": grant.refresh_token,
                             "created_at": now, "expires_in": ttl})
        return grant

    def issued(self) -> list[dict[str, Any]]:
        """The grants issued since the last reset, oldest first (at most ISSUED_LOG_LENGTH)."""
        with self._lock:
            return [dict(row) for row in self._issued]

    # ---- authorization codes ------------------------------------------------------------

    def issue_code(self, client_id: str, redirect_uri: str, now: float, code_challenge: str | None = None,
                   code_challenge_method: str | None = None) -> str:
        code = secrets.token_hex(32)
        with self._lock:
            self._codes = {key: value for key, value in self._codes.items() if value.expires_at > now}
            self._codes[code] = AuthCode(client_id, redirect_uri, now + AUTH_CODE_LIFETIME_SECONDS, code_challenge, code_challenge_method)
        self._on_change()
        return code

    def redeem_code(self, code: str, client_id: str, redirect_uri: str, ttl: int, now: float,
                    code_verifier: str | None = None) -> CtGrant | None:
        """A new grant for a valid code, which is then used up; None is `invalid_grant`.

        A code sent with the wrong redirect_uri or PKCE verifier is not used up, as in Doorkeeper.
        """
        with self._lock:
            stored = self._codes.get(code)
            if stored is None or stored.expires_at <= now or stored.client_id != client_id or stored.redirect_uri != redirect_uri:
                return None
            if not stored.verifier_matches(code_verifier):
                return None
            del self._codes[code]
            grant = self._issue(ttl, now, grant_type="authorization_code")
        self._on_change()
        return grant

    # ---- refresh and use ----------------------------------------------------------------

    def refresh(self, refresh_token: str, rotation: str, ttl: int, now: float) -> CtGrant | None:
        """A new grant, or None (`invalid_grant`) for an unknown or revoked refresh token."""
        with self._lock:
            old = self._by_refresh.get(refresh_token)
            if old is None:
                return None
            if rotation == "strict":
                self._revoke(old)
                grant = self._issue(ttl, now)
            else:
                grant = self._issue(ttl, now, previous_refresh_token=old.refresh_token)
        self._on_change()
        return grant

    def authenticate(self, access_token: str, now: float) -> str | None:
        """None when the token may be used, else why not (the 401 message).

        The first use of an access token revokes the grant it was refreshed from.
        """
        with self._lock:
            grant = self._by_access.get(access_token)
            if grant is None:
                return "The access token is invalid"
            if grant.access_revoked:
                return "The access token was revoked"
            if now >= grant.created_at + grant.expires_in:
                return "The access token expired"
            if grant.previous_refresh_token is None:
                return None
            previous = self._by_refresh.get(grant.previous_refresh_token)
            if previous is not None:
                self._revoke(previous)
            grant.previous_refresh_token = None
        self._on_change()
        return None

    def revoke_all_access(self) -> int:
        """Kill every live access token ("expires without notice"); refresh tokens keep working."""
        with self._lock:
            revoked = 0
            for grant in self._by_access.values():
                if not grant.access_revoked:
                    grant.access_revoked = True
                    revoked += 1
        self._on_change()
        return revoked

    def newest_refresh_token(self) -> str:
        """The refresh token a restarted emulator announces: the last one issued that is still valid."""
        with self._lock:
            return next(reversed(self._by_refresh.values())).refresh_token

    # ---- persistence --------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "grants": [dataclasses.asdict(grant) for grant in self._by_refresh.values()],
                "codes": {code: dataclasses.asdict(value) for code, value in self._codes.items()},
            }

    def restore(self, saved: dict[str, Any]) -> None:
        with self._lock:
            self._by_access.clear()
            self._by_refresh.clear()
            for row in saved["grants"]:
                self._add(CtGrant(**row))
            self._codes = {code: AuthCode(**value) for code, value in saved["codes"].items()}
