from getpass import getpass

from django.core.management.base import BaseCommand, CommandError

from accounts.services import create_staff_member
from accounts.support import SUPPORT_GROUP_NAME
from core.errors import ServiceError


class Command(BaseCommand):
    help = (
        f"Create a staff login in the {SUPPORT_GROUP_NAME} group: it can use the admin to find, "
        "edit, enable, disable and reset SMTP users and revoke API tokens, but delete nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("email")
        parser.add_argument(
            "--password", help="The login password; asked for (twice) when left out."
        )

    def handle(self, *args, email, password, **options):
        if password is None:
            password = getpass("Password: ")
            if getpass("Password (again): ") != password:
                raise CommandError("The two passwords differ.")
        try:
            staff_member = create_staff_member(email=email, password=password)
        except ServiceError as error:
            raise CommandError(error.message) from None
        self.stdout.write(
            f"Staff member {staff_member.email} created in the {SUPPORT_GROUP_NAME} group."
        )
