"""Glue between ``pylti1p3`` and EduAI's models. All JWT and OIDC work is pylti1p3's; this module
supplies where registrations, keys and short-lived launch data live, and tightens a few checks:

- registrations and deployments come from ``Platform``/``Deployment`` rows (admin or dynamic
  registration), signing keys from ``ToolKey`` (see ``keys.py``);
- login state, nonces and validated launches live in the database (``LaunchDataRecord``), so the
  OIDC login and the launch may be served by different processes;
- a nonce is consumed by the launch that uses it (pylti1p3 alone accepts the same id_token again
  within its state's lifetime): a replayed launch is refused;
- ``exp`` and ``iat`` are required and checked with a small clock-skew leeway, and the audience
  must name the registration's client id (with ``azp`` when there are several audiences);
- every outgoing HTTP call has a timeout (requests has none by default: a hung platform would
  hold a worker forever);
- a launch is refused when a claim holds what the database cannot store (a NUL character, a lone
  surrogate, Infinity or NaN): the whole launch is kept as jsonb and its identifiers are stored
  as sent. Only names and titles lose their NUL characters instead.
"""

from __future__ import annotations

import math
import typing as t
from datetime import timedelta

import jwt
import requests
from django.conf import settings
from django.core.cache import cache
from django.utils import timezone
from pylti1p3.contrib.django import DjangoMessageLaunch, DjangoOIDCLogin
from pylti1p3.contrib.django.request import DjangoRequest
from pylti1p3.deployment import Deployment as PyDeployment
from pylti1p3.exception import LtiException
from pylti1p3.launch_data_storage.base import LaunchDataStorage
from pylti1p3.registration import Registration
from pylti1p3.tool_config import ToolConfAbstract

from eduai.courses.api import unstorable_text

from . import keys
from .models import Deployment, LaunchDataRecord, Platform

# Seconds of clock difference tolerated between the platform and us (PyJWT default is 0).
JWT_LEEWAY_S = int(getattr(settings, "EDUAI_LTI_JWT_LEEWAY_S", 60))
# Seconds a platform's key set stays cached; a kid we have not seen triggers one refetch.
PLATFORM_JWKS_CACHE_S = int(getattr(settings, "EDUAI_LTI_PLATFORM_JWKS_CACHE_S", 600))
# (connect, read) seconds for every call to a platform.
HTTP_TIMEOUT_S = (5, 20)
# Seconds login state and a validated launch stay usable (deep-linking pages use the latter).
LAUNCH_DATA_LIFETIME_S = 3600

_LTI = "https://purl.imsglobal.org/spec/lti/claim/"
# Display text, where a NUL is dropped rather than refused (the launch is still usable).
_DISPLAY_TEXT = (
    ("name",),
    ("given_name",),
    ("family_name",),
    ("middle_name",),
    (_LTI + "context", "title"),
    (_LTI + "context", "label"),
    (_LTI + "resource_link", "title"),
    (_LTI + "resource_link", "description"),
)
UNSTORABLE = "Unstorable claim"


def _drop_nul_from_display_text(body: dict[str, t.Any]) -> None:
    for *outer, last in _DISPLAY_TEXT:
        holder: t.Any = body
        for key in outer:
            holder = holder.get(key) if isinstance(holder, dict) else None
        if isinstance(holder, dict) and isinstance(holder.get(last), str):
            holder[last] = holder[last].replace("\x00", "")


def _has_nul(*values: object) -> bool:
    # Such a value cannot be stored, so no row has it; and PostgreSQL refuses a NUL even as a query
    # parameter (psycopg raises DataError: a 500), so it must not be looked up.
    return any(isinstance(v, str) and "\x00" in v for v in values)


def _unstorable(value: t.Any, path: str) -> str | None:
    """Where in ``value`` PostgreSQL would refuse it (text or jsonb), or None."""
    pending = [(value, path)]
    while pending:  # a stack, not recursion: the JWT body may be deeply nested
        item, where = pending.pop()
        if isinstance(item, str) and unstorable_text(item):
            return where
        if isinstance(item, float) and not math.isfinite(item):
            return where
        if isinstance(item, dict):
            for k, v in item.items():
                if unstorable_text(str(k)):
                    return where
                pending.append((v, f"{where}.{k}" if where else str(k)))
        elif isinstance(item, list):
            pending.extend((v, f"{where}[{i}]") for i, v in enumerate(item))
    return None


class TimeoutSession(requests.Session):
    """A requests session that never waits forever."""

    def request(self, method, url, **kwargs):  # type: ignore[override]
        kwargs.setdefault("timeout", HTTP_TIMEOUT_S)
        return super().request(method, url, **kwargs)


def http_session() -> requests.Session:
    session = TimeoutSession()
    session.headers["User-Agent"] = "EduAI-LTI/1.0 (pylti1p3)"
    return session


