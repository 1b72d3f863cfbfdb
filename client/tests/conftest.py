"""Fixtures for the client tests: clients of a live portal, stub HTTP servers, the CLI, and the
runner of client/README.md's examples."""

import contextlib
import doctest
import io
import re
import shlex
import socket
import sys
from dataclasses import dataclass

import pytest
import smtprelay
from cli_process import CLIENT_DIR, CliResult, cli_environment, run_command
from stub_http import StubServer

from smtpusers.models import SmtpUser

README = CLIENT_DIR / "README.md"


# --- Clients of the live portal -------------------------------------------------------------


@pytest.fixture
def alice_client(alice, live_server):
    with smtprelay.Client(
        alice.owner_id, alice.token, base_url=live_server.url, backoff=0
    ) as client:
        yield client


@pytest.fixture
def bob_client(bob, live_server):
    with smtprelay.Client(bob.owner_id, bob.token, base_url=live_server.url, backoff=0) as client:
        yield client


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

FENCE = re.compile(r"^```(\w*)[^\n]*\n(.*?)^```\s*$", re.MULTILINE | re.DOTALL)
HEADING = re.compile(r"^## (.+)$", re.MULTILINE)
OUTPUT_CHECKER = doctest.OutputChecker()
# The README's placeholder for "the SMTP user the examples above created".
PLACEHOLDER_SMTP_USER = "smtp12345"


@dataclass
class Example:
    section: str
    language: str
    code: str
    expected_output: str | None = None


def readme_examples() -> list[Example]:
    """The ```python and ```console blocks of the README, each with the ```text block that
    follows it (if any) as its expected output."""
    text = README.read_text(encoding="utf-8")
    headings = [(match.start(), match.group(1).strip()) for match in HEADING.finditer(text)]
    examples: list[Example] = []
    for match in FENCE.finditer(text):
        language, code = match.group(1), match.group(2)
        section = next((title for start, title in reversed(headings) if start < match.start()), "")
        if language in ("python", "console"):
            examples.append(Example(section, language, code))
        elif language == "text" and examples and examples[-1].expected_output is None:
            examples[-1].expected_output = code
    return examples


def is_email_settings_section(title: str) -> bool:
    return "email settings" in title.lower()


def assert_output(example: Example, actual: str) -> None:
    expected = example.expected_output
    if expected is None:
        return
    assert OUTPUT_CHECKER.check_output(expected, actual, doctest.ELLIPSIS), (
        f"README example in '{example.section}' printed:\n{actual}\nexpected:\n{expected}\n"
        f"code:\n{example.code}"
    )


class ReadmeRunner:
    """Runs README examples against the live portal as alice.

    Python examples of one section share a namespace and run in order; their placeholders
    (the credentials, the local address, the seeds' app domain) become alice's and the live
    server's. Console examples run each `$ smtprelay ...` line with alice's environment.
    """

    def __init__(self, alice, live_server, substitutions: dict[str, str]):
        self.alice = alice
        # `substitutions` apply to both kinds of example; these to Python code only.
        self.python_substitutions = {
            "'owner_id'": repr(alice.owner_id),
            "'token'": repr(alice.token),
            "'http://127.0.0.1:8000'": repr(live_server.url),
            "'SarvTES_APP_DOMAIN'": f"base_url={live_server.url!r}",
            **substitutions,
        }
        self.substitutions = substitutions
        self.environment = cli_environment(
            SMTPRELAY_BASE_URL=live_server.url,
            SMTPRELAY_OWNER_ID=alice.owner_id,
            SMTPRELAY_TOKEN=alice.token,
        )

    def run(self, examples: list[Example]) -> None:
        namespaces: dict[str, dict] = {}
        for example in examples:
            if example.language == "python":
                self.run_python(example, namespaces.setdefault(example.section, {}))
            else:
                self.run_console(example)

    def run_python(self, example: Example, namespace: dict) -> None:
        code = example.code
        for placeholder, value in self.python_substitutions.items():
            code = code.replace(placeholder, value)
        output = io.StringIO()
        with contextlib.redirect_stdout(output):
            exec(compile(code, f"README.md ({example.section})", "exec"), namespace)
        assert_output(example, output.getvalue())

    def latest_smtp_user_name(self) -> str:
        smtp_user = SmtpUser.objects.filter(owner=self.alice.owner).order_by("-id").first()
        return smtp_user.smtp_user_name if smtp_user else PLACEHOLDER_SMTP_USER

    def run_console(self, example: Example) -> None:
        # "$ command" lines, each followed by the output it prints (stdout, then stderr).
        steps = re.split(r"^\$ ", example.code, flags=re.MULTILINE)[1:]
        assert steps, f"console example without a '$ ' line in '{example.section}'"
        for step in steps:
            command_line, _, expected = step.partition("\n")
            name = self.latest_smtp_user_name()
            for placeholder, value in {**self.substitutions, PLACEHOLDER_SMTP_USER: name}.items():
                command_line = command_line.replace(placeholder, value)
            arguments = shlex.split(command_line)
            assert arguments[0] == "smtprelay", command_line
            result = run_command(
                [sys.executable, "-m", "smtprelay", *arguments[1:]], self.environment
            )
            assert_output(
                Example(
                    example.section,
                    "console",
                    command_line,
                    expected.replace(PLACEHOLDER_SMTP_USER, name),
                ),
                result.stdout + result.stderr,
            )


@pytest.fixture
def readme_runner(alice, live_server):
    """`readme_runner(substitutions)`: a ReadmeRunner with extra placeholder substitutions."""

    def make(substitutions: dict[str, str] | None = None) -> ReadmeRunner:
        return ReadmeRunner(alice, live_server, substitutions or {})

    return make
