"""The shared widget base: controls drive the views, and update() moves the controls first."""

from __future__ import annotations

import ipywidgets as widgets
import numpy as np
import pytest

from recsys_lessons.widgets import LessonWidget
from recsys_lessons.widgets.base import (
    check_value,
    css_name,
    dropdown,
    float_slider,
    html_view,
    int_slider,
    table_html,
    text_box,
)


class Echo(LessonWidget):
    """A minimal lesson widget: its view spells out the three control values and counts draws."""

    main_control = "colour"

    def __init__(self, colour: str = "red", n: int = 2, note: str = "hi") -> None:
        self.draws = 0
        self.colour = dropdown("colour", [("Red", "red"), ("Blue", "blue")], colour, "colour")
        self.n = int_slider("n", n, 1, 5, "n")
        self.note = text_box("note", note, "note")
        self.top, self.bottom = html_view(), html_view(margin="0 1em")
        self._assemble({"colour": self.colour, "n": self.n, "note": self.note}, [self.top, self.bottom])

    def update(self, colour: str | None = None, n: int | None = None, note: str | None = None, **extra) -> str:
        return self._apply({"colour": colour, "n": n, "note": note, **extra})

    def _draw(self, colour: str, n: int, note: str) -> str:
        self.draws += 1
        self.top.value = f"<b>{colour}</b>"
        self.bottom.value = f"{n}:{note}"
        return f"{colour}/{n}/{note}"


def test_update_moves_every_named_control_and_redraws_once():
    w = Echo()
    assert w.draws == 1 and w.last_ == "red/2/hi"
    out = w.update(colour="blue", n=4, note="yo")
    assert out == "blue/4/yo" == w.last_
    assert (w.colour.value, w.colour.label, w.n.value, w.note.value) == ("blue", "Blue", 4, "yo")
    assert w.values() == {"colour": "blue", "n": 4, "note": "yo"}
    assert w.view_html() == "<b>blue</b>4:yo"
    assert w.draws == 2  # three controls moved, one redraw


def test_update_keeps_unnamed_controls_and_none_means_keep():
    w = Echo(colour="blue", n=3)
    w.update(n=5, note=None)
    assert w.values() == {"colour": "blue", "n": 5, "note": "hi"}
    assert w.view_html() == "<b>blue</b>5:hi"


def test_moving_a_control_redraws_like_update():
    w, twin = Echo(), Echo()
    w.n.value = 3  # what a browser does
    twin.update(n=3)
    assert w.view_html() == twin.view_html() == "<b>red</b>3:hi"


def test_a_bad_value_moves_nothing():
    w = Echo()
    with pytest.raises(ValueError, match=r"n=9; expected an integer in 1\.\.5"):
        w.update(colour="blue", n=9)
    with pytest.raises(KeyError, match="colour='green' is not offered by the 'colour' control"):
        w.update(n=4, colour="green")
    with pytest.raises(TypeError, match="note must be a str, got int"):
        w.update(note=3)
    with pytest.raises(ValueError, match="n=True"):
        w.update(n=True)  # a bool is not a list length
    with pytest.raises(TypeError, match=r"unknown control\(s\) \['size'\]"):
        w.update(size=3)
    assert w.values() == {"colour": "red", "n": 2, "note": "hi"} and w.draws == 1


def test_controls_never_clamp_a_bad_initial_value():
    with pytest.raises(ValueError, match="n=0"):
        Echo(n=0)  # a bare IntSlider would silently show 1
    with pytest.raises(KeyError, match="'green'"):
        Echo(colour="green")
    with pytest.raises(ValueError, match="max_n=0"):
        int_slider("n", 1, 1, 0, "n")
    with pytest.raises(ValueError, match="no options"):
        dropdown("colour", [], None, "colour")
    assert int_slider("n", np.int64(3), 1, 5, "n").value == 3


def test_float_slider_reads_its_steps_exactly_and_never_clamps():
    # the readout shows as many decimals as the steps need: 0.125 steps read 1.625, not 1.62/1.63
    assert float_slider("a", 1.5, 0.0, 3.0, 0.125, "a").readout_format == ".3f"
    assert float_slider("a", 1.5, 0.0, 3.0, 0.25, "a").readout_format == ".2f"
    assert float_slider("a", 2, 0, 10, 1, "a").readout_format == ".0f"
    assert float_slider("a", 0.3, 0.1, 1.0, 0.1, "a").readout_format == ".1f"  # 0.1 is not exact in binary
    slider = float_slider("a", np.float32(0.5), 0.0, 1.0, 0.25, "a", readout_format=".4f")
    assert (slider.value, slider.readout_format) == (0.5, ".4f")
    with pytest.raises(ValueError, match=r"a=1.5; expected a number in \[0, 1\]"):
        float_slider("a", 1.5, 0.0, 1.0, 0.25, "a")  # a bare FloatSlider would silently show 1.0
    with pytest.raises(ValueError, match="a=nan"):
        float_slider("a", float("nan"), 0.0, 1.0, 0.25, "a")
    with pytest.raises(TypeError, match=r"a='0\.5' is a str; expected a real number"):
        float_slider("a", "0.5", 0.0, 1.0, 0.25, "a")
    with pytest.raises(ValueError, match="expected lo < hi"):
        float_slider("a", 0.5, 1.0, 0.0, 0.25, "a")
    with pytest.raises(ValueError, match="step=0"):
        float_slider("a", 0.5, 0.0, 1.0, 0, "a")
    with pytest.raises(ValueError, match="hi=inf"):
        float_slider("a", 0.5, 0.0, float("inf"), 0.25, "a")
    with pytest.raises(TypeError, match="a=True"):
        check_value("a", slider, True)


def test_css_names_are_one_class_each():
    assert css_name("user_id") == "user_id" and css_name("item-kNN") == "item-kNN"
    assert css_name("BERT + CF (text)") == "BERT___CF__text_"


def test_css_hooks_and_text_fallback():
    w = Echo()
    assert "rl-widget" in w.widget._dom_classes and f"rl-widget-{w.widget.model_id}" in w.widget._dom_classes
    assert "rl-control-colour" in w.colour._dom_classes
    assert [v._dom_classes for v in w.views] == [("rl-view-0",), ("rl-view-1",)]
    bundle = w._repr_mimebundle_()
    assert bundle["application/vnd.jupyter.widget-view+json"]["model_id"] == w.widget.model_id
    assert bundle["text/plain"].startswith("Echo (interactive widget") and "VBox" not in bundle["text/plain"]
    assert isinstance(w.widget.children[0], widgets.HBox) and w.widget.children[1:] == (w.top, w.bottom)


def test_main_control_must_be_a_control():
    class Broken(Echo):
        main_control = "size"

    with pytest.raises(TypeError, match="main_control='size'"):
        Broken()


def test_table_html_escapes_and_highlights():
    import pandas as pd

    page = table_html("<top>", pd.DataFrame({"t": ["a<b", "c"], "hit": ["✓", ""]}), {}, highlight="hit")
    assert "&lt;top&gt;" in page and "a&lt;b" in page and "<script" not in page
    assert page.count("background:#d9f2d9") == 1
