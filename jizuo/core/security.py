"""Security primitives: password hashing, token signing keys, personal-data encryption, blind indexes.

Chosen libraries: argon2-cffi (Argon2id, the OWASP recommendation), joserfc (JOSE/JWT by the authors of
authlib, which we use for OpenID Connect), and `cryptography` for SM4 and SM3 (GB/T 32907, GB/T 32905),
which run in OpenSSL's C code — fast enough to encrypt a million residents at load time.
"""

from __future__ import annotations

import hashlib
import hmac as std_hmac
import os
import secrets
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from cryptography.hazmat.primitives import hashes, padding
from cryptography.hazmat.primitives import hmac as crypto_hmac
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

from jizuo.core.config import Settings, get_settings, load_or_create_secret

_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


# A hash to verify against when the username is unknown, so both cases take the same time.
DUMMY_PASSWORD_HASH = hash_password(secrets.token_urlsafe(16))


def new_opaque_token() -> str:
    return secrets.token_urlsafe(32)


def digest_token(token: str) -> str:
    """Opaque tokens are stored as a SHA-256 digest: a database leak does not leak live tokens."""
    return hashlib.sha256(token.encode()).hexdigest()


# --- Signing keys (RS256: OIDC relying parties need a public key from the JWKS) -----------------------

@dataclass(frozen=True)
class SigningKeys:
    private: RSAKey

    @property
    def kid(self) -> str:
        return str(self.private.kid)

    def jwks(self) -> dict[str, Any]:
        public = self.private.as_dict(private=False)
        public.update({"use": "sig", "alg": "RS256"})
        return {"keys": [public]}

    def key_set(self) -> KeySet:
        return KeySet([self.private])

    def sign(self, claims: dict[str, Any]) -> str:
        return jwt.encode({"alg": "RS256", "kid": self.kid}, claims, self.private)

    def decode(self, token: str) -> dict[str, Any]:
        """Verify the signature and return the claims; raises on a bad token (callers map to 401)."""
        claims = jwt.decode(token, self.private, algorithms=["RS256"]).claims
        jwt.JWTClaimsRegistry(exp={"essential": True}).validate(claims)
        return dict(claims)


def _load_signing_key(path: Path) -> RSAKey:
    if path.exists():
        return RSAKey.import_key(path.read_bytes(), {"use": "sig"})
    key = RSAKey.generate_key(2048, private=True, auto_kid=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(key.as_pem(private=True))
    path.chmod(0o600)
    return key


def load_signing_keys(settings: Settings) -> SigningKeys:
    key = _load_signing_key(settings.keys_dir / "jwt-rs256.pem")
    key.ensure_kid()
    return SigningKeys(private=key)


@lru_cache
def get_signing_keys() -> SigningKeys:
    return load_signing_keys(get_settings())


# --- Personal data at rest: SM4-CBC + HMAC-SM3 (encrypt-then-MAC), and a keyed blind index --------

@dataclass(frozen=True)
class FieldCipher:
    data_key: bytes  # 32 bytes: 16 for SM4, 16 for the MAC
    index_key: bytes

    def encrypt(self, plaintext: str) -> bytes:
        iv = os.urandom(16)
        padder = padding.PKCS7(128).padder()
        padded = padder.update(plaintext.encode()) + padder.finalize()
        encryptor = Cipher(algorithms.SM4(self.data_key[:16]), modes.CBC(iv)).encryptor()
        body = iv + encryptor.update(padded) + encryptor.finalize()
        return body + self._mac(body)

    def decrypt(self, blob: bytes) -> str:
        body, tag = blob[:-16], blob[-16:]
        if not std_hmac.compare_digest(tag, self._mac(body)):
            raise ValueError("personal data failed its integrity check")
        iv, ciphertext = body[:16], body[16:]
        decryptor = Cipher(algorithms.SM4(self.data_key[:16]), modes.CBC(iv)).decryptor()
        padded = decryptor.update(ciphertext) + decryptor.finalize()
        unpadder = padding.PKCS7(128).unpadder()
        return (unpadder.update(padded) + unpadder.finalize()).decode()

    def blind_index(self, value: str) -> bytes:
        """Equality lookup without storing the value: HMAC-SM3 of the normalised value."""
        mac = crypto_hmac.HMAC(self.index_key, hashes.SM3())
        mac.update(value.strip().upper().encode())
        return mac.finalize()

    def _mac(self, body: bytes) -> bytes:
        mac = crypto_hmac.HMAC(self.data_key[16:], hashes.SM3())
        mac.update(body)
        return mac.finalize()[:16]


def load_field_cipher(settings: Settings) -> FieldCipher:
    data_key = settings.data_key or load_or_create_secret(settings.keys_dir / "data.key")
    index_key = settings.index_key or load_or_create_secret(settings.keys_dir / "index.key")
    return FieldCipher(data_key=bytes.fromhex(data_key), index_key=bytes.fromhex(index_key))


@lru_cache
def get_field_cipher() -> FieldCipher:
    return load_field_cipher(get_settings())
