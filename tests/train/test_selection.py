"""The selection file: which photos a run holds out, stored so that it survives the machine."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("torch")

from train.sets import read_selection, write_selection  # noqa: E402


def _folders(base: Path) -> tuple[Path, Path]:
    data, work = base / "shared" / "data", base / "main"
    for folder in (data / "train" / "ccp", work / "cache" / "labels" / "caltech101"):
        folder.mkdir(parents=True)
    return data, work


def test_folders_are_stored_relative_and_read_back_where_they_lie(tmp_path: Path,
                                                                  monkeypatch) -> None:
    data, work = _folders(tmp_path.resolve() / "one")
    elsewhere = tmp_path.resolve() / "mine"
    elsewhere.mkdir()
    monkeypatch.chdir(work)
    fixed = {str(data / "train" / "ccp"): ["a", "b"],
             str(work / "cache" / "labels" / "caltech101"): ["c"],
             str(elsewhere): ["d"]}
    write_selection(tmp_path / "selection.json", fixed, data)

    stored = json.loads((tmp_path / "selection.json").read_text())
    assert stored == {"train/ccp": ["a", "b"], "cache/labels/caltech101": ["c"],
                      str(elsewhere): ["d"]}  # a folder under neither stays absolute
    assert read_selection(tmp_path / "selection.json", data) == fixed

    # The same file on another machine, whose checkout and data lie elsewhere.
    data2, work2 = _folders(tmp_path.resolve() / "two")
    monkeypatch.chdir(work2)
    moved = read_selection(tmp_path / "selection.json", data2)
    assert moved == {str(data2 / "train" / "ccp"): ["a", "b"],
                     str(work2 / "cache" / "labels" / "caltech101"): ["c"],
                     str(elsewhere): ["d"]}


def test_a_file_written_with_absolute_folders_reads_as_it_is(tmp_path: Path) -> None:
    data, work = _folders(tmp_path.resolve())
    fixed = {str(data / "train" / "ccp"): ["a"], str(work / "cache"): ["b"]}
    (tmp_path / "old.json").write_text(json.dumps(fixed))
    assert read_selection(tmp_path / "old.json", data) == fixed


def test_committed_selection_files_name_no_machine_paths() -> None:
    committed = sorted((Path(__file__).resolve().parents[2] / "train" / "selections").glob("*.json"))
    assert committed, "train/selections holds the committed splits"
    for path in committed:
        for folder, stems in json.loads(path.read_text()).items():
            assert not Path(folder).is_absolute(), f"{path.name}: {folder}"
            assert stems and stems == sorted(set(stems)), f"{path.name}: {folder}"
