"""The template's Flutter CI (.github/workflows/flutter.yml): it builds the generated app
for every answer set that has one, on each of its platforms, with the pinned Flutter,
and passes the linters the generated workflows pass."""

from __future__ import annotations

import subprocess
import sys

import pytest
import yaml

from harness import flutter_ci
from harness.answer_sets import ANSWER_SETS
from harness.project import REPO
from linters import actionlint, check_jsonschema, zizmor

WORKFLOW = REPO / ".github/workflows/flutter.yml"


def _workflow() -> dict:
    return yaml.safe_load(WORKFLOW.read_text())


def _runs(job: dict) -> list[tuple[str | None, str]]:
    """(condition, command) of each `run:` step, in order."""
    return [(step.get("if"), step["run"]) for step in job["steps"] if "run" in step]


def test_flutter_workflow_is_lint_clean() -> None:
    assert actionlint(WORKFLOW) == ""
    assert zizmor(WORKFLOW) == ""
    assert check_jsonschema("vendor.github-workflows", WORKFLOW) == ""


@pytest.fixture(scope="module")
def matrix() -> dict:
    return flutter_ci.matrix()


def test_matrix_holds_every_answer_set_with_the_app_and_its_platforms(rendered, matrix):
    expected_apps, expected_ios = [], []
    for name in ANSWER_SETS:
        answers = rendered(name).answers
        if not answers["include_frontend"]:
            continue
        platforms = set(answers["flutter_platforms"])
        expected_apps.append({"name": name} | {p: p in platforms for p in ("web", "android")})
        if "ios" in platforms:
            expected_ios.append({"name": name})
    assert matrix["apps"] == {"include": expected_apps}
    assert matrix["ios"] == {"include": expected_ios}
    versions = yaml.safe_load((REPO / "hooks/versions.yml").read_text())
    assert matrix["flutter"] == versions["flutter_version"]["default"]


def test_jobs_take_their_matrix_and_flutter_from_the_script() -> None:
    jobs = _workflow()["jobs"]
    matrix_runs = [command for _, command in _runs(jobs["matrix"])]
    assert any("python -m harness.flutter_ci matrix" in command for command in matrix_runs)
    assert set(jobs["matrix"]["outputs"]) == {"flutter", "apps", "ios"}
    for name, output in (("app", "apps"), ("ios", "ios")):
        job = jobs[name]
        assert "matrix" in job["needs"]
        assert job["strategy"]["matrix"] == f"${{{{ fromJSON(needs.matrix.outputs.{output}) }}}}"
        assert job["strategy"]["fail-fast"] is False
        (flutter,) = [s for s in job["steps"] if s.get("uses", "").startswith("subosito/")]
        assert flutter["with"]["flutter-version"] == "${{ needs.matrix.outputs.flutter }}"
        render = _runs(job)[0][1]
        assert 'python -m harness.flutter_ci render "$ANSWER_SET" "$RUNNER_TEMP/project"' in render
        for step in job["steps"]:
            if step.get("run", "").startswith(("flutter ", "dart ")):
                assert step["working-directory"] == "${{ runner.temp }}/project/frontend"


def test_each_app_is_checked_then_built_for_each_of_its_platforms() -> None:
    jobs = _workflow()["jobs"]
    assert jobs["app"]["runs-on"] == "ubuntu-latest"
    assert _runs(jobs["app"])[1:] == [
        (None, "flutter pub get"),
        (None, "dart format --output=none --set-exit-if-changed ."),
        (None, "flutter analyze"),
        (None, "flutter test"),
        ("matrix.web", "flutter build web --release"),
        ("matrix.android", "flutter create --empty --platforms=android --org com.example ."),
        ("matrix.android", "flutter build apk --debug"),
    ]
    assert jobs["ios"]["runs-on"].startswith("macos")
    assert _runs(jobs["ios"])[1:] == [
        (None, "flutter create --empty --platforms=ios --org com.example ."),
        (None, "flutter build ios --no-codesign"),
    ]


def test_the_script_renders_an_answer_set_as_a_user_would(tmp_path) -> None:
    run = subprocess.run(
        [sys.executable, "-m", "harness.flutter_ci", "render", "web-only", tmp_path / "p"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    frontend = tmp_path / "p/frontend"
    assert (frontend / "pubspec.yaml").is_file() and (frontend / "web").is_dir()
    assert not (frontend / "android").exists()
    copier = subprocess.run(
        [sys.executable, "-m", "harness.flutter_ci", "copier"],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert copier.stdout.strip() == "copier==" + __import__("copier").__version__
