"""Email settings API paths; mounted under both /api/v2/ and /engine/api/v2/.

Each path answers with and without a trailing slash (no redirect); the schema lists the
slash-less form only.
"""

from django.urls import path, re_path

from relaysettings import api

app_name = "relaysettings-api"

urlpatterns = [
    path("email/settings", api.EmailSettings.as_view(), name="settings"),
    path("email/settings/", api.EmailSettings.as_view()),
    path("email/settings/verify", api.VerifyDomain.as_view(), name="verify"),
    path("email/settings/verify/", api.VerifyDomain.as_view()),
    path("email/settings/test/<str:to>", api.SendTestEmail.as_view(), name="test"),
    path("email/settings/test/<str:to>/", api.SendTestEmail.as_view()),
    re_path(r"", api.UnknownCall.as_view(), name="unknown"),
]
