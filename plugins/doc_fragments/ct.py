# -*- coding: utf-8 -*-
# Copyright (c) ctcloud.cloud contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The CT connection options every CT module and plugin shares."""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  client_id:
    description:
      - The CT application's App ID.
      - Required unless O(access_token) is given without O(refresh_token).
      - If not set, the environment variable E(CT_CLIENT_ID) is used.
    type: str
  client_secret:
    description:
      - The CT application's App Secret.
      - If not set, the environment variable E(CT_CLIENT_SECRET) is used.
    type: str
  refresh_token:
    description:
      - A CT refresh token, from the one browser step (see M(ctcloud.cloud.ct_auth) and C(docs/ct-authorization.md)).
      - CT rotates refresh tokens on every refresh. The rotated token is kept in O(token_store), so the same initial
        token (for example a CI secret) keeps working on later runs as long as the token store is kept.
      - Optional once M(ctcloud.cloud.ct_auth) has stored tokens for this O(client_id).
      - If not set, the environment variable E(CT_REFRESH_TOKEN) is used.
    type: str
  access_token:
    description:
      - A CT access token to use as is. Without O(refresh_token) it cannot be renewed when CT expires it.
      - If not set, the environment variable E(CT_ACCESS_TOKEN) is used.
    type: str
  api_url:
    description:
      - Base URL of the CT API.
      - Stored access tokens are kept per API origin (scheme, host and port), so a token obtained for one API is never sent to another.
      - Must be C(https); plain C(http) is refused (tokens would cross the network in cleartext) except to a loopback
        address (C(127.0.0.1), C(::1), C(localhost)), such as a local emulator.
      - If not set, the environment variable E(CT_API_URL) is used, then the default.
    type: str
    default: https://api.ctapp.io/api/v1
  auth_url:
    description:
      - Base URL of the CT authorization server; the token endpoint is C({auth_url}/oauth/token).
      - Must be C(https); plain C(http) is refused (tokens would cross the network in cleartext) except to a loopback
        address (C(127.0.0.1), C(::1), C(localhost)), such as a local emulator.
      - If not set, the environment variable E(CT_AUTH_URL) is used, then the default.
    type: str
    default: https://id.ctapp.io
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
notes:
  - Fields the API contract marks secret (a location's C(meraki_secret)) are returned as C(********) in every result
    and diff, and never written to an inventory host variable or cache; C(null) stays C(null), so whether a secret is
    set stays visible. Read the value itself in CT's dashboard.
  - CT access tokens expire without notice. Requests answered 401 renew the token once and are sent again.
  - Rate limits (429 with C(Retry-After)) and transient 502/503/504 replies are retried with backoff for requests
    that are safe to repeat. A request that creates something is never repeated blindly; the module re-reads what
    exists and converges instead.
"""
