"""The bi-encoder baseline: the untrained MiniLM embeds history and candidate separately, cosine orders.

Mean-pooled, L2-normalised sentence embeddings (the way all-MiniLM-L6-v2 is meant to be used),
compared by cosine: the cheap text baseline a trained cross-encoder has to beat.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

from ..text import load_encoder

__all__ = ["cosine_scores", "embed_texts"]


def embed_texts(
    texts: Sequence[str],
    model_name_or_path: str | os.PathLike | None = None,
    batch_size: int = 64,
    max_length: int = 64,
    device: str | None = None,
    progress: bool = False,
) -> np.ndarray:
    """Mean-pooled, L2-normalised sentence embeddings (the way all-MiniLM-L6-v2 is meant to be used).

    A thin wrapper over :func:`recsys_lessons.text.load_encoder` with short texts in mind
    (``max_length`` 64 tokens): the bi-encoder baseline embeds histories and candidates separately.

    Returns:
        ``(len(texts), hidden)`` float32 array with unit rows.
    """
    encoder = load_encoder(model_name_or_path, device=device, max_length=max_length)
    return encoder.encode(list(texts), batch_size=batch_size, progress=progress)


def cosine_scores(history_emb: np.ndarray, item_emb: np.ndarray, candidates: np.ndarray) -> np.ndarray:
    """Cosine between each user's history embedding and each of their candidates' embeddings.

    Args:
        history_emb: ``(n_users, d)`` unit vectors.
        item_emb: ``(n_items, d)`` unit vectors.
        candidates: ``(n_users, k)`` item indices.

    Returns:
        ``(n_users, k)`` cosines.
    """
    return np.einsum("ud,ukd->uk", history_emb, item_emb[candidates])
