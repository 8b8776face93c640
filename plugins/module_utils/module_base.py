# -*- coding: utf-8 -*-
# Copyright (c) ctcloud.cloud contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to ctcloud.cloud: no public API, may change in any release without notice (docs/architecture.md).
"""What every module of the collection shares: connection options, building a client,
and turning the collection's errors into a clean ``fail_json``.

A module is: DOCUMENTATION/EXAMPLES/RETURN, an argument spec, and a ``main()``
that builds a :class:`CtCloudModule` and hands it a function to run.
"""

from __future__ import annotations

from typing import Any, Callable

from ansible.module_utils.basic import AnsibleModule, env_fallback, missing_required_lib
from ansible.module_utils.errors import NoLogError, UnsupportedError

from ansible_collections.ctcloud.cloud.plugins.module_utils._api.ct import DEFAULT_API_URL as CT_API_URL
from ansible_collections.ctcloud.cloud.plugins.module_utils._api.ct import DEFAULT_AUTH_URL as CT_AUTH_URL
from ansible_collections.ctcloud.cloud.plugins.module_utils._api.ct import CtClient
from ansible_collections.ctcloud.cloud.plugins.module_utils._api.cthings import DEFAULT_API_URL as CTHINGS_API_URL
from ansible_collections.ctcloud.cloud.plugins.module_utils._api.cthings import DEFAULT_AUTH_URL as CTHINGS_AUTH_URL
from ansible_collections.ctcloud.cloud.plugins.module_utils._api.cthings import CthingsClient
from ansible_collections.ctcloud.cloud.plugins.module_utils._api.errors import ApiError, CtCloudError, InputError
from ansible_collections.ctcloud.cloud.plugins.module_utils._api.schemas import HAS_JSONSCHEMA, JSONSCHEMA_IMPORT_ERROR
from ansible_collections.ctcloud.cloud.plugins.module_utils._api.secret_fields import SECRET_FIELDS, mask_secret_fields
from ansible_collections.ctcloud.cloud.plugins.module_utils._api.token_store import is_redis_url, url_passwords
from ansible_collections.ctcloud.cloud.plugins.module_utils._api.transport import HAS_REQUESTS, REQUESTS_IMPORT_ERROR


def _common_options(env_prefix: str, api_url: str, auth_url: str) -> dict[str, Any]:
    # Env fallbacks for the URLs are spelled here, not as option defaults, so that
    # "unset" means env var first, then the documented default.
    return {
        "client_id": {"type": "str", "fallback": (env_fallback, [env_prefix + "CLIENT_ID"])},
        "client_secret": {"type": "str", "no_log": True, "fallback": (env_fallback, [env_prefix + "CLIENT_SECRET"])},
        "api_url": {"type": "str", "default": api_url, "fallback": (env_fallback, [env_prefix + "API_URL"])},
        "auth_url": {"type": "str", "default": auth_url, "fallback": (env_fallback, [env_prefix + "AUTH_URL"])},
        "validate_certs": {"type": "bool", "default": True},
        "timeout": {"type": "float", "default": 30},
        # A str, not a path: a Redis URL must reach the store as written (a path would expand $ in its password).
        # Not no_log as a whole (a file path is no secret, and masking it would garble every message naming it):
        # a Redis URL's password alone is added to the no_log values (CtCloudModule._hide_store_password).
        "token_store": {"type": "str", "no_log": False, "fallback": (env_fallback, ["CTCLOUD_TOKEN_STORE"])},
        "token_store_key": {"type": "str", "no_log": True, "fallback": (env_fallback, ["CTCLOUD_TOKEN_STORE_KEY"])},
    }


def ct_argument_spec() -> dict[str, Any]:
    spec = _common_options("CT_", CT_API_URL, CT_AUTH_URL)
    spec["refresh_token"] = {"type": "str", "no_log": True, "fallback": (env_fallback, ["CT_REFRESH_TOKEN"])}
    spec["access_token"] = {"type": "str", "no_log": True, "fallback": (env_fallback, ["CT_ACCESS_TOKEN"])}
    return spec


def cthings_argument_spec() -> dict[str, Any]:
    return _common_options("CTHINGS_", CTHINGS_API_URL, CTHINGS_AUTH_URL)


