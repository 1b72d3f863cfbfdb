"""Dashboard forms for SMTP users.

They only carry the text the customer typed to the services (smtpusers.services), which apply
the same rules as the API and name the offending field in their ServiceError.
"""

from django import forms

from core.forms import ServiceForm
from smtpusers.selectors import DEFAULT_SMTP_USER_SORT, SMTP_USER_SORT_FIELDS
from smtpusers.validators import MAX_LIMIT, NO_DAILY_LIMIT, STATUS_DISABLE, STATUS_ENABLE


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

    def clean_daily_limit(self):
        # Blank in the form means "no daily limit", which the services spell "none".
        return self.cleaned_data["daily_limit"].strip() or NO_DAILY_LIMIT


class SmtpUserEditForm(SmtpUserLimitsForm):
    status = forms.CharField(
        label="Status",
        required=False,
        widget=forms.Select(
            choices=[(STATUS_ENABLE, "Enabled"), (STATUS_DISABLE, "Disabled — can send nothing")]
        ),
    )
    allowed_networks = forms.CharField(
        label="Allowed networks",
        required=False,
        help_text="IP addresses or networks (CIDR, IPv4 or IPv6) that may log in with this SMTP "
        "user, one per line, e.g. 192.0.2.0/24 or 2001:db8::/48. Leave blank to allow any "
        "address.",
        widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false"}),
    )


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
