"""Task models: ready-to-train recurrent networks with ``fit`` / ``predict`` /
``evaluate`` over variable-length data (padding handled and masked).

* :class:`SequenceClassifier` -- many-to-one (e.g. sentiment).
* :class:`SequenceTagger` -- many-to-many, aligned (e.g. named entities).
* :class:`SequenceRegressor` -- time-series forecasting, one or many steps ahead.
* :class:`LanguageModel` -- next-token prediction and one-to-many generation.

Each is a module (parameters, grads, state dicts) and saves with ``fr.save``.
"""
from ..io import register_module
from .classifier import SequenceClassifier
from .language_model import LanguageModel
from .regressor import SequenceRegressor
from .tagger import SequenceTagger

for _cls in (SequenceClassifier, SequenceTagger, SequenceRegressor, LanguageModel):
    register_module(_cls)

__all__ = ["SequenceClassifier", "SequenceTagger", "SequenceRegressor", "LanguageModel"]
