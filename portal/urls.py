from django.contrib import admin
from django.urls import include, path, re_path

from accounts import views as account_views
from relaysettings import api as relay_api
from smtpusers import api as smtp_api

urlpatterns = [
    path("admin/", admin.site.urls),
    # The SMTP users API, with and without the client libraries' /v1.0/ prefix.
    re_path(r"^(?:v1\.0/)?settings/", include("smtpusers.api_urls")),
    re_path(r"^v1\.0/", smtp_api.UnknownCall.as_view()),
    # The email settings API, with and without Webitel's /engine/ prefix.
    re_path(r"^(?:engine/)?api/v2/", include("relaysettings.api_urls")),
    re_path(r"^(?:engine/)?api/v2$", relay_api.UnknownCall.as_view()),
    path("domains/", include("relaysettings.urls")),
    path("", account_views.home, name="home"),
    path("accounts/", include("accounts.urls")),
]
