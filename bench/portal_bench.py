"""HTTP benchmark of the portal against the stack's own limit (run it with bench/run).

Creates the database afresh, seeds one owner with 10, 1,000 and 10,000 SMTP users in turn,
serves the portal with the production gunicorn config (DEBUG off), and drives each case with
wrk from a second process for a fixed time. The baseline is /bench/bare, a Django view that
answers fixed JSON through the same middleware, gunicorn and machine, measured in every block.
SQL queries per request come from bench/query_counts.py. See bench/BENCH.md.
"""

import argparse
import json
import logging
import os
import platform
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, cast
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from accounts.models import User

ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = ROOT / "bench"
REPORT_PATH = ROOT / "var" / "bench" / "latest.md"
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/portal_bench"
WORKERS = 2
EMAIL_SETTINGS_DOMAIN = "bench.example.com"
# How many SMTP users the edit and reset cases spread over (see wrk_request.lua).
ROTATED_USERS = 100
# Time for gunicorn to answer the requests still queued when wrk stops.
DRAIN_SECONDS = 2

# Targets of issue 10.
MAX_QUERIES = 4
SINGLE_OBJECT_MIN_RATIO = 0.7
LIST_API_MAX_P50_MS = 300
LIST_PAGE_MAX_P50_MS = 150


def configure_environment(database_url: str) -> None:
    """The production settings the portal runs with here; gunicorn and the helpers inherit them."""
    from cryptography.fernet import Fernet

    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "portal.settings",
            "DATABASE_URL": database_url,
            "DEBUG": "False",
            "SECURE_SSL_REDIRECT": "False",
            "ALLOWED_HOSTS": "127.0.0.1",
            "BENCHMARK_ENDPOINTS": "True",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "FIELD_ENCRYPTION_KEY": Fernet.generate_key().decode(),
            "WEB_CONCURRENCY": str(WORKERS),
            "GUNICORN_THREADS": "1",
            "LOG_LEVEL": "ERROR",
            # Keep each worker's database connection for the whole run (production: 60 s), so
            # that the CPU time of its PostgreSQL backend can be read.
            "CONN_MAX_AGE": "3600",
        }
    )


def recreate_database(database_url: str) -> None:
    import psycopg
    from psycopg import sql

    parts = urlsplit(database_url)
    name = parts.path.lstrip("/")
    maintenance_url = parts._replace(path="/postgres").geturl()
    with psycopg.connect(maintenance_url, autocommit=True) as connection:
        connection.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def setup_django() -> None:
    sys.path.insert(0, str(ROOT))
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", interactive=False, verbosity=0)
    # DEBUG off serves static files through the manifest storage, which needs collectstatic.
    call_command("collectstatic", interactive=False, verbosity=0)


# --- Seeding ------------------------------------------------------------------------------


@dataclass
class BenchOwner:
    owner: object
    owner_id: str
    token: str
    session_cookie: str


def create_bench_owner() -> BenchOwner:
    from django.conf import settings
    from django.test import Client

    from accounts.services import create_owner

    owner, token, login = create_owner(
        name="Benchmark owner", email="bench@example.com", password=secrets.token_urlsafe(16)
    )
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(cast("User", login))
    session = client.cookies[settings.SESSION_COOKIE_NAME].value
    return BenchOwner(owner, owner.owner_id, token, f"{settings.SESSION_COOKIE_NAME}={session}")


def remove_smtp_users_added_since(owner, moment) -> None:
    from core.tenancy import owned_by
    from smtpusers.models import SmtpUser

    owned_by(owner, SmtpUser).filter(created_at__gt=moment).delete()


