from django.apps import AppConfig


class RelaySettingsConfig(AppConfig):
    name = "relaysettings"
    verbose_name = "Relay settings"

    def ready(self):
        from relaysettings import checks  # noqa: F401 - registers the deploy check
