"""Every read the dashboards make of other apps, as pandas tables (one query each, or one call).

Contract: functions take ids (and, where the other app scopes its reads by user, the asking
user) and return a ``pandas.DataFrame`` with stable English column names; numbers carry their
unit in the column name (``_pct``, ``_days``, ``_seconds``, ``_points``). They never check
permissions: the views do that first (``eduai.courses.access``). Aggregation happens in the
database or in one pandas pass over one query, never per student.

The other apps (grading, assessment, recommender) are read through their ``api.py`` (and, for
two small reads, their ``selectors.py``), never their models (an import-linter contract says
so); the shared core (``eduai.courses``) directly.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
from django.db.models import Avg, Count, Exists, F, Max, Min, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce, TruncDate, TruncWeek
from django.utils import timezone

from eduai.courses.models import ActivityEvent, Assignment, Course, Enrollment, Role, Skill, Submission

# Submissions still waiting for a teacher: the review queue's "waiting" plus those not scored yet
# (received) or whose scoring failed (a teacher grades those by hand).
AWAITING = ("received", "scoring", "scored", "failed")
STATUS_ORDER = ("received", "scoring", "scored", "failed", "reviewed", "released")
# Windows (days) of the admin page: "active" students and the daily series.
ACTIVE_DAYS = 7
RECENT_DAYS = 28
SERIES_DAYS = 90
# Weeks of class mastery history on the course page (half a school year).
MASTERY_WEEKS = 26


def _frame(rows: Iterable[Any], columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame(list(rows), columns=columns)


def person_name(first: str, last: str, display: str, username: str) -> str:
    """The same label as ``User.label``, from a values() row (no model instance per student)."""
    full = f"{first} {last}".strip()
    return display or full or username


# ------------------------------------------------------------------------------ courses (core)
def course_students(*, course_id: int) -> pd.DataFrame:
    """Active students of the course: student_id, name."""
    rows = Enrollment.objects.filter(course_id=course_id, role=Role.STUDENT, is_active=True).values_list(
        "user_id", "user__first_name", "user__last_name", "user__display_name", "user__username"
    )
    df = _frame(
        ({"student_id": uid, "name": person_name(fn, ln, dn, un)} for uid, fn, ln, dn, un in rows),
        ["student_id", "name"],
    )
    return df.sort_values("name", kind="stable").reset_index(drop=True)


def course_skills(*, course_id: int) -> pd.DataFrame:
    return _frame(Skill.objects.filter(course_id=course_id).order_by("name").values("id", "name"), ["id", "name"])


def course_assignments(*, course_ids: list[int]) -> pd.DataFrame:
    return _frame(
        Assignment.objects.filter(course_id__in=course_ids)
        .order_by("course_id", "due_at", "id")
        .values("id", "course_id", "title", "min_score", "max_score"),
        ["id", "course_id", "title", "min_score", "max_score"],
    )


def final_score_counts(*, course_id: int) -> pd.DataFrame:
    """Grades of record per assignment and score: assignment_id, score, count."""
    rows = (
        Submission.objects.filter(assignment__course_id=course_id, final_score__isnull=False)
        .values("assignment_id", "final_score")
        .annotate(n=Count("id"))
        .values_list("assignment_id", "final_score", "n")
    )
    return _frame(
        ({"assignment_id": a, "score": s, "count": n} for a, s, n in rows), ["assignment_id", "score", "count"]
    )


def status_counts(*, course_id: int) -> pd.DataFrame:
    """Submissions per assignment and status, with the oldest submission's time in each."""
    rows = (
        Submission.objects.filter(assignment__course_id=course_id)
        .values("assignment_id", "status")
        .annotate(n=Count("id"), oldest=Min("submitted_at"))
        .values_list("assignment_id", "status", "n", "oldest")
    )
    return _frame(
        ({"assignment_id": a, "status": s, "count": n, "oldest": o} for a, s, n, o in rows),
        ["assignment_id", "status", "count", "oldest"],
    )


