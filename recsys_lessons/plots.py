"""Plotting helpers for the notebooks (matplotlib/seaborn). Nothing in the package imports this module."""

from __future__ import annotations

__all__: list[str] = []
