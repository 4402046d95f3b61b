"""The ranking: which activity a student should do next, and why. Pure functions over
``data.py`` shapes (no database), so the same code ranks real students and simulated learners.

How a score is made (docs/recommender.md explains each choice and its source):

1. Skill priority, per skill k of the course::

       need_k = (1 - m_k)                       gap: how much is left to learn
              * ready_k                         prerequisites first
              * (1 + 0.5 * unlock_k)            foundation for weak later skills
              * (1 + min(0.5, 2 * max(0, -trend_k)))   slipping skills come back
              * (1 + 0.5 * urgency_k)           an assignment that needs it is due soon

   ``ready_k = min(1, min_j m_j / READY_AT) ** 2`` over k's prerequisites j, so a skill whose
   prerequisite is weak waits for it (the weakest prerequisite ranks first).
2. Activity score, for an activity a whose main skill is its neediest skill k::

       score_a = need(a) * fit(a) * novelty(a) * (1 + 0.3 content_a) * (1 + 0.3 cf_a) * (1 + 0.05 pop_a)

   ``fit`` is desirable difficulty for a practice item (1 at predicted success 0.7, 0.8 at the
   band edges 0.6 and 0.8) and "explanation before practice" for a resource (more useful the
   lower the mastery). ``content`` is the cosine between the resource's embedding and the
   student's weak skills and weak essay traits; ``cf`` is "what helped similar students"
   (cf.py); ``pop`` is the course's popularity, only a tie-breaker.
3. The list is built greedily (maximal marginal relevance): each pick lowers the score of the
   candidates that share its main skill (x0.7 per shared pick) or say nearly the same thing
   (embedding cosine >= 0.92: x0.5), so the list is not ten items on one skill.

Every factor above 1 or below 1 that moved an activity becomes a ``Reason`` with its numbers.
"""

from __future__ import annotations

import functools
import heapq
import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from .data import Activity, Catalog, LearnerState, MasteryData, Reason, Recommendation, WeakTrait

# A skill counts as known at this mastery: the threshold most KT dashboards use (Corbett &
# Anderson 1995 used 0.95 for BKT's "mastered"; 0.7 is where a learner answers a typical item
# right about 3 times in 4 with guess 0.15 and slip 0.1 — enough to build on).
READY_AT = 0.7
# Prior mastery for a skill with no evidence (same as sources.DEFAULT_PRIOR).
PRIOR = 0.3
# Desirable difficulty: the target probability of success and the width of the bell around it.
# Band 0.6-0.8 from the issue; Wilson et al. 2019 ("The eighty five percent rule") find the
# optimum error rate for learning near 15%, Bjork 1994 argues for "desirable difficulties".
TARGET_SUCCESS = 0.7
SUCCESS_WIDTH = 0.15
UNLOCK_WEIGHT = 0.5
TREND_WEIGHT = 2.0
DUE_WEIGHT = 0.5
# Urgency decays with e-folding time DUE_SCALE_DAYS; beyond DUE_HORIZON_DAYS a due date is ignored.
DUE_SCALE_DAYS = 4.0
DUE_HORIZON_DAYS = 14.0
CONTENT_WEIGHT = 0.3
CF_WEIGHT = 0.3
# A shrunk gain of this many units of "share right" counts as "helped a lot" (cf = 1).
CF_FULL_GAIN = 0.25
POPULARITY_WEIGHT = 0.05
# Activities that practise no known skill still have some value (course-wide material).
GENERIC_NEED = 0.15
# Resource embedding must be this close to a skill's to count as "about" it when untagged
# (MiniLM cosine; unrelated course texts sit around 0.1-0.25).
INFER_SKILL_MIN_COS = 0.35
SAME_SKILL_PENALTY = 0.7
NEAR_DUPLICATE_COS = 0.92
NEAR_DUPLICATE_PENALTY = 0.5
MAX_REASONS = 3


@dataclass(frozen=True, slots=True)
class SkillPriority:
    skill_id: int
    mastery: float
    need: float
    ready: float
    weakest_prereq: int | None
    weak_dependents: tuple[int, ...]
    urgency: float
    trend: float
    n_evidence: int


def _m(state: LearnerState, skill_id: int) -> MasteryData:
    return state.mastery.get(skill_id) or MasteryData(p=PRIOR)


def _dependents(catalog: Catalog) -> dict[int, dict[int, int]]:
    """skill -> {dependent skill: depth} over the transitive 'unlocks' relation."""
    direct: dict[int, list[int]] = defaultdict(list)
    for skill in catalog.skills.values():
        for pre in skill.prerequisites:
            if pre in catalog.skills and pre != skill.id:
                direct[pre].append(skill.id)
    out: dict[int, dict[int, int]] = {}
    for root in catalog.skills:
        depth: dict[int, int] = {}
        frontier, d = list(direct.get(root, ())), 1
        while frontier and d <= len(catalog.skills):
            nxt: list[int] = []
            for s in frontier:
                if s not in depth and s != root:
                    depth[s] = d
                    nxt.extend(direct.get(s, ()))
            frontier, d = nxt, d + 1
        out[root] = depth
    return out


