from django import forms

from core.forms import ServiceForm


class ApiTokenForm(ServiceForm):
    # No rules here: accounts.services.create_api_token checks the name.
    name = forms.CharField(
        label="Token name",
        required=False,
        help_text="What uses it, e.g. “billing app” or “staging server”.",
        widget=forms.TextInput(attrs={"required": True, "autocomplete": "off"}),
    )
