"""Staff admin for owners, logins and API tokens.

Owner and token changes go through accounts.services; logins are edited with Django's own auth
forms (password hashing and validators), with emails stored as the services store them.
"""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.db import transaction
from django.db.models import Count, Model, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.utils.html import format_html

from accounts.models import ApiToken, Owner, User
from accounts.services import revoke_api_token, update_owner
from accounts.validators import parse_login_email, parse_owner_name
from core.admin import (
    OwnerFilter,
    ShowsSecretsOnce,
    SuperuserDeletesOnly,
    by_service_rule,
    owner_link,
    rows_of_owner_url,
)
from core.errors import ServiceError
from core.tenancy import owned_by

admin.site.site_header = "SMTP relay portal administration"
admin.site.site_title = "SMTP relay portal admin"


def smtp_user_model() -> type[Model]:
    """The SMTP users' model, through the `smtp_users` relation that smtpusers declares on
    Owner: accounts imports nothing of smtpusers, which imports accounts (docs/architecture.md)."""
    return Owner._meta.get_field("smtp_users").related_model


def count_per_owner(queryset):
    """How many rows of `queryset` the outer owner holds, as a subquery (0 for none).

    Counting in subqueries, not joins, keeps two to-many counts from multiplying each other.
    """
    per_owner = (
        owned_by(OuterRef("pk"), queryset)
        .order_by()
        .values("owner")
        .annotate(count=Count("pk"))
        .values("count")
    )
    return Coalesce(Subquery(per_owner), 0)


class OwnerForm(forms.ModelForm):
    class Meta:
        model = Owner
        fields = ("name", "is_active")

    def clean_name(self):
        return by_service_rule(parse_owner_name, self.cleaned_data["name"])


@admin.register(Owner)
class OwnerAdmin(SuperuserDeletesOnly, admin.ModelAdmin):
    # Columns are not named after the relations (smtp_users, api_tokens): the changelist would
    # then sort by the relation itself, joining and duplicating rows.
    list_display = (
        "name",
        "owner_id",
        "is_active",
        "login_emails",
        "smtp_users_link",
        "api_tokens_link",
        "created_at",
    )
    list_filter = ("is_active",)
    search_fields = ("name", "=owner_id", "logins__email")
    search_help_text = "Owner name, a login's email, or the exact owner_id."
    form = OwnerForm
    fields = (
        "name",
        "owner_id",
        "is_active",
        "login_emails",
        "smtp_users_link",
        "api_tokens_link",
        "created_at",
        "updated_at",
    )
    readonly_fields = (
        "owner_id",
        "login_emails",
        "smtp_users_link",
        "api_tokens_link",
        "created_at",
        "updated_at",
    )

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                smtp_user_count=count_per_owner(smtp_user_model()._default_manager.all()),
                live_api_token_count=count_per_owner(
                    ApiToken.objects.filter(revoked_at__isnull=True)
                ),
            )
            .prefetch_related("logins")
        )

    def has_add_permission(self, request):
        # An owner comes with a login and an API token shown once: `manage.py createowner`.
        return False

    def save_model(self, request, obj, form, change):
        update_owner(obj, name=form.cleaned_data["name"], is_active=form.cleaned_data["is_active"])
        obj.refresh_from_db()

    @admin.display(description="logins")
    def login_emails(self, owner):
        return ", ".join(login.email for login in owner.logins.all()) or "—"

    @admin.display(description="SMTP users", ordering="smtp_user_count")
    def smtp_users_link(self, owner):
        return format_html(
            '<a href="{}">{}</a>',
            rows_of_owner_url(smtp_user_model(), owner),
            owner.smtp_user_count,
        )

    @admin.display(description="live API tokens", ordering="live_api_token_count")
    def api_tokens_link(self, owner):
        return format_html(
            '<a href="{}">{}</a>', rows_of_owner_url(ApiToken, owner), owner.live_api_token_count
        )


class TokenStateFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [("live", "Active"), ("revoked", "Revoked")]

    def queryset(self, request, queryset):
        if self.value() is None:
            return queryset
        return queryset.filter(revoked_at__isnull=self.value() == "live")


