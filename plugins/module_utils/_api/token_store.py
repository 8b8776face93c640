# -*- coding: utf-8 -*-
# Copyright (c) ctcloud.cloud contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to ctcloud.cloud: no public API, may change in any release without notice (docs/architecture.md).
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

Every backend (this file, ``redis_token_store``) offers the same compare-and-set
interface: a :class:`Transaction` remembers the revision of every entry it read
and commits only if none changed meanwhile (:class:`StoreConflict` otherwise), so
a process that lost a race never uses its own new tokens: it re-reads and uses
the winner's. Before a token request a provider calls
:meth:`Transaction.prepare_write`: a store that cannot be written makes the task
fail before the request, not after it (a refresh token rotated into a store that
cannot keep it is lost).

With ``CTCLOUD_TOKEN_STORE_KEY`` (or the ``token_store_key`` option) every entry
is sealed with Fernet (AES-CBC + HMAC, from ``cryptography``), its store key and
revision inside the seal, so an entry moved to another key is refused too. A
wrong key, or an encrypted store without a key, is an error before any request:
nothing is refreshed and nothing overwritten.
"""

from __future__ import annotations

import contextlib
import errno
import glob
import json
import os
import stat
import tempfile
from typing import Any, Dict, Iterator, Optional, Tuple
from urllib.parse import unquote

from ansible_collections.ctcloud.cloud.plugins.module_utils._api.errors import REDACTED, TokenStoreError

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
OWNER_WRITE = 0o200
KEY_ENV = "CTCLOUD_TOKEN_STORE_KEY"
REDIS_SCHEMES = ("redis://", "rediss://")

# An entry and the revision it was stored at (0: never stored).
Versioned = Tuple[Optional[Dict[str, Any]], int]


class StoreConflict(TokenStoreError):
    """Another process changed an entry after this transaction read it; nothing was written."""


class Sealer:
    """Fernet encryption of entries, or nothing when no key is given.

    ``keys`` is one Fernet key, or several separated by commas: the first seals, any opens, so a key
    can be rotated without losing the chain.
    """

    def __init__(self, keys: str | None) -> None:
        self._fernet: Any = None
        names = [part.strip() for part in (keys or "").split(",") if part.strip()]
        if not names:
            return
        try:
            from cryptography.fernet import Fernet, MultiFernet
        except ImportError:
            raise TokenStoreError(
                f"{KEY_ENV} (token_store_key) needs the Python library 'cryptography' on the controller (pip install cryptography)"
            ) from None
        try:
            self._fernet = MultiFernet([Fernet(name.encode("ascii")) for name in names])
        except (ValueError, UnicodeEncodeError):
            # The message never quotes the value: it is a secret, maybe with one character wrong.
            raise TokenStoreError(
                f"{KEY_ENV} (token_store_key) is not a Fernet key: 32 bytes in URL-safe base64 (44 characters); make one with "
                "python3 -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'"
            ) from None

    @property
    def enabled(self) -> bool:
        return self._fernet is not None

    def seal(self, key: str, revision: int, entry: dict[str, Any]) -> str:
        plain = json.dumps({"key": key, "revision": revision, "entry": entry}, sort_keys=True, separators=(",", ":"))
        return self._fernet.encrypt(plain.encode("utf-8")).decode("ascii")

    def open(self, key: str, sealed: str, where: str) -> tuple[dict[str, Any], int]:
        """The entry and revision inside ``sealed``, which must have been sealed for ``key``."""
        if self._fernet is None:
            raise TokenStoreError(
                f"the token store {where} is encrypted, but no key is set: set {KEY_ENV} (or token_store_key) to the key it was "
                "written with. Nothing was changed"
            )
        from cryptography.fernet import InvalidToken

        try:
            record = json.loads(self._fernet.decrypt(sealed.encode("ascii")).decode("utf-8"))
        except (InvalidToken, UnicodeEncodeError, ValueError):
            raise TokenStoreError(
                f"the token store {where} cannot be decrypted with {KEY_ENV} (token_store_key): a wrong key, or an entry someone "
                "else wrote. Nothing was refreshed or overwritten; set the key it was written with"
            ) from None
        if not isinstance(record, dict) or record.get("key") != key or not isinstance(record.get("entry"), dict):
            raise TokenStoreError(f"the token store {where} holds an entry sealed for another key; it is refused. Nothing was changed")
        return record["entry"], int(record.get("revision") or 0)


def is_redis_url(location: str | None) -> bool:
    return bool(location) and location.lower().startswith(REDIS_SCHEMES)  # type: ignore[union-attr]


def _userinfo(url: str) -> tuple[str, str, str | None, str]:
    """``scheme://``, the user, the password as written (None without one), and the rest of a Redis URL.

    Split at the last ``@`` before the query, not by urlsplit: a password with an unencoded ``/`` or
    ``#`` must still be recognised whole, or part of it would be shown.
    """
    scheme, separator, rest = url.partition("://")
    main, question, query = rest.partition("?")
    if "@" not in main:
        return scheme + separator, "", None, rest
    userinfo, _at, host = main.rpartition("@")
    user, colon, password = userinfo.partition(":")
    return scheme + separator, user, password if colon else None, host + question + query


def url_passwords(url: str) -> list[str]:
    """The password of a ``redis://user:password@host`` URL as written (percent-encoded) and decoded; [] without one."""
    password = _userinfo(url)[2]
    return list(dict.fromkeys((password, unquote(password)))) if password else []


