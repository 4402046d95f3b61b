"""Reads of assessment. Return frozen data (``data.py``); never expose querysets to other apps.

Access checks are the caller's (api.py callers are trusted code; the REST views check with
``eduai.courses.access`` before calling these).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

import numpy as np
from django.contrib.auth import get_user_model
from django.db.models import Avg, Count
from django.db.models.functions import TruncWeek
from django.utils import timezone

from eduai.courses.models import Assignment, Course, Enrollment, PracticeItem, Role, Skill

from . import services
from .data import (
    AssessmentLookupError,
    KTModelData,
    LearningGain,
    MasteryData,
    MasteryPoint,
    MasteryRow,
    MasteryTrajectory,
    SkillDistribution,
    WeeklyMastery,
)
from .models import Evidence, EvidenceKind, KTModelVersion, Mastery, MasteryHistory


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
    needs_prior = [sid for sid in wanted if any(k not in rows[sid] for k in skills)]
    if needs_prior:
        model, version = services.serving_model(course_id=course_id)
        states = services.live_states(student_ids=needs_prior, course_id=course_id, model=model, version=version)
    out: dict[int, dict[int, MasteryData]] = {}
    for sid in wanted:
        mine: dict[int, MasteryData] = {}
        missing = [k for k in skills if k not in rows[sid]]
        if missing:
            state = states[sid] if sid in states else model.new_state()
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
    return _predict(student_ids=[student_id], item_ids=item_ids, course_id=None).get(student_id, {})


def predicted_success_for_students(
    *, student_ids: list[int], item_ids: list[int], course_id: int | None = None
) -> dict[int, dict[int, float]]:
    """Bulk form of ``predicted_success`` (the recommender's batch refresh): ``{student_id:
    {item_id: P(correct)}}`` in 3 + 2 x (courses of the items) queries, one state per student.

    Ids of users or items that do not exist are left out; with ``course_id`` only that course's
    items are scored (an unknown course gives ``{}`` per student). A student with no evidence
    gets the serving model's prior for a new student.
    """
    return _predict(student_ids=student_ids, item_ids=item_ids, course_id=course_id)


def _predict(*, student_ids: list[int], item_ids: list[int], course_id: int | None) -> dict[int, dict[int, float]]:
    students = list(get_user_model().objects.filter(pk__in=[int(s) for s in student_ids]).values_list("pk", flat=True))
    out: dict[int, dict[int, float]] = {s: {} for s in students}
    if not students or not item_ids:
        return out
    # one query: items and their skills (a LEFT JOIN; an item without skills gives one None row)
    items = PracticeItem.objects.filter(pk__in=[int(i) for i in item_ids])
    if course_id is not None:
        items = items.filter(course_id=course_id)
    skills: dict[int, list[str]] = {}
    by_course: dict[int, list[int]] = defaultdict(list)
    for item_id, item_course, skill_id in items.values_list("pk", "course_id", "skills"):
        if item_id not in skills:
            skills[item_id] = []
            by_course[item_course].append(item_id)
        if skill_id is not None:
            skills[item_id].append(str(skill_id))
    for cid, course_items in by_course.items():
        model, version = services.serving_model(course_id=cid)
        keys = [(str(i), tuple(sorted(skills[i]))) for i in course_items]
        states = services.live_states(student_ids=students, course_id=cid, model=model, version=version)
        for sid in students:
            state = states[sid] if sid in states else model.new_state()
            out[sid].update(zip(course_items, model.predict_many(state, keys), strict=True))
    return out


def latest_mastery(*, course_id: int, student_ids: list[int] | None = None, with_time: bool = True) -> list[MasteryRow]:
    """Latest stored mastery per (student, skill) of the course's active student enrolments,
    only estimates backed by evidence (a skill nobody answered is absent, no prior is filled
    in), ordered by student then skill. ``student_ids`` narrows it; unknown ids find nothing.
    ``with_time=False`` leaves ``updated_at`` as None: a class matrix does not need it, and
    turning 25,000 stored times into aware datetimes is most of this read's cost.

    One query (a second, when it finds nothing, to tell an empty course from an unknown one):
    about 0.1 s for 500 students x 50 skills, against seconds for ``mastery_for_students``,
    which fills priors from the model for every missing skill.
    """
    students = Enrollment.objects.filter(course_id=course_id, role=Role.STUDENT, is_active=True)
    if student_ids is not None:
        students = students.filter(user_id__in=[int(s) for s in student_ids])
    cells = Mastery.objects.filter(
        course_id=course_id, student_id__in=students.values("user_id"), n_evidence__gt=0
    ).order_by("student_id", "skill_id")
    if with_time:
        out = [MasteryRow(*r) for r in cells.values_list("student_id", "skill_id", "p", "n_evidence", "as_of")]
    else:
        out = [MasteryRow(*r, None) for r in cells.values_list("student_id", "skill_id", "p", "n_evidence")]
    if not out and not Course.objects.filter(pk=course_id).exists():
        raise AssessmentLookupError(f"no course {course_id}")
    return out


def weekly_mastery(*, course_id: int, since: datetime) -> list[WeeklyMastery]:
    """Class mastery per skill per week from ``since`` on: the mean of the estimates made that
    week (every ``MasteryHistory`` point, i.e. after each piece of evidence) and the number of
    distinct students they came from; weeks without evidence on a skill are absent. Aggregated
    in the database (one query; a second when nothing is found, as ``latest_mastery``), ordered
    by skill then week. Weeks start on Monday in the current time zone (``TruncWeek``).
    """
    rows = (
        MasteryHistory.objects.filter(course_id=course_id, at__gte=since)
        .annotate(week=TruncWeek("at"))
        .values("skill_id", "week")
        .annotate(mean=Avg("p"), n_students=Count("student_id", distinct=True))
        .order_by("skill_id", "week")
        .values_list("skill_id", "week", "n_students", "mean")
    )
    out = [WeeklyMastery(skill_id=s, week=w, n_students=n, mean=float(m)) for s, w, n, m in rows]
    if not out and not Course.objects.filter(pk=course_id).exists():
        raise AssessmentLookupError(f"no course {course_id}")
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
