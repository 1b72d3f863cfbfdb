from django.apps import AppConfig


class CoreConfig(AppConfig):
    """The shared kernel: no models, no urls of its own; imports no app."""

    name = "core"
