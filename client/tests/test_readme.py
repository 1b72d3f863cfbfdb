"""client/README.md's examples run, and print what the README shows (email settings examples:
test_email_settings.py)."""

from readme_examples import examples_in_readme, is_email_settings_section

SEED_CONSTRUCTOR = "sarv_client = sarv.Client('owner_id', 'token', 'SarvTES_APP_DOMAIN')"


def test_it_runs_the_readme_examples_and_they_print_what_it_shows(readme_runner):
    examples = [
        example
        for example in examples_in_readme()
        if not is_email_settings_section(example.section)
    ]

    owners = readme_runner().run(examples)

    kinds = {(example.section, example.language) for example in examples}
    assert {
        ("Moving from the seeds' clients", "python"),
        ("SMTP users", "python"),
        ("Errors", "python"),
        ("Command-line tool", "console"),
    } <= kinds
    assert all(example.expected_output for example in examples if example.language == "python")
    # Seeds' example, Connecting, SMTP users, Errors, Retries, Command-line tool.
    assert [owner.smtp_users.count() for owner in owners] == [1, 0, 1, 0, 0, 1]


def test_it_shows_the_seeds_example_with_only_the_import_and_constructor_changed():
    [seed_example] = [
        example.code
        for example in examples_in_readme()
        if example.section == "Moving from the seeds' clients"
    ]

    assert seed_example.splitlines()[1:3] == [
        "    import smtprelay as sarv",
        f"    {SEED_CONSTRUCTOR}",
    ]
    assert "result = sarv_client.settings.addSmtpUser(total_limit=500, hourly_limit=200)" in (
        seed_example
    )
    assert "except sarv.Error as e:" in seed_example
