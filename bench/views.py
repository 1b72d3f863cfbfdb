"""The benchmark's baselines: the least a request can cost on this stack (see bench/BENCH.md).

Routed only when settings.BENCHMARK_ENDPOINTS is on. Both pass the same middleware as every
other view and answer fixed JSON.
"""

from django.db import connection, transaction
from django.http import JsonResponse

BARE_BODY = {"status": "success", "message": "bare"}


def bare(request):
    """No database at all: the stack's ceiling for any request."""
    return JsonResponse(BARE_BODY)


def bare_commit(request):
    """One committed write transaction and nothing else: the ceiling for any call that writes.

    txid_current() gives the transaction an id, so its COMMIT waits for the WAL flush like
    every real write, without needing a table.
    """
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT txid_current()")
    return JsonResponse(BARE_BODY)
