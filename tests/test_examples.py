"""The scripts in examples/ run end to end (shortened: a few steps or one
epoch, no plot) and print their results; the full runs and their numbers are
in the user guide (docs/guide.md)."""
import os

import pytest

from helpers.running import run_python

EXAMPLES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples")
RUNS = {
    "adding_problem.py": (["--steps", "20", "--eval-every", "10", "--no-plot"], "solved"),
    "sentiment.py": (["--epochs", "1", "--no-plot"], "test accuracy"),
    "forecasting.py": (["--epochs", "1", "--no-plot"], "oracle (true AR coefficients)"),
    "char_lm.py": (["--epochs", "1", "--no-plot"], "temperature 0.8"),
}


@pytest.mark.parametrize("script", sorted(RUNS))
def test_example_runs(tmp_path, script):
    if not os.path.isdir(EXAMPLES):
        pytest.skip("examples/ is not next to tests/ (an installed copy of the tests)")
    args, expected = RUNS[script]
    path = os.path.join(EXAMPLES, script)
    code = (f"import runpy, sys; sys.path.insert(0, {EXAMPLES!r}); "
            f"sys.argv = [{path!r}] + {args!r}; runpy.run_path({path!r}, run_name='__main__')")
    done = run_python(code, str(tmp_path), timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert expected in done.stdout, done.stdout[-3000:]
    assert os.listdir(tmp_path) == []        # --no-plot writes nothing
