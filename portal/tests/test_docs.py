"""The README and docs/ stand on their own in a clone, and call the dashboard's controls what the
pages call them."""

import re
from pathlib import Path

import pytest
from django.urls import reverse

from testing.email_settings import create_setting
from testing.http import page_text

PROJECT_DIR = Path(__file__).resolve().parents[2]
DOCUMENTS = [PROJECT_DIR / "README.md", *sorted((PROJECT_DIR / "docs").glob("*.md"))]
MARKDOWN_LINK = re.compile(r"\]\(([^)\s]+)\)")
CODE_SPAN = re.compile(r"`([^`\n]+)`")


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda path: path.name)
def test_it_links_only_to_files_inside_the_repository(document):
    text = document.read_text()
    targets = [
        target.split("#", 1)[0]
        for target in MARKDOWN_LINK.findall(text)
        if not re.match(r"[a-z]+:|#", target)
    ]
    resolved = [(document.parent / target).resolve() for target in targets if target]

    missing = [
        str(path) for path in resolved if not path.exists() or not path.is_relative_to(PROJECT_DIR)
    ]
    outside = [span for span in CODE_SPAN.findall(text) if span.startswith("../shared")]
    assert (missing, outside) == ([], [])


def test_it_links_the_api_contract_from_the_readme():
    readme = (PROJECT_DIR / "README.md").read_text()

    assert "](docs/api.md)" in readme
    assert "## 1. SMTP users API" in (PROJECT_DIR / "docs" / "api.md").read_text()


def step_by_step_labels() -> list[str]:
    """The dashboard controls the README's step-by-step guide names (in bold)."""
    readme = (PROJECT_DIR / "README.md").read_text()
    guide = readme.split("### Sending mail through the portal, step by step", 1)[1]
    guide = guide.split("\n## ", 1)[0].split("\n### ", 1)[0]
    return [
        label.strip() for bold in re.findall(r"\*\*(.+?)\*\*", guide) for label in bold.split("→")
    ]


def test_it_names_the_dashboard_controls_as_the_pages_do(alice_client, alice):
    relay_setting = create_setting(alice)
    pages = [
        reverse("home"),
        reverse("relaysettings:list"),
        reverse("relaysettings:test-send", args=[relay_setting.domain]),
        reverse("smtpusers:list"),
    ]
    shown = " ".join(page_text(alice_client.get(url)) for url in pages)

    labels = step_by_step_labels()
    assert {"Domains", "Add a domain", "Send test", "Send test message"} <= set(labels)
    assert [label for label in labels if label not in shown] == []
