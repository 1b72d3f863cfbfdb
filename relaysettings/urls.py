from django.urls import path

from relaysettings import views

app_name = "relaysettings"

urlpatterns = [
    path("", views.relay_setting_list, name="list"),
    path("new/", views.relay_setting_create, name="create"),
    path("<str:domain>/edit/", views.relay_setting_edit, name="edit"),
    path("<str:domain>/delete/", views.relay_setting_delete, name="delete"),
    path("<str:domain>/test/", views.relay_setting_test_send, name="test-send"),
    path("<str:domain>/verify/", views.relay_setting_verify, name="verify"),
    path("<str:domain>/rotate-dkim/", views.relay_setting_rotate_dkim, name="rotate-dkim"),
]
