"""Hypothesis in CI runs with a fixed seed and no examples database, so a red run is the code's and the next run
shows the same example; locally the default profile, its examples database in .hypothesis/, which git ignores.
(tests/conftest.py loads the profile from CI / HYPOTHESIS_PROFILE; a fresh interpreter per environment.)"""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SHOW = """
import tests.conftest
from hypothesis import settings
from hypothesis.database import DirectoryBasedExampleDatabase
s = settings.default
print(s.derandomize, isinstance(s.database, DirectoryBasedExampleDatabase), getattr(s.database, "path", None),
      s.print_blob)
"""


def profile(**env) -> list[str]:
    environment = {k: v for k, v in os.environ.items() if k not in ("CI", "HYPOTHESIS_PROFILE")}
    done = subprocess.run([sys.executable, "-c", SHOW], cwd=ROOT, env={**environment, **env}, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.split()


def test_under_ci_the_seed_is_fixed_and_no_examples_are_kept():
    assert profile(CI="true") == ["True", "False", "None", "True"]
    assert profile(CI="true", HYPOTHESIS_PROFILE="default")[0] == "False"  # asked for by name: that one


def test_locally_examples_are_kept_where_git_ignores_them():
    derandomize, database, path, _ = profile()
    assert (derandomize, database) == ("False", "True")
    assert Path(path).relative_to(ROOT).parts[0] == ".hypothesis"
    assert ".hypothesis/" in (ROOT / ".gitignore").read_text().split()
