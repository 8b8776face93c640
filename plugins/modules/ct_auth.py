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
  - Without O(code) (step 1) it returns RV(authorize_url), the URL to open in a browser, for O(client_id) and
    O(redirect_uri), with a fresh random RV(state) in it. The state is recorded in the token store (O(token_store))
    for an hour. After you sign in and allow access, CT redirects the browser to
    O(redirect_uri)C(?code=...&state=...).
  - With O(code) (step 2) it first checks the state, taken from the redirected URL given as O(code) or from
    O(state), against the token store. A code whose state step 1 did not record there (a link someone else sent you,
    which would sign your plays into their account) is refused before anything is sent. Then it exchanges the code
    for an access token and a refresh token and stores both in the token store, replacing what was stored for this
    O(client_id) and O(auth_url). Later tasks need no O(refresh_token) while that store is kept.
  - So both steps must use the same O(token_store), O(client_id), O(auth_url) and O(redirect_uri).
  - The tokens are never returned. The refresh token is in the token store (mode 0600); for a CI secret, read it
    from there once, as C(docs/ct-authorization.md) shows, so that it never appears in a task result or a log.
  - With a shared store (O(token_store) a Redis URL, see C(docs/ci.md) and C(docs/awx.md)) the chain starts right
    there; every runner and job that uses the same store and O(token_store_key) continues it, and none needs a
    refresh token. Step 1 records its state in that store too.
  - A code is single-use and expires after 10 minutes, so a task with O(code) succeeds once; its exchange is never
    retried.
  - The tokens are stored for O(api_url) (its scheme, host and port), and later tasks send them to that API only.
  - O(refresh_token) and O(access_token) are accepted, so that C(module_defaults) of the group
    C(ctcloud.cloud.ct) apply to this module too, and ignored.
author:
  - ctcloud.cloud contributors (@ctcloud)
extends_documentation_fragment:
  - ctcloud.cloud.ct
  - ctcloud.cloud.token_store
  - ctcloud.cloud.attributes
  - ctcloud.cloud.attributes.ct_action_group
attributes:
  check_mode:
    support: full
    details:
      - In check mode nothing is stored and no code is exchanged (that would use it up); the task reports C(changed).
      - Step 1 in check mode returns a URL whose state is not recorded, so that URL cannot be completed.
      - Step 2 in check mode checks the state against the token store, without using it up.
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
        instead (best), and then the code and the state are taken from it.
      - Single-use and valid for 10 minutes.
    type: str
  state:
    description:
      - The RV(state) step 1 returned, when O(code) is the bare code rather than the whole redirected URL.
      - Required with a bare O(code). When O(code) is a URL with a state, this must be the same state.
    type: str
  pkce:
    description:
      - Also use PKCE (RFC 7636, method C(S256)) in step 1; the verifier stays in the token store and is sent with
        the code in step 2.
      - Whether CT honours PKCE is not known (it depends on its Doorkeeper version and configuration), so it is off by
        default. A CT that does not support it may refuse the exchange with C(invalid_grant); then run both steps
        again without it.
      - Only step 1 reads this option; step 2 uses PKCE exactly when its step 1 did.
    type: bool
    default: false
notes:
  - O(client_id) is required. O(client_secret) is required with O(code).
seealso:
  - name: CT authorization, once and in CI
    description: C(docs/ct-authorization.md) in this collection.
    link: https://example.invalid/ctcloud/ctcloud.cloud/tree/main/docs/ct-authorization.md
"""

EXAMPLES = r"""
- name: Step 1, the URL to open in a browser (its state is recorded in the token store)
  ctcloud.cloud.ct_auth:
    client_id: "{{ ct_client_id }}"
    redirect_uri: https://example.com/ct/callback
  register: ct_authorize

- name: Open it, sign in and allow access, then paste the whole URL the browser lands on
  ansible.builtin.pause:
    prompt: "Open {{ ct_authorize.authorize_url }} and paste the URL you land on"
  register: landed

# The default token store (~/.cache/ctcloud/tokens.json): never a file inside a checkout, which could be committed.
- name: Step 2, check the state, exchange the code and store the tokens
  ctcloud.cloud.ct_auth:
    client_id: "{{ ct_client_id }}"
    client_secret: "{{ ct_client_secret }}"
    redirect_uri: https://example.com/ct/callback
    code: "{{ landed.user_input }}"

- name: The same with PKCE, for a CT that supports it
  ctcloud.cloud.ct_auth:
    client_id: "{{ ct_client_id }}"
    redirect_uri: https://example.com/ct/callback
    pkce: true
  register: ct_authorize_pkce

- name: From now on, no refresh_token is needed with the same token store (here the default one)
  ctcloud.cloud.ct_location_info:
    client_id: "{{ ct_client_id }}"
    client_secret: "{{ ct_client_secret }}"

# Or start the chain straight in the Redis store every CI runner and AWX job shares, encrypted.
# Step 1 must then record its state in the same store (the same token_store and token_store_key).
- name: Step 2, into the shared store
  ctcloud.cloud.ct_auth:
    client_id: "{{ ct_client_id }}"
    client_secret: "{{ ct_client_secret }}"
    redirect_uri: https://example.com/ct/callback
    code: "{{ landed.user_input }}"
    token_store: "{{ lookup('ansible.builtin.env', 'CTCLOUD_TOKEN_STORE') }}"  # rediss://ctcloud:...@redis.example.com:6380/0
    token_store_key: "{{ vault_ct_token_store_key }}"
