"""The owner management commands and start-up checks, as an operator runs them."""

import json
import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from accounts.models import ApiToken, Owner, User
from accounts.services import authenticate_api_token

PROJECT_DIR = Path(__file__).resolve().parents[2]


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_it_creates_an_owner_with_a_login_and_prints_one_json_object(db):
    output = run(
        "createowner", "Acme", "--email", "Ops@Acme.test", "--password", "pw-12345678", "--json"
    )
    result = json.loads(output)
    assert set(result) == {"owner_id", "token", "login"}
    assert result["login"] == "ops@acme.test"
    owner = Owner.objects.get(owner_id=result["owner_id"])
    assert owner.name == "Acme"
    login = User.objects.get(email="ops@acme.test")
    assert login.owner == owner and login.check_password("pw-12345678")
    assert authenticate_api_token(result["owner_id"], result["token"]).owner == owner


def test_it_creates_an_owner_without_a_login(db):
    result = json.loads(run("createowner", "Solo", "--json"))
    assert result["login"] is None
    assert User.objects.count() == 0
    assert ApiToken.objects.filter(owner__owner_id=result["owner_id"]).count() == 1


def test_it_refuses_a_duplicate_login_and_creates_nothing(db):
    run("createowner", "First", "--email", "a@b.test", "--password", "pw-12345678")
    with pytest.raises(CommandError, match="already exists"):
        run("createowner", "Second", "--email", "a@b.test", "--password", "pw-12345678")
    assert list(Owner.objects.values_list("name", flat=True)) == ["First"]


def test_it_refuses_an_email_without_a_password(db):
    with pytest.raises(CommandError, match="both an email and a password"):
        run("createowner", "Half", "--email", "a@b.test")
    assert Owner.objects.count() == 0


def test_it_creates_a_named_token_for_an_owner(alice):
    token = run("createtoken", alice.owner_id, "--name", "deploy").strip()
    api_token = authenticate_api_token(alice.owner_id, token)
    assert api_token.name == "deploy" and token.startswith(api_token.prefix)


def test_it_refuses_a_token_for_an_unknown_owner(db):
    with pytest.raises(CommandError, match="No owner"):
        run("createtoken", "nope")


def test_it_prints_a_working_demo_login_and_token_each_time(db):
    first = run("demo")
    second = run("demo")
    fields = dict(
        line.strip().split(":", 1) for line in second.splitlines() if line.startswith("  ")
    )
    fields = {key.strip(): value.strip() for key, value in fields.items()}
    login = User.objects.get(email=fields["Login"])
    assert login.check_password(fields["Password"])
    assert authenticate_api_token(fields["owner_id"], fields["API token"]) is not None
    assert Owner.objects.count() == 1 and first != second


def test_it_revokes_the_demo_tokens_printed_by_earlier_runs(db):
    tokens = []
    for _ in range(3):
        fields = dict(
            (key.strip(), value.strip())
            for key, value in (
                line.split(":", 1) for line in run("demo").splitlines() if line.startswith("  ")
            )
        )
        tokens.append((fields["owner_id"], fields["API token"]))

    still_working = [token for token in tokens if authenticate_api_token(*token) is not None]

    assert still_working == [tokens[-1]]
    assert ApiToken.objects.filter(revoked_at__isnull=True).count() == 1


def _start_up(env_overrides) -> subprocess.CompletedProcess:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"SECRET_KEY", "FIELD_ENCRYPTION_KEY", "DEBUG"}
    }
    env.update(env_overrides)
    return subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize("missing", ["SECRET_KEY", "FIELD_ENCRYPTION_KEY"])
def test_it_refuses_to_start_in_production_without_a_secret(missing):
    env = {"DEBUG": "False", "SECRET_KEY": "x" * 50, "FIELD_ENCRYPTION_KEY": "A" * 43 + "="}
    del env[missing]
    result = _start_up(env)
    assert result.returncode != 0
    assert f"{missing} must be set when DEBUG is off" in result.stderr


def test_it_refuses_a_malformed_encryption_key():
    result = _start_up({"DEBUG": "False", "SECRET_KEY": "x" * 50, "FIELD_ENCRYPTION_KEY": "short"})
    assert result.returncode != 0
    assert "FIELD_ENCRYPTION_KEY must be one or more url-safe base64 32-byte keys" in result.stderr


def test_it_starts_with_development_defaults_and_no_environment():
    result = _start_up({})
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout
