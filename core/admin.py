"""Pieces every staff admin page shares."""

from urllib.parse import urlencode

from django import forms
from django.contrib import admin
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html

from core.errors import ServiceError


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


def shown_once_response(model_admin, request, *, title: str) -> TemplateResponse:
    """A page showing this request's messages, new secrets among them, and nothing else.

    The messages are rendered by this very response instead of following a redirect, so they
    are never written to the cookie or session message storage. Admin views send no-store.
    """
    opts = model_admin.model._meta
    return TemplateResponse(
        request,
        "admin/shown_once.html",
        {
            **model_admin.admin_site.each_context(request),
            "title": title,
            "opts": opts,
            "changelist_url": reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"),
        },
    )
