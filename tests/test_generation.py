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
from answer_sets import ANSWER_SETS
from conftest import REPO, Project, render_project

TEMPLATE = REPO / "template"


def _railway(a: dict) -> bool:
    return a["deploy_target"] in ("railway", "both")


# Every file or folder name in template/ that holds a condition, with the rule it must
# follow, written independently of the Jinja in the name so that the two check each
# other. A new conditional name fails test_every_conditional_name_has_a_rule until it
# gets a rule here.
CONDITIONAL_NAMES = {
    "{% if use_render %}render.yaml{% endif %}.jinja": lambda a: (
        a["deploy_target"] in ("render", "both")
    ),
    "{% if use_railway_iac %}.railway{% endif %}": lambda a: (
        _railway(a) and a["railway_config"] == "iac"
    ),
    "{% if use_railway %}Procfile{% endif %}.jinja": _railway,
    "{% if use_railway_json %}railway.json{% endif %}.jinja": lambda a: (
        _railway(a) and a["railway_config"] == "json"
    ),
    "{% if include_frontend %}frontend{% endif %}": lambda a: a["include_frontend"],
}


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
    expected = set()
    for relpath in _template_files():
        if all(CONDITIONAL_NAMES[part](answers) for part in relpath.parts if "{%" in part):
            expected.add("/".join(_output_name(part) for part in relpath.parts))
    return expected


def test_every_conditional_name_has_a_rule() -> None:
    names = {part for relpath in _template_files() for part in relpath.parts if "{%" in part}
    assert names <= set(CONDITIONAL_NAMES), sorted(names - set(CONDITIONAL_NAMES))


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
    project: Project = rendered(name)
    leftovers = []
    for path in project.path.rglob("*"):
        if not path.is_file():
            continue
        # GitHub expressions ${{ }} are meant to stay; anything else with {{ or {% is not.
        text = re.sub(r"\$\{\{.*?\}\}", "", path.read_text())
        if "{{" in text or "{%" in text or "{#" in text:
            leftovers.append(path.relative_to(project.path).as_posix())
        if "{%" in path.name or "{{" in path.name:
            leftovers.append(path.name)
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
        "integrations",
        "extra_secrets",
        "include_frontend",
        "backend_url",
        "cors_origins",
    }
    if project.answers["deploy_target"] in ("railway", "both"):
        asked.add("railway_config")
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
