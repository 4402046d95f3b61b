"""Create an xAPI credential for an LMS (prints the secret once).

manage.py xapi_client_create "Moodle log store" --school north [--course 12]
"""

from django.core.management.base import BaseCommand, CommandError

from eduai.courses.models import School
from eduai.xapi.services import XapiError, lrs_client_create


class Command(BaseCommand):
    help = "Create an LRS client (HTTP Basic key/secret) scoped to a school or one of its courses."

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument("--school", required=True, help="School slug.")
        parser.add_argument("--course", type=int, help="Course id (default: every course of the school).")

    def handle(self, *args, name: str, school: str, course: int | None, **options):
        found = School.objects.filter(slug=school).first()
        if found is None:
            raise CommandError(f"No school with slug {school!r}.")
        try:
            client, secret = lrs_client_create(name=name, school_id=found.pk, course_id=course)
        except XapiError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(f"key:    {client.key}\nsecret: {secret}\n(the secret is not stored; keep it now)")
