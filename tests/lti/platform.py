"""A simulated LTI 1.3 platform for the tests: a real HTTP server on 127.0.0.1 in a thread.

It has its own RSA key and JWKS, an OIDC flow driven through Django's test client, an OAuth 2
token endpoint that verifies EduAI's signed client assertion against EduAI's published JWKS,
AGS line-item and score endpoints, and an NRPS memberships endpoint (paged, two per page).
``down = True`` makes every endpoint answer 503, as a platform under maintenance does.

The server thread never touches the database (the test's transaction is not visible to it):
the test hands it EduAI's JWKS with ``learn_tool_keys``.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from functools import lru_cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwcrypto.jwk import JWK

LTI = "https://purl.imsglobal.org/spec/lti/claim/"
AGS_CLAIM = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"
NRPS_CLAIM = "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice"
DL_SETTINGS = "https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings"
DL_ITEMS = "https://purl.imsglobal.org/spec/lti-dl/claim/content_items"
INSTRUCTOR = "http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor"
LEARNER = "http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"
TA = "http://purl.imsglobal.org/vocab/lis/v2/membership/Instructor#TeachingAssistant"
MENTOR = "http://purl.imsglobal.org/vocab/lis/v2/membership#Mentor"
SCOPES = [
    "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem",
    "https://purl.imsglobal.org/spec/lti-ags/scope/result.readonly",
    "https://purl.imsglobal.org/spec/lti-ags/scope/score",
]


@lru_cache(maxsize=4)
def rsa_pem(n: int) -> str:
    """RSA keys are slow to make (about 50 ms each): one per index per test session."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def public_jwk(private_pem: str, kid: str) -> dict[str, Any]:
    data = json.loads(JWK.from_pem(private_pem.encode()).export_public())
    data.update({"kid": kid, "alg": "RS256", "use": "sig"})
    return data


