"""Re-run the lessons and check that every number they show comes back (``make reproduce``).

Each numbered notebook is copied to a scratch folder, executed on a fresh kernel in a budget
(``full`` by default), and every number in its outputs is compared with the committed copy: printed
metrics, table cells, intervals. Timings and memory sizes are not compared — they are recognised by
their unit (``12.3 s``, ``450 ms``, ``1.2 GiB``, ``20 it/s``) or by a table column or row label
that names a time (``fit time``, ``seconds``, ``fit_s``). Standard error (progress bars, warnings)
and pictures are ignored. Cells are matched by their source, so a cell added or removed elsewhere
does not shift the comparison.

The run also records each notebook's wall time and peak memory (the maximum resident set size of
the executing process tree, kernel included) and can write them into ``benchmarks/RESULTS.md``
between ``<!-- lesson-resources:begin -->`` and ``<!-- lesson-resources:end -->``.
"""

from __future__ import annotations

import argparse
import hashlib
import html
import json
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

from .storage import write_section

__all__ = [
    "BUDGETS",
    "MAX_PEAK_GIB",
    "CellNumbers",
    "Comparison",
    "LessonRun",
    "compare_notebooks",
    "extract_numbers",
    "main",
    "recorded_resources",
    "run_notebook",
    "write_resources",
]

# A number as printed: optional sign, digits with optional thousands commas, optional decimals and
# exponent. A leading letter/underscore/digit excludes identifiers like "ndcg@10" parts ("@10" is
# kept: k is part of what a lesson claims) but not "x1".
_NUMBER = re.compile(r"(?<![\w.])[-+−]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:[eE][-+]?\d+)?%?")
# Units that mark a number as a timing, a rate or a memory size: those vary between runs.
_VOLATILE_UNIT = re.compile(
    r"\s?(?:s|ms|µs|us|sec|secs|seconds?|min|mins|minutes?|h|hours?|it/s|s/it|[a-z]+/s|"
    r"[KMGT]i?B|bytes)\b",
    re.IGNORECASE,
)
# A table column or a printed label naming a time.
_TIME_LABEL = re.compile(r"time|seconds|elapsed|wall|took|\(s\)|_s\b|\bsec\b|duration|peak|memory|rss", re.IGNORECASE)
_MARK_BEGIN = "<!-- lesson-resources:begin -->"
_MARK_END = "<!-- lesson-resources:end -->"
BUDGETS = ("full", "ci", "long")
# The course's promise: every lesson runs on a laptop with room to spare (issue #19).
MAX_PEAK_GIB = 4.0


def _canonical(token: str) -> str:
    """One spelling per value: no thousands commas, the Unicode minus as ``-``."""
    return token.replace(",", "").replace("−", "-").lstrip("+")


def _numbers_in_text(text: str) -> list[str]:
    """Numbers in free text, without those followed by a time, rate or memory unit, and without
    those on a line whose label (the text before the first number) names a time."""
    found: list[str] = []
    for line in text.splitlines():
        first = _NUMBER.search(line)
        if first is None:
            continue
        if _TIME_LABEL.search(line[: first.start()]):
            continue
        for match in _NUMBER.finditer(line):
            if _VOLATILE_UNIT.match(line, match.end()):
                continue
            found.append(_canonical(match.group()))
    return found


