from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView

from bench import views as bench_views
from core import views as core_views
from relaysettings import api as relay_api
from smtpusers import api as smtp_api
from smtpusers import views as smtp_user_views

urlpatterns = [
    path("healthz", core_views.healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", core_views.api_docs, name="api-docs"),
    # The SMTP users API, with and without the client libraries' /v1.0/ prefix.
    path("v1.0/settings/", include("smtpusers.api_urls", namespace="smtp-api-v1")),
    path("settings/", include("smtpusers.api_urls", namespace="smtp-api")),
    re_path(r"^v1\.0/", smtp_api.UnknownCall.as_view()),
    # The email settings API, with and without Webitel's /engine/ prefix.
    path("api/v2/", include("relaysettings.api_urls", namespace="email-api")),
    path("engine/api/v2/", include("relaysettings.api_urls", namespace="email-api-engine")),
    re_path(r"^(?:engine/)?api/v2$", relay_api.UnknownCall.as_view()),
    path("domains/", include("relaysettings.urls")),
    path("", smtp_user_views.home, name="home"),
    path("accounts/", include("accounts.urls")),
    path("smtp-users/", include("smtpusers.urls")),
    path("tokens/", include("accounts.token_urls")),
    path("activity/", include("audit.urls")),
    path("", include("smtpserver.urls")),
    path("", include("mailqueue.urls")),
    path("alerts/", include("alerts.urls")),
]

# Static, so that it renders when the database is down; 400/403/404 use the templates of
# the same names in Django's own handlers.
handler500 = "core.views.server_error"

if settings.BENCHMARK_ENDPOINTS:
    urlpatterns += [
        path("bench/bare", bench_views.bare, name="bench-bare"),
        path("bench/bare-commit", bench_views.bare_commit, name="bench-bare-commit"),
    ]
