"""Dashboard pages for SMTP users: thin views over smtpusers.selectors and smtpusers.services.

Every action URL answers GET with a confirmation page and POST by doing it, so a GET never
changes anything and a link followed after signing in lands on a question, not on a change.
"""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from core.decorators import owner_required
from core.errors import ServiceError
from core.once import keep_secret, once_per_form, take_secret
from core.snippets import LIST_SMTP_PATH, curl_snippet, python_snippet
from smtpusers import selectors, services
from smtpusers.forms import SmtpUserEditForm, SmtpUserFilterForm, SmtpUserLimitsForm
from smtpusers.quota import usage_summary
from smtpusers.selectors import SMTP_USER_SORT_FIELDS
from smtpusers.validators import STATUS_DISABLE, parse_status

PAGE_SIZE = 50


@login_required
@owner_required
@require_GET
def home(request):
    """The dashboard's first page: the owner's SMTP users at a glance, where to send, and the
    first API call to try."""
    list_smtp_url = request.build_absolute_uri(LIST_SMTP_PATH)
    return render(
        request,
        "smtpusers/home.html",
        {
            "owner": request.owner,
            "counts": selectors.smtp_user_counts_for(request.owner),
            "curl_snippet": curl_snippet(list_smtp_url, request.owner.owner_id),
            "python_snippet": python_snippet(list_smtp_url, request.owner.owner_id),
            "smtp_host": settings.SMTP_PUBLIC_HOST,
            "smtp_port": settings.SMTP_PUBLIC_PORT,
            "smtp_tls": settings.SMTP_PUBLIC_TLS,
        },
    )


def _next_url_or(request, default_url: str) -> str:
    """The form's `next` when it points into this site, else `default_url`."""
    next_url = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return next_url
    return default_url


def _show_password_once(request, smtp_user, password: str, *, title: str):
    """Redirect to the page that shows the new password, kept encrypted until it is shown."""
    key = keep_secret(request, password=password, title=title)
    return redirect("smtpusers:password-shown", smtp_user_name=smtp_user.smtp_user_name, key=key)


@login_required
@owner_required
@require_GET
def smtp_user_list(request):
    filters = SmtpUserFilterForm(request.GET)
    selection = filters.selection()
    smtp_users = selectors.smtp_users_matching(request.owner, **selection)
    page = Paginator(smtp_users, PAGE_SIZE).get_page(request.GET.get("page"))
    sort = selection["sort"]
    return render(
        request,
        "smtpusers/list.html",
        {
            "filters": filters,
            "filtered": bool(selection["search"]) or selection["is_enabled"] is not None,
            "page_obj": page,
            "now": timezone.now(),
            "sort": sort,
            # Each column's link sorts by it, or reverses it when it is already the sort.
            "next_sort": {key: f"-{key}" if sort == key else key for key in SMTP_USER_SORT_FIELDS},
            "aria_sort": {
                sort.removeprefix("-"): "descending" if sort.startswith("-") else "ascending"
            },
        },
    )


@login_required
@owner_required
@require_http_methods(["GET", "POST"])
@once_per_form
def smtp_user_create(request):
    form = SmtpUserLimitsForm(request.POST if request.method == "POST" else None)
    if form.is_valid():
        try:
            smtp_user, password = services.create_smtp_user(request.owner, **form.cleaned_data)
        except ServiceError as error:
            form.add_service_error(error)
        else:
            messages.success(request, f"SMTP user {smtp_user.smtp_user_name} created.")
            return _show_password_once(request, smtp_user, password, title="SMTP user created")
    return render(request, "smtpusers/create.html", {"form": form})


@login_required
@owner_required
@require_http_methods(["GET", "POST"])
@once_per_form
def smtp_user_detail(request, smtp_user_name):
    """An SMTP user's one page: usage of every window, charts, last use, limits, allowlist."""
    smtp_user = selectors.smtp_user_for(request.owner, smtp_user_name)
    if request.method == "POST":
        form = SmtpUserEditForm(request.POST)
        if form.is_valid():
            try:
                services.update_smtp_user(
                    request.owner, smtp_user_name=smtp_user.smtp_user_name, **form.cleaned_data
                )
            except ServiceError as error:
                form.add_service_error(error)
            else:
                messages.success(request, f"SMTP user {smtp_user.smtp_user_name} saved.")
                return redirect("smtpusers:detail", smtp_user_name=smtp_user.smtp_user_name)
    else:
        form = SmtpUserEditForm(
            initial={
                "total_limit": smtp_user.total_limit,
                "hourly_limit": smtp_user.hourly_limit,
                "daily_limit": smtp_user.daily_limit or "",
                "allowed_networks": "\n".join(smtp_user.allowed_networks),
            }
        )
    now = timezone.now()
    return render(
        request,
        "smtpusers/detail.html",
        {
            "smtp_user": smtp_user,
            "form": form,
            "usage": usage_summary(smtp_user, now=now),
            "hourly_chart": selectors.usage_chart_for(smtp_user, now=now),
            "daily_chart": selectors.daily_usage_chart_for(smtp_user, now=now),
        },
    )


