"""Pieces every staff admin page shares."""

from urllib.parse import urlencode

from django import forms
from django.contrib import admin
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.cache import add_never_cache_headers
from django.utils.decorators import method_decorator
from django.utils.html import format_html

from core.errors import ServiceError
from core.once import keep_secret, once_per_form, take_secret


class SuperuserDeletesOnly:
    """Deleting stays with superusers: for everyone else no delete view, no "delete selected"."""

    def has_delete_permission(self, request, obj=None):
        # A mixin for a ModelAdmin, which has the method.
        return request.user.is_superuser and super().has_delete_permission(request, obj)  # type: ignore[misc]


class ReadOnlyAdmin:
    """For records only their own code writes (the audit log, the mail queue): view only."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


def by_service_rule(parse, value, **kwargs):
    """`value` checked by a rule the services apply, its ServiceError shown on the form field."""
    try:
        return parse(value, **kwargs)
    except ServiceError as error:
        raise forms.ValidationError(error.message) from None


class OwnerFilter(admin.SimpleListFilter):
    """Rows of one owner, by its public owner_id: `?owner=<owner_id>`.

    The sidebar lists only the chosen owner, not every customer (that list would not scale):
    staff arrive here from the counts on an owner's row, or search instead.
    """

    title = "owner"
    parameter_name = "owner"

    def lookups(self, request, model_admin):
        owner_id = self.value()
        if owner_id is None:
            return []
        owner_model = model_admin.model._meta.get_field("owner").related_model
        owner = owner_model.objects.filter(owner_id=owner_id).only("name").first()
        # An unknown owner_id still filters (to nothing) rather than silently showing everyone.
        return [(owner_id, owner.name if owner else f"no owner {owner_id}")]

    def queryset(self, request, queryset):
        if self.value() is None:
            return queryset
        return queryset.filter(owner__owner_id=self.value())


def rows_of_owner_url(model, owner) -> str:
    """The admin list of `model` rows belonging to `owner` (see OwnerFilter)."""
    changelist = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
    return f"{changelist}?{urlencode({OwnerFilter.parameter_name: owner.owner_id})}"


def owner_link(owner) -> str:
    opts = owner._meta
    change_url = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[owner.pk])
    return format_html('<a href="{}">{}</a>', change_url, owner.name)


class ShowsSecretsOnce(admin.ModelAdmin):
    """Admin pages whose POSTs are safe to re-send, and whose new secrets are shown once.

    The add form and the changelist (its actions) carry a one-time form token (core.once): the
    same POST sent again is not done again. A new secret is kept encrypted in the session and
    shown by a GET page after the redirect; a reload of that page says it was shown.
    """

    change_list_template = "admin/once_change_list.html"
    add_form_template = "admin/once_change_form.html"

    def get_urls(self):
        opts = self.model._meta
        return [
            path(
                "shown-once/<str:key>/",
                self.admin_site.admin_view(self.shown_once_view),
                name=f"{opts.app_label}_{opts.model_name}_shown_once",
            ),
            *super().get_urls(),
        ]

    @method_decorator(once_per_form)
    def changelist_view(self, request, extra_context=None):
        return super().changelist_view(request, extra_context)

    @method_decorator(once_per_form)
    def add_view(self, request, form_url="", extra_context=None):
        return super().add_view(request, form_url, extra_context)

    def redirect_to_shown_once(self, request, *, title: str, secrets: list[dict]):
        """`secrets`: dicts of subject, owner and secret, one line each on the shown page."""
        opts = self.model._meta
        key = keep_secret(request, title=title, secrets=secrets)
        return redirect(f"admin:{opts.app_label}_{opts.model_name}_shown_once", key=key)

    def shown_once_view(self, request, key):
        opts = self.model._meta
        shown = take_secret(request, key)
        response = TemplateResponse(
            request,
            "admin/shown_once.html",
            {
                **self.admin_site.each_context(request),
                "title": shown["title"] if shown else "Already shown",
                "secrets": shown["secrets"] if shown else None,
                "opts": opts,
                "changelist_url": reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"),
            },
        )
        add_never_cache_headers(response)
        return response
