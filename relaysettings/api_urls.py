"""Email settings API paths; mounted under both /api/v2/ and /engine/api/v2/."""

from django.urls import re_path

from relaysettings import api

app_name = "relaysettings-api"

urlpatterns = [
    re_path(r"^email/settings/?$", api.EmailSettings.as_view(), name="settings"),
    re_path(r"^email/settings/test/(?P<to>[^/]+)/?$", api.SendTestEmail.as_view(), name="test"),
    re_path(r"", api.UnknownCall.as_view(), name="unknown"),
]