@admin.register(ApiToken)
class ApiTokenAdmin(ShowsSecretsOnce, SuperuserDeletesOnly, admin.ModelAdmin):
    """Name and prefix only: the hash (and of course the token) are never shown."""

    list_display = (
        "name",
        "token_prefix",
        "owner_name",
        "state",
        "created_at",
        "last_used_at",
        "revoked_at",
    )
    list_filter = (TokenStateFilter, OwnerFilter)
    search_fields = ("name", "prefix", "owner__name", "=owner__owner_id")
    search_help_text = "Token name or prefix, owner name, or the exact owner_id."
    fields = ("name", "token_prefix", "owner_name", "created_at", "last_used_at", "revoked_at")
    readonly_fields = fields
    actions = ("revoke_api_tokens",)

    @admin.display(description="token", ordering="prefix")
    def token_prefix(self, api_token):
        return f"{api_token.prefix}…"

    @admin.display(description="owner", ordering="owner__name")
    def owner_name(self, api_token):
        return owner_link(api_token.owner)

    @admin.display(description="state", ordering="revoked_at")
    def state(self, api_token):
        # The dashboard's words.
        return "Revoked" if api_token.is_revoked else "Active"

    def get_queryset(self, request):
        # The owner for every row, page and action in the same query.
        return super().get_queryset(request).select_related("owner")

    def has_add_permission(self, request):
        # The token is shown once to whoever creates it: the owner, or `manage.py createtoken`.
        return False

    def has_change_permission(self, request, obj=None):
        # A token changes only by being revoked (the action); its own page is read-only.
        return obj is None and super().has_change_permission(request)

    @admin.action(description="Revoke selected API tokens", permissions=["change"])
    def revoke_api_tokens(self, request, queryset):
        live_tokens = list(queryset.filter(revoked_at__isnull=True))
        try:
            with transaction.atomic():
                for api_token in live_tokens:
                    revoke_api_token(api_token.owner, token_id=api_token.pk)
                    self.log_change(request, api_token, "Revoked the API token.")
        except ServiceError as error:
            self.message_user(request, error.message, messages.ERROR)
            return
        self.message_user(request, f"Revoked {len(live_tokens)} API token(s).", messages.SUCCESS)


class LoginEmailMixin:
    """Emails stored as the login services store them (lowercased), so uniqueness holds."""

    cleaned_data: dict[str, Any]  # a mixin for a form, which has it

    def clean_email(self):
        return by_service_rule(parse_login_email, self.cleaned_data["email"])


class LoginCreationForm(LoginEmailMixin, AdminUserCreationForm):
    class Meta:
        model = User
        fields = ("email", "owner")


class LoginChangeForm(LoginEmailMixin, UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"


@admin.register(User)
class UserAdmin(SuperuserDeletesOnly, DjangoUserAdmin):
    """Logins: customers' (with an owner) and staff members' (without)."""

    form = LoginChangeForm
    add_form = LoginCreationForm
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Customer", {"fields": ("owner",), "description": "Empty for staff members."}),
        ("Personal info", {"fields": ("first_name", "last_name")}),
        (
            "Permissions",
            {
                "fields": (
                    "is_active",
                    "is_staff",
                    "is_superuser",
                    "groups",
                    "user_permissions",
                )
            },
        ),
        ("Important dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": ("email", "owner", "usable_password", "password1", "password2"),
            },
        ),
    )
    list_display = ("email", "owner_name", "is_staff", "is_superuser", "is_active", "last_login")
    list_select_related = ("owner",)
    list_filter = ("is_staff", "is_superuser", "is_active", "groups")
    search_fields = ("email", "first_name", "last_name", "owner__name", "=owner__owner_id")
    search_help_text = "Email, name, owner name, or the exact owner_id."
    ordering = ("email",)
    autocomplete_fields = ("owner",)

    @admin.display(description="owner", ordering="owner__name")
    def owner_name(self, login):
        return owner_link(login.owner) if login.owner else "— (staff)"

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if obj is None or request.user.is_superuser:
            return fieldsets
        # Not even the masked password hash for anyone but superusers.
        return (
            (None, {"fields": ("email",)}),
            *fieldsets[1:],
        )
