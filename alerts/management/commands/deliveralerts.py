from django.core.management.base import BaseCommand

from alerts.delivery import AlertWorker, deliver_due_alerts
from core.processes import wait_for_termination


class Command(BaseCommand):
    help = (
        "Send queued quota alerts (email and signed webhooks), retrying failures with backoff, "
        "until stopped (Ctrl-C or SIGTERM). runsmtp does this too unless --no-deliver."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--once", action="store_true", help="Send the alerts due now, then exit."
        )

    def handle(self, *args, once, **options):
        if once:
            self.stdout.write(f"Attempted {deliver_due_alerts()} alert delivery(ies).")
            return
        worker = AlertWorker()
        worker.start()
        self.stdout.write("Sending quota alerts; Ctrl-C to stop.")
        try:
            wait_for_termination()
        finally:
            worker.stop()
