"""Dashboard forms for SMTP users.

They check what the customer typed with the services' own rules (smtpusers.validators), so
that every field's error shows at once in the page's words (the API keeps its own), and pass
the text on to the services (smtpusers.services), which apply the same rules again.
"""

from django import forms

from core.errors import ServiceError
from core.forms import ServiceForm
from smtpusers.selectors import DEFAULT_SMTP_USER_SORT, SMTP_USER_SORT_FIELDS
from smtpusers.validators import (
    MAX_LIMIT,
    NO_DAILY_LIMIT,
    parse_daily_limit,
    parse_limit,
    parse_status,
)

LIMIT_MESSAGE = "Enter a whole number of messages, at least 1."
LIMIT_TOO_LARGE_MESSAGE = f"Enter a whole number of messages, at most {MAX_LIMIT:,}."
DAILY_LIMIT_MESSAGE = (
    "Enter a whole number of messages, at least 1, or leave it blank for no daily limit."
)


def _checked_limit(value: str, parse, message: str, **kwargs) -> str:
    """`value` if the services' rule `parse` takes it, else the page's words for why not."""
    try:
        parse(value, **kwargs)
    except ServiceError:
        too_large = value.strip().isdigit() and int(value) > MAX_LIMIT
        raise forms.ValidationError(LIMIT_TOO_LARGE_MESSAGE if too_large else message) from None
    return value


def _limit_field(label: str, help_text: str, *, required: bool = True) -> forms.CharField:
    # A text field, not an IntegerField: the service decides what a valid limit is.
    attrs = {"min": 1, "max": MAX_LIMIT, "step": 1, "inputmode": "numeric"}
    if required:
        attrs["required"] = True
    return forms.CharField(
        label=label, required=False, help_text=help_text, widget=forms.NumberInput(attrs=attrs)
    )


class SmtpUserLimitsForm(ServiceForm):
    total_limit = _limit_field("Total limit", "Messages this SMTP user may send in all.")
    hourly_limit = _limit_field("Hourly limit", "Messages it may send in one clock hour (UTC).")
    daily_limit = _limit_field(
        "Daily limit (optional)",
        "Messages it may send in one UTC calendar day. Leave blank for no daily limit.",
        required=False,
    )

    def clean_total_limit(self):
        return _checked_limit(
            self.cleaned_data["total_limit"], parse_limit, LIMIT_MESSAGE, field="total_limit"
        )

    def clean_hourly_limit(self):
        return _checked_limit(
            self.cleaned_data["hourly_limit"], parse_limit, LIMIT_MESSAGE, field="hourly_limit"
        )

    def clean_daily_limit(self):
        # Blank in the form means "no daily limit", which the services spell "none".
        daily_limit = self.cleaned_data["daily_limit"].strip() or NO_DAILY_LIMIT
        return _checked_limit(daily_limit, parse_daily_limit, DAILY_LIMIT_MESSAGE)


class SmtpUserEditForm(SmtpUserLimitsForm):
    # Not shown: the page's Disable/Enable action is the one way to change the status. A POST
    # may still set it; a POST without it keeps it.
    status = forms.CharField(required=False, widget=forms.HiddenInput)
    allowed_networks = forms.CharField(
        label="Allowed networks",
        required=False,
        help_text="IP addresses or networks (CIDR, IPv4 or IPv6) that may log in with this SMTP "
        "user, one per line, e.g. 192.0.2.0/24 or 2001:db8::/48. Leave blank to allow any "
        "address.",
        widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false"}),
    )

    def clean_status(self):
        status = self.cleaned_data["status"].strip()
        if not status:
            return None
        try:
            parse_status(status)
        except ServiceError:
            raise forms.ValidationError("Choose Enabled or Disabled.") from None
        return status


class SmtpUserFilterForm(forms.Form):
    """The list's search, status filter and sort; a bad value falls back to the default."""

    STATUS_FILTERS = {"enabled": True, "disabled": False}

    q = forms.CharField(
        label="Search by name", required=False, max_length=64, widget=forms.SearchInput
    )
    status = forms.ChoiceField(
        label="Status",
        required=False,
        choices=[("", "Any status"), ("enabled", "Enabled"), ("disabled", "Disabled")],
    )
    sort = forms.ChoiceField(
        required=False,
        choices=[
            (prefix + key, prefix + key) for key in SMTP_USER_SORT_FIELDS for prefix in ("", "-")
        ],
    )

    def selection(self) -> dict:
        """Keyword arguments for selectors.smtp_users_matching."""
        self.is_valid()
        cleaned = self.cleaned_data
        return {
            "search": cleaned.get("q", "").strip(),
            "is_enabled": self.STATUS_FILTERS.get(cleaned.get("status", "")),
            "sort": cleaned.get("sort") or DEFAULT_SMTP_USER_SORT,
        }
