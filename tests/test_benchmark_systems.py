"""``fastrnn bench``'s optional systems: OpenVINO (the same ONNX model as ONNX
Runtime, compiled for f32) is timed where installed, its outputs are checked
against fastrnn's before any timing, and a missing openvino is a one-line
skip.  No timing is asserted.

Where openvino / onnx are not installed the tests that need them skip, except
under ``FASTRNN_REQUIRE_BENCH_SYSTEMS=1`` (CI), where a missing one fails."""
import json
import os
import sys

import numpy as np
import pytest

from fastrnn import benchmark, cli

TINY = ["--shapes", "2,5,3,4", "--rounds", "1", "--threads", "1", "--no-progress"]


def _need(*modules):
    for name in modules:
        try:
            __import__(name)
        except ImportError as exc:
            if os.environ.get("FASTRNN_REQUIRE_BENCH_SYSTEMS", "") == "1":
                pytest.fail(f"FASTRNN_REQUIRE_BENCH_SYSTEMS=1 but {name} cannot be imported: "
                            f"{exc}", pytrace=False)
            pytest.skip(f"{name} not installed")


def test_openvino_column_for_every_cell(tmp_path, capsys):
    _need("onnx", "openvino")
    path = tmp_path / "bench.json"
    rc = cli.main(["bench", "--mode", "infer", *TINY, "--json", str(path)])
    assert rc == 0
    out = capsys.readouterr().out
    assert "OV f32 ms" in out and "INFERENCE_PRECISION_HINT=f32" in out
    assert "skipping openvino" not in out
    data = json.loads(path.read_text())
    assert data["openvino_precision"] == "f32"
    assert sorted(r["cell"] for r in data["results"]) == ["gru", "lstm", "rnn"]
    for r in data["results"]:
        assert r["openvino"] > 0 and r["fastrnn"] > 0


def test_openvino_is_inference_only(capsys):
    _need("onnx", "openvino")
    assert cli.main(["bench", "--cells", "gru", "--mode", "train", *TINY]) == 0
    out = capsys.readouterr().out
    assert "OV f32 =" not in out   # the note comes only with an OpenVINO time


@pytest.mark.parametrize("cell", benchmark.CELLS)
def test_openvino_matches_fastrnn_in_f32(cell):
    """Compiled for f32 with the benchmark's threads, and equal to fastrnn's
    outputs well inside the bench's tolerance."""
    _need("onnx", "openvino")
    layer = benchmark._layer(cell, 6, 5)
    x = np.random.default_rng(1).standard_normal((7, 3, 6)).astype(np.float32)
    infer, train = benchmark.openvino_system(cell, layer, x, threads=1)
    assert train is None
    y = infer()
    assert y.shape == (7, 3, 5) and y.dtype == np.float32
    np.testing.assert_allclose(y, layer(x)[0], rtol=1e-5, atol=1e-6)


def test_openvino_config_asks_for_f32_and_the_threads():
    config = benchmark._openvino_config(3)
    assert config["INFERENCE_PRECISION_HINT"] == "f32"
    assert config["INFERENCE_NUM_THREADS"] == 3


def test_openvino_compiled_for_another_precision_is_refused(monkeypatch):
    """The plugin is asked what it compiled for: a bf16 model is no f32 time."""
    _need("onnx", "openvino")
    import openvino as ov

    if "BF16" not in ov.Core().get_property("CPU", "OPTIMIZATION_CAPABILITIES"):
        pytest.skip("this CPU has no bf16 inference (the hint would fall back to f32)")
    monkeypatch.setattr(benchmark, "OPENVINO_PRECISION", "bf16")
    layer = benchmark._layer("rnn", 3, 4)
    x = np.zeros((5, 2, 3), dtype=np.float32)
    with pytest.raises(benchmark.MismatchError, match="compiled for .*not f32"):
        benchmark.openvino_system("rnn", layer, x, threads=1)


def test_openvino_output_mismatch_stops_the_bench(tmp_path, monkeypatch, capsys):
    """Corrupted OpenVINO outputs: an error on stderr, exit status 1, nothing
    timed, no table, no JSON."""
    _need("onnx", "openvino")
    real = benchmark.openvino_system

    def corrupted(*args, **kwargs):
        infer, train = real(*args, **kwargs)
        return (lambda: infer() * 1.01), train

    monkeypatch.setattr(benchmark, "openvino_system", corrupted)
    monkeypatch.setattr(benchmark, "interleaved", lambda *a, **k: pytest.fail("timed"))
    path = tmp_path / "bench.json"
    rc = cli.main(["bench", "--cells", "lstm", "--mode", "infer", *TINY, "--json", str(path)])
    captured = capsys.readouterr()
    assert rc == 1
    assert "fastrnn bench: fastrnn and openvino disagree (relative error" in captured.err
    assert "not timing" in captured.err and "Traceback" not in captured.err
    assert "fastrnn ms" not in captured.out
    assert not path.exists()


def test_wrong_output_shape_is_a_mismatch():
    ours = np.zeros((5, 2, 4), dtype=np.float32)
    with pytest.raises(benchmark.MismatchError, match="output shape"):
        benchmark._check_equal(ours, np.zeros((5, 1, 2, 4), dtype=np.float32), "openvino")
    with pytest.raises(benchmark.MismatchError, match="relative error nan"):
        benchmark._check_equal(ours, np.full_like(ours, np.nan), "openvino")


