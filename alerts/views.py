"""Quota alert pages: settings, webhook secret, test alert, and the delivery log."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.views.decorators.http import require_GET, require_http_methods

from alerts import selectors, services
from alerts.forms import AlertSettingsForm
from alerts.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER
from core.decorators import owner_required
from core.errors import ServiceError
from core.once import keep_secret, once_per_form, take_secret

PAGE_SIZE = 50


def _settings_page(request, form, *, new_secret: str | None = None, secret_shown: bool = False):
    alert_settings = selectors.alert_settings_for(request.owner)
    deliveries = Paginator(selectors.alert_deliveries_for(request.owner), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    response = render(
        request,
        "alerts/settings.html",
        {
            "form": form,
            "alert_settings": alert_settings,
            "has_secret": bool(alert_settings.webhook_secret_encrypted),
            "new_secret": new_secret,
            "secret_shown": secret_shown,
            "signature_header": SIGNATURE_HEADER,
            "timestamp_header": TIMESTAMP_HEADER,
            "page_obj": deliveries,
        },
    )
    if new_secret or secret_shown:
        # The secret exists in this response only: no browser or proxy cache may keep it.
        add_never_cache_headers(response)
    return response


def _show_secret_once(request, secret: str):
    """Redirect to the settings page showing the new secret, kept encrypted until shown."""
    return redirect("alerts:new-secret", key=keep_secret(request, secret=secret))


@login_required
@owner_required
@require_GET
def new_secret(request, key):
    """The settings page with the new webhook secret, this one time; a reload only says so."""
    shown = take_secret(request, key)
    form = AlertSettingsForm(
        initial=AlertSettingsForm.initial_from(selectors.alert_settings_for(request.owner))
    )
    return _settings_page(
        request, form, new_secret=shown["secret"] if shown else None, secret_shown=not shown
    )


@login_required
@owner_required
@require_http_methods(["GET", "POST"])
@once_per_form
def alert_settings(request):
    if request.method == "POST":
        form = AlertSettingsForm(request.POST)
        if form.is_valid():
            try:
                _, new_secret = services.update_alert_settings(
                    request.owner, **form.service_arguments()
                )
            except ServiceError as error:
                form.add_service_error(error)
            else:
                messages.success(request, "Alert settings saved.")
                if new_secret:
                    return _show_secret_once(request, new_secret)
                return redirect("alerts:settings")
    else:
        form = AlertSettingsForm(
            initial=AlertSettingsForm.initial_from(selectors.alert_settings_for(request.owner))
        )
    return _settings_page(request, form)


@login_required
@owner_required
@require_http_methods(["GET", "POST"])
@once_per_form
def regenerate_secret(request):
    if request.method == "POST":
        _, secret = services.regenerate_webhook_secret(request.owner)
        messages.success(request, "New webhook secret generated.")
        return _show_secret_once(request, secret)
    return render(
        request,
        "confirm.html",
        {
            "title": "Generate a new webhook secret?",
            "consequence": "Webhooks are signed with the new secret from now on: your receiver "
            "must be given it, or it will refuse them. The new secret is shown only once.",
            "action_label": "Generate new secret",
            "dangerous": True,
            "cancel_url": reverse("alerts:settings"),
        },
    )


@login_required
@owner_required
@require_http_methods(["GET", "POST"])
@once_per_form
def send_test(request):
    if request.method == "POST":
        try:
            services.send_test_alert(request.owner, now=timezone.now())
        except ServiceError as error:
            messages.error(request, error.message)
        else:
            messages.success(
                request,
                "Test alert queued: it is sent within seconds; its delivery shows below.",
            )
        return redirect("alerts:settings")
    return render(
        request,
        "confirm.html",
        {
            "title": "Send a test alert?",
            "consequence": "A sample alert (80% of an hourly limit of 100) goes to every channel "
            "you configured: email and webhook.",
            "action_label": "Send test alert",
            "dangerous": False,
            "cancel_url": reverse("alerts:settings"),
        },
    )