class _TableText(HTMLParser):
    """Collects an HTML output's text; inside tables, drops the columns whose header names a time."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._row: list[str] = []
        self._cell: list[str] | None = None
        self._header: list[str] = []
        self._in_table = 0
        self._header_done = False
        self._skip = 0  # inside <style> or <script>

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("style", "script"):
            self._skip += 1
        elif tag == "table":
            self._in_table += 1
            self._header, self._header_done = [], False
        elif tag == "tr" and self._in_table:
            self._row = []
        elif tag in ("td", "th") and self._in_table:
            self._cell = []
        elif tag in ("br", "p", "div", "li") and not self._in_table:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("style", "script") and self._skip:
            self._skip -= 1
        elif tag in ("td", "th") and self._cell is not None:
            self._row.append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "tr" and self._in_table:
            self._end_row()
        elif tag == "table" and self._in_table:
            self._in_table -= 1
            self.parts.append("\n")

    def _end_row(self) -> None:
        row = self._row
        if not self._header_done and row and not any(_NUMBER.fullmatch(c) for c in row[1:]):
            # A header row (pandas may write two: column names, then the index name).
            self._header = (
                row
                if not self._header
                else [a or b for a, b in zip(row, self._header + [""] * (len(row) - len(self._header)), strict=False)]
            )
            self.parts.append(" | ".join(row) + "\n")
            return
        self._header_done = True
        # pandas' header has no cell above the index column when the index is unnamed.
        offset = len(row) - len(self._header)
        kept = []
        for j, cell in enumerate(row):
            name = self._header[j - offset] if 0 <= j - offset < len(self._header) else ""
            if not _TIME_LABEL.search(name) and not (j == 0 and _TIME_LABEL.search(cell)):
                kept.append(cell)
            elif j == 0:  # the row's label names a time: drop the whole row
                kept = []
                break
        if kept:
            self.parts.append(" | ".join(kept) + "\n")

    def handle_data(self, data: str) -> None:
        if self._skip:
            return
        if self._cell is not None:
            self._cell.append(data)
        elif not self._in_table:
            self.parts.append(data)


def _output_text(output: dict) -> str:
    """The comparable text of one output: stdout, HTML (tables parsed) or plain text."""
    kind = output.get("output_type")
    if kind == "stream":
        return "".join(output.get("text", "")) if output.get("name") == "stdout" else ""
    if kind in ("execute_result", "display_data"):
        data = output.get("data", {})
        if "application/vnd.jupyter.widget-view+json" in data:
            return ""  # a live widget: its state is compared through the HTML shown after it
        if "text/html" in data:
            parser = _TableText()
            parser.feed("".join(data["text/html"]))
            return html.unescape("".join(parser.parts))
        if "text/plain" in data and not any(m.startswith("image/") for m in data):
            return "".join(data["text/plain"])
    return ""  # errors are reported by the executor, pictures are not compared


@dataclass(frozen=True)
class CellNumbers:
    """The numbers one code cell printed.

    Attributes:
        key: the SHA-1 of the cell's source (cells are matched by it).
        index: the cell's position in the notebook (for messages).
        numbers: canonical number strings in output order.
    """

    key: str
    index: int
    numbers: tuple[str, ...]


def extract_numbers(notebook: dict) -> list[CellNumbers]:
    """Numbers of every code cell's outputs, timings and memory sizes left out.

    Args:
        notebook: a notebook as parsed JSON (``nbformat`` v4).

    Returns:
        One entry per code cell that printed at least one comparable number.

    Raises:
        ValueError: if ``notebook`` has no ``cells`` list.
    """
    cells = notebook.get("cells")
    if not isinstance(cells, list):
        raise ValueError("not a notebook: no 'cells' list")
    out = []
    for index, cell in enumerate(cells):
        if cell.get("cell_type") != "code":
            continue
        source = "".join(cell.get("source", ""))
        numbers = [n for o in cell.get("outputs", []) for n in _numbers_in_text(_output_text(o))]
        if numbers:
            key = hashlib.sha1(source.encode(), usedforsecurity=False).hexdigest()  # a cell id, not a secret
            out.append(CellNumbers(key, index, tuple(numbers)))
    return out


@dataclass
class Comparison:
    """How a fresh run's numbers compare with the committed ones.

    Attributes:
        matched: numbers equal in both.
        differences: human-readable lines, one per differing cell.
    """

    matched: int = 0
    differences: list[str] = field(default_factory=list)

    @property
    def identical(self) -> bool:
        return not self.differences


def compare_notebooks(committed: dict, fresh: dict, context: int = 3) -> Comparison:
    """Compare every number of ``fresh``'s outputs with ``committed``'s, cell by cell.

    Cells are paired by source. A cell whose count of numbers differs, or whose numbers differ, is
    one difference; a cell present in one notebook only is one difference.

    Args:
        committed: the notebook as committed.
        fresh: the same notebook re-executed.
        context: how many differing values to quote per cell.

    Returns:
        The :class:`Comparison`.
    """
    old = {c.key: c for c in extract_numbers(committed)}
    new = {c.key: c for c in extract_numbers(fresh)}
    result = Comparison()
    for key, before in old.items():
        after = new.get(key)
        if after is None:
            result.differences.append(f"cell {before.index}: printed {len(before.numbers)} numbers before, none now")
            continue
        pairs = list(zip(before.numbers, after.numbers, strict=False))  # unequal counts are reported below
        equal = sum(a == b for a, b in pairs)
        result.matched += equal
        if len(before.numbers) != len(after.numbers) or equal != len(pairs):
            diffs = [f"{a} → {b}" for a, b in pairs if a != b][:context]
            count = (
                ""
                if len(before.numbers) == len(after.numbers)
                else (f" ({len(before.numbers)} numbers before, {len(after.numbers)} now)")
            )
            result.differences.append(f"cell {before.index}: {', '.join(diffs) or 'count differs'}{count}")
    for key, after in new.items():
        if key not in old:
            result.differences.append(f"cell {after.index}: new output with {len(after.numbers)} numbers")
    return result


@dataclass(frozen=True)
class LessonRun:
    """One notebook's execution: where the executed copy is, how long it took, its peak memory."""

    notebook: Path
    executed: Path
    seconds: float
    peak_mib: float
    returncode: int


