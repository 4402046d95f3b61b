"""LTI endpoints: OIDC login, launch, JWKS, deep-linking response, dynamic registration.

Views validate (pylti1p3 does the protocol), call one service, and answer. Every refusal is a
4xx page with a reason the LMS admin can act on; nothing is created by a refused launch.

Pages here are framed by LMSs, so they are exempt from X-Frame-Options, and POSTs from the LMS
are CSRF-exempt: their authenticity is the platform's signature (launch), or an unguessable,
single-use launch id kept server-side (deep-linking form), not a cookie an iframe may not carry.
"""

from __future__ import annotations

import logging
from urllib.parse import urlparse

from django.contrib.auth import get_user_model, login
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from pylti1p3.deep_link_resource import DeepLinkResource
from pylti1p3.exception import LtiException, OIDCException

from eduai.courses.api import access
from eduai.courses.models import STAFF_ROLES, Assignment, Course, Role

from . import selectors, services
from .keys import tool_jwks
from .models import LtiUser
from .roles import role_from_lti
from .tool import UNSTORABLE, EduaiMessageLaunch, EduaiOIDCLogin, launch_from_cache

logger = logging.getLogger(__name__)

DEEP_LINKING = "LtiDeepLinkingRequest"
SUBMISSION_REVIEW = "LtiSubmissionReviewRequest"
RESOURCE_LINK = "LtiResourceLinkRequest"

# pylti1p3's terse messages -> (status, what the LMS admin should know). Matched by prefix.
_REASONS: list[tuple[str, int, str]] = [
    ("Missing state", 400, gettext_noop("The launch carries no OIDC state. Start the launch from the LMS again.")),
    (
        "State not found",
        400,
        gettext_noop(
            "The login state does not match this browser (cookies blocked inside the LMS frame, or the "
            "launch was opened in another window). Start again from the LMS, or open EduAI in a new window."
        ),
    ),
    ("Missing id_token", 400, gettext_noop("The launch carries no id_token.")),
    ("Invalid id_token", 400, gettext_noop("The id_token is not a JWT.")),
    ("Invalid JWT format", 400, gettext_noop("The id_token is not a JWT.")),
    ('"nonce" is empty', 400, gettext_noop("The id_token has no nonce.")),
    (
        "Invalid Nonce",
        400,
        gettext_noop(
            "The id_token's nonce is unknown to EduAI: already used (a replayed launch), expired, or not issued "
            "by EduAI's login step. Start again from the LMS."
        ),
    ),
    (
        "Nonce already used",
        400,
        gettext_noop("This launch was already used (a replayed id_token). Start again from the LMS."),
    ),
    ('"iss" is empty', 400, gettext_noop("The id_token has no issuer.")),
    (
        "Registration not found",
        403,
        gettext_noop("Unknown platform: no active registration for this issuer and client id."),
    ),
    (
        "Client id not registered",
        403,
        gettext_noop("The id_token's audience is not EduAI's client id for this issuer."),
    ),
    ("Invalid azp", 403, gettext_noop("The id_token has several audiences but its azp is not EduAI's client id.")),
    ("Can't decode id_token: Signature has expired", 400, gettext_noop("The id_token has expired.")),
    (
        "Can't decode id_token: Signature verification failed",
        403,
        gettext_noop("The id_token's signature is not valid."),
    ),
    ("Can't decode id_token: Token is missing the", 400, gettext_noop("The id_token lacks a required claim.")),
    ("Can't decode id_token", 400, gettext_noop("The id_token could not be verified.")),
    ("Unable to find public key", 403, gettext_noop("The platform's key set has no key matching the id_token's kid.")),
    ("Could not fetch the platform's key set", 502, gettext_noop("EduAI could not fetch the platform's key set.")),
    ("JWT KID not found", 400, gettext_noop("The id_token header has no kid.")),
    (
        "Unable to find deployment",
        403,
        gettext_noop("Unknown deployment id for this platform: register it in EduAI's admin."),
    ),
    ("Must have a user", 400, gettext_noop("The launch lacks a required claim: sub (the user).")),
    ("Incorrect version", 400, gettext_noop("The launch is not LTI 1.3.0 (version claim).")),
    ("Missing Roles Claim", 400, gettext_noop("The launch lacks a required claim: roles.")),
    ("Missing Resource Link Id", 400, gettext_noop("The launch lacks a required claim: resource_link.id.")),
    ("Missing Deep Linking", 400, gettext_noop("The deep-linking launch lacks its deep_linking_settings claim.")),
    (
        "Must support resource link",
        400,
        gettext_noop("The platform does not accept LTI resource links in deep linking."),
    ),
    ("Invalid message type", 400, gettext_noop("The launch lacks a required claim: message_type.")),
    ("Unrecognized message type", 400, gettext_noop("EduAI does not handle this LTI message type.")),
    (
        "Malformed claim",
        400,
        gettext_noop("A claim of the launch has the wrong type (for example text where an object belongs)."),
    ),
    (
        UNSTORABLE,
        400,
        gettext_noop(
            "A claim of the launch holds a value EduAI cannot store (a NUL character, a lone surrogate, "
            "Infinity or NaN); only names and titles may contain NUL characters, which are dropped."
        ),
    ),
    ("Launch data not found", 400, gettext_noop("This page expired (or was already used). Start again from the LMS.")),
]