class _AnsibleModule(AnsibleModule):
    """AnsibleModule, failing on bad arguments with a message that names the option.

    ansible-core collects the no_log values of suboptions before it checks types, so a string in
    a list of dicts (``locations: [Shop]``) is first reported as a bare "dictionary requested,
    could not parse JSON or key=value" (a NoLogError); the error it records next names the option.
    """

    _validated = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._validated = True

    def fail_json(self, msg: str, **kwargs: Any) -> None:  # type: ignore[override]
        errors = getattr(self, "validation_result", None) and self.validation_result.errors
        if not self._validated and errors and isinstance(errors[0], NoLogError):
            named = [error for error in errors if not isinstance(error, NoLogError)]
            if named:
                msg = named[0].msg
                if isinstance(named[0], UnsupportedError):
                    msg = f"Unsupported parameters for ({self._name}) module: {msg}"
        super().fail_json(msg=msg, **kwargs)


class CtCloudModule:
    """An AnsibleModule plus the collection's clients and error reporting.

    ``cloud`` is ``"ct"`` or ``"cthings"``: it adds that cloud's connection options.
    """

    def __init__(self, argument_spec: dict[str, Any], cloud: str, **kwargs: Any) -> None:
        spec = ct_argument_spec() if cloud == "ct" else cthings_argument_spec()
        spec.update(argument_spec)
        self.cloud = cloud
        self.module = _AnsibleModule(argument_spec=spec, **kwargs)
        self._hide_store_password()
        self.params = self.module.params
        self.check_mode = self.module.check_mode
        self.diff_mode = self.module._diff
        self._client: Any = None
        if not HAS_REQUESTS:
            self.module.fail_json(msg=missing_required_lib("requests"), exception=REQUESTS_IMPORT_ERROR)
        if not HAS_JSONSCHEMA:
            self.module.fail_json(msg=missing_required_lib("jsonschema"), exception=JSONSCHEMA_IMPORT_ERROR)

    def _hide_store_password(self) -> None:
        """A Redis URL's password is masked wherever Ansible shows the task (its invocation under -vvv, any message)."""
        store = self.module.params.get("token_store")
        if is_redis_url(store):
            self.module.no_log_values.update(url_passwords(store))

    @property
    def client(self) -> Any:
        """The cloud's client, built on first use from the connection options."""
        if self._client is None:
            self.build_client()
        return self._client

    def build_client(self, **overrides: Any) -> Any:
        """Build the cloud's client from the connection options, some replaced by ``overrides``.

        It becomes :attr:`client`: :meth:`run` closes it and :meth:`fail` redacts its secrets.
        """
        names = ["api_url", "auth_url", "client_id", "client_secret", "token_store", "token_store_key", "validate_certs", "timeout"]
        if self.cloud == "ct":
            names += ["refresh_token", "access_token"]
        settings = dict({name: self.params[name] for name in names}, **overrides)
        self._client = (CtClient if self.cloud == "ct" else CthingsClient).build(**settings)
        return self._client

    def run(self, action: Callable[[CtCloudModule], dict[str, Any]]) -> None:
        """Run ``action(self)`` and exit with its result, or fail cleanly with the error it raised."""
        try:
            result = action(self)
        except CtCloudError as exc:
            self.fail(exc)
        finally:
            if self._client is not None:
                self._client.close()
        # Every record a module returns (results, diffs, reports) passes here: mask the contract's secret fields.
        self.module.exit_json(**mask_secret_fields(result, SECRET_FIELDS[self.cloud]))

    def fail(self, exc: CtCloudError, **extra: Any) -> None:
        """``fail_json`` with the message once (``msg``) and ``failure`` holding what a task may act on.

        Ansible prints a failed task's whole result: the message in ``failure`` too, and the API's whole
        reply, buried the sentence that matters. The reply's own words are in the message already; the
        reply itself (``failure.details.body``) comes with ``-vv``.
        """
        secrets = self._client.secrets() if self._client is not None else []
        if isinstance(exc, ApiError):
            exc = exc.redacted(secrets)
        failure = exc.to_failure()
        failure.pop("message", None)
        details = failure.get("details")
        if isinstance(details, dict) and "body" in details and self.module._verbosity < 2:
            details = {name: value for name, value in details.items() if name != "body"}
            if details:
                failure["details"] = details
            else:
                del failure["details"]
        if isinstance(exc, InputError):
            failure["kind"] = "input"
        self.module.fail_json(msg=str(exc), **mask_secret_fields({"failure": failure, **extra}, SECRET_FIELDS[self.cloud]))
