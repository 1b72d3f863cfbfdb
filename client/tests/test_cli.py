"""The `smtprelay` command, run as a subprocess against a live portal."""

import json
import sys
from pathlib import Path

import smtprelay
from cli_process import cli_environment, run_command

from smtpusers.models import SmtpUser


def smtp_user_of(owner, smtp_user_name) -> SmtpUser:
    return SmtpUser.objects.get(owner=owner, smtp_user_name=smtp_user_name)


def add_smtp_user(run_cli, total_limit=500, hourly_limit=200) -> dict:
    result = run_cli(
        "add", "--total-limit", str(total_limit), "--hourly-limit", str(hourly_limit), "--json"
    )
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def test_it_says_so_when_there_are_no_smtp_users(run_cli):
    result = run_cli("list")

    assert (result.exit_code, result.stdout, result.stderr) == (0, "No SMTP users.\n", "")


def test_it_adds_an_smtp_user_and_prints_its_credentials(alice, run_cli):
    result = run_cli("add", "--total-limit", "500", "--hourly-limit", "200")

    assert (result.exit_code, result.stderr) == (0, "")
    lines = result.stdout.splitlines()
    assert [line.split()[0] for line in lines] == ["smtp_user_name", "smtp_password"]
    name, password = (line.split()[1] for line in lines)
    smtp_user = smtp_user_of(alice.owner, name)
    assert (smtp_user.total_limit, smtp_user.hourly_limit) == (500, 200)
    listed = json.loads(run_cli("list", "--json").stdout)["smtp_list"]
    assert listed[0]["smtp_password"] == password


def test_it_prints_the_apis_answer_with_json(run_cli):
    created = add_smtp_user(run_cli)

    assert set(created) == {"status", "message", "smtp_user_name", "smtp_password"}
    assert created["message"] == "SMTP User Created"


def test_it_lists_smtp_users_as_a_table_without_passwords(run_cli):
    first = add_smtp_user(run_cli, 500, 200)
    second = add_smtp_user(run_cli, 1000, 50)

    result = run_cli("list")

    assert result.exit_code == 0
    width = max(len("SMTP USER"), len(first["smtp_user_name"]), len(second["smtp_user_name"]))
    counts_first = "Enable           200               0          500     0"
    counts_second = "Enable            50               0         1000     0"
    assert result.stdout.splitlines() == [
        f"{'SMTP USER':{width}}  STATUS  HOURLY LIMIT  SENT THIS HOUR  TOTAL LIMIT  SENT",
        f"{first['smtp_user_name']:{width}}  {counts_first}",
        f"{second['smtp_user_name']:{width}}  {counts_second}",
    ]
    assert first["smtp_password"] not in result.stdout


def test_it_takes_the_common_options_before_or_after_the_command(run_cli):
    add_smtp_user(run_cli)

    before = run_cli("--json", "list")
    after = run_cli("list", "--json")

    assert before.stdout == after.stdout
    assert json.loads(before.stdout)["status"] == "success"


def test_it_edits_limits_and_status(alice, run_cli):
    name = add_smtp_user(run_cli)["smtp_user_name"]

    result = run_cli("edit", name, "--hourly-limit", "300", "--status", "disable")

    assert (result.exit_code, result.stdout) == (0, f"Updated SMTP user {name}.\n")
    smtp_user = smtp_user_of(alice.owner, name)
    assert (smtp_user.total_limit, smtp_user.hourly_limit, smtp_user.status) == (
        500,
        300,
        "Disable",
    )


def test_it_disables_and_enables(alice, run_cli):
    name = add_smtp_user(run_cli)["smtp_user_name"]

    disabled = run_cli("disable", name)
    status_after_disable = smtp_user_of(alice.owner, name).status
    enabled = run_cli("enable", name)

    assert disabled.stdout == f"Disabled SMTP user {name}.\n"
    assert enabled.stdout == f"Enabled SMTP user {name}.\n"
    assert (status_after_disable, smtp_user_of(alice.owner, name).status) == ("Disable", "Enable")


def test_it_resets_a_password_and_prints_the_new_one(run_cli):
    created = add_smtp_user(run_cli)

    result = run_cli("reset", created["smtp_user_name"])

    assert result.exit_code == 0
    new_password = result.stdout.splitlines()[1].split()[1]
    assert new_password != created["smtp_password"]
    listed = json.loads(run_cli("list", "--json").stdout)["smtp_list"]
    assert listed[0]["smtp_password"] == new_password


def test_it_exits_1_with_the_apis_message_for_an_unknown_smtp_user(run_cli):
    result = run_cli("reset", "smtp99999999")

    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr == (
        "smtprelay: ValidationError: SMTP user smtp99999999 not found (HTTP 404)\n"
    )


def test_it_exits_1_for_a_limit_the_api_refuses(alice, run_cli):
    result = run_cli("add", "--total-limit", "0", "--hourly-limit", "5")

    assert result.exit_code == 1
    assert result.stderr.startswith("smtprelay: ValidationError: total_limit must be a positive")
    assert not SmtpUser.objects.filter(owner=alice.owner).exists()


def test_it_exits_1_for_a_wrong_token_without_showing_it(alice_environment, run_cli):
    wrong_token = "wrong-" + alice_environment["SMTPRELAY_TOKEN"]

    result = run_cli("list", environment={**alice_environment, "SMTPRELAY_TOKEN": wrong_token})

    assert result.exit_code == 1
    assert result.stderr == "smtprelay: AuthenticationError: Token MissMatch (HTTP 401)\n"