"""

RETURN = r"""
authorize_url:
  description:
    - The URL of CT's authorization page for O(client_id) and O(redirect_uri), with RV(state) (and with O(pkce), the
      code challenge), URL-encoded.
  returned: when O(code) is not given
  type: str
  sample: https://id.ctapp.io/oauth/authorize?client_id=8b1f...&redirect_uri=https%3A%2F%2Fexample.com%2Fct%2Fcallback&response_type=code&state=Qm9...
state:
  description:
    - The random state in RV(authorize_url), recorded in the token store for an hour. CT returns it with the code;
      step 2 checks it.
  returned: when O(code) is not given
  type: str
  sample: Qm9vdHN0cmFwIHN0YXRlIHZhbHVlIGZvciBjdF9hdXRo
token_store:
  description:
    - The token store the state or the tokens were (or, in check mode, would be) stored in; a Redis URL without its
      password.
  returned: always
  type: str
  sample: /home/alice/.cache/ctcloud/tokens.json
expires_at:
  description: When the stored access token expires (unix seconds). The refresh token renews it.
  returned: when O(code) was exchanged (not in check mode)
  type: int
  sample: 1718186400
"""

from urllib.parse import parse_qs, urlsplit

from ansible_collections.ctcloud.cloud.plugins.module_utils._api import validation
from ansible_collections.ctcloud.cloud.plugins.module_utils._api.ct import DEFAULT_API_URL as CT_API_URL
from ansible_collections.ctcloud.cloud.plugins.module_utils._api.ct import DEFAULT_AUTH_URL as CT_AUTH_URL
from ansible_collections.ctcloud.cloud.plugins.module_utils._api.ct import CtAuth
from ansible_collections.ctcloud.cloud.plugins.module_utils._api.errors import InputError
from ansible_collections.ctcloud.cloud.plugins.module_utils._api.token_store import open_token_store
from ansible_collections.ctcloud.cloud.plugins.module_utils.module_base import CtCloudModule


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


def authorization_code(value, redirect_uri, state=None):
    """(code, state): the code itself, or both taken from the whole URL the browser landed on.

    The state comes from the URL, else from ``state``; one of them must carry it, and if both do they must agree.
    """
    text = validation.text(value, "code", 1)
    given_state = validation.text(state, "state", 1) if state is not None else None
    if "://" not in text:
        if any(c.isspace() for c in text):
            raise InputError("code must be the code query parameter of the redirected URL (or that whole URL)", "code")
        if given_state is None:
            raise InputError("state is required with a bare code: give the whole URL the browser landed on as code (it carries the state), "
                             "or the state step 1 returned", "state")
        return text, given_state
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
    landed_state = query.get("state", [None])[0]
    if landed_state is not None and given_state is not None and landed_state != given_state:
        raise InputError("the state in the redirected URL is not the state given: the URL belongs to another authorization", "state")
    if landed_state is None and given_state is None:
        raise InputError("the redirected URL carries no state: give the state step 1 returned", "state")
    return codes[0].strip(), landed_state or given_state


def run(module):
    p = module.params
    if not p["client_id"]:
        raise InputError("client_id is required (or CT_CLIENT_ID): the CT application's App ID", "client_id")
    redirect_uri = https_redirect_uri(p["redirect_uri"])
    code, state = authorization_code(p["code"], redirect_uri, p["state"]) if p["code"] is not None else (None, None)
    if code is not None and not p["client_secret"]:
        raise InputError("client_secret is required (or CT_CLIENT_SECRET) to exchange a code", "client_secret")
    # The browser signs in at auth_url, and the tokens will be sent to api_url: neither in cleartext.
    # An empty URL (an AWX credential's unset field) means the default, as in every other module.
    auth_url = validation.service_url(p["auth_url"] or CT_AUTH_URL, "auth_url")
    api_url = validation.service_url(p["api_url"] or CT_API_URL, "api_url")
    store = open_token_store(p["token_store"], p["token_store_key"])
    result = {"changed": True, "token_store": store.description}
    if code is None:
        # Step 1 needs neither a secret nor a connection: a URL, and its state recorded in the store.
        authorize = CtAuth(store, None, auth_url, p["client_id"], "", api_url=api_url)
        result["authorize_url"], result["state"] = authorize.begin_authorization(redirect_uri, p["pkce"], record=not module.check_mode)
        return result
    # ct_auth starts a new token chain, so the connection's refresh_token and access_token play no part.
    auth = module.build_client(refresh_token=None, access_token=None).auth
    auth.pending_authorization(state, redirect_uri)  # a state step 1 did not record is refused here, before anything is sent
    if module.check_mode:
        return result
    stored = auth.exchange_code(code, redirect_uri, state)
    result["expires_at"] = int(stored["expires_at"])
    return result


def main():
    module = CtCloudModule(
        {
            "redirect_uri": {"type": "str", "required": True},
            "code": {"type": "str", "no_log": True},
            "state": {"type": "str"},
            "pkce": {"type": "bool", "default": False},
        },
        cloud="ct",
        supports_check_mode=True,
    )
    module.run(run)


if __name__ == "__main__":
    main()
