"""``fastrnn bench`` / ``fastrnn config``: the command runs end to end and
writes what it promises (no timing is asserted: speed is measured, not
tested)."""
import json

import pytest

from fastrnn import benchmark, cli


def test_bench_runs_and_writes_json(tmp_path, capsys):
    path = tmp_path / "bench.json"
    rc = cli.main(["bench", "--cells", "rnn,gru", "--shapes", "2,5,3,4", "--rounds", "1",
                   "--threads", "1", "--no-progress", "--json", str(path)])
    assert rc == 0
    out = capsys.readouterr().out
    assert "fastrnn ms" in out and "OpenMP" in out
    data = json.loads(path.read_text())
    rows = data["results"]
    assert {(r["cell"], r["mode"]) for r in rows} == {
        ("rnn", "infer"), ("rnn", "train"), ("gru", "infer"), ("gru", "train")}
    for r in rows:
        assert r["fastrnn"] > 0 and r["gflops"] > 0
        assert (r["B"], r["T"], r["I"], r["H"]) == (2, 5, 3, 4)
        if r["mode"] == "infer":
            assert r["floor"] > 0


def test_bench_plot_or_says_why_not(tmp_path, capsys):
    path = tmp_path / "bench.png"
    rc = cli.main(["bench", "--cells", "lstm", "--mode", "infer", "--shapes", "1,4,2,3",
                   "--rounds", "1", "--no-progress", "--plot", str(path)])
    assert rc == 0
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        assert "matplotlib is not installed" in capsys.readouterr().err
    else:
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


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
