"""The questions: safe without --trust, short help, and answers chained into defaults."""

from __future__ import annotations

import pytest
import yaml
from copier._template import load_template_config

from conftest import REPO

CONFIG = load_template_config(REPO / "copier.yml")
QUESTIONS = {k: v for k, v in CONFIG.items() if not k.startswith("_")}
ASKED = {k: v for k, v in QUESTIONS.items() if v.get("when") is not False}


def test_needs_no_trust() -> None:
    """_tasks, _jinja_extensions or _migrations would make plain `copier copy` exit 4."""
    assert not {"_tasks", "_jinja_extensions", "_migrations"} & set(CONFIG)


def test_question_names_are_the_contract() -> None:
    assert list(ASKED) == [
        "project_name", "project_slug", "description", "github_repository",
        "python_version", "deploy_target", "railway_config", "workers", "timeout",
        "integrations", "extra_secrets", "include_frontend", "flutter_platforms", "app_scheme",
        "backend_url", "cors_origins",
    ]  # fmt: skip


@pytest.mark.parametrize("name", ASKED)
def test_help_is_one_short_line(name: str) -> None:
    help_text = ASKED[name]["help"]
    assert "\n" not in help_text.strip() and len(help_text) <= 80


def test_derived_values_are_never_recorded() -> None:
    computed = {k for k, v in QUESTIONS.items() if v.get("when") is False}
    assert {"start_command", "third_party_secrets", "dev_secret_key"} <= computed


def test_slug_repository_and_urls_follow_the_name(render) -> None:
    answers = render({"project_name": "Acme Support Desk", "deploy_target": "render"}).answers
    assert answers["project_slug"] == "acme-support-desk"
    assert answers["github_repository"] == "your-org/acme-support-desk"
    assert answers["backend_url"] == "https://acme-support-desk-backend.onrender.com"
    assert answers["cors_origins"] == "https://acme-support-desk-frontend.onrender.com"


@pytest.mark.parametrize(
    ("target", "backend_url"),
    [
        ("railway", "https://ba-assistant-backend.up.railway.app"),
        ("both", "https://ba-assistant-backend.onrender.com"),
        ("none", "https://api.example.com"),
    ],
)
def test_backend_url_follows_the_target(render, target: str, backend_url: str) -> None:
    assert render({"deploy_target": target}).answers["backend_url"] == backend_url


@pytest.mark.parametrize("target", ["render", "none"])
def test_railway_config_is_asked_only_for_railway(render, target: str) -> None:
    project = render({"deploy_target": target})
    assert "railway_config" not in yaml.safe_load(project.read(".copier-answers.yml"))


def test_defaults(rendered) -> None:
    answers = rendered("default").answers
    assert answers["project_name"] == "BA Assistant"
    assert answers["python_version"] == "3.12"
    assert answers["deploy_target"] == "both"
    assert answers["railway_config"] == "iac"
    assert (answers["workers"], answers["timeout"]) == (4, 120)
    assert answers["integrations"] == ["anthropic", "google_oauth", "microsoft_oauth"]
    assert answers["extra_secrets"] == []
    assert answers["include_frontend"] is True


def test_secrets_follow_integrations_and_extra_secrets(rendered) -> None:
    assert rendered("ai-only").answers["third_party_secrets"] == ["ANTHROPIC_API_KEY"]
    assert rendered("no-integrations").answers["third_party_secrets"] == []
    extra = rendered("extra-secrets").answers
    assert extra["third_party_secrets"][-2:] == ["STRIPE_API_KEY", "SENTRY_DSN"]
    assert extra["required_in_production"][:2] == ["SECRET_KEY", "DATABASE_URL"]


def test_plain_copy_would_refuse_an_unsafe_template(template_dir, tmp_path) -> None:
    """What test_needs_no_trust guards against: one _tasks entry, even one that never
    runs, makes a copy without --trust fail before anything is written."""
    import shutil

    import copier
    from copier.errors import UnsafeTemplateError

    unsafe = tmp_path / "unsafe-template"
    shutil.copytree(template_dir, unsafe)
    config = unsafe / "copier.yml"
    config.write_text(
        config.read_text().replace("---\n", "_tasks: [{command: 'true', when: false}]\n---\n", 1)
    )
    with pytest.raises(UnsafeTemplateError):
        copier.run_copy(str(unsafe), str(tmp_path / "out"), defaults=True, unsafe=False, quiet=True)
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())
