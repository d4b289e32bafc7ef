"""`python manage.py pds_token <username> [--name NAME] [--revoke PREFIX]`: FHIR API bearer tokens."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from pds.models import ApiToken


class Command(BaseCommand):
    help = "Issue (or revoke) a bearer token for the PDS FHIR API. The token is shown once; only its hash is kept."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--name", default="api", help="what the token is for")
        parser.add_argument("--revoke", metavar="PREFIX", help="revoke the user's token starting with PREFIX")

    def handle(self, *args, username: str, name: str, revoke: str | None, **options):
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user called {username}")
        if revoke:
            count = ApiToken.objects.active().filter(user=user, prefix=revoke).update(revoked_at=timezone.now())
            if not count:
                raise CommandError("No active token with that prefix")
            self.stdout.write(self.style.SUCCESS(f"Revoked {count} token(s)"))
            return
        _, raw = ApiToken.issue(user, name)
        self.stdout.write(raw)
