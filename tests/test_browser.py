"""The lessons in a real JupyterLab, driven by a real Chromium (``make browser``; part of ``make test``).

A scratch copy of the notebooks (made by ``classroom.workspace.fill``, as ``make lab`` does) is
served by JupyterLab on 127.0.0.1 with a random free port and token, in the CI budget. Chromium
(``/usr/bin/chromium``, started by this test and driven by Playwright over the DevTools protocol)
opens every lesson of :data:`LESSONS`, each in its own JupyterLab workspace, and runs all cells;
the lessons run side by side. For each lesson the test then checks that

* the saved widget views rendered before the run (the copies are trusted), not their text fallback;
* every code cell ran, with no error output, no traceback and no "Error displaying widget";
* every registered widget's controls, as the browser shows them, name what its views show, and
  the views equal what the kernel's widget holds;
* moving the widget's main control in the browser changes the view, and the new view equals what
  the headless ``update()`` gives for the control's new value (asked of the same kernel).

Screenshots of each widget before and after the change land in ``build/screenshots/``. The test
stops the server and the browser by their process ids. It skips only when there is no Chromium.

Adding a lesson (04, 05, …): add one entry to :data:`LESSONS`, the notebook's file stem mapped to
the names of the variables its code binds to lesson widgets (subclasses of
``recsys_lessons.widgets.LessonWidget``; the test moves each one's ``main_control``).
"""

from __future__ import annotations

import contextlib
import html.parser
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from recsys_lessons.widgets.base import css_name
from recsys_lessons.classroom import workspace

pytestmark = pytest.mark.browser

# notebook stem -> variables holding the lesson widgets it displays
LESSONS: dict[str, list[str]] = {
    "01_collaborative_filtering": ["explorer"],
    "02_content_based_filtering": ["query_box", "more_like_this"],
    "03_bert_cross_entropy": ["explorer"],
    "04_long_tail": ["explorer"],
    "05_hybrid_strategies": ["explorer"],
}
TEXT_QUERY = "a romantic comedy in New York"  # what the test types into a text control

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path(os.environ.get("RECSYS_LESSONS_CHROMIUM", "/usr/bin/chromium"))
SCREENSHOTS = ROOT / "build" / "screenshots"
SCRATCH = ROOT / "build" / "browser"
RUN_TIMEOUT = 1800.0  # seconds for one lesson's Run All on a busy 2-core machine
UI_TIMEOUT = 120.0  # seconds for the page to load, a control to answer, the kernel to settle


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _stop(proc: subprocess.Popen, grace: float = 20.0) -> None:
    """Stop a process this test started (and its children: it leads its own process group), by id."""
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(grace)


