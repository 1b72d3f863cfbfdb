"""50 concurrent SMTP sessions racing for the last units of a limit (on PostgreSQL)."""

import threading
from collections import Counter

import pytest
from django.db import connection

from mailqueue.models import QueuedMessage
from smtpusers.models import SmtpUsageHour
from smtpusers.services import create_smtp_user
from testing.submission import connect, make_relay_setting, message_bytes

CONNECTIONS = 50
LIMIT = 10


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the race is settled by PostgreSQL row locks"
)
@pytest.mark.parametrize(
    ("limits", "refusal"),
    [
        ({"total_limit": LIMIT, "hourly_limit": 1000}, 554),
        ({"total_limit": 1000, "hourly_limit": LIMIT}, 451),
    ],
    ids=["total-limit", "hourly-limit"],
)
def test_it_accepts_exactly_the_limit_under_50_concurrent_connections(
    limits, refusal, alice, upstream, start_server, client_tls
):
    smtp_user, password = create_smtp_user(alice.owner, **limits)
    make_relay_setting(alice.owner, "alice.example", upstream.port)
    server = start_server(deliver=False)
    # Everyone gets past AUTH, MAIL and RCPT first, then all send DATA at once.
    ready = threading.Barrier(CONNECTIONS, timeout=120)
    codes = []
    codes_lock = threading.Lock()

    def send_one(number: int):
        to = [f"reader{number}@destination.test"]
        with connect(server, client_tls) as client:
            client.login(smtp_user.smtp_user_name, password)
            assert client.mail("news@alice.example")[0] == 250
            assert client.rcpt(to[0])[0] == 250
            ready.wait()
            code, _ = client.data(message_bytes("news@alice.example", to, f"Race {number}"))
        with codes_lock:
            codes.append(code)

    threads = [threading.Thread(target=send_one, args=(n,)) for n in range(CONNECTIONS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert Counter(codes) == {250: LIMIT, refusal: CONNECTIONS - LIMIT}
    smtp_user.refresh_from_db()
    assert smtp_user.total_used == LIMIT
    assert smtp_user.hour_used == LIMIT
    assert QueuedMessage.objects.filter(smtp_user=smtp_user).count() == LIMIT
    assert SmtpUsageHour.objects.get(smtp_user=smtp_user).count == LIMIT
