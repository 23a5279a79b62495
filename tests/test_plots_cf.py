"""The lesson-01 comparison bar chart."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from recsys_lessons.plots import metric_bars  # noqa: E402


@pytest.fixture
def table() -> pd.DataFrame:
    return pd.DataFrame({"ndcg@10": [0.25, 0.48], "precision@10": [0.22, 0.41]}, index=["pop", "ease"])


def test_one_bar_per_model_and_metric_with_heights(table):
    ax = metric_bars(table, ("ndcg@10", "precision@10"), reference={"published": 0.475})
    heights = sorted(round(p.get_height(), 3) for p in ax.patches)
    assert heights == [0.22, 0.25, 0.41, 0.48]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert sorted(labels) == ["ease", "pop", "published"]
    plt.close(ax.figure)


def test_unknown_metric_raises_key_error(table):
    with pytest.raises(KeyError, match="recall@10"):
        metric_bars(table, ("ndcg@10", "recall@10"))
