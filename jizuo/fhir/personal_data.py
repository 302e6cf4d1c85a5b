"""身份证 and phone numbers inside FHIR resources: encrypted in the stored JSON, found by a blind index.

On write, the value of a Patient/Practitioner identifier with the 身份证 system and of each phone telecom is
replaced by `enc:<base64 SM4 ciphertext>`; the search index gets `bidx:<HMAC-SM3 hex>` instead of the value,
so `identifier=system|number` finds the person while no partial match can reveal anything. On read, the
value is decrypted, and masked unless the caller may see it in full.
"""

from __future__ import annotations

import base64
import copy
from typing import Any

from jizuo.core.idcard import mask_id_number, mask_phone
from jizuo.core.security import FieldCipher
from jizuo.fhir.validation import ID_CARD_SYSTEMS

PROTECTED_TYPES = frozenset({"Patient", "Practitioner", "RelatedPerson", "Person"})
ENCRYPTED_PREFIX = "enc:"
BLIND_PREFIX = "bidx:"


def _protected_elements(resource: dict[str, Any]) -> list[tuple[dict[str, Any], str]]:
    """(element, kind) pairs whose `value` is personal: kind is "id_card" or "phone"."""
    found: list[tuple[dict[str, Any], str]] = []
    for identifier in resource.get("identifier") or []:
        if isinstance(identifier, dict) and identifier.get("system") in ID_CARD_SYSTEMS and identifier.get("value"):
            found.append((identifier, "id_card"))
    for telecom in resource.get("telecom") or []:
        if isinstance(telecom, dict) and telecom.get("system") in ("phone", "sms") and telecom.get("value"):
            found.append((telecom, "phone"))
    return found


def blind_token(cipher: FieldCipher, value: str) -> str:
    return BLIND_PREFIX + cipher.blind_index(value).hex()


def protect(resource: dict[str, Any], cipher: FieldCipher) -> tuple[dict[str, Any], dict[str, str]]:
    """The copy to store, and {encrypted value → blind token} for the search index to use instead."""
    if resource.get("resourceType") not in PROTECTED_TYPES:
        return resource, {}
    stored = copy.deepcopy(resource)
    replacements: dict[str, str] = {}
    for element, _ in _protected_elements(stored):
        value = str(element["value"])
        if value.startswith(ENCRYPTED_PREFIX):
            continue
        encrypted = ENCRYPTED_PREFIX + base64.b64encode(cipher.encrypt(value)).decode()
        replacements[encrypted] = blind_token(cipher, value)
        element["value"] = encrypted
    return stored, replacements


def reveal(resource: dict[str, Any], cipher: FieldCipher, *, full: bool) -> dict[str, Any]:
    """Decrypt protected values in place (the resource is a fresh copy from the database)."""
    if resource.get("resourceType") not in PROTECTED_TYPES:
        return resource
    for element, kind in _protected_elements(resource):
        value = str(element["value"])
        if not value.startswith(ENCRYPTED_PREFIX):
            continue
        plain = cipher.decrypt(base64.b64decode(value[len(ENCRYPTED_PREFIX):]))
        element["value"] = plain if full else (mask_id_number(plain) if kind == "id_card" else mask_phone(plain))
    return resource
