"""The shared set-up of every lesson widget: named controls drive ``HTML`` views.

A lesson widget is a row of controls above one or more ``HTML`` views. The controls are the only
state: moving one (in a browser, or by setting ``control.value`` headless) redraws the views from
the current control values, and :meth:`LessonWidget.update` sets the controls first and then
redraws, so what the controls show is always what the views show. Nothing relies on an ``Output``
capture, so a headless test can move a control and read the views' values.

A subclass builds its controls with :func:`dropdown`, :func:`int_slider`, :func:`float_slider` and
:func:`text_box`
(each validates its initial value with the same rule ``update`` applies later), builds its views
with :func:`html_view`, calls :meth:`LessonWidget._assemble`, and defines two methods with its own
control keywords: ``_draw(**values)``, which turns control values into view HTML and returns what
``last_`` should hold, and ``update(...)``, which passes its keywords to :meth:`LessonWidget._apply`::

    def update(self, item_id: int | None = None, k: int | None = None) -> str:
        return self._apply({"item_id": item_id, "k": k})
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import ipywidgets as widgets
import numpy as np
import pandas as pd

from ..data import Interactions
from ..models.base import NotFittedError

__all__ = [
    "LessonWidget",
    "check_value",
    "css_name",
    "dropdown",
    "fitted_train",
    "float_slider",
    "html_view",
    "int_slider",
    "table_html",
    "text_box",
]

# How many options an error message lists before it elides the rest.
_PREVIEW = 8
# Most decimals a float slider's readout shows (a step finer than this is shown rounded).
_MAX_DECIMALS = 6


def _option_values(control: widgets.widget_selection._Selection) -> list[Any]:
    """The values a selection control can take (``(label, value)`` pairs give their value)."""
    return [o[1] if isinstance(o, tuple) and len(o) == 2 else o for o in control.options]


def _is_int(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def _is_real(value: Any) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))


def check_value(name: str, control: widgets.ValueWidget, value: Any) -> None:
    """Raise the documented error unless ``control`` can show ``value``.

    Args:
        name: the keyword the value was passed as (named in the message).
        control: a selection control, a bounded integer or float slider, or a text box.
        value: the candidate value.

    Raises:
        KeyError: a selection value that is not among the control's options.
        ValueError: an integer slider value that is not an integer within the slider's range, or a
            float slider value that is NaN or outside the slider's range.
        TypeError: a float slider value that is not a real number, or a text value that is not a ``str``.
    """
    if isinstance(control, widgets.widget_selection._Selection):
        options = _option_values(control)
        if isinstance(value, bool) or value not in options:
            shown = ", ".join(repr(o) for o in options[:_PREVIEW]) + (", …" if len(options) > _PREVIEW else "")
            raise KeyError(
                f"{name}={value!r} is not offered by the {control.description!r} control; "
                f"expected one of {shown} ({len(options)} options)"
            )
    elif isinstance(control, widgets.IntSlider):
        if not _is_int(value) or not control.min <= value <= control.max:
            raise ValueError(f"{name}={value!r}; expected an integer in {control.min}..{control.max}")
    elif isinstance(control, widgets.FloatSlider):
        if not _is_real(value):
            raise TypeError(f"{name}={value!r} is a {type(value).__name__}; expected a real number")
        if not control.min <= value <= control.max:  # False for NaN too
            raise ValueError(f"{name}={value!r}; expected a number in [{control.min:g}, {control.max:g}]")
    elif isinstance(control, widgets.Text):
        if not isinstance(value, str):
            raise TypeError(f"{name} must be a str, got {type(value).__name__}")
    else:  # a subclass added a control kind this module does not know: fail loudly, not silently
        raise TypeError(
            f"control {name!r} is a {type(control).__name__}; expected Dropdown, IntSlider, FloatSlider or Text"
        )


def fitted_train(model: Any, expected: type, test: Interactions) -> Interactions:
    """The training data of a fitted ``expected`` model, checked to share ``test``'s index.

    Args:
        model: the model a widget explores.
        expected: the class it must be an instance of.
        test: the test interactions the widget scores against.

    Returns:
        ``model.train_``.

    Raises:
        TypeError: ``model`` is not an ``expected`` or ``test`` is not ``Interactions``.
        NotFittedError: ``model`` is not fitted.
        ValueError: ``test`` is on another index than the model's training data.
    """
    name = expected.__name__
    if not isinstance(model, expected):
        raise TypeError(f"model must be a {name}, got {type(model).__name__}")
    train = getattr(model, "train_", None)
    if train is None:
        raise NotFittedError(f"the {name} is not fitted; call fit(train) first")
    if not isinstance(test, Interactions):
        raise TypeError(f"test must be Interactions, got {type(test).__name__}")
    if test.shape != train.shape or not np.array_equal(test.item_ids, train.item_ids):
        raise ValueError(f"test is on a different index than the {name}'s training data; split one Interactions object")
    return train


def dropdown(name: str, options: Sequence[Any], value: Any, description: str, **kwargs: Any) -> widgets.Dropdown:
    """A ``Dropdown`` on ``options`` (values or ``(label, value)`` pairs) starting at ``value``.

    Raises:
        ValueError: no options. KeyError: ``value`` is not among them.
    """
    if not options:
        raise ValueError(f"{name}: no options to choose from")
    control = widgets.Dropdown(options=list(options), description=description, **kwargs)
    check_value(name, control, value)
    control.value = value
    return control


def int_slider(name: str, value: int, lo: int, hi: int, description: str, **kwargs: Any) -> widgets.IntSlider:
    """An ``IntSlider`` on ``lo..hi`` starting at ``value``; it never silently clamps a bad value.

    Raises:
        ValueError: ``hi`` is not an integer ≥ ``lo``, or ``value`` is outside ``lo..hi``.
    """
    if not _is_int(hi) or hi < lo:
        raise ValueError(f"max_{name}={hi!r}; expected an integer >= {lo}")
    control = widgets.IntSlider(min=int(lo), max=int(hi), value=int(lo), description=description, **kwargs)
    check_value(name, control, value)
    control.value = int(value)
    return control


def _decimals(*numbers: float) -> int:
    """The fewest decimals (at most ``_MAX_DECIMALS``) that write every number exactly."""
    for places in range(_MAX_DECIMALS):
        if all(abs(round(x, places) - x) <= 1e-9 * max(1.0, abs(x)) for x in numbers):
            return places
    return _MAX_DECIMALS


def float_slider(
    name: str, value: float, lo: float, hi: float, step: float, description: str, **kwargs: Any
) -> widgets.FloatSlider:
    """A ``FloatSlider`` on ``[lo, hi]`` in steps of ``step``, starting at ``value``; it never silently clamps.

    Its readout shows as many decimals as ``lo`` and ``step`` need, so every value the slider
    steps to reads exactly (a view that prints the value should use :attr:`FloatSlider.readout_format`
    too, so the readout and the view agree).

    Raises:
        ValueError: the bounds or the step are not finite reals with ``lo < hi`` and ``0 < step <= hi - lo``,
            or ``value`` is outside ``[lo, hi]``. TypeError: ``value`` is not a real number.
    """
    bounds = {"lo": lo, "hi": hi, "step": step}
    for key, x in bounds.items():
        if not _is_real(x) or not np.isfinite(x):
            raise ValueError(f"{name}: {key}={x!r}; expected a finite real number")
    if not lo < hi or not 0 < step <= hi - lo:
        raise ValueError(f"{name}: lo={lo!r}, hi={hi!r}, step={step!r}; expected lo < hi and 0 < step <= hi - lo")
    kwargs.setdefault("readout_format", f".{_decimals(float(lo), float(step))}f")
    control = widgets.FloatSlider(
        min=float(lo), max=float(hi), step=float(step), value=float(lo), description=description, **kwargs
    )
    check_value(name, control, value)
    control.value = float(value)
    return control


def text_box(name: str, value: str, description: str, **kwargs: Any) -> widgets.Text:
    """A ``Text`` box holding ``value``.

    Raises:
        TypeError: ``value`` is not a ``str``.
    """
    control = widgets.Text(description=description, **kwargs)
    check_value(name, control, value)
    control.value = value
    return control


def css_name(keyword: str) -> str:
    """``keyword`` as a CSS class name part: characters other than letters, digits, ``_`` and ``-`` become ``_``.

    Control keywords may be model names (``"BERT + CF"``); their CSS classes must stay one class each.
    """
    return re.sub(r"[^A-Za-z0-9_-]", "_", keyword)


def html_view(**layout: str) -> widgets.HTML:
    """An empty ``HTML`` view (optionally with ``Layout`` keywords such as ``margin``)."""
    return widgets.HTML(layout=widgets.Layout(**layout)) if layout else widgets.HTML()


def table_html(title: str, frame: pd.DataFrame, formats: Mapping[str, str], highlight: str | None = None) -> str:
    """A small HTML table with a bold title (values escaped).

    Args:
        title: shown above the table.
        frame: the rows to show, in order.
        formats: ``{column: format string}`` for columns that need one (others use ``str``).
        highlight: a column whose truthy rows are shaded.
    """
    head = "".join(f"<th style='text-align:left;padding:2px 8px'>{html.escape(str(c))}</th>" for c in frame.columns)
    body = []
    for _, row in frame.iterrows():
        style = " style='background:#d9f2d9'" if highlight is not None and row[highlight] else ""
        cells = "".join(
            f"<td style='padding:2px 8px'>{html.escape(formats.get(c, '{}').format(row[c]))}</td>"
            for c in frame.columns
        )
        body.append(f"<tr{style}>{cells}</tr>")
    return f"<b>{html.escape(title)}</b><table><tr>{head}</tr>{''.join(body)}</table>"


class LessonWidget:
    """Base of the lesson widgets: named controls drive ``HTML`` views, and never disagree with them.

    Attributes:
        controls: ``{keyword: control}``; the keywords are those ``update`` accepts.
        views: the ``HTML`` views, in the order they are displayed.
        widget: the assembled ``VBox`` (what a notebook cell displays).
        last_: what the last redraw computed (each subclass documents its type).
        main_control: the keyword of the control that matters most (the browser test moves it).

    Each control gets the CSS class ``rl-control-<css_name(keyword)>``, each view ``rl-view-<i>``.
    """

    # A class attribute, or set in ``__init__`` before ``_assemble`` when the controls are per instance.
    main_control: str

    controls: dict[str, widgets.ValueWidget]
    views: list[widgets.HTML]
    widget: widgets.VBox
    last_: Any
    # Defined by each subclass with its own keywords (see the module docstring).
    update: Callable[..., Any]
    _draw: Callable[..., Any]

    def _assemble(
        self,
        controls: Mapping[str, widgets.ValueWidget],
        views: Sequence[widgets.HTML],
        body: Sequence[widgets.Widget] | None = None,
        top: Sequence[widgets.Widget] | None = None,
    ) -> None:
        """Wire the controls to the views, lay them out and draw once.

        Args:
            controls: ``{keyword: control}`` in display order (one row above the views).
            views: every ``HTML`` view, in display order.
            body: the widgets shown below the controls (default: the views, one under another);
                give it to arrange the views in boxes.
            top: the widgets shown above ``body``, one under another (default: the controls in one
                row); give it when the controls do not fit in a row.
        """
        if self.main_control not in controls:
            raise TypeError(f"{type(self).__name__}.main_control={self.main_control!r} is not one of {list(controls)}")
        self.controls, self.views, self._holding = dict(controls), list(views), False
        for name, control in self.controls.items():
            control.add_class(f"rl-control-{css_name(name)}")  # CSS hooks: styling and the browser test
            control.observe(self._on_change, names="value")
        for i, view in enumerate(self.views):
            view.add_class(f"rl-view-{i}")
        above = [widgets.HBox(list(self.controls.values()))] if top is None else list(top)
        self.widget = widgets.VBox([*above, *(self.views if body is None else body)])
        self.widget.add_class("rl-widget")
        self.widget.add_class(f"rl-widget-{self.widget.model_id}")
        self._redraw()

    def _check(self, name: str, value: Any) -> None:
        """Validate one value for :meth:`update` (subclasses may add checks, then call this)."""
        check_value(name, self.controls[name], value)

    def values(self) -> dict[str, Any]:
        """The current control values, ``{keyword: value}``."""
        return {name: control.value for name, control in self.controls.items()}

    def _apply(self, values: Mapping[str, Any]) -> Any:
        """Set the named controls (others keep their values), redraw once and return :attr:`last_`.

        This is what every subclass's ``update`` does. Every value is checked before any control
        moves, so a bad value leaves the widget as it was. ``None`` means "keep the current value".

        Raises:
            TypeError: an unknown keyword, or a control's own type error (see :func:`check_value`).
            KeyError: a value a selection control does not offer. ValueError: a slider value out of range.
        """
        unknown = sorted(set(values) - set(self.controls))
        if unknown:
            raise TypeError(
                f"{type(self).__name__}.update() got unknown control(s) {unknown}; "
                f"expected some of {list(self.controls)}"
            )
        values = {name: v for name, v in values.items() if v is not None}
        for name, value in values.items():
            self._check(name, value)
        self._holding = True  # one redraw for the whole change, not one per control
        try:
            for name, value in values.items():
                self.controls[name].value = value
        finally:
            self._holding = False
        self._redraw()
        return self.last_

    def view_html(self) -> str:
        """The HTML of every view, in display order (what the browser shows below the controls)."""
        return "".join(view.value for view in self.views)

    def _redraw(self) -> None:
        self.last_ = self._draw(**self.values())

    def _on_change(self, change: dict) -> None:
        if not self._holding:
            self._redraw()

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        # Where the widget view cannot be shown (an untrusted notebook, GitHub, a front end without
        # the widget extension), front ends fall back to text/plain: say why, not "VBox(children=…".
        bundle = self.widget._repr_mimebundle_(**kwargs)
        bundle["text/plain"] = (
            f"{type(self).__name__} (interactive widget: shown when the notebook is trusted or its cells "
            "are run; see README, Troubleshooting)"
        )
        return bundle