@login_required
@owner_required
@require_http_methods(["GET", "POST"])
@once_per_form
def smtp_user_set_status(request, smtp_user_name, status):
    """Enable or disable one SMTP user (`status` comes from the URL pattern)."""
    smtp_user = selectors.smtp_user_for(request.owner, smtp_user_name)
    name = smtp_user.smtp_user_name
    disabling = status == STATUS_DISABLE
    if request.method == "POST":
        services.update_smtp_user(request.owner, smtp_user_name=name, status=status)
        messages.success(request, f"SMTP user {name} {'disabled' if disabling else 'enabled'}.")
        return redirect(_next_url_or(request, reverse("smtpusers:detail", args=[name])))
    if disabling:
        question = f"Disable SMTP user {name}?"
        consequence = "It keeps its password and limits but can send nothing until enabled."
    else:
        question = f"Enable SMTP user {name}?"
        consequence = "It can send again, within its limits."
    return render(
        request,
        "confirm.html",
        {
            "title": question,
            "consequence": consequence,
            "action_label": "Disable" if disabling else "Enable",
            "dangerous": disabling,
            "cancel_url": reverse("smtpusers:detail", args=[name]),
        },
    )


@login_required
@owner_required
@require_GET
def smtp_user_password_shown(request, smtp_user_name, key):
    """The new password, this one time; a reload says it was shown and resets nothing."""
    smtp_user = selectors.smtp_user_for(request.owner, smtp_user_name)
    shown = take_secret(request, key)
    response = render(
        request,
        "smtpusers/password_once.html",
        {
            "title": shown["title"] if shown else "Password already shown",
            "smtp_user": smtp_user,
            "password": shown["password"] if shown else None,
            "smtp_host": settings.SMTP_PUBLIC_HOST,
            "smtp_port": settings.SMTP_PUBLIC_PORT,
            "smtp_tls": settings.SMTP_PUBLIC_TLS,
        },
    )
    # The password exists in this response only: no browser or proxy cache may keep it.
    add_never_cache_headers(response)
    return response


@login_required
@owner_required
@require_http_methods(["GET", "POST"])
@once_per_form
def smtp_user_reset_password(request, smtp_user_name):
    smtp_user = selectors.smtp_user_for(request.owner, smtp_user_name)
    name = smtp_user.smtp_user_name
    if request.method == "POST":
        smtp_user, password = services.reset_smtp_password(request.owner, smtp_user_name=name)
        messages.success(request, f"SMTP user {name} has a new password.")
        return _show_password_once(request, smtp_user, password, title="New SMTP password")
    return render(
        request,
        "confirm.html",
        {
            "title": f"Reset the password of SMTP user {name}?",
            "consequence": "The current password stops working at once; mail clients using it "
            "must be given the new one, which is shown only once.",
            "action_label": "Reset password",
            "dangerous": True,
            "cancel_url": reverse("smtpusers:detail", args=[name]),
        },
    )


@login_required
@owner_required
@require_POST
@once_per_form
def smtp_user_bulk_status(request):
    """Enable or disable the SMTP users ticked on the list page."""
    smtp_user_names = request.POST.getlist("smtp_user_names")
    status = request.POST.get("status")
    if not smtp_user_names:
        messages.warning(request, "Select at least one SMTP user first.")
    else:
        try:
            count = services.set_smtp_users_status(
                request.owner, smtp_user_names=smtp_user_names, status=status
            )
        except ServiceError as error:
            messages.error(request, error.message)
        else:
            done = "enabled" if parse_status(status) else "disabled"
            messages.success(request, f"{count} SMTP user{'s' if count != 1 else ''} {done}.")
    return redirect(_next_url_or(request, reverse("smtpusers:list")))