class _Text(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def html_text(markup: str) -> str:
    """The text a browser's ``textContent`` gives for ``markup``, whitespace collapsed."""
    parser = _Text()
    parser.feed(markup)
    parser.close()
    return squash("".join(parser.parts))


def squash(text: str) -> str:
    return " ".join(text.split())


@dataclass
class Lab:
    """A JupyterLab server over a scratch copy of the notebooks."""

    url: str
    token: str
    root: Path
    runtime: Path
    proc: subprocess.Popen

    def api(self, path: str) -> object:
        with urllib.request.urlopen(f"{self.url}{path}?token={self.token}", timeout=10) as r:
            return json.load(r)

    def kernel(self, notebook: str) -> Kernel:
        sessions = [s for s in self.api("/api/sessions") if Path(s["path"]).name == f"{notebook}.ipynb"]
        assert len(sessions) == 1, f"expected one kernel session for {notebook}, found {sessions}"
        return Kernel(self.runtime / f"kernel-{sessions[0]['kernel']['id']}.json")


@dataclass
class Kernel:
    """A second client of a lesson's kernel: asks the notebook's own objects what they hold."""

    connection_file: Path
    client: object = field(init=False)

    def __post_init__(self) -> None:
        from jupyter_client import BlockingKernelClient

        self.client = BlockingKernelClient(connection_file=str(self.connection_file))
        self.client.load_connection_file()
        self.client.start_channels()

    def ask(self, code: str) -> object:
        """Run ``code`` (whose last line prints one JSON value) in the notebook's namespace."""
        out: list[str] = []
        errors: list[str] = []

        def hook(msg: dict) -> None:
            if msg["msg_type"] == "stream" and msg["content"]["name"] == "stdout":
                out.append(msg["content"]["text"])
            elif msg["msg_type"] == "error":
                errors.append("\n".join(msg["content"]["traceback"]))

        reply = self.client.execute_interactive(code, store_history=False, output_hook=hook, timeout=UI_TIMEOUT)
        assert reply["content"]["status"] == "ok" and not errors, f"kernel error:\n{''.join(errors)}"
        return json.loads("".join(out))

    def close(self) -> None:
        self.client.stop_channels()


# What a widget's controls read as in a browser: a dropdown shows its label, a slider its readout
# (a float slider's readout is its value in the slider's readout format, e.g. ".2f").
_PROBE = """
import json as _rl_json
import ipywidgets as _rl_widgets
from recsys_lessons.widgets import LessonWidget as _RLWidget

def _rl_state(w):
    assert isinstance(w, _RLWidget), f"{type(w).__name__} is not a LessonWidget"
    shown = {}
    for name, c in w.controls.items():
        if isinstance(c, _rl_widgets.Dropdown):
            text = c.label
        elif isinstance(c, _rl_widgets.FloatSlider):
            text = format(c.value, c.readout_format)
        else:
            text = str(c.value)
        shown[name] = " ".join(text.split())
    return {"id": w.widget.model_id, "main": w.main_control, "kind": type(w.controls[w.main_control]).__name__,
            "shown": shown, "views": [v.value for v in w.views]}
"""


def _chromium(scratch: Path) -> tuple[subprocess.Popen, str]:
    """Start headless Chromium with a DevTools port; return the process and its DevTools address."""
    profile = scratch / "chromium-profile"
    shutil.rmtree(profile, ignore_errors=True)
    profile.mkdir(parents=True)
    proc = subprocess.Popen(
        [
            str(CHROMIUM),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--no-default-browser-check",
            # the lessons run in background tabs: keep their timers and rendering at full speed
            "--disable-background-timer-throttling",
            "--disable-renderer-backgrounding",
            "--disable-backgrounding-occluded-windows",
            "--window-size=1400,1000",
            "--remote-debugging-address=127.0.0.1",
            "--remote-debugging-port=0",
            f"--user-data-dir={profile}",
            "about:blank",
        ],
        stdout=subprocess.DEVNULL,
        stderr=open(scratch / "chromium.log", "wb"),
        start_new_session=True,
    )
    port_file = profile / "DevToolsActivePort"
    deadline = time.monotonic() + UI_TIMEOUT
    while not (port_file.exists() and port_file.read_text().strip()):
        if proc.poll() is not None or time.monotonic() > deadline:
            _stop(proc)
            pytest.fail(f"Chromium did not start; see {scratch / 'chromium.log'}")
        time.sleep(0.2)
    return proc, f"http://127.0.0.1:{port_file.read_text().split()[0]}"


def _settings(folder: Path) -> None:
    """JupyterLab settings for a test run: every cell in the DOM, no news or update pop-ups."""
    for plugin, values in {
        "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"},
        "@jupyterlab/apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False},
        "@jupyterlab/docmanager-extension/plugin": {"autosave": False},
    }.items():
        path = folder / f"{plugin}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    if not CHROMIUM.exists():
        pytest.skip(f"no Chromium at {CHROMIUM}: install it with `apt-get install -y chromium` (.ci/run does)")
    scratch = SCRATCH / time.strftime("%Y%m%dT%H%M%S")
    notebooks, jupyter = scratch / "notebooks", scratch / "jupyter"
    env = dict(
        os.environ,
        RECSYS_LESSONS_BUDGET="ci",
        JUPYTER_CONFIG_DIR=str(jupyter / "config"),
        JUPYTER_DATA_DIR=str(jupyter / "data"),
        JUPYTER_RUNTIME_DIR=str(jupyter / "runtime"),
        JUPYTERLAB_SETTINGS_DIR=str(jupyter / "settings"),
        JUPYTERLAB_WORKSPACES_DIR=str(jupyter / "workspaces"),
    )
    _settings(jupyter / "settings")
    # The copies are made, and signed, as `make lab` does; the signatures go to the scratch database.
    with workspace.make_notary(env["JUPYTER_DATA_DIR"]) as notary:
        workspace.fill(ROOT / "notebooks", notebooks, notary)
    port, token = _free_port(), secrets.token_hex(24)
    cmd = [
        sys.executable,
        "-m",
        "jupyterlab",
        "--no-browser",
        "--ip=127.0.0.1",
        f"--port={port}",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={notebooks}",
        "--LabApp.expose_app_in_browser=True",
        "--ServerApp.port_retries=0",
    ]
    if os.geteuid() == 0:
        cmd.append("--allow-root")
    proc = subprocess.Popen(
        cmd, env=env, stdout=subprocess.DEVNULL, stderr=open(scratch / "jupyterlab.log", "wb"), start_new_session=True
    )
    server = Lab(f"http://127.0.0.1:{port}", token, notebooks, jupyter / "runtime", proc)
    try:
        deadline = time.monotonic() + UI_TIMEOUT
        while True:
            try:
                server.api("/api/status")
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"JupyterLab did not start; see {scratch / 'jupyterlab.log'}")
                time.sleep(0.5)
        yield server
    finally:
        _stop(proc)