def seed_smtp_users(owner, count: int) -> list[str]:
    """Exactly `count` SMTP users for `owner`, all sharing one ciphertext; returns their names."""
    from django.db import connection

    from core.crypto import encrypt
    from core.tenancy import owned_by
    from smtpusers.credentials import generate_smtp_password
    from smtpusers.models import SmtpUser

    owned_by(owner, SmtpUser).delete()
    password_encrypted = encrypt(generate_smtp_password())
    names = [f"smtp{index:08d}" for index in range(1, count + 1)]
    SmtpUser.objects.bulk_create(
        (
            SmtpUser(
                owner=owner,
                smtp_user_name=name,
                password_encrypted=password_encrypted,
                total_limit=10_000,
                hourly_limit=1_000,
            )
            for name in names
        ),
        batch_size=2_000,
    )
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {SmtpUser._meta.db_table}")
    return names


def smtp_user_count(owner) -> int:
    from core.tenancy import owned_by
    from smtpusers.models import SmtpUser

    return owned_by(owner, SmtpUser).count()


def seed_email_settings(bench_owner: BenchOwner) -> str | None:
    """Store the domain's email settings through the API; None, or why they are missing."""
    from django.test import Client

    record = {
        "provider": "smtp",
        "description": "Benchmark",
        "from": "sender@bench.example.com",
        "options": {
            "host": "smtp.bench.example.com",
            "port": 587,
            "secure": False,
            "debug": False,
            "tls": {"rejectUnauthorized": True},
            "auth": {"user": "sender@bench.example.com", "pass": "benchmark-password"},
        },
    }
    # A 404 here is an answer, not a problem to log.
    request_logger = logging.getLogger("django.request")
    request_logger.disabled = True
    try:
        response = Client(HTTP_HOST="127.0.0.1").post(
            f"/api/v2/email/settings?domain={EMAIL_SETTINGS_DOMAIN}",
            data=json.dumps(record),
            content_type="application/json",
            headers={"X-Key": bench_owner.owner_id, "X-Access-Token": bench_owner.token},
        )
    finally:
        request_logger.disabled = False
    if response.status_code == 404:
        return "not available (POST /api/v2/email/settings answers 404)"
    if response.status_code != 200:
        return f"seeding failed: {response.status_code} {response.content[:120]!r}"
    return None


# --- Cases --------------------------------------------------------------------------------


@dataclass
class Case:
    name: str
    # "bare", "bare-commit" (the baselines), "single" (a one-object API call), "list-api" or
    # "list-page".
    kind: str
    method: str
    path: str
    headers: dict
    bodies: list[str] = field(default_factory=list)
    # Concurrency for this run; None: the run's --connections.
    connections: int | None = None
    # The users the response must list (list cases), to check it is the real answer.
    expected_users: int | None = None
    unavailable: str | None = None


def build_cases(bench_owner: BenchOwner, names: list[str], email_settings_missing) -> list[Case]:
    api_headers = {
        "X-Key": bench_owner.owner_id,
        "X-Access-Token": bench_owner.token,
        "Content-Type": "application/json",
    }
    rotated = names[:ROTATED_USERS]
    # Two passes over the rotated users with alternating limits, so that every edit writes.
    edit_bodies = [
        json.dumps({"smtp_user_name": name, "total_limit": 5_000 + pass_number})
        for pass_number in (1, 2)
        for name in rotated
    ]
    reset_bodies = [json.dumps({"smtp_user_name": name}) for name in rotated]
    page_headers = {"Cookie": bench_owner.session_cookie}
    count = len(names)
    return [
        Case("bare view", "bare", "GET", "/bench/bare", {}),
        Case("bare view + 1 commit", "bare-commit", "GET", "/bench/bare-commit", {}),
        Case(
            "listSmtp",
            "list-api",
            "POST",
            "/v1.0/settings/listSmtp",
            api_headers,
            ["{}"],
            expected_users=count,
        ),
        Case(
            "listSmtp, 1 caller",
            "list-api",
            "POST",
            "/v1.0/settings/listSmtp",
            api_headers,
            ["{}"],
            connections=1,
            expected_users=count,
        ),
        Case("editSmtp", "single", "POST", "/v1.0/settings/editSmtp", api_headers, edit_bodies),
        Case(
            "resetSmtpPassword",
            "single",
            "POST",
            "/v1.0/settings/resetSmtpPassword",
            api_headers,
            reset_bodies,
        ),
        Case(
            "GET email settings",
            "single",
            "GET",
            f"/api/v2/email/settings?domain={EMAIL_SETTINGS_DOMAIN}",
            {"X-Key": bench_owner.owner_id, "X-Access-Token": bench_owner.token},
            unavailable=email_settings_missing,
        ),
        Case("SMTP users page", "list-page", "GET", "/smtp-users/", page_headers),
        Case(
            "SMTP users page, 1 caller",
            "list-page",
            "GET",
            "/smtp-users/",
            page_headers,
            connections=1,
        ),
        # Last in its block: it grows the table, which is seeded afresh for the next block.
        Case(
            "addSmtp",
            "single",
            "POST",
            "/v1.0/settings/addSmtp",
            api_headers,
            [json.dumps({"total_limit": 500, "hourly_limit": 100})],
        ),
    ]


