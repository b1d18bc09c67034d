"""``fastrnn demo dates|reverse`` run end to end (shrunk: few pairs, one
epoch, no plot) and print their results; the full runs' numbers are in the
user guide (docs/guide.md)."""
import os

import pytest

from fastrnn import cli, demos


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


def _no_demo_work(monkeypatch):
    def started(*args, **kwargs):
        pytest.fail("the demo started before the refusal")
    for name in ("dates", "reverse"):
        monkeypatch.setattr(demos, name, started)
    monkeypatch.setattr(demos.datasets, "dates", started)
    monkeypatch.setattr(demos.datasets, "reverse_task", started)


@pytest.mark.parametrize("name", ["dates", "reverse"])
def test_demo_refuses_an_out_folder_where_a_plot_is_a_folder(tmp_path, monkeypatch, capsys,
                                                             name):
    """Real (root cannot write a file where a folder is): each plot path the
    demo will write is checked before training."""
    plot = demos.PLOT_FILES[name][-1]
    (tmp_path / plot).mkdir()
    _no_demo_work(monkeypatch)
    assert cli.main(["demo", name, "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert f"--out must be a folder where the demo can write {plot}, got '{tmp_path}' " in err
    assert "is a folder)" in err


def test_demo_refuses_a_read_only_out_before_training(tmp_path, monkeypatch, capsys):
    """Simulated: these tests run as root, for whom os.access (and the
    write) says any folder is writable, so os.access is made to answer for
    ``tmp_path`` as it would to a user without write permission there."""
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: False if os.fspath(p) == str(tmp_path)
                        and mode & os.W_OK else real_access(p, mode))
    _no_demo_work(monkeypatch)
    assert cli.main(["demo", "dates", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and f"'{tmp_path}' is not writable" in err


def test_demo_functions_check_out_before_training(tmp_path, monkeypatch):
    """The Python entry points check too (a script calling demos.dates)."""
    (tmp_path / "dates_history.png").mkdir()
    monkeypatch.setattr(demos.datasets, "dates",
                        lambda *a, **k: pytest.fail("data generated before the refusal"))
    with pytest.raises(ValueError, match="out must be a folder where the demo can write "
                                         "dates_history.png"):
        demos.dates(out=str(tmp_path))
    with pytest.raises(ValueError, match="out must be an existing folder, got"):
        demos.dates(out=str(tmp_path / "missing"))
