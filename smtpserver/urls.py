from django.urls import path

from smtpserver import views

app_name = "smtpserver"

urlpatterns = [
    path("usage/<str:smtp_user_name>/", views.usage, name="usage"),
]