def test_it_lets_options_override_the_environment(alice, alice_environment, run_cli):
    wrong = {**alice_environment, "SMTPRELAY_TOKEN": "wrong", "SMTPRELAY_APP_DOMAIN": "x.invalid"}
    base_url = alice_environment["SMTPRELAY_BASE_URL"]

    result = run_cli(
        "list", "--token", alice.token, "--base-url", base_url, "--json", environment=wrong
    )

    assert (result.exit_code, json.loads(result.stdout)) == (
        0,
        {"status": "success", "smtp_list": []},
    )


def test_it_exits_2_without_credentials(run_cli, live_server):
    no_owner = run_cli("list", environment={"SMTPRELAY_BASE_URL": live_server.url})
    no_token = run_cli(
        "list", "--owner-id", "x", environment={"SMTPRELAY_BASE_URL": live_server.url}
    )

    assert (no_owner.exit_code, no_owner.stderr) == (
        2,
        "smtprelay: error: no owner id: give --owner-id or set SMTPRELAY_OWNER_ID\n",
    )
    assert (no_token.exit_code, no_token.stderr) == (
        2,
        "smtprelay: error: no token: set SMTPRELAY_TOKEN or give --token\n",
    )


def test_it_exits_2_without_one_clear_address(alice_environment, run_cli):
    credentials = {**alice_environment, "SMTPRELAY_BASE_URL": None}

    none = run_cli("list", environment=credentials)
    both = run_cli("list", environment={**alice_environment, "SMTPRELAY_APP_DOMAIN": "x.test"})
    malformed = run_cli("list", "--base-url", "ftp://portal", environment=credentials)

    assert none.exit_code == both.exit_code == malformed.exit_code == 2
    assert none.stderr.startswith("smtprelay: error: no portal address: give --base-url")
    assert both.stderr == "smtprelay: error: give a base URL or an app domain, not both\n"
    assert malformed.stderr == (
        "smtprelay: error: base_url must be an http:// or https:// address, not 'ftp://portal'\n"
    )


def test_it_exits_2_for_malformed_arguments(run_cli):
    missing = run_cli("add", "--total-limit", "5")
    not_a_number = run_cli("add", "--total-limit", "five", "--hourly-limit", "1")
    bad_status = run_cli("edit", "smtp1", "--status", "paused")

    assert missing.exit_code == not_a_number.exit_code == bad_status.exit_code == 2
    assert "the following arguments are required: --hourly-limit" in missing.stderr
    assert "argument --total-limit: invalid int value: 'five'" in not_a_number.stderr
    assert "argument --status: invalid choice: 'Paused'" in bad_status.stderr


def test_it_exits_3_when_the_portal_cannot_be_reached(alice_environment, closed_port_url, run_cli):
    environment = {**alice_environment, "SMTPRELAY_BASE_URL": closed_port_url}

    result = run_cli("add", "--total-limit", "5", "--hourly-limit", "1", environment=environment)

    assert (result.exit_code, result.stdout) == (3, "")
    assert result.stderr == (
        f"smtprelay: NetworkError: POST {closed_port_url}/v1.0/settings/addSmtp failed: "
        "Connection refused\n"
    )


def test_it_exits_3_when_the_address_is_not_the_api(alice_environment, live_server, run_cli):
    environment = {**alice_environment, "SMTPRELAY_BASE_URL": f"{live_server.url}/nowhere"}

    result = run_cli("add", "--total-limit", "5", "--hourly-limit", "1", environment=environment)

    assert result.exit_code == 3
    assert result.stderr.startswith(
        f"smtprelay: ProtocolError: POST {live_server.url}/nowhere/v1.0/settings/addSmtp "
        "answered with text/html"
    )


def test_it_exits_2_for_email_settings_set_without_the_required_fields(run_cli):
    result = run_cli("email-settings", "set", "example.com", "--host", "smtp.example.com")

    assert (result.exit_code, result.stderr) == (
        2,
        "smtprelay: error: email-settings set needs --from, --port (or --json-file)\n",
    )


def test_it_exits_2_for_a_json_file_beside_field_options_or_not_json(run_cli, tmp_path):
    record_file = tmp_path / "record.json"
    record_file.write_text("{not json")

    beside = run_cli(
        "email-settings", "set", "example.com", "--json-file", str(record_file), "--port", "25"
    )
    not_json = run_cli("email-settings", "set", "example.com", "--json-file", str(record_file))
    missing = run_cli("email-settings", "set", "example.com", "--json-file", "/nonexistent.json")
    half_auth = run_cli(
        "email-settings", "set", "example.com", "--from", "a@example.com", "--host", "h",
        "--port", "25", "--auth-user", "a@example.com",
    )  # fmt: skip

    assert beside.exit_code == not_json.exit_code == missing.exit_code == half_auth.exit_code == 2
    assert beside.stderr == (
        "smtprelay: error: --json-file gives the whole record; leave out --port\n"
    )
    assert not_json.stderr.startswith(f"smtprelay: error: {record_file} is not valid JSON")
    assert missing.stderr == (
        "smtprelay: error: cannot read /nonexistent.json: No such file or directory\n"
    )
    assert half_auth.stderr == (
        "smtprelay: error: auth_user and auth_pass go together: give both or neither\n"
    )


def test_it_installs_the_smtprelay_console_script(alice_environment):
    script = Path(sys.executable).parent / "smtprelay"

    version = run_command([str(script), "--version"], cli_environment())
    listed = run_command([str(script), "list", "--json"], cli_environment(**alice_environment))

    assert version.stdout == f"smtprelay {smtprelay.__version__}\n"
    assert (listed.exit_code, json.loads(listed.stdout)["smtp_list"]) == (0, [])
