"""Passphrase encryption for the key and the review log: scrypt key derivation and AES-GCM (``cryptography``).

An encrypted key is a small JSON envelope. A wrong passphrase fails authentication, raises a
clear error and changes nothing; the message never carries any of the key's content.
"""

from __future__ import annotations

import base64
import json
import os

from ..errors import QualcodeError

ENVELOPE = "qualcode-encrypted-key"
SCRYPT = {"n": 2 ** 15, "r": 8, "p": 1}
PASSPHRASE_VARIABLE = "QUALCODE_KEY_PASSPHRASE"


def is_encrypted_file(path) -> bool:
    try:
        return is_encrypted(open(path, encoding="utf-8").read())
    except (OSError, UnicodeDecodeError):
        return False


def is_encrypted(text: str) -> bool:
    try:
        return json.loads(text).get("format") == ENVELOPE
    except (ValueError, AttributeError):
        return False


def _derive(passphrase: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

    return Scrypt(salt=salt, length=32, n=n, r=r, p=p).derive(passphrase.encode("utf-8"))


def encrypt(plaintext: str, passphrase: str) -> str:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    if not passphrase:
        raise QualcodeError(f"an empty passphrase cannot protect the key (set {PASSPHRASE_VARIABLE})")
    salt, nonce = os.urandom(16), os.urandom(12)
    ciphertext = AESGCM(_derive(passphrase, salt, **SCRYPT)).encrypt(nonce, plaintext.encode("utf-8"), ENVELOPE.encode())
    encode = lambda data: base64.b64encode(data).decode("ascii")  # noqa: E731
    return json.dumps({"format": ENVELOPE, "kdf": "scrypt", **SCRYPT, "cipher": "AES-256-GCM",
                       "salt": encode(salt), "nonce": encode(nonce), "ciphertext": encode(ciphertext)}, indent=2) + "\n"


def seal(plaintext: str, passphrase: str | None) -> str:
    """``plaintext`` encrypted under ``passphrase``, or as it is when there is none."""
    return encrypt(plaintext, passphrase) if passphrase else plaintext


def unseal(text: str, passphrase: str | None, path) -> str:
    """The plaintext of a file :func:`seal` wrote (asks for the passphrase only when encrypted)."""
    return decrypt(text, passphrase, path) if is_encrypted(text) else text


def decrypt(envelope_text: str, passphrase: str | None, path) -> str:
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    if not passphrase:
        raise QualcodeError(f"the key is encrypted: give its passphrase in {PASSPHRASE_VARIABLE}", path)
    try:
        envelope = json.loads(envelope_text)
        key = _derive(passphrase, base64.b64decode(envelope["salt"]), envelope["n"], envelope["r"], envelope["p"])
        plaintext = AESGCM(key).decrypt(base64.b64decode(envelope["nonce"]),
                                        base64.b64decode(envelope["ciphertext"]), ENVELOPE.encode())
    except InvalidTag:
        raise QualcodeError("wrong passphrase (or a damaged key); nothing was changed", path) from None
    except (ValueError, KeyError, TypeError):
        raise QualcodeError("the encrypted key is damaged; nothing was changed", path) from None
    return plaintext.decode("utf-8")
