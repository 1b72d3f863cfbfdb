from django.core.management.base import BaseCommand, CommandError

from accounts.models import Owner
from accounts.services import create_api_token
from core.errors import ServiceError


class Command(BaseCommand):
    help = "Create an API token for an owner and print it (it is shown only once)."

    def add_arguments(self, parser):
        parser.add_argument("owner_id")
        parser.add_argument("--name", default="cli")

    def handle(self, *args, owner_id, name, **options):
        owner = Owner.objects.filter(owner_id=owner_id).first()
        if owner is None:
            raise CommandError(f"No owner with owner_id {owner_id}")
        try:
            _, token = create_api_token(owner, name=name)
        except ServiceError as error:
            raise CommandError(error.message) from None
        self.stdout.write(token)
