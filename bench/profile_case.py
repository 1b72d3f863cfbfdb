"""Profile one benchmark case in this process with pyinstrument (see bench/BENCH.md).

    .venv/bin/python bench/profile_case.py CASE [--users 10000] [--calls 20]

Recreates and seeds the portal_bench database as bench/run does, sends the case's request
--calls times through Django's test client (the same middleware, views and database as under
gunicorn, without the HTTP server), and prints the CPU time per call and pyinstrument's tree.
"""

import argparse
import dataclasses
import os
import time

import portal_bench as bench


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("case", help='a case name from the table, e.g. listSmtp or "editSmtp"')
    parser.add_argument("--users", type=int, default=10_000, help="SMTP users to seed (10000)")
    parser.add_argument("--calls", type=int, default=20, help="profiled calls (20)")
    options = parser.parse_args()

    database_url = os.environ.get("BENCH_DATABASE_URL", bench.DEFAULT_DATABASE_URL)
    bench.configure_environment(database_url)
    bench.recreate_database(database_url)
    bench.setup_django()
    bench_owner = bench.create_bench_owner()
    email_settings_missing = bench.seed_email_settings(bench_owner)
    names = bench.seed_smtp_users(bench_owner.owner, options.users)
    cases = {
        case.name: case for case in bench.build_cases(bench_owner, names, email_settings_missing)
    }
    case = cases.get(options.case)
    if case is None:
        raise SystemExit(f"unknown case {options.case!r}; cases: {', '.join(cases)}")
    if case.unavailable:
        raise SystemExit(f"{case.name}: {case.unavailable}")

    from django.test import Client
    from pyinstrument import Profiler
    from query_counts import send

    client = Client(HTTP_HOST="127.0.0.1")
    request = dataclasses.asdict(case)
    bodies = case.bodies or [""]
    send(client, request, bodies[0])
    profiler = Profiler(interval=0.0005)
    started = time.process_time()
    with profiler:
        for call in range(options.calls):
            response = send(client, request, bodies[(call + 1) % len(bodies)])
    cpu_ms = 1000 * (time.process_time() - started) / options.calls
    print(f"{case.name}, {options.users:,} SMTP users: answered {response.status_code}, ")
    print(f"{cpu_ms:.1f} ms CPU per call (profiler overhead included)\n")
    print(profiler.output_text(unicode=False, color=False))


if __name__ == "__main__":
    main()
