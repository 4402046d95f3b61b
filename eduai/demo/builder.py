"""Build (or rebuild) the demo school through the same services production uses.

Contract:

- ``build_demo(config=..., now=...)`` creates what is missing and leaves what exists alone, so
  running it twice creates nothing the second time. Natural keys: school slug, usernames,
  course codes, skill names, item and resource titles, assignment titles, one submission per
  (assignment, student), and deterministic xAPI statement ids for events.
- ``reset_demo()`` deletes the demo school's courses (and, by cascade, everything in them) and
  the demo users (found by their reserved ``.invalid`` e-mail domain). Nothing else is touched.
- Everything is deterministic given ``content.SEED`` and ``now``: the same students, abilities,
  essays and activity.

Writes go through ``eduai.courses.services`` (``enrollment_upsert``, ``submission_create``,
``activity_events_record``, course-setup services) so that ``submission_received`` and
``activity_recorded`` fire as in production, and the grading/assessment/recommender receivers
do their real work on the demo data.

The simulation behind the activity: every student has a hidden ability (standard normal). Each
skill is either known or not; a student answers correctly with probability 1 - slip when the
skill is known and with a guess probability otherwise, and may learn it after each attempt
(more likely with higher ability, less likely while a prerequisite is still unknown). This is
the Bayesian knowledge tracing generative story (Corbett & Anderson, 1995), so mastery
estimates have something real to recover. Some students stop working two to three weeks before
"now", which is what at-risk detection should find.
"""

from __future__ import annotations

import math
import random
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Min, ProtectedError
from django.utils import timezone

import assessment.api as assessment_api
import grading.api as grading_api
import grading.review.api as review_api
import recommender.api as recommender_api
from eduai.courses import services
from eduai.courses.data import EventInput
from eduai.courses.models import (
    Assignment,
    Course,
    LearningResource,
    PracticeItem,
    School,
    Skill,
    Submission,
)

from . import content
from .essay_banks import BANKS
from .essays import compose

VERB_ANSWERED = "http://adlnet.gov/expapi/verbs/answered"
VERB_EXPERIENCED = "http://adlnet.gov/expapi/verbs/experienced"
# Namespace for the demo's deterministic statement ids (uuid5); any fixed UUID works.
_STATEMENT_NS = uuid.UUID("6f1c1d2e-6b3a-4d0e-9a57-2f1d5e0c2026")

# BKT-style simulation parameters (probabilities per attempt). Slip and guess are the usual
# magnitudes reported for tutoring data (Baker, Corbett & Aleven 2008: slip ~0.1, guess ~0.2).
SLIP = 0.1
GUESS = 0.2


# (ability, practice sessions per week) of the demo's showcased students: a strong student is
# about 2 SD above the mean and practises most days; an average one is at the mean and practises
# as often as the class does on average (2.6 sessions a week, the centre of the drawn rates).
STRONG_STUDENT = (2.0, 4.2)
AVERAGE_STUDENT = (0.0, 2.6)


def _learn_rate(theta: float) -> float:
    """P(learning a skill) per attempt for a student of ability ``theta`` (standard normal).

    Steep in ability on purpose: with a flat rate (it was 0.06 + 0.22 * sigmoid(theta): 0.17 for
    an average student, 0.25 for a strong one) six weeks of practice taught almost everyone every
    skill, and the demo's "average" and "strong" students had the same mastery on every page.
    Now an average student (theta 0) learns at ~0.075 per attempt and ends the term with the
    later skills still shaky; a strong one (theta +2) at ~0.30 and masters nearly all of them.
    """
    return 0.02 + 0.30 * _sigmoid(2 * theta - 1.5)


def _slip(theta: float, difficulty: float) -> float:
    """P(a wrong answer on a known skill): ~0.1 on average (Baker, Corbett & Aleven 2008), lower
    for stronger students (careless slips are rarer), higher on harder items."""
    return SLIP * (1.5 - _sigmoid(theta)) * (0.5 + difficulty)


# Events per ingestion call: the REST API's per-request maximum (EDUAI_MAX_EVENTS_PER_REQUEST),
# so each activity_recorded signal carries what one LMS batch would.
EVENTS_PER_CALL = 1000


class DemoError(Exception):
    """The demo cannot be built or reset; the message says why."""


@dataclass(frozen=True)
class DemoConfig:
    n_students: int = content.N_STUDENTS
    weeks: int = 6
    # Multiplies each assignment's scored/waiting essay counts (tests use a small fraction).
    essay_scale: float = 1.0
    activity: bool = True
    essays: bool = True
    # Train the grading models on the teacher-scored essays before new essays arrive.
    train_models: bool = True
    # Index the resources and compute every student's recommendations (embeds the resources).
    recommendations: bool = True

    @classmethod
    def small(cls) -> DemoConfig:
        """A few students, two weeks and a handful of essays: enough for page and browser tests.

        No model training and no recommendation refresh (both load or fit models: tens of
        seconds on a small CPU); pages that need them compute on demand.
        """
        return cls(n_students=10, weeks=2, essay_scale=0.15, train_models=False, recommendations=False)

    @classmethod
    def people_only(cls) -> DemoConfig:
        """School, people, courses, skills, resources and assignments; no activity or essays."""
        return cls(n_students=10, activity=False, essays=False, train_models=False, recommendations=False)


