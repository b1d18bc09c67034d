"""``fastrnn bench`` / ``fastrnn config``: the command runs end to end and
writes what it promises (no timing is asserted: speed is measured, not
tested)."""
import json
import os

import pytest

import fastrnn as fr
from fastrnn import benchmark, cli


def test_bench_runs_and_writes_json(tmp_path, capsys):
    path = tmp_path / "bench.json"
    rc = cli.main(["bench", "--cells", "rnn,gru", "--shapes", "2,5,3,4", "--rounds", "1",
                   "--threads", "1", "--no-progress", "--json", str(path)])
    assert rc == 0
    out = capsys.readouterr().out
    assert "fastrnn ms" in out and "OpenMP" in out
    assert "sgemm peak, the higher of before and after the run:" in out
    data = json.loads(path.read_text())
    assert data["sgemm_peak_gflops"] > 0
    rows = data["results"]
    assert {(r["cell"], r["mode"]) for r in rows} == {
        ("rnn", "infer"), ("rnn", "train"), ("gru", "infer"), ("gru", "train")}
    for r in rows:
        assert r["fastrnn"] > 0 and r["gflops"] > 0
        assert (r["B"], r["T"], r["I"], r["H"]) == (2, 5, 3, 4)
        if r["mode"] == "infer":
            assert r["floor"] > 0 and r["frozen"] > 0
    # Where it ran, recorded beside the numbers.
    where = data["machine"]
    assert data["threads"] == 1
    assert set(where) == {"date", "cpu", "isa", "processors", "kernels", "versions", "commit"}
    assert where["kernels"] in ("baseline", "avx2", "avx512") and where["processors"] >= 1
    assert where["versions"]["fastrnn"] == fr.__version__
    assert where["date"] in out and where["cpu"] in out


def test_current_table_renders_a_saved_run(tmp_path):
    """bench/current.py formats a `fastrnn bench --json` run: the machine
    record first, then the table and each point against the targets."""
    current = _current_script()
    row = {"cell": "lstm", "mode": "infer", "B": 1, "T": 100, "I": 128, "H": 128,
           "fastrnn": 0.3, "torch": 0.5, "onnxruntime": 0.25, "gflops": 80.0, "frozen": 0.29}
    doc = {"machine": {"date": "2026-12-04", "cpu": "AMD EPYC", "isa": ["avx2", "fma"],
                       "processors": 2, "kernels": "avx2", "versions": {"fastrnn": "0.1.0"},
                       "commit": "abc1234"},
           "threads": 2, "sgemm_peak_gflops": 200.0,
           "results": [row, dict(row, mode="train", fastrnn=0.35)]}
    text = current.render(doc)
    assert "date: 2026-12-04; commit: abc1234" in text and "ISA: avx2 fma" in text
    assert "| lstm infer B=1 T=100 H=128 | 80 | 1.20 of the best engine -> not met |" in text
    assert "| lstm train B=1 T=100 H=128 | 80 | 0.70 of torch -> met |" in text
    assert "(1 of 2 met)" in text
    headline = current.render_headline(doc)
    assert "AMD EPYC, 2 threads, float32, 2026-12-04, commit abc1234" in headline
    assert "| LSTM inference, batch 1, T=100, H=128 | **0.30** | 0.50 | 0.25 | - |" in headline


def test_current_low_precision_page_renders_a_saved_run():
    current = _current_script()
    row = {"cell": "lstm", "B": 16, "T": 100, "I": 256, "H": 256, "precision": "int8",
           "float32": 8.0, "fastrnn": 3.0, "torch": 8.0, "onnxruntime": 2.9,
           "err_fastrnn": 0.01, "err_torch": 0.03, "err_onnxruntime": 0.014}
    doc = {"machine": {"date": "2026-12-04", "cpu": "AMD EPYC", "isa": ["avx2", "fma"],
                       "processors": 2, "kernels": "avx512", "versions": {"fastrnn": "0.1.0"},
                       "commit": "abc1234"},
           "threads": 2, "precision": "int8",
           "results": [row, dict(row, B=1, float32=0.3, fastrnn=0.2, onnxruntime=0.3)]}
    text = current.render_precision(doc)
    assert text.startswith("# fastrnn at int8") and "commit: abc1234" in text
    assert "| lstm B=16 T=100 H=256 | 2.67x float32 slower than onnxruntime -> not met |" in text
    assert "| lstm B=1 T=100 H=256 | 1.50x float32 (the 1.8x target is for B >= 16) -> met |" \
        in text
    assert "(1 of 2 met)" in text


def _current_script():
    import importlib.util

    script = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                          "bench", "current.py")
    if not os.path.exists(script):
        pytest.skip("bench/ is not beside the tests (an installed copy of the tests)")
    spec = importlib.util.spec_from_file_location("current", script)
    current = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(current)
    return current


