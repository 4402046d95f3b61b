"""The tool's own RSA keys: generation, the public JWKS, and rotation without breaking platforms.

Platforms verify what EduAI signs (token requests, deep-linking responses) by fetching the JWKS
from ``/lti/jwks/`` and picking the key by ``kid``. Rotation therefore never changes the URL:

1. ``tool_key_stage()``      adds a NEXT key: published, not yet signing (platforms may cache it);
2. ``tool_key_promote()``    NEXT becomes ACTIVE and signs; the old ACTIVE becomes PREVIOUS, still
                             published so JWTs it signed minutes ago still verify;
3. ``tool_key_retire_previous()`` drops PREVIOUS keys from the JWKS.

``manage.py lti_rotate_key`` runs these; a platform registered with the key set URL never notices.
The ``kid`` is the RFC 7638 thumbprint, the same value ``pylti1p3`` computes from the public key.
"""

from __future__ import annotations

import json
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.db import IntegrityError, transaction
from django.utils import timezone
from jwcrypto.jwk import JWK

from .models import PUBLISHED_KEY_STATUSES, ToolKey, ToolKeyStatus

# 2048-bit RSA: the size LTI 1.3 certification and every major LMS expect (RS256).
RSA_KEY_BITS = 2048


def public_jwk(public_key_pem: str) -> dict[str, Any]:
    jwk = JWK.from_pem(public_key_pem.encode("utf-8"))
    data = json.loads(jwk.export_public())
    data["kid"] = jwk.thumbprint()
    data["alg"] = "RS256"
    data["use"] = "sig"
    return data


def _new_key(status: str) -> ToolKey:
    private = rsa.generate_private_key(public_exponent=65537, key_size=RSA_KEY_BITS)
    private_pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode("ascii")
    public_pem = (
        private.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode("ascii")
    )
    kid = public_jwk(public_pem)["kid"]
    return ToolKey.objects.create(
        kid=kid,
        private_key_pem=private_pem,
        public_key_pem=public_pem,
        status=status,
        activated_at=timezone.now() if status == ToolKeyStatus.ACTIVE else None,
    )


def tool_key_active() -> ToolKey:
    """The signing key, created on first use (a fresh install has none)."""
    key = ToolKey.objects.filter(status=ToolKeyStatus.ACTIVE).first()
    if key is not None:
        return key
    try:
        with transaction.atomic():
            return _new_key(ToolKeyStatus.ACTIVE)
    except IntegrityError:
        # Another process created the first key at the same moment: use theirs.
        return ToolKey.objects.get(status=ToolKeyStatus.ACTIVE)


def tool_jwks() -> dict[str, list[dict[str, Any]]]:
    """The public key set: every key a platform may meet (next, active, previous)."""
    tool_key_active()
    keys = ToolKey.objects.filter(status__in=PUBLISHED_KEY_STATUSES).order_by("created_at", "id")
    return {"keys": [public_jwk(k.public_key_pem) for k in keys]}


@transaction.atomic
def tool_key_stage() -> ToolKey:
    """Publish a NEXT key (or return the one already staged)."""
    staged = ToolKey.objects.select_for_update().filter(status=ToolKeyStatus.NEXT).first()
    return staged or _new_key(ToolKeyStatus.NEXT)


@transaction.atomic
def tool_key_promote() -> ToolKey:
    """Make the NEXT key the signing key (staging one first if none is staged)."""
    tool_key_active()
    nxt = ToolKey.objects.select_for_update().filter(status=ToolKeyStatus.NEXT).first()
    if nxt is None:
        nxt = _new_key(ToolKeyStatus.NEXT)
    ToolKey.objects.filter(status=ToolKeyStatus.ACTIVE).update(status=ToolKeyStatus.PREVIOUS)
    nxt.status = ToolKeyStatus.ACTIVE
    nxt.activated_at = timezone.now()
    nxt.save(update_fields=["status", "activated_at"])
    return nxt


@transaction.atomic
def tool_key_retire_previous() -> int:
    """Stop publishing keys that no longer sign. Returns how many were retired."""
    return ToolKey.objects.filter(status=ToolKeyStatus.PREVIOUS).update(
        status=ToolKeyStatus.RETIRED, retired_at=timezone.now()
    )