def skill_priorities(
    catalog: Catalog, state: LearnerState, *, now: datetime, deps: dict[int, dict[int, int]] | None = None
) -> dict[int, SkillPriority]:
    deps = deps if deps is not None else _dependents(catalog)
    result: dict[int, SkillPriority] = {}
    for sid, skill in catalog.skills.items():
        md = _m(state, sid)
        m = md.p
        pres = [p for p in skill.prerequisites if p in catalog.skills and p != sid]
        weakest = min(pres, key=lambda p: _m(state, p).p) if pres else None
        ready = 1.0 if weakest is None else min(1.0, _m(state, weakest).p / READY_AT) ** 2
        weak_deps = tuple(
            sorted(
                (d for d, depth in deps.get(sid, {}).items() if _m(state, d).p < READY_AT),
                key=lambda d: (deps[sid][d], _m(state, d).p),
            )
        )
        direct_weak = sum(1 for d in weak_deps if deps[sid][d] == 1)
        unlock = min(1.0, (direct_weak + 0.5 * (len(weak_deps) - direct_weak)) / 2.0)
        urgency = 0.0
        due = catalog.due.get(sid)
        if due is not None:
            days = (due.due_at - now).total_seconds() / 86400.0
            if 0.0 <= days <= DUE_HORIZON_DAYS:
                urgency = math.exp(-days / DUE_SCALE_DAYS)
        trend_factor = 1.0 + min(0.5, TREND_WEIGHT * max(0.0, -md.trend))
        need = (1.0 - m) * ready * (1.0 + UNLOCK_WEIGHT * unlock) * trend_factor * (1.0 + DUE_WEIGHT * urgency)
        result[sid] = SkillPriority(sid, m, need, ready, weakest, weak_deps, urgency, md.trend, md.n_evidence)
    return result


def success_fit(p: float) -> float:
    """Desirable difficulty: 1 at TARGET_SUCCESS, 0.8 at the band edges, floor 0.25."""
    return 0.25 + 0.75 * math.exp(-0.5 * ((p - TARGET_SUCCESS) / SUCCESS_WIDTH) ** 2)


def predicted_from_mastery(mastery: float, difficulty: float) -> float:
    """Stand-in for the tracer's prediction (guess 0.15, slip 0.1); see sources.py."""
    return 0.15 + 0.75 / (1.0 + math.exp(-6.0 * (mastery - difficulty)))


def resource_fit(mastery: float, difficulty: float) -> float:
    """Explanations help most before a student can practise: 1 at mastery 0, 0.25 from READY_AT;
    a resource far above the student's level (difficulty > mastery + 0.3) loses up to 40%."""
    base = 0.25 + 0.75 * min(1.0, max(0.0, (READY_AT - mastery) / READY_AT))
    return base * (1.0 - 0.4 * min(1.0, max(0.0, difficulty - mastery - 0.3)))


def _cos(a: np.ndarray | None, b: np.ndarray | None) -> float:
    if a is None or b is None or a.shape != b.shape or not a.size:
        return 0.0
    return float(np.dot(a, b))


@dataclass(slots=True)
class _Scored:
    activity: Activity
    main_skill: int | None
    skills: tuple[int, ...]
    inferred: bool
    score: float
    components: dict[str, float]
    trait_hit: WeakTrait | None = None
    cf_entry: tuple[float, int] | None = None


def _skills_of(activity: Activity, catalog: Catalog) -> tuple[tuple[int, ...], bool]:
    """The activity's skills, or the nearest skill by embedding when a resource is untagged."""
    tagged = tuple(s for s in activity.skill_ids if s in catalog.skills)
    if tagged or activity.vector is None or not catalog.skill_vectors:
        return tagged, False
    best, best_cos = None, INFER_SKILL_MIN_COS
    for sid, vec in catalog.skill_vectors.items():
        c = _cos(activity.vector, vec)
        if c >= best_cos:
            best, best_cos = sid, c
    return ((best,), True) if best is not None else ((), False)


@dataclass(frozen=True, slots=True)
class Prepared:
    """What the ranking derives from a catalogue alone: computed once per course and reused
    for every student of a batch (the graph walk and skill inference cost more than a score)."""

    catalog: Catalog
    dependents: dict[int, dict[int, int]]
    skills: tuple[tuple[tuple[int, ...], bool], ...]
    keys: tuple[str, ...]


