# -*- coding: utf-8 -*-
# Copyright (c) ctcloud.cloud contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A locked, atomic, private JSON file of OAuth2 tokens.

Why it exists: CT rotates its refresh token on every refresh, and with
``forks: 20`` twenty processes may want to refresh at once. Only one of them may
do it; the others must see its result. And the rotated token must be on disk
before anybody uses the new access token (see ``docs/api-contract.md``,
"rotation"), or a crash could lock the user out.

So: readers read the whole file without a lock (writes are atomic renames, a
reader sees the old or the new file, never half of one); writers take an
exclusive ``flock`` on a side file, re-read, decide, and replace the file with
``fsync`` before they release the lock. The store knows nothing about HTTP.

Whoever can write the store can steer every play (their refresh token, their
tenant), so the file store trusts only what the user running Ansible owns and
nobody else can write, as ssh does with ``~/.ssh``: the directory (created 0700
with any missing parents), the lock file and the store itself must belong to the
effective user and not be writable by group or others (the store not even
readable by them), and neither file is opened through a symbolic link
(``O_NOFOLLOW``). A store that fails a check is refused with the ``chmod`` or
``chown`` that fixes it, never repaired silently: it may be someone else's.
"""

from __future__ import annotations

import contextlib
import errno
import glob
import json
import os
import stat
import tempfile
from typing import Any, Iterator

from ansible_collections.ctcloud.cloud.plugins.module_utils.errors import TokenStoreError

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows is not an Ansible controller
    fcntl = None  # type: ignore[assignment]

FORMAT_VERSION = 1
FILE_MODE = 0o600
DIR_MODE = 0o700
# Mode bits refused: nobody else may write a directory or the lock file; the store holds secrets,
# so nobody else may read it either.
FOREIGN_WRITE = 0o022
FOREIGN_ACCESS = 0o077
O_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


def default_path(environ: dict[str, str] | None = None) -> str:
    """``$CTCLOUD_TOKEN_STORE``, else ``$XDG_CACHE_HOME/ctcloud/tokens.json``, else ``~/.cache/...``."""
    environ = os.environ if environ is None else environ
    explicit = environ.get("CTCLOUD_TOKEN_STORE")
    if explicit:
        return os.path.expanduser(explicit)
    cache_home = environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(cache_home, "ctcloud", "tokens.json")


class TokenStore:
    """Entries are plain dicts keyed by a string the caller builds (auth URL + client id)."""

    def __init__(self, path: str | None = None) -> None:
        self.path = os.path.abspath(os.path.expanduser(path)) if path else default_path()
        self.lock_path = self.path + ".lock"

    def read(self, key: str) -> dict[str, Any] | None:
        """The entry as last committed, without taking the lock."""
        return self._load().get(key)

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Transaction]:
        """Hold the store's exclusive lock; entries put in the block are on disk when it ends.

        Call :meth:`Transaction.commit` to write earlier (before using a new token while still
        holding the lock).
        """
        self._ensure_directory()
        try:
            lock_fd = self._open_private(self.lock_path, os.O_RDWR | os.O_CREAT, "token store lock", FOREIGN_WRITE)
        except OSError as exc:
            raise TokenStoreError(f"cannot open the token store lock {self.lock_path}: {exc.strerror}") from None
        try:
            if fcntl is not None:
                fcntl.flock(lock_fd, fcntl.LOCK_EX)
            txn = Transaction(self, self._load())
            yield txn
            txn.commit()
        finally:
            os.close(lock_fd)  # closing the descriptor releases the flock

    # -- internals -------------------------------------------------------

    def _ensure_directory(self) -> None:
        directory = os.path.dirname(self.path)
        missing = []
        while directory and not os.path.isdir(directory):
            missing.append(directory)
            directory = os.path.dirname(directory)
        # Parents first, each 0700 whatever the umask: os.makedirs gives intermediate directories the umask's mode.
        for new_directory in reversed(missing):
            try:
                os.mkdir(new_directory, DIR_MODE)
            except FileExistsError:
                continue  # another process made it meanwhile: checked below like any existing directory
            except OSError as exc:
                raise TokenStoreError(f"cannot create the token store directory {new_directory}: {exc.strerror}") from None
            os.chmod(new_directory, DIR_MODE)
        self._check_directory()

    def _check_directory(self) -> None:
        """The store's directory must be the user's and writable by nobody else: whoever can write it can plant a store."""
        directory = os.path.dirname(self.path)
        try:
            status = os.stat(directory)
        except FileNotFoundError:
            return  # nothing stored yet; a transaction creates it
        except OSError as exc:
            raise TokenStoreError(f"cannot inspect the token store directory {directory}: {exc.strerror}") from None
        _check_private(directory, status, "token store directory", FOREIGN_WRITE, "700")

    def _open_private(self, path: str, flags: int, what: str, refused_bits: int) -> int:
        """A descriptor of ``path``, opened without following a symbolic link and checked for owner and mode."""
        try:
            fd = os.open(path, flags | O_NOFOLLOW, FILE_MODE)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise TokenStoreError(
                    f"the {what} {path} is a symbolic link, which is refused (it may lead to a file another user controls); "
                    f"remove it, or point token_store at the file itself"
                ) from None
            raise
        try:
            _check_private(path, os.fstat(fd), what, refused_bits, "600")
        except BaseException:
            os.close(fd)
            raise
        return fd

    def _load(self) -> dict[str, Any]:
        self._check_directory()
        try:
            fd = self._open_private(self.path, os.O_RDONLY, "token store", FOREIGN_ACCESS)
        except FileNotFoundError:
            return {}
        except OSError as exc:
            raise TokenStoreError(f"cannot read the token store {self.path}: {exc.strerror}") from None
        try:
            with os.fdopen(fd, "rb") as handle:
                raw = handle.read()
        except OSError as exc:
            raise TokenStoreError(f"cannot read the token store {self.path}: {exc.strerror}") from None
        try:
            document = json.loads(raw.decode("utf-8"))
        except ValueError:
            # Never overwrite what we cannot read: it may hold the only valid refresh token.
            raise TokenStoreError(
                f"the token store {self.path} is not valid JSON; move it away (a valid refresh token may be inside) "
                "or point token_store elsewhere"
            ) from None
        if not isinstance(document, dict) or not isinstance(document.get("entries"), dict):
            raise TokenStoreError(f"the token store {self.path} has an unknown format")
        return document["entries"]

    def _write(self, entries: dict[str, Any]) -> None:
        directory = os.path.dirname(self.path)
        payload = json.dumps({"version": FORMAT_VERSION, "entries": entries}, indent=1, sort_keys=True)
        prefix = f".{os.path.basename(self.path)}-"
        # Only a writer holding the lock creates these, and we hold it: any left over is from a
        # writer that died mid-write (its rename never happened, so the store is intact).
        for leftover in glob.glob(os.path.join(glob.escape(directory), glob.escape(prefix) + "*.tmp")):
            with contextlib.suppress(OSError):
                os.unlink(leftover)
        fd, tmp_path = tempfile.mkstemp(prefix=prefix, suffix=".tmp", dir=directory)
        try:
            os.fchmod(fd, FILE_MODE)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(payload)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp_path, self.path)
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.unlink(tmp_path)
            raise TokenStoreError(f"cannot write the token store {self.path}: {exc.strerror}") from None
        self._fsync_directory(directory)

    @staticmethod
    def _fsync_directory(directory: str) -> None:
        # The rename is durable only once the directory entry is.
        with contextlib.suppress(OSError):
            dir_fd = os.open(directory, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)


def _check_private(path: str, status: os.stat_result, what: str, refused_bits: int, private_mode: str) -> None:
    """Refuse ``path`` (described by ``status``) unless the effective user owns it and ``refused_bits`` are clear."""
    user = os.geteuid()
    if status.st_uid != user:
        raise TokenStoreError(
            f"the {what} {path} belongs to uid {status.st_uid}, not to uid {user} running Ansible, so it is refused: another "
            f"local user may have planted it. If it is yours, run: chown {user} {path}; otherwise remove it or choose another token_store"
        )
    mode = stat.S_IMODE(status.st_mode)
    if mode & refused_bits:
        access, risk = ("writable", "replace what it holds") if refused_bits == FOREIGN_WRITE else ("readable or writable", "read or replace its tokens")
        raise TokenStoreError(
            f"the {what} {path} is {access} by group or others (mode {mode:04o}), so it is refused: another local user could "
            f"{risk}. Run: chmod {private_mode} {path}"
        )


class Transaction:
    """The store's entries while its lock is held."""

    def __init__(self, store: TokenStore, entries: dict[str, Any]) -> None:
        self._store = store
        self._entries = entries
        self._dirty = False

    def get(self, key: str) -> dict[str, Any] | None:
        return self._entries.get(key)

    def put(self, key: str, entry: dict[str, Any]) -> None:
        self._entries[key] = entry
        self._dirty = True

    def delete(self, key: str) -> None:
        if self._entries.pop(key, None) is not None:
            self._dirty = True

    def commit(self) -> None:
        if self._dirty:
            self._store._write(self._entries)
            self._dirty = False
