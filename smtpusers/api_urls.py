"""SMTP users API paths; mounted under both /v1.0/settings/ and /settings/.

Each call answers with and without a trailing slash (no redirect); the schema lists the
slash-less form only.
"""

from django.urls import path, re_path

from smtpusers import api

app_name = "smtpusers-api"

CALLS = {
    "addSmtp": api.AddSmtp,
    "addSmtpUser": api.AddSmtp,
    "editSmtp": api.EditSmtp,
    "editSmtpUser": api.EditSmtp,
    "resetSmtpPassword": api.ResetSmtpPassword,
    "listSmtp": api.ListSmtp,
}

urlpatterns = [
    *(path(call, view.as_view(), name=call) for call, view in CALLS.items()),
    *(path(f"{call}/", view.as_view()) for call, view in CALLS.items()),
    re_path(r"", api.UnknownCall.as_view(), name="unknown"),
]
