"""The benchmark's baseline views (bench/) are routed only with BENCHMARK_ENDPOINTS on."""

import importlib

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import clear_url_caches

import portal.urls


@pytest.fixture
def benchmark_endpoints(settings):
    """Call with True or False: the URLconf is rebuilt under that setting."""
    original = settings.BENCHMARK_ENDPOINTS

    def rebuild(enabled: bool):
        settings.BENCHMARK_ENDPOINTS = enabled
        importlib.reload(portal.urls)
        clear_url_caches()

    yield rebuild
    rebuild(original)


def test_it_serves_no_benchmark_view_when_the_setting_is_off(client, benchmark_endpoints):
    benchmark_endpoints(False)
    for path in ("/bench/bare", "/bench/bare-commit"):
        response = client.get(path)
        assert response.status_code == 404
        assert b"bare" not in response.content


def test_it_answers_fixed_json_at_bench_bare_without_the_database(client, benchmark_endpoints):
    # No django_db mark: any query would fail the test.
    benchmark_endpoints(True)
    response = client.get("/bench/bare")
    assert response.json() == {"status": "success", "message": "bare"}


@pytest.mark.django_db
def test_it_runs_one_write_transaction_at_bench_bare_commit(client, benchmark_endpoints):
    benchmark_endpoints(True)
    with CaptureQueriesContext(connection) as captured:
        response = client.get("/bench/bare-commit")
    assert response.json() == {"status": "success", "message": "bare"}
    assert [query["sql"] for query in captured.captured_queries if "txid" in query["sql"]] == [
        "SELECT txid_current()"
    ]
