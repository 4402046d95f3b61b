"""Rotate the LTI tool's signing key without breaking registered platforms.

manage.py lti_rotate_key stage    # publish a next key in the JWKS (not yet signing)
manage.py lti_rotate_key promote  # sign with it; the old key stays published
manage.py lti_rotate_key retire   # stop publishing previous keys (after a day or so)
manage.py lti_rotate_key status
"""

from django.core.management.base import BaseCommand

from eduai.lti import keys
from eduai.lti.models import ToolKey


class Command(BaseCommand):
    help = "Stage, promote or retire the LTI tool's RSA keys (see the module docstring)."

    def add_arguments(self, parser):
        parser.add_argument("step", choices=["stage", "promote", "retire", "status"])

    def handle(self, *args, step: str, **options):
        if step == "stage":
            key = keys.tool_key_stage()
            self.stdout.write(f"staged {key.kid}: published, signs after 'promote'")
        elif step == "promote":
            key = keys.tool_key_promote()
            self.stdout.write(f"promoted {key.kid}: signing now; the previous key stays published")
        elif step == "retire":
            self.stdout.write(f"retired {keys.tool_key_retire_previous()} previous key(s)")
        keys.tool_key_active()
        for key in ToolKey.objects.order_by("created_at"):
            self.stdout.write(f"{key.status:9} {key.kid}")