def _refused(request: HttpRequest, message: str, status: int, detail: str = "") -> HttpResponse:
    logger.info("LTI refused (%s): %s %s", status, message, detail)
    return render(request, "lti/refused.html", {"message": message, "detail": detail, "status": status}, status=status)


def _refused_lti(request: HttpRequest, exc: Exception) -> HttpResponse:
    raw = str(exc)
    for prefix, status, message in _REASONS:
        if raw.startswith(prefix):
            return _refused(request, _(message), status, raw)
    return _refused(request, _("The LTI launch was refused."), 400, raw)


def _tool_urls(request: HttpRequest) -> dict[str, str]:
    launch = request.build_absolute_uri(reverse("lti:launch"))
    return {
        "login": request.build_absolute_uri(reverse("lti:login")),
        "launch": launch,
        "jwks": request.build_absolute_uri(reverse("lti:jwks")),
        "domain": urlparse(launch).netloc,
        "name": "EduAI",
    }


@csrf_exempt
@xframe_options_exempt
@require_http_methods(["GET", "POST"])
def oidc_login(request: HttpRequest) -> HttpResponse:
    """Third-party initiated login: answer with a redirect to the platform's auth endpoint."""
    try:
        oidc = EduaiOIDCLogin(request)
        # Inside an LMS frame with third-party cookies blocked, offer a new window instead of
        # failing later with "state not found".
        oidc.enable_check_cookies()
        return oidc.redirect(request.build_absolute_uri(reverse("lti:launch")))
    except OIDCException as exc:
        reason = {
            "Could not find issuer": _("The login request has no issuer (iss)."),
            "Could not find login hint": _("The login request has no login_hint."),
            "Could not find registration details": _(
                "Unknown platform: no active registration for this issuer and client id."
            ),
        }.get(str(exc), _("The LTI login was refused."))
        return _refused(request, reason, 403 if "registration" in str(exc) else 400, str(exc))


@require_GET
def jwks(request: HttpRequest) -> JsonResponse:
    response = JsonResponse(tool_jwks())
    # Short: a key staged for rotation reaches platforms within minutes.
    response["Cache-Control"] = "public, max-age=300"
    return response