@pytest.fixture(scope="module")
def pages(lab, request) -> Iterator[dict]:
    """One page per selected lesson, each in its own workspace, all started on Run All (side by side)."""
    from playwright.sync_api import sync_playwright

    selected = [
        stem
        for stem in LESSONS
        if any(  # `-k 01` runs lesson 01 only
            getattr(item, "callspec", None) and item.callspec.params.get("stem") == stem
            for item in request.session.items
        )
    ]

    chromium, devtools = _chromium(lab.root.parent)
    playwright = sync_playwright().start()
    try:
        browser = playwright.chromium.connect_over_cdp(devtools)
        context = browser.contexts[0] if browser.contexts else browser.new_context()
        opened = {}
        for stem in selected:
            page = context.new_page()
            page.set_viewport_size({"width": 1400, "height": 1000})
            page.goto(f"{lab.url}/lab/workspaces/rl-{stem[:2]}/tree/{stem}.ipynb?reset&token={lab.token}")
            _wait_js(
                page,
                "() => { const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;"
                " return !!(w && w.sessionContext && w.sessionContext.session"
                " && w.sessionContext.session.kernel && w.content && w.content.widgets.length"
                " && w.sessionContext.session.kernel.status === 'idle'); }",
                UI_TIMEOUT,
                f"{stem}: the notebook and an idle kernel",
            )
            opened[stem] = {"page": page, "unrun": _fallback_texts(page)}
            # Start Run All and return at once (evaluate would otherwise wait for the whole run).
            page.evaluate("() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); return true; }")
            opened[stem]["started"] = time.monotonic()
        yield opened
        browser.close()
    finally:
        playwright.stop()
        _stop(chromium)


def _wait_js(page, predicate: str, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not page.evaluate(predicate):
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.5)


def _fallback_texts(page) -> list[str]:
    """Outputs shown as a widget's text fallback (what an untrusted notebook shows instead of the view)."""
    return page.evaluate(
        "() => Array.from(document.querySelectorAll('.jp-OutputArea-output')).map(e => e.textContent)"
        ".filter(t => t.startsWith('VBox(children=') || t.includes('(interactive widget:'))"
    )


_RUN_STATE = """() => {
  const w = window.jupyterapp.shell.currentWidget;
  const cells = w.content.widgets.filter(c => c.model.type === 'code');
  const errors = [];
  for (const c of cells) for (const o of c.model.outputs.toJSON())
    if (o.output_type === 'error') errors.push(o.ename + ': ' + o.evalue);
  return {kernel: w.sessionContext.session.kernel.status, pending: cells.filter(c => c.model.executionCount === null
          || c.promptNode.textContent.includes('*')).length, cells: cells.length, errors};
}"""


def _run_all(page, stem: str, started: float) -> float:
    """Wait until every code cell of the lesson ran and the kernel is idle; return the seconds it took."""
    deadline = started + RUN_TIMEOUT
    while True:
        state = page.evaluate(_RUN_STATE)
        assert not state["errors"], f"{stem}: a cell raised {state['errors']}"
        if state["kernel"] == "idle" and state["pending"] == 0:
            return time.monotonic() - started
        if time.monotonic() > deadline:
            pytest.fail(
                f"{stem}: {state['pending']} of {state['cells']} code cells still not run "
                f"after {RUN_TIMEOUT:.0f} s (kernel {state['kernel']})"
            )
        time.sleep(2)


def _browser_controls(root, names: list[str]) -> dict[str, str]:
    """What each control shows in the browser: a dropdown's selected label, a slider's readout, a text's value."""
    shown = {}
    for name in names:
        control = root.locator(f".rl-control-{css_name(name)}")
        if control.locator("select").count():
            # ipywidgets writes option labels with no-break spaces; squash() maps them to spaces
            shown[name] = squash(control.locator("select").evaluate("s => s.options[s.selectedIndex].text"))
        elif control.locator("input[type=text], input:not([type])").count():
            shown[name] = squash(control.locator("input").first.input_value())
        else:
            shown[name] = squash(control.locator(".widget-readout").text_content())
    return shown


