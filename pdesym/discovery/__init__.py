"""Symmetries from data: the validity of a field on sampled jets, minimised over a span (DESIGN.md §7).

* :mod:`pdesym.discovery.dictionary` — functions :math:`f_m(x, t, u)` and fields over them, with exact Taylor series.
* :mod:`pdesym.discovery.nullspace` — the linear validity system and its null space (generalised SVD).
* :mod:`pdesym.discovery.rank` — the dimension at the largest gap of an ascending spectrum.
* :mod:`pdesym.discovery.neural` — neural generators trained on the validity, dimension by its ratio.
* :mod:`pdesym.discovery.pipeline` — ``pdesym discover``: data, either method, exact verification, a run folder.
"""

from pdesym.discovery.dictionary import DictionaryFields, FunctionDictionary
from pdesym.discovery.neural import NeuralResult, NeuralSettings, choose_dimension, train_generators
from pdesym.discovery.nullspace import NullspaceResult, nullspace_symmetries
from pdesym.discovery.pipeline import DiscoverOptions, Discovery, discover
from pdesym.discovery.rank import RankChoice, rank_by_gap

__all__ = [
    "FunctionDictionary",
    "DictionaryFields",
    "NullspaceResult",
    "nullspace_symmetries",
    "RankChoice",
    "rank_by_gap",
    "NeuralSettings",
    "NeuralResult",
    "choose_dimension",
    "train_generators",
    "DiscoverOptions",
    "Discovery",
    "discover",
]
