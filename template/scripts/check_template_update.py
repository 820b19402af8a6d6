#!/usr/bin/env python3
"""Check what `copier update` left before you commit it: exit 1 if something needs you.

Copier exits 0 in two cases that can cost you work:

- it left a conflict: `<<<<<<< before updating` markers in a file, or a `.rej` file;
- it deleted a file that you had changed, because the new template release no longer
  generates it (a file moved, or an answer changed). Its replacement, if any, is written
  without your change, and nothing says so.

For the second, it renders the release you updated from (the `_commit` in the last
commit's `.copier-answers.yml`) with your answers into a temporary folder, as Copier
does, and compares each deleted file with what that release generated. It needs the
`copier` and the template source the update used, and no --trust.

Run it from the project after `copier update --defaults`, before you commit:

    python3 scripts/check_template_update.py          # compares with HEAD
    python3 scripts/check_template_update.py HEAD~1   # once the update is committed
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ANSWERS_FILE = ".copier-answers.yml"
MARKERS = ("<<<<<<< ", ">>>>>>> ")
ON_GITHUB = os.environ.get("GITHUB_ACTIONS") == "true"


def git(*args: str) -> str:
    return subprocess.run(
        ["git", *args], check=True, capture_output=True
    ).stdout.decode()


def report(path: str, message: str) -> None:
    """One problem per line; GitHub Actions shows the annotation on the file."""
    print(f"::error file={path}::{message}" if ON_GITHUB else f"{path}: {message}")


def conflicts() -> list[str]:
    """Files with conflict markers and .rej files, tracked or new (ignored ones too for
    .rej, since the project's .gitignore hides them); build folders are not searched."""
    found: list[str] = []
    listed = git("ls-files", "-z", "--cached", "--others", "--exclude-standard")
    for path in sorted(set(filter(None, listed.split("\0")))):
        file = Path(path)
        if path.endswith(".rej"):
            found.append(path)
        elif file.is_file() and not file.is_symlink():
            with file.open("rb") as f:
                if any(line.startswith(m.encode()) for line in f for m in MARKERS):
                    found.append(path)
    rejects = git(
        "ls-files", "-z", "--others", "--ignored", "--exclude-standard", "*.rej"
    )
    return found + sorted(filter(None, rejects.split("\0")))


def answer(answers: str, key: str) -> str:
    """A top-level scalar of the answers file as Copier writes it (plain or quoted)."""
    for line in answers.splitlines():
        if line.startswith(f"{key}: "):
            value = line.split(": ", 1)[1].strip()
            if value[:1] == "'" and value[-1:] == "'":
                return value[1:-1].replace("''", "'")
            if value[:1] == '"' and value[-1:] == '"':
                return value[1:-1].replace('\\"', '"').replace("\\\\", "\\")
            return value
    raise SystemExit(f"{ANSWERS_FILE} has no {key}: is this a project made by Copier?")


def render_old_release(base: str, dst: Path) -> None:
    """What the release recorded at `base` generated with the answers recorded there."""
    answers = git("show", f"{base}:{ANSWERS_FILE}")
    data_file = dst.parent / "answers.yml"
    data_file.write_text(answers)
    copier = shutil.which("copier")
    if copier is None:
        raise SystemExit("The check needs copier on PATH: pipx install copier")
    command = [copier, "copy", "--quiet", "--defaults"]
    command += ["--vcs-ref", answer(answers, "_commit"), "--data-file", str(data_file)]
    command += [answer(answers, "_src_path"), str(dst)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.stderr.write(done.stdout + done.stderr)
        raise SystemExit(
            "Could not render the release you updated from, so the files the update"
            f" deleted were not checked for your changes: {shlex.join(command)}"
        )


def lost_changes(base: str) -> list[tuple[str, list[str]]]:
    """(path, git command that shows your change) for each file the update deleted
    that differs from what the old release generated for it."""
    deleted = git("diff", "-z", "--no-renames", "--name-only", "--diff-filter=D", base)
    paths = sorted(filter(None, deleted.split("\0")))
    if not paths:
        return []  # nothing deleted: nothing to render, works offline
    commit = git("rev-parse", "--short=12", base).strip()
    lost: list[tuple[str, list[str]]] = []
    with tempfile.TemporaryDirectory(prefix="check-template-update.") as tmp:
        old = Path(tmp) / "old"
        render_old_release(base, old)
        for path in paths:
            yours = git("rev-parse", f"{base}:{path}").strip()
            generated = old / path
            if not generated.is_file():
                # Copier deletes only files it generated: this one was deleted since.
                lost.append((path, ["git", "show", f"{commit}:{path}"]))
                continue
            # Written to this repository, so the command works after the check.
            blob = git("hash-object", "-w", f"--path={path}", "--", str(generated))
            if blob.strip() != yours:
                diff = ["git", "diff", blob[:12], f"{commit}:{path}"]
                lost.append((path, diff))
    return lost


def main() -> int:
    base = sys.argv[1] if len(sys.argv) > 1 else "HEAD"
    os.chdir(git("rev-parse", "--show-toplevel").strip())
    left = conflicts()
    for path in left:
        report(path, "copier update left a conflict here")
    lost = lost_changes(base)
    for path, command in lost:
        shown = shlex.join(command)
        report(path, f"the update deleted it, and it had your changes: {shown}")
        if ON_GITHUB:  # the runner's clone is gone once the job ends
            print(f"::group::Your changes to {path}")
            print(git(*command[1:]), end="")
            print("::endgroup::")
    if left:
        print(
            "Resolve each conflict (keep your lines, the template's, or both),"
            " delete the markers and any .rej file, then commit."
        )
    if lost:
        print(
            "Carry each change over by hand, into the file that replaces it if the"
            " template moved it (the template's CHANGELOG says where), then commit."
        )
    if (left or lost) and ON_GITHUB:
        print("Run 'copier update --defaults' on your machine and fix these there.")
    return 1 if left or lost else 0


if __name__ == "__main__":
    sys.exit(main())