def describe_location(location: str | None) -> str:
    """The store as it may be shown: a Redis URL with its password masked (the user name stays: it helps with ACLs)."""
    if not is_redis_url(location):
        return location or ""
    scheme, user, password, rest = _userinfo(location)  # type: ignore[arg-type]
    if password is None:
        return f"{scheme}{user + '@' if user else ''}{rest}"
    return f"{scheme}{user}:{REDACTED}@{rest}"


def open_token_store(location: str | None = None, key: str | None = None) -> Any:
    """The store named by ``location`` (the ``token_store`` option), sealed with ``key`` when one is given.

    A ``redis://`` or ``rediss://`` URL is a Redis store (redis-py is imported only then); anything
    else is a file path, ``~`` and ``$VARS`` expanded; None is :func:`default_path`.
    """
    environ_key = key if key is not None else os.environ.get(KEY_ENV)
    sealer = Sealer(environ_key)
    if location is None:
        location = os.environ.get("CTCLOUD_TOKEN_STORE") or None
    if is_redis_url(location):
        from ansible_collections.ctcloud.cloud.plugins.module_utils._api.redis_token_store import RedisTokenStore

        return RedisTokenStore(location, sealer)  # type: ignore[arg-type]
    path = os.path.expanduser(os.path.expandvars(location)) if location else None
    return TokenStore(path, sealer)


def default_path(environ: dict[str, str] | None = None) -> str:
    """``$CTCLOUD_TOKEN_STORE``, else ``$XDG_CACHE_HOME/ctcloud/tokens.json``, else ``~/.cache/...``."""
    environ = os.environ if environ is None else environ
    explicit = environ.get("CTCLOUD_TOKEN_STORE")
    if explicit:
        return os.path.expanduser(explicit)
    cache_home = environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(cache_home, "ctcloud", "tokens.json")


