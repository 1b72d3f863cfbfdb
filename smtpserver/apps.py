from django.apps import AppConfig


class SmtpserverConfig(AppConfig):
    name = "smtpserver"
    verbose_name = "SMTP submission server"
