"""Every change to domain email settings goes through these functions, whatever the caller."""

from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import Owner
from audit.services import record_event
from core.crypto import encrypt
from core.errors import InvalidFieldsError, NotFoundError, ServiceError
from core.tenancy import owned_by
from relaysettings import selectors
from relaysettings.models import RelaySetting
from relaysettings.transport import (
    CONNECTIONS,
    DEFAULT_TIMEOUT_SECONDS,
    DeliveryError,
    send_message,
    target_for,
)
from relaysettings.validators import (
    RelaySettingInput,
    parse_domain,
    parse_email_address,
    parse_relay_setting,
)


def save_relay_setting(
    owner: Owner,
    *,
    domain,
    data,
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
        if created:
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


def delete_relay_setting(owner: Owner, *, domain) -> int:
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


def send_test_email(owner: Owner, *, domain, to) -> None:
    """Send a test message to `to` through the owner's settings for `domain`.

    Raises ServiceError carrying the upstream's reply (or the connection problem) verbatim.
    """
    domain = parse_domain(domain)
    to = parse_email_address(to, field="to")
    relay_setting = selectors.relay_setting_for(owner, domain)
    message = build_test_message(relay_setting, to=to)
    try:
        send_through(
            relay_setting,
            mail_from=relay_setting.from_address,
            recipients=[to],
            message=message.as_bytes(),
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