def problem_with_answer(case: Case, response) -> str | None:
    """None when the response is the case's real, successful answer; else what is wrong."""
    if response.status_code != 200:
        return f"answered {response.status_code}"
    if case.kind == "list-page":
        if "text/html" not in response.headers.get("Content-Type", ""):
            return "not an HTML page"
        return None
    body = response.json()
    if case.kind in ("bare", "single") and case.path.startswith("/api/v2/"):
        return None if "_id" in body else f"unexpected body {str(body)[:120]}"
    if body.get("status") != "success":
        return f"unexpected body {str(body)[:120]}"
    if case.expected_users is not None and len(body["smtp_list"]) != case.expected_users:
        return f"listed {len(body['smtp_list'])} SMTP users, expected {case.expected_users}"
    return None


def probe(case: Case, base_url: str) -> str | None:
    """One request before the load: None if it answers right; 'not available' on a 404."""
    import requests

    response = requests.request(
        case.method,
        base_url + case.path,
        headers=case.headers,
        data=case.bodies[0] if case.bodies else None,
        allow_redirects=False,
        timeout=120,
    )
    if response.status_code == 404:
        return f"not available ({case.method} {case.path.split('?')[0]} answers 404)"
    problem = problem_with_answer(case, response)
    return f"probe failed: {problem}" if problem else None


# --- Load with wrk ------------------------------------------------------------------------


def wrk_path() -> str:
    path = shutil.which("wrk")
    if path is None:
        raise SystemExit("wrk is not installed (bench/run installs it: apt-get install wrk)")
    return path


@dataclass
class WrkResult:
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    requests: int
    failed: int
    connections: int


_TIME_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}


def _milliseconds(text: str) -> float:
    number, unit = cast(re.Match[str], re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", text)).groups()
    return float(number) * _TIME_UNITS_MS[unit]


def parse_wrk(output: str, connections: int) -> WrkResult:
    def find(pattern: str) -> str:
        match = re.search(pattern, output, re.MULTILINE)
        if match is None:
            raise RuntimeError(f"wrk output without {pattern!r}:\n{output}")
        return match.group(1)

    def optional_count(pattern: str) -> int:
        match = re.search(pattern, output, re.MULTILINE)
        return sum(int(number) for number in match.groups()) if match else 0

    failed = optional_count(r"Non-2xx or 3xx responses: (\d+)") + optional_count(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)"
    )
    return WrkResult(
        requests_per_second=float(find(r"^Requests/sec:\s+([\d.]+)")),
        p50_ms=_milliseconds(find(r"^\s+50%\s+(\S+)")),
        p99_ms=_milliseconds(find(r"^\s+99%\s+(\S+)")),
        requests=int(find(r"^\s+(\d+) requests in")),
        failed=failed,
        connections=connections,
    )


