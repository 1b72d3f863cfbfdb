from django.apps import AppConfig


class MailqueueConfig(AppConfig):
    name = "mailqueue"
    verbose_name = "Mail queue"