@csrf_exempt
@xframe_options_exempt
@require_POST
def launch(request: HttpRequest) -> HttpResponse:
    message = EduaiMessageLaunch(request)
    try:
        claims = dict(message.get_launch_data())
        platform = message.platform()
    except (LtiException, OIDCException) as exc:
        return _refused_lti(request, exc)
    try:
        result = services.launch_apply(platform_id=platform.pk, claims=claims)
    except services.LtiRefused as exc:
        return _refused(request, exc.message, exc.status)
    except ValidationError as exc:
        return _refused(request, _("The launch could not be applied."), 400, "; ".join(exc.messages))
    user = get_user_model().objects.get(pk=result.user_id)
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    staff = result.role in STAFF_ROLES

    if result.message_type == DEEP_LINKING:
        if not staff:
            return _refused(request, _("Only instructors can add EduAI content to a course."), 403)
        return _deep_link_page(request, message.get_launch_id(), result.course_id, user)
    if result.message_type == SUBMISSION_REVIEW:
        if not staff:
            return _refused(request, _("Only instructors can open the review of a student's work."), 403)
        try:
            submission_id = services.review_target_submission_id(
                platform_id=platform.pk, claims=claims, assignment_id=result.assignment_id
            )
        except services.LtiRefused as exc:
            return _refused(request, exc.message, exc.status)
        return HttpResponseRedirect(
            selectors.submission_review_url(course_id=result.course_id, submission_id=submission_id)
        )
    if staff:
        return HttpResponseRedirect(selectors.review_queue_url(course_id=result.course_id))
    if result.assignment_id:
        return HttpResponseRedirect(
            selectors.assignment_url(course_id=result.course_id, assignment_id=result.assignment_id)
        )
    return HttpResponseRedirect(selectors.course_url(result.course_id))


def _create_refusal(user, course: Course) -> str:
    """Why ``user`` may not create a new assignment through deep linking, or "" if they may.

    Creating one changes the course's setup, so it follows the REST API's rule (``access.can_manage``):
    the course's teachers and school admins, not its TAs; in an archived course, its school's admins
    only (docs/courses.md). Picking an existing assignment is open to every instructor, TAs included.
    """
    if not access.can_manage(user, course):
        return _("Only the course's teachers and school admins can create assignments in it.")
    if access.archived_read_only(user, course):
        return _("This course is archived in EduAI: only the school's admins can add assignments to it.")
    return ""


def _deep_link_page(request: HttpRequest, launch_id: str, course_id: int, user, form_errors=None, status=200):
    course = Course.objects.get(pk=course_id)
    assignments = Assignment.objects.filter(course_id=course_id).order_by("title", "id")
    return render(
        request,
        "lti/deep_link.html",
        {
            "launch_id": launch_id,
            "can_create": not _create_refusal(user, course),
            "archived": not course.is_active,
            "assignments": assignments,
            "errors": form_errors or [],
            "post": request.POST if form_errors else {},
        },
        status=status,
    )


def _int(value: str | None, name: str, errors: list[str]) -> int:
    try:
        return int(value or "")
    except ValueError:
        errors.append(_("%(field)s must be a whole number.") % {"field": name})
        return 0


