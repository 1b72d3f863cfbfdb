"""The `smtprelay` command (also `python -m smtprelay`): the client library for scripts.

Exit codes: 0 done; 1 the API refused (an API error: validation, authentication, not found,
general); 2 usage error (bad or missing options, credentials or address); 3 no valid answer
(network failure, timeout, or an answer that is not the API's).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from smtprelay._version import __version__
from smtprelay.client import DEFAULT_TIMEOUT_SECONDS, Client, smtp_settings
from smtprelay.errors import Error, NetworkError, ProtocolError

EXIT_OK = 0
EXIT_API_ERROR = 1
EXIT_USAGE = 2
EXIT_NO_ANSWER = 3
EXIT_INTERRUPTED = 130

PROG = "smtprelay"


class UsageError(Exception):
    """The command line (or environment) cannot make a valid call."""


Handler = Callable[[Client, argparse.Namespace], tuple[dict, str]]


# --- Output ---------------------------------------------------------------------------------


def table(headers: Sequence[str], rows: list[list[str]], *, right_aligned: set[int]) -> str:
    all_rows = [list(headers), *rows]
    widths = [max(len(row[column]) for row in all_rows) for column in range(len(headers))]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(
            cell.rjust(width) if column in right_aligned else cell.ljust(width)
            for column, (cell, width) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    return "\n".join([line(headers), *(line(row) for row in rows)])


def fields(pairs: Sequence[tuple[str, Any]]) -> str:
    width = max(len(label) for label, _ in pairs)
    return "\n".join(f"{label.ljust(width)}  {value}".rstrip() for label, value in pairs)


def yes_no(value: Any) -> str:
    return "yes" if value else "no"


def email_settings_text(record: dict) -> str:
    options = record.get("options") or {}
    auth = options.get("auth") or {}
    return fields(
        [
            ("domain", record.get("domain", "")),
            ("id", record.get("_id", "")),
            ("description", record.get("description", "")),
            ("from", record.get("from", "")),
            ("host", options.get("host", "")),
            ("port", options.get("port", "")),
            ("secure", yes_no(options.get("secure"))),
            ("reject unauthorized", yes_no((options.get("tls") or {}).get("rejectUnauthorized"))),
            ("auth user", auth.get("user") or "(none)"),
            # Kept off terminals and logs; the JSON output is for scripts that need it.
            ("auth pass", "(hidden; --json shows it)" if auth.get("pass") else "(none)"),
        ]
    )


# --- Commands -------------------------------------------------------------------------------


def list_smtp_users(client: Client, args: argparse.Namespace) -> tuple[dict, str]:
    result = client.settings.listSmtp()
    smtp_users = result.get("smtp_list") or []
    if not smtp_users:
        return result, "No SMTP users."
    headers = ["SMTP USER", "STATUS", "HOURLY LIMIT", "SENT THIS HOUR", "TOTAL LIMIT", "SENT"]
    keys = ["smtp_user_name", "status", "hourly_limit", "hourly_used", "total_limit", "total_used"]
    rows = [[str(smtp_user.get(key, "-")) for key in keys] for smtp_user in smtp_users]
    return result, table(headers, rows, right_aligned={2, 3, 4, 5})


def credentials_text(result: dict) -> str:
    return fields(
        [
            ("smtp_user_name", result.get("smtp_user_name", "")),
            ("smtp_password", result.get("smtp_password", "")),
        ]
    )


def add_smtp_user(client: Client, args: argparse.Namespace) -> tuple[dict, str]:
    result = client.settings.addSmtpUser(
        total_limit=args.total_limit, hourly_limit=args.hourly_limit
    )
    return result, credentials_text(result)


def edit_smtp_user(client: Client, args: argparse.Namespace) -> tuple[dict, str]:
    result = client.settings.editSmtp(
        args.name, total_limit=args.total_limit, hourly_limit=args.hourly_limit, status=args.status
    )
    return result, f"Updated SMTP user {args.name}."


def status_setter(status: str, done: str) -> Handler:
    def set_status(client: Client, args: argparse.Namespace) -> tuple[dict, str]:
        result = client.settings.editSmtp(args.name, status=status)
        return result, f"{done} SMTP user {args.name}."

    return set_status


def reset_smtp_password(client: Client, args: argparse.Namespace) -> tuple[dict, str]:
    result = client.settings.resetSmtpPassword(args.name)
    return result, credentials_text(result)


def get_email_settings(client: Client, args: argparse.Namespace) -> tuple[dict, str]:
    result = client.email_settings.get(args.domain)
    return result, email_settings_text(result)


# The `set` options that describe the record field by field (--json-file replaces them all).
RECORD_OPTIONS = {
    "from_address": "--from",
    "host": "--host",
    "port": "--port",
    "secure": "--secure",
    "reject_unauthorized": "--reject-unauthorized",
    "auth_user": "--auth-user",
    "auth_pass": "--auth-pass",
    "description": "--description",
}


def record_from(args: argparse.Namespace) -> dict:
    given = [option for name, option in RECORD_OPTIONS.items() if getattr(args, name) is not None]
    if args.json_file is not None:
        if given:
            raise UsageError(f"--json-file gives the whole record; leave out {', '.join(given)}")
        return read_json_object(args.json_file)
    required = ("from_address", "host", "port")
    missing = [RECORD_OPTIONS[name] for name in required if getattr(args, name) is None]
    if missing:
        raise UsageError(f"email-settings set needs {', '.join(missing)} (or --json-file)")
    try:
        return smtp_settings(
            from_address=args.from_address,
            host=args.host,
            port=args.port,
            secure=bool(args.secure),
            reject_unauthorized=args.reject_unauthorized is not False,
            auth_user=args.auth_user,
            auth_pass=args.auth_pass,
            description=args.description or "",
        )
    except ValueError as error:
        raise UsageError(str(error)) from None


def read_json_object(path: str) -> dict:
    try:
        if path == "-":
            text = sys.stdin.read()
        else:
            with open(path, encoding="utf-8") as file:
                text = file.read()
    except OSError as error:
        raise UsageError(f"cannot read {path}: {error.strerror or error}") from None
    try:
        record = json.loads(text)
    except ValueError as error:
        raise UsageError(f"{path} is not valid JSON: {error}") from None
    if not isinstance(record, dict):
        raise UsageError(f"{path} must hold a JSON object (the email settings record)")
    return record


def set_email_settings(client: Client, args: argparse.Namespace) -> tuple[dict, str]:
    result = client.email_settings.create(args.domain, record_from(args))
    return result, email_settings_text(result)


def delete_email_settings(client: Client, args: argparse.Namespace) -> tuple[dict, str]:
    result = client.email_settings.delete(args.domain)
    return result, str(result.get("Info") or result.get("info") or "Removed.")


def send_test_message(client: Client, args: argparse.Namespace) -> tuple[dict, str]:
    result = client.email_settings.send_test(args.domain, args.to)
    return result, f"Test message sent to {args.to} through the settings of {args.domain}."


# --- Parsing --------------------------------------------------------------------------------


def add_connection_options(parser: argparse.ArgumentParser, *, default: Any) -> None:
    """Accepted before or after the command; `default` is SUPPRESS on the commands' parsers
    so that an option given before the command is not reset by the command's parser."""
    group = parser.add_argument_group("connection and output")
    group.add_argument("--owner-id", default=default, help="owner id (or SMTPRELAY_OWNER_ID)")
    group.add_argument(
        "--token",
        default=default,
        help="API token (or SMTPRELAY_TOKEN, better: a command line is visible to others)",
    )
    group.add_argument(
        "--base-url",
        default=default,
        help="portal address, like http://127.0.0.1:8000 (or SMTPRELAY_BASE_URL)",
    )
    group.add_argument(
        "--app-domain",
        default=default,
        help="call https://api.APP_DOMAIN, like the seeds' clients (or SMTPRELAY_APP_DOMAIN)",
    )
    group.add_argument(
        "--timeout",
        type=float,
        default=default,
        help=f"seconds to wait for an answer (default {DEFAULT_TIMEOUT_SECONDS:g})",
    )
    group.add_argument(
        "--json", action="store_true", default=default, help="print the API's answer as JSON"
    )


