from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"

    def ready(self):
        from django.db.models.signals import post_migrate

        from accounts import checks  # noqa: F401 - registers the deploy checks
        from accounts.support import ensure_support_group_after_migrate
        from core.crypto import validate_key_setting

        validate_key_setting()
        post_migrate.connect(ensure_support_group_after_migrate, sender=self)
