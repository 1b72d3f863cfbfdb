"""What one statement's round trip costs on this machine, at both ends: the floor under the
SMTP server's accept path (bench/RESULTS.md, "Accept path").

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/portal_bench \\
        .venv/bin/python bench/pg_roundtrip.py [--statements 2000]

For each case: this process's CPU (psycopg), the backend's CPU (/proc/<pid>/stat) and the wall
time per iteration, over a scratch table that is dropped at the end.
"""

import argparse
import os
import time
from pathlib import Path

import psycopg

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def backend_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--statements", type=int, default=2000, help="iterations per case")
    options = parser.parse_args()
    connection = psycopg.connect(os.environ["DATABASE_URL"], autocommit=True)
    connection.execute(
        "CREATE TABLE IF NOT EXISTS bench_roundtrip (id bigserial PRIMARY KEY, v text)"
    )
    pid = connection.info.backend_pid

    def insert():
        connection.execute("INSERT INTO bench_roundtrip (v) VALUES ('x')")

    def in_transaction(statements: int):
        def run():
            with connection.transaction():
                for _ in range(statements):
                    insert()

        return run

    cases = {
        "SELECT 1": lambda: connection.execute("SELECT 1").fetchone(),
        "INSERT, autocommit (one commit)": insert,
        "BEGIN, INSERT, COMMIT": in_transaction(1),
        "BEGIN, 5 INSERTs, COMMIT": in_transaction(5),
    }
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print("| case | client CPU µs | backend CPU µs | wall µs |\n|---|---:|---:|---:|")
    for name, case in cases.items():
        count = options.statements
        cpu, backend, wall = time.process_time(), backend_cpu(pid), time.perf_counter()
        for _ in range(count):
            case()
        print(
            f"| {name} | {(time.process_time() - cpu) / count * 1e6:.0f} "
            f"| {(backend_cpu(pid) - backend) / count * 1e6:.0f} "
            f"| {(time.perf_counter() - wall) / count * 1e6:.0f} |"
        )
    connection.execute("DROP TABLE bench_roundtrip")


if __name__ == "__main__":
    main()
