# Copyright (c) ctcloud.cloud contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A real ``redis-server`` of a test's own: 127.0.0.1, a free port, a temp dir, no persistence; always stopped.

A missing ``redis-server`` fails the test (the units and system nox sessions install the Debian package
``redis-server`` when they run as root): the Redis token store is never "tested" by skipping.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time

START_TIMEOUT = 30.0
START_ATTEMPTS = 3


def redis_server_binary() -> str:
    binary = shutil.which("redis-server") or ("/usr/bin/redis-server" if os.path.exists("/usr/bin/redis-server") else None)
    if binary is None:
        raise RuntimeError("redis-server is not installed: apt-get install redis-server (the units and system sessions do it as root)")
    return binary


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class RedisServer:
    def __init__(self, workdir: str, *extra_config: str, password: str | None = None) -> None:
        self.workdir = workdir
        self.password = password
        self.extra_config = list(extra_config) + (["--requirepass", password] if password else [])
        self.port = 0
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        binary = redis_server_binary()
        os.makedirs(self.workdir, exist_ok=True)
        # The free port may be taken between the probe and the bind: a bounded number of tries.
        for _attempt in range(START_ATTEMPTS):
            self.port = _free_port()
            log_path = os.path.join(self.workdir, f"redis-{self.port}.log")
            command = [binary, "--bind", "127.0.0.1", "--port", str(self.port), "--dir", self.workdir, "--save", "",
                       "--appendonly", "no", "--daemonize", "no", "--logfile", log_path, *self.extra_config]
            self.process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                            start_new_session=True)
            if self._wait_ready():
                return self
            self.stop()
        raise RuntimeError(f"redis-server did not start on 127.0.0.1 (see {self.workdir})")

    def _wait_ready(self) -> bool:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process is None or self.process.poll() is not None:
                return False
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as conn:
                    conn.sendall(b"PING\r\n")
                    # A server with a password answers NOAUTH: it is up all the same.
                    if conn.recv(64).startswith((b"+PONG", b"-NOAUTH")):
                        return True
            except OSError:
                pass
            time.sleep(0.05)
        return False

    def client(self, **kwargs):
        """A redis-py client of the test itself (the runners use their own)."""
        import redis  # pylint: disable=import-outside-toplevel  # only tests that start a server need it

        return redis.Redis.from_url(self.url, **{"password": self.password, **kwargs})

    def values(self) -> dict[str, bytes]:
        """Every key's value (string keys; other types are listed by their type), for a scan of what Redis holds."""
        client = self.client()
        try:
            found = {}
            for name in client.scan_iter(count=500):
                kind = client.type(name)
                found[name.decode()] = client.get(name) if kind == b"string" else b"<" + kind + b">"
            return found
        finally:
            client.close()

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
