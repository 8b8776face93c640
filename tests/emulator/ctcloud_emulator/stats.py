"""Request statistics, in the shape of `GET /_admin/stats`.

Benchmarks and idempotency tests read these: a second playbook run that
changes nothing must show no writes. Admin requests are never counted.
"""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

HOSTS = ("ct_auth", "ct_api", "cthings_auth", "cthings_api")
WRITE_RESOURCES = ("locations", "vouchers", "boxes")
WRITE_METHODS = ("POST", "PATCH", "DELETE")
TOKEN_GRANTS = {"ct": ("authorization_code", "refresh_token"), "cthings": ("client_credentials",)}
REPORTED_FAULTS = (429, 503)  # always listed, even at zero


class Stats:
    """Counters behind their own lock, so counting never waits for a state mutation."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self._requests: Counter[str] = Counter()
            self._hosts: Counter[str] = Counter()
            self._token_requests = {provider: Counter() for provider in TOKEN_GRANTS}
            self._token_errors: Counter[str] = Counter()
            self._writes = {resource: Counter() for resource in WRITE_RESOURCES}
            self._faults: Counter[int] = Counter()
            self._revocations = 0

    def count_request(self, host: str, route: str) -> None:
        with self._lock:
            self._hosts[host] += 1
            self._requests[route] += 1

    def count_token_request(self, provider: str, grant_type: str) -> None:
        """Counted whatever the outcome, for the grant types the provider knows."""
        if grant_type in TOKEN_GRANTS[provider]:
            with self._lock:
                self._token_requests[provider][grant_type] += 1

    def count_token_error(self, error: str) -> None:
        with self._lock:
            self._token_errors[error] += 1

    def count_write(self, resource: str, method: str) -> None:
        """A successful change: failed validations and faults are not writes."""
        with self._lock:
            self._writes[resource][method] += 1

    def count_fault(self, status: int) -> None:
        with self._lock:
            self._faults[status] += 1

    def count_revocation(self) -> None:
        with self._lock:
            self._revocations += 1

    def as_dict(self) -> dict[str, Any]:
        with self._lock:
            writes = {resource: {method: self._writes[resource][method] for method in WRITE_METHODS} for resource in WRITE_RESOURCES}
            faults = {status: self._faults[status] for status in sorted(set(REPORTED_FAULTS) | set(self._faults))}
            return {
                "requests": dict(sorted(self._requests.items())),
                "hosts": {host: self._hosts[host] for host in HOSTS},
                "total": sum(self._hosts.values()),
                "token_requests": {provider: {grant: self._token_requests[provider][grant] for grant in grants}
                                   for provider, grants in TOKEN_GRANTS.items()},
                "token_errors": dict(sorted(self._token_errors.items())),
                "writes": writes,
                "writes_total": sum(sum(methods.values()) for methods in writes.values()),
                "faults": {str(status): count for status, count in faults.items()},
                "revocations": self._revocations,
            }
