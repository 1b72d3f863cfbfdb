"""The relay benchmark's owners in the database (imported once Django is set up)."""

import time
from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone

from accounts.models import Owner
from accounts.services import create_owner
from mailqueue.models import QueuedMessage
from relaysettings.dkim import new_dkim_key
from relaysettings.models import DkimKey, DnsStatus, RelaySetting
from smtpusers.models import SmtpUser
from smtpusers.services import create_smtp_user
from testing.submission import make_relay_setting

BODY = ("Benchmark line of a typical small message, seventy characters long....\r\n" * 28).encode()


@dataclass
class BenchOwner:
    owner: Owner
    relay_setting: RelaySetting
    credentials: list[tuple[str, str]]

    @classmethod
    def create(
        cls, sink_port: int, smtp_users: int, *, domain: str = "bench.example"
    ) -> "BenchOwner":
        owner, _, _ = create_owner(name=f"Relay benchmark ({domain})")
        # Verified, with a signing key, as the owner's DNS would have it: the domain is in no
        # DNS, so its status is set here instead of by a check.
        relay_setting = make_relay_setting(
            owner, domain, sink_port, verification_status=DnsStatus.VERIFIED
        )
        new_dkim_key(relay_setting, state=DkimKey.State.ACTIVE)
        bench_owner = cls(owner, relay_setting, [])
        bench_owner.credentials = [bench_owner.add_smtp_user() for _ in range(smtp_users)]
        return bench_owner

    def add_smtp_user(self, *, total_limit: int = 2_000_000_000) -> tuple[str, str]:
        """A new SMTP user of this owner (hourly limit out of the way): its login, password."""
        smtp_user, password = create_smtp_user(
            self.owner, total_limit=total_limit, hourly_limit=2_000_000_000
        )
        return smtp_user.smtp_user_name, password

    def usage_of(self, login: str) -> dict[str, int]:
        """What the SMTP user has been counted as sending, by every counter there is."""
        smtp_user = SmtpUser.objects.get(owner=self.owner, smtp_user_name=login)
        return {
            "total_used": smtp_user.total_used,
            "hour_used": smtp_user.hour_used,
            "day_used": smtp_user.day_used,
            "usage hours": sum(smtp_user.usage_hours.values_list("count", flat=True)),
            "queued messages": smtp_user.queued_messages.count(),
        }

    def _message(self, number: int, now: datetime) -> QueuedMessage:
        mail_from = f"bench@{self.relay_setting.domain}"
        headers = (
            f"From: {mail_from}\r\nTo: sink@destination.test\r\nSubject: queued {number}\r\n\r\n"
        ).encode()
        data = headers + BODY
        return QueuedMessage(
            owner=self.owner,
            relay_setting=self.relay_setting,
            mail_from=mail_from,
            rcpt_to=["sink@destination.test"],
            data=data,
            size=len(data),
            next_attempt_at=now,
            created_at=now,
        )

    def queue_messages(self, count: int) -> None:
        """`count` messages due now, committed together (as if accepted earlier)."""
        now = timezone.now()
        QueuedMessage.objects.bulk_create(
            [self._message(number, now) for number in range(count)], batch_size=1000
        )

    def pending(self) -> bool:
        waiting = [QueuedMessage.Status.QUEUED, QueuedMessage.Status.SENDING]
        return QueuedMessage.objects.filter(owner=self.owner, status__in=waiting).exists()

    def clear_queue(self) -> None:
        QueuedMessage.objects.filter(owner=self.owner).delete()

    def time_to_delivery(self, timeout: float = 120) -> float:
        """Queue one message now; seconds until it is delivered (inf after `timeout`)."""
        (message,) = QueuedMessage.objects.bulk_create([self._message(0, timezone.now())])
        began = time.perf_counter()
        while time.perf_counter() - began < timeout:
            message.refresh_from_db(fields=["status"])
            if message.status == QueuedMessage.Status.DELIVERED:
                return time.perf_counter() - began
            time.sleep(0.05)
        return float("inf")

    def delete(self) -> None:
        self.owner.delete()
