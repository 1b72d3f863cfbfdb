"""Staff admin of domain email settings. The password is write-only; saves go through the
services, so the admin enforces exactly the API's and the dashboard's rules."""

from django import forms
from django.contrib import admin, messages

from core.errors import ServiceError
from relaysettings import services
from relaysettings.forms import add_service_error, record_from_fields
from relaysettings.models import RelaySetting


class RelaySettingAdminForm(forms.ModelForm):
    new_password = forms.CharField(
        label="Set new password",
        required=False,
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Write-only. Leave blank to keep the stored password; clear the user name "
        "to remove authentication.",
    )

    class Meta:
        model = RelaySetting
        fields = [
            "owner",
            "domain",
            "description",
            "from_address",
            "host",
            "port",
            "secure",
            "tls_reject_unauthorized",
            "debug",
            "auth_user",
        ]

    def _post_clean(self):
        # The service validates and writes in one step, in place of the model's validation.
        # The admin's change view runs in a transaction, so a later failure undoes the write.
        if self.errors:
            return
        creating = self.instance.pk is None
        fields = {**self.cleaned_data, "auth_password": self.cleaned_data.get("new_password")}
        try:
            self.instance, _ = services.save_relay_setting(
                self.cleaned_data["owner"] if creating else self.instance.owner,
                domain=self.cleaned_data["domain"] if creating else self.instance.domain,
                data=record_from_fields(fields),
                create_only=creating,
                replace_only=not creating,
                keep_password_if_blank=True,
            )
        except ServiceError as error:
            add_service_error(self, error)


@admin.register(RelaySetting)
class RelaySettingAdmin(admin.ModelAdmin):
    form = RelaySettingAdminForm
    list_display = [
        "domain",
        "owner",
        "verification_status",
        "host",
        "port",
        "secure",
        "created_at",
    ]
    list_filter = ["verification_status", "secure"]
    actions = ["verify_domains", "rotate_dkim_keys"]
    list_select_related = ["owner"]
    search_fields = ["domain", "owner__name", "owner__owner_id"]
    ordering = ["domain", "id"]
    # Shown on the change page only; owner and domain name the record (the API's key).
    record_facts = [
        "password_state",
        "public_id",
        "verification_status",
        "verification_detail",
        "verification_checked_at",
        "verification_token",
        "dkim_keys_state",
        "created_at",
        "updated_at",
    ]

    def get_fields(self, request, obj=None):
        fields = [*RelaySettingAdminForm.Meta.fields, "new_password"]
        return fields if obj is None else [*fields, *self.record_facts]

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else ["owner", "domain", *self.record_facts]

    @admin.display(description="Password")
    def password_state(self, obj):
        return "set (hidden)" if obj and obj.auth_password_encrypted else "none"

    @admin.display(description="DKIM keys")
    def dkim_keys_state(self, obj):
        return ", ".join(str(key) for key in obj.dkim_keys.all()) or "none"

    @admin.action(description="Check DNS now (verify the selected domains)")
    def verify_domains(self, request, queryset):
        outcomes = []
        for relay_setting in queryset.select_related("owner"):
            checked = services.verify_domain(relay_setting.owner, domain=relay_setting.domain)
            outcomes.append(f"{checked.domain}: {checked.verification_status}")
        self.message_user(request, "Checked " + "; ".join(outcomes) + ".", messages.SUCCESS)

    @admin.action(description="Rotate DKIM key (publish the new record, then check DNS)")
    def rotate_dkim_keys(self, request, queryset):
        for relay_setting in queryset.select_related("owner"):
            try:
                key = services.start_dkim_rotation(relay_setting.owner, domain=relay_setting.domain)
            except ServiceError as error:
                self.message_user(request, error.message, messages.ERROR)
            else:
                self.message_user(
                    request, f"New DKIM key {key.selector} for {relay_setting.domain}."
                )

    def save_model(self, request, obj, form, change):
        """Nothing left to do: the form saved through services.save_relay_setting."""

    def delete_model(self, request, obj):
        services.delete_relay_setting(obj.owner, domain=obj.domain)

    def delete_queryset(self, request, queryset):
        for relay_setting in queryset.select_related("owner"):
            services.delete_relay_setting(relay_setting.owner, domain=relay_setting.domain)
