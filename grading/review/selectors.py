"""Reads of the review loop, scoped to the asking user (``eduai.courses.access``).

- Staff reads (queue, review item, agreement): teachers, TAs and school admins of the course;
  anyone else gets ``Http404`` (pages and the API never confirm that a course exists).
- A student reads their own submissions only, and of those only what was released: the
  score, trait scores, feedback and evidence of the ``GradeRelease``. Under "review all"
  nothing of a proposal reaches them before a teacher decides and releases.

Queue order: least confident first, i.e. the widest prediction interval of the submission's
latest proposal, then the oldest submission. Every function runs a fixed number of queries,
whatever the number of submissions (pinned in tests).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from itertools import pairwise
from typing import Any

from django.db.models import Exists, F, OuterRef, Q, Subquery
from django.http import Http404
from django.utils.translation import gettext as _

from eduai.courses import access
from eduai.courses.models import Assignment, Course, Enrollment, Submission, SubmissionStatus
from grading.models import Prediction, TeacherGrade

from . import conf, explain, fairness
from .data import (
    AgreementReport,
    AssignmentAgreement,
    EventRow,
    FeedbackItem,
    QueueItem,
    QueuePage,
    ReleasedGrade,
    ReviewItem,
    Sentence,
    TraitScore,
    VersionDrift,
)
from .fairness import Agreement
from .models import GradeRelease, ReviewDecision, ReviewEvent

STATUS_WAITING = "waiting"
STATUS_REVIEWED = "reviewed"
STATUS_RELEASED = "released"
STATUS_ALL = "all"
STATUSES = (STATUS_WAITING, STATUS_REVIEWED, STATUS_RELEASED, STATUS_ALL)
_STATUS_FILTER = {
    STATUS_WAITING: (SubmissionStatus.SCORED, SubmissionStatus.SCORING),
    STATUS_REVIEWED: (SubmissionStatus.REVIEWED,),
    STATUS_RELEASED: (SubmissionStatus.RELEASED,),
    STATUS_ALL: (
        SubmissionStatus.SCORED,
        SubmissionStatus.SCORING,
        SubmissionStatus.REVIEWED,
        SubmissionStatus.RELEASED,
    ),
}
MAX_PAGE_SIZE = 200
NEIGHBOURS = 3
UNSPECIFIED = "unspecified"


def _name(first: str, last: str, display: str, username: str) -> str:
    return display or f"{first} {last}".strip() or username


# ----------------------------------------------------------------------------------- access
def staff_course(*, user: Any, course_id: int) -> Course:
    """The course if ``user`` may review its work (teacher, TA, school admin), else 404.

    The course carries ``review_role`` ("admin", "teacher", "ta") so a page asks only once.
    """
    course = Course.objects.select_related("school").filter(pk=course_id).first()
    role = access.course_role(user, course) if course is not None else None
    if course is None or role not in {"admin", "teacher", "ta"}:
        raise Http404(_("No such course among the courses you teach."))
    course.review_role = role  # type: ignore[attr-defined]
    return course


def can_manage(course: Course) -> bool:
    """Teachers and school admins (not TAs) may change the course's release policy."""
    return getattr(course, "review_role", None) in {"admin", "teacher"}


def staff_submission(*, user: Any, submission_id: int) -> Submission:
    sub = Submission.objects.select_related("assignment__course").filter(pk=submission_id).first()
    if sub is None or not access.can_teach(user, sub.assignment.course):
        raise Http404(_("No such submission in the courses you teach."))
    return sub


# ------------------------------------------------------------------------------------ queue
def _latest_prediction() -> Any:
    return Prediction.objects.filter(submission=OuterRef("pk")).order_by("-id")


