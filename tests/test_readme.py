"""The README's example runs as printed (its first page must not go stale)."""
import os
import re

import pytest

from helpers.running import run_python

README = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "README.md")


def test_the_readme_example_runs(tmp_path):
    if not os.path.exists(README):
        pytest.skip("README.md is not beside tests/ (an installed copy of the tests)")
    with open(README, encoding="utf-8") as f:
        blocks = re.findall(r"```python\n(.*?)```", f.read(), re.S)
    assert blocks, "the README has no python example"
    done = run_python(blocks[0], str(tmp_path), timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "'accuracy':" in done.stdout, done.stdout[-3000:]
