"""Robustness: bad answers are refused before anything is written, and no secret
reaches a file that git would commit."""

from __future__ import annotations

import subprocess
from pathlib import Path

import copier
import pytest
from detect_secrets import SecretsCollection
from detect_secrets.settings import default_settings

from answer_sets import ANSWER_SETS

# (answers, text the refusal must contain). Each names the question or the rule it broke.
BAD_ANSWERS: dict[str, tuple[dict, str]] = {
    "project_name empty": ({"project_name": ""}, "project_name must not be empty"),
    "project_name blank": ({"project_name": "   "}, "project_name must not be empty"),
    "project_name two lines": ({"project_name": "Acme\nDesk"}, "project_name must be one line"),
    "description two lines": ({"description": "One.\nevil: true"}, "description must be one"),
    "project_slug upper-case": ({"project_slug": "Acme"}, "project_slug must match"),
    "project_slug starts with digit": ({"project_slug": "1acme"}, "project_slug must match"),
    "project_slug too short": ({"project_slug": "ab"}, "project_slug must match"),
    "project_slug too long": ({"project_slug": "a" * 41}, "project_slug must match"),
    "project_slug ends with hyphen": ({"project_slug": "acme-"}, "project_slug must match"),
    "project_slug underscore": ({"project_slug": "acme_desk"}, "project_slug must match"),
    "project_slug space": ({"project_slug": "acme desk"}, "project_slug must match"),
    "project_slug trailing newline": ({"project_slug": "acme\n"}, "project_slug must match"),
    "github_repository no owner": ({"github_repository": "desk"}, "github_repository must"),
    "github_repository empty name": ({"github_repository": "acme/"}, "github_repository must"),
    "github_repository three parts": ({"github_repository": "a/b/c"}, "github_repository must"),
    "github_repository bad owner": ({"github_repository": "-acme/desk"}, "github_repository"),
    "github_repository url": (
        {"github_repository": "https://github.com/acme/desk"},
        "github_repository must",
    ),
    "python_version too old": ({"python_version": "3.9"}, "Invalid choice for 'python_version'"),
    "python_version unknown": ({"python_version": "3.14"}, "Invalid choice for 'python_version'"),
    "deploy_target unknown": ({"deploy_target": "heroku"}, "Invalid choice for 'deploy_target'"),
    "deploy_target label": ({"deploy_target": "Railway"}, "Invalid choice for 'deploy_target'"),
    "railway_config unknown": (
        {"deploy_target": "railway", "railway_config": "toml"},
        "Invalid choice for 'railway_config'",
    ),
    "workers 0": ({"workers": 0}, "workers must be between 1 and 32"),
    "workers negative": ({"workers": -1}, "workers must be between 1 and 32"),
    "workers 33": ({"workers": 33}, "workers must be between 1 and 32"),
    # Copier casts to int before any validator runs, so its own message names the value.
    "workers not a number": ({"workers": "abc"}, "invalid literal for int() with base 10: 'abc'"),
    "timeout 29": ({"timeout": 29}, "timeout must be between 30 and 900"),
    "timeout 901": ({"timeout": 901}, "timeout must be between 30 and 900"),
    "timeout not a number": ({"timeout": "2m"}, "invalid literal for int() with base 10: '2m'"),
    "integrations unknown": ({"integrations": ["slack"]}, "Invalid choice for 'integrations'"),
    "integrations one unknown": (
        {"integrations": ["anthropic", "slack"]},
        "Invalid choice for 'integrations'",
    ),
    "integrations not a list": ({"integrations": "anthropic"}, "Not a YAML list"),
    "extra_secrets a string": ({"extra_secrets": "STRIPE_API_KEY"}, "must be a YAML list"),
    "extra_secrets a mapping": ({"extra_secrets": {"STRIPE": "x"}}, "must be a YAML list"),
    "extra_secrets null": ({"extra_secrets": None}, "must be a YAML list"),
    "extra_secrets lower-case": ({"extra_secrets": ["stripe_key"]}, "must match ^[A-Z]"),
    "extra_secrets leading digit": ({"extra_secrets": ["1KEY"]}, "must match ^[A-Z]"),
    "extra_secrets hyphen": ({"extra_secrets": ["STRIPE-KEY"]}, "must match ^[A-Z]"),
    "extra_secrets not a name": ({"extra_secrets": [1]}, "must match ^[A-Z]"),
    "extra_secrets trailing newline": ({"extra_secrets": ["KEY\n"]}, "must match ^[A-Z]"),
    "extra_secrets duplicate": ({"extra_secrets": ["KEY", "KEY"]}, '"KEY" is listed twice'),
    "extra_secrets SECRET_KEY": ({"extra_secrets": ["SECRET_KEY"]}, "is a built-in variable"),
    "extra_secrets DATABASE_URL": ({"extra_secrets": ["DATABASE_URL"]}, "is a built-in"),
    "extra_secrets PORT": ({"extra_secrets": ["PORT"]}, "is a built-in variable"),
    "extra_secrets an integration's": (
        {"extra_secrets": ["ANTHROPIC_API_KEY"]},
        "is a built-in variable",
    ),
    "backend_url http": ({"backend_url": "http://api.example.com"}, "backend_url must be"),
    "backend_url path": ({"backend_url": "https://api.example.com/v1"}, "backend_url must be"),
    "backend_url slash": ({"backend_url": "https://api.example.com/"}, "backend_url must be"),
    "backend_url no scheme": ({"backend_url": "api.example.com"}, "backend_url must be"),
    "backend_url empty": ({"backend_url": ""}, "backend_url must be"),
    "backend_url newline": ({"backend_url": "https://api.example.com\n"}, "backend_url must"),
    "cors_origins http": ({"cors_origins": "http://app.example.com"}, "cors_origins must"),
    "cors_origins one http": (
        {"cors_origins": "https://app.example.com,http://admin.example.com"},
        'not "http://admin.example.com"',
    ),
    "cors_origins path": ({"cors_origins": "https://app.example.com/app"}, "cors_origins must"),
    "cors_origins wildcard": ({"cors_origins": "*"}, "cors_origins must"),
    "cors_origins empty": ({"cors_origins": ""}, "cors_origins must"),
    "cors_origins trailing comma": ({"cors_origins": "https://a.example.com,"}, "cors_origins"),
    "cors_origins newline": ({"cors_origins": "https://a.example.com\n"}, "cors_origins must"),
}


