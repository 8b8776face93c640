"""Injected failures: random 429/503 answers, periodic CT token revocation, lost refresh replies.

Both are decided before a request reads or writes anything, so a faulted POST
provably created nothing: exactly the case in which the contract lets a client
retry a POST.
"""

from __future__ import annotations

import random
import threading

from ctcloud_emulator.config import Knobs


class FaultInjector:
    def __init__(self, seed: int) -> None:
        self._seed = seed
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        """Back to the start of the seeded sequence, so a test run sees the same faults every time."""
        with self._lock:
            self._rng = random.Random(f"{self._seed}:faults")
            self._ct_api_requests = 0
            self._lost_refresh_replies = 0

    def restart_lost_reply_count(self) -> None:
        """`lose_refresh_replies` counts from the moment it is set."""
        with self._lock:
            self._lost_refresh_replies = 0

    def refresh_reply_is_lost(self, knobs: Knobs) -> bool:
        """True for each of the first `lose_refresh_replies` refresh grants since the knob was set."""
        if knobs.lose_refresh_replies <= 0:
            return False
        with self._lock:
            if self._lost_refresh_replies >= knobs.lose_refresh_replies:
                return False
            self._lost_refresh_replies += 1
            return True

    def restart_revocation_count(self) -> None:
        """`revoke_every` counts from the moment it is set."""
        with self._lock:
            self._ct_api_requests = 0

    def draw_fault(self, knobs: Knobs) -> int | None:
        """The status to answer instead of serving the request, or None to serve it."""
        if knobs.fault_rate <= 0:
            return None  # no draw: enabling faults later starts the sequence from the same point
        with self._lock:
            if self._rng.random() >= knobs.fault_rate:
                return None
            return self._rng.choice(knobs.fault_statuses)

    def ct_request_revokes(self, knobs: Knobs) -> bool:
        """True for every `revoke_every`-th CT API request that was not faulted."""
        if knobs.revoke_every <= 0:
            return False
        with self._lock:
            self._ct_api_requests += 1
            return self._ct_api_requests % knobs.revoke_every == 0
