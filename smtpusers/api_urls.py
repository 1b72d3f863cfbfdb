"""SMTP users API paths; mounted under both /v1.0/settings/ and /settings/."""

from django.urls import re_path

from smtpusers import api

app_name = "smtpusers-api"

urlpatterns = [
    re_path(r"^addSmtp(?:User)?/?$", api.AddSmtp.as_view(), name="add"),
    re_path(r"^editSmtp(?:User)?/?$", api.EditSmtp.as_view(), name="edit"),
    re_path(r"^resetSmtpPassword/?$", api.ResetSmtpPassword.as_view(), name="reset-password"),
    re_path(r"^listSmtp/?$", api.ListSmtp.as_view(), name="list"),
    re_path(r"", api.UnknownCall.as_view(), name="unknown"),
]
