"""Every change to domain email settings goes through these functions, whatever the caller."""

import logging
import smtplib
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import Owner, User
from audit.services import record_event
from core.crypto import encrypt
from core.errors import InvalidFieldsError, NotFoundError, ServiceError
from core.tenancy import owned_by
from relaysettings import dkim, selectors, verification
from relaysettings.models import DkimKey, DnsStatus, RelaySetting
from relaysettings.transport import CONNECTIONS, DEFAULT_TIMEOUT_SECONDS, send_message, target_for
from relaysettings.transport import DeliveryError as DeliveryError
from relaysettings.validators import (
    RelaySettingInput,
    parse_domain,
    parse_email_address,
    parse_relay_setting,
    unicode_domain,
)
from relaysettings.verification import SenderDomainRefused as SenderDomainRefused

logger = logging.getLogger(__name__)

# Part of this module's surface for other apps (mailqueue, smtpserver): DeliveryError and
# SenderDomainRefused (imported "as" themselves to say so), and DKIM signing.
dkim_signed = dkim.signed

# Periodic checks (manage.py verifydomains): unverified domains hourly during their first
# week, verified ones daily (a record that disappears takes the domain's verification away).
CHECK_UNVERIFIED_EVERY = timedelta(hours=1)
CHECK_UNVERIFIED_FOR = timedelta(days=7)
CHECK_VERIFIED_EVERY = timedelta(days=1)


def save_relay_setting(
    owner: Owner,
    *,
    domain: object,
    data: object,
    create_only: bool = False,
    replace_only: bool = False,
    keep_password_if_blank: bool = False,
) -> tuple[RelaySetting, bool]:
    """Create the owner's settings for `domain`, or replace all of them; returns (setting,
    created).

    data: the record as the API's JSON body has it (provider, description, from, options).
    create_only: refuse a domain that already has settings; replace_only: NotFoundError if
    none. keep_password_if_blank: an auth user without a password keeps the stored password.
    """
    record = parse_relay_setting(
        domain=domain, data=data, allow_blank_password=keep_password_if_blank
    )
    try:
        return _save(owner, record, create_only=create_only, replace_only=replace_only)
    except IntegrityError:
        # Another request created this domain's settings between our read and our insert:
        # the second pass finds and locks that row.
        return _save(owner, record, create_only=create_only, replace_only=replace_only)


def _save(
    owner: Owner, record: RelaySettingInput, *, create_only: bool, replace_only: bool
) -> tuple[RelaySetting, bool]:
    with transaction.atomic():
        relay_setting = (
            owned_by(owner, RelaySetting.objects.select_for_update())
            .filter(domain=record.domain)
            .first()
        )
        if relay_setting is None and replace_only:
            raise NotFoundError(f"No email settings for {record.domain}")
        if relay_setting is not None and create_only:
            raise ServiceError(
                f"{record.domain} already has email settings; edit them instead", field="domain"
            )
        created = relay_setting is None
        if relay_setting is None:
            relay_setting = RelaySetting(owner=owner, domain=record.domain)
        new_values = record.model_fields()
        changes = {
            name: [None if created else getattr(relay_setting, name), value]
            for name, value in new_values.items()
            if created or getattr(relay_setting, name) != value
        }
        for name, value in new_values.items():
            setattr(relay_setting, name, value)
        old_ciphertext = relay_setting.auth_password_encrypted
        relay_setting.auth_password_encrypted = _password_ciphertext(record, relay_setting)
        if relay_setting.auth_password_encrypted != old_ciphertext:
            # Only that it changed: never the password.
            changes["auth_password"] = [None, "changed" if record.auth_user else "removed"]
        relay_setting.save()
        if created:
            dkim.new_dkim_key(relay_setting, state=DkimKey.State.ACTIVE)
        if changes:
            record_event(
                owner,
                action="relay_setting.create" if created else "relay_setting.update",
                target=_target(record.domain),
                changes=changes,
            )
    return relay_setting, created


def _target(domain: str) -> str:
    return f"Email settings of {domain}"


def _password_ciphertext(record: RelaySettingInput, relay_setting: RelaySetting) -> str:
    if not record.auth_user:
        return ""
    if record.auth_password is not None:
        return encrypt(record.auth_password)
    if relay_setting.auth_password_encrypted:
        return relay_setting.auth_password_encrypted
    raise InvalidFieldsError({"options.auth.pass": "pass is required"})