@pytest.mark.parametrize("case", BAD_ANSWERS)
def test_bad_answer_is_refused_before_anything_is_written(
    case: str, template_dir: Path, tmp_path: Path
) -> None:
    answers, message = BAD_ANSWERS[case]
    dst = tmp_path / "project"
    with pytest.raises((ValueError, TypeError)) as refusal:
        copier.run_copy(
            str(template_dir), str(dst), data=answers, defaults=True, unsafe=False, quiet=True
        )
    assert message in str(refusal.value)
    assert not dst.exists()


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


def test_template_needs_no_trust(template_dir: Path) -> None:
    """No tasks, migrations or Jinja extensions: plain `copier copy` never asks for --trust."""
    with pytest.warns(DeprecationWarning):
        template = copier.Template(url=str(template_dir))
    assert template.tasks == []
    assert template.jinja_extensions == ()
    assert not {"migrations", "tasks", "jinja_extensions"} & set(template.config_data)


# --------------------------------------------------------------------------- secrets


def committable_files(project: Path, git_dir: Path) -> list[Path]:
    """Every file `git add -A` would take, read through a git dir kept outside the
    project so the shared rendered project stays untouched."""
    subprocess.run(["git", "init", "-q", "--bare", str(git_dir)], check=True)
    listed = subprocess.run(
        [
            "git",
            f"--git-dir={git_dir}",
            f"--work-tree={project}",
            "ls-files",
            "--others",
            "--cached",
            "--exclude-standard",
            "-z",
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return [project / name for name in listed.split("\0") if name]


@pytest.mark.parametrize("name", ANSWER_SETS)
def test_no_secret_in_committable_files(name: str, rendered, tmp_path: Path) -> None:
    project = rendered(name)
    files = committable_files(project.path, tmp_path / "git")
    relpaths = {f.relative_to(project.path).as_posix() for f in files}
    assert ".copier-answers.yml" in relpaths
    assert "backend/.env" not in relpaths, "backend/.env must be git-ignored"

    env = dict(
        line.split("=", 1)
        for line in project.read("backend/.env").splitlines()
        if "=" in line and not line.startswith("#")
    )
    secret_key = env["SECRET_KEY"]
    assert len(secret_key) >= 64
    leaks = [f for f in files if secret_key in f.read_text(errors="replace")]
    assert leaks == []

    secrets = SecretsCollection()
    with default_settings():
        secrets.scan_files(*map(str, files), num_processors=1)
    assert secrets.json() == {}


def test_secret_scan_finds_a_planted_key(tmp_path: Path) -> None:
    """The scanner, as configured above, does see a real-looking secret."""
    planted = tmp_path / "settings.py"
    planted.write_text('AWS_SECRET = "AKIAIOSFODNN7EXAMPLE"\nSECRET_KEY = "f7c1a9e0b3d2"\n')
    secrets = SecretsCollection()
    with default_settings():
        secrets.scan_files(str(planted), num_processors=1)
    assert str(planted) in secrets.json()
