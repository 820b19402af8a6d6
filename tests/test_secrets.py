"""Secrets: a fresh development key per project, written only to the git-ignored .env."""

from __future__ import annotations

import re

import pytest

from answer_sets import ANSWER_SETS
from conftest import Project


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

    from conftest import REPO

    config = yaml.safe_load((REPO / "copier.yml").read_text().split("\n---\n")[0])
    assert "backend/.env" in config["_skip_if_exists"]
    assert ".env" in rendered("default").read(".gitignore").splitlines()