def prepare(catalog: Catalog) -> Prepared:
    return Prepared(
        catalog=catalog,
        dependents=_dependents(catalog),
        skills=tuple(_skills_of(a, catalog) for a in catalog.activities),
        keys=tuple(a.key for a in catalog.activities),
    )


def _novelty(key: str, state: LearnerState) -> float:
    if key in state.completed:
        return 0.3
    days = state.days_since.get(key)
    if days is None:
        return 1.0
    if days < 1.0:
        return 0.5
    if days < 7.0:
        return 0.8
    return 1.0


def score_activities(
    catalog: Catalog | Prepared,
    state: LearnerState,
    *,
    now: datetime,
    priorities: dict[int, SkillPriority] | None = None,
) -> tuple[list[_Scored], dict[int, SkillPriority]]:
    prep = catalog if isinstance(catalog, Prepared) else prepare(catalog)
    catalog = prep.catalog
    prio = priorities if priorities is not None else skill_priorities(catalog, state, now=now, deps=prep.dependents)
    profile = catalog.profile or {}
    help_for_me: dict[str, list[float]] = {}
    if state.cluster is not None:
        help_for_me = profile.get("help", {}).get(str(state.cluster), {})
    popularity: dict[str, float] = profile.get("popularity", {})
    pop_max = max(popularity.values(), default=0.0) or 1.0

    # The student's weak-skill profile in embedding space, for content matching.
    weak_profile = None
    if catalog.skill_vectors:
        acc = None
        for sid, p in prio.items():
            vec = catalog.skill_vectors.get(sid)
            if vec is not None and p.need > 0:
                acc = vec * p.need if acc is None else acc + vec * p.need
        if acc is not None and float(np.linalg.norm(acc)) > 0:
            weak_profile = acc / np.linalg.norm(acc)

    out: list[_Scored] = []
    for a, (skills, inferred), key in zip(catalog.activities, prep.skills, prep.keys, strict=True):
        if len(skills) == 1:
            main: int | None = skills[0]
            need = prio[skills[0]].need
        elif skills:
            needs = sorted(((prio[s].need, s) for s in skills), reverse=True)
            need = needs[0][0] + 0.25 * sum(n for n, _ in needs[1:])
            main = needs[0][1]
        else:
            need, main = GENERIC_NEED, None
        mastery = prio[main].mastery if main is not None else PRIOR
        comp: dict[str, float] = {"need": need}

        if a.kind == "practice":
            p_hat = state.predicted.get(a.id)
            if p_hat is None:
                p_hat = predicted_from_mastery(mastery, a.difficulty)
            fit = success_fit(p_hat)
            comp["predicted_success"] = p_hat
        else:
            fit = resource_fit(mastery, a.difficulty)
        comp["fit"] = fit
        novelty = _novelty(key, state)
        comp["novelty"] = novelty

        content, trait_hit = 0.0, None
        if a.vector is not None:
            if weak_profile is not None:
                content = max(0.0, _cos(a.vector, weak_profile)) * 0.5
            for t in state.weak_traits:
                c = _cos(a.vector, t.vector)
                if c >= 0.3 and c * t.deficit > content:
                    content, trait_hit = c * t.deficit, t
        comp["content"] = content

        cf, cf_entry = 0.0, None
        entry = help_for_me.get(key)
        if entry:
            cf = max(-1.0, min(1.0, float(entry[0]) / CF_FULL_GAIN))
            cf_entry = (float(entry[0]), int(entry[1]))
        comp["cf"] = cf
        pop = float(popularity.get(key, 0.0)) / pop_max
        comp["popularity"] = pop

        score = (
            need
            * fit
            * novelty
            * (1.0 + CONTENT_WEIGHT * content)
            * (1.0 + CF_WEIGHT * cf)
            * (1.0 + POPULARITY_WEIGHT * pop)
        )
        out.append(_Scored(a, main, skills, inferred, score, comp, trait_hit, cf_entry))
    return out, prio


def _reasons(
    s: _Scored,
    prio: dict[int, SkillPriority],
    catalog: Catalog,
    state: LearnerState,
    cold: bool,
    cache: dict[int, Reason],
) -> tuple[Reason, ...]:
    """Reasons for one picked activity, most important first (at most MAX_REASONS)."""
    reasons: list[Reason] = []
    sp = prio.get(s.main_skill) if s.main_skill is not None else None
    if sp is not None:
        if s.inferred:
            reasons.append(_skill_reason(sp, catalog, cold=cold, inferred=True))
        else:
            if sp.skill_id not in cache:
                cache[sp.skill_id] = _skill_reason(sp, catalog, cold=cold, inferred=False)
            reasons.append(cache[sp.skill_id])
    elif cold:
        reasons.append(Reason("course_material", {}))
    p_hat = s.components.get("predicted_success")
    if s.activity.kind == "practice" and not cold and p_hat is not None and 0.5 <= p_hat <= 0.9:
        reasons.append(Reason("desirable_difficulty", {"success": round(p_hat, 2)}))
    if s.trait_hit is not None:
        reasons.append(Reason("essay_trait", {"trait": s.trait_hit.name, "deficit": round(s.trait_hit.deficit, 2)}))
    if s.cf_entry is not None and s.components["cf"] >= 0.3 and s.cf_entry[1] >= 3:
        reasons.append(Reason("helped_similar", {"gain": round(s.cf_entry[0], 2), "n": s.cf_entry[1]}))
    if s.components["novelty"] < 1.0 and s.activity.key in state.completed:
        reasons.append(Reason("review", {}))
    return tuple(reasons[:MAX_REASONS])