def platform_registration(platform: Platform) -> Registration:
    """A pylti1p3 ``Registration`` for the platform, signing with the active tool key."""
    key = keys.tool_key_active()
    reg = Registration()
    reg.set_issuer(platform.issuer)
    reg.set_client_id(platform.client_id)
    reg.set_auth_login_url(platform.auth_login_url)
    reg.set_auth_token_url(platform.auth_token_url)
    if platform.auth_audience:
        reg.set_auth_audience(platform.auth_audience)
    reg.set_key_set_url(platform.key_set_url or None)
    reg.set_key_set(platform.key_set or None)
    reg.set_tool_private_key(key.private_key_pem)
    reg.set_tool_public_key(key.public_key_pem)
    return reg


class DbToolConf(ToolConfAbstract):
    """Registrations from the database. Every issuer may have several client ids."""

    def check_iss_has_one_client(self, iss: str) -> bool:
        return False

    def check_iss_has_many_clients(self, iss: str) -> bool:
        return True

    def _platform(self, iss: str, client_id: str | None) -> Platform | None:
        if _has_nul(iss, client_id):
            return None
        qs = Platform.objects.filter(issuer=iss, is_active=True)
        if client_id:
            return qs.filter(client_id=client_id).first()
        # An OIDC login without client_id (allowed by the spec) is unambiguous only when the
        # issuer has a single registration.
        found = list(qs[:2])
        return found[0] if len(found) == 1 else None

    def find_registration_by_issuer(self, iss: str, *args, **kwargs) -> Registration | None:  # type: ignore[override]
        platform = self._platform(iss, None)
        return platform_registration(platform) if platform else None

    def find_registration_by_params(  # type: ignore[override]
        self, iss: str, client_id: str, *args, **kwargs
    ) -> Registration | None:
        platform = self._platform(iss, client_id)
        return platform_registration(platform) if platform else None

    def find_deployment(self, iss: str, deployment_id: str) -> PyDeployment | None:
        return None

    def find_deployment_by_params(  # type: ignore[override]
        self, iss: str, deployment_id: str, client_id: str, *args, **kwargs
    ) -> PyDeployment | None:
        if _has_nul(iss, deployment_id, client_id):
            return None
        found = Deployment.objects.filter(
            platform__issuer=iss,
            platform__client_id=client_id,
            platform__is_active=True,
            deployment_id=deployment_id,
            is_active=True,
        ).exists()
        return PyDeployment().set_deployment_id(deployment_id) if found else None


class DbLaunchDataStorage(LaunchDataStorage[t.Any]):
    """pylti1p3 launch data in ``LaunchDataRecord`` rows. Keys are unguessable (state, nonce,
    launch id), so no extra session cookie is needed: cookies are unreliable inside LMS iframes."""

    def get_session_cookie_name(self) -> str | None:
        return None

    def can_set_keys_expiration(self) -> bool:
        return True

    def get_value(self, key: str) -> t.Any:
        if _has_nul(key):
            return None
        row = LaunchDataRecord.objects.filter(key=self._prepare_key(key), expires_at__gt=timezone.now()).first()
        return row.value if row else None

    def set_value(self, key: str, value: t.Any, exp: int | None = None) -> None:
        lifetime = exp if exp else LAUNCH_DATA_LIFETIME_S
        LaunchDataRecord.objects.update_or_create(
            key=self._prepare_key(key),
            defaults={"value": value, "expires_at": timezone.now() + timedelta(seconds=lifetime)},
        )

    def check_value(self, key: str) -> bool:
        if _has_nul(key):
            return False
        return LaunchDataRecord.objects.filter(key=self._prepare_key(key), expires_at__gt=timezone.now()).exists()

    def consume(self, key: str) -> bool:
        """Delete the key; True only for the one caller whose DELETE removed it (atomic in SQL)."""
        if _has_nul(key):
            return False
        deleted, _ = LaunchDataRecord.objects.filter(key=self._prepare_key(key), expires_at__gt=timezone.now()).delete()
        return deleted > 0


def launch_data_purge() -> int:
    deleted, _ = LaunchDataRecord.objects.filter(expires_at__lte=timezone.now()).delete()
    return deleted


class EduaiOIDCLogin(DjangoOIDCLogin):
    def __init__(self, request, tool_config=None):
        storage = DbLaunchDataStorage()
        super().__init__(request, tool_config or DbToolConf(), launch_data_storage=storage)
        self.set_launch_data_storage(storage)
        self.set_launch_data_lifetime(LAUNCH_DATA_LIFETIME_S)

    def redirect(self, launch_url: str, js_redirect: bool = False):
        # pylti1p3 shows its cookie-check page before looking at the registration; refuse an
        # unknown platform first so that it gets a clear 4xx rather than a page of script.
        self.validate_oidc_login()
        return super().redirect(launch_url, js_redirect)


