from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"

    def ready(self):
        from django.db.models.signals import post_delete, post_migrate, post_save

        from accounts import checks  # noqa: F401 - registers the deploy checks
        from accounts.models import ApiToken, Owner
        from accounts.support import ensure_support_group_after_migrate
        from accounts.token_cache import forget_on_change
        from core.crypto import validate_key_setting

        validate_key_setting()
        post_migrate.connect(ensure_support_group_after_migrate, sender=self)
        for model in (ApiToken, Owner):
            for signal in (post_save, post_delete):
                signal.connect(forget_on_change, sender=model)
