"""What the examples share for their pictures: matplotlib is optional."""
import os


def pyplot():
    """``matplotlib.pyplot`` on the file-only Agg backend, or None (with a
    note) when matplotlib is not installed."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("(matplotlib is not installed: no plot; pip install matplotlib)")
        return None
    return plt


def save(fig, out, name):
    """Write ``fig`` to ``out/name``, say where, and free it."""
    import matplotlib.pyplot as plt

    fig.tight_layout()
    os.makedirs(out, exist_ok=True)
    path = os.path.join(out, name)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    print(f"saved {path}")
