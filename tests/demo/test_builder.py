"""The demo builder: what it creates, that it is idempotent, deterministic and resets cleanly."""

from __future__ import annotations

import datetime as dt
import random
from statistics import mean

import pytest
from django.core.management import CommandError, call_command
from scipy.stats import spearmanr

import assessment.api as assessment_api
from eduai.accounts.models import User
from eduai.courses.models import (
    ActivityEvent,
    Assignment,
    Course,
    Enrollment,
    LearningResource,
    PracticeItem,
    School,
    Skill,
    Submission,
)
from eduai.demo import content
from eduai.demo.builder import DemoConfig, _review_times, build_demo, reset_demo
from grading.models import GradingModel, Prediction, TeacherGrade
from grading.review.models import GradeRelease, ReviewDecision, ReviewEvent

NOW = dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.UTC)
SMALL = DemoConfig.small()


@pytest.fixture(autouse=True)
def _cheap_settings(settings, tmp_path):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # Grading embeds every essay on arrival; 64 tokens keep that cheap (as grading's own tests do).
    settings.EDUAI_EMBED_MAX_TOKENS = 64
    settings.EDUAI_MODEL_ROOT = tmp_path / "models"


def _snapshot() -> dict[str, int]:
    return {
        "users": User.objects.count(),
        "courses": Course.objects.count(),
        "enrollments": Enrollment.objects.count(),
        "skills": Skill.objects.count(),
        "items": PracticeItem.objects.count(),
        "resources": LearningResource.objects.count(),
        "assignments": Assignment.objects.count(),
        "submissions": Submission.objects.count(),
        "events": ActivityEvent.objects.count(),
    }


@pytest.mark.django_db
def test_small_demo_has_every_kind_of_content():
    summary = build_demo(config=SMALL, now=NOW)
    school = School.objects.get(slug=content.SCHOOL_SLUG)
    assert summary.school_id == school.pk
    assert set(summary.course_ids) == {"ENG9", "MATH9", "ZH9"}
    eng = Course.objects.get(pk=summary.course_ids["ENG9"])
    # People: every student in English, a teacher, a TA and a school admin
    assert eng.enrollments.filter(role="student").count() == SMALL.n_students
    assert eng.enrollments.filter(role="teacher").exists() and eng.enrollments.filter(role="ta").exists()
    assert school.memberships.filter(is_admin=True, user__username="helen.carter").exists()
    # Skills with prerequisites; items and resources tagged with skills
    maths = Course.objects.get(pk=summary.course_ids["MATH9"])
    graphs = maths.skills.get(name="Straight-line graphs")
    assert {s.name for s in graphs.prerequisites.all()} == {"Linear equations", "Coordinate plane"}
    assert not PracticeItem.objects.filter(course__school=school, skills=None).exists()
    assert not LearningResource.objects.filter(course__school=school, skills=None).exists()
    for resource in LearningResource.objects.filter(course__school=school):
        assert resource.body.count("\n\n") >= 2, resource.title  # several paragraphs
    # Essay assignments with rubric traits, one in Chinese, each with essays
    zh = Assignment.objects.get(course_id=summary.course_ids["ZH9"])
    assert zh.text_language == "zh" and zh.traits.count() == 3
    for a in Assignment.objects.filter(course__school=school):
        assert a.submissions.count() >= 2, a.title
    assert Submission.objects.filter(assignment=zh, language="zh").exists()
    # Practice activity through the service (answered + experienced)
    assert ActivityEvent.objects.filter(course=maths, verb__endswith="/answered").count() > 50
    assert ActivityEvent.objects.filter(course=maths, verb__endswith="/experienced").exists()
    assert not ActivityEvent.objects.filter(timestamp__gt=NOW).exists()
    # Logins for every role, one shared password that works
    roles = {role for role, _u, _n in summary.logins}
    assert {"school admin", "teacher", "TA", "student"} <= roles
    for _role, username, _note in summary.logins:
        assert User.objects.get(username=username).check_password(content.DEMO_PASSWORD)


@pytest.mark.django_db
def test_running_twice_creates_nothing_new():
    build_demo(config=SMALL, now=NOW)
    before = _snapshot()
    again = build_demo(config=SMALL, now=NOW + dt.timedelta(hours=5))
    assert _snapshot() == before
    assert not again.created_anything


