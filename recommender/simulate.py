"""Simulated learners for the offline evaluation of recommendation policies (bench/recommend.py).

The true process (known to the simulator, hidden from the policies):

- A course has skills on a prerequisite DAG, practice items (difficulty ``b`` on the ability
  scale) and resources (explanations with a hidden quality ``q`` in [0, 1]; some are poor).
- Student s has an ability ``theta[s, k]`` per skill; true mastery is ``sigmoid(theta)``, the
  chance to solve a medium item (b = 0) without guessing. Initial abilities are lower for
  skills deeper in the graph.
- Answering item i: right with ``guess + (1 - guess - slip) * sigmoid(theta - b)`` (guess 0.15,
  slip 0.10). Practice teaches ``LEARN_PRACTICE * gate * zpd(p)`` where ``p = sigmoid(theta - b)``
  and ``zpd`` peaks at p = 0.84 (Wilson et al. 2019, "the eighty-five percent rule") with width
  0.25: items that are far too easy or too hard teach little.
- Reading resource r teaches ``LEARN_RESOURCE * q_r * gate * (1 - sigmoid(theta))``: explanations
  help beginners most.
- ``gate = prod over prerequisites j of (0.1 + 0.9 * sigmoid(3 * (theta_j - 0.3)))``: a skill is
  slow to learn (never impossible) until its prerequisites are known.
- Forgetting: every step, each skill not practised moves ``FORGET`` of the way back to the
  student's starting ability.

What a policy sees: the catalogue (skills, graph, items with their difficulty, resources, but
not resource quality) and, per student, a knowledge-tracing estimate built ONLY from the
observed right/wrong answers (an Elo/IRT tracker with the population prior), plus what the
student did and when. The course profile ("what helped similar students", popularity) comes
from the logs of an earlier cohort of simulated students.

Fairness: every policy runs on the same students (same initial abilities) and the same
pre-drawn random numbers for answers, so differences come from choices, not luck.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np

from . import cf, ranking
from .data import Activity, Catalog, LearnerState, MasteryData, SkillInfo

GUESS = 0.15
SLIP = 0.10
LEARN_PRACTICE = 0.45
LEARN_RESOURCE = 0.55
ZPD_PEAK = 0.84
ZPD_WIDTH = 0.25
FORGET = 0.01
TRACKER_K = 0.4
# Prerequisite gate: half-open at ability GATE_AT (true mastery 0.57), never fully shut.
GATE_AT = 0.3
GATE_SLOPE = 3.0
GATE_FLOOR = 0.1
DEPTH_DROP = 0.5
EPOCH = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)


def sigmoid(x: np.ndarray | float) -> np.ndarray | float:
    return 1.0 / (1.0 + np.exp(-x))


@dataclass(frozen=True)
class Course:
    n_skills: int
    prereqs: tuple[tuple[int, ...], ...]
    depth: tuple[int, ...]
    item_skill: np.ndarray  # (items,)
    item_b: np.ndarray  # (items,)
    res_skill: np.ndarray  # (resources,)
    res_q: np.ndarray  # (resources,) hidden quality
    res_difficulty: np.ndarray  # (resources,) as the author tagged it, in [0, 1]
    mu: np.ndarray  # (skills,) population mean initial ability

    @property
    def n_items(self) -> int:
        return len(self.item_skill)

    @property
    def n_resources(self) -> int:
        return len(self.res_skill)

    def key(self, a: int) -> str:
        """Activities 0..items-1 are practice items, then resources."""
        return f"practice:{a}" if a < self.n_items else f"resource:{a - self.n_items}"

    def skill_of(self, a: int) -> int:
        return int(self.item_skill[a]) if a < self.n_items else int(self.res_skill[a - self.n_items])


def make_course(seed: int, *, n_skills: int = 10, items_per_skill: int = 5, resources_per_skill: int = 2) -> Course:
    rng = np.random.default_rng(seed)
    prereqs: list[tuple[int, ...]] = []
    depth: list[int] = []
    for k in range(n_skills):
        if k < 2:
            pres: tuple[int, ...] = ()
        else:
            n_pre = 1 if rng.random() < 0.6 else 2
            pres = tuple(sorted({int(rng.integers(max(0, k - 4), k)) for _ in range(n_pre)}))
        prereqs.append(pres)
        depth.append(0 if not pres else 1 + max(depth[p] for p in pres))
    item_skill = np.repeat(np.arange(n_skills), items_per_skill)
    item_b = rng.uniform(-1.8, 1.8, size=item_skill.size)
    res_skill = np.repeat(np.arange(n_skills), resources_per_skill)
    res_q = rng.choice([0.15, 0.6, 1.0], size=res_skill.size, p=[0.3, 0.35, 0.35])
    res_difficulty = rng.uniform(0.2, 0.7, size=res_skill.size)
    mu = np.array([0.6 - DEPTH_DROP * d for d in depth])
    return Course(n_skills, tuple(prereqs), tuple(depth), item_skill, item_b, res_skill, res_q, res_difficulty, mu)


def make_population(course: Course, n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return course.mu[None, :] + rng.normal(0.0, 0.9, size=(n, course.n_skills))


def catalog_for(course: Course, course_id: int = 1) -> Catalog:
    skills = {k: SkillInfo(k, f"Skill {k}", course.prereqs[k]) for k in range(course.n_skills)}
    acts: list[Activity] = []
    for i in range(course.n_items):
        acts.append(
            Activity("practice", i, f"Item {i}", (int(course.item_skill[i]),), float(sigmoid(course.item_b[i])))
        )
    for r in range(course.n_resources):
        acts.append(
            Activity("resource", r, f"Resource {r}", (int(course.res_skill[r]),), float(course.res_difficulty[r]))
        )
    return Catalog(course_id=course_id, skills=skills, activities=tuple(acts))


@dataclass
class Learner:
    """True state plus what the system has observed about one simulated student."""

    theta: np.ndarray
    theta0: np.ndarray
    est: np.ndarray
    n_obs: np.ndarray
    history_est: list[list[float]]
    touches: list[cf.Touch] = field(default_factory=list)
    last_step: dict[str, int] = field(default_factory=dict)
    completed: set[str] = field(default_factory=set)


def new_learner(course: Course, theta0: np.ndarray) -> Learner:
    est = course.mu.astype(float).copy()
    return Learner(
        theta=theta0.astype(float).copy(),
        theta0=theta0.astype(float).copy(),
        est=est,
        n_obs=np.zeros(course.n_skills, dtype=int),
        history_est=[[float(sigmoid(e))] for e in est],
    )


def _gate(course: Course, theta: np.ndarray, k: int) -> float:
    g = 1.0
    for j in course.prereqs[k]:
        g *= GATE_FLOOR + (1.0 - GATE_FLOOR) * float(sigmoid(GATE_SLOPE * (theta[j] - GATE_AT)))
    return g


def step(course: Course, learner: Learner, a: int, u: float, t: int) -> None:
    """Apply activity ``a`` at step ``t``; ``u`` is the pre-drawn uniform for the answer."""
    k = course.skill_of(a)
    key = course.key(a)
    gate = _gate(course, learner.theta, k)
    touched = np.zeros(course.n_skills, dtype=bool)
    touched[k] = True
    if a < course.n_items:
        p_true = float(sigmoid(learner.theta[k] - course.item_b[a]))
        correct = u < GUESS + (1 - GUESS - SLIP) * p_true
        zpd = math.exp(-(((p_true - ZPD_PEAK) / ZPD_WIDTH) ** 2))
        learner.theta[k] += LEARN_PRACTICE * gate * zpd
        # The tracker sees only the answer (Elo update on the ability scale).
        p_hat = GUESS + (1 - GUESS - SLIP) * float(sigmoid(learner.est[k] - course.item_b[a]))
        learner.est[k] += TRACKER_K * ((1.0 if correct else 0.0) - p_hat)
        learner.n_obs[k] += 1
        learner.history_est[k].append(float(sigmoid(learner.est[k])))
        learner.touches.append(cf.Touch(key, 1.0 if correct else 0.0))
        if correct:
            learner.completed.add(key)
    else:
        r = a - course.n_items
        learner.theta[k] += LEARN_RESOURCE * float(course.res_q[r]) * gate * (1.0 - float(sigmoid(learner.theta[k])))
        learner.touches.append(cf.Touch(key))
        learner.completed.add(key)
    forget = ~touched
    learner.theta[forget] -= FORGET * (learner.theta[forget] - learner.theta0[forget])
    learner.last_step[key] = t


def true_mastery(learner: Learner) -> float:
    return float(np.mean(sigmoid(learner.theta)))


def learner_state(course: Course, learner: Learner, t: int, profile: dict | None = None) -> LearnerState:
    """What the ranking sees: the tracker's estimate and the student's own activity."""
    mastery = {}
    for k in range(course.n_skills):
        hist = learner.history_est[k]
        trend = hist[-1] - hist[max(0, len(hist) - 6)]
        mastery[k] = MasteryData(p=float(sigmoid(learner.est[k])), trend=trend, n_evidence=int(learner.n_obs[k]))
    predicted = {
        i: GUESS + (1 - GUESS - SLIP) * float(sigmoid(learner.est[course.item_skill[i]] - course.item_b[i]))
        for i in range(course.n_items)
    }
    # One simulated step = one activity; we count a step as a tenth of a day for novelty.
    days_since = {key: (t - last) / 10.0 for key, last in learner.last_step.items()}
    cluster = None
    if profile:
        cluster = cf.assign_cluster(profile, {k: m.p for k, m in mastery.items()})
    return LearnerState(
        mastery=mastery,
        predicted=predicted,
        days_since=days_since,
        completed=frozenset(learner.completed),
        cluster=cluster,
    )


Policy = Callable[[Course, Learner, int, np.random.Generator], int]


def policy_random(course: Course, learner: Learner, t: int, rng: np.random.Generator) -> int:
    return int(rng.integers(course.n_items + course.n_resources))


def make_policy_popularity(profile: dict) -> Policy:
    """The most used activity of the earlier cohort that this student has not done in 3 steps."""
    pop = profile.get("popularity", {})

    def policy(course: Course, learner: Learner, t: int, rng: np.random.Generator) -> int:
        order = sorted(range(course.n_items + course.n_resources), key=lambda a: (-pop.get(course.key(a), 0), a))
        for a in order:
            last = learner.last_step.get(course.key(a))
            if last is None or t - last > 3:
                return a
        return order[0]

    return policy


def policy_weakest(course: Course, learner: Learner, t: int, rng: np.random.Generator) -> int:
    """Weakest skill first (by the same tracker), then any of its activities at random."""
    k = int(np.argmin(learner.est))
    choices = [a for a in range(course.n_items + course.n_resources) if course.skill_of(a) == k]
    return int(rng.choice(choices))


def policy_weakest_in_band(course: Course, learner: Learner, t: int, rng: np.random.Generator) -> int:
    """A stronger baseline: weakest skill first, then its practice item whose predicted success
    is nearest the 0.7 target (desirable difficulty without the prerequisite graph)."""
    k = int(np.argmin(learner.est))
    items = [i for i in range(course.n_items) if int(course.item_skill[i]) == k]
    p = [GUESS + (1 - GUESS - SLIP) * float(sigmoid(learner.est[k] - course.item_b[i])) for i in items]
    return items[int(np.argmin([abs(x - 0.7) for x in p]))]


def make_policy_eduai(course: Course, profile: dict | None) -> Policy:
    catalog = catalog_for(course)
    if profile:
        catalog = Catalog(catalog.course_id, catalog.skills, catalog.activities, profile=profile)
    index = {a.key: i for i, a in enumerate(catalog.activities)}
    prepared = ranking.prepare(catalog)

    def policy(course_: Course, learner: Learner, t: int, rng: np.random.Generator) -> int:
        state = learner_state(course, learner, t, profile)
        top = ranking.rank(prepared, state, now=EPOCH, limit=1)
        key = top[0].key
        return index[key] if key.startswith("practice:") else course.n_items + int(key.split(":")[1])

    return policy


def policy_course_order(course: Course, learner: Learner, t: int, rng: np.random.Generator) -> int:
    """How the earlier (unassisted) cohort behaved: half the time the first skill they have not
    yet shown they know, in the course's order; otherwise anything."""
    if rng.random() < 0.5:
        return policy_random(course, learner, t, rng)
    for k in range(course.n_skills):
        if sigmoid(learner.est[k]) < 0.7:
            choices = [a for a in range(course.n_items + course.n_resources) if course.skill_of(a) == k]
            return int(rng.choice(choices))
    return policy_random(course, learner, t, rng)