def run_wrk(case: Case, base_url: str, work_dir: Path, *, seconds: int, options) -> WrkResult:
    connections = case.connections or options.connections
    threads = min(options.threads, connections)
    bodies_file = "-"
    if case.bodies:
        bodies_path = work_dir / "bodies.txt"
        bodies_path.write_text("\n".join(case.bodies) + "\n")
        bodies_file = str(bodies_path)
    command = [
        wrk_path(),
        f"--threads={threads}",
        f"--connections={connections}",
        f"--duration={seconds}s",
        "--timeout=30s",
        "--latency",
        f"--script={BENCH_DIR / 'wrk_request.lua'}",
        base_url + case.path,
        "--",
        case.method,
        bodies_file,
        *(f"{name}: {value}" for name, value in case.headers.items()),
    ]
    completed = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
    if completed.returncode != 0:
        raise SystemExit(f"wrk failed on {case.name}: {completed.stderr or completed.stdout}")
    return parse_wrk(completed.stdout, connections)


# --- gunicorn -----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe_socket:
        probe_socket.bind(("127.0.0.1", 0))
        return probe_socket.getsockname()[1]


def start_gunicorn(log_path: Path, max_requests: int) -> tuple[subprocess.Popen, str]:
    import requests

    port = free_port()
    env = {
        **os.environ,
        "BIND": f"127.0.0.1:{port}",
        # Over gunicorn.conf.py's recycling after ~2,000 requests: at the bare view's rate a
        # worker would restart every few seconds, and the baseline would time Django's start-up.
        "GUNICORN_CMD_ARGS": f"--max-requests {max_requests}",
    }
    with log_path.open("wb") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "portal.wsgi"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    base_url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"gunicorn exited with {server.returncode}; see {log_path}")
        try:
            if requests.get(base_url + "/healthz", timeout=2).status_code == 200:
                return server, base_url
        # A timeout too: the master accepts before its workers have booted on a busy machine.
        except (requests.ConnectionError, requests.Timeout):
            pass
        time.sleep(0.2)
    server.terminate()
    raise SystemExit(f"gunicorn did not answer /healthz within 60 s; see {log_path}")


def stop_gunicorn(server: subprocess.Popen) -> None:
    server.terminate()
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


# --- CPU time ---------------------------------------------------------------------------


def _cpu_seconds_by_pid(pids) -> dict[int, float]:
    ticks = os.sysconf("SC_CLK_TCK")
    seconds = {}
    for pid in pids:
        try:
            # After the ")" closing the command name: state, ppid, ...; utime and stime are
            # fields 14 and 15 of the line.
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        seconds[pid] = (int(fields[11]) + int(fields[12])) / ticks
    return seconds


class CpuMeter:
    """CPU time of the gunicorn workers and of the PostgreSQL backends serving the bench.

    Unlike wall time, it hardly moves when other programs share the machine.
    """

    def __init__(self, gunicorn_pid: int):
        self.gunicorn_pid = gunicorn_pid

    def _worker_pids(self) -> list[int]:
        pids = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            if parent == self.gunicorn_pid:
                pids.append(int(stat.parent.name))
        return pids

    @staticmethod
    def _backend_pids() -> list[int]:
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pid FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            return [pid for (pid,) in cursor.fetchall()]

    def snapshot(self) -> tuple[dict, dict]:
        return (
            _cpu_seconds_by_pid(self._worker_pids()),
            _cpu_seconds_by_pid(self._backend_pids()),
        )

    def used_since(self, before: tuple[dict, dict]) -> tuple[float, float]:
        """(app, database) CPU seconds used since `before`; new processes count in full."""
        after = self.snapshot()
        return tuple(
            sum(seconds - earlier.get(pid, 0.0) for pid, seconds in later.items())
            for earlier, later in zip(before, after, strict=True)
        )


# --- Report -------------------------------------------------------------------------------