@pytest.mark.django_db
def test_reset_removes_only_the_demo_and_rebuilds_identically(world):
    first = build_demo(config=SMALL, now=NOW)
    texts = sorted(
        Submission.objects.filter(assignment__course__school_id=first.school_id).values_list("text", flat=True)
    )
    statement_ids = set(ActivityEvent.objects.values_list("statement_id", flat=True))

    deleted = reset_demo()
    assert sum(deleted.values()) > 0
    assert not School.objects.filter(slug=content.SCHOOL_SLUG).exists()
    assert not User.objects.filter(email__endswith=content.DEMO_EMAIL_DOMAIN).exists()
    # The rest of the database is untouched
    assert Course.objects.filter(pk=world.course.pk).exists()
    assert User.objects.filter(pk=world.student.pk).exists()

    second = build_demo(config=SMALL, now=NOW)
    assert (
        sorted(Submission.objects.filter(assignment__course__school_id=second.school_id).values_list("text", flat=True))
        == texts
    )
    assert set(ActivityEvent.objects.values_list("statement_id", flat=True)) == statement_ids
    assert second.logins == first.logins


@pytest.mark.django_db
@pytest.mark.slow
def test_full_demo_simulation_carries_real_signal():
    # The full-size activity only (essays are covered above): 60 students over six weeks.
    summary = build_demo(config=DemoConfig(essays=False), now=NOW)
    maths = summary.course_ids["MATH9"]
    accuracy, ability = [], []
    for username, theta in summary.hidden_ability.items():
        answers = list(
            ActivityEvent.objects.filter(
                course_id=maths, actor__username=username, verb__endswith="/answered"
            ).values_list("result_success", flat=True)
        )
        if len(answers) >= 10:
            accuracy.append(mean(answers))
            ability.append(theta)
    # Mastery has something to find: success tracks the hidden ability ...
    assert len(accuracy) >= 45
    assert spearmanr(ability, accuracy).statistic > 0.5
    # ... and at-risk has something to find: about 13% of the class went quiet 2-3 weeks ago.
    assert 5 <= len(summary.inactive_days) <= 10
    cutoff = NOW - dt.timedelta(days=14)
    quiet = set(
        User.objects.filter(username__in=summary.hidden_ability)
        .exclude(events__timestamp__gte=cutoff)
        .values_list("username", flat=True)
    )
    assert set(summary.inactive_days) <= quiet
    assert len(quiet) <= len(summary.inactive_days) + 3  # almost everyone else is active


# transaction=True: the services' on-commit work (mastery, essay scoring) must run.
@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
def test_the_strong_and_the_average_demo_student_differ_on_their_pages():
    # Given the full-size activity, and the two students load_demo points people to
    summary = build_demo(config=DemoConfig(essays=False, recommendations=False), now=NOW)
    notes = {note.split(": ", 1)[1]: username for role, username, note in summary.logins if role == "student"}
    strong, average = notes["a strong student"], notes["an average student"]
    # their hidden parameters are a strong and an average student's
    assert summary.hidden_ability[strong] >= 1.5 and abs(summary.hidden_ability[average]) < 0.25
    users = {u.username: u.pk for u in User.objects.filter(username__in=[strong, average])}
    for code in ("MATH9", "ENG9", "ZH9"):
        course_id = summary.course_ids[code]
        if not Enrollment.objects.filter(course_id=course_id, user_id=users[average]).exists():
            continue  # (the Chinese course does not take everyone)
        mastery = assessment_api.mastery_for_students(student_ids=list(users.values()), course_id=course_id)
        accuracy = {}
        for name, uid in users.items():
            answers = ActivityEvent.objects.filter(course_id=course_id, actor_id=uid, verb__endswith="/answered")
            accuracy[name] = mean(answers.values_list("result_success", flat=True))
        mean_mastery = {name: mean(m.p for m in mastery[uid].values()) for name, uid in users.items()}
        # Then what the dashboards show of them differs clearly (it did not: the same mastery,
        # 1.00, and 0.81 / 0.77 right, as the learning rate barely depended on ability)
        assert accuracy[strong] - accuracy[average] >= 0.15, (code, accuracy)
        assert mean_mastery[strong] - mean_mastery[average] >= 0.1, (code, mean_mastery)


@pytest.mark.parametrize(
    "handed_in_before_now, due_before_now",
    [
        (dt.timedelta(days=9), dt.timedelta(days=3)),  # on time, deadline days ago
        (dt.timedelta(days=2), dt.timedelta(days=3)),  # late, days ago
        (dt.timedelta(hours=3), dt.timedelta(days=1)),  # late, this morning
        (dt.timedelta(minutes=50), dt.timedelta(days=1)),  # late, within the last hour
        (dt.timedelta(minutes=4), dt.timedelta(days=1)),  # late, within the last ten minutes
        (dt.timedelta(seconds=30), dt.timedelta(minutes=1)),  # late, seconds ago
        (dt.timedelta(minutes=55), dt.timedelta(minutes=58)),  # on time, deadline under an hour ago
        (dt.timedelta(minutes=5), dt.timedelta(minutes=5)),  # at the deadline, minutes ago
        (dt.timedelta(days=1), -dt.timedelta(days=2)),  # early, the deadline still ahead
        (dt.timedelta(minutes=3), -dt.timedelta(days=2)),  # early and just now
    ],
)
@pytest.mark.parametrize("now", [NOW, dt.datetime(2026, 3, 8, 22, 5, tzinfo=dt.UTC)])
def test_each_essay_is_handed_in_then_proposed_then_decided_before_now(handed_in_before_now, due_before_now, now):
    for seed in range(300):
        rng = random.Random(seed)
        submitted = now - handed_in_before_now
        proposed, decided = _review_times(submitted, now - due_before_now, now, rng)
        assert submitted < proposed < decided < now, (seed, submitted, proposed, decided)
        # the proposal comes minutes after the hand-in, as grading scores on arrival
        assert proposed - submitted <= dt.timedelta(minutes=10)
        # a teacher marks after the deadline once it has passed, within a week of it
        if dt.timedelta(0) < due_before_now and now - due_before_now > proposed:
            assert now - due_before_now < decided <= now - due_before_now + dt.timedelta(days=7)


