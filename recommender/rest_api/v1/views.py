"""REST API v1 of the recommender, mounted at /api/v1/recommender/.

Access follows the core API's rule: a course you cannot see is 404; a course you can see but an
action your role may not take is 403 (a teacher asking for "my recommendations", a student
opening the question list, a TA pinning); bad input is 400 with a message per field.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from ... import api
from ...models import QuestionStatus
from . import serializers as s


def _int(value: Any, field: str, default: int) -> int:
    if value in (None, ""):
        return default
    try:
        return int(value)
    except (TypeError, ValueError) as exc:
        raise ValidationError({field: _("Expected a whole number.")}) from exc


class _Base(APIView):
    permission_classes = [IsAuthenticated]

    def handle_exception(self, exc: Exception) -> Response:
        if isinstance(exc, DjangoPermissionDenied):
            exc = PermissionDenied(str(exc) or None)
        return super().handle_exception(exc)


def _answer_payload(answer: api.AnswerData) -> dict[str, Any]:
    message = (
        _("Here is what the course materials say.")
        if answer.found
        else _("We could not find an answer in the course materials. You can send your question to your teacher.")
    )
    return {
        "question_id": answer.question_id,
        "found": answer.found,
        "status": answer.status,
        "message": message,
        "language": answer.language,
        "top_score": round(answer.top_score, 4),
        "passages": [{**h.to_json(), "highlighted": h.highlighted} for h in answer.hits] if answer.found else [],
    }


class RecommendationsView(_Base):
    @extend_schema(
        summary="The signed-in student's recommendations in a course",
        parameters=[OpenApiParameter("limit", int, description="1-20, default 10")],
        responses=s.RecommendationListOut,
    )
    def get(self, request: Request, course_id: int) -> Response:
        limit = _int(request.query_params.get("limit"), "limit", 10)
        if not 1 <= limit <= 20:
            raise ValidationError({"limit": _("Choose a limit between 1 and 20.")})
        result = api.recommendations_for(user=request.user, course_id=course_id, limit=limit)
        return Response(
            {
                "course": result.course_id,
                "computed_at": result.computed_at,
                "cold_start": result.cold_start,
                "stale": result.stale,
                "results": [s.RecommendationOut.render(r) for r in result.items],
            }
        )


class AskView(_Base):
    @extend_schema(
        summary="Ask the course: the best passages of the course's resources, or 'not found'",
        request=s.AskIn,
        responses={200: s.AnswerOut},
    )
    def post(self, request: Request, course_id: int) -> Response:
        data = s.AskIn(data=request.data)
        data.is_valid(raise_exception=True)
        answer = api.ask_course(user=request.user, course_id=course_id, text=data.validated_data["question"])
        return Response(_answer_payload(answer))


class QuestionListView(_Base):
    @extend_schema(
        summary="Questions: a student's own, or (staff) the course's",
        parameters=[OpenApiParameter("status", str, enum=QuestionStatus.values)],
        responses=s.QuestionOut(many=True),
    )
    def get(self, request: Request, course_id: int) -> Response:
        wanted = request.query_params.get("status") or None
        if wanted is not None and wanted not in QuestionStatus.values:
            raise ValidationError({"status": _("Unknown status.")})
        _course, role = api.course_for(user=request.user, course_id=course_id)
        context: dict[str, Any] = {}
        if role == "student":
            qs = api.student_questions(user=request.user, course_id=course_id).select_related("student")
            if wanted:
                qs = qs.filter(status=wanted)
            # a student's stored answers quote only resources they may still see, as on the page
            context["askable"] = api.askable_resource_ids(course_id=course_id)
        else:
            qs = api.course_questions(user=request.user, course_id=course_id, status=wanted)
        return Response(s.QuestionOut(qs[:200], many=True, context=context).data)


class QuestionSendView(_Base):
    @extend_schema(summary="Send my question to the teacher", request=None, responses=s.QuestionOut)
    def post(self, request: Request, course_id: int, question_id: int) -> Response:
        question = api.question_send_to_teacher(user=request.user, course_id=course_id, question_id=question_id)
        askable = api.askable_resource_ids(course_id=course_id)  # the sender is the student who asked
        return Response(s.QuestionOut(question, context={"askable": askable}).data)


class QuestionResolveView(_Base):
    @extend_schema(
        summary="Resolve a question (staff), with an optional reply", request=s.ReplyIn, responses=s.QuestionOut
    )
    def post(self, request: Request, course_id: int, question_id: int) -> Response:
        data = s.ReplyIn(data=request.data)
        data.is_valid(raise_exception=True)
        question = api.question_resolve(
            user=request.user, course_id=course_id, question_id=question_id, reply=data.validated_data["reply"]
        )
        return Response(s.QuestionOut(question).data)


class OverridesView(_Base):
    @extend_schema(
        summary="The course's resources with their pin/hide state (staff)", responses=s.OverrideOut(many=True)
    )
    def get(self, request: Request, course_id: int) -> Response:
        return Response(s.OverrideOut(api.course_resources(user=request.user, course_id=course_id), many=True).data)

    @extend_schema(
        summary="Pin, hide or clear a resource (teachers)", request=s.OverrideIn, responses=s.OverrideOut(many=True)
    )
    def post(self, request: Request, course_id: int) -> Response:
        data = s.OverrideIn(data=request.data)
        data.is_valid(raise_exception=True)
        api.override_set(
            user=request.user,
            course_id=course_id,
            resource_id=data.validated_data["resource"],
            action=data.validated_data["action"],
            note=data.validated_data["note"],
        )
        return Response(s.OverrideOut(api.course_resources(user=request.user, course_id=course_id), many=True).data)
