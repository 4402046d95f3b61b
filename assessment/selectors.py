"""Reads of assessment. Return frozen data (``data.py``); never expose querysets to other apps.

Access checks are the caller's (api.py callers are trusted code; the REST views check with
``eduai.courses.access`` before calling these).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

import numpy as np
from django.contrib.auth import get_user_model
from django.utils import timezone

from eduai.courses.models import Assignment, Course, Enrollment, PracticeItem, Role, Skill

from . import services
from .data import (
    AssessmentLookupError,
    KTModelData,
    LearningGain,
    MasteryData,
    MasteryPoint,
    MasteryTrajectory,
    SkillDistribution,
)
from .models import Evidence, EvidenceKind, KTModelVersion, Mastery, MasteryHistory, StudentKTState


def _check_student_course(student_id: int, course_id: int) -> None:
    if not Course.objects.filter(pk=course_id).exists():
        raise AssessmentLookupError(f"no course {course_id}")
    if not get_user_model().objects.filter(pk=student_id).exists():
        raise AssessmentLookupError(f"no student {student_id}")


def mastery_for_student(*, student_id: int, course_id: int) -> dict[int, MasteryData]:
    """Mastery of every skill of the course. Skills without evidence get the serving model's
    estimate for this student's history so far (the prior for a new student), n_evidence 0."""
    _check_student_course(student_id, course_id)
    return mastery_for_students(student_ids=[student_id], course_id=course_id)[student_id]


def mastery_for_students(*, student_ids: list[int], course_id: int) -> dict[int, dict[int, MasteryData]]:
    """Bulk form of ``mastery_for_student`` in a constant number of queries (dashboards, the
    recommender's batch refresh). Ids of users that do not exist are left out."""
    if not Course.objects.filter(pk=course_id).exists():
        raise AssessmentLookupError(f"no course {course_id}")
    wanted = set(get_user_model().objects.filter(pk__in=list(student_ids)).values_list("pk", flat=True))
    skills = list(Skill.objects.filter(course_id=course_id).values_list("pk", flat=True))
    rows: dict[int, dict[int, Mastery]] = defaultdict(dict)
    for m in Mastery.objects.filter(student_id__in=wanted, course_id=course_id):
        rows[m.student_id][m.skill_id] = m
    states = {r.student_id: r for r in StudentKTState.objects.filter(student_id__in=wanted, course_id=course_id)}
    model = None
    out: dict[int, dict[int, MasteryData]] = {}
    for sid in wanted:
        mine: dict[int, MasteryData] = {}
        missing = [k for k in skills if k not in rows[sid]]
        if missing:
            if model is None:
                model, _version = services.serving_model(course_id=course_id)
            state_row = states.get(sid)
            state = model.new_state()
            if state_row is not None and state_row.n_evidence and state_row.state.get("method") == model.method:
                state = model.state_load(state_row.state)
            for key, p in model.mastery(state, [str(k) for k in missing]).items():
                mine[int(key)] = MasteryData(p=float(p), trend=0.0, updated_at=None, n_evidence=0, method=model.method)
        for k, m in rows[sid].items():
            mine[k] = MasteryData(p=m.p, trend=m.trend, updated_at=m.as_of, n_evidence=m.n_evidence, method=m.method)
        out[sid] = mine
    return out


def predicted_success(*, student_id: int, item_ids: list[int]) -> dict[int, float]:
    """P(correct) per practice item for the student now. Ids of items that do not exist are
    left out of the result (so a recommender can pass candidates without checking them)."""
    if not get_user_model().objects.filter(pk=student_id).exists():
        raise AssessmentLookupError(f"no student {student_id}")
    items = PracticeItem.objects.filter(pk__in=[int(i) for i in item_ids]).only("id", "course_id")
    skills: dict[int, list[str]] = defaultdict(list)
    for item_id, skill_id in PracticeItem.skills.through.objects.filter(
        practiceitem_id__in=[i.pk for i in items]
    ).values_list("practiceitem_id", "skill_id"):
        skills[item_id].append(str(skill_id))
    by_course: dict[int, list[PracticeItem]] = defaultdict(list)
    for item in items:
        by_course[item.course_id].append(item)
    out: dict[int, float] = {}
    for course_id, course_items in by_course.items():
        model, _version = services.serving_model(course_id=course_id)
        row = StudentKTState.objects.filter(student_id=student_id, course_id=course_id).first()
        state = model.new_state()
        if row is not None and row.n_evidence and row.state.get("method") == model.method:
            state = model.state_load(row.state)
        for item in course_items:
            out[item.pk] = float(model.predict(state, str(item.pk), tuple(sorted(skills[item.pk]))))
    return out


