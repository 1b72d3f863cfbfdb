"""The SMTP user rules, at the service layer every surface calls."""

import threading

import pytest
from django.db import IntegrityError, connection, transaction

from accounts.services import create_owner
from core.errors import NotFoundError, ServiceError
from smtpusers import credentials, services
from smtpusers.models import SmtpUser
from smtpusers.selectors import smtp_password_of


def test_it_creates_an_enabled_user_with_a_strong_password(alice):
    smtp_user, password = services.create_smtp_user(alice.owner, total_limit="500", hourly_limit=20)
    assert smtp_user.is_enabled and smtp_user.status == "Enable"
    assert (smtp_user.total_limit, smtp_user.hourly_limit) == (500, 20)
    assert len(password) >= 16 and password.isalnum()
    assert smtp_password_of(smtp_user) == password
    assert password not in smtp_user.password_encrypted


def test_it_draws_a_new_name_when_the_first_is_taken(alice, bob, monkeypatch):
    taken, _ = services.create_smtp_user(bob.owner, total_limit=1, hourly_limit=1)
    names = iter([taken.smtp_user_name, taken.smtp_user_name, "smtp12345678"])
    monkeypatch.setattr(services, "generate_smtp_user_name", lambda: next(names))
    smtp_user, _ = services.create_smtp_user(alice.owner, total_limit=1, hourly_limit=1)
    assert smtp_user.smtp_user_name == "smtp12345678"
    assert SmtpUser.objects.count() == 2


def test_it_gives_up_cleanly_when_no_name_is_free(alice, bob, monkeypatch):
    taken, _ = services.create_smtp_user(bob.owner, total_limit=1, hourly_limit=1)
    monkeypatch.setattr(services, "generate_smtp_user_name", lambda: taken.smtp_user_name)
    with pytest.raises(ServiceError, match="unique SMTP user name"):
        services.create_smtp_user(alice.owner, total_limit=1, hourly_limit=1)
    assert SmtpUser.objects.filter(owner=alice.owner).count() == 0


def test_it_generates_names_shaped_like_the_seeds():
    name = credentials.generate_smtp_user_name()
    assert name.startswith("smtp") and name[4:].isdigit() and len(name) == 12


def test_it_updates_only_the_given_fields(alice):
    smtp_user, _ = services.create_smtp_user(alice.owner, total_limit=10, hourly_limit=5)
    services.update_smtp_user(alice.owner, smtp_user_name=smtp_user.smtp_user_name, hourly_limit=7)
    smtp_user.refresh_from_db()
    assert (smtp_user.total_limit, smtp_user.hourly_limit, smtp_user.is_enabled) == (10, 7, True)


def test_it_validates_every_field_before_changing_any(alice):
    smtp_user, _ = services.create_smtp_user(alice.owner, total_limit=10, hourly_limit=5)
    with pytest.raises(ServiceError) as error:
        services.update_smtp_user(
            alice.owner, smtp_user_name=smtp_user.smtp_user_name, total_limit=99, status="nope"
        )
    assert error.value.field == "status"
    smtp_user.refresh_from_db()
    assert smtp_user.total_limit == 10


def test_it_hides_another_owners_user_as_not_found(alice, bob):
    smtp_user, _ = services.create_smtp_user(alice.owner, total_limit=10, hourly_limit=5)
    with pytest.raises(NotFoundError):
        services.reset_smtp_password(bob.owner, smtp_user_name=smtp_user.smtp_user_name)
    with pytest.raises(NotFoundError):
        services.update_smtp_user(
            bob.owner, smtp_user_name=smtp_user.smtp_user_name, status="Disable"
        )


def test_it_sets_the_status_of_several_users_of_one_owner_only(alice, bob):
    mine = [
        services.create_smtp_user(alice.owner, total_limit=1, hourly_limit=1)[0] for _ in range(3)
    ]
    theirs, _ = services.create_smtp_user(bob.owner, total_limit=1, hourly_limit=1)
    names = [mine[0].smtp_user_name, mine[1].smtp_user_name, theirs.smtp_user_name]
    changed = services.set_smtp_users_status(alice.owner, smtp_user_names=names, status="disable")
    assert changed == 2
    assert list(SmtpUser.objects.filter(is_enabled=False).order_by("id")) == mine[:2]


def test_it_resets_to_a_new_password(alice):
    smtp_user, old = services.create_smtp_user(alice.owner, total_limit=1, hourly_limit=1)
    _, new = services.reset_smtp_password(alice.owner, smtp_user_name=smtp_user.smtp_user_name)
    smtp_user.refresh_from_db()
    assert new != old and smtp_password_of(smtp_user) == new


def test_it_enforces_positive_limits_in_the_database(alice):
    smtp_user, _ = services.create_smtp_user(alice.owner, total_limit=1, hourly_limit=1)
    with pytest.raises(IntegrityError), transaction.atomic():
        SmtpUser.objects.filter(pk=smtp_user.pk).update(hourly_limit=0)


@pytest.mark.django_db(transaction=True)
def test_it_never_collides_on_names_under_concurrent_creates(monkeypatch):
    owner, _, _ = create_owner(name="Concurrent")
    # Every thread first draws the same name, so all but one really collide in the database.
    per_thread = threading.local()
    fresh_names = iter(f"smtp1000000{digit}" for digit in range(100))
    lock = threading.Lock()

    def next_name():
        if not getattr(per_thread, "drew", False):
            per_thread.drew = True
            return "smtp00000000"
        with lock:
            return next(fresh_names)

    monkeypatch.setattr(services, "generate_smtp_user_name", next_name)
    created, errors = [], []
    barrier = threading.Barrier(8)

    def create():
        try:
            barrier.wait()
            created.append(services.create_smtp_user(owner, total_limit=1, hourly_limit=1)[0])
        except Exception as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=create) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    names = {smtp_user.smtp_user_name for smtp_user in created}
    assert len(names) == 8 and "smtp00000000" in names
    assert SmtpUser.objects.filter(owner=owner).count() == 8