@dataclass
class Row:
    users: int
    case: Case
    result: WrkResult | None
    queries: dict | None
    bare_rps: float | None
    note: str = ""
    # CPU milliseconds per request: gunicorn workers, PostgreSQL backends.
    app_cpu_ms: float | None = None
    db_cpu_ms: float | None = None

    @property
    def ratio(self) -> float | None:
        if self.result is None or not self.bare_rps:
            return None
        return self.result.requests_per_second / self.bare_rps


def _ms(value: float) -> str:
    return f"{value:.1f}" if value < 100 else f"{value:.0f}"


def _cpu(milliseconds: float | None) -> str:
    return "" if milliseconds is None else f"{milliseconds:.2f}"


def _queries(counted: dict | None) -> str:
    if counted is None:
        return "-"
    if counted["transaction"]:
        return f"{counted['total']} ({counted['transaction']} tx)"
    return str(counted["total"])


def table(rows: list[Row]) -> str:
    lines = [
        "| SMTP users | case | conns | req/s | p50 ms | p99 ms | x bare "
        "| app CPU ms/req | DB CPU ms/req | SQL/req | notes |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for row in rows:
        queries = _queries(row.queries)
        if row.result is None:
            lines.append(
                f"| {row.users:,} | {row.case.name} | | | | | | | | {queries} | {row.note} |"
            )
            continue
        result = row.result
        ratio = "" if row.case.kind == "bare" or row.ratio is None else f"{row.ratio:.2f}"
        notes = [row.note] if row.note else []
        if result.failed:
            notes.append(f"{result.failed} of {result.requests} requests failed")
        lines.append(
            f"| {row.users:,} | {row.case.name} | {result.connections} "
            f"| {result.requests_per_second:,.0f} | {_ms(result.p50_ms)} | {_ms(result.p99_ms)} "
            f"| {ratio} | {_cpu(row.app_cpu_ms)} | {_cpu(row.db_cpu_ms)} | {queries} "
            f"| {'; '.join(notes)} |"
        )
    return "\n".join(lines)


def verdicts(rows: list[Row], sizes: list[int]) -> list[str]:
    largest = max(sizes)
    lines = []

    def verdict(label: str, relevant: list[Row], failing: list[str]) -> None:
        measured = [row for row in relevant if row.result is not None or row.queries is not None]
        if not measured:
            lines.append(f"- N/A   {label}: not available in this build")
        elif failing:
            lines.append(f"- MISS  {label}: {'; '.join(failing)}")
        else:
            lines.append(f"- PASS  {label}")

    counted = [row for row in rows if not row.case.kind.startswith("bare")]
    for reading, without_transaction in (
        ("as CaptureQueriesContext counts them, BEGIN and COMMIT included", False),
        ("leaving out BEGIN/COMMIT", True),
    ):
        verdict(
            f"every API call and list page ≤ {MAX_QUERIES} SQL queries at every size, {reading}",
            counted,
            [
                f"{row.case.name} @ {row.users:,}: {_queries(row.queries)}"
                for row in counted
                if row.queries is not None
                and row.queries["total"] - without_transaction * row.queries["transaction"]
                > MAX_QUERIES
            ],
        )
    single = [row for row in rows if row.case.kind == "single"]
    verdict(
        f"single-object API calls ≥ {SINGLE_OBJECT_MIN_RATIO}x the bare view's req/s",
        single,
        [
            f"{row.case.name} @ {row.users:,}: {row.ratio:.2f}x"
            for row in single
            if row.ratio is not None and row.ratio < SINGLE_OBJECT_MIN_RATIO
        ],
    )
    for kind, limit, label in (
        ("list-api", LIST_API_MAX_P50_MS, "listSmtp"),
        ("list-page", LIST_PAGE_MAX_P50_MS, "SMTP users page"),
    ):
        # One caller: what a customer waits, without queueing behind other callers.
        relevant = [
            row
            for row in rows
            if row.case.kind == kind and row.users == largest and row.case.connections == 1
        ]
        verdict(
            f"{label} at {largest:,} users p50 ≤ {limit} ms (one caller)",
            relevant,
            [
                f"p50 {_ms(row.result.p50_ms)} ms"
                for row in relevant
                if row.result is not None and row.result.p50_ms > limit
            ],
        )
    return lines


def machine_description(options) -> list[str]:
    import django
    import gunicorn
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        postgres_version = cursor.fetchone()[0]
    memory = cast(re.Match[str], re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()))
    memory_kb = int(memory.group(1))
    cpu_model = re.search(r"model name\s*:\s*(.+)", Path("/proc/cpuinfo").read_text())
    wrk_version = subprocess.run(  # noqa: S603
        [wrk_path(), "--version"], capture_output=True, text=True, check=False
    ).stdout.split(" [")[0]
    return [
        f"- Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        f"- Machine: {os.cpu_count()} cores ({cpu_model.group(1) if cpu_model else 'unknown'}), "
        f"{memory_kb / 1024 / 1024:.1f} GiB memory, load average at start "
        f"{' '.join(f'{load:.2f}' for load in os.getloadavg())}",
        f"- Versions: Python {platform.python_version()}, Django {django.get_version()}, "
        f"PostgreSQL {postgres_version}, gunicorn {gunicorn.__version__}, {wrk_version}",
        f"- Load: gunicorn {WORKERS} sync workers (gunicorn.conf.py, DEBUG off, max_requests "
        f"{options.max_requests}); wrk "
        f"{options.threads} threads, {options.connections} connections unless the case says "
        f"otherwise, {options.duration} s per case after {options.warmup} s of warm-up, "
        "on the same machine",
    ]


