"""Secrets at rest: datastore credentials and SAS tokens typed in input URLs, as Fernet tokens keyed by SECRET_KEY."""

import base64
from functools import lru_cache

from django.conf import settings


@lru_cache(maxsize=4)
def _fernet(secret_key: str):
    from cryptography.fernet import Fernet
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"batch-studio/datastore-credentials").derive(
        secret_key.encode()
    )
    return Fernet(base64.urlsafe_b64encode(key))


def encrypt(value: str) -> str:
    """A secret at rest (a datastore's credential, a SAS token typed in a job's input URL): a Fernet token."""
    return _fernet(settings.SECRET_KEY).encrypt(value.encode()).decode() if value else ""


def decrypt(token: str) -> str:
    """The secret back; cryptography.fernet.InvalidToken when the secret key changed since."""
    return _fernet(settings.SECRET_KEY).decrypt(token.encode()).decode() if token else ""
