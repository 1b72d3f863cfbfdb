"""Staff admin for SMTP users: find them fast, act on them only through the services."""

from collections import defaultdict

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.db import transaction
from django.http import Http404
from django.utils import timezone

from core.admin import (
    OwnerFilter,
    ShowsSecretsOnce,
    SuperuserDeletesOnly,
    by_service_rule,
    owner_link,
)
from core.errors import NotFoundError, ServiceError
from smtpusers.models import SmtpUser
from smtpusers.quota import usage_summary
from smtpusers.services import (
    create_smtp_user,
    reset_smtp_password,
    set_smtp_users_status,
    update_smtp_user,
)
from smtpusers.validators import (
    NO_DAILY_LIMIT,
    STATUS_DISABLE,
    STATUS_ENABLE,
    parse_allowed_networks,
    parse_daily_limit,
    parse_limit,
    parse_status,
)


def _shown_password(smtp_user, password: str) -> dict:
    return {"subject": smtp_user.smtp_user_name, "owner": smtp_user.owner.name, "secret": password}


# The values the services take, the words the dashboard shows.
STATUS_CHOICES = [(STATUS_ENABLE, "Enabled"), (STATUS_DISABLE, "Disabled")]


class StatusFilter(admin.SimpleListFilter):
    title = "status"
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return STATUS_CHOICES

    def queryset(self, request, queryset):
        if self.value() is None:
            return queryset
        try:
            return queryset.filter(is_enabled=parse_status(self.value()))
        except ServiceError as error:
            raise IncorrectLookupParameters(error.message) from None


class SmtpUserAddForm(forms.ModelForm):
    # Text in, checked by the services' own parse_limit: the admin adds no rule of its own.
    total_limit = forms.CharField(label="Total limit", widget=forms.NumberInput(attrs={"min": 1}))
    hourly_limit = forms.CharField(label="Hourly limit", widget=forms.NumberInput(attrs={"min": 1}))
    daily_limit = forms.CharField(
        label="Daily limit",
        required=False,
        help_text="Messages per UTC day; blank for none.",
        widget=forms.NumberInput(attrs={"min": 1}),
    )

    class Meta:
        model = SmtpUser
        fields: tuple[str, ...] = ("owner", "total_limit", "hourly_limit", "daily_limit")

    def clean_total_limit(self):
        return by_service_rule(parse_limit, self.cleaned_data["total_limit"], field="total_limit")

    def clean_hourly_limit(self):
        return by_service_rule(parse_limit, self.cleaned_data["hourly_limit"], field="hourly_limit")

    def clean_daily_limit(self):
        return by_service_rule(
            parse_daily_limit, self.cleaned_data["daily_limit"].strip() or NO_DAILY_LIMIT
        )


