# -*- coding: utf-8 -*-
# Copyright (c) ctcloud.cloud contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The token store options every module and plugin of both clouds shares (one text for both)."""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  token_store:
    description:
      - Where tokens are kept between tasks, plays and runs, shared by every module and plugin of this collection;
        a file path, or a Redis URL for a store shared by many machines (CI runners, AWX jobs).
      - An access token is kept there until shortly before it expires (a share of its lifetime, at most 60
        seconds), so a playbook run needs one token request per client; CT's rotating refresh token lives there too.
      - A B(path) is a JSON file (mode 0600). The store, its lock file (the same path plus C(.lock)) and its
        directory must belong to the user running Ansible and must not be writable by group or others (the store not
        even readable); neither file may be a symbolic link. Otherwise the task fails, naming the C(chmod) or
        C(chown) that fixes it. Missing directories are created with mode 0700. C(~) and C($VARS) are expanded.
      - V(redis://[user:password@]host[:port][/db]) or V(rediss://...) (TLS) keeps the tokens in Redis, for
        every machine that can reach it. Writes are compare-and-set, and one process at a time renews a client's
        tokens (a lease in Redis), so runners that start together refresh once. Needs the Python library
        C(redis) on the controller or in the execution environment. The password is never shown (it is masked in
        messages and in the task's invocation). TLS options go in the query, for example
        V(rediss://host:6380/0?ssl_ca_certs=/etc/ssl/redis-ca.pem).
      - If the store cannot be written (a read-only file or directory, Redis down or refusing writes), no token is
        renewed; the task fails naming the store, and the token chain is left as it was.
      - If not set, the environment variable E(CTCLOUD_TOKEN_STORE) is used, then
        C($XDG_CACHE_HOME/ctcloud/tokens.json) (C(~/.cache/ctcloud/tokens.json)).
    type: str
  token_store_key:
    description:
      - A Fernet key (32 bytes, URL-safe base64) that encrypts and authenticates every entry of O(token_store),
        file or Redis. Make one with
        C(python3 -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())').
      - Several keys separated by commas rotate the key; the first encrypts, any of them decrypts.
      - A store that cannot be decrypted with it (a wrong key, or an encrypted store without a key) fails the task
        before any token request; nothing is renewed or overwritten. With a key, an unencrypted file store is
        encrypted at its next write, and an unencrypted entry in Redis is refused (anyone who can write to
        Redis could have planted it).
      - If not set, the environment variable E(CTCLOUD_TOKEN_STORE_KEY) is used.
    type: str
"""
