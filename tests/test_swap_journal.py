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
    """A LocalFS whose process dies (raises ``error``, an interrupt unless told) before its
    ``budget``-th change."""

    def __init__(self, root, budget: int, error: BaseException | None = None):
        super().__init__(root)
        self.budget = budget
        self.error = error or KeyboardInterrupt("killed")

    def _spend(self):
        if self.budget == 0:
            raise self.error
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


# --------------------------------------------------------------------------- a run that fails mid-publish

class Held:
    """A lease as a job sees it: ``check`` raises LeaseLost once another run took the lake."""

    def __init__(self, lost: bool):
        self.lost = lost

    def check(self) -> None:
        from webfaq.lake.lease import LeaseLost

        if self.lost:
            raise LeaseLost(f"run {RUN} lost the lake lease to run 20991231T000000Z-dedup-abcdef")


def failing_run(root: Path, lost: bool = False, fs: lake.LocalFS | None = None):
    """A job that swapped every table of TABLES (publish not ended) when it failed."""
    import argparse

    from webfaq.config import Config
    from webfaq_jobs.base import SparkJob

    class Job(SparkJob):
        name = "dedup"

        @property
        def fs(self):
            return self._fs

    cfg = Config()
    cfg.lake.path, cfg.job.run_id = str(root), RUN
    job = Job(cfg, argparse.Namespace())
    job._fs, job._spark, job.lease = fs or lake.LocalFS(root), object(), Held(lost)
    for table, (_, _, parts) in TABLES.items():
        lake.swap_partitions(lake.LocalFS(root), str(root / "_staging" / RUN / table), str(root / table), RUN, parts,
                             last=False)
    return job


def test_a_failing_run_rolls_its_own_publish_back_newest_table_first(tmp_path, capsys):
    build(tmp_path)
    before = listing(tmp_path)
    manifest: dict = {}
    failing_run(tmp_path).roll_back_publish(manifest)
    assert listing(tmp_path) == before and not (tmp_path / "_trash" / RUN).exists()
    assert manifest["rolled_back"]["tables"] == list(reversed(TABLES))
    assert "vertices/crawl=A" in manifest["rolled_back"]["restored"]
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith(f"dedup: run {RUN} rolled back its publish (faq_dedup, embeddings/model=m, vertices)")


def test_a_run_that_lost_the_lease_leaves_its_publish_to_the_new_holder(tmp_path, capsys):
    """Another run may hold the lake now: it rolls this run's journal back at its start and may
    have swapped its own tables since, so a roll-back here could undo them. Nothing is touched."""
    build(tmp_path)
    before = listing(tmp_path)
    job = failing_run(tmp_path, lost=True)
    after = listing(tmp_path)
    manifest: dict = {}
    job.roll_back_publish(manifest)
    assert listing(tmp_path) == after != before and (tmp_path / "_trash" / RUN / "_swap.json").exists()
    assert "no longer holds the lake" in manifest["rolled_back"]["left"]
    (line,) = capsys.readouterr().err.splitlines()
    assert "did not roll back its publish" in line and "lost the lake lease" in line
    lake.recover(lake.LocalFS(tmp_path), str(tmp_path))  # the new holder's start
    assert listing(tmp_path) == before


@pytest.mark.parametrize("budget", [0, 3])
def test_a_roll_back_that_fails_leaves_the_journal_for_the_next_writer(tmp_path, budget, capsys):
    build(tmp_path)
    before = listing(tmp_path)
    manifest: dict = {}
    full = Dying(tmp_path, budget, OSError(28, "No space left on device"))
    failing_run(tmp_path, fs=full).roll_back_publish(manifest)
    assert "its roll-back failed: " in manifest["rolled_back"]["left"]
    assert (tmp_path / "_trash" / RUN / "_swap.json").exists()
    (line,) = capsys.readouterr().err.splitlines()
    assert "No space left on device" in line and "the next writer rolls its publish back" in line
    lake.recover(lake.LocalFS(tmp_path), str(tmp_path))
    assert listing(tmp_path) == before


# --------------------------------------------------------------------------- Delta tables