def run_policy(
    course: Course, thetas: np.ndarray, policy: Policy, *, steps: int, seed: int, profile: dict | None = None
) -> tuple[np.ndarray, list[Learner]]:
    """Gain in true mastery per student after ``steps`` activities. Answer noise is pre-drawn
    from ``seed`` (common random numbers: identical across policies)."""
    noise = np.random.default_rng(seed).random((thetas.shape[0], steps))
    gains = np.zeros(thetas.shape[0])
    learners = []
    for s in range(thetas.shape[0]):
        rng = np.random.default_rng([seed, s])
        learner = new_learner(course, thetas[s])
        start = true_mastery(learner)
        for t in range(steps):
            a = policy(course, learner, t, rng)
            step(course, learner, a, float(noise[s, t]), t)
        gains[s] = true_mastery(learner) - start
        learners.append(learner)
    return gains, learners


def cohort_profile(course: Course, *, n: int, steps: int, seed: int) -> dict:
    """Logs of an earlier, unassisted cohort -> the course profile (cf.build_profile)."""
    thetas = make_population(course, n, seed)
    _, learners = run_policy(course, thetas, policy_course_order, steps=steps, seed=seed)
    skills_of = {course.key(a): [course.skill_of(a)] for a in range(course.n_items + course.n_resources)}
    return cf.build_profile(
        histories={s: ln.touches for s, ln in enumerate(learners)},
        mastery={s: {k: float(sigmoid(ln.est[k])) for k in range(course.n_skills)} for s, ln in enumerate(learners)},
        skill_ids=list(range(course.n_skills)),
        skills_of=skills_of,
        seed=seed,
    )