@functools.lru_cache(maxsize=1024)
def _iso(when: datetime) -> str:
    return when.isoformat()


def _skill_reason(sp: SkillPriority, catalog: Catalog, *, cold: bool, inferred: bool) -> Reason:
    name = catalog.skills[sp.skill_id].name
    due = catalog.due.get(sp.skill_id)
    due_params: dict[str, object] = {}
    if due is not None and sp.urgency > 0:
        due_params = {"due": _iso(due.due_at), "assignment": due.title}
    if cold and sp.n_evidence == 0:
        if sp.weakest_prereq is None:
            return Reason("start_here", {"skill": name, "unlocks_count": len(sp.weak_dependents), **due_params})
        return Reason("course_order", {"skill": name, "after": catalog.skills[sp.weakest_prereq].name, **due_params})
    base = {"skill": name, "mastery": round(sp.mastery, 2), **due_params}
    if inferred:
        base["inferred"] = True
    if sp.mastery >= READY_AT:
        return Reason("keep_fresh", base)
    if sp.weakest_prereq is not None and sp.ready < 0.5:
        pre = catalog.skills[sp.weakest_prereq].name
        return Reason("needs_prerequisite", {**base, "prerequisite": pre})
    if sp.weak_dependents:
        return Reason("weak_prerequisite", {**base, "unlocks": catalog.skills[sp.weak_dependents[0]].name})
    if sp.trend <= -0.05:
        return Reason("slipping", {**base, "trend": round(sp.trend, 2)})
    return Reason("weak_skill", base)


def rank(
    catalog: Catalog | Prepared,
    state: LearnerState,
    *,
    now: datetime,
    limit: int = 10,
    exclude: frozenset[str] | set[str] = frozenset(),
) -> list[Recommendation]:
    """The top ``limit`` activities, diversified; ``exclude`` holds keys never to return
    (hidden resources). Pass ``prepare(catalog)`` when ranking many students of one course."""
    prep = catalog if isinstance(catalog, Prepared) else prepare(catalog)
    scored, prio = score_activities(prep, state, now=now)
    if exclude:
        scored = [s for s in scored if s.activity.key not in exclude]
    picked: list[_Scored] = []
    skill_count: dict[int, int] = defaultdict(int)

    def current(s: _Scored) -> float:
        value = s.score
        if s.main_skill is not None and skill_count[s.main_skill]:
            value *= SAME_SKILL_PENALTY ** skill_count[s.main_skill]
        if s.activity.vector is not None:
            for p in picked:
                if _cos(s.activity.vector, p.activity.vector) >= NEAR_DUPLICATE_COS:
                    return value * NEAR_DUPLICATE_PENALTY
        return value

    # Lazy greedy (the penalties only ever lower a score, so a stale heap value is an upper
    # bound): same picks as re-scoring every candidate at every step, at a fraction of the cost.
    # Ties fall back to the catalogue's order, so lists are stable.
    heap = [(-s.score, i) for i, s in enumerate(scored)]
    heapq.heapify(heap)
    while heap and len(picked) < limit:
        _, i = heapq.heappop(heap)
        value = current(scored[i])
        if heap and (value < -heap[0][0] or (value == -heap[0][0] and heap[0][1] < i)):
            heapq.heappush(heap, (-value, i))
            continue
        best = scored[i]
        best.components["diversified_score"] = value
        picked.append(best)
        if best.main_skill is not None:
            skill_count[best.main_skill] += 1
    cold = not state.has_history
    catalog_ = prep.catalog
    skill_reasons: dict[int, Reason] = {}
    return [
        Recommendation(
            kind=s.activity.kind,
            id=s.activity.id,
            title=s.activity.title,
            score=s.components["diversified_score"],
            reasons=_reasons(s, prio, catalog_, state, cold, skill_reasons),
            skill_ids=s.skills,
            components=s.components,
            resource_kind=s.activity.resource_kind,
            url=s.activity.url,
        )
        for s in picked
    ]
