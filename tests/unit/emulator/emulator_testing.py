"""Shared by the emulator tests: where the emulator lives, the test seed and knobs, and an HTTP client.

Kept out of conftest.py so that test modules can import it by a name no other
test directory uses.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import requests

EMULATOR_DIR = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "emulator"))
sys.path.insert(0, EMULATOR_DIR)

from ctcloud_emulator.config import Knobs, SeedParams  # noqa: E402  # pylint: disable=wrong-import-position
from ctcloud_emulator.dialects import DASHBOARD, LEGACY, Dialect  # noqa: E402  # pylint: disable=wrong-import-position
from ctcloud_emulator.server import Emulator  # noqa: E402  # pylint: disable=wrong-import-position

RUN_EMULATOR = os.path.join(EMULATOR_DIR, "run_emulator.py")
__all__ = ["DASHBOARD", "LEGACY", "RUN_EMULATOR", "TEST_KNOBS", "TEST_SEED", "Emulator", "EmulatorClient", "start_test_emulator"]
TEST_SEED = SeedParams(locations=30, boxes=60, devices=250, seed=7)
# Short delays keep the time-based tests fast.
TEST_KNOBS = {**Knobs().as_dict(), "reboot_delay": 0.2, "voucher_delay": 0.2}


def start_test_emulator(dialect: Dialect = LEGACY) -> Emulator:
    """An in-process emulator on a free port, serving in a background thread (the tests of 0.1.0 speak the legacy dialect)."""
    emulator = Emulator(TEST_SEED, Knobs().updated(TEST_KNOBS), dialect=dialect)
    emulator.start()
    return emulator


class EmulatorClient:
    """Speaks to one emulator the way a client would, plus the admin API."""

    def __init__(self, start_line: dict[str, Any]) -> None:
        self.line = start_line
        self.ct = start_line["ct"]
        self.cthings = start_line["cthings"]
        self.admin_url = start_line["admin_url"]
        self.session = requests.Session()
        self.refresh_token = self.ct["refresh_token"]
        self._ct_access_token: str | None = None
        self._cthings_access_token: str | None = None

    # ---- admin ------------------------------------------------------------------------------

    def admin(self, method: str, path: str, body: Any = None) -> Any:
        response = self.session.request(method, f"{self.admin_url}/{path}", json=body)
        assert response.ok, (response.status_code, response.text)
        return response.json()

    def stats(self) -> dict[str, Any]:
        return self.admin("GET", "stats")

    def configure(self, **knobs: Any) -> dict[str, Any]:
        return self.admin("POST", "config", knobs)

    # ---- CT ---------------------------------------------------------------------------------

    def ct_token_request(self, **fields: str) -> requests.Response:
        """POST the token endpoint with the client credentials as form fields, unless overridden."""
        form = {"client_id": self.ct["client_id"], "client_secret": self.ct["client_secret"], **fields}
        return self.session.post(f"{self.ct['auth_url']}/oauth/token", data={k: v for k, v in form.items() if v is not None})

    def ct_refresh(self, refresh_token: str) -> requests.Response:
        return self.ct_token_request(grant_type="refresh_token", refresh_token=refresh_token)

    def ct_login(self) -> str:
        """Refresh with the current refresh token and remember the new pair; the new access token."""
        response = self.ct_refresh(self.refresh_token)
        assert response.status_code == 200, response.text
        body = response.json()
        self.refresh_token = body["refresh_token"]
        self._ct_access_token = body["access_token"]
        return body["access_token"]

    def ct_request(self, method: str, path: str, token: str | None = None, **kwargs: Any) -> requests.Response:
        if token is None:
            token = self._ct_access_token or self.ct_login()
        headers = {"Authorization": f"Bearer {token}", **kwargs.pop("headers", {})}
        return self.session.request(method, f"{self.ct['api_url']}{path}", headers=headers, **kwargs)

    def ct_get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.ct_request("GET", path, **kwargs)

    def ct_json(self, method: str, path: str, expected: int = 200, **kwargs: Any) -> Any:
        response = self.ct_request(method, path, **kwargs)
        assert response.status_code == expected, (response.status_code, response.text)
        return response.json() if response.content else None

    # ---- cThings ----------------------------------------------------------------------------

    def cthings_token_request(self, auth: Any = "client", **kwargs: Any) -> requests.Response:
        if auth == "client":
            auth = (self.cthings["client_id"], self.cthings["client_secret"])
        if "data" not in kwargs and "files" not in kwargs:
            kwargs["files"] = {"grant_type": (None, "client_credentials"), "scope": (None, "api")}
        return self.session.post(self.cthings["auth_url"], auth=auth, **kwargs)

    def cthings_token(self) -> str:
        response = self.cthings_token_request()
        assert response.status_code == 200, response.text
        self._cthings_access_token = response.json()["access_token"]
        return self._cthings_access_token

    def cthings_get(self, path_or_url: str, token: str | None = None, **kwargs: Any) -> requests.Response:
        if token is None:
            token = self._cthings_access_token or self.cthings_token()
        url = path_or_url if path_or_url.startswith("http") else f"{self.cthings['api_url']}{path_or_url}"
        return self.session.get(url, headers={"Authorization": f"Bearer {token}"}, **kwargs)