# transaction=True: the services' on-commit work (mastery, essay scoring) must run.
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "config, now",
    [
        (DemoConfig(n_students=24, activity=False, essay_scale=0.3, recommendations=False), NOW),
        # a different roster size and an evening "now": other essays, other hand-in times
        (
            DemoConfig(n_students=30, activity=False, essay_scale=0.35, recommendations=False),
            dt.datetime(2026, 3, 8, 19, 40, tzinfo=dt.UTC),
        ),
    ],
)
def test_teachers_decisions_are_dated_across_the_course_weeks(config, now):
    # Given a demo with a trained grader, so the review loop has proposals to decide
    summary = build_demo(config=config, now=now)
    courses = list(summary.course_ids.values())
    submitted = dict(Submission.objects.filter(assignment__course_id__in=courses).values_list("id", "submitted_at"))
    proposed = dict(Prediction.objects.filter(submission_id__in=submitted).values_list("submission_id", "created_at"))
    decisions = list(ReviewDecision.objects.filter(course_id__in=courses).values_list("submission_id", "decided_at"))
    assert len(decisions) >= 3 and proposed
    # Then every decision lies after its essay was handed in and proposed, and before "now" ...
    for sid, decided in decisions:
        assert submitted[sid] < proposed.get(sid, submitted[sid] + dt.timedelta(microseconds=1)) < decided < now
    # ... spread over several days, not all at one moment
    assert len({decided.date() for _sid, decided in decisions}) >= 3
    # and so do the teachers' marks, the releases the students see, and every AI proposal
    for sid, decided in TeacherGrade.objects.filter(assignment__course_id__in=courses).values_list(
        "submission_id", "updated_at"
    ):
        assert submitted[sid] < decided < now
        assert sid not in proposed or proposed[sid] < decided
    for sid, released in GradeRelease.objects.filter(course_id__in=courses).values_list("submission_id", "released_at"):
        assert submitted[sid] < released < now
    for sid, when in proposed.items():
        assert submitted[sid] < when < now
    # and each model was trained and activated before its first proposal, not at the build
    models = GradingModel.objects.filter(assignment__course_id__in=courses, predictions__isnull=False).distinct()
    assert models
    for m in models:
        first = min(m.predictions.values_list("created_at", flat=True))
        assert m.created_at == m.trained_at < first < now
        assert m.activated_at is None or m.activated_at == m.trained_at
    # and each essay's audit trail reads in order: proposed, then decided
    trail: dict[int, list] = {}
    for sid, when in (
        ReviewEvent.objects.filter(course_id__in=courses).order_by("id").values_list("submission_id", "created_at")
    ):
        trail.setdefault(sid, []).append(when)
    assert trail and all(times == sorted(times) and times[-1] < now for times in trail.values())


@pytest.mark.django_db
def test_load_demo_command_prints_url_logins_and_is_idempotent(monkeypatch, capsys):
    from eduai.courses.management.commands import load_demo

    # The command's own job (options, output, idempotence, reset) needs people and courses only.
    content_only = DemoConfig(n_students=6, activity=False, essays=False, train_models=False, recommendations=False)
    monkeypatch.setattr(load_demo, "build_demo", lambda **kw: build_demo(config=content_only, now=NOW, **kw))
    call_command("load_demo", "--port", "8123")
    out = capsys.readouterr().out
    assert "http://127.0.0.1:8123/" in out
    assert content.DEMO_PASSWORD in out
    for username in ("helen.carter", "li.wei", "daniel.okafor", "sofia.rossi"):
        assert username in out
    call_command("load_demo")
    assert "already loaded" in capsys.readouterr().out
    call_command("load_demo", "--reset")
    out = capsys.readouterr().out
    assert "Removed the old demo" in out and "Demo ready" in out


@pytest.mark.django_db
def test_load_demo_command_refuses_a_bad_port():
    with pytest.raises(CommandError, match="--port"):
        call_command("load_demo", "--port", "70000")
