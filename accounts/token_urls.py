"""The owner's API tokens page, mounted at /tokens/."""

from django.urls import path

from accounts import views

app_name = "tokens"

urlpatterns = [
    path("", views.api_token_list, name="list"),
    path("new/", views.api_token_create, name="create"),
    path("<int:token_id>/created/<str:key>/", views.api_token_created, name="created"),
    path("<int:token_id>/revoke/", views.api_token_revoke, name="revoke"),
]
