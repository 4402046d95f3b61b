"""Students at risk: a calibrated probability of failing or dropping a course, with reasons.

Contract: ``course_risk(course_id=...)`` returns one :class:`RiskData` per active student of the
course, probability in (0, 1); everyone at or above ``threshold`` has at least one reason in
plain words ("no activity for 12 days", "mastery of Fractions falling (72% to 51%)").

Features (one :class:`Snapshot` per student, the same function for the live course, the
simulated population and the interaction-log evaluation):

==================  ==========================================================================
log_days_inactive   log(1 + days since the last activity event or submission)
log_events_14d      log(1 + activity events in the last 14 days)
missing_rate        assignments due so far with no submission / assignments due so far
late_rate           assignments first submitted after their due time / assignments due
grade               mean released grade, normalised to [0, 1] (0.7 when none yet)
no_grade            1 when no grade has been released yet
mastery             mean mastery over skills with evidence (0.5 when none)
no_mastery          1 when there is no practice evidence yet
mastery_fall        how fast the student's fastest-falling skill falls: max(0, -min trend)
low_share           share of the student's skills with mastery below 40%
==================  ==========================================================================

Model: standardised features -> logistic regression (scikit-learn). Logistic regression fitted
by log-loss is calibrated on its training population by construction (it is Platt scaling of a
linear score); ``evaluate_risk`` checks that on held-out students with a reliability table and
the Brier score. Reasons are the features whose contribution ``coef_j * z_j`` (log-odds above
an average student) is largest, worded with the student's own numbers and weakest skills.

Where the coefficients come from: by default a simulated population (``simulate_cohort``,
documented in docs/assessment.md), because a school has no failure/drop labels until its
courses end. That is a prior: the probabilities are calibrated on the simulation, not on your
school; refit on a school's closed courses when it has some (``RiskModel.fit``).
"""

from __future__ import annotations

import json
import math
import threading
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from django.utils.translation import gettext as _

from .data import RiskData

FEATURES = (
    "log_days_inactive",
    "log_events_14d",
    "missing_rate",
    "late_rate",
    "grade",
    "no_grade",
    "mastery",
    "no_mastery",
    "mastery_fall",
    "low_share",
)
# Mastery below this counts as "low" (a skill the student more likely has not learned).
LOW_MASTERY = 0.4
# A trend below this (5 pieces of evidence) is "falling": larger than BKT's one-step noise.
FALLING = -0.1
# Contributions under this (log-odds) are too small to be worth telling a teacher about.
MIN_REASON_LOGODDS = 0.15
MAX_REASONS = 3
DEFAULT_THRESHOLD = 0.5


@dataclass(frozen=True)
class SkillState:
    name: str
    p: float
    trend: float


@dataclass(frozen=True)
class Snapshot:
    student_id: int
    days_inactive: float
    events_14d: int
    n_due: int
    n_missing: int
    n_late: int
    mean_grade: float | None
    skills: tuple[SkillState, ...] = field(default_factory=tuple)


def features(s: Snapshot) -> np.ndarray:
    due = max(s.n_due, 1)
    ps = [k.p for k in s.skills]
    trends = [k.trend for k in s.skills]
    return np.array(
        [
            math.log1p(max(s.days_inactive, 0.0)),
            math.log1p(max(s.events_14d, 0)),
            s.n_missing / due if s.n_due else 0.0,
            s.n_late / due if s.n_due else 0.0,
            s.mean_grade if s.mean_grade is not None else 0.7,
            1.0 if s.mean_grade is None else 0.0,
            float(np.mean(ps)) if ps else 0.5,
            0.0 if ps else 1.0,
            max(0.0, -min(trends)) if trends else 0.0,
            float(np.mean([p < LOW_MASTERY for p in ps])) if ps else 0.0,
        ]
    )


