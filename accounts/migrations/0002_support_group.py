"""The "Support" group: staff who find and fix owners' SMTP users, tokens and owners in the admin.

View and change, never add or delete (deleting stays with superusers).
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

SUPPORT_GROUP_NAME = "Support"
SUPPORT_PERMISSIONS = [
    ("accounts", "view_owner"),
    ("accounts", "change_owner"),
    ("accounts", "view_user"),
    ("accounts", "view_apitoken"),
    ("accounts", "change_apitoken"),  # to revoke
    ("smtpusers", "view_smtpuser"),
    ("smtpusers", "change_smtpuser"),  # to edit limits, enable, disable, reset passwords
]


def create_support_group(apps, schema_editor):
    database = schema_editor.connection.alias
    # Permissions are normally created by post_migrate, which has not run yet on a fresh
    # database: create them now from the historical models.
    for app_label in {app_label for app_label, _ in SUPPORT_PERMISSIONS}:
        app_config = apps.get_app_config(app_label)
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0, using=database)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    support, _ = Group.objects.using(database).get_or_create(name=SUPPORT_GROUP_NAME)
    support.permissions.add(
        *(
            Permission.objects.using(database).get(
                content_type__app_label=app_label, codename=codename
            )
            for app_label, codename in SUPPORT_PERMISSIONS
        )
    )


def delete_support_group(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Group.objects.using(schema_editor.connection.alias).filter(name=SUPPORT_GROUP_NAME).delete()


class Migration(migrations.Migration):

    dependencies = [
        ("accounts", "0001_initial"),
        ("smtpusers", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_support_group, delete_support_group)]