def student_submissions(*, course_id: int, student_id: int) -> pd.DataFrame:
    rows = (
        Submission.objects.filter(assignment__course_id=course_id, author_id=student_id)
        .order_by("submitted_at", "id")
        .values(
            "id",
            "assignment_id",
            "assignment__title",
            "assignment__min_score",
            "assignment__max_score",
            "attempt",
            "status",
            "submitted_at",
            "final_score",
        )
    )
    df = _frame(
        rows,
        [
            "id",
            "assignment_id",
            "assignment__title",
            "assignment__min_score",
            "assignment__max_score",
            "attempt",
            "status",
            "submitted_at",
            "final_score",
        ],
    )
    return df.rename(
        columns={
            "id": "submission_id",
            "assignment__title": "assignment",
            "assignment__min_score": "min_score",
            "assignment__max_score": "max_score",
        }
    )


def school_courses(*, school_id: int) -> pd.DataFrame:
    return _frame(
        Course.objects.filter(school_id=school_id).order_by("code").values("id", "code", "title", "is_active"),
        ["id", "code", "title", "is_active"],
    )


def active_students_per_course(*, course_ids: list[int], now: datetime) -> pd.DataFrame:
    """Enrolled students and distinct students with any activity in the last 7 and 28 days."""
    enrolled = dict(
        Enrollment.objects.filter(course_id__in=course_ids, role=Role.STUDENT, is_active=True)
        .values("course_id")
        .annotate(n=Count("id"))
        .values_list("course_id", "n")
    )
    active = {
        row["course_id"]: row
        for row in ActivityEvent.objects.filter(
            course_id__in=course_ids, timestamp__gte=now - timedelta(days=RECENT_DAYS), voided=False
        )
        .values("course_id")
        .annotate(
            week=Count("actor_id", distinct=True, filter=Q(timestamp__gte=now - timedelta(days=ACTIVE_DAYS))),
            month=Count("actor_id", distinct=True),
        )
    }
    return _frame(
        (
            {
                "course_id": cid,
                "enrolled_students": enrolled.get(cid, 0),
                "active_7_days": active.get(cid, {}).get("week", 0),
                "active_28_days": active.get(cid, {}).get("month", 0),
            }
            for cid in course_ids
        ),
        ["course_id", "enrolled_students", "active_7_days", "active_28_days"],
    )


def activity_per_day(*, course_ids: list[int], now: datetime) -> pd.DataFrame:
    """Per day of the last 90: learning events and distinct active students (all courses)."""
    rows = (
        ActivityEvent.objects.filter(
            course_id__in=course_ids, timestamp__gte=now - timedelta(days=SERIES_DAYS), voided=False
        )
        .annotate(day=TruncDate("timestamp"))
        .values("day")
        .annotate(events=Count("id"), students=Count("actor_id", distinct=True))
        .order_by("day")
        .values_list("day", "events", "students")
    )
    return _frame(
        ({"day": d, "events": e, "active_students": s} for d, e, s in rows), ["day", "events", "active_students"]
    )


def submissions_per_day(*, course_ids: list[int], now: datetime) -> pd.DataFrame:
    rows = (
        Submission.objects.filter(
            assignment__course_id__in=course_ids, submitted_at__gte=now - timedelta(days=SERIES_DAYS)
        )
        .annotate(day=TruncDate("submitted_at"))
        .values("day")
        .annotate(n=Count("id"), failed=Count("id", filter=Q(status="failed")))
        .order_by("day")
        .values_list("day", "n", "failed")
    )
    return _frame(
        ({"day": d, "submissions": n, "scoring_failed": f} for d, n, f in rows),
        ["day", "submissions", "scoring_failed"],
    )


