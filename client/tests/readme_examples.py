"""Running client/README.md's examples against a live portal and comparing their output."""

import contextlib
import doctest
import io
import re
import shlex
import sys
from dataclasses import dataclass

import smtprelay
from cli_process import CLIENT_DIR, cli_environment, run_command

from accounts.models import Owner
from accounts.services import create_owner
from smtpusers.models import SmtpUser

README = CLIENT_DIR / "README.md"

FENCE = re.compile(r"^```(\w*)[^\n]*\n(.*?)^```\s*$", re.MULTILINE | re.DOTALL)
HEADING = re.compile(r"^## (.+)$", re.MULTILINE)
OUTPUT_CHECKER = doctest.OutputChecker()
# The README's placeholder for "the SMTP user the examples above created".
PLACEHOLDER_SMTP_USER = "smtp12345678"


@dataclass
class Example:
    section: str
    language: str
    code: str
    expected_output: str | None = None


def examples_in_readme() -> list[Example]:
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
    """Runs README examples against the live portal, each section as a new owner.

    Python examples of one section share a namespace and run in order; their placeholders
    (the credentials, the local address, the seeds' app domain) become the owner's and the live
    server's. Console examples run each `$ smtprelay ...` line with the owner's environment.
    `substitutions` apply to the code and the expected output of both kinds.
    """

    def __init__(self, live_server, substitutions: dict[str, str]):
        self.live_server = live_server
        self.substitutions = substitutions

    def run(self, examples: list[Example]) -> list[Owner]:
        """Runs them; returns the owners that ran each section, in order."""
        owners = []
        for section in dict.fromkeys(example.section for example in examples):
            owner, token, _ = create_owner(name=f"README {section}")
            owners.append(owner)
            self.owner = owner
            self.python_substitutions = {
                "'owner_id'": repr(owner.owner_id),
                "'token'": repr(token),
                "'http://127.0.0.1:8000'": repr(self.live_server.url),
                "'SarvTES_APP_DOMAIN'": f"base_url={self.live_server.url!r}",
                **self.substitutions,
            }
            self.environment = cli_environment(
                SMTPRELAY_BASE_URL=self.live_server.url,
                SMTPRELAY_OWNER_ID=owner.owner_id,
                SMTPRELAY_TOKEN=token,
            )
            namespace: dict = {}
            for example in examples:
                if example.section != section:
                    continue
                if example.language == "python":
                    self.run_python(example, namespace)
                else:
                    self.run_console(example)
            # The test server keeps a database connection per open HTTP connection.
            for value in namespace.values():
                if isinstance(value, smtprelay.Client):
                    value.close()
        return owners

    def run_python(self, example: Example, namespace: dict) -> None:
        code = example.code
        for placeholder, value in self.python_substitutions.items():
            code = code.replace(placeholder, value)
        output = io.StringIO()
        with contextlib.redirect_stdout(output):
            exec(compile(code, f"README.md ({example.section})", "exec"), namespace)
        expected = example.expected_output and self.substitute(example.expected_output)
        assert_output(Example(example.section, "python", example.code, expected), output.getvalue())

    def latest_smtp_user_name(self) -> str:
        smtp_user = SmtpUser.objects.filter(owner=self.owner).order_by("-id").first()
        return smtp_user.smtp_user_name if smtp_user else PLACEHOLDER_SMTP_USER

    def run_console(self, example: Example) -> None:
        # "$ command" lines, each followed by the output it prints (stdout, then stderr).
        steps = re.split(r"^\$ ", example.code, flags=re.MULTILINE)[1:]
        assert steps, f"console example without a '$ ' line in '{example.section}'"
        for step in steps:
            command_line, _, expected = step.partition("\n")
            while command_line.endswith("\\"):
                continued, _, expected = expected.partition("\n")
                command_line = f"{command_line[:-1]} {continued.strip()}"
            # The placeholder names the latest SMTP user: before the command in the command,
            # after it in the output (so that `add` shows the user it created).
            command_line = self.substitute(command_line, self.latest_smtp_user_name())
            arguments = shlex.split(command_line)
            assert arguments[0] == "smtprelay", command_line
            result = run_command(
                [sys.executable, "-m", "smtprelay", *arguments[1:]], self.environment
            )
            expected = self.substitute(expected, self.latest_smtp_user_name())
            assert_output(
                Example(example.section, "console", command_line, expected),
                result.stdout + result.stderr,
            )

    def substitute(self, text: str, smtp_user_name: str | None = None) -> str:
        replacements = dict(self.substitutions)
        if smtp_user_name:
            replacements[PLACEHOLDER_SMTP_USER] = smtp_user_name
        for placeholder, value in replacements.items():
            text = text.replace(placeholder, value)
        return text
