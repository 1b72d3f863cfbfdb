"""SQL queries per request for each benchmark case: the companion of bench/portal_bench.py.

Sends each case's request with Django's test Client, in this process, against the database and
settings of the gunicorn under test (the environment is inherited from portal_bench.py): once
to warm up (a token's last_used_at is written at most once a minute), then once more inside
CaptureQueriesContext. Prints one JSON object {case name: {"total": statements, "transaction":
how many of them are BEGIN/COMMIT/SAVEPOINT/RELEASE}, or null when the URL answered 404}.

    python bench/query_counts.py CASES.json [--show]

With --show, each counted statement is printed to stderr.
"""

import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402


def send(client: Client, case: dict, body: str):
    headers = dict(case["headers"])
    content_type = headers.pop("Content-Type", "application/octet-stream")
    return client.generic(
        case["method"],
        case["path"],
        data=body,
        content_type=content_type,
        headers=headers,
    )


TRANSACTION_STATEMENTS = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE SAVEPOINT")


def queries_per_request(client: Client, case: dict, *, show: bool) -> dict | None:
    send(client, case, case["warmup_body"])
    with CaptureQueriesContext(connection) as captured:
        response = send(client, case, case["body"])
    if response.status_code == 404:
        return None
    if not 200 <= response.status_code < 300:
        raise SystemExit(
            f"query_counts: {case['name']} answered {response.status_code}: "
            f"{response.content[:200]!r}"
        )
    statements = [query["sql"] for query in captured.captured_queries]
    if show:
        print(f"--- {case['name']}: {len(statements)} statements", file=sys.stderr)
        for statement in statements:
            print("    " + statement[:160], file=sys.stderr)
    return {
        "total": len(statements),
        "transaction": sum(
            statement.startswith(TRANSACTION_STATEMENTS) for statement in statements
        ),
    }


def main() -> None:
    cases = json.loads(Path(sys.argv[1]).read_text())
    # The host gunicorn is called by; the test client's default "testserver" is not allowed.
    client = Client(HTTP_HOST="127.0.0.1")
    show = "--show" in sys.argv[2:]
    counts = {case["name"]: queries_per_request(client, case, show=show) for case in cases}
    print(json.dumps(counts))


if __name__ == "__main__":
    main()
