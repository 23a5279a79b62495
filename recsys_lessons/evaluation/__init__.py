"""Evaluation: the ranking primitive, the protocols and the statistics on their results.

One job per module, imports flowing down this list:

- :mod:`.ranking`: :func:`top_k`, THE ranking primitive (top-k under an exclusion mask, stable
  ties by index), :func:`rank_users` and :func:`validation_ndcg`;
- :mod:`.protocol`: full-catalogue :func:`evaluate` and :func:`compare`;
- :mod:`.segments`: :func:`evaluate_by_segment` (head/tail items, user groups);
- :mod:`.cold_start`: :func:`evaluate_cold_start` and :func:`expected_random_recall`;
- :mod:`.calibration`: :func:`reliability_curve`;
- :mod:`.bootstrap`: :func:`paired_bootstrap`.

Always import from ``recsys_lessons.evaluation``; the submodules are an implementation detail.
"""

from .bootstrap import paired_bootstrap
from .calibration import reliability_curve
from .cold_start import evaluate_cold_start, expected_random_recall
from .protocol import DEFAULT_METRICS, LIST_METRICS, RANKING_METRICS, check_same_index, compare, evaluate
from .ranking import rank_users, top_k, validation_ndcg
from .segments import evaluate_by_segment

__all__ = [
    "DEFAULT_METRICS",
    "LIST_METRICS",
    "RANKING_METRICS",
    "check_same_index",
    "compare",
    "evaluate",
    "evaluate_by_segment",
    "evaluate_cold_start",
    "expected_random_recall",
    "paired_bootstrap",
    "rank_users",
    "reliability_curve",
    "top_k",
    "validation_ndcg",
]
