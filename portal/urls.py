from django.contrib import admin
from django.urls import include, path, re_path

from accounts import views as account_views
from smtpusers import api as smtp_api

urlpatterns = [
    path("admin/", admin.site.urls),
    # The SMTP users API, with and without the client libraries' /v1.0/ prefix.
    re_path(r"^(?:v1\.0/)?settings/", include("smtpusers.api_urls")),
    re_path(r"^v1\.0/", smtp_api.UnknownCall.as_view()),
    path("", account_views.home, name="home"),
    path("accounts/", include("accounts.urls")),
    path("", include("smtpserver.urls")),
    path("", include("mailqueue.urls")),
]
