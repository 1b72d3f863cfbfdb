from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"

    def ready(self):
        from portal.crypto import validate_key_setting

        validate_key_setting()
