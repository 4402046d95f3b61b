"""REST API v1 of grading, mounted at /api/v1/grading/.

Access (``eduai.courses.access``, the same rule as the core API):
- ``GET predictions/`` and ``predictions/{id}/``: teachers, TAs and admins see the predictions of
  their courses' submissions; a student sees those of their own submissions only once released.
  Filters: ``?submission=``, ``?assignment=``.
- ``GET assignments/{id}/models/``: the model registry of an assignment; staff of its course only.
- ``POST assignments/{id}/train/`` ``{"method": "fast"|"finetune"}``: train now, as a task on the
  inference queue (202); teachers and admins (not TAs, not students).
- ``GET/PATCH assignments/{id}/grader-settings/``: the serving knob; teachers and admins change it.
- ``POST models/{id}/activate/``: roll back (or forward) to a ready version; school admins only.
- ``GET/POST submissions/{id}/teacher-grade/``: read or set the grade of record (teachers, TAs,
  admins); it is training data for the assignment's models.
- In an archived course everything above stays readable, and only its school admins train,
  change settings or grade (403 for its teachers and TAs).
- Model records never show where their files are (``artefact``; ``base_model`` by its name):
  those are server internals.
Something outside your scope is a 404; something you may see but not do is a 403.
"""

from __future__ import annotations

from django.db import transaction
from django.http import Http404
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.pagination import PageNumberPagination
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from eduai.courses import api as courses
from eduai.courses.models import Assignment, Course, Submission
from grading import selectors, services, training
from grading.models import GraderSettings, GradingModel, Prediction, TeacherGrade

from . import serializers as s


class Pagination(PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 200


def _int_param(request: Request, name: str) -> int | None:
    raw = request.query_params.get(name)
    if raw in (None, ""):
        return None
    try:
        value = int(str(raw))
    except (TypeError, ValueError) as exc:
        raise ValidationError({name: "Expected an integer id."}) from exc
    # Ids are 64-bit database integers; a larger number would overflow the driver (a 500).
    if not 1 <= value <= 2**63 - 1:
        raise ValidationError({name: "Expected a positive integer id."})
    return value


def _assignment_for(request: Request, assignment_id: int) -> Assignment:
    """The assignment if the user may see it (else 404)."""
    return get_object_or_404(courses.assignments_visible(user=request.user).select_related("course"), pk=assignment_id)


def _require(allowed: bool, message: str) -> None:
    if not allowed:
        raise PermissionDenied(message)


def _require_changeable(request: Request, course: Course) -> None:
    """An archived course's grades, settings and models change only by its school's admins."""
    _require(not courses.access.archived_read_only(request.user, course), courses.access.ARCHIVED_READ_ONLY)


@extend_schema(
    parameters=[
        OpenApiParameter("submission", int, description="only this submission's predictions"),
        OpenApiParameter("assignment", int, description="only this assignment's predictions"),
    ]
)
class PredictionViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = s.PredictionSerializer
    permission_classes = [IsAuthenticated]
    pagination_class = Pagination

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Prediction.objects.none()
        qs = selectors.predictions_visible(user=self.request.user).order_by("-id")
        submission = _int_param(self.request, "submission")
        assignment = _int_param(self.request, "assignment")
        if submission is not None:
            qs = qs.filter(submission_id=submission)
        if assignment is not None:
            qs = qs.filter(submission__assignment_id=assignment)
        return qs


class AssignmentModelsView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses=s.GradingModelSerializer(many=True))
    def get(self, request: Request, assignment_id: int) -> Response:
        assignment = _assignment_for(request, assignment_id)
        _require(courses.access.can_teach(request.user, assignment.course), "Only the course's staff see its models.")
        models = selectors.models_for_assignment(assignment_id=assignment.pk)
        return Response(s.GradingModelSerializer(models, many=True).data)


