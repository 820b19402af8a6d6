"""Railway's IaC SDK and TypeScript, installed once per machine for type-checking
generated `.railway/railway.ts` files offline.

The versions come from the generated `.railway/package.json` (hooks/versions.yml), so the
tests check against exactly what a user installs. One install is shared by all xdist
workers: a file lock guards it and a marker file says it finished.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "copier-fastapi-flutter"


def node_modules_for(package_json: Path) -> Path:
    """A node_modules folder with the devDependencies of `package_json` installed."""
    deps = json.loads(package_json.read_text())["devDependencies"]
    key = hashlib.sha256(json.dumps(deps, sort_keys=True).encode()).hexdigest()[:16]
    home = CACHE / f"railway-sdk-{key}"
    home.mkdir(parents=True, exist_ok=True)
    done = home / ".installed"
    with open(home / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not done.exists():
            (home / "package.json").write_text(
                json.dumps({"private": True, "devDependencies": deps}, indent=2)
            )
            subprocess.run(
                ["npm", "install", "--no-audit", "--no-fund", "--loglevel=error"],
                cwd=home,
                check=True,
                capture_output=True,
            )
            done.touch()
    return home / "node_modules"


def tsc(railway_dir: Path) -> subprocess.CompletedProcess[str]:
    """`tsc --noEmit -p .` on a generated .railway/ folder, as its `npm run check` does.
    It runs on a copy, so the project (possibly shared by other tests) is left as it is."""
    modules = node_modules_for(railway_dir / "package.json")
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch) / ".railway"
        shutil.copytree(railway_dir, work, ignore=shutil.ignore_patterns("node_modules"))
        (work / "node_modules").symlink_to(modules, target_is_directory=True)
        return subprocess.run(
            [str(modules / ".bin" / "tsc"), "--noEmit", "-p", "."],
            cwd=work,
            capture_output=True,
            text=True,
            check=False,
        )