def grading_volume(*, course_ids: list[int]) -> pd.DataFrame:
    """Per course: submissions, graded ones, and who released the grade (teacher or policy).

    Who released comes from the review loop's release record, reached through the submission
    (the core model every app shares); the review api has no course-wide count yet.
    """
    rows = (
        Submission.objects.filter(assignment__course_id__in=course_ids)
        .values("assignment__course_id")
        .annotate(
            submissions=Count("id"),
            awaiting=Count("id", filter=Q(status__in=AWAITING)),
            released=Count("id", filter=Q(status="released")),
            auto_released=Count("id", filter=Q(status="released", grade_release__kind="policy")),
        )
        .values_list("assignment__course_id", "submissions", "awaiting", "released", "auto_released")
    )
    by_course = {r[0]: r[1:] for r in rows}
    return _frame(
        (
            {
                "course_id": cid,
                "submissions": by_course.get(cid, (0, 0, 0, 0))[0],
                "awaiting_teacher": by_course.get(cid, (0, 0, 0, 0))[1],
                "released": by_course.get(cid, (0, 0, 0, 0))[2],
                "auto_released": by_course.get(cid, (0, 0, 0, 0))[3],
            }
            for cid in course_ids
        ),
        ["course_id", "submissions", "awaiting_teacher", "released", "auto_released"],
    )


# ------------------------------------------------------------------------------------ grading
def _grading(user: Any) -> tuple[Any, Any]:
    """grading.api's scoped querysets (predictions, teacher grades), built once per request.

    Building them asks which courses the user may see (two queries); the querysets are lazy,
    so each panel filters a clone. Kept on the user object, as ``eduai.courses.access`` does.
    """
    cached = getattr(user, "_dashboards_grading", None)
    if cached is None:
        from grading import api as grading

        cached = (grading.predictions_visible(user=user), grading.teacher_grades_visible(user=user))
        user._dashboards_grading = cached
    return cached


def latest_proposal_counts(*, user: Any, course_id: int) -> pd.DataFrame:
    """The newest proposal of each submission, counted per assignment and score."""
    preds = _grading(user)[0].filter(submission__assignment__course_id=course_id)
    newer = preds.model.objects.filter(submission_id=OuterRef("submission_id"), id__gt=OuterRef("id"))
    rows = (
        preds.filter(~Exists(newer))
        .values("submission__assignment_id", "score")
        .annotate(n=Count("id"))
        .values_list("submission__assignment_id", "score", "n")
    )
    return _frame(
        ({"assignment_id": a, "score": s, "count": n} for a, s, n in rows), ["assignment_id", "score", "count"]
    )


PAIR_COLUMNS = [
    "course_id",
    "assignment_id",
    "submission_id",
    "student_id",
    "model_version",
    "proposal",
    "teacher",
    "decided_at",
    "min_score",
    "max_score",
]


def agreement_pairs(*, user: Any, course_ids: list[int]) -> pd.DataFrame:
    """(model proposal, teacher grade) pairs, one per teacher-graded submission, in one query.

    The proposal is the one the teacher had on screen when the grade links it; otherwise the
    newest proposal made before the grade (as the review loop pairs them: a later model may
    have been trained on that grade, so its score would not be an independent opinion).
    """
    predictions, teacher_grades = _grading(user)
    grades = teacher_grades.filter(assignment__course_id__in=course_ids)
    before = predictions.filter(
        submission_id=OuterRef("submission_id"), created_at__lte=OuterRef("updated_at")
    ).order_by("-id")
    rows = grades.annotate(
        proposal=Coalesce(F("prediction__score"), Subquery(before.values("score")[:1])),
        version=Coalesce(F("prediction__model__version"), Subquery(before.values("model__version")[:1])),
    ).values_list(
        "assignment__course_id",
        "assignment_id",
        "submission_id",
        "submission__author_id",
        "version",
        "proposal",
        "score",
        "updated_at",
        "assignment__min_score",
        "assignment__max_score",
    )
    df = pd.DataFrame(list(rows), columns=PAIR_COLUMNS)
    return df.dropna(subset=["proposal"]).reset_index(drop=True)


def most_graded_course(*, user: Any, course_ids: list[int]) -> int | None:
    row = (
        _grading(user)[1]
        .filter(assignment__course_id__in=course_ids)
        .values("assignment__course_id")
        .annotate(n=Count("id"))
        .order_by("-n", "assignment__course_id")
        .values_list("assignment__course_id", flat=True)
        .first()
    )
    return None if row is None else int(row)


