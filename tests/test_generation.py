"""Every answer set renders a complete, well-formed project, and only what it asked for."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest
import yaml

from harness.answer_sets import ANSWER_SETS
from harness.project import REPO, Project, render_project

TEMPLATE = REPO / "template"


def conditions(answers: dict) -> dict:
    """The names that template file names test, computed here from the raw answers and
    independently of hooks/, so that the file names and these rules check each other.
    A file name that tests anything else fails test_every_condition_is_known."""
    return {
        "use_render": answers["deploy_target"] in ("render", "both"),
        "use_railway": answers["deploy_target"] in ("railway", "both"),
        "include_frontend": answers["include_frontend"],
        "use_ai": "anthropic" in answers["integrations"],
        "oauth_providers": [i for i in answers["integrations"] if i.endswith("_oauth")],
        "flutter_platforms": answers.get("flutter_platforms", ["web", "android", "ios"]),
    }


CONDITION = re.compile(r"\{% if (.+?) %\}")


def _present(part: str, answers: dict) -> bool:
    match = CONDITION.search(part)
    return match is None or bool(eval(match[1], {"__builtins__": {}}, conditions(answers)))


def _output_name(name: str) -> str:
    name = re.sub(r"\{%.*?%\}", "", name).removesuffix(".jinja")
    return name.replace("{{_copier_conf.answers_file}}", ".copier-answers.yml")


def _template_files() -> list[Path]:
    return [
        p.relative_to(TEMPLATE)
        for p in TEMPLATE.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    ]


def expected_files(answers: dict) -> set[str]:
    """The files a project must hold, derived from the template tree and the rules above."""
    return {
        "/".join(_output_name(part) for part in relpath.parts)
        for relpath in _template_files()
        if all(_present(part, answers) for part in relpath.parts)
    }


_SOME_ANSWERS = {
    "deploy_target": "both",
    "include_frontend": True,
    "integrations": ["anthropic"],
}


def test_every_condition_is_known() -> None:
    known = set(conditions(_SOME_ANSWERS))
    for relpath in _template_files():
        for part in relpath.parts:
            if match := CONDITION.search(part):
                tested = re.sub(r"'[^']*'", "", match[1])  # 'web' in flutter_platforms
                names = set(re.findall(r"[a-z_]+", tested)) - {"and", "or", "not", "in"}
                assert names <= known, f"{relpath}: add {names - known} to conditions()"


@pytest.mark.parametrize("name", ANSWER_SETS)
def test_files_are_exactly_the_expected_ones(rendered, name: str) -> None:
    project: Project = rendered(name)
    assert project.files() == expected_files(project.answers)


@pytest.mark.parametrize("name", ANSWER_SETS)
def test_structured_files_parse(rendered, name: str) -> None:
    project: Project = rendered(name)
    for path in project.path.rglob("*"):
        if not path.is_file():
            continue
        text = path.read_text()
        if path.suffix in (".yml", ".yaml"):
            assert yaml.safe_load(text) is not None, path
        elif path.suffix == ".json":
            json.loads(text)
        elif path.suffix == ".toml":
            tomllib.loads(text)


@pytest.mark.parametrize("name", ANSWER_SETS)
def test_no_jinja_left_over(rendered, name: str) -> None:
    """The one check for Jinja left in any generated file, name or content: backend,
    Flutter app, deploy files and workflows alike."""
    project: Project = rendered(name)
    leftovers = []
    for path in project.path.rglob("*"):
        if not path.is_file():
            continue
        text = path.read_text()
        relpath = path.relative_to(project.path)
        # GitHub expressions ${{ }} are meant to stay in workflows and the docs that quote
        # them; in code (Python, Dart, TypeScript) any {{ or {% is a leftover.
        if relpath.parts[0] == ".github" or path.suffix == ".md":
            text = re.sub(r"\$\{\{.*?\}\}", "", text)
        if "{{" in text or "{%" in text or "{#" in text:
            leftovers.append(relpath.as_posix())
        if "{%" in relpath.as_posix() or "{{" in relpath.as_posix():
            leftovers.append(f"name: {relpath.as_posix()}")
    assert not leftovers


@pytest.mark.parametrize("name", ANSWER_SETS)
def test_answers_file_records_answers_only(rendered, name: str) -> None:
    project: Project = rendered(name)
    text = project.read(".copier-answers.yml")
    assert text.startswith("# "), "the answers file starts with a do-not-edit header"
    recorded = yaml.safe_load(text)
    asked = {
        "project_name",
        "project_slug",
        "description",
        "github_repository",
        "python_version",
        "deploy_target",
        "workers",
        "timeout",
        "instances",
        "integrations",
        "extra_secrets",
        "include_frontend",
        "backend_url",
    }
    target, frontend = project.answers["deploy_target"], project.answers["include_frontend"]
    asked |= {"max_instances"} if target in ("render", "both") else set()
    asked |= {"cors_origins"} if frontend else set()
    asked |= {"railway_backend_url"} if target == "both" else set()
    asked |= {"railway_origins"} if target == "both" and frontend else set()
    if frontend:
        asked.add("flutter_platforms")
        phones = set(project.answers["flutter_platforms"]) - {"web"}
        if phones and project.answers["oauth_providers"]:
            asked.add("app_scheme")
    assert set(recorded) - {"_commit", "_src_path"} == asked
    assert "dev_secret_key" not in text
    assert project.answers["dev_secret_key"] not in text


@pytest.mark.parametrize("name", ANSWER_SETS)
def test_python_version_is_the_same_everywhere(rendered, name: str) -> None:
    project: Project = rendered(name)
    version = project.answers["python_version"]
    assert project.read(".python-version").strip() == version
    assert project.read("backend/.python-version").strip() == version
    if (project.path / "render.yaml").exists():
        env = yaml.safe_load(project.read("render.yaml"))["services"][0]["envVars"]
        assert {"key": "PYTHON_VERSION", "value": version} in env


def test_gitignore_keeps_local_secrets_out(rendered) -> None:
    patterns = rendered("default").read(".gitignore").splitlines()
    assert ".env" in patterns


def test_copy_from_git_url_matches_copy_from_folder(
    template_dir: Path, rendered, tmp_path: Path
) -> None:
    """Users copy from a git URL (gh:org/...); that copy equals the one from a folder."""
    repo = tmp_path / "template-repo"
    shutil.copytree(template_dir, repo)
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "template"], check=True)
    subprocess.run([*git, "tag", "v0.1.0"], check=True)

    from_git = render_project(f"git+file://{repo}", tmp_path / "from-git", {})
    from_folder = rendered("default")

    assert from_git.files() == from_folder.files()
    recorded = yaml.safe_load(from_git.read(".copier-answers.yml"))
    assert recorded["_src_path"] == f"git+file://{repo}"
    assert recorded["_commit"] == "v0.1.0"
    for relpath in from_folder.files() - {".copier-answers.yml", "backend/.env"}:
        assert from_git.read(relpath) == from_folder.read(relpath), relpath
