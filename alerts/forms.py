"""The quota alert settings form: it only carries the typed text to alerts.services."""

from django import forms

from core.forms import ServiceForm


def _thresholds_field(label: str) -> forms.CharField:
    return forms.CharField(
        label=label,
        required=False,
        help_text="Percentages of the limit, separated by commas, e.g. 80, 100. "
        "Blank: no alerts for this limit.",
    )


class AlertSettingsForm(ServiceForm):
    hourly_thresholds = _thresholds_field("Hourly limit thresholds (%)")
    daily_thresholds = _thresholds_field("Daily limit thresholds (%)")
    total_thresholds = _thresholds_field("Total limit thresholds (%)")
    email_enabled = forms.BooleanField(label="Email the account's logins", required=False)
    webhook_url = forms.CharField(
        label="Webhook URL (optional)",
        required=False,
        help_text="Each alert is POSTed there as JSON, signed with your webhook secret.",
        widget=forms.URLInput(attrs={"placeholder": "https://hooks.example.com/portal"}),
    )

    def service_arguments(self) -> dict:
        """Keyword arguments for alerts.services.update_alert_settings."""
        data = self.cleaned_data
        return {
            "quota_thresholds": {
                window: data[f"{window}_thresholds"] for window in ("hourly", "daily", "total")
            },
            "email_enabled": data["email_enabled"],
            "webhook_url": data["webhook_url"],
        }

    @classmethod
    def initial_from(cls, alert_settings) -> dict:
        thresholds = alert_settings.quota_thresholds
        return {
            **{
                f"{window}_thresholds": ", ".join(
                    str(value) for value in thresholds.get(window, [])
                )
                for window in ("hourly", "daily", "total")
            },
            "email_enabled": alert_settings.email_enabled,
            "webhook_url": alert_settings.webhook_url,
        }
