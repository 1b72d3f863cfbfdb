"""The relay path side by side with Postfix, in one run: accept, relay, deliver. See
bench/README.md ("Relay benchmark") and bench/RESULTS.md.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/portal_bench \\
        .venv/bin/python bench/relay_bench.py [--rounds 3] [--seconds 10] [--cases ...]

Cases (every one: 8 smtplib connections reusing their connection, STARTTLS where offered,
~2 KB messages, N rounds of T seconds; loopback only):

- sink: a bare aiosmtpd server (STARTTLS, no auth, no database) answering 250.
- postfix-accept: Postfix from Debian (installed with apt-get if missing), durable queue, then
  the discard transport. postfix-relay: the same, relaying to the counting sink (arrived).
- portal-accept: `manage.py runsmtp --no-deliver` (AUTH, limits, durable queue).
- portal-relay: `manage.py runsmtp --workers W`, counted when the messages arrived at the sink.
- deliver: `manage.py deliver --workers W` alone, draining a prefilled queue to the sink.
- fairness: owner A's backlog queued first, then one message of owner B: how long B waits.

The relay sink speaks plain SMTP and counts what arrives. Server CPU per message is read from
/proc/<pid>/stat (utime+stime; for Postfix the master with its reaped children plus the live
ones), PostgreSQL's from the backends connected to this database. The load average is printed
before each round: the machine is shared, so every number carries it.
"""

# The benchmark runs fixed local programs (Postfix, openssl, pgrep, manage.py) on loopback.
# ruff: noqa: S603, S607

import argparse
import collections
import contextlib
import multiprocessing
import os
import shutil
import signal
import smtplib
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
BODY = ("Benchmark line of a typical small message, seventy characters long....\r\n" * 28).encode()
CASES = ["sink", "postfix-accept", "postfix-relay", "portal-accept", "portal-relay", "deliver"]
# The scale-out case's race: this many senders at once for the last units of this limit.
RACE_SENDERS = 50
RACE_LIMIT = 37
POSTFIX_CONFIG = Path("/etc/postfix")


# ---------------------------------------------------------------------------------------------
# Measuring


