# -*- coding: utf-8 -*-
# Copyright (c) ctcloud.cloud contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The cThings Cloud connection options every cThings module and plugin shares."""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  client_id:
    description:
      - The cThings Client ID, a UUID issued by cThings support.
      - If not set, the environment variable E(CTHINGS_CLIENT_ID) is used.
    type: str
  client_secret:
    description:
      - The cThings Client Secret.
      - If not set, the environment variable E(CTHINGS_CLIENT_SECRET) is used.
    type: str
  api_url:
    description:
      - Base URL of the cThings Cloud API, without a version; C(/v3) or C(/v2) is appended per endpoint.
      - Stored access tokens are kept per API origin (scheme, host and port), so a token obtained for one API is never sent to another.
      - Must be C(https); plain C(http) is refused (tokens would cross the network in cleartext) except to a loopback
        address (C(127.0.0.1), C(::1), C(localhost)), such as a local emulator.
      - If not set, the environment variable E(CTHINGS_API_URL) is used, then the default.
    type: str
    default: https://api.cthings.cloud
  auth_url:
    description:
      - The cThings AuthServer token endpoint.
      - Must be C(https); plain C(http) is refused (tokens would cross the network in cleartext) except to a loopback
        address (C(127.0.0.1), C(::1), C(localhost)), such as a local emulator.
      - If not set, the environment variable E(CTHINGS_AUTH_URL) is used, then the default.
    type: str
    default: https://authserver.cthings.cloud/token
  validate_certs:
    description:
      - Whether to verify the servers' TLS certificates. Set to V(false) only for a test server.
    type: bool
    default: true
  timeout:
    description:
      - Seconds to wait for each HTTP reply.
    type: float
    default: 30
"""
