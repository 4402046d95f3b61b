"""REST API v1 of the review loop: thin views that validate, call one service or selector, render.

Access (``eduai.courses.access`` through the selectors): the queue, a review item, decisions and
agreement figures belong to the course's teachers, TAs and school admins; anyone else gets 404
(the API never confirms that work it may not see exists). A released grade is readable by its
author and the course's staff. A decision on a submission someone else decided since you read
it is 409 Conflict (send the ``revision`` you saw); rubric errors are 400 with the reason.
In an archived course everything stays readable, and only its school's admins accept, override
or release (403 for its teachers and TAs; ``access.archived_read_only``, as /api/v1/grading/).
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import APIException, PermissionDenied
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from eduai.courses import access

from ... import selectors, services
from . import serializers as s


class Conflict(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The submission changed since you read it; read it again."
    default_code = "conflict"


def _user_id(request) -> int:
    """The signed-in user's id (views here require a login; anonymous never reaches a service)."""
    pk = request.user.pk
    if pk is None:
        raise PermissionDenied
    return int(pk)


def _choice(data: dict[str, Any]) -> services.ReleaseChoice:
    keys = data.get("feedback")
    return services.ReleaseChoice(
        release=bool(data.get("release", True)),
        feedback_keys=None if keys is None else frozenset(keys),
        evidence=bool(data.get("evidence", False)),
    )


class ReviewView(APIView):
    permission_classes = [IsAuthenticated]


class QueueView(ReviewView):
    @extend_schema(
        summary="Scored work waiting for review (least confident first)",
        parameters=[s.QueueQuerySerializer],
        responses={200: s.QueuePageSerializer, 404: OpenApiResponse(description="Not a course you teach.")},
    )
    def get(self, request: Request, course_id: int) -> Response:
        q = s.QueueQuerySerializer(data=request.query_params)
        q.is_valid(raise_exception=True)
        d = q.validated_data
        page = selectors.review_queue(
            user=request.user, course_id=course_id, assignment_id=d.get("assignment"), status=d["status"],
            page=d["page"], page_size=d["page_size"],
        )  # fmt: skip
        return Response(s.QueuePageSerializer(page).data)


class ItemView(ReviewView):
    @extend_schema(
        summary="One submission with its proposal and evidence",
        description="Computes (and caches) the sentence attribution on first read.",
        responses={200: s.ReviewItemSerializer, 404: OpenApiResponse(description="Not in a course you teach.")},
    )
    def get(self, request: Request, submission_id: int) -> Response:
        return Response(
            s.ReviewItemSerializer(selectors.review_item(user=request.user, submission_id=submission_id)).data
        )


class _DecisionView(ReviewView):
    def run(self, request: Request, submission_id: int, serializer_class, call) -> Response:
        sub = selectors.staff_submission(user=request.user, submission_id=submission_id)
        if access.archived_read_only(request.user, sub.assignment.course):
            raise PermissionDenied(access.ARCHIVED_READ_ONLY)
        body = serializer_class(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            result = call(sub.pk, body.validated_data)
        except services.ReviewConflict as exc:
            raise Conflict(str(exc)) from exc
        return Response(s.DecisionResultSerializer(result).data)


_DECISION_RESPONSES = {
    200: s.DecisionResultSerializer,
    400: OpenApiResponse(description="Invalid score, trait or proposal."),
    403: OpenApiResponse(description="The course is archived: only its school's admins decide."),
    404: OpenApiResponse(description="Not in a course you teach."),
    409: OpenApiResponse(description="Decided by someone else since the revision you sent."),
}


class AcceptView(_DecisionView):
    @extend_schema(summary="Accept the model's proposal", request=s.AcceptSerializer, responses=_DECISION_RESPONSES)
    def post(self, request: Request, submission_id: int) -> Response:
        def call(sid: int, d: dict) -> Any:
            return services.review_accept(
                submission_id=sid, user_id=_user_id(request), prediction_id=d["prediction"],
                expected_revision=d.get("revision"), choice=_choice(d), comment=d.get("comment", ""),
            )  # fmt: skip

        return self.run(request, submission_id, s.AcceptSerializer, call)


class OverrideView(_DecisionView):
    @extend_schema(summary="Set the teacher's own score", request=s.OverrideSerializer, responses=_DECISION_RESPONSES)
    def post(self, request: Request, submission_id: int) -> Response:
        def call(sid: int, d: dict) -> Any:
            return services.review_override(
                submission_id=sid, user_id=_user_id(request), score=d["score"], trait_scores=d.get("trait_scores"),
                comment=d.get("comment", ""), model_mistake=d.get("model_mistake", False),
                prediction_id=d.get("prediction"), expected_revision=d.get("revision"), choice=_choice(d),
            )  # fmt: skip

        return self.run(request, submission_id, s.OverrideSerializer, call)


class ReleaseView(_DecisionView):
    @extend_schema(summary="Release a decided grade", request=s.ReleaseSerializer, responses=_DECISION_RESPONSES)
    def post(self, request: Request, submission_id: int) -> Response:
        def call(sid: int, d: dict) -> Any:
            return services.grade_release(submission_id=sid, user_id=_user_id(request), choice=_choice(d))

        return self.run(request, submission_id, s.ReleaseSerializer, call)


class EventsView(ReviewView):
    @extend_schema(summary="Audit trail of a submission", responses={200: s.EventSerializer(many=True)})
    def get(self, request: Request, submission_id: int) -> Response:
        sub = selectors.staff_submission(user=request.user, submission_id=submission_id)
        return Response(s.EventSerializer(selectors.events_for(submission_id=sub.pk), many=True).data)


class ReleasedView(ReviewView):
    @extend_schema(
        summary="What the student sees of a submission",
        description="Released score, feedback and evidence only; nothing of an unreleased proposal.",
        responses={200: s.ReleasedGradeSerializer, 404: OpenApiResponse(description="Not yours, not your course.")},
    )
    def get(self, request: Request, submission_id: int) -> Response:
        grade = selectors.released_grade(user=request.user, submission_id=submission_id)
        return Response(s.ReleasedGradeSerializer(grade).data)


class CourseAgreementView(ReviewView):
    @extend_schema(
        summary="Agreement, fairness and drift of a course",
        parameters=[OpenApiParameter("detail", bool, description="Include subgroups, length bands and drift.")],
        responses={200: s.AgreementReportSerializer},
    )
    def get(self, request: Request, course_id: int) -> Response:
        detail = request.query_params.get("detail", "true").lower() not in {"0", "false", "no"}
        report = selectors.agreement_for_course(user=request.user, course_id=course_id, detail=detail)
        return Response(s.AgreementReportSerializer(report).data)


class AssignmentAgreementView(ReviewView):
    @extend_schema(
        summary="Agreement, fairness and drift of an assignment", responses={200: s.AgreementReportSerializer}
    )
    def get(self, request: Request, assignment_id: int) -> Response:
        report = selectors.agreement_for_assignment(user=request.user, assignment_id=assignment_id)
        return Response(s.AgreementReportSerializer(report).data)
