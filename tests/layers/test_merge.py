"""The merge functions of bidirectional layers, and their backward."""
import numpy as np
import pytest

from helpers.gradcheck import numeric_grad
from fastrnn.layers.merge import MERGE_MODES, merge, merge_backward, merged_width


def test_max_routes_the_gradient_to_the_larger_input_and_ties_to_forward():
    fwd = np.array([[1.0, 2.0, 3.0, -1.0]])
    bwd = np.array([[0.5, 2.0, 4.0, -1.0]])  # ties at columns 1 and 3
    dout = np.array([[10.0, 20.0, 30.0, 40.0]])
    np.testing.assert_array_equal(merge("max", [fwd, bwd]), [[1.0, 2.0, 4.0, -1.0]])
    dfwd, dbwd = merge_backward("max", dout, 2, [fwd, bwd])
    np.testing.assert_array_equal(dfwd, [[10.0, 20.0, 0.0, 40.0]])
    np.testing.assert_array_equal(dbwd, [[0.0, 0.0, 30.0, 0.0]])
    # The two parts always add up to dout (a valid subgradient).
    np.testing.assert_array_equal(dfwd + dbwd, dout)


@pytest.mark.parametrize("mode", MERGE_MODES)
def test_merge_backward_matches_finite_differences(mode):
    rng = np.random.default_rng(0)
    fwd, bwd = rng.standard_normal((2, 3, 2, 4))
    R = rng.standard_normal(merge(mode, [fwd, bwd]).shape)
    dfwd, dbwd = merge_backward(mode, R, 2, [fwd, bwd])
    def loss():
        return np.sum(merge(mode, [fwd, bwd]) * R)

    for arr, grad in ((fwd, dfwd), (bwd, dbwd)):
        np.testing.assert_allclose(grad, numeric_grad(loss, arr), rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("mode, width", [("concat", 8), ("sum", 4), ("mean", 4), ("max", 4),
                                         ("mul", 4)])
def test_merged_width(mode, width):
    assert merged_width(mode, 4, 2) == width
    assert merged_width(mode, 4, 1) == 4  # one direction: nothing to merge


def test_one_direction_passes_through():
    out = np.ones((2, 1, 3))
    for mode in MERGE_MODES:
        assert merge(mode, [out]) is out
        assert merge_backward(mode, out, 1)[0] is out


def test_unknown_merge_mode():
    a = np.ones((1, 1, 2))
    with pytest.raises(ValueError, match="merge_mode"):
        merge("avg", [a, a])
    with pytest.raises(ValueError, match="merge_mode"):
        merge_backward("avg", a, 2, [a, a])
