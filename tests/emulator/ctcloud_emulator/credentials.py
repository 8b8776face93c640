"""Credentials derived from `--seed`, so a CI job can predict them and a restart keeps them."""

from __future__ import annotations

import dataclasses
import hashlib
import random
import string
import uuid

CT_REDIRECT_URI = "https://localhost/callback"


def _derive_hex(seed: int, purpose: str) -> str:
    """64 hex characters, the shape of Doorkeeper's application uid/secret and tokens."""
    return hashlib.sha256(f"ctcloud-emulator:{seed}:{purpose}".encode()).hexdigest()


@dataclasses.dataclass(frozen=True)
class Credentials:
    seed: int
    ct_client_id: str
    ct_client_secret: str
    ct_initial_refresh_token: str
    # Issued together with the initial refresh token by the emulated browser step;
    # nobody is told it and it is born expired, so only the refresh token matters.
    ct_initial_access_token: str
    ct_redirect_uri: str
    cthings_client_id: str
    cthings_client_secret: str

    @classmethod
    def from_seed(cls, seed: int) -> Credentials:
        rng = random.Random(f"ctcloud-emulator:{seed}:cthings-secret")
        alphabet = string.ascii_letters + string.digits
        client_uuid = uuid.UUID(bytes=hashlib.sha256(f"ctcloud-emulator:{seed}:cthings-id".encode()).digest()[:16], version=4)
        return cls(
            seed=seed,
            ct_client_id=_derive_hex(seed, "ct-client-id"),
            ct_client_secret=_derive_hex(seed, "ct-client-secret"),
            ct_initial_refresh_token=_derive_hex(seed, "ct-initial-refresh-token"),
            ct_initial_access_token=_derive_hex(seed, "ct-initial-access-token"),
            ct_redirect_uri=CT_REDIRECT_URI,
            cthings_client_id=str(client_uuid),
            cthings_client_secret="".join(rng.choice(alphabet) for _repeat in range(32)),
        )

    def cthings_signing_key(self, generation: int) -> bytes:
        """HS256 key of the cThings JWTs; a new generation forgets every token issued before."""
        return hashlib.sha256(f"ctcloud-emulator:{self.seed}:cthings-jwt:{generation}".encode()).digest()
