import secrets
from typing import cast

from django.core.management.base import BaseCommand
from django.db import transaction

from accounts.models import Owner, User
from accounts.selectors import api_tokens_for
from accounts.services import create_api_token, create_owner, revoke_api_token

DEMO_EMAIL = "demo@example.com"


class Command(BaseCommand):
    help = (
        "Create the demo owner and login if missing, give the login a fresh password and the "
        "owner a fresh API token (revoking the ones printed before), and print them."
    )

    def handle(self, *args, **options):
        password = secrets.token_urlsafe(12)
        with transaction.atomic():
            login = User.objects.select_related("owner").filter(email=DEMO_EMAIL).first()
            if login is None:
                owner, token, login = create_owner(name="Demo", email=DEMO_EMAIL, password=password)
            else:
                login.set_password(password)
                login.save(update_fields=["password"])
                owner = cast(Owner, login.owner)  # the demo login is made with its owner
                # Each run prints a new token: the ones printed by earlier runs stop working
                # instead of piling up.
                for api_token in api_tokens_for(owner).filter(revoked_at__isnull=True):
                    revoke_api_token(owner, token_id=api_token.pk)
                _, token = create_api_token(owner, name="demo")
        self.stdout.write(
            "\n".join(
                [
                    "",
                    "Demo account ready:",
                    "  Dashboard:  http://127.0.0.1:8000/",
                    f"  Login:      {DEMO_EMAIL}",
                    f"  Password:   {password}",
                    f"  owner_id:   {owner.owner_id}",
                    f"  API token:  {token}",
                    "",
                ]
            )
        )
