"""Fixtures for the client tests: clients of a live portal, stub HTTP servers, the CLI, and the
runner of client/README.md's examples."""

import socket
import sys

import pytest
import smtprelay
from cli_process import CliResult, cli_environment, run_command
from readme_examples import ReadmeRunner
from stub_http import StubServer

# --- Clients of the live portal -------------------------------------------------------------


@pytest.fixture
def portal_client(live_server):
    """`portal_client(owner_id, token, **options)`: a client of the live portal, closed after
    the test (the test server keeps a database connection per open HTTP connection)."""
    clients = []

    def make(owner_id, token, **options) -> smtprelay.Client:
        client = smtprelay.Client(owner_id, token, base_url=live_server.url, **options)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def alice_client(alice, portal_client):
    return portal_client(alice.owner_id, alice.token, backoff=0)


@pytest.fixture
def bob_client(bob, portal_client):
    return portal_client(bob.owner_id, bob.token, backoff=0)


# --- Stub HTTP servers ----------------------------------------------------------------------


@pytest.fixture
def stub_server():
    """`stub_server(Answer(...), ...)` starts a stub server with those answers."""
    servers = []

    def start(*answers):
        server = StubServer(answers)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()


@pytest.fixture
def closed_port_url():
    """The address of a local port nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


# --- The command-line tool ------------------------------------------------------------------


@pytest.fixture
def alice_environment(alice, live_server) -> dict:
    """What an operator of alice's would export for the CLI."""
    return {
        "SMTPRELAY_BASE_URL": live_server.url,
        "SMTPRELAY_OWNER_ID": alice.owner_id,
        "SMTPRELAY_TOKEN": alice.token,
    }


@pytest.fixture
def run_cli(alice_environment):
    """`run_cli("list", "--json")` runs `python -m smtprelay` as alice against the live portal;
    `environment=` replaces the SMTPRELAY_* variables (a None value leaves one out)."""

    def run(*arguments, environment=None, stdin=None) -> CliResult:
        variables = alice_environment if environment is None else environment
        return run_command(
            [sys.executable, "-m", "smtprelay", *arguments], cli_environment(**variables), stdin
        )

    return run


# --- client/README.md's examples ------------------------------------------------------------


@pytest.fixture
def readme_runner(live_server):
    """`readme_runner(substitutions)`: a ReadmeRunner with extra placeholder substitutions."""

    def make(substitutions: dict[str, str] | None = None) -> ReadmeRunner:
        return ReadmeRunner(live_server, substitutions or {})

    return make
