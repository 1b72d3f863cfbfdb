"""Seed 004's curl examples, run with curl against a live portal and an owner's credentials."""

import json
import shutil
import subprocess

import pytest

from relaysettings.models import RelaySetting
from testing.email_settings import seed_fields

pytestmark = pytest.mark.skipif(shutil.which("curl") is None, reason="needs curl")

SEED_CREATE_BODY = (
    '{ "provider": "smtp", "description": "My Setting", "from": "my@webitel.com", "options": '
    '{ "host": "m.webitel.com", "port": 465, "secure": true, "debug": false, "tls": '
    '{ "rejectUnauthorized": false }, "auth": { "user": "my@webitel.com", "pass": '
    '"241a821e7655fss" } } }'
)
SEED_UPDATE_BODY = SEED_CREATE_BODY.replace('"My Setting"', '"My updated setting"')


def curl(*arguments) -> tuple[int, dict]:
    result = subprocess.run(
        ["curl", "-sS", "-w", "\n%{http_code}", *arguments],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    body, status = result.stdout.rsplit("\n", 1)
    return int(status), json.loads(body)


def seed_record(description: str, public_id: str) -> dict:
    return {
        "_id": public_id,
        "provider": "smtp",
        "description": description,
        "from": "my@webitel.com",
        "options": {
            "host": "m.webitel.com",
            "port": 465,
            "secure": True,
            "debug": False,
            "tls": {"rejectUnauthorized": False},
            "auth": {"user": "my@webitel.com", "pass": "241a821e7655fss"},
        },
        "domain": "my.webitel.com",
    }


def test_it_answers_the_seeds_curl_examples_as_documented(live_server, alice):
    engine = f"{live_server.url}/engine/api/v2/email/settings?domain=my.webitel.com"
    plain = f"{live_server.url}/api/v2/email/settings?domain=my.webitel.com"
    key, token = f"X-Key: {alice.owner_id}", f"X-Access-Token: {alice.token}"
    json_type = "Content-Type: application/json"

    created = curl(
        "-XPOST", "-H", key, "-H", token, "-H", json_type, "-d", SEED_CREATE_BODY, engine
    )
    public_id = created[1]["_id"]
    read = curl("-XGET", "-H", token, "-H", key, engine)
    updated = curl(
        "-XPOST", "-H", key, "-H", token, "-H", json_type, "-d", SEED_UPDATE_BODY, engine
    )
    put = curl("-XPUT", "-H", key, "-H", token, "-H", json_type, "-d", SEED_UPDATE_BODY, plain)
    deleted = curl("-XDELETE", "-H", token, "-H", key, plain)

    assert (created[0], seed_fields(created[1])) == (200, seed_record("My Setting", public_id))
    assert (read[0], seed_fields(read[1])) == (200, seed_record("My Setting", public_id))
    assert (updated[0], seed_fields(updated[1])) == (
        200,
        seed_record("My updated setting", public_id),
    )
    assert (put[0], seed_fields(put[1])) == (200, seed_record("My updated setting", public_id))
    assert deleted == (200, {"status": "OK", "Info": "Removed 1 record."})
    assert not RelaySetting.objects.exists()