def grading_models(*, course_ids: list[int]) -> pd.DataFrame:
    """The model registry of these courses' assignments (training history, failures), oldest
    first, through grading.api in one query."""
    from grading import api as grading

    cols = [f.name for f in dataclasses.fields(grading.GradingModelData)]
    rows = (dataclasses.astuple(m) for m in grading.models_for_courses(course_ids=course_ids))
    return _frame(rows, cols).rename(columns={"id": "model_id"})


def scoring_latency(*, user: Any, course_ids: list[int], now: datetime) -> pd.DataFrame:
    """Per day of the last 90: proposals made, mean and slowest scoring time (seconds/essay)."""
    rows = (
        _grading(user)[0]
        .filter(submission__assignment__course_id__in=course_ids, created_at__gte=now - timedelta(days=SERIES_DAYS))
        .annotate(day=TruncDate("created_at"))
        .values("day")
        .annotate(n=Count("id"), mean=Avg("seconds"), worst=Max("seconds"))
        .order_by("day")
        .values_list("day", "n", "mean", "worst")
    )
    return _frame(
        ({"day": d, "proposals": n, "mean_seconds": m, "max_seconds": w} for d, n, m, w in rows),
        ["day", "proposals", "mean_seconds", "max_seconds"],
    )


def score_drift(*, user: Any, course_ids: list[int], now: datetime) -> pd.DataFrame:
    """Per week: mean proposal and mean grade of record, each as % of the rubric range.

    A gap that opens between the two lines is drift (the model scoring higher or lower than
    the grades that stand); both are normalised so assignments on different scales mix.
    """
    since = now - timedelta(days=SERIES_DAYS * 2)
    span = F("submission__assignment__max_score") - F("submission__assignment__min_score")
    proposals = (
        _grading(user)[0]
        .filter(submission__assignment__course_id__in=course_ids, created_at__gte=since)
        .annotate(week=TruncWeek("created_at"))
        .values("week")
        .annotate(
            n=Count("id"),
            mean=Avg((F("score") - F("submission__assignment__min_score")) * 100.0 / span),
        )
        .values_list("week", "n", "mean")
    )
    span_s = F("assignment__max_score") - F("assignment__min_score")
    finals = (
        Submission.objects.filter(
            assignment__course_id__in=course_ids, final_score__isnull=False, submitted_at__gte=since
        )
        .annotate(week=TruncWeek("submitted_at"))
        .values("week")
        .annotate(n=Count("id"), mean=Avg((F("final_score") - F("assignment__min_score")) * 100.0 / span_s))
        .values_list("week", "n", "mean")
    )
    a = pd.DataFrame(list(proposals), columns=["week", "proposals", "mean_proposal_pct"])
    b = pd.DataFrame(list(finals), columns=["week", "grades", "mean_grade_pct"])
    df = a.merge(b, on="week", how="outer").sort_values("week").reset_index(drop=True)
    df[["proposals", "grades"]] = df[["proposals", "grades"]].fillna(0).astype(int)
    return df


# --------------------------------------------------------------------------------- assessment
def mastery_matrix(*, course_id: int) -> pd.DataFrame:
    """Latest mastery per (student, skill) of the course's active students, long form, in one
    query (assessment.api.latest_mastery without the times, which the matrix does not show and
    which cost five times the rest of the read to load); only estimates backed by evidence (a
    skill nobody answered shows as a gap)."""
    from assessment import api as assessment

    return _frame(
        (
            {"student_id": r.student_id, "skill_id": r.skill_id, "p": r.p, "n_evidence": r.n_evidence}
            for r in assessment.latest_mastery(course_id=course_id, with_time=False)
        ),
        ["student_id", "skill_id", "p", "n_evidence"],
    )


