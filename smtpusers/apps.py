from django.apps import AppConfig


class SmtpUsersConfig(AppConfig):
    name = "smtpusers"
    verbose_name = "SMTP users"
