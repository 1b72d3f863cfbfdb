"""Dashboard (and admin) forms for domain email settings.

The forms only shape input into the API's record and call the services; every rule lives in
relaysettings.validators, and a ServiceError comes back as errors on the matching fields.
"""

from typing import cast

from django import forms

from core.errors import ServiceError
from relaysettings import services
from relaysettings.models import RelaySetting

# The record's field paths (as in the API's "errors") -> form fields.
FORM_FIELD_FOR = {
    "domain": "domain",
    "description": "description",
    "from": "from_address",
    "options.host": "host",
    "options.port": "port",
    "options.secure": "secure",
    "options.debug": "debug",
    "options.tls.rejectUnauthorized": "tls_reject_unauthorized",
    "options.auth.user": "auth_user",
    "options.auth.pass": "auth_password",
    "to": "to",
}


def add_service_error(form: forms.BaseForm, error: ServiceError) -> None:
    """Put the service's field errors on the form's fields (others on the whole form)."""
    errors = getattr(error, "errors", None) or {error.field: error.message}
    for path, message in errors.items():
        field = FORM_FIELD_FOR.get(path, path)
        form.add_error(field if field in form.fields else None, message)


def record_from_fields(fields: dict, *, remove_auth: bool = False) -> dict:
    """The API's record from flat form fields; a blank auth user and password mean no auth."""
    options = {
        "host": fields.get("host"),
        "port": fields.get("port"),
        "secure": fields.get("secure"),
        "debug": fields.get("debug"),
        "tls": {"rejectUnauthorized": fields.get("tls_reject_unauthorized")},
    }
    auth_user, auth_password = fields.get("auth_user"), fields.get("auth_password")
    if not remove_auth and (auth_user or auth_password):
        options["auth"] = {"user": auth_user, "pass": auth_password}
    return {
        "provider": RelaySetting.PROVIDER_SMTP,
        "description": fields.get("description"),
        "from": fields.get("from_address"),
        "options": options,
    }


class RelaySettingForm(forms.Form):
    """Create (with a domain) or edit (`relay_setting` given: the domain stays) settings."""

    # Not required here: the service says what is missing, in the same words as the API.
    domain = forms.CharField(
        required=False,
        help_text="The domain these settings send for, e.g. mail.example.com.",
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    description = forms.CharField(required=False)
    from_address = forms.CharField(
        label="From address",
        required=False,
        help_text="The sender of messages relayed for this domain and of test messages.",
        widget=forms.EmailInput(),
    )
    host = forms.CharField(
        label="SMTP server",
        required=False,
        help_text="Host name or IP address of your provider's SMTP server.",
        widget=forms.TextInput(attrs={"spellcheck": "false"}),
    )
    port = forms.IntegerField(
        required=False, help_text="Usually 465 (implicit TLS) or 587 (STARTTLS)."
    )
    secure = forms.BooleanField(
        label="Implicit TLS (SMTPS, e.g. port 465)",
        required=False,
        help_text="Otherwise the connection starts in plain text and uses STARTTLS when the "
        "server offers it.",
    )
    tls_reject_unauthorized = forms.BooleanField(
        label="Verify the server's TLS certificate",
        required=False,
        initial=True,
        help_text="Untick only for a server with a self-signed certificate.",
    )
    debug = forms.BooleanField(
        label="Debug flag",
        required=False,
        help_text="Kept for API clients (Webitel's options.debug); the portal never logs "
        "SMTP conversations.",
    )
    auth_user = forms.CharField(
        label="User name",
        required=False,
        help_text="Leave user name and password blank for a server that needs no authentication.",
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    auth_password = forms.CharField(
        label="Password",
        required=False,
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
    )
    remove_auth = forms.BooleanField(
        label="Remove authentication (forget the stored user name and password)",
        required=False,
    )

    def __init__(self, *args, relay_setting: RelaySetting | None = None, **kwargs):
        self.relay_setting = relay_setting
        if relay_setting is not None:
            kwargs.setdefault("initial", self._initial_from(relay_setting))
        super().__init__(*args, **kwargs)
        if relay_setting is None:
            del self.fields["remove_auth"]
        else:
            del self.fields["domain"]
            if relay_setting.auth_user:
                self.fields["auth_password"].help_text = "Leave blank to keep the stored password."
            else:
                del self.fields["remove_auth"]

    @staticmethod
    def _initial_from(relay_setting: RelaySetting) -> dict:
        return {
            "description": relay_setting.description,
            "from_address": relay_setting.from_address,
            "host": relay_setting.host,
            "port": relay_setting.port,
            "secure": relay_setting.secure,
            "tls_reject_unauthorized": relay_setting.tls_reject_unauthorized,
            "debug": relay_setting.debug,
            "auth_user": relay_setting.auth_user,
        }

    def save(self, owner) -> RelaySetting | None:
        """Create or replace through the service; None (and errors on the form) if refused."""
        creating = self.relay_setting is None
        record = record_from_fields(
            self.cleaned_data, remove_auth=self.cleaned_data.get("remove_auth", False)
        )
        try:
            relay_setting, _ = services.save_relay_setting(
                owner,
                domain=self.cleaned_data["domain"]
                if creating
                else cast(RelaySetting, self.relay_setting).domain,
                data=record,
                create_only=creating,
                replace_only=not creating,
                keep_password_if_blank=True,
            )
        except ServiceError as error:
            add_service_error(self, error)
            return None
        return relay_setting


class SendTestEmailForm(forms.Form):
    to = forms.CharField(
        label="Send a test message to",
        required=False,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )

    def send(self, owner, relay_setting: RelaySetting) -> bool:
        """True when the upstream accepted the message; otherwise its reply is a form error."""
        try:
            services.send_test_email(owner, domain=relay_setting.domain, to=self.cleaned_data["to"])
        except ServiceError as error:
            add_service_error(self, error)
            return False
        return True
