# -*- coding: utf-8 -*-
# Copyright (c) ctcloud.cloud contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Taking turns at "find it, else create it" among the processes of one controller.

Why it exists: CT does not keep voucher batch names unique, and with ``forks: 10`` (or
playbooks run side by side) several processes may look for the same batch at once, all
find nothing, and all create it. An exclusive ``flock`` per (API, location, batch name)
makes them take turns: the second one finds what the first created. Processes on another
controller do not see this lock; what they create at the same moment is settled after the
create (``voucher.py``, :func:`~.voucher.settle_twins`).

The lock files live in a private per-user directory, ``locks/`` beside the token store
when the store is a file, else under ``$XDG_CACHE_HOME/ctcloud/`` (``~/.cache/ctcloud/``).
Both follow the token store's rules (``token_store.py``, :func:`~.token_store.ensure_private_directory`):
created 0700 with any missing parents, and refused when another user owns them or others
may write to them; a lock file is opened without following a symbolic link and refused
likewise. Whoever can replace a lock file can hold it forever or make two runs create at once.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import time
from typing import Callable, Iterator, Mapping

from ansible_collections.ctcloud.cloud.plugins.module_utils._api.errors import CtCloudError
from ansible_collections.ctcloud.cloud.plugins.module_utils._api.token_store import (
    check_private_file,
    default_path,
    ensure_private_directory,
    is_redis_url,
)

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows is not an Ansible controller
    fcntl = None  # type: ignore[assignment]

LOCKS_DIRECTORY = "locks"
FILE_MODE = 0o600
# A holder sends a few requests (each bounded by the module's timeout and retries), so a wait this long means a
# process is stuck, not busy: fail rather than hang the play.
WAIT_LIMIT = 600.0
FIRST_PAUSE = 0.02  # seconds between attempts, doubled each time...
MAX_PAUSE = 0.25  # ...up to this: a turn is noticed within a quarter of a second


class LockError(CtCloudError):
    """The lock file cannot be opened, or the lock was not free within WAIT_LIMIT (a directory that is not private is
    the token store's TokenStoreError)."""


def lock_directory(token_store: str | None, environ: Mapping[str, str] | None = None) -> str:
    """Where the lock files go: ``locks/`` in the token store's directory, or in ``$XDG_CACHE_HOME/ctcloud/``
    when the store is a Redis URL (which has no directory of ours). A path is expanded as the store's is."""
    environ = os.environ if environ is None else environ
    store = token_store or default_path(dict(environ))
    if is_redis_url(store):
        cache_home = environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        base = os.path.join(cache_home, "ctcloud")
    else:
        base = os.path.dirname(os.path.abspath(os.path.expanduser(os.path.expandvars(store))))
    return os.path.join(os.path.abspath(base), LOCKS_DIRECTORY)


@contextlib.contextmanager
def held(
    directory: str,
    kind: str,
    key: tuple[str, ...],
    wait_limit: float = WAIT_LIMIT,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> Iterator[str]:
    """Hold the exclusive lock named by ``kind`` and ``key`` (hashed into the file name) in ``directory``; yields its path.

    Released when the block ends, or by the kernel when the process dies, so a killed run never leaves it held.
    """
    ensure_private_directory(os.path.dirname(directory), "directory of the lock files")
    ensure_private_directory(directory, "lock directory")
    digest = hashlib.sha256("\0".join((kind, *key)).encode("utf-8")).hexdigest()[:40]
    path = os.path.join(directory, f"{kind}-{digest}.lock")
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), FILE_MODE)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise LockError(f"the lock file {path} is a symbolic link, which is refused; remove it") from None
        raise LockError(f"cannot open the lock file {path}: {exc.strerror}") from None
    try:
        check_private_file(path, os.fstat(fd), "lock file")
        _acquire(fd, path, wait_limit, clock, sleep)
        yield path
    finally:
        os.close(fd)  # closing the descriptor releases the flock


def _acquire(fd: int, path: str, wait_limit: float, clock: Callable[[], float], sleep: Callable[[float], None]) -> None:
    if fcntl is None:  # pragma: no cover
        return
    deadline = clock() + wait_limit
    pause = FIRST_PAUSE
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            pass
        remaining = deadline - clock()
        if remaining <= 0:
            raise LockError(
                f"another run on this controller held {path} for more than {wait_limit:g} seconds; it may be stuck "
                "(the lock is released when that process ends)"
            )
        sleep(min(pause, remaining))
        pause = min(pause * 2, MAX_PAUSE)