def delete_relay_setting(owner: Owner, *, domain: object) -> int:
    """Remove the owner's settings for `domain`; returns how many records went (0 or 1)."""
    domain = parse_domain(domain)
    with transaction.atomic():
        _, deleted = owned_by(owner, RelaySetting).filter(domain=domain).delete()
        count = deleted.get(RelaySetting._meta.label, 0)
        if count:
            record_event(owner, action="relay_setting.delete", target=_target(domain))
    return count


def send_through(
    relay_setting: RelaySetting,
    *,
    mail_from: str,
    recipients: list[str],
    message: bytes,
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
) -> dict[str, str]:
    """Relay `message` through the upstream of these email settings; returns the recipients
    the upstream refused (address -> its reply).

    Raises DeliveryError (its `permanent` says whether retrying could help) when nothing was
    delivered. Used by the test send and by the mail queue's delivery worker. The connection
    stays open for the next message to the same upstream (transport.ConnectionPool).
    """
    return send_message(
        target_for(relay_setting),
        mail_from=mail_from,
        recipients=recipients,
        message=message,
        timeout=timeout,
    )


def close_relay_connections() -> None:
    """QUIT the upstream connections send_through keeps open (a stopping worker)."""
    CONNECTIONS.close_idle()


def build_test_message(relay_setting: RelaySetting, *, to: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = relay_setting.from_address
    message["To"] = to
    message["Subject"] = f"Test email from the SMTP relay portal ({relay_setting.domain})"
    message["Date"] = format_datetime(timezone.now())
    message["Message-ID"] = make_msgid(domain=relay_setting.domain)
    security = "implicit TLS" if relay_setting.secure else "STARTTLS when offered"
    message.set_content(
        "This is a test message from the SMTP relay portal.\n\n"
        f"It was sent with the email settings of {relay_setting.domain}, through "
        f"{relay_setting.host}:{relay_setting.port} ({security}).\n"
        "If you can read it, these settings work.\n"
    )
    return message


def send_test_email(owner: Owner, *, domain: object, to: object) -> None:
    """Send a test message to `to` through the owner's settings for `domain`.

    Raises ServiceError carrying the upstream's reply (or the connection problem) verbatim.
    """
    domain = parse_domain(domain)
    to = parse_email_address(to, field="to")
    relay_setting = selectors.relay_setting_for(owner, domain)
    check_sender_domain(relay_setting)
    message = build_test_message(relay_setting, to=to)
    try:
        send_through(
            relay_setting,
            mail_from=relay_setting.from_address,
            recipients=[to],
            message=dkim_signed(relay_setting, message.as_bytes()),
        )
    except DeliveryError as error:
        _record_test_send(owner, domain, to, result=f"failed: {error.message}")
        raise ServiceError(error.message) from None
    _record_test_send(owner, domain, to, result="sent")


def _record_test_send(owner: Owner, domain: str, to: str, *, result: str) -> None:
    record_event(
        owner,
        action="relay_setting.test_send",
        target=_target(domain),
        changes={"to": [None, to], "result": [None, result]},
    )


# Verified sending domains (API.md §5).


def check_sender_domain(relay_setting: RelaySetting | selectors.SenderSettings) -> None:
    """Mail may leave for the domain (SMTP MAIL FROM, DATA, test send): it is verified, or
    DOMAIN_VERIFICATION is off. No query: the status is on the settings row."""
    if settings.DOMAIN_VERIFICATION and relay_setting.verification_status != DnsStatus.VERIFIED:
        domain = relay_setting.domain
        raise SenderDomainRefused(
            f"Domain {domain} is not verified: publish its TXT record "
            f"{verification.ownership_name(domain)} (see the Domains page) and verify it"
        )


def check_header_from(
    relay_setting: RelaySetting | selectors.SenderSettings, message: bytes
) -> None:
    """Every header From address is in a domain the owner verified (end of DATA).

    No query when every address is in the envelope sender's domain (the usual case), one
    otherwise. SenderDomainRefused names the first address that may not be used.
    """
    if not settings.DOMAIN_VERIFICATION:
        return
    domains = verification.header_from_domains(message)
    verified = set()
    if relay_setting.verification_status == DnsStatus.VERIFIED:
        verified.add(relay_setting.domain)
    others = set(domains.values()) - {relay_setting.domain}
    if others:
        verified.update(
            owned_by(relay_setting.owner_id, RelaySetting)
            .filter(domain__in=others, verification_status=DnsStatus.VERIFIED)
            .values_list("domain", flat=True)
        )
    for address, domain in domains.items():
        if domain not in verified:
            raise SenderDomainRefused(
                f"Header From <{address}> is not in a verified domain of yours "
                f"({domain} is not verified)"
            )


def verify_domain(owner: Owner, *, domain: object) -> RelaySetting:
    """Look the domain's records up now and record the outcome; returns the settings.

    DNS trouble is an outcome (failed, with the reason in verification_detail), not an error.
    """
    relay_setting = selectors.relay_setting_for(owner, domain)
    checked, _ = _check_domain(relay_setting, now=timezone.now())
    if checked is None:
        raise NotFoundError(f"No email settings for {relay_setting.domain}")
    return checked


def verify_due_domains(*, now: datetime | None = None) -> int:
    """The periodic check (manage.py verifydomains): every domain whose check is due; owners
    whose verified domain lost its record are told by email. Returns how many were checked."""
    now = now or timezone.now()
    due = (
        RelaySetting.objects.filter(verification_due_at__lte=now)
        .order_by("verification_due_at", "id")
        .values_list("pk", flat=True)
    )
    checked = 0
    for pk in list(due):
        relay_setting = RelaySetting.objects.filter(pk=pk).first()
        if relay_setting is None:
            continue
        relay_setting, lost = _check_domain(relay_setting, now=now)
        checked += 1
        if relay_setting is not None and lost:
            _tell_owner_verification_lost(relay_setting)
    return checked


def _check_domain(
    relay_setting: RelaySetting, *, now: datetime
) -> tuple[RelaySetting | None, bool]:
    """(the settings as now stored, whether a verified domain lost its verification); the
    settings are None if they were removed during the check."""
    keys = list(DkimKey.objects.filter(relay_setting=relay_setting))
    # The look-ups take up to DNS_TIMEOUT_SECONDS each: outside any transaction.
    result = verification.check_records(relay_setting, keys)
    try:
        return _record_check(relay_setting.pk, result, now=now)
    except IntegrityError:
        # Another owner's verification of the same domain committed first: the second pass
        # sees it and fails this one.
        return _record_check(relay_setting.pk, result, now=now)


def _record_check(
    pk: int, result: verification.DomainCheck, *, now: datetime
) -> tuple[RelaySetting | None, bool]:
    with transaction.atomic():
        relay_setting = (
            RelaySetting.objects.select_for_update().select_related("owner").filter(pk=pk).first()
        )
        if relay_setting is None:
            return None, False
        was = relay_setting.verification_status
        status, detail = _verification_outcome(relay_setting, result.ownership)
        relay_setting.verification_status = status
        relay_setting.verification_detail = detail
        relay_setting.verification_checked_at = now
        relay_setting.verification_due_at = _next_check(relay_setting, now=now)
        relay_setting.dns_zone = result.zone or relay_setting.dns_zone
        relay_setting.dns_findings = result.findings_json()
        relay_setting.save(
            update_fields=[
                "verification_status",
                "verification_detail",
                "verification_checked_at",
                "verification_due_at",
                "dns_zone",
                "dns_findings",
            ]
        )
        _record_key_checks(relay_setting, result, now=now)
        if status != was:
            record_event(
                relay_setting.owner,
                action="relay_setting.verification",
                target=_target(relay_setting.domain),
                changes={"verification": [was, status], "detail": [None, detail]},
            )
    return relay_setting, was == DnsStatus.VERIFIED and status != DnsStatus.VERIFIED


def _verification_outcome(
    relay_setting: RelaySetting, ownership: verification.Finding
) -> tuple[str, str]:
    domain = relay_setting.domain
    claimed = (
        RelaySetting.objects.filter(domain=domain, verification_status=DnsStatus.VERIFIED)
        .exclude(pk=relay_setting.pk)
        .exists()
    )
    if claimed:
        return DnsStatus.FAILED, (
            f"{unicode_domain(domain)} is already verified by another account; a domain "
            "sends for one account only"
        )
    if ownership.status == verification.FOUND:
        return DnsStatus.VERIFIED, ""
    if ownership.status == verification.UNCHECKED:
        if relay_setting.verification_status == DnsStatus.VERIFIED:
            # Our resolver's trouble is no proof that the record is gone: keep sending.
            return DnsStatus.VERIFIED, (
                f"The last check could not be completed ({ownership.detail}); the domain "
                "stays verified"
            )
        return DnsStatus.FAILED, f"DNS check failed: {ownership.detail}"
    return DnsStatus.FAILED, ownership.detail


def _next_check(relay_setting: RelaySetting, *, now: datetime) -> datetime | None:
    if relay_setting.verification_status == DnsStatus.VERIFIED:
        return now + CHECK_VERIFIED_EVERY
    if now < relay_setting.created_at + CHECK_UNVERIFIED_FOR:
        return now + CHECK_UNVERIFIED_EVERY
    return None  # on demand only, from now on


def _record_key_checks(
    relay_setting: RelaySetting, result: verification.DomainCheck, *, now: datetime
) -> None:
    """Note each key's DNS status; switch to a successor once it is seen in DNS, and retire
    the replaced key once its grace period is over."""
    keys = list(DkimKey.objects.select_for_update().filter(relay_setting=relay_setting))
    for key in keys:
        finding = result.dkim.get(key.selector)
        if finding is None or finding.status == verification.UNCHECKED:
            continue
        key.dns_status = (
            DnsStatus.VERIFIED if finding.status == verification.FOUND else (DnsStatus.FAILED)
        )
        key.dns_checked_at = now
        key.save(update_fields=["dns_status", "dns_checked_at"])
    by_state = {key.state: key for key in keys}
    successor = by_state.get(DkimKey.State.NEXT)
    if successor is not None and successor.dns_status == DnsStatus.VERIFIED:
        replaced = by_state.get(DkimKey.State.ACTIVE)
        if replaced is not None:
            replaced.state = DkimKey.State.RETIRING
            replaced.retire_at = now + timedelta(days=settings.DKIM_ROTATION_GRACE_DAYS)
            replaced.save(update_fields=["state", "retire_at"])
        successor.state = DkimKey.State.ACTIVE
        successor.save(update_fields=["state"])
        record_event(
            relay_setting.owner,
            action="relay_setting.dkim_switch",
            target=_target(relay_setting.domain),
            changes={"selector": [replaced.selector if replaced else None, successor.selector]},
        )
    DkimKey.objects.filter(
        relay_setting=relay_setting, state=DkimKey.State.RETIRING, retire_at__lte=now
    ).delete()


def start_dkim_rotation(owner: Owner, *, domain: object) -> DkimKey:
    """A new DKIM key, published beside the signing one; checks switch to it once its record
    is seen in DNS, and the old key is retired DKIM_ROTATION_GRACE_DAYS later."""
    relay_setting = selectors.relay_setting_for(owner, domain)
    with transaction.atomic():
        RelaySetting.objects.select_for_update().filter(pk=relay_setting.pk).first()
        states = set(
            DkimKey.objects.filter(relay_setting=relay_setting).values_list("state", flat=True)
        )
        if DkimKey.State.NEXT in states:
            raise ServiceError(
                f"A new DKIM key for {relay_setting.domain} is already waiting: publish its "
                "record, then check DNS"
            )
        state = DkimKey.State.NEXT if DkimKey.State.ACTIVE in states else DkimKey.State.ACTIVE
        key = dkim.new_dkim_key(relay_setting, state=state)
        record_event(
            owner,
            action="relay_setting.dkim_rotation",
            target=_target(relay_setting.domain),
            changes={"selector": [None, key.selector]},
        )
    return key


def _tell_owner_verification_lost(relay_setting: RelaySetting) -> None:
    recipients = sorted(
        User.objects.filter(owner_id=relay_setting.owner_id, is_active=True).values_list(
            "email", flat=True
        )
    )
    if not recipients:
        return
    domain = unicode_domain(relay_setting.domain)
    name = verification.ownership_name(relay_setting.domain)
    try:
        send_mail(
            f"{domain} can no longer send mail through the relay",
            f"The daily check of {domain} found no verification record: "
            f"{relay_setting.verification_detail}\n\n"
            f"Until the TXT record {name} = {verification.ownership_value(relay_setting)} is "
            "published again and the domain is verified (Domains page, Check DNS now), mail "
            f"from {domain} is refused.\n",
            settings.DEFAULT_FROM_EMAIL,
            recipients,
        )
    except (OSError, smtplib.SMTPException):
        # The status and the Domains page say it too; the next loss is mailed again.
        logger.exception("Could not tell the owner of %s that it lost verification", domain)
        return
    logger.info("Verification of %s lost; told %d login(s)", relay_setting.domain, len(recipients))
