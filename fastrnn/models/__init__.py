"""Task models: ready-to-train recurrent networks with ``fit`` / ``predict`` /
``evaluate`` over variable-length data (padding handled and masked).

* :class:`SequenceClassifier` -- many-to-one (e.g. sentiment).
* :class:`SequenceTagger` -- many-to-many, aligned (e.g. named entities).
* :class:`SequenceRegressor` -- time-series forecasting, one or many steps ahead.
* :class:`LanguageModel` -- next-token prediction and one-to-many generation.
* :class:`Seq2Seq` -- encoder-decoder (many-to-many, unaligned) with attention,
  greedy and beam-search decoding.

Each is a module (parameters, grads, state dicts) and saves with ``fr.save``.
"""
from ..io import register_module
from .classifier import SequenceClassifier
from .language_model import LanguageModel
from .regressor import SequenceRegressor
from .seq2seq import Seq2Seq
from .tagger import SequenceTagger

# Each says its parameters from its config (ComposedModel.param_shapes, read
# from the same description of its children its constructor builds): fr.load
# checks a file against it before building (a forged size allocates nothing).
for _model in (SequenceClassifier, SequenceTagger, SequenceRegressor, LanguageModel, Seq2Seq):
    register_module(_model)

__all__ = ["SequenceClassifier", "SequenceTagger", "SequenceRegressor", "LanguageModel",
           "Seq2Seq"]