def mastery_distribution(*, course_id: int, now: datetime) -> pd.DataFrame:
    """Class mastery per skill per week over the last 26: the mean of the estimates made that
    week (students who had evidence on the skill that week), aggregated in the database by
    assessment.api.weekly_mastery. Not ``course_mastery_distribution``: it carries every
    student's estimate forward week by week in Python (about 10 s for 200,000 history rows)."""
    from assessment import api as assessment

    return _frame(
        (
            {"skill_id": w.skill_id, "week": w.week, "students": w.n_students, "mean_pct": 100.0 * w.mean}
            for w in assessment.weekly_mastery(course_id=course_id, since=now - timedelta(weeks=MASTERY_WEEKS))
        ),
        ["skill_id", "week", "students", "mean_pct"],
    )


def course_risk(*, course_id: int) -> pd.DataFrame:
    """Every active student's risk of failing or dropping (assessment.api.course_risk)."""
    from assessment import api as assessment

    return _frame(
        (
            {"student_id": r.student_id, "risk_pct": 100.0 * r.probability, "reasons": " · ".join(r.reasons)}
            for r in assessment.course_risk(course_id=course_id)
        ),
        ["student_id", "risk_pct", "reasons"],
    )


def risk_threshold_pct() -> float:
    from assessment import risk

    return 100.0 * float(risk.DEFAULT_THRESHOLD)


def student_mastery(*, course_id: int, student_id: int) -> pd.DataFrame:
    from assessment import api as assessment

    rows = assessment.mastery_for_student(student_id=student_id, course_id=course_id)
    return _frame(
        (
            {
                "skill_id": sid,
                "mastery_pct": 100.0 * m.p,
                "trend_pct_points": 100.0 * m.trend,
                "evidence": m.n_evidence,
                "updated_at": m.updated_at,
            }
            for sid, m in rows.items()
        ),
        ["skill_id", "mastery_pct", "trend_pct_points", "evidence", "updated_at"],
    )


def student_history(*, course_id: int, student_id: int) -> pd.DataFrame:
    """Mastery after each piece of evidence: per skill, and overall (skill_id empty)."""
    from assessment import api as assessment

    t = assessment.mastery_history(student_id=student_id, course_id=course_id)
    rows = [{"skill_id": None, "at": p.at, "mastery_pct": 100.0 * p.p} for p in t.overall]
    rows += [{"skill_id": sid, "at": p.at, "mastery_pct": 100.0 * p.p} for sid, pts in t.skills.items() for p in pts]
    return _frame(rows, ["skill_id", "at", "mastery_pct"])


# -------------------------------------------------------------------------------- review loop
def released_grades(*, user: Any, submission_ids: list[int]) -> dict[int, Any]:
    """What was released of each submission (score, feedback, comment), as the viewer may see it."""
    from grading.review import api as review

    return {sid: review.released_grade(user=user, submission_id=sid) for sid in submission_ids}


def feedback_texts(items: Any) -> list[str]:
    from grading.review import selectors as review_selectors

    return review_selectors.feedback_texts(items)


def agreement_report(*, user: Any, course_id: int) -> Any:
    from grading.review import api as review

    return review.agreement_for_course(user=user, course_id=course_id, detail=True)


# -------------------------------------------------------------------------------- recommender
def recommendations_of(*, user: Any, course_id: int, student_id: int, staff: bool) -> pd.DataFrame:
    """A student's current list: theirs through the recommender's api; a teacher's view of it
    from the recommender's cache (the api computes lists for the signed-in student only)."""
    from recommender import api as recommender
    from recommender import selectors as rec_selectors

    if staff:
        lst = rec_selectors.cached_recommendations(student_id=student_id, course_id=course_id)
    else:
        lst = recommender.recommendations_for(user=user, course_id=course_id)
    items = lst.items if lst is not None else ()
    return _frame(
        (
            {
                "rank": i + 1,
                "kind": r.kind,
                "activity_id": r.id,
                "title": r.title,
                "score": r.score,
                "why": " ".join(t for t in (recommender.reason_text(x) for x in r.reasons) if t),
            }
            for i, r in enumerate(items)
        ),
        ["rank", "kind", "activity_id", "title", "score", "why"],
    )


