"""The "Support" group: staff who find and fix owners' SMTP users, tokens and owners in the admin.

View and change, never add or delete (deleting stays with superusers).
"""

from django.db import migrations

from accounts.support import SUPPORT_GROUP_NAME, ensure_support_group


def create_support_group(apps, schema_editor):
    ensure_support_group(apps, using=schema_editor.connection.alias)


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
