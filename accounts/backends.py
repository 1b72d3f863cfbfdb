from django.contrib.auth.backends import ModelBackend

from accounts.models import User


class LoginBackend(ModelBackend):
    """Django's model backend, loading a login's owner with it: every customer page needs both,
    so this saves each page a query."""

    def get_user(self, user_id):
        user = User.objects.select_related("owner").filter(pk=user_id).first()
        return user if user is not None and self.user_can_authenticate(user) else None
