"""Running the `smtprelay` command as a subprocess, from this checkout's client/."""

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

CLIENT_DIR = Path(__file__).resolve().parent.parent


@dataclass
class CliResult:
    exit_code: int
    stdout: str
    stderr: str


def cli_environment(**variables) -> dict:
    """The current environment without any SMTPRELAY_* variable, plus `variables`; the CLI
    runs from this checkout's client/."""
    environment = {
        name: value for name, value in os.environ.items() if not name.startswith("SMTPRELAY_")
    }
    environment["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(CLIENT_DIR), os.environ.get("PYTHONPATH")])
    )
    environment.update({name: value for name, value in variables.items() if value is not None})
    return environment


def run_command(command: list[str], environment: dict, stdin: str | None = None) -> CliResult:
    completed = subprocess.run(
        command, env=environment, input=stdin, capture_output=True, text=True, timeout=60
    )
    return CliResult(completed.returncode, completed.stdout, completed.stderr)