class EduaiMessageLaunch(DjangoMessageLaunch):
    """A launch validated by pylti1p3 plus the checks listed in the module docstring."""

    def __init__(
        self,
        request,
        tool_config=None,
        session_service=None,
        cookie_service=None,
        launch_data_storage=None,
        requests_session=None,
    ):
        storage = launch_data_storage if isinstance(launch_data_storage, DbLaunchDataStorage) else None
        storage = storage or DbLaunchDataStorage()
        django_request = request if isinstance(request, DjangoRequest) else DjangoRequest(request, post_only=True)
        super().__init__(
            django_request,
            tool_config or DbToolConf(),
            session_service=session_service,
            cookie_service=cookie_service,
            launch_data_storage=storage,
            requests_session=requests_session or http_session(),
        )
        self._storage = storage
        self.set_launch_data_lifetime(LAUNCH_DATA_LIFETIME_S)

    def validate_jwt_format(self):
        super().validate_jwt_format()
        # Checked first: the nonce, issuer and deployment lookups would send the values to the
        # database too.
        body = self._jwt.get("body")
        if isinstance(body, dict):
            _drop_nul_from_display_text(body)
        where = _unstorable(body, "")
        if where is not None:
            raise LtiException(f"{UNSTORABLE}: {where or 'the id_token body'}")
        return self

    def validate_nonce(self):
        nonce = self._get_jwt_body().get("nonce")
        if not nonce:
            raise LtiException('"nonce" is empty')
        # Read before the signature is checked: a list here made pylti1p3 raise TypeError (a 500).
        if not isinstance(nonce, str) or not self._session_service.check_nonce(nonce):
            raise LtiException("Invalid Nonce")
        return self

    def validate_registration(self):
        body = self._get_jwt_body()
        aud = body.get("aud")
        audiences = aud if isinstance(aud, list) else [aud]
        # Read before the signature is checked: pylti1p3 takes aud[0] of an empty list (IndexError).
        if not audiences or not all(isinstance(a, str) for a in audiences):
            raise LtiException("Client id not registered for this issuer")
        super().validate_registration()
        client_id = self._registration.get_client_id() if self._registration else None
        if client_id not in audiences:
            raise LtiException("Client id not registered for this issuer")
        if len(audiences) > 1 and body.get("azp") != client_id:
            raise LtiException("Invalid azp: a token with several audiences must name our client id in azp")
        return self

    def validate_message(self):
        # pylti1p3's message validators assume each claim's JSON type ("x" as resource_link, a
        # number as the AGS endpoint): its AttributeError/TypeError would be a 500. They read only
        # the token's body, so such an error can only mean a malformed claim.
        try:
            return super().validate_message()
        except (AttributeError, TypeError, KeyError, IndexError) as exc:
            raise LtiException(f"Malformed claim: {exc}") from exc

    def validate_jwt_signature(self):
        id_token = self._get_id_token()
        public_key, key_alg = self.get_public_key()
        try:
            jwt.decode(
                id_token,
                public_key,
                algorithms=[key_alg],
                leeway=JWT_LEEWAY_S,
                options={"verify_aud": False, "require": ["exp", "iat", "iss", "aud", "nonce"]},
            )
        except jwt.InvalidTokenError as e:
            raise LtiException(f"Can't decode id_token: {e}") from e
        return self

    def fetch_public_key(self, key_set_url: str):
        cache_key = f"eduai-lti-jwks:{key_set_url}"
        cached = cache.get(cache_key)
        kid = self._jwt.get("header", {}).get("kid")
        if cached and any(k.get("kid") == kid for k in cached.get("keys", [])):
            return cached
        try:
            resp = self._requests_session.get(key_set_url)
            resp.raise_for_status()
            key_set = resp.json()
        except (requests.RequestException, ValueError) as e:
            raise LtiException(f"Could not fetch the platform's key set from {key_set_url}: {e}") from e
        if not isinstance(key_set, dict) or not isinstance(key_set.get("keys"), list):
            raise LtiException(f"The platform's key set at {key_set_url} is not a JWKS")
        cache.set(cache_key, key_set, PLATFORM_JWKS_CACHE_S)
        return key_set

    def save_launch_data(self):
        # The last step of validate(): every check passed. Consuming the nonce here (an atomic
        # DELETE) makes the launch single-use even when two copies race.
        nonce = self._get_jwt_body().get("nonce")
        if not self._storage.consume(self._session_service._get_key("nonce", nonce)):
            raise LtiException("Nonce already used")
        return super().save_launch_data()

    def platform(self) -> Platform:
        body = self.get_launch_data()
        return Platform.objects.get(issuer=body["iss"], client_id=self.get_client_id(), is_active=True)


def launch_from_cache(request, launch_id: str) -> EduaiMessageLaunch:
    storage = DbLaunchDataStorage()
    launch = EduaiMessageLaunch.from_cache(
        launch_id,
        DjangoRequest(request, post_only=True),
        DbToolConf(),
        session_service=None,
        cookie_service=None,
        launch_data_storage=storage,
        requests_session=http_session(),
    )
    return t.cast(EduaiMessageLaunch, launch)
