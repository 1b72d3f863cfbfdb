"""The two owners every test may use, alice and bob (each a login and an API token), staff
logins, dashboard clients signed in as either owner, and a clean slate per test."""

from dataclasses import dataclass
from typing import cast

import pytest
from django.core.cache import cache

from accounts import token_cache
from accounts.models import Owner, User
from accounts.services import create_owner, create_staff_member


@dataclass
class Tenant:
    owner: Owner
    token: str
    login: User
    password: str

    @property
    def owner_id(self) -> str:
        return self.owner.owner_id

    @property
    def credentials(self) -> dict:
        return {"owner_id": self.owner_id, "token": self.token}

    @property
    def headers(self) -> dict:
        return {"X-Key": self.owner_id, "X-Access-Token": self.token}


def _tenant(name: str) -> Tenant:
    password = f"{name}-Correct-Horse-9"
    owner, token, login = create_owner(
        name=name.title(), email=f"{name}@example.com", password=password
    )
    return Tenant(owner=owner, token=token, login=cast(User, login), password=password)


@pytest.fixture
def alice(db) -> Tenant:
    return _tenant("alice")


@pytest.fixture
def bob(db) -> Tenant:
    return _tenant("bob")


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """Login passwords need no key stretching in tests; it would dominate their run time."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Throttle counters and lockouts live in the cache, and the tokens the API read in
    token_cache: no test inherits another's."""
    cache.clear()
    token_cache.forget_all()
    yield
    cache.clear()
    token_cache.forget_all()


class ManualClock:
    """A monotonic clock that moves only when told to."""

    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def token_clock(monkeypatch) -> ManualClock:
    """The clock by which the API remembers tokens (accounts.token_cache), moved by hand."""
    clock = ManualClock()
    monkeypatch.setattr(token_cache, "monotonic", clock)
    return clock


@dataclass
class StaffLogin:
    user: User
    password: str


@pytest.fixture
def support_member(db) -> StaffLogin:
    """A staff login in the Support group (as `manage.py createstaff` makes it)."""
    password = "Support-Correct-Horse-9"
    return StaffLogin(
        create_staff_member(email="helper@support.example", password=password), password
    )


@pytest.fixture
def superuser(db) -> StaffLogin:
    password = "Super-Correct-Horse-9"
    return StaffLogin(User.objects.create_superuser("root@support.example", password), password)


@pytest.fixture
def alice_client(client, alice):
    """Django's test client, signed in to the dashboard as alice."""
    client.force_login(alice.login)
    return client


@pytest.fixture
def bob_client(client, bob):
    """Django's test client, signed in to the dashboard as bob."""
    client.force_login(bob.login)
    return client


@pytest.fixture
def support_client(client, support_member):
    """Django's test client, signed in to the admin as a Support group member."""
    client.force_login(support_member.user)
    return client


@pytest.fixture
def superuser_client(client, superuser):
    """Django's test client, signed in to the admin as a superuser."""
    client.force_login(superuser.user)
    return client
