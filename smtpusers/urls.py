"""Dashboard pages for SMTP users, mounted at /smtp-users/."""

from django.urls import path

from smtpusers import views
from smtpusers.validators import STATUS_DISABLE, STATUS_ENABLE

app_name = "smtpusers"

urlpatterns = [
    path("", views.smtp_user_list, name="list"),
    path("new/", views.smtp_user_create, name="create"),
    path("bulk-status/", views.smtp_user_bulk_status, name="bulk-status"),
    path("<str:smtp_user_name>/", views.smtp_user_detail, name="detail"),
    path(
        "<str:smtp_user_name>/disable/",
        views.smtp_user_set_status,
        {"status": STATUS_DISABLE},
        name="disable",
    ),
    path(
        "<str:smtp_user_name>/enable/",
        views.smtp_user_set_status,
        {"status": STATUS_ENABLE},
        name="enable",
    ),
    path(
        "<str:smtp_user_name>/password/<str:key>/",
        views.smtp_user_password_shown,
        name="password-shown",
    ),
    path(
        "<str:smtp_user_name>/reset-password/",
        views.smtp_user_reset_password,
        name="reset-password",
    ),
]
