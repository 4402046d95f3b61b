"""Send due AGS score posts now (what the beat schedule does every minute)."""

from django.core.management.base import BaseCommand

from eduai.lti.services import outbox_send


class Command(BaseCommand):
    help = "Post every due LTI grade pass-back row to its platform."

    def handle(self, *args, **options):
        self.stdout.write(str(outbox_send()))