class TokenStore:
    """The file store. Entries are plain dicts keyed by a string the caller builds (auth URL + client id)."""

    def __init__(self, path: str | None = None, sealer: Sealer | None = None) -> None:
        self.path = os.path.abspath(os.path.expanduser(path)) if path else default_path()
        self.lock_path = self.path + ".lock"
        self.sealer = sealer or Sealer(None)

    @property
    def description(self) -> str:
        """The store as messages and results name it."""
        return self.path

    def read(self, key: str) -> dict[str, Any] | None:
        """The entry as last committed, without taking the lock."""
        return self.read_versioned(key)[0]

    def read_versioned(self, key: str) -> Versioned:
        """The entry as last committed and its revision, without taking the lock."""
        return self._load().get(key, (None, 0))

    @contextlib.contextmanager
    def transaction(self, scope: str = "") -> Iterator[Transaction]:
        """Hold the store's exclusive lock; entries put in the block are on disk when it ends.

        Call :meth:`Transaction.commit` to write earlier (before using a new token while still
        holding the lock). ``scope`` (the client's key) matters to stores that lock per client.
        """
        self._ensure_directory()
        try:
            lock_fd = self._open_private(self.lock_path, os.O_RDWR | os.O_CREAT, "token store lock", FOREIGN_WRITE)
        except OSError as exc:
            raise TokenStoreError(f"cannot open the token store lock {self.lock_path}: {exc.strerror}") from None
        try:
            if fcntl is not None:
                fcntl.flock(lock_fd, fcntl.LOCK_EX)
            txn = FileTransaction(self, self._load())
            yield txn
            txn.commit()
        finally:
            os.close(lock_fd)  # closing the descriptor releases the flock

    def compare_and_set(self, expected: dict[str, int], changes: dict[str, dict[str, Any] | None]) -> None:
        """Write ``changes`` (None deletes) if every key of ``expected`` is still at its revision; else StoreConflict.

        Called with the store's lock held (by a transaction): the lock makes a conflict impossible
        here, the check keeps the promise that every backend makes.
        """
        current = self._load()
        moved = sorted(key for key, revision in expected.items() if current.get(key, (None, 0))[1] != revision)
        if moved:
            raise StoreConflict(f"the token store {self.path} changed meanwhile ({', '.join(moved)})")
        for key, entry in changes.items():
            if entry is None:
                current.pop(key, None)
            else:
                current[key] = (entry, current.get(key, (None, 0))[1] + 1)
        self._write(self._document(current))

    def prepare_write(self) -> None:
        """Fail now, before a token request, if a new token could not be stored afterwards."""
        self._ensure_directory()
        with contextlib.suppress(FileNotFoundError):
            status = os.lstat(self.path)
            if not stat.S_IMODE(status.st_mode) & OWNER_WRITE:
                raise TokenStoreError(
                    f"the token store {self.path} is read-only (mode {stat.S_IMODE(status.st_mode):04o}), so no token is renewed: "
                    f"a renewed refresh token could not be kept. Run: chmod 600 {self.path}"
                )
        # The write is a new file renamed into the directory: prove now that one can be made there.
        try:
            fd, probe = tempfile.mkstemp(prefix=f".{os.path.basename(self.path)}-", suffix=".tmp", dir=os.path.dirname(self.path))
        except OSError as exc:
            raise TokenStoreError(
                f"cannot write the token store {self.path} ({exc.strerror}), so no token is renewed: a renewed refresh token "
                "could not be kept"
            ) from None
        os.close(fd)
        with contextlib.suppress(OSError):
            os.unlink(probe)

    # -- internals -------------------------------------------------------

    def _ensure_directory(self) -> None:
        ensure_private_directory(os.path.dirname(self.path))

    def _check_directory(self) -> None:
        """The store's directory must be the user's and writable by nobody else: whoever can write it can plant a store."""
        check_private_directory(os.path.dirname(self.path))

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

    def _load(self) -> dict[str, tuple[dict[str, Any], int]]:
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
        revisions = document.get("revisions") if isinstance(document.get("revisions"), dict) else {}
        loaded = {}
        for key, stored in document["entries"].items():
            if isinstance(stored, str):
                loaded[key] = self.sealer.open(key, stored, self.path)
            elif isinstance(stored, dict):
                # Unsealed: a store of 0.1.0, or written without a key. The file is the user's own (checked above), so
                # with a key it is trusted and sealed at the next write.
                loaded[key] = (stored, int(revisions.get(key) or 0))
            else:
                raise TokenStoreError(f"the token store {self.path} has an unknown format")
        return loaded

    def _document(self, entries: dict[str, tuple[dict[str, Any], int]]) -> dict[str, Any]:
        """What the file holds: sealed entries (their revisions inside), or plain entries and their revisions."""
        if self.sealer.enabled:
            return {"version": FORMAT_VERSION, "entries": {key: self.sealer.seal(key, revision, entry) for key, (entry, revision) in entries.items()}}
        return {
            "version": FORMAT_VERSION,
            "entries": {key: entry for key, (entry, _revision) in entries.items()},
            "revisions": {key: revision for key, (_entry, revision) in entries.items()},
        }

    def _write(self, document: dict[str, Any]) -> None:
        directory = os.path.dirname(self.path)
        payload = json.dumps(document, indent=1, sort_keys=True)
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