class RiskModel:
    """Standardised logistic regression with explanations; JSON-serialisable."""

    def __init__(self, C: float = 1.0) -> None:
        self.C = C
        self.mean = np.zeros(len(FEATURES))
        self.scale = np.ones(len(FEATURES))
        self.coef = np.zeros(len(FEATURES))
        self.intercept = 0.0
        self.trained_on: dict[str, Any] = {}

    def fit(self, X: np.ndarray, y: np.ndarray, *, source: str = "") -> RiskModel:
        from sklearn.linear_model import LogisticRegression

        X = np.asarray(X, dtype=float)
        y = np.asarray(y, dtype=int)
        if len(set(y.tolist())) < 2:
            raise ValueError("risk model needs both outcomes (some students failing or dropping, some not)")
        self.mean = X.mean(0)
        sd = X.std(0)
        self.scale = np.where(sd > 1e-9, sd, 1.0)
        lr = LogisticRegression(C=self.C, max_iter=1000)
        lr.fit((X - self.mean) / self.scale, y)
        self.coef = lr.coef_[0].astype(float)
        self.intercept = float(lr.intercept_[0])
        self.trained_on = {"source": source, "n": len(y), "positive_rate": float(y.mean())}
        return self

    def logits(self, X: np.ndarray) -> np.ndarray:
        return ((np.atleast_2d(X) - self.mean) / self.scale) @ self.coef + self.intercept

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-self.logits(X)))

    def contributions(self, x: np.ndarray) -> np.ndarray:
        """Log-odds each feature adds compared with an average student of the training data."""
        return (x - self.mean) / self.scale * self.coef

    def to_json(self) -> dict[str, Any]:
        return {
            "features": list(FEATURES),
            "C": self.C,
            "mean": self.mean.tolist(),
            "scale": self.scale.tolist(),
            "coef": self.coef.tolist(),
            "intercept": self.intercept,
            "trained_on": self.trained_on,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RiskModel:
        if list(data.get("features", [])) != list(FEATURES):
            raise ValueError("risk model was trained on other features")
        m = cls(C=float(data["C"]))
        m.mean, m.scale = np.array(data["mean"]), np.array(data["scale"])
        m.coef, m.intercept = np.array(data["coef"]), float(data["intercept"])
        m.trained_on = dict(data.get("trained_on", {}))
        return m

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_json(), indent=1))

    @classmethod
    def load(cls, path: Path) -> RiskModel:
        return cls.from_json(json.loads(path.read_text()))


def _pct(p: float) -> str:
    return f"{round(100 * p)}%"


def reasons(model: RiskModel, s: Snapshot, *, flagged: bool) -> list[str]:
    """Plain-word reasons, strongest first. A flagged student always gets at least one."""
    x = features(s)
    contrib = model.contributions(x)
    order = np.argsort(-contrib)
    out: list[str] = []
    for j in order:
        if len(out) >= MAX_REASONS:
            break
        if contrib[j] < MIN_REASON_LOGODDS and (out or not flagged or contrib[j] <= 0):
            break
        text = _reason(FEATURES[j], s)
        if text and text not in out:
            out.append(text)
    if flagged and not out:
        out.append(_("overall pattern is like that of students who failed or dropped the course"))
    return out


def _reason(name: str, s: Snapshot) -> str | None:
    skills = sorted(s.skills, key=lambda k: k.p)
    if name == "log_days_inactive":
        days = int(s.days_inactive)
        return _("no activity for %(days)d days") % {"days": days} if days >= 1 else None
    if name == "log_events_14d":
        return _("only %(n)d learning activities in the last 14 days") % {"n": s.events_14d}
    if name == "missing_rate" and s.n_missing:
        return _("%(missing)d of %(due)d assignments due so far not submitted") % {
            "missing": s.n_missing,
            "due": s.n_due,
        }
    if name == "late_rate" and s.n_late:
        return _("%(late)d of %(due)d assignments submitted late") % {"late": s.n_late, "due": s.n_due}
    if name == "grade" and s.mean_grade is not None:
        return _("average grade %(grade)s") % {"grade": _pct(s.mean_grade)}
    if name == "no_grade":
        return _("no graded work yet")
    if name == "no_mastery":
        return _("no practice answers yet")
    if name == "mastery" and skills:
        weakest = skills[0]
        return _("low mastery of %(skill)s (%(p)s)") % {"skill": weakest.name, "p": _pct(weakest.p)}
    if name == "mastery_fall" and s.skills:
        worst = min(s.skills, key=lambda k: k.trend)
        if worst.trend <= FALLING:
            return _("mastery of %(skill)s falling (%(before)s to %(now)s)") % {
                "skill": worst.name,
                "before": _pct(worst.p - worst.trend),
                "now": _pct(worst.p),
            }
        return None
    if name == "low_share" and skills:
        low = [k for k in skills if k.p < LOW_MASTERY]
        if low:
            return _("%(low)d of %(n)d skills below %(limit)s mastery") % {
                "low": len(low),
                "n": len(skills),
                "limit": _pct(LOW_MASTERY),
            }
    return None


