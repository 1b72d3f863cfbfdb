"""Account pages: sign in/out, passwords, and the owner's API tokens."""

import math

from axes.helpers import get_cool_off, get_failure_limit
from axes.utils import reset as reset_login_failures
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.messages.views import SuccessMessageMixin
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils.cache import add_never_cache_headers
from django.views.decorators.http import require_GET, require_http_methods

from accounts import selectors, services
from accounts.forms import ApiTokenForm
from accounts.lockout import LoginLockoutHandler
from core.decorators import owner_required
from core.errors import ServiceError
from core.once import keep_secret, once_per_form, take_secret
from core.snippets import LIST_SMTP_PATH, curl_snippet


class SignInView(SuccessMessageMixin, auth_views.LoginView):
    template_name = "accounts/login.html"
    redirect_authenticated_user = True
    success_message = "Signed in."


class SignOutView(auth_views.LogoutView):
    def post(self, request, *args, **kwargs):
        response = super().post(request, *args, **kwargs)
        # Kept in the messages cookie: the session it would live in has just been flushed.
        messages.info(request, "Signed out.")
        return response


def login_locked_out(request, original_response=None, credentials=None):
    """django-axes' lockout response (AXES_LOCKOUT_CALLABLE): a page that says what to do."""
    cool_off = get_cool_off(request)
    address_locked_out = LoginLockoutHandler().address_locked_out(request, credentials)
    return render(
        request,
        "accounts/locked_out.html",
        {
            "username": request.POST.get(settings.AXES_USERNAME_FORM_FIELD, ""),
            "address_locked_out": address_locked_out,
            "failure_limit": settings.LOGIN_ADDRESS_FAILURE_LIMIT
            if address_locked_out
            else get_failure_limit(request, credentials),
            "cool_off_minutes": math.ceil(cool_off.total_seconds() / 60) if cool_off else None,
        },
        status=429,
    )


class PasswordChangeView(SuccessMessageMixin, auth_views.PasswordChangeView):
    template_name = "accounts/password_change.html"
    success_url = reverse_lazy("home")
    success_message = "Your password has been changed."


class PasswordResetView(auth_views.PasswordResetView):
    template_name = "accounts/password_reset.html"
    email_template_name = "accounts/password_reset_email.txt"
    subject_template_name = "accounts/password_reset_subject.txt"
    success_url = reverse_lazy("accounts:password-reset-sent")


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "accounts/password_reset_confirm.html"
    success_url = reverse_lazy("accounts:login")

    def form_valid(self, form):
        response = super().form_valid(form)
        # Whoever can read the mailbox may set a new password, so a lockout (which guards the
        # old one) has nothing left to protect.
        reset_login_failures(username=form.user.email)
        messages.success(self.request, "Your password has been set. You can sign in now.")
        return response


@login_required
@owner_required
@require_GET
def api_token_list(request):
    return render(
        request,
        "accounts/api_tokens.html",
        {
            "api_tokens": selectors.api_tokens_for(request.owner),
            "form": ApiTokenForm(),
            "owner": request.owner,
        },
    )


@login_required
@owner_required
@require_http_methods(["GET", "POST"])
@once_per_form
def api_token_create(request):
    form = ApiTokenForm(request.POST if request.method == "POST" else None)
    if form.is_valid():
        try:
            api_token, token = services.create_api_token(request.owner, **form.cleaned_data)
        except ServiceError as error:
            form.add_service_error(error)
        else:
            messages.success(request, f"API token “{api_token.name}” created.")
            key = keep_secret(request, token=token)
            return redirect("tokens:created", token_id=api_token.pk, key=key)
    return render(request, "accounts/api_token_create.html", {"form": form})


@login_required
@owner_required
@require_GET
def api_token_created(request, token_id, key):
    """The new token, this one time; a reload says it was shown and creates nothing."""
    api_token = selectors.api_token_for(request.owner, token_id)
    shown = take_secret(request, key)
    token = shown["token"] if shown else None
    response = render(
        request,
        "accounts/api_token_created.html",
        {
            "api_token": api_token,
            "token": token,
            "owner": request.owner,
            "curl_snippet": curl_snippet(
                request.build_absolute_uri(LIST_SMTP_PATH), request.owner.owner_id, token
            )
            if token
            else None,
        },
    )
    # The token exists in this response only: no cache may keep it.
    add_never_cache_headers(response)
    return response


@login_required
@owner_required
@require_http_methods(["GET", "POST"])
@once_per_form
def api_token_revoke(request, token_id):
    api_token = selectors.api_token_for(request.owner, token_id)
    if request.method == "POST":
        services.revoke_api_token(request.owner, token_id=api_token.pk)
        messages.success(request, f"API token “{api_token.name}” revoked.")
        return redirect("tokens:list")
    return render(
        request,
        "confirm.html",
        {
            "title": f"Revoke API token “{api_token.name}” ({api_token.prefix}…)?",
            "consequence": "Programs using it are refused from now on. This cannot be undone.",
            "action_label": "Revoke token",
            "dangerous": True,
            "cancel_url": reverse("tokens:list"),
        },
    )