def run_notebook(notebook: Path, scratch: Path, budget: str = "full", timeout: int = 1800) -> LessonRun:
    """Execute a copy of ``notebook`` in ``scratch`` on a fresh kernel and measure it.

    The copy runs from the scratch folder (so nothing is written beside the committed notebooks);
    the package's data folder is passed on through ``RECSYS_LESSONS_DATA``.

    Args:
        notebook: the committed notebook.
        scratch: folder for the executed copy (created).
        budget: ``"ci"``, ``"full"`` or ``"long"``.
        timeout: seconds per cell before the executor gives up.

    Returns:
        The :class:`LessonRun`; ``returncode`` is non-zero when a cell failed.

    Raises:
        ValueError: for an unknown budget.
        FileNotFoundError: if ``notebook`` does not exist.
    """
    if budget not in BUDGETS:
        raise ValueError(f"budget={budget!r}; expected 'ci', 'full' or 'long'")
    if not notebook.is_file():
        raise FileNotFoundError(f"no notebook at {notebook}")
    scratch.mkdir(parents=True, exist_ok=True)
    target = scratch / notebook.name
    shutil.copyfile(notebook, target)
    env = dict(os.environ, RECSYS_LESSONS_BUDGET=budget)
    env.setdefault("RECSYS_LESSONS_DATA", str(Path("data").resolve()))
    cmd = [
        sys.executable,
        "-m",
        "jupyter",
        "nbconvert",
        "--to",
        "notebook",
        "--execute",
        "--inplace",
        f"--ExecutePreprocessor.timeout={timeout}",
        "--ExecutePreprocessor.kernel_name=python3",
        str(target.resolve()),
    ]
    start = time.perf_counter()
    # No shell; argv is this interpreter, fixed nbconvert flags and the notebook copied above.
    proc = subprocess.Popen(cmd, env=env, cwd=scratch, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # noqa: S603 - fixed argv
    # wait4 gives this child's resource usage, which on Linux includes the kernel it started and
    # waited for: ru_maxrss is then the peak resident set of the whole tree (KiB).
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    stderr = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    code = os.waitstatus_to_exitcode(status)
    if code:
        sys.stderr.write(stderr[-4000:])
    return LessonRun(notebook, target, seconds, usage.ru_maxrss / 1024, code)


def recorded_resources(results: Path) -> dict[tuple[str, str], tuple[str, str]]:
    """The cells of the lesson-resources table already in ``results``.

    Args:
        results: the Markdown file (missing, or without the section: nothing recorded).

    Returns:
        ``{(budget, lesson): (wall time, peak memory)}`` as printed, e.g.
        ``{("ci", "00_setup_and_data"): ("0.2 min", "0.61 GiB")}``; cells shown as ``—`` are left out.
    """
    text = results.read_text() if results.exists() else ""
    if _MARK_BEGIN not in text:
        return {}
    section = text.split(_MARK_BEGIN, 1)[1].split(_MARK_END, 1)[0]
    rows = [
        [c.strip() for c in line.strip().strip("|").split("|")] for line in section.splitlines() if line.startswith("|")
    ]
    if len(rows) < 2:
        return {}
    budgets = [name.split(":", 1)[0] for name in rows[0][1::2]]  # "full: wall time", "ci: wall time", ...
    out = {}
    for cells in rows[2:]:  # after the header and the |---| rule
        lesson = cells[0].strip("`")
        for j, b in enumerate(budgets):
            seconds, memory = cells[1 + 2 * j : 3 + 2 * j]
            if seconds != "—":
                out[(b, lesson)] = (seconds, memory)
    return out


def write_resources(results: Path, runs: dict[str, list[LessonRun]]) -> None:
    """Write the per-lesson wall time and peak memory table into ``results`` (between the markers).

    The new runs replace their own cells only: lessons and budgets not run this time keep the
    values already in the table, so ``--budgets ci`` over one notebook adds its CI column without
    erasing the full-budget measurements of the others. Budgets are columns in the order full,
    ci, long.

    Args:
        results: the Markdown file (created with just this section when missing).
        runs: budget name -> the runs made in it.
    """
    cells = recorded_resources(results)
    for b, rs in runs.items():
        for r in rs:
            cells[(b, r.notebook.stem)] = (f"{r.seconds / 60:.1f} min", f"{r.peak_mib / 1024:.2f} GiB")
    budgets = [b for b in BUDGETS if any(key[0] == b for key in cells)]
    names = sorted({lesson for _, lesson in cells})
    header = "| lesson | " + " | ".join(f"{b}: wall time | {b}: peak memory" for b in budgets) + " |"
    rule = "|---|" + "---:|---:|" * len(budgets)
    rows = [
        f"| `{name}` | " + " | ".join(" | ".join(cells.get((b, name), ("—", "—"))) for b in budgets) + " |"
        for name in names
    ]
    section = "\n".join(
        [
            "### Lessons: wall time and peak memory",
            "",
            f"Measured by `make reproduce` on {os.cpu_count()} CPU cores (last run {time.strftime('%Y-%m-%d')}); "
            "peak memory is the largest resident set of the executing process tree, kernel included. "
            f"Every lesson must stay under {MAX_PEAK_GIB:g} GiB in every budget (`make reproduce` fails otherwise).",
            "",
            header,
            rule,
            *rows,
        ]
    )
    write_section(results, section, _MARK_BEGIN, _MARK_END)  # atomic: never a half-written file


def main(argv: list[str] | None = None) -> int:
    """Command line: ``python -m recsys_lessons.reproduce [notebooks…] [--budgets ci,full] …``.

    Runs in the ``full`` budget are compared with the committed notebooks (their outputs come from
    that budget); runs in other budgets are only measured, unless ``--twice`` runs each notebook
    again and compares the two runs (for ``full`` too). A lesson over ``--max-peak-gib`` fails.

    Returns:
        0 when every notebook ran and every compared number matched, else 1.
    """
    parser = argparse.ArgumentParser(prog="python -m recsys_lessons.reproduce", description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: notebooks/[0-9]*.ipynb")
    parser.add_argument("--budgets", default="full", help="comma-separated: ci, full, long (default: full)")
    parser.add_argument("--scratch", type=Path, default=Path("build/reproduce"))
    parser.add_argument("--results", type=Path, help="write wall time and peak memory into this Markdown file")
    parser.add_argument(
        "--max-peak-gib",
        type=float,
        default=MAX_PEAK_GIB,
        help=f"fail when a lesson's peak memory exceeds this (default {MAX_PEAK_GIB:g})",
    )
    parser.add_argument(
        "--twice",
        action="store_true",
        help="run every notebook a second time in each budget and compare it with the first run "
        "(the determinism check for budgets other than full, e.g. make test's ci)",
    )
    parser.add_argument(
        "--update",
        action="store_true",
        help="after comparing, copy the fresh full-budget runs over the committed notebooks",
    )
    args = parser.parse_args(argv)
    budgets = [b.strip() for b in args.budgets.split(",") if b.strip()]
    bad = [b for b in budgets if b not in BUDGETS]
    if bad or not budgets:
        parser.error(f"--budgets {args.budgets!r}: expected a comma-separated list of ci, full, long")
    notebooks = args.notebooks or sorted(Path("notebooks").glob("[0-9]*.ipynb"))
    if not notebooks:
        parser.error("no notebooks found")
    runs: dict[str, list[LessonRun]] = {b: [] for b in budgets}
    failed = False
    print(f"{'notebook':34} {'budget':6} {'time':>8} {'peak':>9} {'matched':>8}  differences", flush=True)
    for budget_name in budgets:
        for nb in notebooks:
            run = run_notebook(nb, args.scratch / budget_name, budget_name)
            line = f"{nb.name:34} {budget_name:6} {run.seconds / 60:7.1f}m {run.peak_mib / 1024:8.2f}G"
            if run.returncode:  # not recorded: a run cut short says nothing about time or memory
                print(f"{line} {'—':>8}  execution failed (exit {run.returncode})", flush=True)
                failed = True
                continue
            runs[budget_name].append(run)
            over = run.peak_mib / 1024 > args.max_peak_gib
            failed |= over
            limit = f"; peak memory over the {args.max_peak_gib:g} GiB limit" if over else ""
            if args.twice:
                again = run_notebook(nb, args.scratch / f"{budget_name}-again", budget_name)
                if again.returncode:
                    print(f"{line} {'—':>8}  the second run failed (exit {again.returncode})", flush=True)
                    failed = True
                    continue
                first, second = (json.loads(r.executed.read_text()) for r in (run, again))
                repeat = compare_notebooks(first, second)
                print(f"{line} {repeat.matched:8d}  {len(repeat.differences) or 'none'} (second run vs first){limit}")
                for diff in repeat.differences:
                    print(f"    {diff}")
                failed |= not repeat.identical
            if budget_name != "full":
                if not args.twice:  # with --twice the line above said it all
                    print(f"{line} {'—':>8}  (measured only){limit}", flush=True)
                continue
            result = compare_notebooks(json.loads(nb.read_text()), json.loads(run.executed.read_text()))
            print(f"{line} {result.matched:8d}  {len(result.differences) or 'none'}{limit}", flush=True)
            for diff in result.differences:
                print(f"    {diff}")
            failed |= not result.identical
            if args.update:
                shutil.copyfile(run.executed, nb)
    if args.results:
        write_resources(args.results, runs)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
