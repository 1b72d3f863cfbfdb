"""Dashboard pages for the owner's domain email settings."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from core.decorators import owner_required
from core.errors import ServiceError
from core.once import once_per_form
from relaysettings import selectors, services
from relaysettings.forms import RelaySettingForm, SendTestEmailForm
from relaysettings.models import DnsStatus
from relaysettings.validators import unicode_domain


def _relay_setting_or_404(request, domain):
    try:
        return selectors.relay_setting_for(request.owner, domain)
    except ServiceError:
        # Missing, another owner's, or not even a domain name: all the same page.
        raise Http404("No email settings for this domain") from None


@login_required
@owner_required
def relay_setting_list(request):
    relay_settings = list(selectors.relay_settings_for(request.owner))
    return render(
        request,
        "relaysettings/list.html",
        {
            "relay_settings": relay_settings,
            "domains": [
                (relay_setting, selectors.dns_records_of(relay_setting))
                for relay_setting in relay_settings
            ],
            "verification_required": settings.DOMAIN_VERIFICATION,
        },
    )


def _back_to_domain(relay_setting):
    return redirect(f"{reverse('relaysettings:list')}#dns-{relay_setting.domain}")


@login_required
@owner_required
@require_POST
def relay_setting_verify(request, domain):
    relay_setting = services.verify_domain(
        request.owner, domain=_relay_setting_or_404(request, domain).domain
    )
    shown = unicode_domain(relay_setting.domain)
    if relay_setting.verification_status == DnsStatus.VERIFIED:
        messages.success(request, f"{shown} is verified: its mail can be sent and is DKIM-signed.")
    else:
        messages.warning(
            request, f"{shown} is not verified yet: {relay_setting.verification_detail}"
        )
    return _back_to_domain(relay_setting)


@login_required
@owner_required
@require_POST
def relay_setting_rotate_dkim(request, domain):
    relay_setting = _relay_setting_or_404(request, domain)
    try:
        key = services.start_dkim_rotation(request.owner, domain=relay_setting.domain)
    except ServiceError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request,
            f"New DKIM key {key.selector} created: publish its record, then check DNS. The "
            "current key signs until the new record is seen.",
        )
    return _back_to_domain(relay_setting)


@login_required
@owner_required
@require_http_methods(["GET", "POST"])
@once_per_form
def relay_setting_create(request):
    form = RelaySettingForm(request.POST or None)
    if form.is_bound and form.is_valid():
        relay_setting = form.save(request.owner)
        if relay_setting is not None:
            messages.success(request, f"Relay settings for {relay_setting.domain} created.")
            return redirect("relaysettings:list")
    return render(request, "relaysettings/form.html", {"form": form, "relay_setting": None})


@login_required
@owner_required
@require_http_methods(["GET", "POST"])
@once_per_form
def relay_setting_edit(request, domain):
    relay_setting = _relay_setting_or_404(request, domain)
    form = RelaySettingForm(request.POST or None, relay_setting=relay_setting)
    if form.is_bound and form.is_valid():
        saved = form.save(request.owner)
        if saved is not None:
            messages.success(request, f"Relay settings for {saved.domain} saved.")
            return redirect("relaysettings:list")
    return render(
        request, "relaysettings/form.html", {"form": form, "relay_setting": relay_setting}
    )


@login_required
@owner_required
@require_http_methods(["GET", "POST"])
@once_per_form
def relay_setting_delete(request, domain):
    relay_setting = _relay_setting_or_404(request, domain)
    if request.method == "POST":
        services.delete_relay_setting(request.owner, domain=relay_setting.domain)
        messages.success(request, f"Relay settings for {relay_setting.domain} deleted.")
        return redirect("relaysettings:list")
    return render(request, "relaysettings/confirm_delete.html", {"relay_setting": relay_setting})


# The address of the test message just sent, shown once by the page the POST redirects to.
_TEST_SENT_TO = "relaysettings_test_sent_to"


@login_required
@owner_required
@require_http_methods(["GET", "POST"])
@once_per_form
def relay_setting_test_send(request, domain):
    relay_setting = _relay_setting_or_404(request, domain)
    # Redirect after a send, so that a reload or Back sends nothing again.
    sent_to = request.session.pop(_TEST_SENT_TO, None) if request.method == "GET" else None
    if request.method == "POST":
        form = SendTestEmailForm(request.POST)
        if form.is_valid() and form.send(request.owner, relay_setting):
            request.session[_TEST_SENT_TO] = form.cleaned_data["to"].strip()
            return redirect(request.path)
    else:
        form = SendTestEmailForm(initial={"to": request.user.email})
    return render(
        request,
        "relaysettings/test_send.html",
        {"form": form, "relay_setting": relay_setting, "sent_to": sent_to},
    )