# ---------------------------------------------------------------------------------------------
# Simulated population (the default model's training data, and one evaluation)
# ---------------------------------------------------------------------------------------------

SIM_WEEKS = 12
SIM_SNAPSHOT_WEEK = 6
SIM_SKILLS = 5
SIM_ASSIGNMENT_EVERY = 2  # weeks


def simulate_cohort(n: int, seed: int) -> tuple[list[Snapshot], np.ndarray]:
    """Simulate ``n`` students over a 12-week course and return their week-6 snapshots and
    whether they failed (final grade < 50%, missing work counting 0) or dropped (no activity in
    the last 3 weeks). Mastery comes from the real default BKT run on simulated answers.

    Generative story (all weekly): latent ability a ~ N(0, 1) and engagement e ~ N(0, 1) with
    correlation 0.3; a student drops out with hazard sigmoid(-4 - 1.2 e + 0.4 week/12 ... );
    active students do Poisson(exp(1.2 + 0.6 e)) practice answers on the week's skill with
    P(correct) = sigmoid(a + 0.25 * weeks practised on it - 0.5) and submit each fortnightly
    assignment with P = sigmoid(2 + 1.5 e), late with P = sigmoid(-1.5 - e), graded
    sigmoid(0.4 + a + N(0, 0.6)). Ability and engagement can also drift down mid-course
    (10% of students, the "struggling" trend a teacher should see).
    """
    from .kt.base import Response
    from .kt.bkt import BKT

    rng = np.random.default_rng(seed)
    bkt = BKT()
    snaps: list[Snapshot] = []
    labels = np.zeros(n, dtype=int)
    skill_names = [f"Skill {k + 1}" for k in range(SIM_SKILLS)]
    for i in range(n):
        z = rng.multivariate_normal([0, 0], [[1, 0.3], [0.3, 1]])
        ability, engage = float(z[0]), float(z[1])
        decline_week = int(rng.integers(2, SIM_WEEKS)) if rng.random() < 0.2 else None
        dropped_week: int | None = None
        state = bkt.new_state()
        events_by_week = np.zeros(SIM_WEEKS, dtype=int)
        grades: list[float | None] = []
        late: list[bool] = []
        history: dict[str, list[float]] = defaultdict(list)
        snap: Snapshot | None = None
        for week in range(SIM_WEEKS):
            if week == SIM_SNAPSHOT_WEEK:
                snap = _sim_snapshot(i, week, events_by_week, grades, late, history, skill_names)
            a, e = ability, engage
            if decline_week is not None and week >= decline_week:
                a, e = ability - 2.5, engage - 0.7
            if dropped_week is None and rng.random() < _sigmoid(-4.5 - 1.2 * e):
                dropped_week = week
            if dropped_week is not None:
                if week % SIM_ASSIGNMENT_EVERY == 1:
                    grades.append(None)
                    late.append(False)
                continue
            skill = skill_names[(week // 2) % SIM_SKILLS]
            n_answers = int(rng.poisson(math.exp(1.2 + 0.6 * e)))
            events_by_week[week] = n_answers + int(rng.poisson(2))
            for _k in range(n_answers):
                practised = len(history[skill])
                correct = float(rng.random() < _sigmoid(a + 0.25 * min(practised, 8) / 2 - 0.5))
                bkt.update(state, Response(item="sim", skills=(skill,), correct=correct))
                history[skill].append(bkt.mastery(state, [skill])[skill])
            if week % SIM_ASSIGNMENT_EVERY == 1:
                if rng.random() < _sigmoid(2.5 + 1.5 * e):
                    grades.append(float(_sigmoid(1.5 + a + rng.normal(0, 1.0))))
                    late.append(bool(rng.random() < _sigmoid(-1.5 - e)))
                else:
                    grades.append(None)
                    late.append(False)
        final = float(np.mean([g if g is not None else 0.0 for g in grades])) if grades else 0.0
        dropped = dropped_week is not None and dropped_week <= SIM_WEEKS - 3
        labels[i] = int(dropped or final < 0.5)
        assert snap is not None
        snaps.append(snap)
    return snaps, labels


def _sim_snapshot(
    sid: int,
    week: int,
    events_by_week: np.ndarray,
    grades: list[float | None],
    late: list[bool],
    history: dict[str, list[float]],
    skill_names: list[str],
) -> Snapshot:
    active_weeks = np.nonzero(events_by_week[:week])[0]
    days_inactive = 7.0 * (week - (active_weeks[-1] + 1)) + 3.5 if len(active_weeks) else 7.0 * week
    released = [g for g in grades if g is not None]
    skills = tuple(
        SkillState(name=k, p=h[-1], trend=h[-1] - h[max(0, len(h) - 6)]) for k in skill_names if (h := history[k])
    )
    return Snapshot(
        student_id=sid,
        days_inactive=max(days_inactive, 0.0),
        events_14d=int(events_by_week[max(0, week - 2) : week].sum()),
        n_due=len(grades),
        n_missing=sum(1 for g in grades if g is None),
        n_late=sum(late),
        mean_grade=float(np.mean(released)) if released else None,
        skills=skills,
    )


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


# ---------------------------------------------------------------------------------------------
# Calibration report
# ---------------------------------------------------------------------------------------------


def reliability_table(y: np.ndarray, p: np.ndarray, bins: int = 10) -> list[dict[str, Any]]:
    """Equal-width bins of predicted probability: count, mean predicted, observed rate."""
    y = np.asarray(y, dtype=float)
    p = np.asarray(p, dtype=float)
    idx = np.minimum((p * bins).astype(int), bins - 1)
    out = []
    for b in range(bins):
        sel = idx == b
        if sel.any():
            out.append(
                {
                    "bin": f"{b / bins:.1f}-{(b + 1) / bins:.1f}",
                    "n": int(sel.sum()),
                    "mean_predicted": float(p[sel].mean()),
                    "observed_rate": float(y[sel].mean()),
                }
            )
    return out


def calibration_report(y: np.ndarray, p: np.ndarray) -> dict[str, Any]:
    from sklearn.metrics import brier_score_loss, roc_auc_score

    y = np.asarray(y, dtype=int)
    p = np.asarray(p, dtype=float)
    table = reliability_table(y, p)
    ece = sum(r["n"] * abs(r["mean_predicted"] - r["observed_rate"]) for r in table) / max(len(y), 1)
    return {
        "n": len(y),
        "positive_rate": float(y.mean()) if len(y) else float("nan"),
        "auc": float(roc_auc_score(y, p)) if len(set(y.tolist())) == 2 else float("nan"),
        "brier": float(brier_score_loss(y, p)) if len(y) else float("nan"),
        # Brier of always predicting the base rate: a useful model must beat it
        "brier_base_rate": float(np.mean((y - y.mean()) ** 2)) if len(y) else float("nan"),
        "ece": float(ece),
        "reliability": table,
    }


# ---------------------------------------------------------------------------------------------
# The default model and the live course
# ---------------------------------------------------------------------------------------------

_default_lock = threading.Lock()
_default_model: RiskModel | None = None
DEFAULT_SIM_STUDENTS = 3000


def default_risk_model() -> RiskModel:
    """Loaded from EDUAI_MODEL_ROOT/assessment/risk.json if a school model was saved there,
    else fitted once per process on a simulated cohort (seed 0, ~1 s)."""
    global _default_model
    with _default_lock:
        if _default_model is None:
            from django.conf import settings

            path = Path(settings.EDUAI_MODEL_ROOT) / "assessment" / "risk.json"
            if path.is_file():
                _default_model = RiskModel.load(path)
            else:
                snaps, y = simulate_cohort(DEFAULT_SIM_STUDENTS, seed=0)
                X = np.stack([features(s) for s in snaps])
                _default_model = RiskModel().fit(X, y, source=f"simulated cohort, {DEFAULT_SIM_STUDENTS} students")
        return _default_model


def course_snapshots(*, course_id: int, now: datetime) -> list[Snapshot]:
    """One snapshot per active student of the course, from events, submissions and mastery."""
    from django.db.models import Count, Max, Min, Q

    from eduai.courses.models import ActivityEvent, Assignment, Enrollment, Role, Submission, SubmissionStatus

    from .models import Mastery

    enrol = dict(
        Enrollment.objects.filter(course_id=course_id, role=Role.STUDENT, is_active=True).values_list(
            "user_id", "created_at"
        )
    )
    ids = list(enrol)
    ev = {
        r["actor_id"]: r
        for r in ActivityEvent.objects.filter(course_id=course_id, actor_id__in=ids, voided=False)
        .values("actor_id")
        .annotate(last=Max("timestamp"), recent=Count("id", filter=Q(timestamp__gte=now - timedelta(days=14))))
    }
    subs: dict[int, dict[int, dict[str, Any]]] = defaultdict(dict)
    grades: dict[int, list[float]] = defaultdict(list)
    assignments = {
        a["id"]: a
        for a in Assignment.objects.filter(course_id=course_id, is_published=True).values(
            "id", "due_at", "min_score", "max_score"
        )
    }
    for r in (
        Submission.objects.filter(assignment__course_id=course_id, author_id__in=ids)
        .values("author_id", "assignment_id")
        .annotate(first=Min("submitted_at"), last=Max("submitted_at"))
    ):
        subs[r["author_id"]][r["assignment_id"]] = r
    for author, aid, score in Submission.objects.filter(
        assignment__course_id=course_id,
        author_id__in=ids,
        status=SubmissionStatus.RELEASED,
        final_score__isnull=False,
    ).values_list("author_id", "assignment_id", "final_score"):
        a = assignments.get(aid)
        if a:
            lo, hi = a["min_score"], a["max_score"]
            grades[author].append(min(1.0, max(0.0, (float(score or 0) - lo) / (hi - lo))))
    due = [a for a in assignments.values() if a["due_at"] is not None and a["due_at"] <= now]
    skills: dict[int, list[SkillState]] = defaultdict(list)
    for student, name, p, trend in Mastery.objects.filter(course_id=course_id, student_id__in=ids).values_list(
        "student_id", "skill__name", "p", "trend"
    ):
        skills[student].append(SkillState(name=name, p=p, trend=trend))
    out = []
    for sid in ids:
        mine = subs.get(sid, {})
        last_seen = max(
            [t for t in [ev.get(sid, {}).get("last"), *(r["last"] for r in mine.values())] if t is not None],
            default=enrol[sid],
        )
        n_missing = sum(1 for a in due if a["id"] not in mine)
        n_late = sum(1 for a in due if a["id"] in mine and mine[a["id"]]["first"] > a["due_at"])
        out.append(
            Snapshot(
                student_id=sid,
                days_inactive=max(0.0, (now - last_seen).total_seconds() / 86400.0),
                events_14d=int(ev.get(sid, {}).get("recent", 0)),
                n_due=len(due),
                n_missing=n_missing,
                n_late=n_late,
                mean_grade=float(np.mean(grades[sid])) if grades.get(sid) else None,
                skills=tuple(sorted(skills.get(sid, []), key=lambda k: k.name)),
            )
        )
    return out


def course_risk(
    *, course_id: int, now: datetime | None = None, model: RiskModel | None = None, threshold: float | None = None
) -> list[RiskData]:
    """Every active student's risk, highest first; reasons for everyone at/above ``threshold``
    (and the main reasons for the others too, when they have any worth telling)."""
    from django.utils import timezone

    now = now or timezone.now()
    model = model or default_risk_model()
    threshold = DEFAULT_THRESHOLD if threshold is None else threshold
    snaps = course_snapshots(course_id=course_id, now=now)
    if not snaps:
        return []
    X = np.stack([features(s) for s in snaps])
    probs = model.predict_proba(X)
    out = [
        RiskData(student_id=s.student_id, probability=float(p), reasons=reasons(model, s, flagged=p >= threshold))
        for s, p in zip(snaps, probs, strict=True)
    ]
    out.sort(key=lambda r: (-r.probability, r.student_id))
    return out