def delta_commit(root: Path, table: str, run: str, crawl: str, ids: list[str], journal: bool = True) -> None:
    """One commit of ``run`` to the Delta table ``table`` as a job makes it: journalled first
    (the version it goes on top of), then ``lake.commit_delta`` tagged with the run."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from webfaq.extract.records import arrow_schema

    fs = lake.LocalFS(root)
    staged = root / "_staging" / run / table
    (staged / f"crawl={crawl}").mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table({"id": ids, "crawl": [crawl] * len(ids)}), staged / f"crawl={crawl}" / f"part-{run}.parquet")
    version = lake.delta_version(str(root / table))
    if journal:
        lake.journal_delta_commit(fs, str(root / table), run, version)
    lake.commit_delta(fs, str(staged), str(root / table), {"crawl": [crawl]}, ["crawl"],
                      arrow_schema([("id", "string"), ("crawl", "string")]), expected_version=version, run_id=run)


def delta_ids(table: Path) -> list[tuple[str, str]] | None:
    from deltalake import DeltaTable

    if not DeltaTable.is_deltatable(str(table)):
        return None
    return sorted((r["crawl"], r["id"]) for r in DeltaTable(str(table)).to_pyarrow_table().to_pylist())


def delta_lake(root: Path) -> dict[str, list | None]:
    """Two Delta tables a previous run left, then a run (RUN) that committed to both and created
    a third, and died before it ended its publish."""
    delta_commit(root, "faq_dedup", "before", "A", ["a0"], journal=False)
    delta_commit(root, "faq_dedup_vertices", "before", "A", ["v0"], journal=False)
    (root / "faq_dedup_vertices" / "crawl=A" / "_params.json").write_text("old parameters")
    before = {t: delta_ids(root / t) for t in ("faq_dedup", "faq_dedup_vertices", "faq_dedup_bands")}
    delta_commit(root, "faq_dedup_vertices", RUN, "A", ["v1"])
    fs = lake.LocalFS(root)  # files beside the data that the log does not hold (dedup's band parameters)
    lake.replace_side_file(fs, str(root / "faq_dedup_vertices"), "crawl=A/_params.json", "new parameters", RUN)
    lake.replace_side_file(fs, str(root / "faq_dedup_bands"), "crawl=B/_params.json", "new parameters", RUN)
    delta_commit(root, "faq_dedup_bands", RUN, "B", ["b1"])  # created by the run
    delta_commit(root, "faq_dedup", RUN, "B", ["b1"])
    return before


def test_a_dead_runs_delta_commits_are_restored_every_table_of_it(tmp_path):
    before = delta_lake(tmp_path)
    assert delta_ids(tmp_path / "faq_dedup") != before["faq_dedup"]
    result = lake.recover(lake.LocalFS(tmp_path), str(tmp_path))
    assert {t: delta_ids(tmp_path / t) for t in before} == before
    assert result["restored"] == ["faq_dedup@0", "faq_dedup_bands@none", "faq_dedup_bands/crawl=B/_params.json",
                                  "faq_dedup_vertices/crawl=A/_params.json", "faq_dedup_vertices@0"]
    assert [p for p in (tmp_path / "faq_dedup_bands").rglob("*") if p.is_file()] == []
    assert (tmp_path / "faq_dedup_vertices" / "crawl=A" / "_params.json").read_text() == "old parameters"
    assert not (tmp_path / "_trash" / RUN).exists()


def test_an_interrupted_delta_roll_back_is_finished_by_the_next_writer(tmp_path):
    before = delta_lake(tmp_path)
    for budget in range(3):  # cut after each of the restore commit, the created table's file, its log
        with pytest.raises(KeyboardInterrupt):
            lake.recover(Dying(tmp_path, budget), str(tmp_path)) if budget else _die_after_first_restore(tmp_path)
    lake.recover(lake.LocalFS(tmp_path), str(tmp_path))
    assert {t: delta_ids(tmp_path / t) for t in before} == before
    assert (tmp_path / "faq_dedup_vertices" / "crawl=A" / "_params.json").read_text() == "old parameters"


def _die_after_first_restore(root: Path) -> None:
    """A recovery that dies right after its first Delta restore commit (newest table first)."""
    from unittest import mock

    from deltalake import DeltaTable

    real = DeltaTable.restore

    def restore_then_die(self, *args, **kwargs):
        real(self, *args, **kwargs)
        raise KeyboardInterrupt("killed")

    with mock.patch.object(DeltaTable, "restore", restore_then_die):
        lake.recover(lake.LocalFS(root), str(root))


def test_a_delta_commit_after_the_dead_runs_is_never_undone(tmp_path):
    """Another writer committed to one of the tables after the dead run (outside the lease: a
    user's own Spark job): restoring would drop that commit, so nothing of the dead run is rolled
    back, one line says why, and its journal stays for a person to decide."""
    before = delta_lake(tmp_path)
    delta_commit(tmp_path, "faq_dedup_vertices", "someone-else", "C", ["c1"], journal=False)
    now = {t: delta_ids(tmp_path / t) for t in before}
    result = lake.recover(lake.LocalFS(tmp_path), str(tmp_path))
    (line,) = result["refused"]
    assert line.startswith("faq_dedup_vertices: not restored to version 0 for run dead-run: its newest commit")
    assert {t: delta_ids(tmp_path / t) for t in before} == now != before
    assert (tmp_path / "faq_dedup_vertices" / "crawl=A" / "_params.json").read_text() == "new parameters"
    assert (tmp_path / "_trash" / RUN / "_swap.json").exists()


def test_a_delta_commit_of_the_run_that_never_landed_blocks_nothing(tmp_path):
    """The run journalled a commit that another writer's commit beat (its conflict failed the
    run): that table is not the run's to restore, and its other tables are restored."""
    before = delta_lake(tmp_path)
    lake.journal_delta_commit(lake.LocalFS(tmp_path), str(tmp_path / "faq"), RUN, None)
    delta_commit(tmp_path, "faq", "someone-else", "C", ["c1"], journal=False)
    result = lake.recover(lake.LocalFS(tmp_path), str(tmp_path))
    assert "refused" not in result and "faq@none" not in result["restored"]
    assert {t: delta_ids(tmp_path / t) for t in before} == before
    assert delta_ids(tmp_path / "faq") == [("C", "c1")]