def status_name(value: str) -> str:
    return value.strip().capitalize()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Manage SMTP users and email settings through the SMTP relay portal's API.",
        epilog="Exit codes: 0 done, 1 API error, 2 usage error, 3 network or protocol error.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    add_connection_options(parser, default=None)
    connection = argparse.ArgumentParser(add_help=False)
    add_connection_options(connection, default=argparse.SUPPRESS)

    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(group, name: str, handler: Handler, summary: str) -> argparse.ArgumentParser:
        subparser = group.add_parser(name, parents=[connection], help=summary, description=summary)
        subparser.set_defaults(handler=handler)
        return subparser

    command(commands, "list", list_smtp_users, "list the SMTP users")
    add = command(commands, "add", add_smtp_user, "create an SMTP user (prints its password)")
    add.add_argument("--total-limit", type=int, required=True, metavar="N")
    add.add_argument("--hourly-limit", type=int, required=True, metavar="N")
    edit = command(commands, "edit", edit_smtp_user, "change an SMTP user's limits or status")
    edit.add_argument("name", help="the SMTP user name, like smtp12345")
    edit.add_argument("--total-limit", type=int, metavar="N")
    edit.add_argument("--hourly-limit", type=int, metavar="N")
    edit.add_argument("--status", type=status_name, choices=["Enable", "Disable"])
    for name, status, done in (("disable", "Disable", "Disabled"), ("enable", "Enable", "Enabled")):
        toggle = command(commands, name, status_setter(status, done), f"{name} an SMTP user")
        toggle.add_argument("name", help="the SMTP user name")
    reset = command(
        commands, "reset", reset_smtp_password, "give an SMTP user a new password (prints it)"
    )
    reset.add_argument("name", help="the SMTP user name")

    email_settings = commands.add_parser(
        "email-settings", help="read, set, delete or test a domain's email settings"
    )
    email_commands = email_settings.add_subparsers(
        dest="email_command", required=True, metavar="ACTION"
    )
    get = command(email_commands, "get", get_email_settings, "show a domain's email settings")
    get.add_argument("domain")
    set_ = command(
        email_commands, "set", set_email_settings, "create or replace a domain's email settings"
    )
    set_.add_argument("domain")
    set_.add_argument("--from", dest="from_address", metavar="ADDRESS", help="sender address")
    set_.add_argument("--host", help="SMTP server host name or IP")
    set_.add_argument("--port", type=int, help="SMTP server port, 1-65535")
    set_.add_argument(
        "--secure",
        action=argparse.BooleanOptionalAction,
        help="TLS from the first byte, as on port 465 (default: no; STARTTLS when offered)",
    )
    set_.add_argument(
        "--reject-unauthorized",
        action=argparse.BooleanOptionalAction,
        help="refuse an untrusted TLS certificate (default: yes)",
    )
    set_.add_argument("--auth-user", metavar="USER", help="SMTP login (with --auth-pass)")
    set_.add_argument("--auth-pass", metavar="PASSWORD", help="SMTP password")
    set_.add_argument("--description")
    set_.add_argument(
        "--json-file",
        metavar="PATH",
        help="the whole record as JSON, instead of the options above ('-' reads stdin; keeps "
        "the password off the command line)",
    )
    delete = command(
        email_commands, "delete", delete_email_settings, "remove a domain's email settings"
    )
    delete.add_argument("domain")
    test = command(
        email_commands, "test", send_test_message, "send a test message through the settings"
    )
    test.add_argument("domain")
    test.add_argument("to", help="recipient address of the test message")
    return parser