class SmtpUserChangeForm(SmtpUserAddForm):
    status = forms.ChoiceField(label="Status", choices=STATUS_CHOICES)
    allowed_networks = forms.CharField(
        label="Allowed networks",
        required=False,
        help_text="CIDRs (IPv4 or IPv6) that may log in, one per line; blank for any address.",
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    class Meta(SmtpUserAddForm.Meta):
        fields = ("total_limit", "hourly_limit", "daily_limit")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["status"].initial = self.instance.status
        self.initial["allowed_networks"] = "\n".join(self.instance.allowed_networks)

    def clean_allowed_networks(self):
        return by_service_rule(parse_allowed_networks, self.cleaned_data["allowed_networks"])


@admin.register(SmtpUser)
class SmtpUserAdmin(ShowsSecretsOnce, SuperuserDeletesOnly, admin.ModelAdmin):
    # Few, narrow columns: the list fits a 1280 px screen with the filter sidebar.
    list_display = (
        "smtp_user_name",
        "owner_name",
        "status",
        "sent_of_total",
        "this_hour_of_hourly",
        "today_of_daily",
        "last_used_at",
    )
    list_filter = (StatusFilter, OwnerFilter)
    search_fields = (
        "smtp_user_name",
        "owner__name",
        "=owner__owner_id",
        "owner__logins__email",
    )
    search_help_text = "SMTP user name, owner name, an owner login's email, or the exact owner_id."
    ordering = ("-created_at", "-id")
    # The encrypted password and the counters are never editable here; the password is
    # never displayed at all.
    readonly_fields = (
        "smtp_user_name",
        "owner_name",
        "hourly_usage",
        "daily_usage",
        "total_usage",
        "last_used_at",
        "last_used_ip",
        "last_refusal_shown",
        "created_at",
        "updated_at",
    )
    fieldsets = (
        (None, {"fields": ("smtp_user_name", "owner_name", "status")}),
        ("Limits", {"fields": ("total_limit", "hourly_limit", "daily_limit")}),
        ("Access", {"fields": ("allowed_networks",)}),
        (
            "Usage",
            {
                "fields": (
                    "hourly_usage",
                    "daily_usage",
                    "total_usage",
                    "last_used_at",
                    "last_used_ip",
                    "last_refusal_shown",
                    "created_at",
                    "updated_at",
                )
            },
        ),
    )
    add_fieldsets = ((None, {"fields": ("owner", "total_limit", "hourly_limit", "daily_limit")}),)
    autocomplete_fields = ("owner",)
    form = SmtpUserChangeForm
    add_form = SmtpUserAddForm
    actions = ("disable_smtp_users", "enable_smtp_users", "reset_smtp_passwords")

    @admin.display(description="owner", ordering="owner__name")
    def owner_name(self, smtp_user):
        return owner_link(smtp_user.owner)

    @admin.display(description="status", ordering="is_enabled")
    def status(self, smtp_user):
        return "Enabled" if smtp_user.is_enabled else "Disabled"

    @admin.display(description="sent / total", ordering="total_limit")
    def sent_of_total(self, smtp_user):
        return f"{smtp_user.total_used} / {smtp_user.total_limit}"

    @admin.display(description="this hour / limit", ordering="hourly_limit")
    def this_hour_of_hourly(self, smtp_user):
        used = usage_summary(smtp_user, now=timezone.now()).hourly.used
        return f"{used} / {smtp_user.hourly_limit}"

    @admin.display(description="today / limit", ordering="daily_limit")
    def today_of_daily(self, smtp_user):
        used = usage_summary(smtp_user, now=timezone.now()).daily.used
        return f"{used} / {smtp_user.daily_limit or 'none'}"

    def _window_usage(self, smtp_user, window_name):
        window = getattr(usage_summary(smtp_user, now=timezone.now()), window_name)
        if window.limit is None:
            return f"{window.used} (no limit)"
        resets = (
            f"resets at {window.resets_at:%Y-%m-%d %H:%M} UTC"
            if window.resets_at
            else "never resets"
        )
        return f"{window.used} of {window.limit}, {window.remaining} left, {resets}"

    @admin.display(description="this hour")
    def hourly_usage(self, smtp_user):
        return self._window_usage(smtp_user, "hourly")

    @admin.display(description="today (UTC)")
    def daily_usage(self, smtp_user):
        return self._window_usage(smtp_user, "daily")

    @admin.display(description="in total")
    def total_usage(self, smtp_user):
        return self._window_usage(smtp_user, "total")

    @admin.display(description="last refusal")
    def last_refusal_shown(self, smtp_user):
        if not smtp_user.last_refusal:
            return "none"
        return f"{smtp_user.last_refusal} ({smtp_user.last_refusal_at:%Y-%m-%d %H:%M:%S} UTC)"

    def get_queryset(self, request):
        # The owner for every row, page and action in the same query; the ciphertext is needed
        # by no admin page, so it is not even read.
        return super().get_queryset(request).select_related("owner").defer("password_encrypted")

    def get_fieldsets(self, request, obj=None):
        return self.fieldsets if obj else self.add_fieldsets

    def get_form(self, request, obj=None, **kwargs):  # type: ignore[override]
        if obj is None:
            kwargs["form"] = self.add_form
        return super().get_form(request, obj, **kwargs)

    def save_model(self, request, obj, form, change):
        limits = {
            "total_limit": form.cleaned_data["total_limit"],
            "hourly_limit": form.cleaned_data["hourly_limit"],
            # The service spells "no daily limit" as 0 (None would mean "unchanged").
            "daily_limit": form.cleaned_data["daily_limit"] or 0,
        }
        if change:
            try:
                saved = update_smtp_user(
                    obj.owner,
                    smtp_user_name=obj.smtp_user_name,
                    status=form.cleaned_data["status"],
                    allowed_networks=form.cleaned_data["allowed_networks"],
                    **limits,
                )
            except NotFoundError as error:
                # Deleted by a superuser while this form was open.
                raise Http404(error.message) from None
        else:
            saved, password = create_smtp_user(form.cleaned_data["owner"], **limits)
            # For response_add, which shows it once (the admin is shared by all requests).
            request.new_smtp_password = _shown_password(saved, password)
        # The admin logs and redirects with `obj`: make it the row the service wrote.
        obj.pk = saved.pk
        obj.refresh_from_db()

    def response_add(self, request, obj, post_url_continue=None):
        return self.redirect_to_shown_once(
            request, title="New SMTP user", secrets=[request.new_smtp_password]
        )

    @admin.action(description="Disable selected SMTP users", permissions=["change"])
    def disable_smtp_users(self, request, queryset):
        self._set_status(request, queryset, STATUS_DISABLE, done="Disabled")

    @admin.action(description="Enable selected SMTP users", permissions=["change"])
    def enable_smtp_users(self, request, queryset):
        self._set_status(request, queryset, STATUS_ENABLE, done="Enabled")

    @admin.action(
        description="Reset passwords of selected SMTP users (shown once)", permissions=["change"]
    )
    def reset_smtp_passwords(self, request, queryset):
        smtp_users = list(queryset)
        try:
            with transaction.atomic():
                new_passwords = []
                for smtp_user in smtp_users:
                    _, password = reset_smtp_password(
                        smtp_user.owner, smtp_user_name=smtp_user.smtp_user_name
                    )
                    self.log_change(request, smtp_user, "Reset the SMTP password.")
                    new_passwords.append((smtp_user, password))
        except ServiceError as error:
            self.message_user(request, error.message, messages.ERROR)
            return None
        return self.redirect_to_shown_once(
            request,
            title="New SMTP passwords",
            secrets=[_shown_password(smtp_user, password) for smtp_user, password in new_passwords],
        )

    def _set_status(self, request, queryset, status, *, done):
        smtp_users = list(queryset)
        names_by_owner = defaultdict(list)
        for smtp_user in smtp_users:
            names_by_owner[smtp_user.owner].append(smtp_user.smtp_user_name)
        try:
            with transaction.atomic():
                for owner, names in names_by_owner.items():
                    set_smtp_users_status(owner, smtp_user_names=names, status=status)
                for smtp_user in smtp_users:
                    self.log_change(request, smtp_user, f"Set status to {status}.")
        except ServiceError as error:
            self.message_user(request, error.message, messages.ERROR)
            return
        self.message_user(request, f"{done} {len(smtp_users)} SMTP user(s).", messages.SUCCESS)
