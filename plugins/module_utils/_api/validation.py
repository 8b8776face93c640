# -*- coding: utf-8 -*-
# Copyright (c) ctcloud.cloud contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to ctcloud.cloud: no public API, may change in any release without notice (docs/architecture.md).
"""Checks of user input that every resource shares. Each raises InputError naming the field."""

from __future__ import annotations

import ipaddress
import math
import re
import uuid
from typing import Any
from urllib.parse import urlsplit

from ansible_collections.ctcloud.cloud.plugins.module_utils._api.errors import CtCloudError, InputError, redact_url

_DIGITS = re.compile(r"^[0-9]{1,18}$")
_SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,199}$")
_MAC = re.compile(r"([0-9a-f]{2}[:-]){5}[0-9a-f]{2}|([0-9a-f]{4}\.){2}[0-9a-f]{4}|[0-9a-f]{12}")


def uuid_value(value: Any, field: str) -> str:
    """A canonical lower-case UUID string."""
    text = value.strip() if isinstance(value, str) else value
    try:
        parsed = uuid.UUID(text) if isinstance(text, str) and len(text) == 36 else None
    except ValueError:
        parsed = None
    if parsed is None:
        raise InputError(f"{field} must be a UUID like 0f8fad5b-d9cb-469f-a165-70867728950e, got {value!r}", field)
    return str(parsed)


def digit_id(value: Any, field: str) -> str:
    text = str(value).strip() if isinstance(value, (str, int)) and not isinstance(value, bool) else ""
    if not _DIGITS.match(text):
        raise InputError(f"{field} must be a numeric id (digits only), got {value!r}", field)
    return text


def id_or_slug(value: Any, field: str) -> str:
    """A CT reference: a digit id or a slug (lower-case letters, digits, '-' and '_')."""
    text = str(value).strip() if isinstance(value, (str, int)) and not isinstance(value, bool) else ""
    if _DIGITS.match(text) or _SLUG.match(text):
        return text
    raise InputError(f"{field} must be a numeric id or a slug, got {value!r}", field)


def mac_address(value: Any, field: str) -> str:
    """Any common MAC spelling (``aa:bb:..``, ``AA-BB-..``, ``aabb.ccdd.eeff``, bare hex) as ``AA:BB:CC:DD:EE:FF``."""
    text = value.strip().lower() if isinstance(value, str) else ""
    if not _MAC.fullmatch(text):
        raise InputError(f"{field} must be a MAC address like AA:BB:CC:DD:EE:FF, got {value!r}", field)
    bare = re.sub(r"[:\-.]", "", text)  # the pattern guarantees 12 hex digits are left
    return ":".join(bare[i:i + 2] for i in range(0, 12, 2)).upper()


def coordinate(value: Any, field: str, limit: float) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool):
        raise InputError(f"{field} must be a number, got {value!r}", field)
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InputError(f"{field} must be a number, got {value!r}", field) from None
    if math.isnan(number) or not -limit <= number <= limit:
        raise InputError(f"{field} must be between -{limit} and {limit}, got {value!r}", field)
    return number


def text(value: Any, field: str, min_length: int = 0, max_length: int | None = None) -> str:
    """A string of bounded length; surrounding whitespace does not count, and blank is not a name."""
    if not isinstance(value, str):
        raise InputError(f"{field} must be a string, got {value!r}", field)
    stripped = value.strip()
    if min_length and not stripped:
        raise InputError(f"{field} must not be empty or blank", field)
    if len(stripped) < min_length:
        raise InputError(f"{field} must be at least {min_length} characters, got {len(stripped)}", field)
    if max_length is not None and len(stripped) > max_length:
        raise InputError(f"{field} must be at most {max_length} characters, got {len(stripped)}", field)
    return stripped


def integer(value: Any, field: str, minimum: int | None = None, maximum: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InputError(f"{field} must be an integer, got {value!r}", field)
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        raise InputError(f"{field} must be between {minimum} and {maximum}, got {value}", field)
    return value


def _unsendable(value: str) -> bool:
    """Whitespace or a control character: HTTP forbids them in a header, and requests' error would quote the value."""
    return any(character.isspace() or not character.isprintable() for character in value)


def credential(value: Any, field: str) -> Any:
    """A client id, secret or token as given, refused (without showing it) when it holds whitespace or control characters."""
    if isinstance(value, str) and _unsendable(value):
        raise InputError(
            f"{field} contains whitespace or a control character (a trailing newline from a file or a secret store?); "
            "the value is not shown. Remove it and run again",
            field,
        )
    return value


def token_from_server(value: str, what: str) -> str:
    """A token an authorization server issued, refused (without showing it) when it could not be sent in a header."""
    if _unsendable(value):
        raise CtCloudError(f"the authorization server issued {what} with whitespace or control characters; it was neither stored nor used")
    return value


DEFAULT_PORTS = {"https": 443, "http": 80}


def is_loopback_host(host: str | None) -> bool:
    """127.0.0.0/8, ::1 or the name localhost: traffic that never leaves this machine."""
    if not host:
        return False
    if host.lower().rstrip(".") == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def origin(url: str) -> str:
    """``scheme://host:port`` of a URL, lower-cased with the port spelled out: two URLs share an origin when these are equal."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:
        port = None
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"  # an IPv6 literal
    return f"{scheme}://{host}:{port or DEFAULT_PORTS.get(scheme, 0)}"


def service_url(value: Any, field: str) -> str:
    """An API or authorization server URL that may receive credentials: https, or http to a loopback address only.

    Over plain http every token and secret crosses the network in cleartext; a local emulator on
    127.0.0.1 is the one exception (its traffic never leaves the machine).
    """
    url = text(value, field, 1)
    try:
        parts = urlsplit(url)
        host = parts.hostname
        _port = parts.port  # a port that is not a number raises here
    except ValueError:
        parts, host = None, None
    shown = redact_url(url)
    if parts is None or parts.scheme.lower() not in DEFAULT_PORTS or not host or any(c.isspace() for c in url):
        raise InputError(f"{field} must be an https URL like https://api.example.com, got {shown!r}", field)
    if parts.scheme.lower() == "http" and not is_loopback_host(host):
        raise InputError(
            f"{field} must use https: {shown} would carry tokens and secrets in cleartext. Plain http is accepted only for "
            "loopback addresses (127.0.0.1, ::1, localhost), such as a local emulator",
            field,
        )
    return url