# --- Main ---------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=6, help="seconds per case (6)")
    parser.add_argument("--warmup", type=int, default=1, help="seconds of warm-up (1)")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (2)")
    parser.add_argument("--connections", type=int, default=8, help="wrk connections (8)")
    parser.add_argument(
        "--max-requests",
        type=int,
        default=0,
        help="gunicorn worker recycling, 0 = off (0; gunicorn.conf.py says 2000)",
    )
    parser.add_argument(
        "--sizes",
        default="10,1000,10000",
        help="SMTP user counts, comma-separated (10,1000,10000)",
    )
    parser.add_argument(
        "--show-queries", action="store_true", help="print the SQL of each counted request"
    )
    parser.add_argument(
        "--cases",
        type=lambda names: [name.strip() for name in names.split(",")],
        default=[],
        help='only these cases, comma-separated (and the bare view), e.g. "listSmtp,editSmtp"',
    )
    options = parser.parse_args()
    sizes = [int(size) for size in options.sizes.split(",")]
    wrk_path()

    started = time.monotonic()
    database_url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL)
    configure_environment(database_url)
    print(f"bench: creating {urlsplit(database_url).path.lstrip('/')} afresh", flush=True)
    recreate_database(database_url)
    setup_django()
    bench_owner = create_bench_owner()
    email_settings_missing = seed_email_settings(bench_owner)
    header = machine_description(options)

    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="portal-bench-") as work:
        work_dir = Path(work)
        server, base_url = start_gunicorn(work_dir / "gunicorn.log", options.max_requests)
        try:
            cpu_meter = CpuMeter(server.pid)
            for size in sizes:
                rows += run_block(
                    size,
                    bench_owner,
                    email_settings_missing,
                    base_url,
                    cpu_meter,
                    work_dir,
                    options,
                )
        finally:
            stop_gunicorn(server)
            log_tail = (work_dir / "gunicorn.log").read_text(errors="replace")
            errors = [line for line in log_tail.splitlines() if "Traceback" in line]
            if errors:
                print(f"bench: gunicorn logged {len(errors)} tracebacks", file=sys.stderr)

    report = "\n".join(
        [
            *header,
            "",
            table(rows),
            "",
            "Targets:",
            *verdicts(rows, sizes),
            "",
            f"Run time: {time.monotonic() - started:.0f} s",
        ]
    )
    print("\n" + report)
    REPORT_PATH.parent.mkdir(parents=True, exist_ok=True)
    REPORT_PATH.write_text(report + "\n")
    print(f"\n(also written to {REPORT_PATH.relative_to(ROOT)})")