def process_cpu(pid: int, *, with_children: bool = False) -> float:
    """CPU seconds (user + system) of a live process, and of its reaped children if asked."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return 0.0
    # After the ")": state is field 3, utime 14, stime 15, cutime 16, cstime 17 (1-based).
    ticks = int(fields[11]) + int(fields[12])
    if with_children:
        ticks += int(fields[13]) + int(fields[14])
    return ticks / CLOCK_TICKS


def children_of(pid: int) -> list[int]:
    try:
        output = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    except OSError:
        return []
    return [int(line) for line in output.split()]


class CpuMeter:
    """CPU seconds spent by the server processes and by this database's PostgreSQL backends
    between two samples."""

    def __init__(self, database_url: str | None, server_pids, *, process_tree: bool = False):
        self.database_url = database_url
        self.server_pids = server_pids  # a callable: the pids at sampling time
        self.process_tree = process_tree

    def _server(self) -> dict[int, float]:
        sample = {}
        for pid in self.server_pids():
            sample[pid] = process_cpu(pid, with_children=self.process_tree)
            if self.process_tree:
                for child in children_of(pid):
                    sample[child] = process_cpu(child)
        return sample

    def _database(self) -> dict[int, float]:
        if not self.database_url:
            return {}
        import psycopg

        with psycopg.connect(self.database_url, autocommit=True) as connection:
            pids = connection.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid()"
            ).fetchall()
        return {pid: process_cpu(pid) for (pid,) in pids}

    def sample(self) -> tuple[dict[int, float], dict[int, float]]:
        return self._server(), self._database()

    @staticmethod
    def spent(before: dict[int, float], after: dict[int, float]) -> float:
        # A process that ended in between is lost (a backend) or counted by its parent.
        return sum(max(0.0, cpu - before.get(pid, 0.0)) for pid, cpu in after.items())


def load_average() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


# ---------------------------------------------------------------------------------------------
# The counting sink (its own process)


def run_sink(port: int, cert_files: tuple[str, str] | None, counter, ready) -> None:
    import asyncio

    from aiosmtpd.controller import Controller

    class Counting:
        async def handle_DATA(self, server, session, envelope):
            with counter.get_lock():
                counter.value += 1
            return "250 2.0.0 OK"

    context = None
    if cert_files:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(*cert_files)
    controller = Controller(
        Counting(),
        hostname=HOST,
        port=port,
        server_hostname="sink.bench.test",
        tls_context=context,
        data_size_limit=None,
    )
    controller.start()
    ready.set()
    signal.sigwait({signal.SIGTERM, signal.SIGINT})
    controller.stop()
    asyncio.set_event_loop(None)


class Sink:
    def __init__(self, port: int, cert_files=None):
        self.port = port
        self.counter = multiprocessing.Value("q", 0)
        ready = multiprocessing.Event()
        self.process = multiprocessing.Process(
            target=run_sink, args=(port, cert_files, self.counter, ready), daemon=True
        )
        self.process.start()
        if not ready.wait(20):
            raise RuntimeError("the sink did not start")

    @property
    def count(self) -> int:
        return self.counter.value

    def stop(self) -> None:
        self.process.terminate()
        self.process.join(10)


# ---------------------------------------------------------------------------------------------
# The clients (their own process: they must not share a GIL with an in-process server)


def client_tls() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def open_session(port: int, context: ssl.SSLContext, login: str, password: str) -> smtplib.SMTP:
    """A client connection: EHLO, STARTTLS if offered, AUTH if a login is given."""
    session = smtplib.SMTP(HOST, port, timeout=60)
    session.ehlo("bench.test")
    if session.has_extn("starttls"):
        session.starttls(context=context)
        session.ehlo("bench.test")
    if login:
        session.login(login, password)
    return session


def run_clients(ports: list[int], credentials, connections: int, seconds: float, mail_from: str):
    """`connections` threads, each one connection (to the ports in turn; STARTTLS if offered,
    AUTH if credentials), sending messages for `seconds`. Returns (messages accepted, elapsed
    seconds)."""
    context = client_tls()
    start = threading.Barrier(connections + 1)
    sent = [0] * connections
    failures = []
    deadline = [0.0]

    def client(number):
        login, password = credentials[number % len(credentials)] if credentials else ("", "")
        try:
            with open_session(ports[number % len(ports)], context, login, password) as session:
                start.wait()
                sequence = 0
                while time.perf_counter() < deadline[0]:
                    headers = (
                        f"From: {mail_from}\r\nTo: sink@destination.test\r\n"
                        f"Subject: bench {number}-{sequence}\r\n\r\n"
                    ).encode()
                    session.sendmail(mail_from, ["sink@destination.test"], headers + BODY)
                    sent[number] += 1
                    sequence += 1
        except Exception as error:  # reported to the caller
            failures.append(repr(error))
            start.abort()

    workers = [threading.Thread(target=client, args=(n,)) for n in range(connections)]
    deadline[0] = time.perf_counter() + 3600
    for worker in workers:
        worker.start()
    with contextlib.suppress(threading.BrokenBarrierError):
        start.wait(60)
    began = time.perf_counter()
    deadline[0] = began + seconds
    for worker in workers:
        worker.join()
    elapsed = time.perf_counter() - began
    if failures:
        raise RuntimeError(f"{len(failures)} client(s) failed: {failures[0]}")
    return sum(sent), elapsed


def run_race(ports: list[int], login: str, password: str, senders: int, mail_from: str):
    """`senders` connections (to the ports in turn), all logged in as one SMTP user, each with
    one message: MAIL and RCPT first, then DATA all at once. Returns each one's DATA reply
    (code, text)."""
    context = client_tls()
    ready = threading.Barrier(senders, timeout=120)
    replies = []
    lock = threading.Lock()

    def sender(number):
        try:
            with open_session(ports[number % len(ports)], context, login, password) as session:
                session.mail(mail_from)
                session.rcpt("sink@destination.test")
                ready.wait()
                headers = f"From: {mail_from}\r\nSubject: race {number}\r\n\r\n".encode()
                code, text = session.data(headers + BODY)
        except Exception as error:  # counted as a wrong answer by the caller
            ready.abort()
            code, text = 0, repr(error).encode()
        with lock:
            replies.append((code, text.decode()))

    threads = [threading.Thread(target=sender, args=(n,)) for n in range(senders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return replies


def wait_for_arrivals(sink: Sink, expected: int, *, began: float, patience: float = 30.0):
    """Wait until `expected` messages arrived at the sink (or nothing arrives for `patience`
    seconds); (arrived, seconds from `began` to the last arrival)."""
    last_count, last_change = sink.count, time.perf_counter()
    while sink.count < expected and time.perf_counter() - last_change < patience:
        time.sleep(0.02)
        if sink.count != last_count:
            last_count, last_change = sink.count, time.perf_counter()
    return sink.count, last_change - began


# ---------------------------------------------------------------------------------------------
# Postfix


class Postfix:
    """The Debian Postfix instance, configured for loopback only on its own port, started and
    stopped by the benchmark; its configuration is restored afterwards."""

    def __init__(self, port: int, sink_port: int, cert_files: tuple[str, str], workdir: Path):
        self.port = port
        self.sink_port = sink_port
        self.cert_files = cert_files
        self.backup = workdir / "postfix-config"

    @staticmethod
    def install() -> None:
        if shutil.which("postfix"):
            return
        environment = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        subprocess.run(["apt-get", "install", "-y", "postfix"], check=True, env=environment)

    def configure(self, *, relay: bool) -> None:
        if not self.backup.exists():
            shutil.copytree(POSTFIX_CONFIG, self.backup)
        transport = "relay" if relay else "discard:bench"
        settings = {
            "inet_interfaces": "loopback-only",
            "inet_protocols": "ipv4",
            "myhostname": "postfix.bench.test",
            "mydestination": "",
            "mynetworks": "127.0.0.0/8",
            "relayhost": f"[{HOST}]:{self.sink_port}",
            "default_transport": "smtp" if relay else "discard:bench",
            "relay_transport": transport,
            "smtpd_tls_cert_file": self.cert_files[0],
            "smtpd_tls_key_file": self.cert_files[1],
            "smtpd_tls_security_level": "may",
            "smtp_tls_security_level": "none",
            "smtpd_peername_lookup": "no",
            "in_flow_delay": "0",
        }
        subprocess.run(
            ["postconf", "-e", *(f"{name}={value}" for name, value in settings.items())], check=True
        )
        # Our port instead of 25, and no chroot (nothing is copied into the queue directory).
        subprocess.run(["postconf", "-M#", "smtp/inet"], check=True)
        subprocess.run(
            ["postconf", "-M", f"{self.port}/inet={self.port} inet n - n - - smtpd"], check=True
        )
        subprocess.run(["postconf", "-F", "*/*/chroot = n"], check=True)

    def start(self, *, relay: bool) -> None:
        self.configure(relay=relay)
        subprocess.run(["postfix", "start"], check=True, capture_output=True)
        for _ in range(100):
            if self.master_pid():
                break
            time.sleep(0.1)

    def master_pid(self) -> int | None:
        pid_file = Path(
            subprocess.check_output(["postconf", "-h", "queue_directory"], text=True).strip()
        )
        try:
            return int((pid_file / "pid" / "master.pid").read_text().split()[0])
        except (FileNotFoundError, ValueError, IndexError):
            return None

    def queue_empty(self) -> bool:
        output = subprocess.run(["postqueue", "-j"], capture_output=True, text=True).stdout
        return not output.strip()

    def stop(self) -> None:
        subprocess.run(["postfix", "stop"], capture_output=True)
        for _ in range(100):
            if not self.master_pid():
                break
            time.sleep(0.1)

    def restore(self) -> None:
        if self.backup.exists():
            for name in ("main.cf", "master.cf"):
                shutil.copy2(self.backup / name, POSTFIX_CONFIG / name)


# ---------------------------------------------------------------------------------------------
# The portal


def setup_django():
    """Django as in production (DEBUG off: no query log), with throwaway secrets that the
    portal processes started by the benchmark inherit."""
    import secrets

    from cryptography.fernet import Fernet

    os.environ["DEBUG"] = "false"
    # As in production: mail only from verified domains, checked at MAIL and in the header
    # From, and signed with DKIM on its way out (the benchmark's domains are marked verified,
    # with an active key: relay_fixtures).
    os.environ["DOMAIN_VERIFICATION"] = "True"
    os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(40))
    os.environ.setdefault("FIELD_ENCRYPTION_KEY", Fernet.generate_key().decode())
    sys.path.insert(0, str(ROOT))
    # The SMTP benchmark's set-up: the database created if missing, then migrated.
    from bench.smtp_bench import setup_django as setup_migrated_django

    setup_migrated_django()


def manage(arguments: list[str], environment: dict, *, stdout=subprocess.DEVNULL):
    return subprocess.Popen(
        [sys.executable, str(ROOT / "manage.py"), *arguments],
        env=environment,
        stdout=stdout,
        stderr=None,
        cwd=ROOT,
    )


def wait_for_port(port: int, timeout: float = 30) -> None:
    import socket

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((HOST, port), 1):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on {port}")


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def stop_process(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


# ---------------------------------------------------------------------------------------------
# The run


class Bench:
    def __init__(self, options):
        self.options = options
        self.rows = []
        self.fairness = []
        self.race_result = None
        self.database_url = os.environ["DATABASE_URL"]

    def round_header(self, label: str, number: int) -> str:
        loadavg = load_average()
        print(f"  {label} round {number + 1}: load average {loadavg}", flush=True)
        return loadavg

    @staticmethod
    def in_client_process(function, *arguments):
        with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
            return pool.submit(function, *arguments).result()

    def clients(self, ports, credentials, mail_from="bench@bench.example"):
        return self.in_client_process(
            run_clients,
            ports,
            credentials,
            self.options.connections,
            self.options.seconds,
            mail_from,
        )

    def record(self, label, results):
        """results: (msg/s, server CPU ms/msg, database CPU ms/msg, load average) per round."""
        self.rows.append((label, results))
        rates = [rate for rate, *_ in results]
        print(
            f"  => {label}: {min(rates):.0f} / {statistics.median(rates):.0f} / "
            f"{max(rates):.0f} msg/s",
            flush=True,
        )

    def measure_accept(self, label, ports, meter, credentials=None, *, arrivals=None, drained=None):
        """Rounds of clients against `ports` (spread over them); counted as accepted, or as
        arrived at the sink (`arrivals`). `drained`: a callable true when the server has
        finished its queue."""
        results = []
        for number in range(self.options.rounds):
            loadavg = self.round_header(label, number)
            before = meter.sample()
            arrived_before = arrivals.count if arrivals else 0
            began = time.perf_counter()
            accepted, elapsed = self.clients(ports, credentials)
            if arrivals:
                count, elapsed = wait_for_arrivals(arrivals, arrived_before + accepted, began=began)
                accepted = count - arrived_before
            elif drained:
                deadline = time.monotonic() + 60
                while not drained() and time.monotonic() < deadline:
                    time.sleep(0.05)
            after = meter.sample()
            server = CpuMeter.spent(before[0], after[0])
            database = CpuMeter.spent(before[1], after[1])
            results.append(
                (
                    accepted / elapsed,
                    server / accepted * 1000,
                    database / accepted * 1000,
                    loadavg,
                )
            )
        self.record(label, results)

    def run(self):
        options = self.options
        workdir = Path(tempfile.mkdtemp(prefix="relay-bench-"))
        cert = workdir / "cert.pem", workdir / "key.pem"
        subprocess.run(
            [
                "openssl",
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "2",
                "-subj",
                "/CN=localhost",
                "-keyout",
                str(cert[1]),
                "-out",
                str(cert[0]),
            ],
            check=True,
            capture_output=True,
        )
        # Postfix's smtpd reads the certificate as root, but the directory must be reachable.
        os.chmod(workdir, 0o755)  # noqa: S103
        cert_files = (str(cert[0]), str(cert[1]))
        relay_sink = Sink(free_port())
        environment = dict(
            os.environ,
            SMTP_TLS_CERT_FILE=cert_files[0],
            SMTP_TLS_KEY_FILE=cert_files[1],
            LOG_LEVEL="WARNING",
            RELAY_ALLOW_PRIVATE_NETWORKS="true",
            MAILQUEUE_POLL_SECONDS="0.5",
        )
        from bench.relay_fixtures import BenchOwner

        owner = BenchOwner.create(relay_sink.port, options.connections)
        try:
            if "sink" in options.cases:
                sink = Sink(free_port(), cert_files)
                meter = CpuMeter(None, lambda: [sink.process.pid])
                self.measure_accept("bare aiosmtpd sink (STARTTLS)", [sink.port], meter)
                sink.stop()
            if {"postfix-accept", "postfix-relay"} & set(options.cases):
                self.run_postfix(relay_sink, cert_files, workdir)
            if "portal-accept" in options.cases:
                self.run_portal("portal runsmtp --no-deliver", ["--no-deliver"], owner, environment)
            if "portal-relay" in options.cases:
                self.run_portal(
                    f"portal runsmtp, {options.workers} delivery threads (arrived)",
                    ["--workers", str(options.workers)],
                    owner,
                    environment,
                    arrivals=relay_sink,
                )
            if "deliver" in options.cases:
                self.run_deliver(relay_sink, owner, environment)
            if "scale-out" in options.cases:
                self.run_scale_out(relay_sink, owner, environment)
            if "fairness" in options.cases:
                self.run_fairness(relay_sink, owner, environment)
        finally:
            owner.delete()
            relay_sink.stop()
            shutil.rmtree(workdir, ignore_errors=True)
        self.print_table()

    def deliver_process(self, environment) -> subprocess.Popen:
        """`manage.py deliver`, once its workers run (it printed its banner, its only output),
        so that no round counts its start-up."""
        process = manage(
            ["deliver", "--workers", str(self.options.workers)], environment, stdout=subprocess.PIPE
        )
        if not process.stdout.readline():
            raise RuntimeError("manage.py deliver did not start")
        return process

    @contextlib.contextmanager
    def portal(self, runsmtp_options, environment, *, servers=1, delivers=0):
        """`servers` `manage.py runsmtp` processes with these options and `delivers`
        `manage.py deliver` processes, all on this database; yields the SMTP ports and a CPU
        meter over every process, and stops them afterwards."""
        ports = [free_port() for _ in range(servers)]
        listen = ["--host", HOST, "--tls-port", "0", "--port"]
        processes = [
            manage(["runsmtp", *runsmtp_options, *listen, str(port)], environment) for port in ports
        ]
        processes += [self.deliver_process(environment) for _ in range(delivers)]
        try:
            for port in ports:
                wait_for_port(port)
            yield ports, CpuMeter(self.database_url, lambda: [p.pid for p in processes])
        finally:
            for process in processes:
                stop_process(process)

    def run_portal(self, label, runsmtp_options, owner, environment, **measure):
        """`manage.py runsmtp` with these options, measured like every server; its queue is
        emptied afterwards."""
        with self.portal(runsmtp_options, environment) as (ports, meter):
            self.measure_accept(label, ports, meter, owner.credentials, **measure)
        owner.clear_queue()

    def run_scale_out(self, relay_sink, owner, environment):
        """Accept and relay with one `runsmtp --no-deliver` and one `deliver` process, then
        with two of each on the same database (the clients spread over both SMTP ports); then
        the race for the last units of one SMTP user's limit over the two `runsmtp`."""
        workers = self.options.workers
        for count in (1, 2):
            label = (
                f"portal scale-out: {count} runsmtp --no-deliver + {count} deliver "
                f"--workers {workers} (arrived)"
            )
            with self.portal(["--no-deliver"], environment, servers=count, delivers=count) as (
                ports,
                meter,
            ):
                self.measure_accept(label, ports, meter, owner.credentials, arrivals=relay_sink)
                if count == 2:
                    self.race(ports, owner)
            owner.clear_queue()

    def race(self, ports, owner):
        """RACE_SENDERS senders at once against one SMTP user with a total limit of
        RACE_LIMIT, spread over `ports`: exactly RACE_LIMIT accepted, the rest refused with
        the total-limit reply (554 5.7.1), and the user's counters exactly RACE_LIMIT."""
        login, password = owner.add_smtp_user(total_limit=RACE_LIMIT)
        print(
            f"  race: {RACE_SENDERS} senders over {len(ports)} runsmtp, one SMTP user with a "
            f"total limit of {RACE_LIMIT}: load average {load_average()}",
            flush=True,
        )
        replies = self.in_client_process(
            run_race, ports, login, password, RACE_SENDERS, f"bench@{owner.relay_setting.domain}"
        )
        codes = collections.Counter(code for code, _ in replies)
        refusals = collections.Counter(text for code, text in replies if code != 250)
        counters = owner.usage_of(login)
        exact = (
            codes == {250: RACE_LIMIT, 554: RACE_SENDERS - RACE_LIMIT}
            and all(text.startswith("5.7.1 ") for text in refusals)
            and set(counters.values()) == {RACE_LIMIT}
        )
        self.race_result = (exact, dict(codes), dict(refusals), counters)
        print(
            f"  => race {'exact' if exact else 'NOT EXACT'}: replies {dict(codes)}, "
            f"refusals {dict(refusals)}, counters {counters}",
            flush=True,
        )

    def run_postfix(self, relay_sink, cert_files, workdir):
        Postfix.install()
        postfix = Postfix(free_port(), relay_sink.port, cert_files, workdir)
        try:
            for relay in (False, True):
                case = "postfix-relay" if relay else "postfix-accept"
                if case not in self.options.cases:
                    continue
                postfix.start(relay=relay)
                try:
                    wait_for_port(postfix.port)
                    master = [postfix.master_pid()]
                    meter = CpuMeter(None, lambda master=master: master, process_tree=True)
                    if relay:
                        self.measure_accept(
                            "Postfix accept and relay to the sink (arrived)",
                            [postfix.port],
                            meter,
                            arrivals=relay_sink,
                        )
                    else:
                        self.measure_accept(
                            "Postfix accept (durable queue, then discard)",
                            [postfix.port],
                            meter,
                            drained=postfix.queue_empty,
                        )
                finally:
                    postfix.stop()
        finally:
            postfix.restore()

    def run_deliver(self, relay_sink, owner, environment):
        """`deliver` alone: each round prefills the queue, then counts arrivals for T seconds
        (or until the queue is drained)."""
        label = f"portal deliver alone, {self.options.workers} threads"
        worker = self.deliver_process(environment)
        meter = CpuMeter(self.database_url, lambda: [worker.pid])
        prefill = int(200 * self.options.seconds)
        results = []
        try:
            for number in range(self.options.rounds):
                owner.queue_messages(prefill)
                time.sleep(0.5)  # let it start at full speed: the prefill is not the measure
                loadavg = self.round_header(label, number)
                before = meter.sample()
                count_before = relay_sink.count
                began = time.perf_counter()
                while time.perf_counter() - began < self.options.seconds and owner.pending():
                    time.sleep(0.05)
                elapsed = time.perf_counter() - began
                delivered = relay_sink.count - count_before
                after = meter.sample()
                results.append(
                    (
                        delivered / elapsed,
                        CpuMeter.spent(before[0], after[0]) / delivered * 1000,
                        CpuMeter.spent(before[1], after[1]) / delivered * 1000,
                        loadavg,
                    )
                )
                owner.clear_queue()
                prefill = max(prefill, int(2 * delivered / elapsed * self.options.seconds))
        finally:
            stop_process(worker)
            owner.clear_queue()
        self.record(label, results)

    def run_fairness(self, relay_sink, owner, environment):
        from bench.relay_fixtures import BenchOwner

        other = BenchOwner.create(relay_sink.port, 1, domain="other.example")
        worker = self.deliver_process(environment)
        try:
            for number in range(self.options.rounds):
                owner.queue_messages(self.options.backlog)
                time.sleep(0.2)
                loadavg = self.round_header("fairness", number)
                waited = other.time_to_delivery()
                print(
                    f"  => owner B's message delivered {waited:.2f} s after it was queued, "
                    f"behind owner A's backlog of {self.options.backlog} (load {loadavg})",
                    flush=True,
                )
                self.fairness.append((waited, loadavg))
                owner.clear_queue()
        finally:
            stop_process(worker)
            other.delete()

    def print_table(self):
        print()
        print(
            f"{self.options.connections} connections, {len(BODY) / 1024:.1f} KB bodies, "
            f"{self.options.rounds} rounds x {self.options.seconds:g} s"
        )
        print(
            "| | msg/s min / median / max | server CPU ms/msg | PostgreSQL CPU ms/msg "
            "| load average before each round |"
        )
        print("|---|---:|---:|---:|---|")
        for label, results in self.rows:
            rates = [r[0] for r in results]
            print(
                f"| {label} | {min(rates):,.0f} / {statistics.median(rates):,.0f} / "
                f"{max(rates):,.0f} | {statistics.median(r[1] for r in results):.2f} | "
                f"{statistics.median(r[2] for r in results):.2f} | "
                f"{'; '.join(r[3] for r in results)} |"
            )
        for waited, loadavg in self.fairness:
            print(f"fairness: owner B waited {waited:.2f} s (load {loadavg})")
        if self.race_result:
            exact, codes, refusals, counters = self.race_result
            print(
                f"race of {RACE_SENDERS} senders for a total limit of {RACE_LIMIT} over two "
                f"runsmtp: {'exact' if exact else 'NOT EXACT'}; replies {codes}; refusals "
                f"{refusals}; counters {counters}"
            )


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=10, help="per round")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--workers", type=int, default=4, help="delivery threads")
    parser.add_argument("--backlog", type=int, default=2000, help="fairness: owner A's backlog")
    parser.add_argument(
        "--cases", nargs="+", default=CASES, choices=[*CASES, "fairness", "scale-out"]
    )
    options = parser.parse_args()
    setup_django()
    Bench(options).run()


if __name__ == "__main__":
    main()
