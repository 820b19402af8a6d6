"""Secrets: a fresh development key per project, written only to the git-ignored .env,
and nothing a secret scanner flags in what `git add -A` would commit."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from detect_secrets import SecretsCollection
from detect_secrets.settings import default_settings

from harness.answer_sets import ANSWER_SETS
from harness.project import Project


def _dev_secret_key(project: Project) -> str:
    (key,) = re.findall(r"^SECRET_KEY=(.*)$", project.read("backend/.env"), re.M)
    return key


def test_development_key_is_256_random_bits(rendered, render) -> None:
    first = _dev_secret_key(rendered("default"))
    second = _dev_secret_key(render({}))
    assert re.fullmatch(r"[0-9a-f]{64}", first)
    assert first != second, "every project draws its own key"


@pytest.mark.parametrize("name", ANSWER_SETS)
def test_no_secret_outside_the_ignored_env_file(rendered, name: str) -> None:
    project: Project = rendered(name)
    key = _dev_secret_key(project)
    holders = [p for p in project.files() if key in project.read(p)]
    assert holders == ["backend/.env"]


@pytest.mark.parametrize("name", ANSWER_SETS)
def test_env_example_lists_every_variable_without_values(rendered, name: str) -> None:
    project: Project = rendered(name)
    example = project.read("backend/.env.example")
    variables = dict(re.findall(r"^(?:# )?([A-Z][A-Z0-9_]*)=(.*)$", example, re.M))
    for required in project.answers["required_in_production"]:
        assert required in variables, required
    for secret in project.answers["third_party_secrets"]:
        assert variables[secret] == "", f"{secret} must have no value in .env.example"


def test_env_file_is_never_overwritten_by_an_update(rendered) -> None:
    import yaml

    from harness.project import REPO

    config = yaml.safe_load((REPO / "copier.yml").read_text().split("\n---\n")[0])
    assert "backend/.env" in config["_skip_if_exists"]
    assert ".env" in rendered("default").read(".gitignore").splitlines()


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
