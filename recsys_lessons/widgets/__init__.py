"""Interactive widgets for the notebooks (ipywidgets 8). Nothing in the package imports this package.

One module per lesson, all built on :class:`~recsys_lessons.widgets.base.LessonWidget`: named
controls drive ``HTML`` views, and ``update(**values)`` moves the controls before redrawing, so the
controls always show what the views show. Headless, setting a control's ``.value`` fires its
observer synchronously, so tests move controls and read the views' HTML.
"""

from .base import LessonWidget
from .bert import RerankExplorer
from .collaborative import RecommendationExplorer
from .content import MoreLikeThis, QueryBox

__all__: list[str] = ["LessonWidget", "MoreLikeThis", "QueryBox", "RecommendationExplorer", "RerankExplorer"]
