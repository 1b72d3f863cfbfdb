from json import dumps

from django.core.management.base import BaseCommand, CommandError

from accounts.services import create_owner
from core.errors import ServiceError


class Command(BaseCommand):
    help = (
        "Create an owner with one API token and, given --email and --password, a dashboard login."
    )

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument("--email")
        parser.add_argument("--password")
        parser.add_argument("--json", action="store_true", help="Print one JSON object only.")

    def handle(self, *args, name, email, password, json: bool, **options):
        try:
            owner, token, login = create_owner(name=name, email=email, password=password)
        except ServiceError as error:
            raise CommandError(error.message) from None
        result = {
            "owner_id": owner.owner_id,
            "token": token,
            "login": login.email if login else None,
        }
        if json:
            self.stdout.write(dumps(result))
            return
        self.stdout.write(f"Owner:    {owner.name}")
        self.stdout.write(f"owner_id: {result['owner_id']}")
        self.stdout.write(f"token:    {token}   (shown once)")
        if login:
            self.stdout.write(f"login:    {login.email}")
