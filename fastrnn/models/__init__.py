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

from . import _shapes

# With their parameter-shape predictors: fr.load checks a file against the
# config before building (a forged size allocates nothing).
register_module(SequenceClassifier, param_shapes=_shapes.classifier_shapes)
register_module(SequenceTagger, param_shapes=_shapes.tagger_shapes)
register_module(SequenceRegressor, param_shapes=_shapes.regressor_shapes)
register_module(LanguageModel, param_shapes=_shapes.language_model_shapes)
register_module(Seq2Seq, param_shapes=_shapes.seq2seq_shapes)

__all__ = ["SequenceClassifier", "SequenceTagger", "SequenceRegressor", "LanguageModel",
           "Seq2Seq"]