def client_from(args: argparse.Namespace, environ: Mapping[str, str]) -> Client:
    """A client from the options, falling back to the SMTPRELAY_* environment variables."""
    owner_id = args.owner_id or environ.get("SMTPRELAY_OWNER_ID")
    token = args.token or environ.get("SMTPRELAY_TOKEN")
    if args.base_url or args.app_domain:
        base_url, app_domain = args.base_url, args.app_domain
    else:
        base_url = environ.get("SMTPRELAY_BASE_URL")
        app_domain = environ.get("SMTPRELAY_APP_DOMAIN")
    if not owner_id:
        raise UsageError("no owner id: give --owner-id or set SMTPRELAY_OWNER_ID")
    if not token:
        raise UsageError("no token: set SMTPRELAY_TOKEN or give --token")
    if not base_url and not app_domain:
        raise UsageError(
            "no portal address: give --base-url or --app-domain "
            "(or set SMTPRELAY_BASE_URL or SMTPRELAY_APP_DOMAIN)"
        )
    if base_url and app_domain:
        raise UsageError("give a base URL or an app domain, not both")
    try:
        return Client(
            owner_id,
            token,
            app_domain or None,
            base_url or None,
            timeout=args.timeout or DEFAULT_TIMEOUT_SECONDS,
        )
    except ValueError as error:
        raise UsageError(str(error)) from None


def fail(exit_code: int, message: str) -> int:
    print(f"{PROG}: {message}", file=sys.stderr)
    return exit_code


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        with client_from(args, os.environ if environ is None else environ) as client:
            result, text = args.handler(client, args)
    except UsageError as error:
        return fail(EXIT_USAGE, f"error: {error}")
    except (NetworkError, ProtocolError) as error:
        return fail(EXIT_NO_ANSWER, f"{error.name}: {error}")
    except Error as error:
        return fail(EXIT_API_ERROR, f"{error.name}: {error}")
    except KeyboardInterrupt:
        return fail(EXIT_INTERRUPTED, "interrupted")
    print(json.dumps(result, indent=2, ensure_ascii=False) if args.json else text)
    return EXIT_OK
