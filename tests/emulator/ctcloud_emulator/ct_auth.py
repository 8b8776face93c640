"""CT's authorization server (`auth_url`, Doorkeeper): the authorize redirect and the token endpoint."""

from __future__ import annotations

import time
from urllib.parse import urlencode

from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from ctcloud_emulator.ct_tokens import CtGrant
from ctcloud_emulator.server_headers import DROP_CONNECTION_HEADER
from ctcloud_emulator.services import CT_AUTH, Endpoint, Services
from ctcloud_emulator.web import basic_credentials, json_response

PREFIX = "/ct-id"

# Doorkeeper's own descriptions (config/locales/en.yml), so error bodies read like the real thing.
DESCRIPTIONS = {
    "invalid_client": "Client authentication failed due to unknown client, no client authentication included, "
                      "or unsupported authentication method.",
    "invalid_grant": "The provided authorization grant is invalid, expired, revoked, does not match the redirection URI "
                     "used in the authorization request, or was issued to another client.",
    "unsupported_grant_type": "The authorization grant type is not supported by the authorization server.",
    "invalid_redirect_uri": "The requested redirect uri is malformed or doesn't match client redirect URI.",
    "unsupported_response_type": "The authorization server does not support this response type.",
    "invalid_code_challenge_method": "The code challenge method must be plain or S256.",
}
PKCE_METHODS = ("plain", "S256")
# Token responses must not be cached (RFC 6749 §5.1); Doorkeeper sends both headers.
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
GRANT_TYPES = ("authorization_code", "refresh_token")


class CtAuth:
    def __init__(self, services: Services) -> None:
        self.services = services

    def rules(self) -> list[Rule]:
        return [
            Rule(f"{PREFIX}/oauth/authorize", methods=["GET"], endpoint=Endpoint(CT_AUTH, self.authorize)),
            Rule(f"{PREFIX}/oauth/token", methods=["POST"], endpoint=Endpoint(CT_AUTH, self.token)),
            Rule(f"{PREFIX}/<path:unknown>", endpoint=Endpoint(CT_AUTH, self.not_found)),
        ]

    @staticmethod
    def not_found(request: Request, unknown: str) -> Response:
        del request, unknown
        return json_response({"error": "not_found", "error_description": "No route matches"}, 404)

    def authorize(self, request: Request) -> Response:
        """The browser step, with the user already signed in and consenting: straight to the callback."""
        credentials = self.services.credentials
        client_id = request.args.get("client_id")
        redirect_uri = request.args.get("redirect_uri")
        if client_id != credentials.ct_client_id:
            return json_response({"error": "invalid_client", "error_description": DESCRIPTIONS["invalid_client"]}, 401)
        if redirect_uri != credentials.ct_redirect_uri:
            # Never redirect to a URI the application did not register.
            return json_response({"error": "invalid_redirect_uri", "error_description": DESCRIPTIONS["invalid_redirect_uri"]}, 400)
        challenge, method = request.args.get("code_challenge"), request.args.get("code_challenge_method")
        if request.args.get("response_type") != "code":
            query = {"error": "unsupported_response_type", "error_description": DESCRIPTIONS["unsupported_response_type"]}
        elif challenge is not None and (method or "plain") not in PKCE_METHODS:
            query = {"error": "invalid_request", "error_description": DESCRIPTIONS["invalid_code_challenge_method"]}
        else:
            tokens = self.services.state.ct_tokens
            query = {"code": tokens.issue_code(client_id, redirect_uri, time.time(), challenge, (method or "plain") if challenge else None)}
        # RFC 6749 section 4.1.2: the client's state comes back unchanged, with the code or the error.
        if request.args.get("state") is not None:
            query["state"] = request.args["state"]
        separator = "&" if "?" in redirect_uri else "?"
        return Response(status=302, headers={"Location": f"{redirect_uri}{separator}{urlencode(query)}"})

    def _error(self, error: str, status: int, description: str | None = None) -> Response:
        self.services.stats.count_token_error(error)
        if self.services.dialect.token_errors_401:
            status = 401  # Doorkeeper before 5.x: ErrorResponse#status was :unauthorized for every error
        headers = dict(NO_STORE)
        if status == 401:
            headers["WWW-Authenticate"] = f'Bearer realm="Doorkeeper", error="{error}"'
        return json_response({"error": error, "error_description": description or DESCRIPTIONS[error]}, status, headers)

    def token(self, request: Request) -> Response:
        """Both grants; form fields as multipart or url-encoded, client credentials as fields or Basic."""
        form = request.form
        grant_type = form.get("grant_type")
        self.services.stats.count_token_request("ct", grant_type or "")
        if not grant_type:
            return self._error("invalid_request", 400, "Missing required parameter: grant_type.")
        if grant_type not in GRANT_TYPES:
            return self._error("unsupported_grant_type", 400)
        credentials = self.services.credentials
        # client_secret_basic; Doorkeeper also accepts the credentials as form fields.
        client = basic_credentials(request) or (form.get("client_id"), form.get("client_secret"))
        if client != (credentials.ct_client_id, credentials.ct_client_secret):
            return self._error("invalid_client", 401)
        knobs = self.services.knobs
        tokens = self.services.state.ct_tokens
        grant: CtGrant | None
        if grant_type == "authorization_code":
            code, redirect_uri = form.get("code"), form.get("redirect_uri")
            if not code or not redirect_uri:
                missing = "code" if not code else "redirect_uri"
                return self._error("invalid_request", 400, f"Missing required parameter: {missing}.")
            grant = tokens.redeem_code(code, credentials.ct_client_id, redirect_uri, knobs.ct_access_ttl, time.time(), form.get("code_verifier"))
        else:
            refresh_token = form.get("refresh_token")
            if not refresh_token:
                return self._error("invalid_request", 400, "Missing required parameter: refresh_token.")
            grant = tokens.refresh(refresh_token, knobs.ct_rotation, knobs.ct_access_ttl, time.time())
            if grant is not None and self.services.faults.refresh_reply_is_lost(knobs):
                # The grant is made (and, rotating strictly, the old refresh token is gone); the client never hears of it.
                return Response(status=200, headers={DROP_CONNECTION_HEADER: "1"})
        if grant is None:
            return self._error("invalid_grant", 400)
        return json_response(grant.token_response(), 200, NO_STORE)