@dataclass
class DemoSummary:
    school_id: int
    course_ids: dict[str, int]
    # (role, username, note) rows to print.
    logins: list[tuple[str, str, str]]
    created: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    # Simulation ground truth, for checks and benchmarks only (never shown on a page):
    # username -> hidden ability (standard normal), and username -> days since last activity
    # for the students who stopped working (at-risk by construction).
    hidden_ability: dict[str, float] = field(default_factory=dict)
    inactive_days: dict[str, int] = field(default_factory=dict)

    @property
    def created_anything(self) -> bool:
        return any(self.created.values())


@dataclass
class _Student:
    user_id: int
    username: str
    label: str
    ability: float
    # Sessions per week when active.
    engagement: float
    # Last day (days before now) with activity; 0 = still active.
    inactive_days: int
    zh_background: bool


def _sigmoid(x: float) -> float:
    return 1 / (1 + math.exp(-x))


def _review_times(
    submitted_at: datetime, due_at: datetime, now: datetime, rng: random.Random
) -> tuple[datetime, datetime]:
    """(AI proposal, teacher decision) times for an essay handed in at ``submitted_at``.

    Always ``submitted_at < proposal < decision < now`` (for ``submitted_at < now``), so every
    audit trail reads hand-in, proposal, decision: the proposal comes 20 s to 10 min after the
    hand-in (grading scores on arrival), or a third of the way to ``now`` if the essay came in
    less than that ago. The teacher marks within a week after the deadline, or after the
    proposal for a late essay (the window starts at the later of deadline and proposal, a
    deadline still ahead counting as not yet passed), in working hours if that still falls
    inside the window, and at least an hour before ``now``, or halfway from the window's start
    to ``now`` if there is no such hour.
    """
    proposed = submitted_at + min(timedelta(seconds=rng.randint(20, 600)), (now - submitted_at) / 3)
    start = max(proposed, due_at) if due_at < now else proposed
    end = min(start + timedelta(days=7), now - timedelta(hours=1))
    if end <= start:  # the window opened within the last hour: marked since
        return proposed, start + (now - start) / 2
    when = start + (end - start) * rng.random()
    # a working hour of the school's day (TIME_ZONE), if that still falls inside the window
    working = timezone.localtime(when).replace(hour=rng.randint(8, 20), minute=rng.randint(0, 59))
    return proposed, working if start < working < end else when


# --- people ------------------------------------------------------------------------------


def _student_roster(n: int, rng: random.Random) -> list[tuple[str, str, str, bool]]:
    """(username, first, last, zh_background) for n students, unique, deterministic."""
    seen: set[str] = set()
    roster: list[tuple[str, str, str, bool]] = []
    n_zh = round(n * content.ZH_BACKGROUND_SHARE)
    while len(roster) < n:
        zh = len(roster) < n_zh
        first = rng.choice(content.FIRST_NAMES_ZH if zh else content.FIRST_NAMES_EN)
        last = rng.choice(content.LAST_NAMES_ZH if zh else content.LAST_NAMES_EN)
        username = f"{first}.{last}".lower()
        if username in seen or any(username == s.username for s in content.STAFF):
            continue
        seen.add(username)
        roster.append((username, first, last, zh))
    rng.shuffle(roster)
    return roster


def _user(username: str, first: str, last: str, password_hash: str) -> tuple[int, bool]:
    user_model = get_user_model()
    user, created = user_model.objects.get_or_create(
        username=username,
        defaults={
            "first_name": first,
            "last_name": last,
            "display_name": f"{first} {last}",
            "email": f"{username}@{content.DEMO_EMAIL_DOMAIN}",
            "password": password_hash,
        },
    )
    return user.pk, created


# --- builder -----------------------------------------------------------------------------


