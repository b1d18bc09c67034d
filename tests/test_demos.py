"""``fastrnn demo dates|reverse`` run end to end (shrunk: few pairs, one
epoch, no plot) and print their results; the full runs' numbers are in the
README."""
import pytest

from fastrnn import cli


@pytest.mark.parametrize("name, expected", [("dates", "held-out exact match"),
                                            ("reverse", "input length")])
def test_demo_runs(capsys, tmp_path, name, expected):
    assert cli.main(["demo", name, "--n", "300", "--epochs", "1", "--no-plot",
                     "--no-progress", "--out", str(tmp_path)]) == 0
    assert expected in capsys.readouterr().out
    assert list(tmp_path.iterdir()) == []


def test_demo_rejects_bad_sizes(capsys):
    assert cli.main(["demo", "dates", "--epochs", "0"]) == 2
    assert "--epochs must be >= 1" in capsys.readouterr().err
