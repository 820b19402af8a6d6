"""`copier update` keeps every user edit: two template releases in a scratch git repository,
a project copied from the older one and edited by its user, then updated to the newer one.

Copier exits 0 even when it leaves conflict markers, so every update here is checked with
the same script the generated template-update workflow runs before it opens a pull request.
"""

from __future__ import annotations

import io
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tarfile
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import copier
import pytest
import yaml

from harness.backend import backend_env
from harness.project import REPO, render_project
from linters import actionlint, zizmor

OLD, NEW = "v1.0.0", "v1.1.0"
WORKFLOW = ".github/workflows/template-update.yml"

# What release v1.1.0 changes in the template. Each change touches only the start or the
# end of a file, so it stays valid whatever else the file holds.
GITIGNORE_V11_FIRST_LINE = "# Local secrets (template v1.1.0): never committed."
README_V11_SECTION = "## Changes in v1.1.0\n\nRelease v1.1.0 of the template adds this section.\n"
RENDER_V11_COMMENT = "# Blueprint layout of template v1.1.0."
NEW_FILE_V11 = "docs/template-v1.1.0.md"

# What the user does to the project between the two releases.
USER_GITIGNORE_LINE = "my-local-notes/"
USER_README_TITLE = "# Our product, edited by its team"
USER_ROUTE = "backend/app/routes_extra.py"
USER_DELETED = ".python-version"
USER_ENV_LINE = "MY_PRIVATE_TOKEN=do-not-touch\n"

DEPLOY_TARGETS = ["railway", "render", "both", "none"]
RAILWAY_IAC_FILES = {
    ".railway/railway.ts",
    ".railway/package.json",
    ".railway/package-lock.json",
    ".railway/tsconfig.json",
}


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, check=True, capture_output=True, text=True
    ).stdout


def commit_all(cwd: Path, message: str, *, force: bool = False) -> None:
    git(cwd, "add", "--all", *(["--force"] if force else []))
    git(cwd, "commit", "--quiet", "--message", message)