class SimPlatform:
    client_id = "eduai-client-42"
    deployment_id = "deployment-1"

    def __init__(self) -> None:
        self.private_pem = rsa_pem(0)
        self.kid = "platform-key-1"
        self.down = False
        self.tool_jwks: dict[str, Any] = {"keys": []}
        self.tokens: dict[str, list[str]] = {}
        self.token_requests: list[dict[str, Any]] = []
        self.lineitems: dict[str, dict[str, Any]] = {}
        self.scores: list[dict[str, Any]] = []
        self.members: dict[str, list[dict[str, Any]]] = {}
        self.resource_links: dict[str, dict[str, Any]] = {}
        self.registrations: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.issuer = self.base
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    # --- registration in EduAI -------------------------------------------------------------
    @property
    def auth_login_url(self) -> str:
        return self.base + "/auth"

    @property
    def token_url(self) -> str:
        return self.base + "/token"

    @property
    def jwks_url(self) -> str:
        return self.base + "/jwks"

    def register(self, school) -> Any:
        from eduai.lti.models import Deployment, Platform

        platform = Platform.objects.create(
            name="Sim LMS",
            school=school,
            issuer=self.issuer,
            client_id=self.client_id,
            auth_login_url=self.auth_login_url,
            auth_token_url=self.token_url,
            key_set_url=self.jwks_url,
        )
        Deployment.objects.create(platform=platform, deployment_id=self.deployment_id)
        return platform

    def learn_tool_keys(self, client) -> None:
        self.tool_jwks = client.get("/lti/jwks/").json()

    # --- tokens the platform signs ------------------------------------------------------------
    def jwks(self) -> dict[str, Any]:
        return {"keys": [public_jwk(self.private_pem, self.kid)]}

    def sign(self, claims: dict[str, Any], *, private_pem: str | None = None, kid: str | None = None) -> str:
        return jwt.encode(claims, private_pem or self.private_pem, algorithm="RS256", headers={"kid": kid or self.kid})

    def context_claim(self, context_id: str) -> dict[str, Any]:
        return {"id": context_id, "label": "ENG101", "title": "English Composition", "type": ["CourseOffering"]}

    def claims(
        self,
        *,
        nonce: str,
        sub: str,
        roles: list[str],
        context_id: str = "ctx-1",
        message_type: str = "LtiResourceLinkRequest",
        resource_link_id: str | None = "rl-1",
        custom: dict[str, str] | None = None,
        lineitem: str | None = None,
        name: str = "Ada Lovelace",
        email: str = "ada@example.org",
        extra: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        now = int(time.time())
        body: dict[str, Any] = {
            "iss": self.issuer,
            "aud": self.client_id,
            "sub": sub,
            "iat": now,
            "exp": now + 300,
            "nonce": nonce,
            "name": name,
            "given_name": name.split()[0],
            "family_name": name.split()[-1],
            "email": email,
            LTI + "message_type": message_type,
            LTI + "version": "1.3.0",
            LTI + "deployment_id": self.deployment_id,
            LTI + "target_link_uri": "http://testserver/lti/launch/",
            LTI + "roles": roles,
            LTI + "context": self.context_claim(context_id),
            AGS_CLAIM: {"scope": SCOPES, "lineitems": f"{self.base}/ctx/{context_id}/lineitems"},
            NRPS_CLAIM: {
                "context_memberships_url": f"{self.base}/ctx/{context_id}/memberships",
                "service_versions": ["2.0"],
            },
        }
        if lineitem:
            body[AGS_CLAIM]["lineitem"] = lineitem
        if resource_link_id and message_type != "LtiDeepLinkingRequest":
            body[LTI + "resource_link"] = {"id": resource_link_id, "title": "Essay link"}
        if custom:
            body[LTI + "custom"] = custom
        if message_type == "LtiDeepLinkingRequest":
            body[DL_SETTINGS] = {
                "deep_link_return_url": self.base + "/deep-link-return",
                "accept_types": ["ltiResourceLink"],
                "accept_presentation_document_targets": ["iframe", "window"],
                "accept_multiple": False,
                "data": "platform-opaque-data",
            }
        body.update(extra or {})
        return body

    # --- the OIDC dance through Django's test client --------------------------------------------
    def login(self, client, *, login_hint: str = "hint") -> tuple[str, str]:
        resp = client.post(
            "/lti/login/",
            {
                "iss": self.issuer,
                "login_hint": login_hint,
                "target_link_uri": "http://testserver/lti/launch/",
                "client_id": self.client_id,
                "lti_deployment_id": self.deployment_id,
                "lti1p3_new_window": "1",
            },
        )
        assert resp.status_code == 302, resp.content[:500]
        location = urlparse(resp["Location"])
        assert location.geturl().startswith(self.auth_login_url)
        query = parse_qs(location.query)
        assert query["redirect_uri"] == ["http://testserver/lti/launch/"]
        return query["state"][0], query["nonce"][0]

    def launch(self, client, *, mutate=None, token: str | None = None, **claim_args):
        """Log in, then post a signed id_token to EduAI's launch URL; returns the response."""
        state, nonce = self.login(client)
        claims = self.claims(nonce=nonce, **claim_args)
        if mutate:
            claims = mutate(claims) or claims
        return client.post("/lti/launch/", {"id_token": token or self.sign(claims), "state": state})

    # --- what the platform does with a deep-linking answer ---------------------------------------
    def accept_deep_link(self, response_html: str, context_id: str = "ctx-1") -> dict[str, Any]:
        """Read the auto-posted JWT, verify it with EduAI's JWKS, create the link and column."""
        import re

        match = re.search(r'name="JWT" value="([^"]+)"', response_html)
        assert match, "no JWT in the deep-linking answer"
        token = match.group(1)
        kid = jwt.get_unverified_header(token)["kid"]
        key = next(k for k in self.tool_jwks["keys"] if k["kid"] == kid)
        body = jwt.decode(
            token,
            jwt.PyJWK(key).key,
            algorithms=["RS256"],
            audience=self.issuer,
            issuer=self.client_id,
        )
        assert body[LTI + "message_type"] == "LtiDeepLinkingResponse"
        assert body["https://purl.imsglobal.org/spec/lti-dl/claim/data"] == "platform-opaque-data"
        (item,) = body[DL_ITEMS]
        with self.lock:
            n = len(self.lineitems) + 1
            url = f"{self.base}/ctx/{context_id}/lineitems/{n}"
            self.lineitems[url] = {"id": url, **item["lineItem"], "resourceLinkId": f"rl-{n}"}
            link = {"id": f"rl-{n}", "custom": item.get("custom", {}), "lineitem": url, "item": item}
            self.resource_links[link["id"]] = link
        return link

    def scores_for(self, lineitem_url: str) -> list[dict[str, Any]]:
        with self.lock:
            return [s["body"] for s in self.scores if s["lineitem"] == lineitem_url]

    # --- request handling (server thread) -------------------------------------------------------
    def _verify_assertion(self, assertion: str) -> str | None:
        try:
            kid = jwt.get_unverified_header(assertion).get("kid")
            key = next(k for k in self.tool_jwks["keys"] if k["kid"] == kid)
            body = jwt.decode(
                assertion, jwt.PyJWK(key).key, algorithms=["RS256"], audience=self.token_url, issuer=self.client_id
            )
        except (StopIteration, jwt.InvalidTokenError) as e:
            return f"bad client assertion: {e!r}"
        if body.get("sub") != self.client_id:
            return "sub must be the client id"
        return None

    def handle(self, method: str, path: str, query: dict[str, list[str]], headers, body: bytes):
        if self.down:
            return 503, {"error": "maintenance"}, {}
        if method == "GET" and path == "/jwks":
            return 200, self.jwks(), {}
        if method == "POST" and path == "/token":
            form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
            self.token_requests.append(form)
            if form.get("grant_type") != "client_credentials":
                return 400, {"error": "unsupported_grant_type"}, {}
            problem = self._verify_assertion(form.get("client_assertion", ""))
            if problem:
                return 401, {"error": "invalid_client", "error_description": problem}, {}
            token = uuid.uuid4().hex
            self.tokens[token] = form.get("scope", "").split()
            return 200, {"access_token": token, "token_type": "Bearer", "expires_in": 3600}, {}
        if method == "GET" and path == "/.well-known/openid-configuration":
            return 200, self.openid_configuration(), {}
        if method == "POST" and path == "/register":
            if headers.get("Authorization") != "Bearer reg-token-1":
                return 401, {"error": "bad registration token"}, {}
            reg = json.loads(body)
            self.registrations.append(reg)
            return (
                200,
                {
                    **reg,
                    "client_id": "dyn-client-7",
                    "https://purl.imsglobal.org/spec/lti-tool-configuration": {
                        **reg["https://purl.imsglobal.org/spec/lti-tool-configuration"],
                        "deployment_id": "dyn-deployment-1",
                    },
                },
                {},
            )
        auth = headers.get("Authorization", "")
        scopes = self.tokens.get(auth.removeprefix("Bearer "))
        if scopes is None:
            return 401, {"error": "no or unknown access token"}, {}
        parts = path.strip("/").split("/")
        if len(parts) >= 3 and parts[0] == "ctx" and parts[2] == "memberships":
            members = self.members.get(parts[1], [])
            page = int(query.get("page", ["0"])[0])
            chunk = members[page * 2 : page * 2 + 2]
            extra = {}
            if page * 2 + 2 < len(members):
                extra["Link"] = f'<{self.base}{path}?{urlencode({"page": page + 1})}>; rel="next"'
            return 200, {"id": path, "context": {"id": parts[1]}, "members": chunk}, extra
        if len(parts) == 3 and parts[0] == "ctx" and parts[2] == "lineitems":
            url = f"{self.base}/ctx/{parts[1]}/lineitems"
            if method == "GET":
                with self.lock:
                    return 200, [li for k, li in self.lineitems.items() if k.startswith(url + "/")], {}
            item = json.loads(body)
            with self.lock:
                new = f"{url}/{len(self.lineitems) + 1}"
                self.lineitems[new] = {**item, "id": new}
                return 201, self.lineitems[new], {}
        if len(parts) == 5 and parts[2] == "lineitems" and parts[4] == "scores" and method == "POST":
            if "https://purl.imsglobal.org/spec/lti-ags/scope/score" not in scopes:
                return 403, {"error": "score scope not granted"}, {}
            if headers.get("Content-Type") != "application/vnd.ims.lis.v1.score+json":
                return 415, {"error": "wrong content type"}, {}
            lineitem = f"{self.base}/{'/'.join(parts[:4])}"
            with self.lock:
                if lineitem not in self.lineitems:
                    return 404, {"error": "no such line item"}, {}
                self.scores.append({"lineitem": lineitem, "body": json.loads(body)})
            return 200, {}, {}
        return 404, {"error": f"no route {method} {path}"}, {}

    def openid_configuration(self) -> dict[str, Any]:
        return {
            "issuer": self.issuer,
            "authorization_endpoint": self.auth_login_url,
            "token_endpoint": self.token_url,
            "jwks_uri": self.jwks_url,
            "registration_endpoint": self.base + "/register",
            "scopes_supported": [*SCOPES, "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly"],
            "https://purl.imsglobal.org/spec/lti-platform-configuration": {
                "product_family_code": "simlms",
                "version": "1.0",
                "messages_supported": [{"type": "LtiResourceLinkRequest"}, {"type": "LtiDeepLinkingRequest"}],
            },
        }


def _handler(platform: SimPlatform):
    class Handler(BaseHTTPRequestHandler):
        def _serve(self, method: str) -> None:
            url = urlparse(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            status, payload, extra = platform.handle(method, url.path, parse_qs(url.query), self.headers, body)
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for k, v in extra.items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            self._serve("GET")

        def do_POST(self) -> None:
            self._serve("POST")

        def log_message(self, *args) -> None:  # keep test output clean
            pass

    return Handler
