"""Dashboard forms for SMTP users.

They only carry the text the customer typed to the services (smtpusers.services), which apply
the same rules as the API and name the offending field in their ServiceError.
"""

from django import forms

from portal.forms import ServiceForm
from smtpusers.selectors import DEFAULT_SMTP_USER_SORT, SMTP_USER_SORT_FIELDS
from smtpusers.validators import MAX_LIMIT, STATUS_DISABLE, STATUS_ENABLE


def _limit_field(label: str, help_text: str) -> forms.CharField:
    # A text field, not an IntegerField: the service decides what a valid limit is.
    return forms.CharField(
        label=label,
        required=False,
        help_text=help_text,
        widget=forms.NumberInput(
            attrs={"min": 1, "max": MAX_LIMIT, "step": 1, "inputmode": "numeric", "required": True}
        ),
    )


class SmtpUserLimitsForm(ServiceForm):
    total_limit = _limit_field("Total limit", "Messages this SMTP user may send in all.")
    hourly_limit = _limit_field("Hourly limit", "Messages it may send in one clock hour.")


class SmtpUserEditForm(SmtpUserLimitsForm):
    status = forms.CharField(
        label="Status",
        required=False,
        widget=forms.Select(
            choices=[(STATUS_ENABLE, "Enabled"), (STATUS_DISABLE, "Disabled — can send nothing")]
        ),
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
        """Keyword arguments for selectors.smtp_users_listed_for."""
        self.is_valid()
        cleaned = self.cleaned_data
        return {
            "search": cleaned.get("q", "").strip(),
            "is_enabled": self.STATUS_FILTERS.get(cleaned.get("status", "")),
            "sort": cleaned.get("sort") or DEFAULT_SMTP_USER_SORT,
        }
