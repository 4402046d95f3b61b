"""A small course with something in every figure: the ``world`` course (ENG1) plus students,
skills, practice answers folded into mastery by assessment, an essay assignment with two model
versions, teacher grades, releases (by a teacher and by the policy) and recommendation lists.

Rows of other apps that have no test-friendly service (predictions, model registry, releases,
cached lists) are written with their models directly: this is test set-up, not app code.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.utils import timezone

from eduai.courses import api as courses
from eduai.courses.models import Role, SubmissionStatus

from .. import factories as f


@dataclass
class CourseData:
    world: object
    students: list
    skills: list
    assignment: object
    resource: object
    submissions: list


@pytest.fixture
def course_data(world) -> CourseData:
    from assessment import api as assessment
    from grading.models import GradingModel, Prediction, TeacherGrade
    from grading.review.models import GradeRelease
    from recommender.models import RecommendationSet

    now = timezone.now()
    course = world.course
    students = [world.student] + [
        f.UserFactory(username=f"pupil{i}", first_name=name, last_name="Test")
        for i, name in enumerate(["Ana", "Ben", "Chen", "Dara", "Eli"])
    ]
    for s in students[1:]:
        f.EnrollmentFactory(course=course, user=s, role=Role.STUDENT, language_background="zh" if s.pk % 2 else "en")
    skills = [f.SkillFactory(course=course, name=n) for n in ("Fractions", "Decimals", "Ratios")]
    items = []
    for skill in skills:
        item = f.PracticeItemFactory(course=course)
        item.skills.add(skill)
        items.append(item)
    # A skill nobody has evidence on yet: assessment answers with its prior, the heatmap shows a gap.
    f.SkillFactory(course=course, name="Geometry")
    resource = f.LearningResourceFactory(course=course, title="Fractions explained")
    resource.skills.add(skills[0])

    # Practice answers over three weeks: student k gets skill j right when (k + j) is even,
    # so the students split into groups with different gaps.
    events = []
    for k, student in enumerate(students):
        for j, item in enumerate(items):
            for r in range(4):
                events.append(
                    courses.EventInput(
                        course_id=course.pk,
                        actor_id=student.pk,
                        verb="http://adlnet.gov/expapi/verbs/answered",
                        object_type="practice_item",
                        practice_item_id=item.pk,
                        result_success=(k + j + (r == 3)) % 2 == 0,
                        timestamp=now - timedelta(days=21 - 5 * r, hours=k),
                    )
                )
        events.append(
            courses.EventInput(
                course_id=course.pk,
                actor_id=student.pk,
                verb="http://adlnet.gov/expapi/verbs/experienced",
                object_type="resource",
                resource_id=resource.pk,
                timestamp=now - timedelta(days=2),
            )
        )
    result = courses.activity_events_record(events=events)
    assessment.record_events(event_ids=result.created_ids)

    assignment = f.AssignmentFactory(course=course, title="My summer", min_score=0, max_score=6)
    assignment.skills.add(skills[0])
    v1 = GradingModel.objects.create(
        assignment=assignment, version=1, method="fast", status="ready", val_qwk=0.61, n_train=30, train_seconds=4.0
    )
    v2 = GradingModel.objects.create(
        assignment=assignment, version=2, method="fast", status="ready", is_active=True, val_qwk=0.74, n_train=60
    )
    GradingModel.objects.create(assignment=assignment, version=3, method="finetune", status="failed",
                                failure_reason="out of memory")  # fmt: skip
    submissions = []
    plan = [  # (status, final, proposal v1, proposal v2, teacher grade, released by)
        ("released", 4, 3, 4, 4, "teacher"),
        ("released", 5, 5, 5, None, "policy"),
        ("released", 2, 4, 3, 2, "teacher"),
        ("reviewed", 3, None, 3, 3, None),
        ("scored", None, None, 5, None, None),
        ("failed", None, None, None, None, None),
    ]
    for k, (student, (status, final, p1, p2, grade, released_by)) in enumerate(zip(students, plan, strict=True)):
        sub = f.SubmissionFactory(
            assignment=assignment, author=student, status=status, final_score=final,
            submitted_at=now - timedelta(days=10 - k),
        )  # fmt: skip
        preds = {}
        for model, score in ((v1, p1), (v2, p2)):
            if score is not None:
                preds[model.version] = Prediction.objects.create(
                    submission=sub, model=model, score=score, raw_score=score + 0.2, interval_low=score - 1,
                    interval_high=score + 1, interval_coverage=0.9, seconds=0.05 * (k + 1),
                )  # fmt: skip
        if grade is not None:
            TeacherGrade.objects.create(
                submission=sub, assignment=assignment, score=grade, grader=world.teacher, prediction=preds.get(2)
            )
        if released_by is not None:
            GradeRelease.objects.create(
                submission=sub, assignment=assignment, course=course, score=final, kind=released_by,
                comment="Good structure." if released_by == "teacher" else "", released_at=now,
            )  # fmt: skip
        submissions.append(sub)
    assert SubmissionStatus.RELEASED == submissions[0].status

    for k, student in enumerate(students):
        items_json = [
            {"kind": "resource", "id": resource.pk, "title": resource.title, "score": 0.8,
             "reasons": [{"code": "gap", "params": {}}], "skill_ids": [skills[0].pk]},
            {"kind": "practice", "id": items[k % 3].pk, "title": items[k % 3].title, "score": 0.5,
             "reasons": [], "skill_ids": []},
        ]  # fmt: skip
        RecommendationSet.objects.create(student=student, course=course, items=items_json, computed_at=now)
    return CourseData(world, students, skills, assignment, resource, submissions)
