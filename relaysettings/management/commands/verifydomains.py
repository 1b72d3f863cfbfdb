from django.core.management.base import BaseCommand

from relaysettings.services import verify_due_domains


class Command(BaseCommand):
    help = (
        "Check the DNS records of every domain whose check is due (unverified domains hourly "
        "during their first week, verified ones daily) and email owners whose verified domain "
        "lost its record. Run it from cron, e.g. every 10 minutes."
    )

    def handle(self, *args, **options):
        self.stdout.write(f"Checked {verify_due_domains()} domain(s).")
