"""The "Support" group: staff who find and fix owners' data in the admin.

View and change, never add or delete (deleting stays with superusers). The data migration
creates it; a post_migrate hook keeps it complete as apps add models, and restores it after a
test flush.
"""

from django.apps import apps as django_apps
from django.contrib.auth.management import create_permissions
from django.db import DEFAULT_DB_ALIAS

SUPPORT_GROUP_NAME = "Support"
SUPPORT_PERMISSIONS = [
    ("accounts", "view_owner"),
    ("accounts", "change_owner"),
    ("accounts", "view_user"),
    ("accounts", "view_apitoken"),
    ("accounts", "change_apitoken"),  # to revoke
    ("smtpusers", "view_smtpuser"),
    ("smtpusers", "change_smtpuser"),  # to edit limits, enable, disable, reset passwords
    ("relaysettings", "view_relaysetting"),
    ("relaysettings", "change_relaysetting"),
    ("audit", "view_auditevent"),
    ("alerts", "view_alertsettings"),
    ("alerts", "view_alertdelivery"),
]


def ensure_support_group(apps, *, using: str = DEFAULT_DB_ALIAS):
    """Create the group and give it every permission above whose model exists in `apps`."""
    installed = {app_config.label for app_config in apps.get_app_configs()}
    for app_label in {label for label, _ in SUPPORT_PERMISSIONS} & installed:
        app_config = apps.get_app_config(app_label)
        # Historical app configs have no models module; create_permissions needs one.
        restore_models_module = getattr(app_config, "models_module", None)
        app_config.models_module = restore_models_module or True
        create_permissions(app_config, apps=apps, verbosity=0, using=using)
        app_config.models_module = restore_models_module
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    support, _ = Group.objects.using(using).get_or_create(name=SUPPORT_GROUP_NAME)
    for app_label, codename in SUPPORT_PERMISSIONS:
        permission = (
            Permission.objects.using(using)
            .filter(content_type__app_label=app_label, codename=codename)
            .first()
        )
        if permission is not None:
            support.permissions.add(permission)
    return support


def ensure_support_group_after_migrate(sender, *, using=DEFAULT_DB_ALIAS, apps=None, **kwargs):
    # A test flush sends post_migrate without `apps`: the installed apps are meant then.
    ensure_support_group(apps or django_apps, using=using)
