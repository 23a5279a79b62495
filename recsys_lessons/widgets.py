"""Interactive widgets for the notebooks (ipywidgets 8). Nothing in the package imports this module.

Each widget keeps its logic in a pure ``update``-style method that returns the HTML it shows, so
tests can move a control headless (setting ``.value`` fires ``observe`` synchronously) and read
the result; no widget relies on an ``Output`` capture.
"""

from __future__ import annotations

__all__: list[str] = []

# --- lesson 01: collaborative filtering -------------------------------------------------------

# --- lesson 02: content-based filtering -------------------------------------------------------

# --- lesson 03: BERT and cross-entropy --------------------------------------------------------
