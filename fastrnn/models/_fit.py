"""The training loop every task model shares: length-bucketed batches,
optimizer steps with gradient clipping, validation, early stopping, a
progress bar and the returned history.

A model plugs in through four methods (see ``_base.SequenceModel``):
``_dataset(X, y, ...)``, ``_collate(data, index)``, ``_forward(batch,
train)`` and ``_loss(pred, batch)``; this file knows nothing of cells,
pooling or vocabularies.
"""
from __future__ import annotations

import inspect
import math
import numbers
import os
import sys
import time
import warnings
from typing import TYPE_CHECKING

import numpy as np

from .. import optim
from .._runtime import get_num_threads, single_threaded_blas
from .._validation import check_bools, make_rng, positive_int, positive_number, unwritable
from ..layers.module import Frozen, Module, checked_precision
from ..layers.recurrent import FrozenRecurrent
from ..distributed import GradientAverager, reduce_sums, shard
from ..io import check_saveable, save
from ._data import length_batches

if TYPE_CHECKING:
    from mpi4py import MPI

    from .._typing import PathLike, Seed, Sequences
    from ..distributed import Communicator
    from ..optim import Optimizer

OPTIMIZERS = {"adam": optim.Adam, "adamw": optim.AdamW, "sgd": optim.SGD,
              "rmsprop": optim.RMSprop}


class Meter:
    """Running sums of ``(numerator, denominator)`` pairs -> means."""

    def __init__(self):
        self.sums = {}

    def add(self, stats):
        for key, (num, den) in stats.items():
            old = self.sums.get(key, (0.0, 0))
            self.sums[key] = (old[0] + num, old[1] + den)

    def means(self):
        return {k: (num / den if den else float("nan")) for k, (num, den) in self.sums.items()}


def make_optimizer(optimizer, model, lr):
    """An ``fr.optim`` optimizer over ``model``: a name with ``lr``, or an
    optimizer instance used as given (``lr`` then ignored)."""
    if isinstance(optimizer, optim.Optimizer):
        return optimizer
    if not isinstance(optimizer, str) or optimizer.lower() not in OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {sorted(OPTIMIZERS)} or an fr.optim "
                         f"optimizer, got {optimizer!r}")
    return OPTIMIZERS[optimizer.lower()](model, lr=positive_number(lr, "lr"))


def _progress_bar(enabled, total, desc):
    """A tqdm bar on stderr, or a silent stand-in (disabled or no tqdm)."""
    if enabled:
        try:
            from tqdm.auto import tqdm
        except ImportError:  # tqdm is a dependency, but a stripped install still trains
            pass
        else:
            return tqdm(total=total, desc=desc, file=sys.stderr, leave=True, dynamic_ncols=True)
    return _SilentBar()


class _SilentBar:
    def update(self, n=1):
        pass

    def set_postfix(self, *args, **kwargs):
        pass

    def close(self):
        pass


def _split_validation(model, train, validation, rng):
    """``validation``: None, ``(X, y[, cond])`` built like the training
    data, or a fraction of the training data held out at random."""
    if validation is None:
        return train, None
    if isinstance(validation, (tuple, list)):
        if len(validation) not in (2, 3):
            raise ValueError(f"validation must be (X, y) or (X, y, conditions), got a "
                             f"{type(validation).__name__} of length {len(validation)}")
        return train, model._dataset(*validation, where="validation ")
    if isinstance(validation, numbers.Real) and not isinstance(validation, bool):
        if not 0.0 < validation < 1.0:
            raise ValueError(f"validation as a fraction must be in (0, 1), got {validation}")
        n_val = int(round(len(train) * validation))
        if not 0 < n_val < len(train):
            raise ValueError(f"validation={validation} leaves no validation or no training "
                             f"sequences out of {len(train)}")
        perm = rng.permutation(len(train))
        return train.subset(perm[n_val:]), train.subset(perm[:n_val])
    raise TypeError(f"validation must be None, a tuple (X, y) or a fraction, got "
                    f"{type(validation).__name__}")


def evaluate(model, data, batch_size, comm=None):
    """Mean loss and metrics over ``data`` in inference mode (no workspace);
    with ``comm``, each rank evaluates its share and the sums are reduced."""
    meter = Meter()
    if comm is not None:
        data = data.subset(shard(np.arange(len(data)), comm.rank, comm.size))
    for index in length_batches(data.lengths, batch_size):
        batch = model._collate(data, index)
        meter.add(model._loss(model._forward(batch, train=False), batch)[2])
    if comm is not None:
        meter.sums = reduce_sums(comm, meter.sums)
    return meter.means()


