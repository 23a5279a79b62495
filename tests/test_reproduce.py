"""`make reproduce`: numbers extracted from outputs, timings left out, cells matched by source."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from recsys_lessons.reproduce import compare_notebooks, extract_numbers, run_notebook, write_resources

TABLE = (
    "<style>.dataframe th {{ text-align: right; }}</style><table><thead>"
    "<tr><th></th><th>ndcg@10</th><th>fit seconds</th></tr></thead><tbody>"
    "<tr><th>EASE</th><td>{ndcg}</td><td>{secs}</td></tr>"
    "<tr><th>Popularity</th><td>0.2508</td><td>0.01</td></tr></tbody></table>"
)


def lesson(ndcg: str = "0.4811", secs: str = "1.02", pairs: str = "18,860", extra_cell: bool = False) -> dict:
    cells = [new_markdown_cell("# A lesson")]
    if extra_cell:
        cells.append(new_code_cell("print(7)", outputs=[new_output("stream", name="stdout", text="7 items\n")]))
    cells += [
        new_code_cell(
            "fit()",
            outputs=[
                new_output("stream", name="stdout", text=f"trained on {pairs} pairs in {secs} s (33.9 pairs/s)\n"),
                new_output("stream", name="stderr", text="100%|██████| 590/590 [00:12<00:00, 47.1it/s] 7\n"),
            ],
        ),
        new_code_cell(
            "table",
            outputs=[
                new_output(
                    "execute_result",
                    data={"text/html": TABLE.format(ndcg=ndcg, secs=secs), "text/plain": "ignored when html exists"},
                    execution_count=2,
                )
            ],
        ),
        new_code_cell("plt.plot()", outputs=[new_output("display_data", data={"image/png": "iVBOR", "text/plain": "<Figure 640x480>"})]),
    ]
    return json.loads(nbformat.writes(new_notebook(cells=cells)))


def test_numbers_exclude_timings_rates_stderr_and_pictures():
    found = [c.numbers for c in extract_numbers(lesson())]
    # the stdout line keeps the pair count, drops "1.02 s" and "33.9 pairs/s"; the table drops the
    # "fit seconds" column; stderr and the figure contribute nothing.
    assert found == [("18860",), ("10", "0.4811", "0.2508")]


def test_identical_when_only_timings_differ():
    result = compare_notebooks(lesson(secs="1.02"), lesson(secs="7.5"))
    assert result.identical and result.matched == 4


def test_metric_change_is_reported_with_cell_and_values():
    result = compare_notebooks(lesson(), lesson(ndcg="0.4812"))
    assert not result.identical
    assert result.differences == ["cell 2: 0.4811 → 0.4812"]


def test_thousands_commas_are_one_value():
    assert compare_notebooks(lesson(pairs="18,860"), lesson(pairs="18860")).identical


def test_cells_are_matched_by_source_not_position():
    # A cell inserted before the others is one difference; the cells after it still pair up.
    result = compare_notebooks(lesson(), lesson(extra_cell=True))
    assert result.differences == ["cell 1: new output with 1 numbers"] and result.matched == 4


def test_a_cell_that_stops_printing_is_a_difference():
    fresh = lesson()
    fresh["cells"][2]["outputs"] = []
    assert compare_notebooks(lesson(), fresh).differences == ["cell 2: printed 3 numbers before, none now"]


def test_not_a_notebook():
    with pytest.raises(ValueError, match="cells"):
        extract_numbers({"metadata": {}})


def test_write_resources_replaces_only_its_section(tmp_path):
    from recsys_lessons.reproduce import LessonRun

    results = tmp_path / "RESULTS.md"
    results.write_text("# Benchmark results\n\n## Evaluation\nkept\n")
    run = LessonRun(tmp_path / "01_cf.ipynb", tmp_path / "x", 95.0, 1536.0, 0)
    write_resources(results, {"full": [run]})
    write_resources(results, {"ci": [run], "full": [run]})
    text = results.read_text()
    assert text.count("lesson-resources:begin") == 1 and "kept" in text
    assert "| `01_cf` | 1.6 min | 1.50 GiB | 1.6 min | 1.50 GiB |" in text


def test_each_budget_is_a_pair_of_columns_and_a_partial_run_keeps_the_rest(tmp_path):
    from recsys_lessons.reproduce import LessonRun, recorded_resources

    results = tmp_path / "RESULTS.md"

    def run(name, seconds, mib):
        return LessonRun(tmp_path / f"{name}.ipynb", tmp_path / "x", seconds, mib, 0)

    write_resources(results, {"full": [run("00_setup", 18.0, 665.6), run("01_cf", 120.0, 942.1)]})
    # `--budgets ci` over one small notebook: its CI cells join, nothing else is erased.
    write_resources(results, {"ci": [run("00_setup", 6.0, 614.4)]})
    text = results.read_text()
    assert "| lesson | full: wall time | full: peak memory | ci: wall time | ci: peak memory |" in text
    assert "| `00_setup` | 0.3 min | 0.65 GiB | 0.1 min | 0.60 GiB |" in text
    assert "| `01_cf` | 2.0 min | 0.92 GiB | — | — |" in text
    # A later full run of one lesson replaces its own cells only (full stays the first pair).
    write_resources(results, {"ci": [run("01_cf", 30.0, 716.8)], "full": [run("01_cf", 126.0, 993.3)]})
    assert recorded_resources(results) == {
        ("full", "00_setup"): ("0.3 min", "0.65 GiB"),
        ("full", "01_cf"): ("2.1 min", "0.97 GiB"),
        ("ci", "00_setup"): ("0.1 min", "0.60 GiB"),
        ("ci", "01_cf"): ("0.5 min", "0.70 GiB"),
    }
    assert recorded_resources(tmp_path / "missing.md") == {}


def test_make_reproduce_measures_both_budgets_into_results():
    make = (Path(__file__).resolve().parent.parent / "Makefile").read_text()
    recipe = make.split("\nreproduce:", 1)[1].split("\n\n", 1)[0]
    assert "--budgets full,ci" in recipe and "--results benchmarks/RESULTS.md" in recipe


def test_main_fails_over_the_memory_limit_and_records_only_finished_runs(tmp_path, monkeypatch, capsys):
    from recsys_lessons import reproduce
    from recsys_lessons.reproduce import LessonRun, main, recorded_resources

    nbs = {}
    for name in ("00_small", "01_big", "02_broken"):
        nbs[name] = tmp_path / f"{name}.ipynb"
        nbformat.write(new_notebook(cells=[new_code_cell("print(1)")]), nbs[name])
    peaks = {"00_small": 700.0, "01_big": 4200.0, "02_broken": 100.0}

    def fake_run(nb, scratch, budget="full", timeout=1800):  # no kernel: main's bookkeeping only
        return LessonRun(nb, nb, 60.0, peaks[nb.stem], 1 if nb.stem == "02_broken" else 0)

    monkeypatch.setattr(reproduce, "run_notebook", fake_run)
    results = tmp_path / "RESULTS.md"
    argv = [str(nbs["00_small"]), "--budgets", "ci", "--results", str(results)]
    assert main(argv) == 0
    assert main([str(nbs["01_big"]), "--budgets", "ci", "--results", str(results)]) == 1
    assert "peak memory over the 4 GiB limit" in capsys.readouterr().out
    assert main([str(nbs["02_broken"]), "--budgets", "ci", "--results", str(results)]) == 1
    assert main([str(nbs["01_big"]), "--budgets", "ci", "--max-peak-gib", "8"]) == 0
    assert set(recorded_resources(results)) == {("ci", "00_small"), ("ci", "01_big")}  # not the failed run


@pytest.mark.slow
def test_run_notebook_executes_a_copy_and_measures_it(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # relative paths, as `make reproduce` passes them
    nb = Path("lesson.ipynb")
    cells = [new_code_cell("x = bytearray(200_000_000)\nprint(len(x) // 1_000_000, 'million bytes')")]
    nbformat.write(new_notebook(cells=cells), nb)
    run = run_notebook(nb, Path("build/reproduce"), budget="ci")
    assert run.returncode == 0 and run.peak_mib > 190  # the kernel's allocation is in the peak
    executed = json.loads(run.executed.read_text())
    assert [c.numbers for c in extract_numbers(executed)] == [("200",)]
    assert json.loads(nb.read_text())["cells"][0]["outputs"] == []  # the committed copy is untouched

    broken = tmp_path / "broken.ipynb"
    nbformat.write(new_notebook(cells=[new_code_cell("raise RuntimeError('boom')")]), broken)
    assert run_notebook(broken, tmp_path / "scratch", budget="ci").returncode != 0
    with pytest.raises(ValueError, match="'huge'"):
        run_notebook(nb, tmp_path / "scratch", budget="huge")


@pytest.mark.slow
@pytest.mark.data
def test_make_tests_run_of_lesson_00_prints_the_committed_numbers(tmp_path, monkeypatch):
    """Evidence for #19's "two runs of make test give identical numbers", where nbval cannot give it.

    nbval runs in lax mode: it fails on errors, never on a changed number. Lesson 00's numbers do
    not depend on the budget, so its CI-budget run (the one make test makes) must print every
    number of the committed full-budget run; two runs that both equal the committed one are equal.
    """
    from recsys_lessons.data import data_dir

    monkeypatch.setenv("RECSYS_LESSONS_DATA", str(data_dir()))  # the scratch copy runs elsewhere
    committed = Path(__file__).resolve().parent.parent / "notebooks" / "00_setup_and_data.ipynb"
    run = run_notebook(committed, tmp_path, budget="ci")
    assert run.returncode == 0
    result = compare_notebooks(json.loads(committed.read_text()), json.loads(run.executed.read_text()))
    assert result.differences == [] and result.matched > 100  # every table and printed count


def test_twice_compares_a_second_run_with_the_first_in_any_budget(tmp_path, monkeypatch, capsys):
    from recsys_lessons import reproduce
    from recsys_lessons.reproduce import LessonRun, main

    nb = tmp_path / "00_x.ipynb"
    nbformat.write(new_notebook(cells=[new_code_cell("print(recall)")]), nb)
    printed = iter(["0.1234", "0.1234", "0.0790", "0.0814"])  # two stable runs, then two that differ

    def fake_run(notebook, scratch, budget="full", timeout=1800):
        scratch.mkdir(parents=True, exist_ok=True)
        out = new_output("stream", name="stdout", text=f"recall@10 {next(printed)}\n")
        executed = scratch / notebook.name
        nbformat.write(new_notebook(cells=[new_code_cell("print(recall)", outputs=[out])]), executed)
        return LessonRun(notebook, executed, 1.0, 100.0, 0)

    monkeypatch.setattr(reproduce, "run_notebook", fake_run)
    assert main([str(nb), "--budgets", "ci", "--twice", "--scratch", str(tmp_path / "s")]) == 0
    assert "none (second run vs first)" in capsys.readouterr().out
    assert main([str(nb), "--budgets", "ci", "--twice", "--scratch", str(tmp_path / "s")]) == 1
    assert "cell 0: 0.0790 → 0.0814" in capsys.readouterr().out
