"""recsys_lessons: the tested helper package behind the recsys-lessons notebooks.

The package is layered, lowest first. A module imports only from its own layer or a lower one,
never from a higher one (``tests/test_layers.py`` reads this list and enforces it):

0. ``storage``: atomic writes, all-or-nothing folder saves and the lock between processes.
1. ``data``: MovieLens sources (download, verify), parsers, the ``Interactions`` / ``Dataset``
   containers, splits.
2. ``metrics``, ``train``, ``distributed``: metrics with their formulas; device, seeding, CPU
   threads, the one training loop and its data-parallel plumbing (torchrun, DDP).
3. ``text``: item text, the bundled sentence encoder, the embedding cache.
4. ``evaluation``: the ranking primitive (``top_k``), full-catalogue evaluation, segments, the
   cold-start protocol, calibration curves, the paired bootstrap.
5. ``models``, ``simulate``: the recommenders (scikit-learn estimators, one file per family) and
   the feedback-loop simulation.
6. ``exercises``: the checks the notebooks call.
7. ``widgets``, ``plots``: used by notebooks only; nothing in the package imports them.
8. ``__main__``, ``reproduce``, ``classroom``, ``scaleout``: the command line, the notebook re-run check, the teaching
   tools behind `make student` and `make html`, and the torchrun training run and `make gpu-check`.

``rl.evaluate`` is the evaluation function; the module is ``recsys_lessons.evaluation``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the names for type checkers and readers; at run time they load on first use
    from .data import (
        Dataset,
        DataUnavailableError,
        Interactions,
        load_movielens,
        split_by_time,
        split_cold_items,
        split_last_item,
        split_stratified,
    )
    from .evaluation import compare, evaluate, evaluate_by_segment, paired_bootstrap, top_k
    from .train import budget, get_device, set_seed

# name -> submodule. `import recsys_lessons` imports none of them (so neither torch nor pandas:
# a few milliseconds instead of seconds); `rl.evaluate` imports its module on first use.
_LAZY = {
    **dict.fromkeys(
        (
            "Dataset",
            "DataUnavailableError",
            "Interactions",
            "load_movielens",
            "split_by_time",
            "split_cold_items",
            "split_last_item",
            "split_stratified",
        ),
        "data",
    ),
    **dict.fromkeys(("compare", "evaluate", "evaluate_by_segment", "paired_bootstrap", "top_k"), "evaluation"),
    **dict.fromkeys(("budget", "get_device", "set_seed"), "train"),
}


def __getattr__(name: str) -> Any:
    """Load a re-exported name's submodule on first access (PEP 562)."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'recsys_lessons' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__version__ = "0.1.0"

__all__ = [
    "DataUnavailableError",
    "Dataset",
    "Interactions",
    "budget",
    "compare",
    "evaluate",
    "evaluate_by_segment",
    "get_device",
    "load_movielens",
    "paired_bootstrap",
    "set_seed",
    "split_by_time",
    "split_cold_items",
    "split_last_item",
    "split_stratified",
    "top_k",
]
