# Copyright (c) ctcloud.cloud contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Loaded (through PYTHONPATH) only by the module processes of test_token_expiry's kill test.

When the process is about to rename a finished temporary file over
``$CTCLOUD_KILL_ON_STORE_REPLACE`` -- the token store, i.e. the new refresh
token has been received and written, but is not yet stored -- it kills itself
with SIGKILL: no handler, no cleanup, no flush, exactly like the OOM killer or a
cancelled CI job.
"""

from __future__ import annotations

import os
import signal

_STORE = os.environ.get("CTCLOUD_KILL_ON_STORE_REPLACE")
_REPLACE = os.replace


def _replace_or_die(src, dst, *args, **kwargs):
    if _STORE and os.path.abspath(os.fspath(dst)) == _STORE:
        os.kill(os.getpid(), signal.SIGKILL)
    return _REPLACE(src, dst, *args, **kwargs)


os.replace = _replace_or_die


# With $CTCLOUD_KILL_AFTER_TOKEN_REPLY set (test_shared_token_store), die instead the moment a token reply has been
# read, whatever the token store: the new pair exists only in this process, nowhere else.
if os.environ.get("CTCLOUD_KILL_AFTER_TOKEN_REPLY"):
    import requests.sessions

    _SEND = requests.sessions.Session.send

    def _send_or_die(self, request, **kwargs):
        response = _SEND(self, request, **kwargs)
        if request.url.endswith("/oauth/token") and response.status_code == 200:
            response.content  # noqa: B018  # read: the server has issued the pair
            os.kill(os.getpid(), signal.SIGKILL)
        return response

    requests.sessions.Session.send = _send_or_die