def predictions(model, data, batch_size):
    """``(index, prediction, batch)`` per inference batch, shortest first."""
    for index in length_batches(data.lengths, batch_size):
        batch = model._collate(data, index)
        yield index, model._forward(batch, train=False), batch


def fit(model, train, *, epochs, batch_size, lr, optimizer, clip, validation, early_stopping,
        shuffle, progress, seed, distributed=False, checkpoint=None):
    """Train ``model`` on the Dataset ``train``; returns the history dict."""
    positive_number(epochs, "epochs", integral=True)
    positive_number(batch_size, "batch_size", integral=True)
    if clip is not None:
        positive_number(clip, "clip")
    if early_stopping is not None:
        positive_number(early_stopping, "early_stopping", integral=True)
    comm = _communicator(distributed)
    if checkpoint is not None:
        # Before the first epoch, not after it: a bad path must not cost a
        # run.  When distributed, rank 0 (the writer) checks and every rank
        # raises its verdict, so none is left waiting in a collective.
        checkpoint = _checkpoint_path(checkpoint)
        _on_root(comm, lambda: _check_checkpoint(model, checkpoint))
    averager = None
    if comm is not None:
        comm.check_same(len(train), "number of training sequences")
        if not isinstance(seed, numbers.Integral):  # one shuffle for every rank: rank 0's
            seed = comm.broadcast_seed(make_rng(seed))
    rng = make_rng(seed)
    if comm is not None:
        flat_params, flat_grads = model.flatten_parameters()
        comm.check_same(flat_params.size, "number of parameters (the same model)")
        comm.check_threads(get_num_threads(), os.cpu_count() or 1)
        comm.broadcast_(flat_params)                # every replica starts from rank 0's
        averager = GradientAverager(comm, flat_grads)
        progress = progress and comm.is_root
    train, val = _split_validation(model, train, validation, rng)
    opt = make_optimizer(optimizer, model, lr)

    with single_threaded_blas():  # once for the run: the blocks inside then cost nothing
        return _epochs(model, train, val, opt, rng, epochs=epochs, batch_size=batch_size,
                       clip=clip, early_stopping=early_stopping, shuffle=shuffle,
                       progress=progress, comm=comm, averager=averager, checkpoint=checkpoint)


def _checkpoint_path(checkpoint):
    """``checkpoint`` as a str path (TypeError / ValueError naming it)."""
    if isinstance(checkpoint, bytes):
        checkpoint = os.fsdecode(checkpoint)
    if not isinstance(checkpoint, (str, os.PathLike)):
        raise TypeError(f"checkpoint must be None, a str or an os.PathLike, got "
                        f"{type(checkpoint).__name__} ({checkpoint!r})")
    path = os.fspath(checkpoint)
    path = os.fsdecode(path) if isinstance(path, bytes) else path
    if not path:
        raise ValueError("checkpoint must be a file path, got ''")
    return path


def _check_checkpoint(model, path):
    """Raise unless ``fr.save(model, path)`` can work: the model's class is
    registered, ``path`` is not a folder, and its folder exists and lets
    this process create files (``fr.save`` writes a temporary file there
    and renames it over ``path``)."""
    try:
        check_saveable(model)
    except (TypeError, ValueError) as exc:
        raise type(exc)(f"checkpoint={path!r} needs a model fr.save can write: {exc}") from exc
    problem = unwritable(path)
    if problem:
        raise ValueError(f"checkpoint must be a file path this process can write, got {path!r} "
                         f"({problem})")


def _on_root(comm, action):
    """Run ``action()`` in this process, or on rank 0 only when distributed:
    then rank 0 broadcasts its outcome and every rank raises its error."""
    if comm is None:
        return action()
    error = None
    if comm.is_root:
        try:
            action()
        except Exception as exc:  # shared below: re-raised on every rank
            error = exc
    comm.raise_root_error(error)


def _save_checkpoint(model, path, comm):
    """``fr.save(model, path)``, by rank 0 when distributed (see _on_root)."""
    _on_root(comm, lambda: save(model, path))


def _communicator(distributed):
    if distributed is False or distributed is None:
        return None
    from .. import distributed as dist   # imports mpi4py: only when asked for
    return dist.resolve(distributed)


def _train_step(model, train, index, opt, clip, averager, grads):
    """One optimizer step on the batch ``index`` (this rank's share of it
    when distributed); returns (stats or None, whether the step was taken).
    ``grads``: the model's gradient arrays (for clipping; zeroing them is
    ``model.zero_grad()``, one fill of a flat model's buffer)."""
    for g in grads:
        g.fill(0)
    stats = None
    if len(index):
        batch = model._collate(train, index)
        pred, backprop = model._forward(batch, train=True)
        _, grad, stats = model._loss(pred, batch)
        backprop(grad)
    if averager is not None:
        averager(stats["loss"][1] if stats else 0)
    norm = optim.clip_arrays(grads, clip) if clip is not None else 0.0
    if not math.isfinite(norm):
        return stats, False   # a non-finite gradient would poison every parameter
    opt.step()
    return stats, True