def _queue_queryset(*, course_id: int, assignment_id: int | None, status: str):
    if status not in STATUSES:
        raise ValueError(f"unknown queue status {status!r}")
    latest = _latest_prediction()
    qs = Submission.objects.filter(assignment__course_id=course_id, status__in=_STATUS_FILTER[status])
    if assignment_id is not None:
        qs = qs.filter(assignment_id=assignment_id)
    qs = qs.annotate(
        pred_id=Subquery(latest.values("id")[:1]),
        width=Subquery(latest.annotate(w=F("interval_high") - F("interval_low")).values("w")[:1]),
    )
    if status == STATUS_WAITING:
        # Waiting means: a proposal exists and no teacher has decided (a decided submission is
        # reviewed/released, so the status filter already excludes it).
        return qs.filter(pred_id__isnull=False).order_by(F("width").desc(nulls_last=True), "submitted_at", "id")
    return qs.order_by("-updated_at", "-id")


def review_queue(
    *, user: Any, course_id: int, assignment_id: int | None = None, status: str = STATUS_WAITING, page: int = 1,
    page_size: int = 25,
) -> QueuePage:  # fmt: skip
    course = staff_course(user=user, course_id=course_id)
    return queue_page(course_id=course.pk, assignment_id=assignment_id, status=status, page=page, page_size=page_size)


