"""Parameter shapes of the task models and Seq2Seq, predicted from a config
alone, so that ``fr.load`` can compare a file's parameter list with what the
config implies BEFORE building anything (a forged ``hidden_size=10**6``
is refused without allocating).

Each predictor mirrors its constructor's composition and asks the
children's registered predictors (``io.predict_param_shapes``) for their
shapes; the results stay lazy generators, so a forged ``num_layers=10**9``
costs no more than the file's own parameter list.  A test builds every
model in many configurations and checks the prediction against the real
parameters.
"""
import itertools

from .._validation import is_count
from ..io import predict_param_shapes
from ..layers.attention import AdditiveAttention, GeneralAttention
from ..layers.embedding import Embedding
from ..layers.linear import Linear
from ._base import CELLS


class _Unknown(Exception):
    """The config is invalid: the constructor will say why."""


def _count(args, name):
    value = args.get(name)
    if not is_count(value):
        raise _Unknown
    return int(value)


def _child(prefix, cls, **arguments):
    shapes = predict_param_shapes(cls, **arguments)
    if shapes is None:
        raise _Unknown
    return ((prefix + name, shape) for name, shape in shapes)


def _lazy(build):
    """A predictor from ``build(args) -> list of generators``; None when the
    config is invalid."""
    def param_shapes(args):
        try:
            return itertools.chain.from_iterable(build(args))
        except _Unknown:
            return None
    return param_shapes


def _recurrent(prefix, args, input_size, hidden_size, bidirectional):
    cell = CELLS.get(args.get("cell"))
    if cell is None or not isinstance(bidirectional, bool):
        raise _Unknown
    return _child(prefix, cell, input_size=input_size, hidden_size=hidden_size,
                  num_layers=_count(args, "num_layers"), bidirectional=bidirectional)


def _encoder(args, bidirectional):
    """Embedding (token input) + stacked RNN of ``SequenceModel``; returns
    the generators and the RNN's output width."""
    H = _count(args, "hidden_size")
    parts = []
    if args.get("vocab_size") is not None:
        E = _count(args, "embed_size")
        parts.append(_child("embedding.", Embedding, num_embeddings=_count(args, "vocab_size"),
                            embedding_dim=E))
    else:
        E = _count(args, "input_size")
    parts.append(_recurrent("rnn.", args, E, H, bidirectional))
    return parts, H * (2 if bidirectional else 1)


def _head(features, out):
    return _child("head.", Linear, in_features=features, out_features=out)


def _classifier(args, out_key="num_classes"):
    parts, width = _encoder(args, args.get("bidirectional"))
    return parts + [_head(width, _count(args, out_key))]


def _tagger(args):
    return _classifier(args, "num_tags")


def _regressor(args):
    out = args.get("output_size")
    out = _count(args, "input_size") if out is None else _count(args, "output_size")
    parts, width = _encoder(args, args.get("bidirectional"))
    return parts + [_head(width, _count(args, "horizon") * out)]


def _language_model(args):
    parts, width = _encoder(args, False)
    parts.append(_head(width, _count(args, "vocab_size")))
    if args.get("condition_size") is not None:
        states = 2 if args.get("cell") == "lstm" else 1
        parts.append(_child("bridge.", Linear, in_features=_count(args, "condition_size"),
                            out_features=states * _count(args, "num_layers") * width))
    return parts


def _seq2seq(args):
    E, H = _count(args, "embed_size"), _count(args, "hidden_size")
    bidirectional = args.get("bidirectional_encoder")
    if not isinstance(bidirectional, bool):
        raise _Unknown
    Hd = H * (2 if bidirectional else 1)
    V = _count(args, "tgt_vocab_size")
    attention = args.get("attention")
    parts = [_child("src_embed.", Embedding, num_embeddings=_count(args, "src_vocab_size"),
                    embedding_dim=E),
             _child("tgt_embed.", Embedding, num_embeddings=V, embedding_dim=E),
             _recurrent("encoder.", args, E, H, bidirectional)]
    if bidirectional:
        for part in ("h", "c") if args.get("cell") == "lstm" else ("h",):
            parts.append(_child(f"bridge_{part}.", Linear, in_features=Hd, out_features=Hd))
    parts.append(_recurrent("decoder.", args, E + (Hd if attention == "additive" else 0), Hd,
                            False))
    if attention == "general":
        parts.append(_child("attn.", GeneralAttention, query_size=Hd, key_size=Hd))
    elif attention == "additive":
        parts.append(_child("attn.", AdditiveAttention, query_size=Hd, key_size=Hd,
                            attn_size=Hd))
    elif attention not in (None, "dot"):
        raise _Unknown
    if attention is not None:
        parts.append(_child("combine.", Linear, in_features=2 * Hd, out_features=Hd))
    parts.append(_child("out.", Linear, in_features=Hd, out_features=V))
    return parts


classifier_shapes = _lazy(_classifier)
tagger_shapes = _lazy(_tagger)
regressor_shapes = _lazy(_regressor)
language_model_shapes = _lazy(_language_model)
seq2seq_shapes = _lazy(_seq2seq)
