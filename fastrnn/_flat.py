"""One-buffer parameter layout: a flattened module's parameters (and its
gradients) are consecutive views into one 1-D array each, so optimizers,
clipping and data-parallel averaging can work on the whole buffer at once
(``layers.Module.flatten_parameters`` makes the layout; this checks it)."""

# How many times a module's parameter arrays have been replaced by views of a
# new buffer, in this process: an optimizer holding arrays from before then
# checks that they are still its modules' (a cheap test per step).
_relayouts = [0]


def relayouts():
    """The count of parameter re-layouts so far (see ``relayout_done``)."""
    return _relayouts[0]


def relayout_done():
    """Record that some module's parameter arrays were replaced."""
    _relayouts[0] += 1


def covers(flat, pairs):
    """Whether ``pairs`` (param, grad) are consecutive views that exactly
    cover the 1-D buffers ``flat = (params, grads)``."""
    flat_p, flat_g = flat
    offset = 0
    for p, g in pairs:
        if not (view_at(p, flat_p, offset) and view_at(g, flat_g, offset)):
            return False
        offset += p.size
    return offset == flat_p.size == flat_g.size


def view_at(arr, buf, offset):
    """Whether ``arr`` is the C-contiguous stretch of ``buf`` from ``offset``."""
    return (arr.base is buf and arr.dtype == buf.dtype and arr.flags.c_contiguous
            and arr.__array_interface__["data"][0]
            == buf.__array_interface__["data"][0] + offset * buf.itemsize)
