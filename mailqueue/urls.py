from django.urls import path

from mailqueue import views

app_name = "mailqueue"

urlpatterns = [
    path("messages/", views.messages, name="messages"),
]
