"""`python -m recsys_lessons data …` and `doctor`."""

from __future__ import annotations

import pytest

from recsys_lessons.__main__ import main


@pytest.mark.data
def test_data_command_reports_the_verified_copy(capsys):
    assert main(["data", "ml-100k", "--source", "cache"]) == 0
    out = capsys.readouterr().out
    assert "100,000 ratings, 943 users, 1,682 items" in out


def test_data_command_fails_clearly_without_data(tmp_path, capsys):
    assert main(["data", "ml-1m", "--source", "cache", "--data-dir", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "could not obtain MovieLens 1m" in err and "copy ml-1m.zip into" in err


def test_data_command_rejects_unknown_source():
    with pytest.raises(SystemExit):
        main(["data", "ml-100k", "--source", "ftp"])


@pytest.mark.data
def test_doctor_checks_data_and_bundled_bert(capsys):
    assert main(["doctor"]) == 0
    out = capsys.readouterr().out
    assert "22.7M parameters, weights verified" in out and "ml-100k" in out and "all good" in out
