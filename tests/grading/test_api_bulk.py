"""grading.api's bulk registry read (school pages): many courses' models in one query, as data."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from grading import api as grading
from grading.models import GradingModel
from tests import factories as f

pytestmark = pytest.mark.django_db


def test_models_for_courses_reads_the_registry_of_those_courses_only(world, django_assert_num_queries):
    # given: models of two assignments in two courses of the school, and one in another school
    essay = f.AssignmentFactory(course=world.course, title="Essay")
    report = f.AssignmentFactory(course=world.other_course, title="Report")
    foreign = f.AssignmentFactory(course=world.foreign_course, title="Elsewhere")
    v1 = GradingModel.objects.create(
        assignment=essay, version=1, method="fast", status="ready", n_train=30, val_qwk=0.61, train_seconds=4.0
    )
    v2 = GradingModel.objects.create(assignment=essay, version=2, method="fast", status="ready", is_active=True)
    failed = GradingModel.objects.create(
        assignment=report, version=1, method="finetune", status="failed", failure_reason="out of memory"
    )
    GradingModel.objects.create(assignment=foreign, version=1, method="fast", status="ready")
    # created_at decides the order (training history), not the id: v2 was made first here
    now = timezone.now()
    for model, days_ago in ((v1, 3), (v2, 5), (failed, 1)):
        GradingModel.objects.filter(pk=model.pk).update(created_at=now - timedelta(days=days_ago))

    # when
    with django_assert_num_queries(1):
        models = grading.models_for_courses(course_ids=[world.course.pk, world.other_course.pk])

    # then
    assert [m.id for m in models] == [v2.pk, v1.pk, failed.pk]
    first, second, third = models
    assert (second.assignment_id, second.course_id, second.version) == (essay.pk, world.course.pk, 1)
    assert second.method == "fast"
    assert (second.status, second.is_active, second.n_train, second.val_qwk) == ("ready", False, 30, 0.61)
    assert second.train_seconds == 4.0 and second.failure_reason == ""
    assert first.is_active and first.val_qwk is None
    assert (third.course_id, third.status, third.failure_reason) == (world.other_course.pk, "failed", "out of memory")
    assert third.created_at == now - timedelta(days=1)
    with pytest.raises(AttributeError):
        first.status = "failed"  # type: ignore[misc]  # frozen: data, not a model to save


def test_models_for_courses_of_no_course_asks_nothing(world, django_assert_num_queries):
    GradingModel.objects.create(
        assignment=f.AssignmentFactory(course=world.course), version=1, method="fast", status="ready"
    )
    with django_assert_num_queries(0):
        assert grading.models_for_courses(course_ids=[]) == []
    assert grading.models_for_courses(course_ids=[world.foreign_course.pk]) == []