def ensure_private_directory(directory: str, what: str = "token store directory") -> None:
    """Create ``directory`` and its missing parents, each 0700 whatever the umask, then :func:`check_private_directory`.

    The token store's directory, and any other per-user directory of the collection's (its lock files), follow these rules.
    """
    missing = []
    parent = directory
    while parent and not os.path.isdir(parent):
        missing.append(parent)
        parent = os.path.dirname(parent)
    # Parents first, each 0700 whatever the umask: os.makedirs gives intermediate directories the umask's mode.
    for new_directory in reversed(missing):
        try:
            os.mkdir(new_directory, DIR_MODE)
        except FileExistsError:
            continue  # another process made it meanwhile: checked below like any existing directory
        except OSError as exc:
            raise TokenStoreError(f"cannot create the {what} {new_directory}: {exc.strerror}") from None
        os.chmod(new_directory, DIR_MODE)
    check_private_directory(directory, what)


def check_private_directory(directory: str, what: str = "token store directory") -> None:
    """Refuse ``directory`` unless the effective user owns it and nobody else may write to it; a missing one passes."""
    try:
        status = os.stat(directory)
    except FileNotFoundError:
        return  # nothing stored yet; a transaction creates it
    except OSError as exc:
        raise TokenStoreError(f"cannot inspect the {what} {directory}: {exc.strerror}") from None
    _check_private(directory, status, what, FOREIGN_WRITE, "700")


def check_private_file(path: str, status: os.stat_result, what: str) -> None:
    """Refuse a file (described by ``status``, from ``os.fstat``) unless the user owns it and nobody else may write to it."""
    _check_private(path, status, what, FOREIGN_WRITE, "600")


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
    """Entries read at a revision and changed in memory; :meth:`commit` writes them by compare-and-set.

    A backend gives ``_fetch(key) -> (entry, revision)`` and a store with ``compare_and_set`` and
    ``prepare_write``.
    """

    def __init__(self, store: Any) -> None:
        self._store = store
        self._read: dict[str, Versioned] = {}
        self._changes: dict[str, dict[str, Any] | None] = {}

    def _fetch(self, key: str) -> Versioned:
        raise NotImplementedError

    def _versioned(self, key: str) -> Versioned:
        if key not in self._read:
            self._read[key] = self._fetch(key)
        return self._read[key]

    def get(self, key: str) -> dict[str, Any] | None:
        if key in self._changes:
            return self._changes[key]
        return self._versioned(key)[0]

    def put(self, key: str, entry: dict[str, Any]) -> None:
        self._versioned(key)  # the revision this change is based on: a changed entry is a conflict, not overwritten
        self._changes[key] = entry

    def delete(self, key: str) -> None:
        if self._versioned(key)[0] is not None or self._changes.get(key) is not None:
            self._changes[key] = None
        else:
            self._changes.pop(key, None)

    def prepare_write(self) -> None:
        """Raise TokenStoreError now if this transaction could not commit: call it before asking for a token."""
        self._store.prepare_write()

    def commit(self) -> None:
        """Store the changes if nothing read meanwhile changed (else StoreConflict, and nothing is written)."""
        if not self._changes:
            return
        expected = {key: revision for key, (_entry, revision) in self._read.items()}
        self._store.compare_and_set(expected, dict(self._changes))
        for key, entry in self._changes.items():
            self._read[key] = (entry, self._read[key][1] + 1)
        self._changes = {}


class FileTransaction(Transaction):
    """The file store's entries while its lock is held (loaded once, when the lock was taken)."""

    def __init__(self, store: TokenStore, entries: dict[str, tuple[dict[str, Any], int]]) -> None:
        super().__init__(store)
        self._loaded = entries

    def _fetch(self, key: str) -> Versioned:
        return self._loaded.get(key, (None, 0))