def _epochs(model, train, val, opt, rng, *, epochs, batch_size, clip, early_stopping, shuffle,
            progress, comm=None, averager=None, checkpoint=None):
    history = {}
    best_score, best_state, waited = math.inf, None, 0
    ranks = 1 if comm is None else comm.size
    grads = optim.grad_arrays(model)   # found once: a model's arrays stay put
    root = comm is None or comm.is_root
    for epoch in range(1, epochs + 1):
        start = time.perf_counter()
        # Distributed: every rank cuts the same global batches, each trains on its share.
        batches = length_batches(train.lengths, batch_size * ranks, shuffle=shuffle, rng=rng)
        bar = _progress_bar(progress, len(batches), f"epoch {epoch}/{epochs}")
        meter, skipped = Meter(), 0
        for index in batches:
            if comm is not None:
                index = shard(index, comm.rank, comm.size)
            stats, stepped = _train_step(model, train, index, opt, clip, averager, grads)
            skipped += not stepped
            if stats:
                meter.add(stats)
            bar.update(1)
            if "loss" in meter.sums:
                bar.set_postfix(loss=f"{meter.means()['loss']:.4f}", refresh=False)
        if comm is not None:
            meter.sums = reduce_sums(comm, meter.sums)
        record = meter.means()
        if val is not None:
            record.update({f"val_{k}": v for k, v in evaluate(model, val, batch_size, comm).items()})
        record["time"] = time.perf_counter() - start
        bar.set_postfix({k: f"{v:.4g}" for k, v in record.items()})
        bar.close()
        for key, value in record.items():
            history.setdefault(key, []).append(value)
        if skipped and root:
            warnings.warn(f"epoch {epoch}: {skipped} step(s) skipped on a non-finite gradient "
                          f"norm", RuntimeWarning, stacklevel=3)
        score = record["val_loss" if val is not None else "loss"]
        improved = score < best_score
        if improved:
            best_score, waited = score, 0
            if early_stopping is not None:
                best_state = model.state_dict()
        # The checkpoint holds what fit would return if it stopped now: the
        # last epoch's weights, or under early stopping the best epoch's.
        if checkpoint is not None and (early_stopping is None or improved):
            _save_checkpoint(model, checkpoint, comm)
        if not improved and early_stopping is not None:
            waited += 1
            if waited >= early_stopping:
                break
    if best_state is not None:  # early stopping restores the best epoch's weights
        model.load_state_dict(best_state)
    elif checkpoint is not None and early_stopping is not None:
        # No epoch ever scored (a nan loss): fit returns the last weights.
        _save_checkpoint(model, checkpoint, comm)
    return history


class _FlatOnceBuilt(type):
    """Calls ``flatten_parameters()`` once the outermost ``__init__`` has
    returned, whatever modules a subclass added: a model's parameter arrays
    are the flat buffer's views from the start, never replaced later."""

    def __call__(cls, *args, **kwargs):
        model = super().__call__(*args, **kwargs)
        model.flatten_parameters()
        return model

    @property
    def __signature__(cls):
        # inspect.signature(cls) would otherwise report __call__'s (*args, **kwargs).
        sig = inspect.signature(cls.__init__)
        return sig.replace(parameters=list(sig.parameters.values())[1:])