class _Builder:
    def __init__(self, config: DemoConfig, now: datetime, log: Callable[[str], None]) -> None:
        self.config = config
        self.now = now
        self.log = log
        self.rng = random.Random(content.SEED)
        self.created: dict[str, int] = {}
        self.seconds: dict[str, float] = {}
        self.course_ids: dict[str, int] = {}
        self.skill_ids: dict[tuple[str, str], int] = {}
        self.students: list[_Student] = []
        self.staff_ids: dict[str, int] = {}

    def count(self, what: str, n: int = 1) -> None:
        if n:
            self.created[what] = self.created.get(what, 0) + n

    def timed(self, name: str, step: Callable[[], None]) -> None:
        start = time.perf_counter()
        step()
        self.seconds[name] = round(time.perf_counter() - start, 2)
        self.log(f"  {name}: {self.seconds[name]:.1f} s")

    # Steps ------------------------------------------------------------------------------

    def people_and_courses(self) -> None:
        password_hash = make_password(content.DEMO_PASSWORD)  # hashed once: PBKDF2 costs ~0.3 s a call
        school = School.objects.filter(slug=content.SCHOOL_SLUG).first()
        if school is None:
            school = services.school_create(name=content.SCHOOL_NAME, slug=content.SCHOOL_SLUG)
            self.count("schools")
        self.school_id = school.pk

        for spec in content.COURSES:
            course = Course.objects.filter(school_id=school.pk, code=spec.code).first()
            if course is None:
                course = services.course_create(
                    school_id=school.pk,
                    code=spec.code,
                    title=spec.title,
                    description=spec.description,
                    language=spec.language,
                )
                self.count("courses")
            self.course_ids[spec.code] = course.pk

        for person in content.STAFF:
            user_id, created = _user(person.username, person.first_name, person.last_name, password_hash)
            self.count("users", created)
            self.staff_ids[person.username] = user_id
            if person.school_admin:
                services.school_admin_add(school_id=school.pk, user_id=user_id)
            for code, role in person.roles.items():
                services.enrollment_upsert(course_id=self.course_ids[code], user_id=user_id, role=role)

        roster = _student_roster(self.config.n_students, self.rng)
        abilities = [self.rng.gauss(0, 1) for _ in roster]
        # At-risk: mostly weaker students, plus a couple of average ones (disengagement is not
        # only about ability). About 13% of the class, the share the simulation aims at.
        order = sorted(range(len(roster)), key=lambda i: abilities[i])
        n_risk = max(1, round(len(roster) * 0.13))
        weak_pool = order[: max(n_risk, len(order) // 4)]
        at_risk = set(self.rng.sample(weak_pool, max(1, n_risk - 2)))
        middle = [i for i in order[len(order) // 3 : 2 * len(order) // 3] if i not in at_risk]
        at_risk |= set(self.rng.sample(middle, min(2, len(middle), n_risk - len(at_risk))))
        engagements = [min(4.5, max(1.0, self.rng.gauss(2.6 + 0.4 * a, 0.6))) for a in abilities]
        # The two students load_demo points people to ("a strong student", "an average student")
        # get set parameters instead of drawn ones, so that their pages differ as a teacher would
        # expect and not only by the luck of the draw: the most able active student, and the
        # active one nearest the class's mean ability.
        active = [i for i in order if i not in at_risk]
        if len(active) >= 2:
            strong, average = active[-1], min(active[:-1], key=lambda i: abs(abilities[i]))
            for i, (ability, engagement) in ((strong, STRONG_STUDENT), (average, AVERAGE_STUDENT)):
                abilities[i] = max(abilities[i], ability) if i == strong else ability
                engagements[i] = engagement
        for i, (username, first, last, zh) in enumerate(roster):
            user_id, created = _user(username, first, last, password_hash)
            self.count("users", created)
            engagement = engagements[i]
            inactive = self.rng.randint(14, 21) if i in at_risk else 0
            self.students.append(_Student(user_id, username, f"{first} {last}", abilities[i], engagement, inactive, zh))

        # The English and maths courses take everyone; the Chinese course takes every student
        # with a Mandarin background plus others until it has about 85% of the year.
        zh_target = round(len(self.students) * 0.85)
        zh_members = [s for s in self.students if s.zh_background]
        zh_members += [s for s in self.students if not s.zh_background][: max(0, zh_target - len(zh_members))]
        self.members: dict[str, list[_Student]] = {
            "ENG9": list(self.students),
            "MATH9": list(self.students),
            "ZH9": sorted(zh_members, key=lambda s: s.username),
        }
        for code, members in self.members.items():
            for s in members:
                background = "Mandarin L1" if s.zh_background else "English L1"
                services.enrollment_upsert(
                    course_id=self.course_ids[code], user_id=s.user_id, language_background=background
                )

    def skills_items_resources(self) -> None:
        for spec in content.SKILLS:
            course_id = self.course_ids[spec.course]
            skill = Skill.objects.filter(course_id=course_id, name=spec.name).first()
            if skill is None:
                skill = services.skill_create(
                    course_id=course_id,
                    name=spec.name,
                    description=spec.description,
                    prerequisite_ids=[self.skill_ids[(spec.course, p)] for p in spec.prerequisites],
                )
                self.count("skills")
            self.skill_ids[(spec.course, spec.name)] = skill.pk

        for item in content.PRACTICE_ITEMS:
            course_id = self.course_ids[item.course]
            if not PracticeItem.objects.filter(course_id=course_id, title=item.title).exists():
                services.practice_item_create(
                    course_id=course_id,
                    title=item.title,
                    body=item.body,
                    answer=item.answer,
                    difficulty=item.difficulty,
                    external_id=f"urn:eduai-demo:item:{item.course}:{item.title}".lower().replace(" ", "-"),
                    skill_ids=[self.skill_ids[(item.course, s)] for s in item.skills],
                )
                self.count("practice_items")

        for res in content.RESOURCES:
            course_id = self.course_ids[res.course]
            if not LearningResource.objects.filter(course_id=course_id, title=res.title).exists():
                services.learning_resource_create(
                    course_id=course_id,
                    title=res.title,
                    body=res.body,
                    kind=res.kind,
                    difficulty=res.difficulty,
                    language=next(c.language for c in content.COURSES if c.code == res.course),
                    external_id=f"urn:eduai-demo:resource:{res.course}:{res.title}".lower().replace(" ", "-"),
                    skill_ids=[self.skill_ids[(res.course, s)] for s in res.skills],
                )
                self.count("resources")

    def assignments(self) -> None:
        self.assignment_ids: dict[str, int] = {}
        for spec in content.ASSIGNMENTS:
            course_id = self.course_ids[spec.course]
            assignment = Assignment.objects.filter(course_id=course_id, title=spec.title).first()
            if assignment is None:
                assignment = services.assignment_create(
                    course_id=course_id,
                    title=spec.title,
                    prompt=spec.prompt,
                    min_score=spec.min_score,
                    max_score=spec.max_score,
                    due_at=self.now - timedelta(days=spec.due_days_ago),
                    language=spec.language,
                    skill_ids=[self.skill_ids[(spec.course, s)] for s in spec.skills],
                    traits=[
                        {
                            "name": t.name,
                            "description": t.description,
                            "min_score": t.min_score,
                            "max_score": t.max_score,
                        }
                        for t in spec.traits
                    ],
                )
                self.count("assignments")
            self.assignment_ids[spec.title] = assignment.pk

    # Activity ---------------------------------------------------------------------------

    def activity(self) -> None:
        # Each course's activity comes from its own seeded stream, so a change to one course
        # (or to the essays) does not reshuffle the others.
        # Relative session rates. The writing courses practise less than maths, but not so
        # little that an ordinary gap between sessions looks like disengagement to at-risk.
        for code, rate in (("MATH9", 1.0), ("ENG9", 0.8), ("ZH9", 0.7)):
            self._course_activity(code, rate)

    def _course_activity(self, code: str, rate: float) -> None:
        course_id = self.course_ids[code]
        rng = random.Random(f"{content.SEED}:{code}:activity")
        skills = [spec for spec in content.SKILLS if spec.course == code]
        names = [spec.name for spec in skills]
        depth: dict[str, int] = {}
        for spec in skills:  # content lists prerequisites before the skills that need them
            depth[spec.name] = 1 + max((depth[p] for p in spec.prerequisites), default=-1)
        items_by_skill: dict[str, list[tuple[int, str, float, str, tuple[str, ...]]]] = {n: [] for n in names}
        item_rows = PracticeItem.objects.filter(course_id=course_id).prefetch_related("skills").order_by("id")
        for item in item_rows:
            tags = tuple(sk.name for sk in item.skills.all())
            if tags:
                items_by_skill[tags[0]].append((item.pk, item.external_id, item.difficulty, item.answer, tags))
        resources_by_skill: dict[str, list[tuple[int, str]]] = {n: [] for n in names}
        for res in LearningResource.objects.filter(course_id=course_id).prefetch_related("skills").order_by("id"):
            for sk in res.skills.all():
                resources_by_skill[sk.name].append((res.pk, res.external_id))

        days = self.config.weeks * 7
        start = self.now - timedelta(days=days)
        # Skills are introduced one after another over the first 80% of the term.
        intro_day = {n: round(i * days * 0.8 / max(1, len(names))) for i, n in enumerate(names)}
        offset = rng.gauss(0, 0.3)  # the course suits some students more than others
        total = 0
        pending: list[EventInput] = []
        for s in self.members[code]:
            theta = s.ability + offset + rng.gauss(0, 0.3)
            known = {n: rng.random() < 0.5 * _sigmoid(theta - 0.5 - 0.4 * depth[n]) for n in names}
            p_learn = _learn_rate(theta)
            events: list[EventInput] = []
            last_day = days - s.inactive_days
            day = rng.expovariate(s.engagement * rate / 7)
            session = 0
            while day < last_day:
                session += 1
                when = start + timedelta(days=int(day), hours=rng.randint(15, 20), minutes=rng.randint(0, 59))
                open_skills = [n for n in names if intro_day[n] <= day and items_by_skill[n]]
                if open_skills:
                    events += self._session(
                        s,
                        course_id,
                        code,
                        session,
                        when,
                        open_skills,
                        known,
                        theta,
                        p_learn,
                        items_by_skill,
                        resources_by_skill,
                        rng,
                    )
                day += rng.expovariate(s.engagement * rate / 7)
            pending += events
            if len(pending) >= EVENTS_PER_CALL:
                total += self._record(pending)
                pending = []
        total += self._record(pending)
        self.count("activity_events", total)

    def _record(self, events: list[EventInput]) -> int:
        created = 0
        for start in range(0, len(events), EVENTS_PER_CALL):
            created += len(services.activity_events_record(events=events[start : start + EVENTS_PER_CALL]).created_ids)
        return created

    def _session(
        self,
        s: _Student,
        course_id: int,
        code: str,
        session: int,
        when: datetime,
        open_skills: list[str],
        known: dict[str, bool],
        theta: float,
        p_learn: float,
        items_by_skill: dict[str, list[tuple[int, str, float, str, tuple[str, ...]]]],
        resources_by_skill: dict[str, list[tuple[int, str]]],
        rng: random.Random,
    ) -> list[EventInput]:
        prereqs = {sk.name: sk.prerequisites for sk in content.SKILLS if sk.course == code}
        events: list[EventInput] = []
        clock = when
        wrong = 0
        for j in range(rng.randint(4, 9)):
            # Mostly the newest skill, sometimes review of an older one.
            skill = open_skills[-1] if rng.random() < 0.6 else rng.choice(open_skills)
            item_id, iri, difficulty, answer, tags = rng.choice(items_by_skill[skill])
            mastered = all(known[t] for t in tags)
            # Harder items are slightly easier to slip on and harder to guess.
            p_correct = (1 - _slip(theta, difficulty)) if mastered else GUESS * (1.5 - difficulty)
            correct = rng.random() < p_correct
            wrong += not correct
            seconds = max(10, int(rng.gauss(70 + 80 * difficulty - 15 * theta, 20)))
            events.append(
                EventInput(
                    course_id=course_id,
                    actor_id=s.user_id,
                    verb=VERB_ANSWERED,
                    timestamp=clock,
                    object_type="practice_item",
                    object_iri=iri,
                    practice_item_id=item_id,
                    result_success=correct,
                    result_completion=True,
                    result_score_scaled=1.0 if correct else 0.0,
                    result_duration=timedelta(seconds=seconds),
                    result_response=answer if correct else "",
                    statement_id=uuid.uuid5(_STATEMENT_NS, f"{code}:{s.username}:{session}:a{j}"),
                )
            )
            clock += timedelta(seconds=seconds + rng.randint(5, 40))
            # Learning from the attempt (and its feedback); an unknown prerequisite halves it.
            for t in tags:
                if not known[t]:
                    blocked = any(not known.get(p, True) for p in prereqs.get(t, ()))
                    if rng.random() < p_learn * (0.5 if blocked else 1.0):
                        known[t] = True
        # Struggling students open the reading for the skill more often.
        if rng.random() < 0.15 + 0.08 * wrong:
            skill = open_skills[-1]
            if resources_by_skill[skill]:
                resource_id, iri = rng.choice(resources_by_skill[skill])
                events.append(
                    EventInput(
                        course_id=course_id,
                        actor_id=s.user_id,
                        verb=VERB_EXPERIENCED,
                        timestamp=clock,
                        object_type="resource",
                        object_iri=iri,
                        resource_id=resource_id,
                        result_completion=True,
                        result_duration=timedelta(seconds=rng.randint(120, 600)),
                        statement_id=uuid.uuid5(_STATEMENT_NS, f"{code}:{s.username}:{session}:r"),
                    )
                )
                if not known[skill] and rng.random() < p_learn:
                    known[skill] = True
        return events

    def mastery_model(self) -> None:
        """Fit knowledge tracing (BKT) to the school's practice history.

        Assessment activates it only if it beats the serving model on held-out students, and
        then rebuilds every student's mastery with it.
        """
        try:
            version = assessment_api.train_model(school_id=self.school_id, method="bkt", seed=content.SEED)
        except ValueError as exc:  # too little history (small test configurations)
            self.log(f"    no mastery model trained: {exc}")
            return
        auc = "n/a" if version.valid_auc is None else f"{version.valid_auc:.3f}"
        base = "n/a" if version.baseline_auc is None else f"{version.baseline_auc:.3f}"
        self.log(f"    BKT v{version.version}: held-out AUC {auc} (serving model before: {base}), {version.status}")
        self.count("mastery_models")

    # Essays -----------------------------------------------------------------------------

    def essays(self) -> None:
        plans = [self._essay_plan(spec) for spec in content.ASSIGNMENTS]
        # 1. The essays the teacher has already marked, with their grades.
        for spec, scored, _waiting in plans:
            created = self._submit_batch(spec, scored)
            for s, score, quality, _at, rng in scored:
                if s.user_id in created:
                    self._teacher_grade(spec, created[s.user_id], score, quality, rng)
        # 2. Train the graders on them, so that new essays get a suggestion on arrival.
        if self.config.train_models:
            self._train()
        # 3. New essays, waiting for the AI (scored through the submission_received signal).
        for spec, _scored, waiting in plans:
            self._submit_batch(spec, waiting)

    def _submit_batch(self, spec: content.AssignmentSpec, plan: list) -> dict[int, int]:
        """Hand in one assignment's essays together; returns author id -> new submission id.

        Each essay goes through ``submission_create`` and its ``submission_received`` signal
        fires as usual, on commit. Before that commit, grading embeds the whole batch in one
        encoder pass (its public ``embed_default``), so the scoring task each signal starts
        finds its vector stored: one batched pass instead of one encoder call per essay, which
        is what a bulk import would do too.
        """
        created: dict[int, int] = {}
        with transaction.atomic():
            for s, _score, quality, submitted_at, rng in plan:
                submission_id = self._submit(spec, s, quality, submitted_at, rng)
                if submission_id is not None:
                    created[s.user_id] = submission_id
            if created:
                grading_api.embed_default(submission_ids=list(created.values()))
        return created

    def _essay_plan(self, spec: content.AssignmentSpec) -> tuple[content.AssignmentSpec, list, list]:
        rng = random.Random(f"{content.SEED}:{spec.title}:essays")
        due = self.now - timedelta(days=spec.due_days_ago)
        days_to_due = spec.due_days_ago
        # Students who had stopped working before the due date never handed this one in.
        writers = [s for s in self.members[spec.course] if not s.inactive_days or s.inactive_days < days_to_due]
        rng.shuffle(writers)
        n_scored = max(1, round(spec.n_scored * self.config.essay_scale))
        n_waiting = max(1, round(spec.n_waiting * self.config.essay_scale))
        lo, hi = spec.min_score, spec.max_score
        centre, spread = (lo + hi) / 2, (hi - lo) / 3.2

        def plan(s: _Student) -> tuple[_Student, int, float, datetime, random.Random]:
            score = min(hi, max(lo, round(centre + spread * s.ability + rng.gauss(0, 0.55))))
            quality = min(1.0, max(0.0, (score - lo) / (hi - lo) + rng.gauss(0, 0.06)))
            submitted_at = due - timedelta(hours=rng.uniform(2, 24 * 6))
            return s, score, quality, submitted_at, random.Random(f"{content.SEED}:{spec.title}:{s.username}")

        scored = [plan(s) for s in writers[:n_scored]]
        waiting = [plan(s) for s in writers[n_scored : n_scored + n_waiting]]
        return spec, scored, waiting

    def _submit(
        self,
        spec: content.AssignmentSpec,
        s: _Student,
        quality: float,
        submitted_at: datetime,
        rng: random.Random,
    ) -> int | None:
        assignment_id = self.assignment_ids[spec.title]
        if Submission.objects.filter(assignment_id=assignment_id, author_id=s.user_id).exists():
            return None
        bank = rng.choice(BANKS[spec.bank])
        text = compose(bank, quality=quality, rng=rng)
        submission = services.submission_create(
            assignment_id=assignment_id, author_id=s.user_id, text=text, submitted_at=submitted_at, source="demo"
        )
        self.count("submissions")
        return submission.pk

    def _teacher_grade(
        self, spec: content.AssignmentSpec, submission_id: int, score: int, quality: float, rng: random.Random
    ) -> None:
        band = "low" if quality < 0.35 else "high" if quality > 0.7 else "mid"
        comment = rng.choice(content.COMMENTS["zh" if spec.language == "zh" else "en"][band])
        traits = {
            t.name: min(
                t.max_score,
                max(t.min_score, round(t.min_score + (t.max_score - t.min_score) * (quality + rng.gauss(0, 0.08)))),
            )
            for t in spec.traits
        }
        teacher = next(p for p in content.STAFF if p.roles.get(spec.course) == "teacher")
        grader_id = self.staff_ids[teacher.username]
        # The builder trains once, after all teacher grades are in (``_train``), instead of
        # letting each threshold crossing start a background training run mid-build.
        grading_api.teacher_grade_set(
            submission_id=submission_id,
            score=score,
            trait_scores=traits,
            grader_id=grader_id,
            comment=comment,
            trigger_training=False,
        )
        review_api.grade_release(submission_id=submission_id, user_id=grader_id)
        self.count("teacher_grades")

    def _train(self) -> None:
        # The fast scorer: seconds per assignment on CPU (fine-tuning would take minutes each).
        for spec in content.ASSIGNMENTS:
            assignment_id = self.assignment_ids[spec.title]
            if grading_api.serving_model_for(assignment_id=assignment_id) is not None:
                continue  # a rerun: the assignment already has a model
            try:
                result = grading_api.model_train(assignment_id=assignment_id, method="fast", trigger="demo")
            except ValidationError as exc:  # too few teacher grades (small test configurations)
                self.log(f"    {spec.title}: no model trained: {exc.messages[0]}")
                continue
            qwk = "n/a" if result.val_qwk is None else f"{result.val_qwk:.2f}"
            self.log(f"    {spec.title}: model v{result.version} ({result.method}), validation QWK {qwk}")
            self.count("grading_models")

    def review_decisions(self) -> None:
        """Teachers have worked through part of the review queue (the review loop's own demo
        step, contributed by its engineer): some AI proposals accepted, some overridden, the rest
        waiting, so the queue and the agreement figures have something to show. A no-op for a
        course where a teacher already decided something."""
        for what, n in review_api.demo_review_state(course_ids=self.course_ids.values()).items():
            self.count(what, n)

    def review_dates(self) -> None:
        """Date the grading history across the course weeks instead of at the build's moment.

        The services stamp every proposal, teacher grade, review decision, release and audit
        entry with the time they run, which for the demo is the build itself: every essay would
        have been proposed, marked and released "today", and the agreement-over-time figure
        would have one point. Here each essay's AI proposal moves to minutes after it was handed
        in (grading scores on arrival), and each teacher decision (a marked essay, an accepted or
        overridden proposal, its release and audit entries) to a working hour after the
        deadline, as teachers mark (``_review_times`` keeps hand-in < proposal < decision < now).
        Only rows written by this run are moved (they are stamped at or after ``now``), so a
        rerun leaves an earlier build's history alone.
        """
        from grading.models import GradingModel, Prediction, TeacherGrade
        from grading.review.models import EventKind, GradeRelease, ReleaseKind, ReviewDecision, ReviewEvent

        courses = list(self.course_ids.values())
        built = {
            "prediction": Prediction.objects.filter(
                submission__assignment__course_id__in=courses, created_at__gte=self.now
            ),
            "grade": TeacherGrade.objects.filter(assignment__course_id__in=courses, updated_at__gte=self.now),
        }
        proposed: dict[int, datetime] = {}
        decided: dict[int, datetime] = {}
        rows = Submission.objects.filter(assignment__course_id__in=courses).values_list(
            "id", "submitted_at", "assignment__due_at", "assignment__title", "author__username"
        )
        for sid, submitted_at, due_at, title, author in rows.order_by("id"):
            rng = random.Random(f"{content.SEED}:{title}:{author}:review")
            proposed[sid], decided[sid] = _review_times(submitted_at, due_at or submitted_at, self.now, rng)
        moved = 0
        for pid, sid in built["prediction"].values_list("id", "submission_id"):
            moved += Prediction.objects.filter(pk=pid).update(created_at=proposed[sid])
        graded = list(built["grade"].values_list("submission_id", flat=True))
        for sid in graded:
            when = decided[sid]
            TeacherGrade.objects.filter(submission_id=sid).update(created_at=when, updated_at=when)
            ReviewDecision.objects.filter(submission_id=sid, decided_at__gte=self.now).update(decided_at=when)
            Submission.objects.filter(pk=sid).update(updated_at=when)
        events = ReviewEvent.objects.filter(course_id__in=courses, created_at__gte=self.now)
        for eid, sid, kind in events.values_list("id", "submission_id", "kind"):
            by_model = kind in (EventKind.PROPOSED, EventKind.AUTO_RELEASED)
            ReviewEvent.objects.filter(pk=eid).update(created_at=proposed[sid] if by_model else decided[sid])
        releases = GradeRelease.objects.filter(course_id__in=courses, released_at__gte=self.now)
        for rid, sid, kind in releases.values_list("id", "submission_id", "kind"):
            when = proposed[sid] if kind == ReleaseKind.POLICY else decided[sid]
            GradeRelease.objects.filter(pk=rid).update(released_at=when, updated_at=when)
        # and each model this run trained was trained and put to work an hour before its first
        # proposal (the registry and the admins' model-health page show these dates)
        first = (
            Prediction.objects.filter(model__assignment__course_id__in=courses, model__created_at__gte=self.now)
            .values("model_id")
            .annotate(at=Min("created_at"))
        )
        for row in first:
            when = row["at"] - timedelta(hours=1)
            model = GradingModel.objects.filter(pk=row["model_id"])
            model.update(created_at=when, trained_at=when)
            model.filter(activated_at__isnull=False).update(activated_at=when)
        self.log(f"    {moved} proposals and {len(graded)} teacher decisions dated across the course weeks")

    # Recommendations --------------------------------------------------------------------

    def recommendations(self) -> None:
        # Students open the demo to a ready list rather than one computed on first view.
        for course_id in self.course_ids.values():
            refreshed = recommender_api.refresh_course(course_id=course_id)
            self.log(f"    {refreshed} recommendation lists in course {course_id}")

    # Summary ----------------------------------------------------------------------------

    def logins(self) -> list[tuple[str, str, str]]:
        rows: list[tuple[str, str, str]] = []
        for p in content.STAFF:
            role = "school admin" if p.school_admin else "TA" if "ta" in p.roles.values() else "teacher"
            rows.append((role, p.username, p.title + (f" — {', '.join(p.roles)}" if p.roles else "")))
        by_ability = sorted(self.students, key=lambda s: s.ability)
        active = [s for s in by_ability if not s.inactive_days]
        risky = [s for s in by_ability if s.inactive_days]
        if active:
            rows.append(("student", active[-1].username, f"{active[-1].label}: a strong student"))
            # The one nearest the class's mean ability (AVERAGE_STUDENT's), not the median of the
            # active students: those who stopped working are mostly weaker ones, which pushes it up.
            mid = min(active[:-1] or active, key=lambda s: abs(s.ability))
            rows.append(("student", mid.username, f"{mid.label}: an average student"))
        if risky:
            rows.append(("student", risky[0].username, f"{risky[0].label}: inactive for {risky[0].inactive_days} days"))
        zh = [s for s in active if s.zh_background]
        if zh:
            rows.append(("student", zh[len(zh) // 2].username, f"{zh[len(zh) // 2].label}: also in the Chinese course"))
        return rows


@contextmanager
def _training_by_the_builder_only() -> Iterator[None]:
    """Switch off grading's automatic training (``EDUAI_GRADER_AUTO_TRAIN``) while building.

    In production each teacher grade may cross a training threshold and start training; with
    no broker that runs in a background thread. During the build the builder trains once, at
    the right moment, itself: threshold-started threads would train on a half-built school and
    hold SQLite's write lock while the builder writes ("database is locked").
    """
    missing = object()
    previous = getattr(settings, "EDUAI_GRADER_AUTO_TRAIN", missing)
    setattr(settings, "EDUAI_GRADER_AUTO_TRAIN", "0")  # noqa: B010 - not a declared setting (read by grading.conf)
    try:
        yield
    finally:
        if previous is missing:
            delattr(settings, "EDUAI_GRADER_AUTO_TRAIN")
        else:
            setattr(settings, "EDUAI_GRADER_AUTO_TRAIN", previous)  # noqa: B010


def build_demo(
    *, config: DemoConfig | None = None, now: datetime | None = None, log: Callable[[str], None] = lambda _m: None
) -> DemoSummary:
    """Create whatever of the demo is missing; see the module docstring."""
    with _training_by_the_builder_only():
        return _build(config or DemoConfig(), now, log)


def _build(config: DemoConfig, now: datetime | None, log: Callable[[str], None]) -> DemoSummary:
    # Whole minutes: events and due dates line up across the pages.
    now = (now or timezone.now()).replace(second=0, microsecond=0)
    builder = _Builder(config, now, log)
    # Setup is one transaction: a half-built course is never visible.
    with transaction.atomic():
        builder.timed("people and courses", builder.people_and_courses)
        builder.timed("skills, items and resources", builder.skills_items_resources)
        builder.timed("assignments", builder.assignments)
    # Activity and essays commit per call, so each write's signal runs as it would in production.
    if config.activity:
        builder.timed("activity", builder.activity)
        if config.train_models and builder.created.get("activity_events"):
            builder.timed("mastery model", builder.mastery_model)
    if config.essays:
        builder.timed("essays", builder.essays)
        builder.timed("review decisions", builder.review_decisions)
        builder.timed("review dates", builder.review_dates)
    # Recomputed only when this run added something: a rerun that finds the demo in place stays a
    # no-op (an interrupted first run is repaired by --reset).
    if config.recommendations and builder.created:
        builder.timed("recommendations", builder.recommendations)
    return DemoSummary(
        school_id=builder.school_id,
        course_ids=dict(builder.course_ids),
        logins=builder.logins(),
        created=builder.created,
        seconds=builder.seconds,
        hidden_ability={s.username: s.ability for s in builder.students},
        inactive_days={s.username: s.inactive_days for s in builder.students if s.inactive_days},
    )


def reset_demo() -> dict[str, int]:
    """Delete the demo school and the demo users; returns counts of deleted rows by model."""
    deleted: dict[str, int] = {}
    try:
        with transaction.atomic():
            school = School.objects.filter(slug=content.SCHOOL_SLUG).first()
            if school is not None:
                # Submissions first: grading's predictions cascade from them but PROTECT their
                # model, which the course would otherwise try to delete while they exist.
                _, per_model = Submission.objects.filter(assignment__course__school=school).delete()
                _merge(deleted, per_model)
                _, per_model = Course.objects.filter(school=school).delete()
                _merge(deleted, per_model)
                _, per_model = school.delete()
                _merge(deleted, per_model)
            users = get_user_model().objects.filter(email__endswith=f"@{content.DEMO_EMAIL_DOMAIN}")
            _, per_model = users.delete()
            _merge(deleted, per_model)
    except ProtectedError as exc:
        raise DemoError(f"Could not delete the demo data: other records still refer to it ({exc.args[0]}).") from exc
    return deleted


def _merge(into: dict[str, int], counts: dict[str, int]) -> None:
    for key, n in counts.items():
        into[key] = into.get(key, 0) + n