def mastery_history(*, student_id: int, course_id: int, skill_id: int | None = None) -> MasteryTrajectory:
    """Every estimate with the time of its evidence; ``overall`` is the mean over the skills seen
    so far after each piece of evidence (only the asked skill when ``skill_id`` is given)."""
    _check_student_course(student_id, course_id)
    qs = MasteryHistory.objects.filter(student_id=student_id, course_id=course_id)
    if skill_id is not None:
        if not Skill.objects.filter(pk=skill_id, course_id=course_id).exists():
            raise AssessmentLookupError(f"no skill {skill_id} in course {course_id}")
        qs = qs.filter(skill_id=skill_id)
    per_skill: dict[int, list[MasteryPoint]] = defaultdict(list)
    overall: list[MasteryPoint] = []
    latest: dict[int, float] = {}
    last_key: object = None
    for sid, p, at, evidence_id in qs.order_by("at", "evidence_id", "id").values_list(
        "skill_id", "p", "at", "evidence_id"
    ):
        per_skill[sid].append(MasteryPoint(at=at, p=p))
        latest[sid] = p
        key = (at, evidence_id)
        point = MasteryPoint(at=at, p=float(np.mean(list(latest.values()))))
        if key == last_key and overall:
            overall[-1] = point  # several skills of one response: one overall point
        else:
            overall.append(point)
        last_key = key
    return MasteryTrajectory(
        student_id=student_id,
        course_id=course_id,
        skills={k: tuple(v) for k, v in per_skill.items()},
        overall=tuple(overall),
    )


_EDGES = np.array([0.2, 0.4, 0.6, 0.8])


def course_mastery_distribution(
    *, course_id: int, period_days: int = 7, max_periods: int = 26, now: datetime | None = None
) -> dict[int, list[SkillDistribution]]:
    """Per skill, the distribution over the course's students of their latest mastery at the
    end of each period (weeks by default, the last ``max_periods`` of them, oldest first)."""
    if not Course.objects.filter(pk=course_id).exists():
        raise AssessmentLookupError(f"no course {course_id}")
    if period_days < 1 or max_periods < 1:
        raise ValueError("period_days and max_periods must be at least 1")
    now = now or timezone.now()
    students = set(Enrollment.objects.filter(course_id=course_id, role=Role.STUDENT).values_list("user_id", flat=True))
    rows = (
        MasteryHistory.objects.filter(course_id=course_id, student_id__in=students)
        .order_by("at", "id")
        .values_list("skill_id", "student_id", "p", "at")
    )
    out: dict[int, list[SkillDistribution]] = {}
    data = list(rows)
    if not data:
        return out
    step = timedelta(days=period_days)
    first = data[0][3]
    n_periods = min(max_periods, int((now - first) / step) + 1)
    ends = [now - step * (n_periods - 1 - i) for i in range(n_periods)]
    latest: dict[int, dict[int, float]] = defaultdict(dict)
    i = 0
    for end in ends:
        while i < len(data) and data[i][3] <= end:
            sid, student, p, _at = data[i]
            latest[sid][student] = p
            i += 1
        for sid, by_student in latest.items():
            values = np.array(list(by_student.values()))
            hist = np.bincount(np.searchsorted(_EDGES, values, side="right"), minlength=5)
            q1, q2, q3 = np.percentile(values, [25, 50, 75])
            out.setdefault(sid, []).append(
                SkillDistribution(
                    skill_id=sid,
                    at=end,
                    n_students=len(values),
                    mean=float(values.mean()),
                    quartiles=(float(q1), float(q2), float(q3)),
                    histogram=tuple(int(x) for x in hist),
                )
            )
    return out


def assignment_learning_gain(*, assignment_id: int) -> list[LearningGain]:
    """Per student with at least two graded attempts: first vs latest normalised grade."""
    if not Assignment.objects.filter(pk=assignment_id).exists():
        raise AssessmentLookupError(f"no assignment {assignment_id}")
    rows = (
        Evidence.objects.filter(kind=EvidenceKind.GRADE, assignment_id=assignment_id)
        .select_related("submission")
        .order_by("student_id", "submission__attempt")
        .values_list("student_id", "submission__attempt", "credit")
    )
    per_student: dict[int, list[tuple[int, float]]] = defaultdict(list)
    for student_id, attempt, credit in rows:
        per_student[student_id].append((attempt, credit))
    out = []
    for student_id, attempts in per_student.items():
        if len(attempts) < 2:
            continue
        (a0, s0), (a1, s1) = attempts[0], attempts[-1]
        out.append(
            LearningGain(
                student_id=student_id,
                assignment_id=assignment_id,
                first_attempt=a0,
                last_attempt=a1,
                first_score=s0,
                last_score=s1,
                gain=s1 - s0,
                normalised_gain=(s1 - s0) / (1 - s0) if s0 < 1 else None,
            )
        )
    return out


def kt_models(*, school_ids: set[int] | None = None) -> list[KTModelData]:
    qs = KTModelVersion.objects.all()
    if school_ids is not None:
        qs = qs.filter(school_id__in=school_ids)
    return [
        KTModelData(
            id=v.pk,
            school_id=v.school_id,
            method=v.method,
            version=v.version,
            status=v.status,
            hyperparameters=v.hyperparameters,
            n_train_students=v.n_train_students,
            n_train_responses=v.n_train_responses,
            valid_auc=v.valid_auc,
            baseline_auc=v.baseline_auc,
            train_seconds=v.train_seconds,
            artefact_path=v.artefact_path,
            created_at=v.created_at,
        )
        for v in qs
    ]
