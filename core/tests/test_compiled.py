"""core.compiled: a QuerySet compiled once answers, with each call's values, as the QuerySet
built with those values would."""

import pytest
from django.contrib.auth.models import Permission
from django.forms.models import model_to_dict

from core.compiled import CompiledQuery

PERMISSIONS_OF_MODEL = CompiledQuery(
    lambda app_label, model: (
        Permission.objects.select_related("content_type")
        .filter(content_type__app_label=app_label, content_type__model=model)
        .order_by("codename")
    ),
    app_label=str,
    model=str,
)
CODENAMES_OF_APP = CompiledQuery(
    lambda app_label: (
        Permission.objects.filter(content_type__app_label=app_label)
        .order_by("codename")
        .values("codename", "content_type__model")
    ),
    app_label=str,
)


@pytest.mark.parametrize(("app_label", "model"), [("auth", "group"), ("accounts", "apitoken")])
def test_it_gives_the_querysets_instances_with_their_related_objects(db, app_label, model):
    expected = list(
        Permission.objects.select_related("content_type")
        .filter(content_type__app_label=app_label, content_type__model=model)
        .order_by("codename")
    )

    found = PERMISSIONS_OF_MODEL(app_label=app_label, model=model)

    assert expected
    assert [model_to_dict(permission) for permission in found] == [
        model_to_dict(permission) for permission in expected
    ]
    assert [permission.content_type.app_label for permission in found] == [app_label] * len(
        expected
    )
    assert [permission._state.adding for permission in found] == [False] * len(expected)


def test_it_gives_the_querysets_values(db):
    expected = list(
        Permission.objects.filter(content_type__app_label="auth")
        .order_by("codename")
        .values("codename", "content_type__model")
    )

    assert CODENAMES_OF_APP(app_label="auth") == expected


def test_it_finds_nothing_for_values_nothing_has(db):
    assert PERMISSIONS_OF_MODEL(app_label="no such app", model="group") == []


def test_it_refuses_a_value_the_lookup_would_change():
    # icontains wraps the value in %…%: no parameter of the SQL is the value itself.
    containing = CompiledQuery(
        lambda part: Permission.objects.filter(codename__icontains=part), part=str
    )

    with pytest.raises(ValueError, match="part not among the SQL parameters"):
        containing(part="add")


def test_it_refuses_missing_or_unknown_values(db):
    with pytest.raises(TypeError):
        PERMISSIONS_OF_MODEL(app_label="auth")
    with pytest.raises(TypeError):
        PERMISSIONS_OF_MODEL(app_label="auth", model="group", extra=1)
