"""A run that publishes several tables (dedup's five, align's two) changes them together or not
at all: every crash point of the swap protocol, over several tables, is rolled back by the next
writer's ``recover`` to the lake as it was, and so is a recovery that was itself interrupted."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from webfaq import lake

RUN = "dead-run"
# table -> (old partitions in the lake, staged partitions, partitions the swap replaces)
TABLES = {
    "vertices": (["crawl=A", "crawl=Z"], ["crawl=A", "crawl=B"], ["crawl=A", "crawl=B", "crawl=D"]),
    "embeddings/model=m": (["crawl=A"], ["crawl=B"], ["crawl=A", "crawl=B"]),  # A emptied, B new
    "faq_dedup": (["crawl=A"], ["crawl=A"], ["crawl=A"]),
}


def _file(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def build(root: Path) -> None:
    for table, (old, staged, _) in TABLES.items():
        for part in old:
            _file(root / table / part / "language=eng" / "part-0.parquet", f"old {table} {part}")
        for part in staged:
            _file(root / "_staging" / RUN / table / part / "language=eng" / "part-0.parquet", f"new {table} {part}")


def listing(root: Path) -> dict[str, str]:
    """Every file of the lake's tables and its content (trash and staging are not tables)."""
    return {str(p.relative_to(root)): p.read_text() for p in sorted(root.rglob("*"))
            if p.is_file() and p.relative_to(root).parts[0] not in ("_trash", "_staging")}


def swap_ops(root: Path) -> list:
    """The swap protocol of ``lake.swap_partitions`` for every table of one run, as single
    steps (journal write, then per partition: old -> trash, staged -> place), so a crash can be
    put after any of them. The journal is built by hand, in the format the swap writes."""
    ops, entries = [], []
    trash = root / "_trash" / RUN
    for table, (old, staged, parts) in TABLES.items():
        entries = entries + [{"table": table, "parts": parts, "staging": f"_staging/{RUN}/{table}",
                              "trash": f"_trash/{RUN}", "existing": [p for p in parts if p in old],
                              "staged": [p for p in parts if p in staged]}]
        ops.append(lambda e=entries: _file(trash / "_swap.json", json.dumps(e)))
        for part in parts:
            target = root / table / part
            if part in old:
                ops.append(lambda t=target, d=trash / table / part: (d.parent.mkdir(parents=True, exist_ok=True),
                                                                      t.rename(d)))
            if part in staged:
                ops.append(lambda s=root / "_staging" / RUN / table / part, t=target: s.rename(t))
    return ops


N_OPS = len(swap_ops(Path("/nonexistent")))


@pytest.mark.parametrize("done", range(1, N_OPS + 1))  # 1: journal written, nothing renamed
def test_recover_rolls_every_table_back_at_each_crash_point(tmp_path, done):
    build(tmp_path)
    before = listing(tmp_path)
    for op in swap_ops(tmp_path)[:done]:
        op()
    result = lake.recover(lake.LocalFS(tmp_path), str(tmp_path))
    assert listing(tmp_path) == before
    assert not any((tmp_path / "_trash").iterdir()) if (tmp_path / "_trash").exists() else True
    assert not (tmp_path / "_staging" / RUN).exists()
    assert f"_trash/{RUN}" in result["removed"]


class Dying(lake.LocalFS):
    """A LocalFS whose process dies (raises) before its ``budget``-th change."""

    def __init__(self, root, budget: int):
        super().__init__(root)
        self.budget = budget

    def _spend(self):
        if self.budget == 0:
            raise KeyboardInterrupt("killed")
        self.budget -= 1

    def rename(self, src, dst):
        self._spend()
        super().rename(src, dst)

    def delete(self, path):
        self._spend()
        super().delete(path)


@pytest.mark.parametrize("done", [N_OPS // 2, N_OPS - 1, N_OPS])
def test_an_interrupted_recovery_is_finished_by_the_next_one(tmp_path, done):
    build(tmp_path)
    before = listing(tmp_path)
    budget = 0
    while True:
        root = tmp_path / f"try{budget}"
        build(root)
        for op in swap_ops(root)[:done]:
            op()
        try:
            lake.recover(Dying(root, budget), str(root))
        except KeyboardInterrupt:
            lake.recover(lake.LocalFS(root), str(root))  # the writer after the one that died recovering
            assert listing(root) == before, budget
            budget += 1
            continue
        assert listing(root) == before
        break
    assert budget > 3  # the recovery was cut at each of its steps


def test_swaps_of_one_run_stay_revertible_until_the_run_ends_its_publish(tmp_path):
    fs = lake.LocalFS(tmp_path)
    build(tmp_path)
    before = listing(tmp_path)
    for table, (_, _, parts) in TABLES.items():
        lake.swap_partitions(fs, str(tmp_path / "_staging" / RUN / table), str(tmp_path / table), RUN, parts,
                             last=False)
    journal = json.loads((tmp_path / "_trash" / RUN / "_swap.json").read_text())
    assert [e["table"] for e in journal] == list(TABLES)
    after = listing(tmp_path)
    assert after != before and "vertices/crawl=B/language=eng/part-0.parquet" in after
    lake.recover(fs, str(tmp_path))  # the run died before its end: all three tables go back
    assert listing(tmp_path) == before

    build(tmp_path / "again")
    fs = lake.LocalFS(tmp_path / "again")
    for table, (_, _, parts) in TABLES.items():
        lake.swap_partitions(fs, str(tmp_path / "again" / "_staging" / RUN / table), str(tmp_path / "again" / table),
                             RUN, parts, last=False)
    lake.end_swaps(fs, RUN)  # the publish ended: the new tables stay
    assert not (tmp_path / "again" / "_trash" / RUN).exists()
    assert lake.recover(fs, str(tmp_path / "again"))["restored"] == []
    assert listing(tmp_path / "again") == after


def test_a_table_swapped_twice_by_one_run_goes_back_to_its_first_state(tmp_path):
    fs = lake.LocalFS(tmp_path)
    _file(tmp_path / "t" / "crawl=A" / "f", "v0")
    for version in ("v1", "v2"):
        _file(tmp_path / "_staging" / RUN / "t" / "crawl=A" / "f", version)
        lake.swap_partitions(fs, str(tmp_path / "_staging" / RUN / "t"), str(tmp_path / "t"), RUN, ["crawl=A"],
                             last=False)
    assert (tmp_path / "t" / "crawl=A" / "f").read_text() == "v2"
    lake.recover(fs, str(tmp_path))
    assert (tmp_path / "t" / "crawl=A" / "f").read_text() == "v0"


def test_a_single_table_journal_of_before_is_still_rolled_back(tmp_path):
    """The journal format of one table (a dict): what never got its replacement goes back."""
    fs = lake.LocalFS(tmp_path)
    _file(tmp_path / "_trash" / RUN / "faq" / "crawl=A" / "f", "old")
    _file(tmp_path / "_trash" / RUN / "_swap.json", json.dumps({"table": "faq", "parts": ["crawl=A"]}))
    assert lake.recover(fs, str(tmp_path))["restored"] == ["faq/crawl=A"]
    assert (tmp_path / "faq" / "crawl=A" / "f").read_text() == "old"
