from django.apps import AppConfig


class RelaySettingsConfig(AppConfig):
    name = "relaysettings"
    verbose_name = "Relay settings"
