from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError

from alerts.delivery import AlertWorker
from core.processes import wait_for_termination
from mailqueue.delivery import DeliveryWorkers
from smtpserver.server import build_controller
from smtpserver.tls import certificate_files, server_tls_context


class Command(BaseCommand):
    help = (
        "Run the SMTP submission server for SMTP users (STARTTLS, optional implicit TLS) and, "
        "unless --no-deliver, the delivery of queued mail and of quota alerts, until stopped "
        "(Ctrl-C or SIGTERM)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--host", help="Address to listen on (SMTP_LISTEN_HOST).")
        parser.add_argument("--port", type=int, help="STARTTLS port (SMTP_LISTEN_PORT).")
        parser.add_argument(
            "--tls-port", type=int, help="Implicit-TLS port (SMTP_IMPLICIT_TLS_PORT; 0: none)."
        )
        parser.add_argument(
            "--no-deliver",
            action="store_true",
            help="Only accept and queue; leave delivery to `manage.py deliver` and "
            "`manage.py deliveralerts`.",
        )
        parser.add_argument("--workers", type=int, default=1, help="Delivery threads (default 1).")

    def handle(self, *args, **options):
        host = options["host"] or settings.SMTP_LISTEN_HOST
        port = settings.SMTP_LISTEN_PORT if options["port"] is None else options["port"]
        tls_port = options["tls_port"]
        if tls_port is None:
            tls_port = settings.SMTP_IMPLICIT_TLS_PORT
        if options["workers"] < 1:
            raise CommandError("--workers must be at least 1")
        try:
            cert_file, key_file = certificate_files()
            tls_context = server_tls_context(cert_file, key_file)
        except (ImproperlyConfigured, OSError) as error:
            raise CommandError(f"TLS certificate: {error}") from None

        delivery = None if options["no_deliver"] else DeliveryWorkers(options["workers"])
        alerts = None if options["no_deliver"] else AlertWorker()
        controller = build_controller(
            host=host,
            port=port,
            implicit_tls_port=tls_port or None,
            tls_context=tls_context,
            allow_plaintext_auth=settings.SMTP_ALLOW_PLAINTEXT_AUTH,
            on_accepted=delivery.wake if delivery else None,
        )
        try:
            controller.start()
        except OSError as error:
            raise CommandError(f"Cannot listen on {host}: {error}") from None
        if delivery and alerts:
            delivery.start()
            alerts.start()
        self.stdout.write(self._banner(host, controller.ports, cert_file, delivery))
        try:
            wait_for_termination()
        finally:
            controller.stop()
            if delivery and alerts:
                delivery.stop()
                alerts.stop()

    @staticmethod
    def _banner(host, ports, cert_file, delivery) -> str:
        lines = [f"SMTP submission on {host}:{ports[0]} (STARTTLS)"]
        if len(ports) > 1:
            lines.append(f"SMTP submission on {host}:{ports[1]} (implicit TLS)")
        lines.append(f"TLS certificate: {cert_file}")
        if settings.SMTP_ALLOW_PLAINTEXT_AUTH:
            lines.append("AUTH allowed without TLS (SMTP_ALLOW_PLAINTEXT_AUTH; development only)")
        lines.append(
            f"Delivering queued mail with {len(delivery.workers)} worker(s), and quota alerts"
            if delivery
            else "Not delivering (--no-deliver): run `manage.py deliver` and "
            "`manage.py deliveralerts`"
        )
        lines.append("Ctrl-C to stop.")
        return "\n".join(lines)