@pytest.fixture(scope="module", autouse=True)
def _git_identity(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Commits need an author; the developer's own git config stays out of the tests."""
    empty = tmp_path_factory.mktemp("git-config") / "gitconfig"
    empty.write_text("")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GIT_CONFIG_GLOBAL", str(empty))
        mp.setenv("GIT_CONFIG_NOSYSTEM", "1")
        for role in ("AUTHOR", "COMMITTER"):
            mp.setenv(f"GIT_{role}_NAME", "Template Tests")
            mp.setenv(f"GIT_{role}_EMAIL", "tests@example.com")
        yield


@pytest.fixture(scope="module")
def template_repo(template_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The working tree tagged v1.0.0, and a commit on top of it tagged v1.1.0."""
    repo = tmp_path_factory.mktemp("template-repo")
    shutil.copytree(template_dir, repo, dirs_exist_ok=True)
    git(repo, "init", "--quiet", "--initial-branch=main")
    # --force: every template file is released, whatever a .gitignore in it says.
    commit_all(repo, "Release v1.0.0", force=True)
    git(repo, "tag", OLD)

    tpl = repo / "template"
    (gitignore,) = tpl.glob(".gitignore*")  # plain or .jinja
    source = gitignore.read_text()
    first_line = re.sub(r"\{#.*?#\}\n?", "", source, flags=re.DOTALL).split("\n", 1)[0]
    assert source.count(first_line + "\n") == 1, first_line
    gitignore.write_text(source.replace(first_line + "\n", GITIGNORE_V11_FIRST_LINE + "\n"))
    readme = tpl / "README.md.jinja"
    readme.write_text(readme.read_text().rstrip("\n") + "\n\n" + README_V11_SECTION)
    (render_yaml,) = tpl.glob("*render.yaml*.jinja")
    render_yaml.write_text(RENDER_V11_COMMENT + "\n" + render_yaml.read_text())
    (tpl / NEW_FILE_V11).parent.mkdir(parents=True, exist_ok=True)
    (tpl / NEW_FILE_V11).write_text("Added in template v1.1.0.\n")
    commit_all(repo, "Release v1.1.0", force=True)
    git(repo, "tag", NEW)
    return repo


def read_answers(project: Path) -> dict:
    return yaml.safe_load((project / ".copier-answers.yml").read_text())


def copy_project(src: str, dst: Path, answers: dict, vcs_ref: str = OLD) -> Path:
    """Copy a release (v1.0.0 unless told) as a user would (no --trust), then put it
    under git."""
    copier.run_copy(
        src, dst, data=answers, defaults=True, unsafe=False, quiet=True, vcs_ref=vcs_ref
    )
    git(dst, "init", "--quiet", "--initial-branch=main")
    commit_all(dst, "Generate from the template")
    return dst


def update_project(project: Path, vcs_ref: str | None = NEW, **data: str) -> None:
    """`copier update --defaults`; vcs_ref=None takes the newest release, as the workflow does."""
    copier.run_update(
        project,
        data=data,
        defaults=True,
        overwrite=True,
        unsafe=False,
        quiet=True,
        vcs_ref=vcs_ref,
    )


def tools_env(**env: str) -> dict[str, str]:
    """The environment of a shell that has the Copier these tests run on PATH, as the
    workflow's setup-python + pip install give it (and pipx gives a user)."""
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
    return {**os.environ, "PATH": path, **env}


def run_step(project: Path, name: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Run a step of the generated update workflow as GitHub runs a `shell: bash` step."""
    steps = yaml.safe_load((project / WORKFLOW).read_text())["jobs"]["update"]["steps"]
    (step,) = [s for s in steps if s.get("name") == name]
    return subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]],
        cwd=project,
        env=tools_env(GITHUB_ACTIONS="true", **env),
        capture_output=True,
        text=True,
        check=False,
    )


def conflict_check(project: Path) -> subprocess.CompletedProcess[str]:
    """The workflow's check: conflicts left, and deleted files that had the user's edits."""
    return run_step(project, "Check the update")


def assert_clean_update(project: Path, env_before: bytes) -> None:
    """What every update must leave: no conflict, no .rej, no secret in the answers file,
    backend/.env exactly as the user left it."""
    check = conflict_check(project)
    assert check.returncode == 0, check.stdout + check.stderr
    assert not list(project.rglob("*.rej"))
    assert (project / "backend/.env").read_bytes() == env_before
    answers_text = (project / ".copier-answers.yml").read_text()
    assert "dev_secret_key" not in read_answers(project)
    secret_key = next(
        line.split("=", 1)[1]
        for line in env_before.decode().splitlines()
        if line.startswith("SECRET_KEY=")
    )
    assert len(secret_key) == 64 and secret_key not in answers_text


def make_user_edits(project: Path) -> bytes:
    """The edits a team makes in a generated project; returns backend/.env as left."""
    gitignore = project / ".gitignore"
    gitignore.write_text(gitignore.read_text() + USER_GITIGNORE_LINE + "\n")
    readme = project / "README.md"
    _, rest = readme.read_text().split("\n", 1)
    readme.write_text(USER_README_TITLE + "\n" + rest)
    route = project / USER_ROUTE
    route.parent.mkdir(parents=True, exist_ok=True)
    route.write_text('"""Our own endpoints."""\n')
    (project / USER_DELETED).unlink()
    commit_all(project, "Our own changes")
    env = project / "backend/.env"  # git-ignored: a local secret the update must not touch
    env.write_text(env.read_text() + USER_ENV_LINE)
    return env.read_bytes()


@pytest.mark.parametrize("deploy_target", DEPLOY_TARGETS)
def test_update_applies_template_changes_and_keeps_user_edits(
    template_repo: Path, tmp_path: Path, deploy_target: str
) -> None:
    project = copy_project(
        str(template_repo), tmp_path / "project", {"deploy_target": deploy_target}
    )
    env_before = make_user_edits(project)

    update_project(project)

    assert_clean_update(project, env_before)
    assert read_answers(project)["_commit"] == NEW
    # The template's changes arrived ...
    gitignore = (project / ".gitignore").read_text()
    readme = (project / "README.md").read_text()
    assert gitignore.startswith(GITIGNORE_V11_FIRST_LINE + "\n")
    assert readme.endswith(README_V11_SECTION)
    assert (project / NEW_FILE_V11).is_file()
    if deploy_target in ("render", "both"):
        assert (project / "render.yaml").read_text().startswith(RENDER_V11_COMMENT + "\n")
    else:
        assert not (project / "render.yaml").exists()
    # ... next to every edit of the user.
    assert gitignore.endswith("\n" + USER_GITIGNORE_LINE + "\n")
    assert readme.startswith(USER_README_TITLE + "\n")
    assert (project / USER_ROUTE).read_text() == '"""Our own endpoints."""\n'
    assert not (project / USER_DELETED).exists()


def test_edit_on_a_line_the_template_changes_is_a_conflict_the_workflow_catches(
    template_repo: Path, tmp_path: Path
) -> None:
    project = copy_project(str(template_repo), tmp_path / "project", {"deploy_target": "render"})
    gitignore = project / ".gitignore"
    _, rest = gitignore.read_text().split("\n", 1)
    gitignore.write_text("# Our secrets policy: nothing local is committed.\n" + rest)
    commit_all(project, "Reword the secrets comment")

    update_project(project)  # exits normally although it leaves a conflict

    text = gitignore.read_text()
    assert "<<<<<<< before updating\n# Our secrets policy" in text
    assert f"=======\n{GITIGNORE_V11_FIRST_LINE}\n>>>>>>> after updating\n" in text
    check = conflict_check(project)
    assert check.returncode == 1
    assert "::error file=.gitignore::" in check.stdout
    assert not list(project.rglob("*.rej"))  # inline markers, not reject files
    # The command the generated README gives finds it too.
    readme_lines = (project / "README.md").read_text().splitlines()
    (readme_grep,) = [line for line in readme_lines if line.startswith("git grep")]
    found = subprocess.run(
        ["bash", "-c", readme_grep], cwd=project, capture_output=True, text=True, check=True
    )
    assert found.stdout.startswith(".gitignore:1:<<<<<<< before updating\n")


def test_conflict_check_finds_a_reject_file(template_repo: Path, tmp_path: Path) -> None:
    """`copier update --conflict rej` leaves .rej files (git-ignored): the check sees them."""
    project = copy_project(str(template_repo), tmp_path / "project", {"deploy_target": "none"})
    (project / "backend/app.py.rej").write_text("@@ -1 +1 @@\n-a\n+b\n")
    check = conflict_check(project)
    assert check.returncode == 1
    assert "::error file=backend/app.py.rej::" in check.stdout


def test_update_writes_a_deleted_backend_env_afresh(template_repo: Path, tmp_path: Path) -> None:
    """backend/.env is skipped only while it exists: deleting it is how to get a new one."""
    project = copy_project(str(template_repo), tmp_path / "project", {"deploy_target": "none"})
    env = project / "backend/.env"
    old_text = env.read_text()
    env.unlink()

    update_project(project)

    new_text = env.read_text()
    assert re.search(r"^SECRET_KEY=[0-9a-f]{64}$", new_text, re.MULTILINE)
    assert new_text != old_text  # a fresh secret, drawn again


def test_reanswering_deploy_target_swaps_railway_files_for_render(
    template_repo: Path, tmp_path: Path
) -> None:
    project = copy_project(str(template_repo), tmp_path / "project", {"deploy_target": "railway"})
    assert all((project / name).is_file() for name in RAILWAY_IAC_FILES)
    env_before = make_user_edits(project)

    update_project(project, deploy_target="render")

    assert_clean_update(project, env_before)
    assert read_answers(project)["deploy_target"] == "render"
    assert (project / "render.yaml").read_text().startswith(RENDER_V11_COMMENT + "\n")
    for name in RAILWAY_IAC_FILES:
        assert not (project / name).exists(), name
    assert not (project / ".railway").exists()
    assert (project / USER_ROUTE).is_file()
    assert (project / "README.md").read_text().startswith(USER_README_TITLE + "\n")


def test_reanswering_deletes_an_edited_file_but_git_keeps_the_edit(
    template_repo: Path, tmp_path: Path
) -> None:
    """Copier deletes a file the new answers no longer generate, edits and all. The user's
    version stays in HEAD, and the update check names it (the other Railway files, not
    edited, it lets go)."""
    project = copy_project(str(template_repo), tmp_path / "project", {"deploy_target": "railway"})
    railway_ts = project / ".railway/railway.ts"
    edited = railway_ts.read_text().replace("replicas: 1,", "replicas: 2,")
    assert edited != railway_ts.read_text()
    railway_ts.write_text(edited)
    commit_all(project, "Two replicas")

    update_project(project, deploy_target="render")

    assert not railway_ts.exists()
    deleted = git(project, "diff", "--name-only", "--diff-filter=D", "HEAD").split()
    assert ".railway/railway.ts" in deleted
    assert git(project, "show", "HEAD:.railway/railway.ts") == edited
    check = conflict_check(project)
    assert check.returncode == 1
    assert "::error file=.railway/railway.ts::the update deleted it" in check.stdout
    assert "\n+    replicas: 2,\n" in check.stdout  # the change, in the job's log
    assert ".railway/tsconfig.json" not in check.stdout


def test_update_of_a_project_copied_from_a_git_url(template_repo: Path, tmp_path: Path) -> None:
    # Copier clones a git+file:// URL exactly as it clones gh:org/repo.
    url = "git+" + template_repo.as_uri()
    project = copy_project(url, tmp_path / "project", {"deploy_target": "both"})
    env_before = make_user_edits(project)

    update_project(project, vcs_ref=None)

    assert_clean_update(project, env_before)
    answers = read_answers(project)
    assert (answers["_src_path"], answers["_commit"]) == (url, NEW)
    assert (project / ".gitignore").read_text().startswith(GITIGNORE_V11_FIRST_LINE + "\n")
    assert (project / USER_ROUTE).is_file()


def test_update_in_a_fresh_shallow_checkout_as_the_workflow_runs_it(
    template_repo: Path, tmp_path: Path
) -> None:
    """actions/checkout gives the workflow a depth-1 clone with no backend/.env."""
    url = "git+" + template_repo.as_uri()
    project = copy_project(url, tmp_path / "project", {"deploy_target": "railway"})
    make_user_edits(project)
    checkout = tmp_path / "checkout"
    git(tmp_path, "clone", "--quiet", "--depth=1", project.as_uri(), str(checkout))
    assert not (checkout / "backend/.env").exists()

    update_project(checkout, vcs_ref=None)

    assert conflict_check(checkout).returncode == 0
    assert read_answers(checkout)["_commit"] == NEW
    assert (checkout / "README.md").read_text().startswith(USER_README_TITLE + "\n")
    assert (checkout / "README.md").read_text().endswith(README_V11_SECTION)
    # What the workflow's `git add --all` commits: the template's change, never a secret.
    changed = git(checkout, "status", "--porcelain", "--ignored").splitlines()
    assert "!! backend/.env" in changed
    assert {line[3:] for line in changed if not line.startswith("!!")} >= {
        ".copier-answers.yml",
        ".gitignore",
        "README.md",
    }


def test_the_workflow_pushes_the_update_and_opens_a_pull_request(
    template_repo: Path, tmp_path: Path
) -> None:
    """The "Open a pull request" step against a local origin and a stand-in `gh` that
    records its calls; an update that deletes files lists them in the pull request."""
    url = "git+" + template_repo.as_uri()
    origin = copy_project(url, tmp_path / "origin", {"deploy_target": "railway"})
    stub_bin, gh_log = tmp_path / "bin", tmp_path / "gh.jsonl"
    stub_bin.mkdir()
    (stub_bin / "gh").write_text(
        f"#!{sys.executable}\n"
        "import json, sys\n"
        f"open({str(gh_log)!r}, 'a').write(json.dumps(sys.argv[1:]) + '\\n')\n"
        "sys.exit(1 if sys.argv[1:3] == ['pr', 'view'] else 0)\n"
    )
    (stub_bin / "gh").chmod(0o755)
    env = {"PATH": f"{stub_bin}{os.pathsep}{os.environ['PATH']}", "GH_TOKEN": "unused"}

    def checkout(name: str) -> Path:
        path = tmp_path / name
        git(tmp_path, "clone", "--quiet", "--depth=1", origin.as_uri(), str(path))
        return path

    # Nothing new from the template: nothing pushed, no pull request.
    up_to_date = run_step(checkout("unchanged"), "Open a pull request", **env)
    assert up_to_date.returncode == 0, up_to_date.stderr
    assert "Already up to date" in up_to_date.stdout
    assert not gh_log.exists()

    work = checkout("work")
    update_project(work, vcs_ref=None, deploy_target="render")
    opened = run_step(work, "Open a pull request", **env)

    assert opened.returncode == 0, opened.stdout + opened.stderr
    title = f"Update from the template ({NEW})"
    assert git(origin, "log", "-1", "--format=%s", "template-update").strip() == title
    pushed = set(git(origin, "ls-tree", "-r", "--name-only", "template-update").split())
    assert "render.yaml" in pushed and not pushed & RAILWAY_IAC_FILES
    assert "backend/.env" not in pushed
    calls = [json.loads(line) for line in gh_log.read_text().splitlines()]
    assert calls[0] == ["auth", "setup-git"]
    create = calls[-1]
    assert create[:6] == ["pr", "create", "--head", "template-update", "--title", title]
    body = create[create.index("--body") + 1]
    for name in RAILWAY_IAC_FILES:
        assert f"- `{name}`" in body


@pytest.mark.slow
def test_generated_backend_tests_pass_after_update(
    template_repo: Path, tmp_path: Path, backend_python: Path
) -> None:
    project = copy_project(str(template_repo), tmp_path / "project", {"deploy_target": "render"})
    make_user_edits(project)
    update_project(project)
    result = subprocess.run(
        [str(backend_python), "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=project / "backend",
        env=backend_env(backend_python),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]


@pytest.mark.parametrize(("name", "other_target"), [("render", "railway"), ("default", "render")])
def test_readme_explains_updating(rendered, name: str, other_target: str) -> None:
    readme = rendered(name).read("README.md")
    section = readme.split("## Updating from the template\n", 1)[1]
    prose = " ".join(section.split())
    assert re.search(r"^copier update --defaults +#", section, re.MULTILINE)
    assert "still exits 0" in prose  # so the reader looks for markers
    assert f"\ncopier update --defaults --data deploy_target={other_target}\n" in section
    assert "`backend/.env` (your local secrets) is written once and left alone" in prose


def test_update_workflow_is_lint_clean_and_pins_the_tested_copier(rendered) -> None:
    project = rendered("default")
    workflow_file = project.path / WORKFLOW
    assert actionlint(workflow_file) == ""
    assert zizmor(workflow_file) == ""
    workflow = yaml.safe_load(workflow_file.read_text())
    assert set(workflow[True]) == {"schedule", "workflow_dispatch"}  # YAML 1.1 reads `on` as True
    assert workflow["permissions"] == {}
    runs = "\n".join(s.get("run", "") for s in workflow["jobs"]["update"]["steps"])
    assert "copier update --defaults" in runs
    # The workflow runs the Copier this test suite runs.
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    test_extra = pyproject["project"]["optional-dependencies"]["test"]
    (pin,) = [p for p in test_extra if p.startswith("copier==")]
    assert f"pip install {pin}" in runs


# ---------------------------------------------------------------------------------------
# Files a release moves. Copier 9.19.1 deletes the old file and writes the new one without
# the user's edit, exits 0 and says nothing; the project's update check must not.
# ---------------------------------------------------------------------------------------
CHECK_SCRIPT = "scripts/check_template_update.py"
README_CHECK = "python3 " + CHECK_SCRIPT
TINY_CHAT = 'def reply() -> str:\n    return "hello"\n'
LOST_EDIT = re.compile(r"^(?P<path>\S+): the update deleted it.*: (?P<command>git .+)$", re.M)


def append_edit(project: Path, path: str) -> str:
    line = f"# Our change to {path}: keep it through every template update."
    file = project / path
    file.write_text(file.read_text() + line + "\n")
    return line


def readme_check(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The check as the generated README types it."""
    readme = (project / "README.md").read_text()
    (command,) = [line for line in readme.splitlines() if line.startswith(README_CHECK)]
    command = command.split("#", 1)[0].strip()
    return subprocess.run(
        ["bash", "-c", shlex.join([*shlex.split(command), *args])],
        cwd=project,
        env=tools_env(),
        capture_output=True,
        text=True,
        check=False,
    )


def run_check(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The project's check, with the Copier of these tests on PATH."""
    return subprocess.run(
        [sys.executable, CHECK_SCRIPT, *args],
        cwd=project,
        env=tools_env(),
        capture_output=True,
        text=True,
        check=False,
    )


def lost_edits(check: subprocess.CompletedProcess[str]) -> dict[str, str]:
    """{deleted file: the command the check gives to show the user's change}."""
    return {m["path"]: m["command"] for m in LOST_EDIT.finditer(check.stdout)}


def shown(project: Path, command: str) -> str:
    return subprocess.run(
        ["bash", "-c", command], cwd=project, capture_output=True, text=True, check=True
    ).stdout


def changed_lines(diff: str) -> list[str]:
    return [
        line
        for line in diff.splitlines()
        if line.startswith(("+", "-")) and not line.startswith(("+++ ", "--- "))
    ]


def anywhere(project: Path, text: str) -> list[str]:
    """The files outside .git that contain `text`."""
    return [
        str(p.relative_to(project))
        for p in project.rglob("*")
        if p.is_file() and ".git" not in p.parts and text in p.read_text(errors="replace")
    ]


@pytest.fixture(scope="module")
def moving_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny template whose v2 moves app/chat.py to app/chat/routes.py and app/health.py
    to app/health/__init__.py, and changes nothing else: the mechanism on its own."""
    repo = tmp_path_factory.mktemp("moving-template")
    tpl = repo / "template"
    (repo / "copier.yml").write_text(
        "_subdirectory: template\nname:\n  type: str\n  default: demo\n"
    )
    files = {
        "{{_copier_conf.answers_file}}.jinja": "{{ _copier_answers | to_nice_yaml }}",
        "README.md.jinja": "# {{ name }}\n",
        "app/chat.py": TINY_CHAT,
        "app/health.py": 'STATUS = "ok"\n',
    }
    for path, text in files.items():
        (tpl / path).parent.mkdir(parents=True, exist_ok=True)
        (tpl / path).write_text(text)
    (tpl / "scripts").mkdir()
    shutil.copy2(REPO / "template" / CHECK_SCRIPT, tpl / CHECK_SCRIPT)
    git(repo, "init", "--quiet", "--initial-branch=main")
    commit_all(repo, "v1")
    git(repo, "tag", "v1")
    (tpl / "app/chat").mkdir()
    (tpl / "app/chat.py").rename(tpl / "app/chat/routes.py")
    (tpl / "app/health").mkdir()
    (tpl / "app/health.py").rename(tpl / "app/health/__init__.py")
    commit_all(repo, "v2: one folder per feature")
    git(repo, "tag", "v2")
    return repo


def test_check_names_a_moved_file_whose_edit_the_update_dropped(
    moving_template: Path, tmp_path: Path
) -> None:
    project = copy_project(str(moving_template), tmp_path / "project", {}, vcs_ref="v1")
    edit = append_edit(project, "app/chat.py")
    commit_all(project, "Our change")

    update_project(project, vcs_ref="v2")

    # What Copier does: the edited file is gone, its replacement lacks the edit, no marker.
    assert not (project / "app/chat.py").exists()
    assert (project / "app/chat/routes.py").read_text() == TINY_CHAT
    assert anywhere(project, edit) == []
    assert anywhere(project, "\n<<<<<<< ") == []
    # What the check does: exit 1, the edited file named with a command that shows the edit;
    # the unedited moved file is not named.
    check = run_check(project)
    assert check.returncode == 1, check.stdout + check.stderr
    lost = lost_edits(check)
    assert list(lost) == ["app/chat.py"], check.stdout
    assert re.fullmatch(r"git diff [0-9a-f]{12} [0-9a-f]{12}:app/chat\.py", lost["app/chat.py"])
    diff = shown(project, lost["app/chat.py"])
    assert f"\n+{edit}\n" in diff
    assert changed_lines(diff) == [f"+{edit}"]
    # Once the update is committed the same check, given the commit before it, still finds
    # it, and the command it gave still works.
    commit_all(project, "Update from the template (v2)")
    again = run_check(project, "HEAD~1")
    assert again.returncode == 1
    assert lost_edits(again) == lost
    assert f"\n+{edit}\n" in shown(project, lost["app/chat.py"])


def test_check_passes_when_the_moved_files_were_not_edited(
    moving_template: Path, tmp_path: Path
) -> None:
    project = copy_project(str(moving_template), tmp_path / "project", {}, vcs_ref="v1")
    readme = project / "README.md"
    readme.write_text(readme.read_text() + "Our notes.\n")  # an edit in a file that stays
    commit_all(project, "Our notes")

    update_project(project, vcs_ref="v2")

    assert not (project / "app/chat.py").exists()
    check = run_check(project)
    assert check.returncode == 0, check.stdout + check.stderr
    assert check.stdout == ""
    assert readme.read_text() == "# demo\nOur notes.\n"


# ---------------------------------------------------------------------------------------
# The real thing: the last release, rebuilt from this repository's history, updated to the
# working tree. LAST_RELEASE is the commit v0.1.0 users have; NEXT stands for the release
# being prepared.
# ---------------------------------------------------------------------------------------
LAST_RELEASE, PREVIOUS, NEXT = "bdc294c4cf56b0e83bf1b57fd5d84b1cfbf442f2", "v0.1.0", "v1.0.0"
# Files the restructure moves that a team is most likely to have edited.
EDITED_MOVED = [
    "backend/app/api/chat.py",
    "backend/app/services/ai.py",
    "backend/app/core/security.py",
]
UNEDITED_MOVED = "backend/app/api/health.py"
# Answer sets of the last release that together generate every file it could generate.
PREVIOUS_ANSWER_SETS: list[dict[str, Any]] = [
    {},
    {"deploy_target": "railway", "railway_config": "json"},
    {"integrations": []},
    {"integrations": ["google_oauth"]},
]


@pytest.fixture(scope="module")
def releases(template_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """LAST_RELEASE's template tagged PREVIOUS, and the working tree on top tagged NEXT."""
    repo = tmp_path_factory.mktemp("releases")
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", "--format=tar", LAST_RELEASE],
        capture_output=True,
        check=False,
    )
    assert archive.returncode == 0, (
        f"{LAST_RELEASE} (release {PREVIOUS}) is not in this clone's history"
        f" (git fetch --unshallow): {archive.stderr.decode()}"
    )
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(repo, filter="data")
    git(repo, "init", "--quiet", "--initial-branch=main")
    commit_all(repo, f"Release {PREVIOUS}", force=True)
    git(repo, "tag", PREVIOUS)
    git(repo, "rm", "-r", "--quiet", ".")  # the new release is the working tree, whole
    shutil.copytree(template_dir, repo, dirs_exist_ok=True)
    commit_all(repo, f"Release {NEXT}", force=True)
    git(repo, "tag", NEXT)
    return repo


def test_update_across_the_restructure_stops_on_each_edited_moved_file(
    releases: Path, tmp_path: Path
) -> None:
    url = "git+" + releases.as_uri()
    project = copy_project(url, tmp_path / "project", {}, vcs_ref=PREVIOUS)
    edits = {path: append_edit(project, path) for path in EDITED_MOVED}
    env_before = make_user_edits(project)  # commits the edits above too

    update_project(project, vcs_ref=NEXT)

    assert read_answers(project)["_commit"] == NEXT
    for path, edit in edits.items():
        assert not (project / path).exists(), f"{path} did not move"
        assert anywhere(project, edit) == [], f"Copier carried {path}'s edit over"
    assert not (project / UNEDITED_MOVED).exists(), f"{UNEDITED_MOVED} did not move"
    # The workflow's step: fails, annotates each edited file, and prints each change
    # (its runner's clone is gone when the job ends).
    step = conflict_check(project)
    assert step.returncode == 1, step.stdout + step.stderr
    for path, edit in edits.items():
        assert (
            f"::error file={path}::the update deleted it, and it had your changes: " in step.stdout
        )
        assert f"::group::Your changes to {path}\n" in step.stdout
        assert f"\n+{edit}\n" in step.stdout
    assert UNEDITED_MOVED not in step.stdout
    # The README's command: names the same files, each with a command that shows the edit.
    check = readme_check(project)
    assert check.returncode == 1, check.stdout + check.stderr
    lost = lost_edits(check)
    assert sorted(lost) == sorted(EDITED_MOVED), check.stdout
    for path, command in lost.items():
        assert changed_lines(shown(project, command)) == [f"+{edits[path]}"], command
    # Everything else the user did is still there.
    assert (project / "README.md").read_text().startswith(USER_README_TITLE + "\n")
    assert (project / ".gitignore").read_text().endswith("\n" + USER_GITIGNORE_LINE + "\n")
    assert (project / USER_ROUTE).read_text() == '"""Our own endpoints."""\n'
    assert (project / "backend/.env").read_bytes() == env_before


def test_update_across_the_restructure_passes_the_check_without_edits_there(
    releases: Path, tmp_path: Path
) -> None:
    project = copy_project(str(releases), tmp_path / "project", {}, vcs_ref=PREVIOUS)
    env_before = make_user_edits(project)

    update_project(project, vcs_ref=NEXT)

    assert not (project / UNEDITED_MOVED).exists(), f"{UNEDITED_MOVED} did not move"
    assert_clean_update(project, env_before)
    assert readme_check(project).returncode == 0


@pytest.mark.parametrize("deploy_target", ["railway", "both"])
def test_railway_json_project_updates_to_infrastructure_as_code(
    releases: Path, tmp_path: Path, deploy_target: str
) -> None:
    """Railway stopped reading railway.json on 2026-12-01: the release that drops the
    question moves such a project to .railway/railway.ts with no answer to give."""
    answers = {"deploy_target": deploy_target, "railway_config": "json"}
    project = copy_project(str(releases), tmp_path / "project", answers, vcs_ref=PREVIOUS)
    assert (project / "backend/railway.json").is_file()
    assert not (project / ".railway").exists()
    env_before = make_user_edits(project)

    update_project(project, vcs_ref=NEXT)

    assert_clean_update(project, env_before)
    assert readme_check(project).returncode == 0
    assert not (project / "backend/railway.json").exists()
    assert (project / ".railway/railway.ts").is_file()
    assert (project / ".railway/package.json").is_file()
    answers_after = read_answers(project)
    assert answers_after["deploy_target"] == deploy_target
    assert "railway_config" not in answers_after
    assert (project / "README.md").read_text().startswith(USER_README_TITLE + "\n")
    assert (project / ".gitignore").read_text().endswith("\n" + USER_GITIGNORE_LINE + "\n")
    assert (project / USER_ROUTE).read_text() == '"""Our own endpoints."""\n'
    assert not (project / USER_DELETED).exists()


def updating_notes_since_previous() -> str:
    """The Unreleased entry and every release after PREVIOUS, as CHANGELOG.md has them."""
    changelog = (REPO / "CHANGELOG.md").read_text()
    return changelog.split("\n## [Unreleased]\n", 1)[1].split(f"\n## [{PREVIOUS}]", 1)[0]


def test_updating_notes_list_every_file_the_release_stops_generating(
    releases: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Each file PREVIOUS generated and this release does not is named in the changelog
    since PREVIOUS; each "`old` → `new`" there names a file this release generates."""
    notes = updating_notes_since_previous()
    gone: set[str] = set()
    generated: set[str] = set()
    for answers in PREVIOUS_ANSWER_SETS:
        old = render_project(releases, tmp_path_factory.mktemp("old"), answers, vcs_ref=PREVIOUS)
        new = render_project(releases, tmp_path_factory.mktemp("new"), answers, vcs_ref=NEXT)
        gone |= old.files() - new.files()
        generated |= new.files()
    assert sorted(p for p in gone if f"`{p}`" not in notes) == []
    moves = re.findall(r"`([^`]+)` → `([^`]+)`", notes)
    assert sorted(new for _, new in moves if new not in generated) == []
    assert sorted(old for old, _ in moves if old not in gone) == []


def test_message_after_update_gives_the_check_that_the_workflow_runs(
    template_repo: Path, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    project = copy_project(str(template_repo), tmp_path / "project", {"deploy_target": "none"})
    capfd.readouterr()
    copier.run_update(project, defaults=True, overwrite=True, unsafe=False, vcs_ref=NEW)
    message = capfd.readouterr().err
    (line,) = [line.strip() for line in message.splitlines() if CHECK_SCRIPT in line]
    assert line.split("#", 1)[0].strip() == README_CHECK
    assert readme_check(project).returncode == 0  # the same command, as the README has it
    steps = yaml.safe_load((project / WORKFLOW).read_text())["jobs"]["update"]["steps"]
    (step,) = [s for s in steps if s.get("name") == "Check the update"]
    assert step["run"] == f"python {CHECK_SCRIPT}"
