#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) ctcloud.cloud contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: ct_auth
short_description: The one browser step of CT authorization, and storing its tokens
version_added: 0.1.0
description:
  - CT's API uses the OAuth2 authorization-code flow, which needs a person in a browser once. This module does the
    two halves around that step; C(docs/ct-authorization.md) walks through it, and through CI use afterwards.
  - Without O(code) it returns RV(authorize_url), the URL to open in a browser, for O(client_id) and
    O(redirect_uri). After you sign in and allow access, CT redirects the browser to
    O(redirect_uri)C(?code=...).
  - With O(code) it exchanges the code for an access token and a refresh token and stores both in the token store
    (O(token_store)), replacing what was stored for this O(client_id) and O(auth_url). Later tasks need no
    O(refresh_token) while that store is kept.
  - The tokens are never returned. The refresh token is in the token store; for a CI secret, read it from there once,
    as C(docs/ct-authorization.md) shows, so that it never appears in a task result or a log.
  - With a shared store (O(token_store) a Redis URL, see C(docs/ci.md) and C(docs/awx.md)) the chain starts right
    there; every runner and job that uses the same store and O(token_store_key) continues it, and none needs a
    refresh token.
  - A code is single-use and expires after 10 minutes, so a task with O(code) succeeds once; its exchange is never
    retried.
  - The tokens are stored for O(api_url) (its scheme, host and port), and later tasks send them to that API only.
  - O(refresh_token) and O(access_token) are accepted, so that C(module_defaults) of the group
    C(ctcloud.cloud.ct) apply to this module too, and ignored.
author:
  - ctcloud.cloud contributors (@ctcloud)
extends_documentation_fragment:
  - ctcloud.cloud.ct
  - ctcloud.cloud.attributes
  - ctcloud.cloud.attributes.ct
attributes:
  check_mode:
    support: full
    details: In check mode the code is not exchanged (that would use it up) and nothing is stored; the task reports
      C(changed) when a code was given.
  diff_mode:
    support: none