def _browser_views(root, n: int) -> list[str]:
    return [squash(root.locator(f".rl-view-{i} .widget-html-content").text_content()) for i in range(n)]


def _move(root, name: str, kind: str) -> None:
    """Move a control the way a learner does: pick the next option, nudge the slider, type a query."""
    control = root.locator(f".rl-control-{css_name(name)}")
    if kind == "Dropdown":
        select = control.locator("select")
        index, count = select.evaluate("s => [s.selectedIndex, s.options.length]")
        assert count > 1, f"control {name!r} has a single option: nothing to move to"
        select.select_option(index=(index + 1) % count)
    elif kind in ("IntSlider", "FloatSlider"):  # one keypress moves either by one step
        handle = control.locator(".noUi-handle")
        at_max = handle.get_attribute("aria-valuenow") == handle.get_attribute("aria-valuemax")
        handle.focus()
        handle.press("ArrowLeft" if at_max else "ArrowRight")
    elif kind == "Text":
        box = control.locator("input").first
        box.fill(TEXT_QUERY)
        box.press("Enter")
    else:
        raise AssertionError(f"the browser test cannot move a {kind} control ({name!r}); teach _move how")


def _shot(root, stem: str, var: str, when: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{stem}__{var}__{when}.png"
    root.scroll_into_view_if_needed()
    root.screenshot(path=str(path))
    return path


@pytest.mark.parametrize("stem", list(LESSONS))
def test_lesson_runs_and_its_widgets_tell_the_truth(stem, lab, pages):
    page = pages[stem]["page"]
    page.bring_to_front()  # screenshots wait for frames, which a background tab does not draw
    assert pages[stem]["unrun"] == [], f"{stem}: saved widgets shown as text before the run (untrusted?)"
    took = _run_all(page, stem, pages[stem]["started"])
    print(f"\n{stem}: Run All finished in {took:.0f} s")
    body = page.locator("body").text_content()
    assert "Error displaying widget" not in body, f"{stem}: a widget failed to display"
    assert "Traceback (most recent call last)" not in body, f"{stem}: a traceback is shown"
    kernel = lab.kernel(stem)
    try:
        kernel.ask(_PROBE + "print(1)")
        for var in LESSONS[stem]:
            state = kernel.ask(f"print(_rl_json.dumps(_rl_state({var})))")
            root = page.locator(f".rl-widget-{state['id']}")
            assert root.count() == 1, f"{stem}: widget {var!r} is not displayed once (found {root.count()})"
            names = list(state["shown"])
            # After Run All (and any update() a later cell made) the browser shows what the kernel holds.
            assert _browser_controls(root, names) == state["shown"], f"{stem}: {var}'s controls disagree"
            before = _browser_views(root, len(state["views"]))
            assert before == [html_text(v) for v in state["views"]], f"{stem}: {var}'s view is not the kernel's"
            _shot(root, stem, var, "before")

            _move(root, state["main"], state["kind"])
            deadline = time.monotonic() + UI_TIMEOUT
            while (after := _browser_views(root, len(before))) == before:
                assert time.monotonic() < deadline, f"{stem}: moving {var}.{state['main']} did not change the view"
                time.sleep(0.5)
            _wait_js(
                page,
                "() => window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.status === 'idle'",
                UI_TIMEOUT,
                f"{stem}: the kernel to settle",
            )
            after = _browser_views(root, len(before))
            shown = _browser_controls(root, names)
            moved = kernel.ask(f"print(_rl_json.dumps(_rl_state({var})))")
            assert shown == moved["shown"], f"{stem}: {var}'s controls in the browser differ from the kernel's"
            assert shown[state["main"]] != state["shown"][state["main"]], f"{stem}: {var}.{state['main']} did not move"
            headless = kernel.ask(
                f"_rl_w = {var}; _rl_w.update(**{{_rl_w.main_control: _rl_w.controls[_rl_w.main_control].value}})\n"
                "print(_rl_json.dumps([v.value for v in _rl_w.views]))"
            )
            assert after == [html_text(v) for v in headless], (
                f"{stem}: {var}'s view after moving {state['main']} differs from update() for that value"
            )
            _shot(root, stem, var, "after")
    finally:
        kernel.close()
