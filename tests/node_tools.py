"""Railway's IaC SDK and TypeScript, installed once per machine for type-checking
generated `.railway/railway.ts` files offline.

The install is `npm ci` from the generated `.railway/package-lock.json`, as the generated
CI and README do, so the tests check against exactly the tree a user installs (and fail
when the lock and package.json disagree). One install is shared by all xdist
workers: a file lock guards it and a marker file says it finished.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "copier-fastapi-flutter"


def node_modules_for(railway_dir: Path) -> Path:
    """A node_modules folder installed by `npm ci` from railway_dir's lock."""
    files = ("package.json", "package-lock.json")
    key = hashlib.sha256(b"".join((railway_dir / f).read_bytes() for f in files)).hexdigest()
    home = CACHE / f"railway-sdk-{key[:16]}"
    home.mkdir(parents=True, exist_ok=True)
    done = home / ".installed"
    with open(home / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not done.exists():
            for name in files:
                shutil.copy2(railway_dir / name, home / name)
            subprocess.run(
                ["npm", "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"],
                cwd=home,
                check=True,
                capture_output=True,
            )
            done.touch()
    return home / "node_modules"


def tsc(railway_dir: Path) -> subprocess.CompletedProcess[str]:
    """`tsc --noEmit -p .` on a generated .railway/ folder, as its `npm run check` does.
    It runs on a copy, so the project (possibly shared by other tests) is left as it is."""
    modules = node_modules_for(railway_dir)
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