options:
  redirect_uri:
    description:
      - The CT application's callback URL, exactly as registered with CT. It must be C(https) and must not contain
        a fragment (C(#...)).
    type: str
    required: true
  code:
    description:
      - The C(code) query parameter of the URL the browser was redirected to. The whole redirected URL may be given
        instead; the code is taken from it.
      - Single-use and valid for 10 minutes.
    type: str
notes:
  - O(client_id) is required. O(client_secret) is required with O(code).
seealso:
  - name: CT authorization, once and in CI
    description: C(docs/ct-authorization.md) in this collection.
    link: https://example.invalid/ctcloud/ctcloud.cloud/tree/main/docs/ct-authorization.md
"""

EXAMPLES = r"""
- name: Step 1, the URL to open in a browser
  ctcloud.cloud.ct_auth:
    client_id: "{{ ct_client_id }}"
    redirect_uri: https://example.com/ct/callback
  register: ct_authorize

- name: Show it
  ansible.builtin.debug:
    msg: "Open {{ ct_authorize.authorize_url }} and paste the URL you land on"

# The default token store (~/.cache/ctcloud/tokens.json): never a file inside a checkout, which could be committed.
- name: Step 2, exchange the code and store the tokens
  ctcloud.cloud.ct_auth:
    client_id: "{{ ct_client_id }}"
    client_secret: "{{ ct_client_secret }}"
    redirect_uri: https://example.com/ct/callback
    code: "{{ landed_on_url }}"

- name: From now on, no refresh_token is needed with this token store
  ctcloud.cloud.ct_location_info:
    client_id: "{{ ct_client_id }}"
    client_secret: "{{ ct_client_secret }}"

# Or start the chain straight in the Redis store every CI runner and AWX job shares, encrypted.
- name: Step 2, into the shared store
  ctcloud.cloud.ct_auth:
    client_id: "{{ ct_client_id }}"
    client_secret: "{{ ct_client_secret }}"
    redirect_uri: https://example.com/ct/callback
    code: "{{ landed_on_url }}"
    token_store: "{{ lookup('ansible.builtin.env', 'CTCLOUD_TOKEN_STORE') }}"  # rediss://ctcloud:...@redis.example.com:6380/0
    token_store_key: "{{ vault_ct_token_store_key }}"
"""

RETURN = r"""
authorize_url:
  description: The URL of CT's authorization page for O(client_id) and O(redirect_uri), URL-encoded.
  returned: always
  type: str
  sample: https://id.ctapp.io/oauth/authorize?client_id=8b1f...&redirect_uri=https%3A%2F%2Fexample.com%2Fct%2Fcallback&response_type=code
token_store:
  description: The token store the tokens were (or, in check mode, would be) stored in; a Redis URL without its password.
  returned: when O(code) is given
  type: str
  sample: /home/alice/.cache/ctcloud/tokens.json
expires_at:
  description: When the stored access token expires (unix seconds). The refresh token renews it.
  returned: when O(code) was exchanged (not in check mode)
  type: int
  sample: 1718186400
"""

from urllib.parse import parse_qs, urlsplit

from ansible_collections.ctcloud.cloud.plugins.module_utils import validation
from ansible_collections.ctcloud.cloud.plugins.module_utils.ct import DEFAULT_API_URL as CT_API_URL
from ansible_collections.ctcloud.cloud.plugins.module_utils.ct import DEFAULT_AUTH_URL as CT_AUTH_URL
from ansible_collections.ctcloud.cloud.plugins.module_utils.ct import CtAuth
from ansible_collections.ctcloud.cloud.plugins.module_utils.errors import InputError
from ansible_collections.ctcloud.cloud.plugins.module_utils.module_base import CtCloudModule
from ansible_collections.ctcloud.cloud.plugins.module_utils.token_store import open_token_store


def https_redirect_uri(value):
    """The registered callback: https, a host, no fragment (RFC 6749 section 3.1.2)."""
    text = validation.text(value, "redirect_uri", 1)
    try:
        parts = urlsplit(text)
        host = parts.hostname
    except ValueError:
        parts, host = None, None
    if parts is None or parts.scheme.lower() != "https" or not host or any(c.isspace() for c in text):
        raise InputError(f"redirect_uri must be an https URL like https://example.com/ct/callback, got {value!r}", "redirect_uri")
    if parts.fragment or text.endswith("#"):
        raise InputError(f"redirect_uri must not contain a fragment (#...), got {value!r}", "redirect_uri")
    return text


def authorization_code(value, redirect_uri):
    """The code itself, or taken from the whole URL the browser landed on."""
    text = validation.text(value, "code", 1)
    if "://" not in text:
        if any(c.isspace() for c in text):
            raise InputError("code must be the code query parameter of the redirected URL (or that whole URL)", "code")
        return text
    landed, expected = urlsplit(text), urlsplit(redirect_uri)
    query = parse_qs(landed.query)
    if "error" in query:
        reason = query["error"][0]
        description = query.get("error_description", [""])[0]
        raise InputError(f"CT did not authorize: {reason}{': ' + description if description else ''}", "code")
    if (landed.scheme.lower(), landed.netloc.lower(), landed.path) != (expected.scheme.lower(), expected.netloc.lower(), expected.path):
        raise InputError("code is a URL, but not one under redirect_uri: paste the URL the browser was redirected to", "code")
    codes = query.get("code") or [""]
    if not codes[0].strip():
        raise InputError("code is a URL without a code parameter: paste the URL the browser was redirected to", "code")
    return codes[0].strip()


def run(module):
    p = module.params
    if not p["client_id"]:
        raise InputError("client_id is required (or CT_CLIENT_ID): the CT application's App ID", "client_id")
    redirect_uri = https_redirect_uri(p["redirect_uri"])
    code = authorization_code(p["code"], redirect_uri) if p["code"] is not None else None
    if code is not None and not p["client_secret"]:
        raise InputError("client_secret is required (or CT_CLIENT_SECRET) to exchange a code", "client_secret")
    # The browser signs in at auth_url, and the tokens will be sent to api_url: neither in cleartext.
    # An empty URL (an AWX credential's unset field) means the default, as in every other module.
    auth_url = validation.service_url(p["auth_url"] or CT_AUTH_URL, "auth_url")
    api_url = validation.service_url(p["api_url"] or CT_API_URL, "api_url")
    store = open_token_store(p["token_store"], p["token_store_key"])
    # Building the URL needs neither a secret nor a connection.
    authorize_url = CtAuth(store, None, auth_url, p["client_id"], "", api_url=api_url).authorize_url(redirect_uri)
    result = {"changed": code is not None, "authorize_url": authorize_url}
    if code is None:
        return result
    result["token_store"] = store.description
    if module.check_mode:
        return result
    # ct_auth starts a new token chain, so the connection's refresh_token and access_token play no part.
    stored = module.build_client(refresh_token=None, access_token=None).auth.exchange_code(code, redirect_uri)
    result["expires_at"] = int(stored["expires_at"])
    return result


def main():
    module = CtCloudModule(
        {
            "redirect_uri": {"type": "str", "required": True},
            "code": {"type": "str", "no_log": True},
        },
        cloud="ct",
        supports_check_mode=True,
    )
    module.run(run)


if __name__ == "__main__":
    main()