class TrainableModel(Module, metaclass=_FlatOnceBuilt):
    """``fit`` / ``evaluate`` for a model that implements the hooks
    ``_dataset``, ``_collate``, ``_forward`` and ``_loss``.

    Its parameters live in one buffer and its gradients in another
    (:meth:`~fastrnn.layers.module.Module.flatten_parameters`), so an
    optimizer step and the clipping norm are a few whole-buffer operations.
    """

    # ------------------------------------------------------------- training
    def fit(self, X: Sequences, y: Sequences | None = None, epochs: int = 10,
            batch_size: int = 32, lr: float = 1e-3, optimizer: str | Optimizer = "adam",
            clip: float | None = 5.0,
            validation: tuple[Sequences, Sequences | None] | float | None = None,
            early_stopping: int | None = None, shuffle: bool = True, progress: bool = True,
            seed: Seed = None, distributed: bool | Communicator | MPI.Comm = False,
            checkpoint: PathLike | None = None) -> dict[str, list[float]]:
        """Train on ``(X, y)``; returns the history.

        Parameters
        ----------
        X, y
            Training sequences and targets (see the model's class docstring).
        epochs : int
            Passes over the data (fewer with ``early_stopping``).
        batch_size : int
            Sequences per step.  Batches group sequences of similar length
            (shuffled within pools of 32 batches, and in order), so little
            time goes to padding; padding is masked out everywhere.
        lr : float
            Learning rate of a named ``optimizer``.
        optimizer : {"adam", "adamw", "sgd", "rmsprop"} or fr.optim optimizer
            An optimizer instance is used as given (its own ``lr``), and
            keeps its state across ``fit`` calls.
        clip : float or None
            Clip the global gradient norm to this (``fr.optim.clip_grad_norm``)
            before each step; a step whose gradient is not finite is skipped
            (with a ``RuntimeWarning``).
        validation : None, (X_val, y_val) or float
            Held-out data evaluated after every epoch, or the fraction of
            ``X`` to hold out at random.
        early_stopping : int or None
            Stop after this many epochs without improvement of the validation
            loss (the training loss without validation data) and restore the
            best epoch's weights.
        shuffle : bool
            Shuffle the batches every epoch.
        progress : bool
            Show a tqdm progress bar per epoch (on stderr).
        seed : None, int or numpy Generator
            Shuffling and the validation split.
        distributed : bool or communicator
            Data-parallel training over MPI (``fastrnn.distributed``; run the
            script under ``mpiexec -n N``, every rank with the same model
            and data): ``True`` for ``MPI.COMM_WORLD``, or an mpi4py /
            ``fastrnn.distributed.Communicator``.  ``batch_size`` is per
            rank: each step averages the gradients of ``N * batch_size``
            sequences, as one process would with that batch.
        checkpoint : str or os.PathLike or None
            Save the model there (``fr.save``) after every epoch -- with
            ``early_stopping``, after every epoch that improves, so the file
            always holds what ``fit`` returns.  Checked before training (a
            file path in an existing, writable folder).  When distributed,
            rank 0 writes it, and a failed write raises on every rank.

        Returns
        -------
        dict
            ``{"loss": [...], <metric>: [...], "val_loss": [...], ...,
            "time": [...]}``, one entry per epoch run.
        """
        check_bools(shuffle=shuffle, progress=progress)
        return fit(self, self._dataset(X, y), epochs=epochs, batch_size=batch_size, lr=lr,
                   optimizer=optimizer, clip=clip, validation=validation,
                   early_stopping=early_stopping, shuffle=shuffle, progress=progress, seed=seed,
                   distributed=distributed, checkpoint=checkpoint)

    def evaluate(self, X: Sequences, y: Sequences | None = None,
                 batch_size: int = 256) -> dict[str, float]:
        """Mean loss and metrics on ``(X, y)`` (inference mode): a dict."""
        return evaluate(self, self._dataset(X, y), positive_int(batch_size, "batch_size"))

    def _predictions(self, data, batch_size):
        return predictions(self, data, positive_int(batch_size, "batch_size"))

    # The recurrent layers (attribute names) whose weights a frozen copy packs once.
    _recurrent_children = ()

    @property
    def frozen_precisions(self) -> tuple[str, ...]:
        """The low precisions its recurrent layers can be frozen at."""
        return tuple(sorted({p for name in self._recurrent_children
                             for p in getattr(self, name).frozen_precisions}))

    def freeze(self, precision: str | None = None) -> FrozenModel:
        """An inference-only copy (:func:`fastrnn.freeze`): its own weights,
        its recurrent layers packed once (at ``precision``); it predicts,
        evaluates and generates like this model, bit for bit at the model's
        own precision."""
        name = checked_precision(self, precision)
        low = name if name in self.frozen_precisions else None
        twin = self._twin()
        for child in self._recurrent_children:
            setattr(twin, child, FrozenRecurrent(getattr(twin, child), low))
        return FrozenModel(twin, low)

    def __repr__(self):
        config = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({config})"


class FrozenModel(Frozen):
    """A frozen task model or ``Seq2Seq`` (:func:`fastrnn.freeze`): a copy of
    the model with its own weights and its recurrent layers packed once.
    It has the model's inference methods (those of ``predict``,
    ``predict_proba``, ``evaluate``, ``forecast``, ``generate``,
    ``translate`` the model has) and its configuration attributes; it does
    not train."""

    __slots__ = ()

    _INFERENCE = frozenset(("predict", "predict_proba", "evaluate", "forecast", "generate",
                            "translate"))

    def __getattr__(self, name):
        model = self._module
        if (name in FrozenModel._INFERENCE and hasattr(model, name)) or \
                name in type(model)._config_keys:
            return getattr(model, name)
        raise AttributeError(f"a frozen {type(model).__name__} has no attribute {name!r} (it "
                             f"runs inference only)")
