"""Quota alert pages, mounted at /alerts/."""

from django.urls import path

from alerts import views

app_name = "alerts"

urlpatterns = [
    path("", views.alert_settings, name="settings"),
    path("new-secret/<str:key>/", views.new_secret, name="new-secret"),
    path("regenerate-secret/", views.regenerate_secret, name="regenerate-secret"),
    path("test/", views.send_test, name="test"),
]