@csrf_exempt
@xframe_options_exempt
@require_POST
def deep_link_respond(request: HttpRequest, launch_id: str) -> HttpResponse:
    """The instructor picked (or created) an assignment: return it to the LMS as a content item."""
    try:
        message = launch_from_cache(request, launch_id)
        claims = dict(message.get_launch_data())
    except (LtiException, OIDCException) as exc:
        return _refused_lti(request, exc)
    if claims.get(services.MESSAGE_TYPE) != DEEP_LINKING:
        return _refused(request, _("This page only answers deep-linking launches."), 400)
    roles = claims.get(services.ROLES)
    if role_from_lti(roles if isinstance(roles, list) else []) not in (Role.TEACHER, Role.TA):
        return _refused(request, _("Only instructors can add EduAI content to a course."), 403)
    platform = message.platform()
    context_claim = claims.get(services.CONTEXT)
    context_id = context_claim.get("id", "") if isinstance(context_claim, dict) else ""
    context = platform.contexts.select_related("course").filter(context_id=context_id).first()
    if context is None:
        return _refused(request, _("This launch has no course."), 400)
    lti_user = LtiUser.objects.select_related("user").filter(platform=platform, sub=claims.get("sub")).first()
    user = lti_user.user if lti_user else None  # None: nobody's admin, so an archived course stays closed

    errors: list[str] = []
    assignment = None
    creating = request.POST.get("action") == "create"
    refusal = _create_refusal(user, context.course) if creating else ""
    if refusal:
        return _refused(request, refusal, 403)
    if creating:
        title = (request.POST.get("title") or "").strip()
        prompt = (request.POST.get("prompt") or "").strip()
        min_score = _int(request.POST.get("min_score"), _("Lowest score"), errors)
        max_score = _int(request.POST.get("max_score"), _("Highest score"), errors)
        if not title or len(title) > 200:
            errors.append(_("Give the assignment a title (at most 200 characters)."))
        if not prompt:
            errors.append(_("Give the assignment a prompt."))
        if not errors and max_score <= min_score:
            errors.append(_("The highest score must be above the lowest score."))
    else:
        raw = request.POST.get("assignment") or ""
        assignment = (
            # isascii: "²".isdigit() is true but int("²") fails.
            Assignment.objects.filter(pk=int(raw), course_id=context.course_id).first()
            if raw.isascii() and raw.isdigit()
            else None
        )
        if assignment is None:
            errors.append(_("Pick an assignment of this course."))
    if errors:
        return _deep_link_page(request, launch_id, context.course_id, user, errors, status=400)

    # Single use, claimed before any write: a second POST with this launch id creates nothing.
    if not message._storage.consume(launch_id):
        return _refused(request, _("This page expired (or was already used). Start again from the LMS."), 400)
    if creating:
        try:
            assignment = services.deep_link_assignment_create(
                course_id=context.course_id, title=title, prompt=prompt, min_score=min_score, max_score=max_score
            )
        except ValidationError as exc:
            return _refused(request, _("The assignment could not be created."), 400, "; ".join(exc.messages))
    assert assignment is not None  # picked, or created above
    urls = _tool_urls(request)
    resource = (
        DeepLinkResource()
        .set_url(urls["launch"])
        .set_title(assignment.title[:200])
        .set_custom_params({services.CUSTOM_ASSIGNMENT: str(assignment.pk)})
        .set_lineitem(services.deep_link_line_item(assignment=assignment, review_url=urls["launch"]))
    )
    deep_link = message.get_deep_link()
    jwt_value = deep_link.get_response_jwt([resource])
    settings_claim = claims.get(services.DEEP_LINKING_SETTINGS)
    return_url = settings_claim.get("deep_link_return_url", "") if isinstance(settings_claim, dict) else ""
    if not str(return_url).startswith(("https://", "http://")):
        return _refused(request, _("The platform's deep-linking return URL is not an http(s) URL."), 400)
    return render(request, "lti/deep_link_return.html", {"return_url": return_url, "jwt": jwt_value})


@xframe_options_exempt
@require_GET
def dynamic_register(request: HttpRequest, token: str) -> HttpResponse:
    """LTI Dynamic Registration: the LMS opens this URL (from an EduAI invite) in a frame."""
    openid_configuration = request.GET.get("openid_configuration", "")
    if not openid_configuration:
        return _refused(request, _("The registration request has no openid_configuration parameter."), 400)
    try:
        platform = services.platform_register_dynamic(
            token=token,
            openid_configuration_url=openid_configuration,
            registration_token=request.GET.get("registration_token", ""),
            tool=_tool_urls(request),
        )
    except services.LtiRefused as exc:
        return _refused(request, exc.message, exc.status)
    return render(request, "lti/registered.html", {"platform": platform})


@require_GET
def canvas_config(request: HttpRequest) -> JsonResponse:
    """Canvas developer-key JSON ("Enter URL"): placements for deep linking and the gradebook."""
    urls = _tool_urls(request)
    deep = {"message_type": DEEP_LINKING, "target_link_uri": urls["launch"]}
    return JsonResponse(
        {
            "title": "EduAI",
            "description": "Transformer-assisted grading with teacher review, mastery and recommendations.",
            "oidc_initiation_url": urls["login"],
            "target_link_uri": urls["launch"],
            "public_jwk_url": urls["jwks"],
            "scopes": services.TOOL_SCOPES,
            "extensions": [
                {
                    "platform": "canvas.instructure.com",
                    "privacy_level": "public",
                    "domain": urls["domain"],
                    "settings": {
                        "placements": [
                            {"placement": "assignment_selection", **deep},
                            {"placement": "link_selection", **deep},
                            {
                                "placement": "course_navigation",
                                "message_type": RESOURCE_LINK,
                                "target_link_uri": urls["launch"],
                                "windowTarget": "_blank",
                            },
                        ]
                    },
                }
            ],
            "custom_fields": {},
        }
    )