def test_without_openvino_the_bench_runs_and_says_so(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "openvino", None)   # import openvino fails
    monkeypatch.setattr(benchmark, "openvino_system",
                        lambda *a, **k: pytest.fail("OpenVINO set up without openvino"))
    path = tmp_path / "bench.json"
    rc = cli.main(["bench", "--cells", "rnn", "--mode", "infer", *TINY, "--json", str(path)])
    assert rc == 0
    out = capsys.readouterr().out
    assert "skipping openvino: not installed (openvino)" in out
    assert "OV f32 =" not in out
    data = json.loads(path.read_text())
    assert "openvino_precision" not in data
    (row,) = data["results"]
    assert "openvino" not in row and row["fastrnn"] > 0 and row["frozen"] > 0
    assert benchmark.available_systems()["openvino"] == (False, "not installed (openvino)")


def test_table_has_an_openvino_column():
    rows = [dict(cell="gru", mode="infer", B=1, T=2, I=3, H=4, fastrnn=1.0, openvino=2.0,
                 floor=0.5, gflops=1.0),
            dict(cell="gru", mode="train", B=1, T=2, I=3, H=4, fastrnn=3.0, gflops=1.0)]
    lines = benchmark.format_table(rows).splitlines()
    head = lines[0].split("|")
    assert head[3].split() == ["OV", "f32", "ms", "ratio"]
    assert lines[2].split("|")[3].split() == ["2.00", "0.50"]
    assert lines[3].split("|")[3].split() == ["-", "-"]


def test_table_has_a_frozen_column_against_the_fastest_engine():
    rows = [dict(cell="lstm", mode="infer", B=1, T=2, I=3, H=4, fastrnn=1.0, frozen=0.8,
                 torch=2.0, onnxruntime=1.6, openvino=4.0, floor=0.5, gflops=1.0),
            dict(cell="lstm", mode="infer", B=1, T=2, I=3, H=4, fastrnn=1.0, frozen=0.8,
                 gflops=1.0),
            dict(cell="lstm", mode="train", B=1, T=2, I=3, H=4, fastrnn=3.0, gflops=1.0)]
    lines = benchmark.format_table(rows).splitlines()
    assert lines[0].split("|")[-1].split() == ["frozen", "ms", "/best"]
    assert lines[2].split("|")[-1].split() == ["0.80", "0.50"]   # 0.8 / ORT's 1.6
    assert lines[3].split("|")[-1].split() == ["0.80", "-"]      # no other engine ran
    assert lines[4].split("|")[-1].split() == ["-", "-"]         # training: not frozen


def test_plot_labels_openvino_f32(tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")
    import matplotlib.axes

    labels = []
    real_bar = matplotlib.axes.Axes.bar

    def bar(self, *args, label=None, **kwargs):
        labels.append(label)
        return real_bar(self, *args, label=label, **kwargs)

    monkeypatch.setattr(matplotlib.axes.Axes, "bar", bar)
    rows = [dict(cell="rnn", mode="infer", B=1, T=2, I=3, H=4, fastrnn=1.0, torch=1.5,
                 onnxruntime=1.2, openvino=2.0, floor=0.5, gflops=1.0)]
    benchmark.plot(rows, tmp_path / "b.png")
    assert labels == ["fastrnn / torch", "fastrnn / onnxruntime", "fastrnn / OpenVINO (f32)",
                      "fastrnn / floor"]


def test_int8_table_times_every_cell_against_the_quantized_engines(tmp_path, capsys):
    """``--precision int8``: fastrnn's int8 layer beside its float32 self,
    torch's quantize_dynamic (LSTM, GRU) and ONNX Runtime's quantized model
    (LSTM), each with its error against float32."""
    _need("torch", "onnx", "onnxruntime")
    path = tmp_path / "int8.json"
    assert cli.main(["bench", "--precision", "int8", *TINY, "--json", str(path)]) == 0
    out = capsys.readouterr().out
    assert "int8 ms" in out and "speedup" in out and "torch q ms" in out and "ORT q ms" in out
    data = json.loads(path.read_text())
    assert data["precision"] == "int8"
    by_cell = {r["cell"]: r for r in data["results"]}
    assert sorted(by_cell) == ["gru", "lstm", "rnn"]
    assert "onnxruntime" in by_cell["lstm"] and "torch" in by_cell["gru"]
    assert "torch" not in by_cell["rnn"] and "onnxruntime" not in by_cell["gru"]
    for r in data["results"]:
        assert r["fastrnn"] > 0 and r["float32"] > 0
        assert 0 < r["err_fastrnn"] < 0.1


def test_bf16_table_times_openvino_in_bf16_or_is_refused(tmp_path, capsys):
    _need("onnx", "openvino")
    from fastrnn._kernels import recurrent
    rc = cli.main(["bench", "--precision", "bf16", "--cells", "lstm", *TINY])
    captured = capsys.readouterr()
    if not recurrent.low_precision_kernels()["bf16"]:
        assert rc == 2 and "--precision bf16: precision='bf16' needs a CPU" in captured.err
        return
    assert rc == 0
    assert "OV bf16 ms" in captured.out and "INFERENCE_PRECISION_HINT=bf16" in captured.out


@pytest.mark.parametrize("argv, message", [
    (["--precision", "int8", "--mode", "train"], "times inference only"),
    (["--precision", "int8", "--plot", "x.png"], "--plot draws the float32 table only"),
])
def test_a_low_precision_run_refuses_what_it_cannot_do(argv, message, capsys):
    assert cli.main(["bench", *argv, *TINY]) == 2
    assert message in capsys.readouterr().err
