"""Shapes of the SMTP users API for its OpenAPI schema.

Input rules live in smtpusers/validators.py (called by the services), not here: these
serializers only describe the documented bodies.
"""

from rest_framework import serializers

from smtpusers.validators import MAX_LIMIT, STATUS_DISABLE, STATUS_ENABLE


class Credentials(serializers.Serializer):
    owner_id = serializers.CharField(
        required=False, help_text="The owner's id (or the X-Key header)."
    )
    token = serializers.CharField(
        required=False, help_text="An API token of the owner (or the X-Access-Token header)."
    )


def limit_field(*, required: bool, help_text: str, nullable=None) -> serializers.IntegerField:
    return serializers.IntegerField(
        required=required,
        allow_null=(not required) if nullable is None else nullable,
        min_value=1,
        max_value=MAX_LIMIT,
        help_text=help_text + ' A string of digits ("500") is accepted too.',
    )


def daily_limit_field(*, help_text: str, nullable: bool) -> serializers.IntegerField:
    return serializers.IntegerField(
        required=False,
        allow_null=nullable,
        min_value=0,
        max_value=MAX_LIMIT,
        help_text="Extra: messages per UTC calendar day. " + help_text
        + ' A string of digits is accepted too, and "none" like 0.',
    )


class AddSmtpRequest(Credentials):
    total_limit = limit_field(required=True, help_text="Messages this SMTP user may send in all.")
    hourly_limit = limit_field(required=True, help_text="Messages per clock hour (UTC).")
    daily_limit = daily_limit_field(help_text="Left out, null or 0: no daily limit.", nullable=True)


class AddSmtpFormRequest(AddSmtpRequest):
    """The form-encoded body: it has no null, a parameter is left out instead."""

    daily_limit = daily_limit_field(help_text="Left out or 0: no daily limit.", nullable=False)


def smtp_user_name_field() -> serializers.RegexField:
    return serializers.RegexField(r"\S", help_text="The SMTP user's name, e.g. smtp12345678.")


class EditSmtpRequest(Credentials):
    smtp_user_name = smtp_user_name_field()
    total_limit = limit_field(required=False, help_text="Left out or null: unchanged.")
    hourly_limit = limit_field(required=False, help_text="Left out or null: unchanged.")
    daily_limit = daily_limit_field(
        help_text="Left out or null: unchanged; 0: remove the daily limit.", nullable=True
    )
    status = serializers.ChoiceField(
        choices=[STATUS_ENABLE, STATUS_DISABLE], required=False, allow_null=True,
        help_text="Any letter case is accepted.",
    )


class EditSmtpFormRequest(EditSmtpRequest):
    """The form-encoded body: it has no null, a parameter is left out instead."""

    total_limit = limit_field(required=False, nullable=False, help_text="Left out: unchanged.")
    hourly_limit = limit_field(required=False, nullable=False, help_text="Left out: unchanged.")
    daily_limit = daily_limit_field(
        help_text="Left out: unchanged; 0: remove the daily limit.", nullable=False
    )
    status = serializers.ChoiceField(
        choices=[STATUS_ENABLE, STATUS_DISABLE], required=False,
        help_text="Any letter case is accepted.",
    )


class ResetSmtpPasswordRequest(Credentials):
    smtp_user_name = smtp_user_name_field()


class ListSmtpRequest(Credentials):
    pass


class SuccessStatus(serializers.Serializer):
    status = serializers.ChoiceField(choices=["success"])


class AddSmtpResponse(SuccessStatus):
    message = serializers.ChoiceField(choices=["SMTP User Created"])
    smtp_user_name = serializers.CharField()
    smtp_password = serializers.CharField()


class EditSmtpResponse(SuccessStatus):
    message = serializers.ChoiceField(choices=["SMTP User Updated"])


class ResetSmtpPasswordResponse(SuccessStatus):
    message = serializers.ChoiceField(choices=["password reseted"])
    smtp_user_name = serializers.CharField()
    smtp_password = serializers.CharField()


class SmtpListItem(serializers.Serializer):
    smtp_user_name = serializers.CharField()
    smtp_password = serializers.CharField()
    password = serializers.CharField(help_text="The same as smtp_password.")
    status = serializers.ChoiceField(choices=[STATUS_ENABLE, STATUS_DISABLE])
    total_limit = serializers.IntegerField()
    hourly_limit = serializers.IntegerField()
    total_used = serializers.IntegerField(help_text="Extra: messages accepted in all.")
    total_remaining = serializers.IntegerField(
        help_text="Extra: messages it may still send in all (the total never resets)."
    )
    hourly_used = serializers.IntegerField(help_text="Extra: messages accepted this clock hour.")
    hourly_remaining = serializers.IntegerField(help_text="Extra: left this clock hour.")
    hourly_resets_at = serializers.DateTimeField(help_text="Extra: the next full hour (UTC).")
    daily_limit = serializers.IntegerField(
        allow_null=True, help_text="Extra: messages per UTC day; null: no daily limit."
    )
    daily_used = serializers.IntegerField(
        help_text="Extra: messages accepted this UTC day (counted with or without a limit)."
    )
    daily_remaining = serializers.IntegerField(
        allow_null=True, help_text="Extra: left this UTC day; null: no daily limit."
    )
    daily_resets_at = serializers.DateTimeField(help_text="Extra: the next midnight UTC.")
    last_used_at = serializers.DateTimeField(
        allow_null=True, help_text="Extra: when its last message was accepted."
    )
    last_used_ip = serializers.IPAddressField(
        allow_null=True, help_text="Extra: the address that message came from."
    )
    last_refusal = serializers.CharField(
        allow_null=True, help_text="Extra: why its last refused message was refused."
    )
    last_refusal_at = serializers.DateTimeField(allow_null=True, help_text="Extra.")
    created_at = serializers.DateTimeField(help_text="Extra.")


class ListSmtpResponse(SuccessStatus):
    smtp_list = SmtpListItem(many=True)


class ApiError(serializers.Serializer):
    status = serializers.ChoiceField(choices=["error"])
    code = serializers.IntegerField(help_text="Always -1.")
    name = serializers.ChoiceField(
        choices=["ValidationError", "AuthenticationError", "GeneralError"]
    )
    type = serializers.CharField(help_text="The same as name.")
    message = serializers.CharField()
