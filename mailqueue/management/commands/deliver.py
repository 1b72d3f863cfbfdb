from django.core.management.base import BaseCommand, CommandError

from core.processes import wait_for_termination
from mailqueue.delivery import DeliveryWorkers, deliver_due_messages


class Command(BaseCommand):
    help = (
        "Relay queued messages upstream through their domain's email settings, retrying "
        "failures with backoff, until stopped (Ctrl-C or SIGTERM)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--workers", type=int, default=1, help="Delivery threads (default 1).")
        parser.add_argument(
            "--once", action="store_true", help="Deliver the messages due now, then exit."
        )

    def handle(self, *args, workers, once, **options):
        if once:
            attempted = deliver_due_messages()
            self.stdout.write(f"Attempted {attempted} message(s).")
            return
        if workers < 1:
            raise CommandError("--workers must be at least 1")
        delivery = DeliveryWorkers(workers).start()
        self.stdout.write(f"Delivering queued mail with {workers} worker(s); Ctrl-C to stop.")
        try:
            wait_for_termination()
        finally:
            delivery.stop()