def queue_page(
    *, course_id: int, assignment_id: int | None = None, status: str = STATUS_WAITING, page: int = 1,
    page_size: int = 25,
) -> QueuePage:  # fmt: skip
    """The queue of a course the caller already checked (``staff_course``)."""
    page_size = max(1, min(int(page_size), MAX_PAGE_SIZE))
    qs = _queue_queryset(course_id=course_id, assignment_id=assignment_id, status=status)
    total = qs.count()
    pages = max(1, -(-total // page_size))
    page = max(1, min(int(page), pages))
    start = (page - 1) * page_size
    rows = list(
        qs.values(
            "id", "assignment_id", "assignment__title", "assignment__min_score", "assignment__max_score",
            "author_id", "author__first_name", "author__last_name", "author__display_name", "author__username",
            "status", "submitted_at", "final_score", "pred_id", "review_decision__kind", "grade_release__kind",
            "teacher_grade__id",
        )[start : start + page_size]
    )  # fmt: skip
    preds = {
        r["id"]: r
        for r in Prediction.objects.filter(pk__in=[r["pred_id"] for r in rows if r["pred_id"]]).values(
            "id", "score", "interval_low", "interval_high", "interval_coverage", "model__version"
        )
    }
    items = tuple(_queue_item(r, preds.get(r["pred_id"])) for r in rows)
    return QueuePage(course_id=course_id, status=status, assignment_id=assignment_id, items=items, total=total,
                     page=page, page_size=page_size)  # fmt: skip


def _queue_item(r: Any, p: Any) -> QueueItem:
    decision = r["review_decision__kind"] or ("graded" if r["teacher_grade__id"] else "")
    return QueueItem(
        submission_id=r["id"], assignment_id=r["assignment_id"], assignment_title=r["assignment__title"],
        author_id=r["author_id"],
        author_name=_name(r["author__first_name"], r["author__last_name"], r["author__display_name"],
                          r["author__username"]),
        status=r["status"], submitted_at=r["submitted_at"], min_score=r["assignment__min_score"],
        max_score=r["assignment__max_score"], prediction_id=p["id"] if p else None,
        model_version=p["model__version"] if p else None, proposed_score=p["score"] if p else None,
        interval_low=p["interval_low"] if p else None, interval_high=p["interval_high"] if p else None,
        interval_coverage=p["interval_coverage"] if p else None, final_score=r["final_score"], decision=decision,
        released=r["status"] == SubmissionStatus.RELEASED, released_by=r["grade_release__kind"] or "",
    )  # fmt: skip


def queue_neighbours(
    *, course_id: int, submission_id: int, assignment_id: int | None = None, status: str = STATUS_WAITING
) -> tuple[int | None, int | None]:
    """(previous, next) submission ids around ``submission_id`` in the queue's order.

    When the submission is no longer in the queue (just decided), next is the queue's first item.
    """
    ids = list(
        _queue_queryset(course_id=course_id, assignment_id=assignment_id, status=status).values_list("id", flat=True)
    )
    if submission_id not in ids:
        return None, (ids[0] if ids else None)
    i = ids.index(submission_id)
    return (ids[i - 1] if i > 0 else None), (ids[i + 1] if i + 1 < len(ids) else None)


# ------------------------------------------------------------------------------ review item
def review_item(*, user: Any, submission_id: int, explanation: bool = True) -> ReviewItem:
    """One submission as the review page shows it; computes (and caches) the explanation."""
    sub = staff_submission(user=user, submission_id=submission_id)
    a = sub.assignment
    p = Prediction.objects.select_related("model").filter(submission_id=sub.pk).order_by("-id").first()
    decision = ReviewDecision.objects.filter(submission_id=sub.pk).first()
    grade = TeacherGrade.objects.filter(submission_id=sub.pk).first()
    release = GradeRelease.objects.filter(submission_id=sub.pk).first()
    author = sub.author
    traits_meta = list(a.traits.all())
    proposed_traits = (p.trait_scores or {}) if p else {}
    final_traits = (grade.trait_scores or {}) if grade else {}
    traits = tuple(
        TraitScore(
            name=t.name, min_score=t.min_score, max_score=t.max_score,
            proposed=_int_or_none((proposed_traits.get(t.name) or {}).get("score")),
            low=(proposed_traits.get(t.name) or {}).get("low"), high=(proposed_traits.get(t.name) or {}).get("high"),
            final=_int_or_none(final_traits.get(t.name)),
        )
        for t in traits_meta
    )  # fmt: skip
    queue = QueueItem(
        submission_id=sub.pk, assignment_id=a.pk, assignment_title=a.title, author_id=author.pk,
        author_name=author.label, status=sub.status, submitted_at=sub.submitted_at, min_score=a.min_score,
        max_score=a.max_score, prediction_id=p.pk if p else None, model_version=p.model.version if p else None,
        proposed_score=p.score if p else None, interval_low=p.interval_low if p else None,
        interval_high=p.interval_high if p else None, interval_coverage=p.interval_coverage if p else None,
        final_score=sub.final_score, decision=decision.kind if decision else ("graded" if grade else ""),
        released=sub.status == SubmissionStatus.RELEASED, released_by=release.kind if release else "",
    )  # fmt: skip
    expl = None
    if p is not None and explanation:
        from .services import explanation_compute

        expl = explanation_compute(prediction_id=p.pk)
    feedback = _draft_feedback(a, traits_meta, p, grade)
    neighbours = explain.similar_graded(
        submission_id=sub.pk, assignment_id=a.pk, k=NEIGHBOURS, encoder_key=p.model.embedding_key if p else ""
    )
    return ReviewItem(
        queue=queue, course_id=a.course_id, text=sub.text, language=sub.language or a.text_language, prompt=a.prompt,
        traits=traits, explanation=expl, neighbours=tuple(neighbours), feedback=tuple(feedback),
        events=events_for(submission_id=sub.pk), revision=decision.revision if decision else 0,
        model_mistake=decision.model_mistake if decision else False, teacher_comment=grade.comment if grade else "",
        interval_coverage=p.interval_coverage if p else None,
        release_feedback=tuple(i.key for i in explain.feedback_from_stored(release.feedback)) if release else (),
        release_evidence=bool(release and release.show_evidence),
    )  # fmt: skip


def _draft_feedback(a: Assignment, traits_meta: list, p: Prediction | None, grade: TeacherGrade | None):
    """Comments drafted from the grade the student would get: the teacher's once decided."""
    if grade is not None:
        score, scores = grade.score, dict(grade.trait_scores or {})
    elif p is not None:
        score = p.score
        scores = {k: v.get("score") for k, v in (p.trait_scores or {}).items() if isinstance(v, dict)}
    else:
        score, scores = None, {}
    return explain.feedback_items(
        score=score, min_score=a.min_score, max_score=a.max_score,
        traits=[(t.name, t.description, t.min_score, t.max_score, scores.get(t.name)) for t in traits_meta],
    )  # fmt: skip


def decision_feedback(*, user: Any, submission_id: int) -> list[FeedbackItem]:
    """The feedback comments a decision form offers (what ``review_item`` drafts), cheaply."""
    sub = staff_submission(user=user, submission_id=submission_id)
    p = Prediction.objects.filter(submission_id=sub.pk).order_by("-id").first()
    grade = TeacherGrade.objects.filter(submission_id=sub.pk).first()
    return _draft_feedback(sub.assignment, list(sub.assignment.traits.all()), p, grade)


def _int_or_none(value: object) -> int | None:
    try:
        return None if value is None else int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return None


def events_for(*, submission_id: int) -> tuple[EventRow, ...]:
    rows = ReviewEvent.objects.filter(submission_id=submission_id).select_related("actor").order_by("id")
    return tuple(
        EventRow(
            id=e.pk, kind=e.kind, actor=e.actor.label if e.actor else "", score=e.score,
            previous_score=e.previous_score, model_version=e.model_version, comment=e.comment,
            model_mistake=e.model_mistake, detail=dict(e.detail or {}), created_at=e.created_at,
        )
        for e in rows
    )  # fmt: skip


# --------------------------------------------------------------------------------- students
def released_grade(*, user: Any, submission_id: int) -> ReleasedGrade:
    """What the author (or the course's staff) may see as released; 404 for anyone else."""
    sub = Submission.objects.select_related("assignment__course").filter(pk=submission_id).first()
    if sub is None or not getattr(user, "is_authenticated", False):
        raise Http404(_("No such submission."))
    if sub.author_id != user.pk and not access.can_teach(user, sub.assignment.course):
        raise Http404(_("No such submission."))
    return _released(sub, GradeRelease.objects.filter(submission_id=sub.pk).first())


def my_released_grades(*, user: Any) -> list[ReleasedGrade]:
    """The user's own submissions, newest first, each with what was released of it."""
    if not getattr(user, "is_authenticated", False):
        return []
    subs = list(Submission.objects.filter(author=user).select_related("assignment__course").order_by("-submitted_at"))
    releases = {r.submission_id: r for r in GradeRelease.objects.filter(submission_id__in=[s.pk for s in subs])}
    return [_released(s, releases.get(s.pk), with_traits=False) for s in subs]


def _released(sub: Submission, release: GradeRelease | None, *, with_traits: bool = True) -> ReleasedGrade:
    a = sub.assignment
    base: dict[str, Any] = {"submission_id": sub.pk, "assignment_title": a.title, "course_id": a.course_id,
            "course_code": a.course.code, "text": sub.text, "status": sub.status}  # fmt: skip
    if sub.status != SubmissionStatus.RELEASED or sub.final_score is None:
        return ReleasedGrade(released=False, **base)
    if release is None:
        # Released outside the review loop (e.g. an LMS import marked it released): the score only.
        return ReleasedGrade(released=True, score=sub.final_score, min_score=a.min_score, max_score=a.max_score, **base)
    traits: tuple[TraitScore, ...] = ()
    if with_traits:
        traits = tuple(
            TraitScore(name=t.name, min_score=t.min_score, max_score=t.max_score, proposed=None, low=None, high=None,
                       final=_int_or_none((release.trait_scores or {}).get(t.name)))
            for t in a.traits.all()
            if (release.trait_scores or {}).get(t.name) is not None
        )  # fmt: skip
    evidence: tuple[Sentence, ...] = ()
    if release.show_evidence:
        evidence = explain.sentences_from(sub.text, release.evidence or [])
    return ReleasedGrade(
        released=True, score=release.score, min_score=a.min_score, max_score=a.max_score, trait_scores=traits,
        feedback=tuple(explain.feedback_from_stored(release.feedback or [])), comment=release.comment,
        evidence=evidence, released_at=release.released_at, released_by=release.kind, **base,
    )  # fmt: skip


def feedback_texts(items: Iterable[FeedbackItem]) -> list[str]:
    return [explain.feedback_text(i) for i in items]


# -------------------------------------------------------------------------------- agreement
def _pairs(assignment_ids: list[int]) -> list[dict]:
    """(proposal, teacher grade) pairs of these assignments, newest decision first.

    The proposal is the one the teacher had on screen (``TeacherGrade.prediction``); for a grade
    entered elsewhere, the newest proposal made before the grade (a later model may have trained
    on that very grade, so its score would not be an independent opinion).
    """
    if not assignment_ids:
        return []
    grades = list(
        TeacherGrade.objects.filter(assignment_id__in=assignment_ids).values_list(
            "submission_id", "assignment_id", "score", "prediction_id", "updated_at", "submission__author_id"
        )
    )
    by_sub: dict[int, list[tuple[int, int, Any, int]]] = defaultdict(list)
    for pid, sid, score, created, version in (
        Prediction.objects.filter(submission__assignment_id__in=assignment_ids)
        .filter(Exists(TeacherGrade.objects.filter(submission_id=OuterRef("submission_id"))))
        .values_list("id", "submission_id", "score", "created_at", "model__version")
        .order_by("id")
    ):
        by_sub[sid].append((pid, score, created, version))
    pairs = []
    for sid, aid, t_score, shown, updated, author in grades:
        preds = by_sub.get(sid, [])
        chosen = next((x for x in preds if x[0] == shown), None) if shown else None
        if chosen is None:
            before = [x for x in preds if x[2] <= updated]
            chosen = before[-1] if before else None
        if chosen is None:
            continue
        pairs.append({"submission_id": sid, "assignment_id": aid, "model": chosen[1], "teacher": t_score,
                      "at": updated, "author_id": author, "model_version": chosen[3]})  # fmt: skip
    pairs.sort(key=lambda r: (r["at"], r["submission_id"]), reverse=True)
    return pairs


def _figures(pairs: list[dict], lo: int, hi: int) -> Agreement:
    return fairness.agreement([p["model"] for p in pairs], [p["teacher"] for p in pairs], lo, hi)


def _below(recent: Agreement, floor: float | None) -> bool:
    return floor is not None and recent.qwk is not None and recent.n >= conf.min_pairs() and recent.qwk < floor


def agreement_for_assignment(*, user: Any, assignment_id: int, detail: bool = True) -> AgreementReport:
    a = Assignment.objects.select_related("course").filter(pk=assignment_id).first()
    if a is None or not access.can_teach(user, a.course):
        raise Http404(_("No such assignment in the courses you teach."))
    return _report("assignment", a.pk, [a], a.course_id, detail=detail)


def agreement_for_course(*, user: Any, course_id: int, detail: bool = True) -> AgreementReport:
    course = staff_course(user=user, course_id=course_id)
    return course_agreement(course_id=course.pk, detail=detail)


def course_agreement(*, course_id: int, detail: bool = True) -> AgreementReport:
    """Agreement of a course the caller already checked (``staff_course``)."""
    assignments = list(Assignment.objects.filter(course_id=course_id).order_by("id"))
    return _report("course", course_id, assignments, course_id, detail=detail)


def _report(
    scope: str, scope_id: int, assignments: list[Assignment], course_id: int, *, detail: bool
) -> AgreementReport:
    pairs = _pairs([a.pk for a in assignments])
    window = conf.recent_window()
    # Pooled figures over assignments use the union of their scales (QWK is only comparable
    # across assignments that share a scale; per-assignment rows are the ones to act on).
    lo = min((a.min_score for a in assignments), default=0)
    hi = max((a.max_score for a in assignments), default=1)
    by_assignment = []
    for a in assignments:
        mine = [p for p in pairs if p["assignment_id"] == a.pk]
        recent = _figures(mine[:window], a.min_score, a.max_score)
        by_assignment.append(
            AssignmentAgreement(
                assignment_id=a.pk, title=a.title, min_score=a.min_score, max_score=a.max_score,
                overall=_figures(mine, a.min_score, a.max_score), recent=recent, floor=a.auto_release_min_qwk,
                below_floor=_below(recent, a.auto_release_min_qwk),
            )
        )  # fmt: skip
    notes = []
    if len(pairs) < conf.min_pairs():
        notes.append(_("Fewer than %(n)s decided proposals: agreement is not judged yet.") % {"n": conf.min_pairs()})
    extra: dict[str, Any] = {}
    if detail:
        extra["by_language_background"] = tuple(_by_language_background(pairs, course_id))
        extra["by_length"] = tuple(_by_length(pairs))
        extra["drift"] = tuple(d for a in assignments for d in _drift(a))
    return AgreementReport(
        scope=scope, scope_id=scope_id, overall=_figures(pairs, lo, hi), recent=_figures(pairs[:window], lo, hi),
        below_floor=any(b.below_floor for b in by_assignment), by_assignment=tuple(by_assignment),
        notes=tuple(notes), **extra,
    )  # fmt: skip


def _by_language_background(pairs: list[dict], course_id: int):
    backgrounds = dict(
        Enrollment.objects.filter(course_id=course_id, user_id__in={p["author_id"] for p in pairs}).values_list(
            "user_id", "language_background"
        )
    )
    rows = [((backgrounds.get(p["author_id"]) or "").strip() or UNSPECIFIED, p["model"], p["teacher"]) for p in pairs]
    return fairness.signed_differences(rows)


def _by_length(pairs: list[dict]):
    texts = {
        sid: (text, lang)
        for sid, text, lang in Submission.objects.filter(pk__in=[p["submission_id"] for p in pairs]).values_list(
            "id", "text", "language"
        )
    }
    rows = []
    for p in pairs:
        text, lang = texts.get(p["submission_id"], ("", "en"))
        rows.append((fairness.length_band(text, lang or "en"), p["model"], p["teacher"]))
    return fairness.signed_differences(rows)


def _drift(a: Assignment) -> list[VersionDrift]:
    by_version: dict[int, dict[int, int]] = defaultdict(dict)
    for version, sid, score in Prediction.objects.filter(submission__assignment_id=a.pk).values_list(
        "model__version", "submission_id", "score"
    ):
        by_version[version][sid] = score
    versions = sorted(by_version)
    out = []
    for old, new in pairwise(versions):
        va, vb = by_version[old], by_version[new]
        common = sorted(set(va) & set(vb))
        paired = [vb[s] - va[s] for s in common]
        out.append(
            VersionDrift(
                assignment_id=a.pk, assignment_title=a.title, from_version=old, to_version=new,
                drift=fairness.distribution_drift(list(va.values()), list(vb.values()), a.min_score, a.max_score),
                paired_n=len(common), paired_mean_change=(sum(paired) / len(paired)) if paired else None,
            )
        )  # fmt: skip
    return out


def course_assignments(*, course_id: int) -> list[tuple[int, str]]:
    return list(Assignment.objects.filter(course_id=course_id).order_by("id").values_list("id", "title"))


# ---------------------------------------------------------------------------------- training
def training_weights(*, assignment_id: int) -> dict[int, float]:
    """{submission id: sample weight} of the assignment's essays weighted other than 1.0."""
    return dict(
        ReviewDecision.objects.filter(assignment_id=assignment_id)
        .filter(~Q(weight=1.0))
        .values_list("submission_id", "weight")
    )