class TrainNowView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=s.TrainRequestSerializer, responses={202: s.TrainRequestSerializer})
    def post(self, request: Request, assignment_id: int) -> Response:
        assignment = _assignment_for(request, assignment_id)
        _require(courses.access.can_manage(request.user, assignment.course), "Only teachers and admins train models.")
        _require_changeable(request, assignment.course)
        body = s.TrainRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        shortfall = selectors.training_shortfall(assignment_id=assignment.pk)
        if shortfall is not None:
            raise ValidationError({"assignment": shortfall})
        count = selectors.teacher_graded_count(assignment_id=assignment.pk)
        with transaction.atomic():
            services.training_enqueue(
                assignment_id=assignment.pk,
                method=body.validated_data["method"],
                trigger="api",
                requested_by_id=request.user.pk,
            )
        return Response(
            {"method": body.validated_data["method"], "queued": True, "teacher_graded": count},
            status=status.HTTP_202_ACCEPTED,
        )


class GraderSettingsView(APIView):
    permission_classes = [IsAuthenticated]

    def _row(self, assignment: Assignment) -> dict:
        row = GraderSettings.objects.filter(assignment=assignment).first()
        from grading import conf

        return {
            "serving": row.serving if row else conf.serving_default(),
            "auto_finetune": row.auto_finetune if row else None,
            "last_threshold": row.last_threshold if row else 0,
        }

    @extend_schema(responses=s.GraderSettingsSerializer)
    def get(self, request: Request, assignment_id: int) -> Response:
        assignment = _assignment_for(request, assignment_id)
        _require(courses.access.can_teach(request.user, assignment.course), "Only the course's staff see this.")
        return Response(s.GraderSettingsSerializer(self._row(assignment)).data)

    @extend_schema(request=s.GraderSettingsSerializer, responses=s.GraderSettingsSerializer)
    def patch(self, request: Request, assignment_id: int) -> Response:
        assignment = _assignment_for(request, assignment_id)
        _require(courses.access.can_manage(request.user, assignment.course), "Only teachers and admins change this.")
        _require_changeable(request, assignment.course)
        body = s.GraderSettingsSerializer(data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        services.grader_settings_set(assignment_id=assignment.pk, **body.validated_data)
        return Response(s.GraderSettingsSerializer(self._row(assignment)).data)


class ActivateModelView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=None, responses=s.GradingModelSerializer)
    def post(self, request: Request, model_id: int) -> Response:
        record = get_object_or_404(GradingModel.objects.select_related("assignment__course"), pk=model_id)
        course = record.assignment.course
        if not courses.access.can_view_course(request.user, course) or not courses.access.can_teach(
            request.user, course
        ):
            raise Http404  # never confirm that a model outside your courses exists
        _require(courses.access.course_role(request.user, course) == "admin", "Only school admins roll models back.")
        training.model_activate(
            model_id=record.pk,
            check_expected=False,
            by_user_id=request.user.pk,
            decision=f"activated by {request.user} through the API",
        )
        record.refresh_from_db()
        return Response(s.GradingModelSerializer(record).data)


class TeacherGradeView(APIView):
    permission_classes = [IsAuthenticated]

    def _submission(self, request: Request, submission_id: int) -> Submission:
        sub = get_object_or_404(
            courses.submissions_visible(user=request.user).select_related("assignment__course"), pk=submission_id
        )
        return sub

    @extend_schema(responses=s.TeacherGradeSerializer)
    def get(self, request: Request, submission_id: int) -> Response:
        sub = self._submission(request, submission_id)
        grade = get_object_or_404(selectors.teacher_grades_visible(user=request.user), submission=sub)
        return Response(s.TeacherGradeSerializer(grade).data)

    @extend_schema(request=s.TeacherGradeInputSerializer, responses={201: s.TeacherGradeSerializer})
    def post(self, request: Request, submission_id: int) -> Response:
        sub = self._submission(request, submission_id)
        _require(courses.access.can_teach(request.user, sub.assignment.course), "Only the course's staff grade work.")
        _require_changeable(request, sub.assignment.course)
        body = s.TeacherGradeInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        existed = TeacherGrade.objects.filter(submission=sub).exists()
        grade = services.teacher_grade_set(
            submission_id=sub.pk,
            score=body.validated_data["score"],
            trait_scores=body.validated_data.get("trait_scores"),
            comment=body.validated_data.get("comment", ""),
            grader_id=request.user.pk,
        )
        code = status.HTTP_200_OK if existed else status.HTTP_201_CREATED
        return Response(s.TeacherGradeSerializer(grade).data, status=code)