def recommended_and_used(*, course_id: int, now: datetime) -> pd.DataFrame:
    """Per activity: students whose current list holds it, and students who used it lately.

    The counts of the lists come from the recommender's api in one query (the views have
    checked the user teaches the course). The recommender keeps no log of what was shown when,
    so "used" counts distinct students with activity on it in the last 28 days (the core's
    activity events), whoever recommended it.
    """
    from recommender import api as recommender

    recs = recommender.recommended_activity_counts(course_id=course_id)
    used = (
        ActivityEvent.objects.filter(
            course_id=course_id, timestamp__gte=now - timedelta(days=RECENT_DAYS), voided=False
        )
        .filter(Q(resource_id__isnull=False) | Q(practice_item_id__isnull=False))
        .values("resource_id", "practice_item_id")
        .annotate(n=Count("actor_id", distinct=True))
        .values_list("resource_id", "practice_item_id", "n")
    )
    used_by: dict[tuple[str, int], int] = {}
    for rid, pid, n in used:
        key = ("resource", rid) if rid is not None else ("practice", pid)
        used_by[key] = used_by.get(key, 0) + n
    df = _frame(
        (
            {
                "kind": r.kind,
                "activity_id": r.id,
                "title": r.title,
                "recommended_to_students": r.students,
                "in_top_3": r.in_top_3,
                "used_by_students_28_days": used_by.get((r.kind, r.id), 0),
            }
            for r in recs
        ),
        ["kind", "activity_id", "title", "recommended_to_students", "in_top_3", "used_by_students_28_days"],
    )
    return df.sort_values(["recommended_to_students", "title"], ascending=[False, True]).reset_index(drop=True)


# ----------------------------------------------------------------------------------- helpers
def qwk(model: np.ndarray, teacher: np.ndarray, lo: int, hi: int) -> float | None:
    """Quadratic weighted kappa (Cohen 1968), None where undefined (< 2 pairs, one score).

    Computed here with numpy rather than scikit-learn's ``cohen_kappa_score``: the same
    formula (checked against it in tests) at a twentieth of the cost per group, which matters
    for a school page with a group per course and model version.
    """
    if len(model) < 2:
        return None
    m = np.clip(model.astype(int), lo, hi) - lo
    t = np.clip(teacher.astype(int), lo, hi) - lo
    k = hi - lo + 1
    if len(set(m.tolist()) | set(t.tolist())) < 2:
        return None
    observed = np.zeros((k, k))
    np.add.at(observed, (t, m), 1.0)
    expected = np.outer(observed.sum(axis=1), observed.sum(axis=0)) / len(m)
    idx = np.arange(k)
    weights = (idx[:, None] - idx[None, :]) ** 2 / (k - 1) ** 2
    denominator = float((weights * expected).sum())
    if denominator == 0:
        return None
    return 1.0 - float((weights * observed).sum()) / denominator


def agreement_table(pairs: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Agreement figures per group: pairs, exact %, within one point %, QWK, mean model - teacher."""
    cols = [*by, "pairs", "exact_pct", "within_one_point_pct", "qwk", "mean_model_minus_teacher_points"]
    if pairs.empty:
        return pd.DataFrame(columns=cols)
    df = pairs.assign(diff=pairs["proposal"].astype(float) - pairs["teacher"].astype(float))
    out = []
    for key, g in df.groupby(by, sort=True, dropna=False):
        keys = key if isinstance(key, tuple) else (key,)
        out.append(
            {
                **dict(zip(by, keys, strict=True)),
                "pairs": len(g),
                "exact_pct": 100.0 * float((g["diff"] == 0).mean()),
                "within_one_point_pct": 100.0 * float((g["diff"].abs() <= 1).mean()),
                "qwk": qwk(
                    g["proposal"].to_numpy(),
                    g["teacher"].to_numpy(),
                    int(g["min_score"].min()),
                    int(g["max_score"].max()),
                ),
                "mean_model_minus_teacher_points": float(g["diff"].mean()),
            }
        )
    return pd.DataFrame(out, columns=cols)


def now() -> datetime:
    return timezone.now()
