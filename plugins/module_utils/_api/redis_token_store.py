# -*- coding: utf-8 -*-
# Copyright (c) ctcloud.cloud contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to ctcloud.cloud: no public API, may change in any release without notice (docs/architecture.md).
"""The token store in Redis, for every CI runner and AWX job that can reach one server.

CT revokes a refresh token when it is used (or when the new access token is), so
the chain lives only where its newest link is kept. A file lives on one machine;
a Redis server is shared by every machine that may continue the chain.

Two mechanisms, for two different promises:

- **compare-and-set** keeps the chain whole: each entry is one Redis key holding
  its revision; a commit ``WATCH``es every key the transaction read, checks the
  revisions, and writes in ``MULTI``/``EXEC``. A writer that raced and lost
  writes nothing (:class:`StoreConflict`) and never uses its own new token.
- **a lease** per client keeps two runners from refreshing the same refresh token
  at once, which a server that revokes at refresh answers with ``invalid_grant``
  for the slower one. ``SET NX PX`` with a random holder id; a watchdog thread of
  the holder extends it while the holder lives (a token request may wait out
  ``Retry-After``), so a runner killed mid-refresh frees it after
  :data:`LEASE_SECONDS`. Local forks wait on the same lease. Taking the lease is
  a write: a Redis that refuses writes (down, read-only replica, read-only ACL
  user, out of memory) fails the task before any token request.

The URL's password never appears in a message: the store is named by
:func:`describe_location`, and errors from redis-py are redacted of it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import secrets
import threading
import time
from typing import Any, Iterator

from ansible_collections.ctcloud.cloud.plugins.module_utils._api.errors import TokenStoreError, redact
from ansible_collections.ctcloud.cloud.plugins.module_utils._api.token_store import (
    Sealer,
    StoreConflict,
    Transaction,
    Versioned,
    describe_location,
    url_passwords,
)

try:
    import redis
    from redis.exceptions import RedisError, WatchError
except ImportError:
    HAS_REDIS = False

    class RedisError(Exception):  # type: ignore[no-redef]  # never raised: no store is built without redis
        pass

    class WatchError(RedisError):  # type: ignore[no-redef]
        pass
else:
    HAS_REDIS = True

KEY_PREFIX = "ctcloud:token:"
LEASE_PREFIX = "ctcloud:lease:"
FORMAT_VERSION = 1
LEASE_SECONDS = 15.0
# Bounded: a holder that stays alive this long without finishing its token request is stuck somewhere we cannot see.
LEASE_WAIT_SECONDS = 300.0
LEASE_POLL_FIRST = 0.02
LEASE_POLL_MAX = 0.25
SOCKET_TIMEOUT = 10.0

# Lua: atomic "if the lease is still mine, extend (or drop) it": a GET then PEXPIRE/DEL could touch another holder's lease.
_EXTEND_IF_MINE = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) else return 0 end"
_RELEASE_IF_MINE = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end"


class RedisTokenStore:
    """Entries as Redis keys ``ctcloud:token:<store key>``, each ``{"revision": n, "entry": {...}}`` or its Fernet seal."""

    def __init__(self, url: str, sealer: Sealer | None = None) -> None:
        self.url = url
        self.description = describe_location(url)
        self.sealer = sealer or Sealer(None)
        self._passwords = url_passwords(url)
        if not HAS_REDIS:
            raise TokenStoreError(
                f"the token store {self.description} is a Redis URL, which needs the Python library 'redis' on the controller "
                "(in the execution environment): pip install redis"
            )
        try:
            self._client = redis.Redis.from_url(url, socket_timeout=SOCKET_TIMEOUT, socket_connect_timeout=SOCKET_TIMEOUT)
        except (ValueError, RedisError) as exc:
            raise TokenStoreError(f"the token store {self.description} is not a usable Redis URL: {self._redacted(exc)}") from None

    # -- the store interface ----------------------------------------------

    def read(self, key: str) -> dict[str, Any] | None:
        return self.read_versioned(key)[0]

    def read_versioned(self, key: str) -> Versioned:
        with self._reporting("read"):
            raw = self._client.get(KEY_PREFIX + key)
        return self._decode(key, raw)

    @contextlib.contextmanager
    def transaction(self, scope: str = "") -> Iterator[Transaction]:
        """Hold the lease of ``scope`` (the client's key); entries put in the block are stored when it ends."""
        lease = _Lease(self, LEASE_PREFIX + hashlib.sha256(scope.encode("utf-8")).hexdigest()[:32])
        lease.acquire()
        try:
            txn = RedisTransaction(self, lease)
            yield txn
            txn.commit()
        finally:
            lease.release()

    def compare_and_set(self, expected: dict[str, int], changes: dict[str, dict[str, Any] | None]) -> None:
        """Write ``changes`` (None deletes) if every key of ``expected`` is still at its revision; else StoreConflict."""
        keys = sorted(set(expected) | set(changes))
        with self._reporting("write"), self._client.pipeline(transaction=True) as pipe:
            try:
                pipe.watch(*(KEY_PREFIX + key for key in keys))
                current = {key: self._decode(key, pipe.get(KEY_PREFIX + key))[1] for key in keys}
                moved = sorted(key for key, revision in expected.items() if current[key] != revision)
                if moved:
                    raise StoreConflict(f"the token store {self.description} changed meanwhile ({', '.join(moved)})")
                pipe.multi()
                for key, entry in changes.items():
                    if entry is None:
                        pipe.delete(KEY_PREFIX + key)
                    else:
                        pipe.set(KEY_PREFIX + key, self._encode(key, current[key] + 1, entry))
                pipe.execute()
            except WatchError:
                raise StoreConflict(f"the token store {self.description} changed meanwhile") from None

    def prepare_write(self) -> None:
        """Nothing beyond the lease: taking it was a write, and the transaction checks it is still held."""

    # -- internals ---------------------------------------------------------

    def _encode(self, key: str, revision: int, entry: dict[str, Any]) -> str:
        if self.sealer.enabled:
            return self.sealer.seal(key, revision, entry)
        return json.dumps({"format": FORMAT_VERSION, "revision": revision, "entry": entry}, sort_keys=True, separators=(",", ":"))

    def _decode(self, key: str, raw: bytes | None) -> Versioned:
        if raw is None:
            return None, 0
        where = f"{self.description} (key {KEY_PREFIX}{key})"
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise TokenStoreError(f"the token store {where} holds something that is not a token entry; it is refused. Nothing was changed") from None
        if not text.startswith("{"):
            return self.sealer.open(key, text, where)
        if self.sealer.enabled:
            # Anyone who can write to this Redis could have put it there: with a key, only sealed entries are trusted.
            raise TokenStoreError(
                f"the token store {where} holds an unencrypted entry, but a key is set, so it is refused (it may have been planted). "
                f"Delete that key (redis-cli DEL '{KEY_PREFIX}{key}') and bootstrap again with ctcloud.cloud.ct_auth, or unset the key"
            )
        try:
            record = json.loads(text)
        except ValueError:
            record = None
        if not isinstance(record, dict) or not isinstance(record.get("entry"), dict) or not isinstance(record.get("revision"), int):
            raise TokenStoreError(f"the token store {where} holds something that is not a token entry; it is refused. Nothing was changed")
        return record["entry"], record["revision"]

    def _redacted(self, exc: BaseException) -> str:
        return redact(str(exc) or type(exc).__name__, [self.url, *self._passwords])

    @contextlib.contextmanager
    def _reporting(self, action: str) -> Iterator[None]:
        """Turn redis-py's errors into a TokenStoreError naming the store (password removed)."""
        try:
            yield
        except RedisError as exc:
            consequence = ", so no token is renewed" if action != "read" else ""
            raise TokenStoreError(f"cannot {action} the token store {self.description}{consequence}: {self._redacted(exc)}") from None


class _Lease:
    """One client's refresh lease in Redis, extended by a watchdog thread while it is held."""

    def __init__(self, store: RedisTokenStore, name: str) -> None:
        self._store = store
        self._client = store._client
        self.name = name
        self.holder = secrets.token_hex(16)
        self._stop = threading.Event()
        self._watchdog: threading.Thread | None = None
        self._ttl_ms = int(LEASE_SECONDS * 1000)

    def acquire(self) -> None:
        deadline = time.monotonic() + LEASE_WAIT_SECONDS
        pause = LEASE_POLL_FIRST
        while True:
            with self._store._reporting("write"):
                if self._client.set(self.name, self.holder, nx=True, px=self._ttl_ms):
                    break
            if time.monotonic() >= deadline:
                raise TokenStoreError(
                    f"another process has held the token refresh lease of the token store {self._store.description} for over "
                    f"{LEASE_WAIT_SECONDS:.0f} s; if no job is running, delete the key {self.name}"
                )
            time.sleep(pause)
            pause = min(pause * 2, LEASE_POLL_MAX)
        self._watchdog = threading.Thread(target=self._keep, name="ctcloud-token-lease", daemon=True)
        self._watchdog.start()

    def still_held(self) -> bool:
        """Extend the lease now; False if it expired and may belong to another process."""
        with self._store._reporting("write"):
            return bool(self._client.eval(_EXTEND_IF_MINE, 1, self.name, self.holder, self._ttl_ms))

    def release(self) -> None:
        self._stop.set()
        if self._watchdog is not None:
            self._watchdog.join(timeout=SOCKET_TIMEOUT + 1)
        # Best effort: if Redis is gone the lease expires by itself, and the task reports the error that matters.
        with contextlib.suppress(RedisError):
            self._client.eval(_RELEASE_IF_MINE, 1, self.name, self.holder)

    def _keep(self) -> None:
        while not self._stop.wait(LEASE_SECONDS / 3):
            try:
                if not self._client.eval(_EXTEND_IF_MINE, 1, self.name, self.holder, self._ttl_ms):
                    return
            except RedisError:
                continue  # a blip; the commit's compare-and-set still protects the chain


class RedisTransaction(Transaction):
    """Entries read from Redis at their revisions while the lease is held."""

    def __init__(self, store: RedisTokenStore, lease: _Lease) -> None:
        super().__init__(store)
        self._lease = lease

    def _fetch(self, key: str) -> Versioned:
        return self._store.read_versioned(key)

    def prepare_write(self) -> None:
        if not self._lease.still_held():
            raise StoreConflict(f"the token refresh lease of the token store {self._store.description} expired meanwhile")
