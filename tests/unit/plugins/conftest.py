# -*- coding: utf-8 -*-
# Copyright (c) ctcloud.cloud contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What every plugin unit test shares."""

from __future__ import annotations

import pytest

# The variables the modules and plugins fall back to for their connection options.
CONNECTION_VARIABLES = (
    "CT_CLIENT_ID", "CT_CLIENT_SECRET", "CT_REFRESH_TOKEN", "CT_ACCESS_TOKEN", "CT_API_URL", "CT_AUTH_URL",
    "CTHINGS_CLIENT_ID", "CTHINGS_CLIENT_SECRET", "CTHINGS_API_URL", "CTHINGS_AUTH_URL",
)


@pytest.fixture(autouse=True)
def no_connection_environment(monkeypatch):
    """No test reads the connection of the shell it runs in; a test that needs one sets it."""
    for variable in CONNECTION_VARIABLES:
        monkeypatch.delenv(variable, raising=False)
