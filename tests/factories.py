"""factory_boy factories for the LMS domain. Every test builds its own small world."""

from __future__ import annotations

import uuid

import factory
from django.utils import timezone

from eduai.accounts.models import User
from eduai.courses import models as m

DEFAULT_PASSWORD = "pass-w0rd-for-tests"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    display_name = factory.LazyAttribute(lambda o: o.username.title())
    password = factory.PostGenerationMethodCall("set_password", DEFAULT_PASSWORD)

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class SchoolFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.School

    name = factory.Sequence(lambda n: f"School {n}")
    slug = factory.Sequence(lambda n: f"school-{n}")


class SchoolAdminFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.SchoolMembership

    school = factory.SubFactory(SchoolFactory)
    user = factory.SubFactory(UserFactory)
    is_admin = True


class CourseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.Course

    school = factory.SubFactory(SchoolFactory)
    code = factory.Sequence(lambda n: f"C{n:03d}")
    title = factory.Sequence(lambda n: f"Course {n}")


class EnrollmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.Enrollment

    course = factory.SubFactory(CourseFactory)
    user = factory.SubFactory(UserFactory)
    role = m.Role.STUDENT


class SkillFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.Skill

    course = factory.SubFactory(CourseFactory)
    name = factory.Sequence(lambda n: f"Skill {n}")


class AssignmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.Assignment

    course = factory.SubFactory(CourseFactory)
    title = factory.Sequence(lambda n: f"Essay {n}")
    prompt = "Write about a place that matters to you."
    min_score = 0
    max_score = 6


class RubricTraitFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.RubricTrait

    assignment = factory.SubFactory(AssignmentFactory)
    name = factory.Sequence(lambda n: f"trait{n}")
    min_score = 0
    max_score = 4


class SubmissionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.Submission

    assignment = factory.SubFactory(AssignmentFactory)
    author = factory.SubFactory(UserFactory)
    text = "A short essay about my town and its river."
    attempt = factory.Sequence(lambda n: n + 1)
    language = "en"
    submitted_at = factory.LazyFunction(timezone.now)


class PracticeItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.PracticeItem

    course = factory.SubFactory(CourseFactory)
    title = factory.Sequence(lambda n: f"Item {n}")
    body = "What is 3/4 + 1/8?"


class LearningResourceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.LearningResource

    course = factory.SubFactory(CourseFactory)
    title = factory.Sequence(lambda n: f"Resource {n}")
    body = "Fractions with unlike denominators need a common denominator."


class ActivityEventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.ActivityEvent

    statement_id = factory.LazyFunction(uuid.uuid4)
    course = factory.SubFactory(CourseFactory)
    actor = factory.SubFactory(UserFactory)
    verb = "http://adlnet.gov/expapi/verbs/answered"
    object_type = m.ObjectType.PRACTICE_ITEM
    timestamp = factory.LazyFunction(timezone.now)
