# -*- coding: utf-8 -*-
# Copyright (c) ctcloud.cloud contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to ctcloud.cloud: no public API, may change in any release without notice (docs/architecture.md).
"""The collection's error types.

Every failure that reaches a module or the inventory plugin is one of these, so
callers need one ``except`` and one way of reporting. Messages are built from
method, URL, status and the API's own words; they never contain a credential,
and :func:`redact` is the last line of defence for anything that could.
"""

from __future__ import annotations

import re
from typing import Any, Iterable

_USERINFO = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)[^/@\s]*@")
REDACTED = "********"


def redact_url(url: str | None) -> str | None:
    """Drop ``user:password@`` from a URL so it can be shown."""
    if not url:
        return url
    return _USERINFO.sub(r"\g<scheme>", url)


def redact(text: str, secrets: Iterable[str | None]) -> str:
    """Replace every known secret value in ``text``.

    Short values are skipped: masking ``"1"`` everywhere would destroy the message
    and a one-character secret protects nothing anyway.
    """
    for secret in secrets:
        if secret and len(secret) >= 6 and secret in text:
            text = text.replace(secret, REDACTED)
    return text


class CtCloudError(Exception):
    """Base of every error this collection raises on purpose."""

    def __init__(self, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or {}

    def __str__(self) -> str:
        return self.message

    def to_failure(self) -> dict[str, Any]:
        """A structured description for ``fail_json(failure=...)``."""
        failure: dict[str, Any] = {"message": self.message}
        if self.details:
            failure["details"] = self.details
        return failure


class InputError(CtCloudError):
    """The user's input is wrong; raised before any request is sent."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message, {"field": field} if field else None)
        self.field = field


class TokenStoreError(CtCloudError):
    """The token store cannot be read or written."""


class ApiError(CtCloudError):
    """A request failed: transport error, HTTP error, or a reply we cannot use.

    ``status`` is None when no HTTP answer arrived (refused, reset, timed out).
    """

    def __init__(
        self,
        message: str,
        method: str | None = None,
        url: str | None = None,
        status: int | None = None,
        details: dict[str, Any] | None = None,
        retryable: bool = False,
    ) -> None:
        super().__init__(message, details)
        self.method = method
        self.url = redact_url(url)
        self.status = status
        self.retryable = retryable

    def __str__(self) -> str:
        where = " ".join(part for part in (self.method, self.url) if part)
        status = f"HTTP {self.status}" if self.status is not None else "no HTTP response"
        if where:
            return f"{where} failed ({status}): {self.message}"
        return f"{status}: {self.message}"

    def to_failure(self) -> dict[str, Any]:
        failure = super().to_failure()
        failure.update({"method": self.method, "url": self.url, "status": self.status})
        return failure

    def redacted(self, secrets: Iterable[str | None]) -> ApiError:
        """This error with every known secret masked in its message and details."""
        secrets = list(secrets)
        self.message = redact(self.message, secrets)
        self.details = _redact_data(self.details, secrets)
        return self


class AuthError(ApiError):
    """Authentication failed and retrying will not help (bad client, revoked grant)."""


def _redact_data(data: Any, secrets: Iterable[str | None]) -> Any:
    if isinstance(data, str):
        return redact(data, secrets)
    if isinstance(data, dict):
        return {key: _redact_data(value, secrets) for key, value in data.items()}
    if isinstance(data, list):
        return [_redact_data(item, secrets) for item in data]
    return data
