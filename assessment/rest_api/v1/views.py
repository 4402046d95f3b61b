"""REST API v1 of assessment: validate, check who asks, call one selector/service, render.

Who may see what (eduai.courses.access):
- a student: their own mastery, history and predicted success in courses they are enrolled in;
- teachers and TAs: everything about the students of the courses they teach, the course's
  distribution, learning gains and students at risk;
- school admins: all of that for their school's courses, and the model registry (and training)
  of their school.
A course the user cannot see is a 404; a visible course but someone else's data is a 403.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from eduai.courses import api as courses
from eduai.courses.models import Assignment, Course, Enrollment, Role, School, Skill

from ... import api, tasks
from . import serializers as s


def _course(request: Request, course_id: int) -> Course:
    course = courses.access.visible_courses(request.user).filter(pk=course_id).first()
    if course is None:
        raise NotFound("No such course.")
    return course


def _student_of(request: Request, course: Course, student_id: int) -> None:
    """Allow the student themself (if enrolled) or staff of the course; the student must be one."""
    user = request.user
    if user.pk != student_id and not courses.access.can_teach(user, course):
        raise PermissionDenied("You may only see your own progress.")
    if not Enrollment.objects.filter(course=course, user_id=student_id, role=Role.STUDENT).exists():
        raise NotFound("No such student in this course.")


def _staff(request: Request, course: Course) -> None:
    if not courses.access.can_teach(request.user, course):
        raise PermissionDenied("Only the course's teachers and school admins may see this.")


def _query(serializer_cls: type[s.serializers.Serializer], request: Request) -> dict[str, Any]:
    ser = serializer_cls(data=request.query_params)
    ser.is_valid(raise_exception=True)
    return dict(ser.validated_data)


class StudentMasteryView(APIView):
    @extend_schema(responses=s.MasteryOut(many=True), summary="Mastery of every skill of the course")
    def get(self, request: Request, course_id: int, student_id: int) -> Response:
        course = _course(request, course_id)
        _student_of(request, course, student_id)
        mastery = api.mastery_for_student(student_id=student_id, course_id=course.pk)
        names = dict(Skill.objects.filter(course=course).values_list("pk", "name"))
        rows = [
            {
                "skill_id": sid,
                "skill_name": names.get(sid, ""),
                "p": m.p,
                "trend": m.trend,
                "updated_at": m.updated_at,
                "n_evidence": m.n_evidence,
                "method": m.method,
            }
            for sid, m in sorted(mastery.items(), key=lambda kv: names.get(kv[0], ""))
        ]
        return Response(s.MasteryOut(rows, many=True).data)


class StudentMasteryHistoryView(APIView):
    @extend_schema(
        parameters=[s.HistoryQuery], responses=s.HistoryOut, summary="Mastery trajectory per skill and overall"
    )
    def get(self, request: Request, course_id: int, student_id: int) -> Response:
        q = _query(s.HistoryQuery, request)
        course = _course(request, course_id)
        _student_of(request, course, student_id)
        skill_id = q.get("skill_id")
        if skill_id is not None and not Skill.objects.filter(pk=skill_id, course=course).exists():
            raise ValidationError({"skill_id": ["No such skill in this course."]})
        t = api.mastery_history(student_id=student_id, course_id=course.pk, skill_id=skill_id)
        return Response(
            {
                "student_id": t.student_id,
                "course_id": t.course_id,
                "skills": {str(k): s.PointOut(v, many=True).data for k, v in t.skills.items()},
                "overall": s.PointOut(t.overall, many=True).data,
            }
        )


class CourseDistributionView(APIView):
    @extend_schema(
        parameters=[s.DistributionQuery],
        responses=s.CourseDistributionOut,
        summary="Distribution of mastery per skill over time",
    )
    def get(self, request: Request, course_id: int) -> Response:
        q = _query(s.DistributionQuery, request)
        course = _course(request, course_id)
        _staff(request, course)
        dist = api.course_mastery_distribution(course_id=course.pk, **q)
        return Response({"skills": {str(k): s.DistributionOut(v, many=True).data for k, v in dist.items()}})


class AtRiskView(APIView):
    @extend_schema(parameters=[s.RiskQuery], responses=s.RiskOut(many=True), summary="Students at risk")
    def get(self, request: Request, course_id: int) -> Response:
        q = _query(s.RiskQuery, request)
        course = _course(request, course_id)
        _staff(request, course)
        rows = api.course_risk(course_id=course.pk, threshold=q["threshold"])
        if not q["all"]:
            rows = [r for r in rows if r.probability >= q["threshold"]]
        users = get_user_model().objects.in_bulk([r.student_id for r in rows])
        out = [
            {
                "student_id": r.student_id,
                "student_name": getattr(users.get(r.student_id), "label", ""),
                "probability": r.probability,
                "reasons": r.reasons,
            }
            for r in rows
        ]
        return Response(s.RiskOut(out, many=True).data)


class LearningGainView(APIView):
    @extend_schema(responses=s.LearningGainOut(many=True), summary="Learning gain between attempts")
    def get(self, request: Request, assignment_id: int) -> Response:
        assignment = get_object_or_404(Assignment.objects.select_related("course"), pk=assignment_id)
        course = _course(request, assignment.course_id)
        gains = api.assignment_learning_gain(assignment_id=assignment.pk)
        if not courses.access.can_teach(request.user, course):
            gains = [g for g in gains if g.student_id == request.user.pk]
        return Response(s.LearningGainOut(gains, many=True).data)


class PredictedSuccessView(APIView):
    @extend_schema(
        parameters=[OpenApiParameter("item_ids", str, description="Comma-separated practice item ids")],
        responses=s.PredictedSuccessOut,
        summary="Predicted probability of answering each item correctly",
    )
    def get(self, request: Request, student_id: int) -> Response:
        item_ids = _query(s.PredictedSuccessQuery, request)["item_ids"]
        visible = courses.practice_items_visible(user=request.user).filter(pk__in=item_ids)
        items = dict(visible.values_list("pk", "course_id"))
        unknown = [i for i in item_ids if i not in items]
        if unknown:
            raise ValidationError({"item_ids": [f"Unknown practice items: {', '.join(map(str, unknown))}."]})
        if request.user.pk != student_id:
            item_courses = set(items.values())
            if not item_courses <= courses.access.staff_course_ids(request.user):
                raise PermissionDenied("You may only ask about students of courses you teach.")
            of_student = Enrollment.objects.filter(user_id=student_id, role=Role.STUDENT, course_id__in=item_courses)
            if not item_courses <= set(of_student.values_list("course_id", flat=True)):
                raise NotFound("No such student in the items' courses.")  # (an unknown id too)
        probs = api.predicted_success(student_id=student_id, item_ids=item_ids)
        return Response({"student_id": student_id, "items": {str(k): v for k, v in probs.items()}})


class ModelRegistryView(APIView):
    @extend_schema(responses=s.KTModelOut(many=True), summary="Knowledge-tracing models of your schools")
    def get(self, request: Request) -> Response:
        user = request.user
        if getattr(user, "is_superuser", False):
            rows = api.kt_models()
        else:
            schools = courses.access.admin_school_ids(user)
            if not schools:
                raise PermissionDenied("Only school admins may see the model registry.")
            rows = api.kt_models(school_ids=schools)
        return Response(s.KTModelOut(rows, many=True).data)

    @extend_schema(request=s.KTTrainRequest, responses={202: None}, summary="Train a model on the school's history")
    def post(self, request: Request) -> Response:
        ser = s.KTTrainRequest(data=request.data)
        ser.is_valid(raise_exception=True)
        school_id, method = ser.validated_data["school_id"], ser.validated_data["method"]
        if not courses.access.is_school_admin(request.user, school_id):
            raise PermissionDenied("Only the school's admins may train its models.")
        if not School.objects.filter(pk=school_id).exists():  # a superuser's typo: the task would fail
            raise ValidationError({"school_id": ["No such school."]})
        task = tasks.train_deep_kt if method == "deep" else tasks.train_bkt
        task.delay_on_commit(school_id)
        return Response({"queued": True, "school_id": school_id, "method": method}, status=status.HTTP_202_ACCEPTED)