def run_block(size, bench_owner, email_settings_missing, base_url, cpu_meter, work_dir, options):
    from django.utils import timezone

    print(f"bench: seeding {size:,} SMTP users", flush=True)
    names = seed_smtp_users(bench_owner.owner, size)
    seeded_at = timezone.now()
    all_cases = build_cases(bench_owner, names, email_settings_missing)
    unknown = set(options.cases) - {case.name for case in all_cases}
    if unknown:
        raise SystemExit(f"bench: unknown cases {', '.join(sorted(unknown))}")
    cases = [
        case
        for case in all_cases
        # The bare view always: the ratios are to it.
        if not options.cases or case.name in options.cases or case.kind == "bare"
    ]
    queries = count_queries(cases, work_dir, show=options.show_queries)
    # Back to exactly `size` users: the counted addSmtp calls created some.
    remove_smtp_users_added_since(bench_owner.owner, seeded_at)
    rows = []
    bare_rps = None
    for case in cases:
        problem = case.unavailable or probe(case, base_url)
        if problem:
            print(f"bench: {size:,} users, {case.name}: {problem}", flush=True)
            rows.append(Row(size, case, None, queries.get(case.name), bare_rps, problem))
            continue
        if options.warmup:
            run_wrk(case, base_url, work_dir, seconds=options.warmup, options=options)
        before = cpu_meter.snapshot()
        result = run_wrk(case, base_url, work_dir, seconds=options.duration, options=options)
        app_cpu, db_cpu = cpu_meter.used_since(before)
        if case.kind == "bare":
            bare_rps = result.requests_per_second
        note = ""
        if case.name == "addSmtp":
            # Let gunicorn finish the calls wrk left queued, then count what they created.
            time.sleep(DRAIN_SECONDS)
            note = f"table grew to {smtp_user_count(bench_owner.owner):,} users during the run"
        print(
            f"bench: {size:,} users, {case.name}: {result.requests_per_second:,.0f} req/s, "
            f"p50 {_ms(result.p50_ms)} ms, p99 {_ms(result.p99_ms)} ms",
            flush=True,
        )
        completed = max(result.requests, 1)
        rows.append(
            Row(
                size,
                case,
                result,
                queries.get(case.name),
                bare_rps,
                note,
                app_cpu_ms=1000 * app_cpu / completed,
                db_cpu_ms=1000 * db_cpu / completed,
            )
        )
    return rows


def count_queries(cases: list[Case], work_dir: Path, *, show: bool) -> dict:
    available = [
        {
            "name": case.name,
            "method": case.method,
            "path": case.path,
            "headers": case.headers,
            # The counted call differs from the warm-up one (another limit for the same SMTP
            # user, for editSmtp), so that it really writes.
            "warmup_body": case.bodies[0] if case.bodies else "",
            "body": case.bodies[len(case.bodies) // 2] if case.bodies else "",
        }
        for case in cases
        if not case.kind.startswith("bare") and not case.unavailable
    ]
    cases_path = work_dir / "cases.json"
    cases_path.write_text(json.dumps(available))
    completed = subprocess.run(  # noqa: S603
        [
            sys.executable,
            str(BENCH_DIR / "query_counts.py"),
            str(cases_path),
            *(["--show"] if show else []),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        raise SystemExit(f"bench/query_counts.py failed:\n{completed.stderr}")
    if show:
        print(completed.stderr, end="", flush=True)
    return json.loads(completed.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    main()
