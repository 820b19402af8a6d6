"""The questions: safe without --trust, short help, answers chained into defaults, and
bad answers refused before anything is written, in refusals that fit on one terminal line."""

from __future__ import annotations

from pathlib import Path

import copier
import pytest
import yaml
from copier._template import load_template_config

from harness.project import REPO

CONFIG = load_template_config(REPO / "copier.yml")
QUESTIONS = {k: v for k, v in CONFIG.items() if not k.startswith("_")}
ASKED = {k: v for k, v in QUESTIONS.items() if v.get("when") is not False}


def test_needs_no_trust(template_dir: Path) -> None:
    """_tasks, _jinja_extensions or _migrations would make plain `copier copy` exit 4;
    Copier's own reading of the template finds no tasks, migrations or extensions either."""
    assert not {"_tasks", "_jinja_extensions", "_migrations"} & set(CONFIG)
    with pytest.warns(DeprecationWarning):
        template = copier.Template(url=str(template_dir))
    assert template.tasks == []
    assert template.jinja_extensions == ()
    assert not {"migrations", "tasks", "jinja_extensions"} & set(template.config_data)


def test_question_names_are_the_contract() -> None:
    assert list(ASKED) == [
        "project_name", "project_slug", "description", "github_repository",
        "python_version", "deploy_target", "workers", "timeout", "instances", "max_instances",
        "integrations", "extra_secrets", "include_frontend", "flutter_platforms",
        "app_scheme", "backend_url", "cors_origins",
        "railway_backend_url", "railway_origins",
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


def test_each_platform_has_its_own_urls_by_default(rendered) -> None:
    answers = rendered("default").answers
    assert answers["backend_url"] == "https://ba-assistant-backend.onrender.com"
    assert answers["cors_origins"] == "https://ba-assistant-frontend.onrender.com"
    assert answers["railway_backend_url"] == "https://ba-assistant-backend.up.railway.app"
    assert answers["railway_origins"] == "https://ba-assistant-frontend.up.railway.app"


@pytest.mark.parametrize(
    ("answers", "not_recorded"),
    [
        ({"deploy_target": "railway"}, ["railway_backend_url", "railway_origins", "max_instances"]),
        ({"deploy_target": "render"}, ["railway_backend_url", "railway_origins"]),
        ({"deploy_target": "both", "include_frontend": False}, ["cors_origins", "railway_origins"]),
        ({"deploy_target": "none"}, ["railway_backend_url", "max_instances"]),
    ],
)
def test_questions_a_project_cannot_use_are_not_asked(
    render, answers: dict, not_recorded: list[str]
) -> None:
    recorded = yaml.safe_load(render(answers).read(".copier-answers.yml"))
    assert not set(not_recorded) & set(recorded)


def test_railway_alone_uses_the_first_urls_for_railway(rendered) -> None:
    answers = rendered("railway").answers
    assert answers["railway_backend_url"] == answers["backend_url"]
    assert answers["railway_origins"] == answers["cors_origins"]
    assert answers["backend_url"] == "https://ba-assistant-backend.up.railway.app"


def test_defaults(rendered) -> None:
    answers = rendered("default").answers
    assert answers["project_name"] == "BA Assistant"
    assert answers["python_version"] == "3.12"
    assert answers["deploy_target"] == "both"
    assert (answers["workers"], answers["timeout"]) == (4, 120)
    assert (answers["instances"], answers["max_instances"]) == (1, 1)
    assert answers["render_autoscaling"] is False
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


# --------------------------------------------------------------------------- bad answers
# (answers, text the refusal must contain). Each names the question or the rule it broke.
BAD_ANSWERS: dict[str, tuple[dict, str]] = {
    "project_name empty": ({"project_name": ""}, "project_name must not be empty"),
    "project_name blank": ({"project_name": "   "}, "project_name must not be empty"),
    "project_name two lines": ({"project_name": "Acme\nDesk"}, "project_name must be one line"),
    "description two lines": ({"description": "One.\nevil: true"}, "description must be one"),
    "project_slug upper-case": ({"project_slug": "Acme"}, "3-40 of a-z 0-9 -"),
    "project_slug starts with digit": ({"project_slug": "1acme"}, "3-40 of a-z 0-9 -"),
    "project_slug too short": ({"project_slug": "ab"}, "3-40 of a-z 0-9 -"),
    "project_slug too long": ({"project_slug": "a" * 41}, "3-40 of a-z 0-9 -"),
    "project_slug ends with hyphen": ({"project_slug": "acme-"}, "3-40 of a-z 0-9 -"),
    "project_slug underscore": ({"project_slug": "acme_desk"}, "3-40 of a-z 0-9 -"),
    "project_slug space": ({"project_slug": "acme desk"}, "3-40 of a-z 0-9 -"),
    "project_slug trailing newline": ({"project_slug": "acme\n"}, "3-40 of a-z 0-9 -"),
    "github_repository no owner": ({"github_repository": "desk"}, "must be owner/name"),
    "github_repository empty name": ({"github_repository": "acme/"}, "must be owner/name"),
    "github_repository three parts": ({"github_repository": "a/b/c"}, "must be owner/name"),
    "github_repository bad owner": ({"github_repository": "-acme/desk"}, "github_repository"),
    "github_repository url": (
        {"github_repository": "https://github.com/acme/desk"},
        "must be owner/name",
    ),
    "python_version too old": ({"python_version": "3.9"}, "Invalid choice for 'python_version'"),
    "python_version unknown": ({"python_version": "3.14"}, "Invalid choice for 'python_version'"),
    "deploy_target unknown": ({"deploy_target": "heroku"}, "Invalid choice for 'deploy_target'"),
    "deploy_target label": ({"deploy_target": "Railway"}, "Invalid choice for 'deploy_target'"),
    "workers 0": ({"workers": 0}, "must be between 1 and 32"),
    "workers negative": ({"workers": -1}, "must be between 1 and 32"),
    "workers 33": ({"workers": 33}, "must be between 1 and 32"),
    # Copier casts to int before any validator runs, so its own message names the value.
    "workers not a number": ({"workers": "abc"}, "invalid literal for int() with base 10: 'abc'"),
    "timeout 29": ({"timeout": 29}, "must be 30 to 900 seconds"),
    "timeout 901": ({"timeout": 901}, "must be 30 to 900 seconds"),
    "timeout not a number": ({"timeout": "2m"}, "invalid literal for int() with base 10: '2m'"),
    "integrations unknown": ({"integrations": ["slack"]}, "Invalid choice for 'integrations'"),
    "integrations one unknown": (
        {"integrations": ["anthropic", "slack"]},
        "Invalid choice for 'integrations'",
    ),
    "integrations not a list": ({"integrations": "anthropic"}, "Not a YAML list"),
    "extra_secrets a string": ({"extra_secrets": "STRIPE_API_KEY"}, "need a YAML list"),
    "extra_secrets a mapping": ({"extra_secrets": {"STRIPE": "x"}}, "need a YAML list"),
    "extra_secrets null": ({"extra_secrets": None}, "need a YAML list"),
    "extra_secrets lower-case": ({"extra_secrets": ["stripe_key"]}, "use A-Z 0-9 _"),
    "extra_secrets leading digit": ({"extra_secrets": ["1KEY"]}, "use A-Z 0-9 _"),
    "extra_secrets hyphen": ({"extra_secrets": ["STRIPE-KEY"]}, "use A-Z 0-9 _"),
    "extra_secrets not a name": ({"extra_secrets": [1]}, "use A-Z 0-9 _"),
    "extra_secrets trailing newline": ({"extra_secrets": ["KEY\n"]}, "use A-Z 0-9 _"),
    "extra_secrets duplicate": ({"extra_secrets": ["KEY", "KEY"]}, '"KEY" is listed twice'),
    "extra_secrets SECRET_KEY": ({"extra_secrets": ["SECRET_KEY"]}, "is built in"),
    "extra_secrets DATABASE_URL": ({"extra_secrets": ["DATABASE_URL"]}, "is built in"),
    "extra_secrets PORT": ({"extra_secrets": ["PORT"]}, "is built in"),
    "extra_secrets an integration's": (
        {"extra_secrets": ["ANTHROPIC_API_KEY"]},
        "is built in",
    ),
    "backend_url http": ({"backend_url": "http://api.example.com"}, "need https://host"),
    "backend_url path": ({"backend_url": "https://api.example.com/v1"}, "need https://host"),
    "backend_url slash": ({"backend_url": "https://api.example.com/"}, "need https://host"),
    "backend_url no scheme": ({"backend_url": "api.example.com"}, "need https://host"),
    "backend_url empty": ({"backend_url": ""}, "need https://host"),
    "backend_url newline": ({"backend_url": "https://api.example.com\n"}, "need https://host"),
    "cors_origins http": ({"cors_origins": "http://app.example.com"}, "need https://host"),
    "cors_origins one http": (
        {"cors_origins": "https://app.example.com,http://admin.example.com"},
        "need https://host, no path",
    ),
    "cors_origins path": ({"cors_origins": "https://app.example.com/app"}, "need https://host"),
    "cors_origins wildcard": ({"cors_origins": "*"}, "need https://host"),
    "cors_origins empty": ({"cors_origins": ""}, "need https://host"),
    "cors_origins trailing comma": ({"cors_origins": "https://a.example.com,"}, "cors_origins"),
    "cors_origins newline": ({"cors_origins": "https://a.example.com\n"}, "need https://host"),
}

# (answers, text the refusal must contain), for the questions of the deploy.
BAD_DEPLOY_ANSWERS: dict[str, tuple[dict, str | None]] = {
    "railway_config gone": ({"railway_config": "json"}, None),
    "instances 0": ({"instances": 0}, "must be between 1 and 100"),
    "instances 101": ({"instances": 101}, "must be between 1 and 100"),
    "max_instances below instances": (
        {"instances": 3, "max_instances": 2},
        "must be instances (3) to 100",
    ),
    "max_instances 101": ({"max_instances": 101}, "must be instances (1) to 100"),
    "railway_backend_url http": ({"railway_backend_url": "http://a.example"}, "need https://"),
    "railway_backend_url path": ({"railway_backend_url": "https://a.example/x"}, "need https"),
    "railway_origins one http": (
        {"railway_origins": "https://a.example,http://b.example"},
        "need https://host, no path",
    ),
    "railway_origins empty": ({"railway_origins": ""}, "need https://host, no path"),
    "railway_origins newline": ({"railway_origins": "https://a.example\n"}, "need https://"),
    "extra_secrets long name": ({"extra_secrets": ["x" * 200]}, '"xxxxxxxxx...": use A-Z'),
    "extra_secrets two problems": ({"extra_secrets": ["a", "PORT"]}, '"a": use A-Z 0-9 _'),
    "extra_secrets WEB_CONCURRENCY": ({"extra_secrets": ["WEB_CONCURRENCY"]}, "is built in"),
}
REFUSED = {k: (a, m) for k, (a, m) in BAD_DEPLOY_ANSWERS.items() if m is not None}


def _refusal(answers: dict, template_dir: Path, dst: Path) -> str:
    with pytest.raises((ValueError, TypeError)) as refusal:
        copier.run_copy(
            str(template_dir), str(dst), data=answers, defaults=True, unsafe=False, quiet=True
        )
    assert not dst.exists()
    return str(refusal.value)


@pytest.mark.parametrize("case", BAD_ANSWERS)
def test_bad_answer_is_refused_before_anything_is_written(
    case: str, template_dir: Path, tmp_path: Path
) -> None:
    answers, message = BAD_ANSWERS[case]
    assert message in _refusal(answers, template_dir, tmp_path / "project")


def test_valid_edge_values_are_accepted(render) -> None:
    """The bounds themselves are valid: the refusals above are not a blanket no."""
    project = render(
        {
            "project_slug": "abc",
            "workers": 32,
            "timeout": 30,
            "extra_secrets": ["A", "B_2"],
            "backend_url": "https://api.example.com:8443",
            "cors_origins": "https://a.example.com, https://b.example.com",
        }
    )
    assert project.answers["workers"] == 32
    assert project.answers["third_party_secrets"][-2:] == ["A", "B_2"]


@pytest.mark.parametrize("case", REFUSED)
def test_bad_deploy_answer_is_refused(case: str, template_dir: Path, tmp_path: Path) -> None:
    answers, message = REFUSED[case]
    assert message in _refusal(answers, template_dir, tmp_path / "project")


def test_an_answer_to_a_question_that_is_gone_is_ignored(render) -> None:
    """Old projects answered railway_config; it left the questions (Railway stopped
    reading railway.json), and an old answer must not break a copy or an update."""
    project = render({"railway_config": "json", "deploy_target": "railway"})
    assert (project.path / ".railway/railway.ts").exists()
    assert not (project.path / "backend/railway.json").exists()


# Copier's own refusals (a choice that does not exist, an int that is not one) are not
# ours to word; every message a validator of ours writes is.
COPIERS_OWN = ("Invalid choice", "invalid literal for int()", "Not a YAML list")


@pytest.mark.parametrize("case", [*BAD_ANSWERS, *REFUSED])
def test_every_refusal_fits_in_80_columns(case: str, template_dir: Path, tmp_path: Path) -> None:
    """Interactive copier shows `Validation error for question 'NAME': MESSAGE` in one
    toolbar line that the terminal cuts: at 80 columns the message must be whole."""
    answers = {**BAD_ANSWERS, **REFUSED}[case][0]
    refusal = _refusal(answers, template_dir, tmp_path / "project")
    if any(own in refusal for own in COPIERS_OWN):
        pytest.skip("Copier's own message")
    for line in refusal.splitlines():
        assert len(line) <= 80, line