def test_bench_plot_writes_a_png(tmp_path):
    pytest.importorskip("matplotlib")   # installed in CI (the plot extra)
    path = tmp_path / "bench.png"
    rc = cli.main(["bench", "--cells", "lstm", "--mode", "infer", "--shapes", "1,4,2,3",
                   "--rounds", "1", "--no-progress", "--plot", str(path)])
    assert rc == 0
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_bench_plot_without_matplotlib_is_refused_before_the_run(tmp_path, capsys, monkeypatch):
    """--plot was asked for: no matplotlib is an error now, not a note after
    the whole run."""
    real_find_spec = cli.importlib.util.find_spec
    monkeypatch.setattr(cli.importlib.util, "find_spec",
                        lambda name, *a: None if name == "matplotlib" else real_find_spec(name, *a))
    monkeypatch.setattr(cli.benchmark, "run", lambda *a, **k: pytest.fail("the bench ran"))
    rc = cli.main(["bench", "--quick", "--no-progress", "--plot", str(tmp_path / "b.png")])
    assert rc == 2
    assert "--plot needs matplotlib, which is not installed" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [["bench", "--cells", "transformer"],
                                  ["bench", "--threads", "0"]])
def test_bench_refuses_bad_arguments(argv, capsys):
    assert cli.main(argv) == 2
    assert "fastrnn bench" in capsys.readouterr().err


def test_bench_refuses_a_malformed_shape():
    with pytest.raises(SystemExit):
        cli.main(["bench", "--shapes", "1,2,3"])


def test_config_command(capsys):
    assert cli.main(["config"]) == 0
    assert "OpenMP" in capsys.readouterr().out


def test_onnx_gate_order_matches_onnx_conventions():
    import numpy as np

    H = 2
    w = np.arange(4 * H)[:, None]  # blocks i f g o
    assert benchmark._onnx_gate_order("lstm", H, w)[:, 0].tolist() == [0, 1, 6, 7, 2, 3, 4, 5]
    w = np.arange(3 * H)[:, None]  # blocks r z n -> z r h
    assert benchmark._onnx_gate_order("gru", H, w)[:, 0].tolist() == [2, 3, 0, 1, 4, 5]


def _no_bench_work(monkeypatch):
    """Any step of a benchmark run fails the test: a refusal comes first."""
    def started(*args, **kwargs):
        pytest.fail("the benchmark started before the refusal")
    for name in ("run", "sgemm_peak", "format_table"):
        monkeypatch.setattr(benchmark, name, started)
    monkeypatch.setattr(cli, "show_config", started)


def _read_only(monkeypatch, folder):
    """os.access says no to writing in ``folder``, as it does to a user
    without write permission there.  Simulated because these tests run as
    root, who may write anywhere on a writable file system (os.access says
    yes, and the write would succeed): what this covers is that the CLI asks
    os.access about the right folder before any work, and refuses cleanly."""
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: False if os.fspath(p) == str(folder)
                        and mode & os.W_OK else real_access(p, mode))


@pytest.mark.parametrize("option", ["--json", "--plot"])
@pytest.mark.parametrize("case", ["read-only folder", "read-only file", "in a file", "a folder"])
def test_bench_refuses_an_output_it_cannot_write_before_any_work(tmp_path, monkeypatch, capsys,
                                                                 option, case):
    _no_bench_work(monkeypatch)
    (tmp_path / "a-file").write_text("")
    (tmp_path / "out.json").write_text("")
    if case == "read-only folder":
        path, problem = tmp_path / "out.png", "is not writable"
        _read_only(monkeypatch, tmp_path)
    elif case == "read-only file":       # an existing file is replaced: it must be writable
        path, problem = tmp_path / "out.json", "out.json' is not writable"
        _read_only(monkeypatch, path)
    elif case == "in a file":            # real: nobody, root included, can create this
        path, problem = tmp_path / "a-file" / "out.json", "a-file' is not a folder"
    else:                                # real: a folder is no file path
        path, problem = tmp_path, "must be a file path, got the folder"
    status = cli.main(["bench", "--cells", "rnn", "--shapes", "1,2,3,4", option, str(path)])
    err = capsys.readouterr().err
    assert status == 2 and "Traceback" not in err
    assert err.startswith(f"fastrnn bench: {option} must be ") and problem in err, err


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0,
                    reason="root can write into any folder")
def test_bench_refuses_a_really_read_only_folder(tmp_path, monkeypatch, capsys):
    _no_bench_work(monkeypatch)
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        assert cli.main(["bench", "--json", str(folder / "b.json")]) == 2
    finally:
        folder.chmod(0o700)
    assert "is not writable" in capsys.readouterr().err
