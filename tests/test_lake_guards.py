"""Issue 12 without Spark: the naming rule, the root confinement of every lake write, the writer
lease (real processes racing for it, on a local disk and on S3 through moto's server), and Delta
commits that conflict (real processes committing at once; a crash before the commit)."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from webfaq import lake
from webfaq.lake.lease import LakeBusy, LeaseLost, acquire, lease_store, read_view, unlock
from webfaq.lake.names import BadName, OutsideLake, check_name, confine, valid_name

WEBFAQ = str(Path(sys.executable).parent / "webfaq")
ROUNDS = 4
HOSTILE_NAMES = ["..", ".", "../../../faq", "a/b", "2024/22", "x=y", "https://example.org/crawl", "a" * 101,
                 "", "-x", "_hidden", ".hidden", "crawl\nid", "a b", "a%2Fb"]


# --------------------------------------------------------------------------- names

def test_one_rule_for_every_name():
    for good in ("CC-MAIN-2024-22", "unknown", "2024", "eng", "eng-deu", "model.v1_2", "a" * 100):
        assert valid_name(good) and check_name("x", good) == good
    for bad in HOSTILE_NAMES + [None, 7]:
        assert not valid_name(bad)
        with pytest.raises(BadName) as err:
            check_name("--crawl-id", bad)
        assert "\n" not in str(err.value) and len(str(err.value)) < 200 and "--crawl-id" in str(err.value)


def test_confine_keeps_every_path_under_the_root():
    root = "/data/lake"
    assert confine(root, "/data/lake/faq/crawl=A") == "/data/lake/faq/crawl=A"
    assert confine(root, "/data/lake", allow_root=True) == "/data/lake"
    assert confine("s3://b/lake/", "s3://b/lake/_runs/r.json") == "s3://b/lake/_runs/r.json"
    for outside in ("/data/lake", "/data/lake/..", "/data/lake/../victim", "/data/lakex/y", "/data/lake/a/../../b",
                    "/data/lake//x", "/data/lake/./x", "/other", "s3://b/lake/x", "file:/data/lake/x"):
        with pytest.raises(OutsideLake):
            confine(root, outside)
    with pytest.raises(OutsideLake):
        confine("s3://b/lake", "s3://c/lake/x")


def test_the_adapters_and_lake_functions_refuse_paths_outside_the_lake(tmp_path):
    root, victim = tmp_path / "lake", tmp_path / "victim"
    (root / "faq" / "crawl=A").mkdir(parents=True)
    victim.mkdir()
    (victim / "keep.txt").write_text("mine")
    fs = lake.LocalFS(str(root))
    for act in (lambda: fs.delete(str(victim)), lambda: fs.delete(str(root)),
                lambda: fs.delete(f"{root}/faq/../../victim"),
                lambda: fs.rename(f"{root}/faq/crawl=A", str(victim / "x")),
                lambda: fs.rename(str(victim), f"{root}/faq/crawl=B"),
                lambda: fs.write_text(str(tmp_path / "m.json"), "{}"),
                lambda: fs.create_exclusive(str(tmp_path / "lease"), "x")):
        with pytest.raises(OutsideLake):
            act()
    for bad in ("..", "crawl=../../victim", "crawl=a%2Fb", "crawl=x=y"):
        with pytest.raises(BadName):
            lake.swap_partitions(fs, f"{root}/_staging/r/faq", f"{root}/faq", "r", [bad])
    for run_id in ("..", "../../x"):
        with pytest.raises(BadName):
            lake.manifest_path(str(root), run_id)
        with pytest.raises(BadName):
            lake.staging_path(str(root), run_id)
    with pytest.raises(BadName):
        lake.table_path(str(root), "../victim")
    # a hostile trash journal in the lake: recover refuses it instead of moving the victim
    (root / "_trash" / "dead").mkdir(parents=True)
    (root / "_trash" / "dead" / "_swap.json").write_text(json.dumps({"table": "../victim", "parts": ["keep.txt"]}))
    with pytest.raises(OutsideLake):
        lake.recover(fs, str(root))
    assert (victim / "keep.txt").read_text() == "mine" and (root / "faq" / "crawl=A").is_dir()


@pytest.mark.parametrize("flag", ["--crawl-id", "--run-id", "--crawl"])
def test_bad_names_are_one_line_and_exit_2_before_spark(flag, tmp_path, capsys):
    from webfaq_jobs.extract import ExtractJob

    for bad in ("..", "../../x", "2024/22", "x=y", "a" * 300):
        assert ExtractJob.main([str(tmp_path), "--lake", str(tmp_path / "lake"), flag, bad]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and flag in err and "Traceback" not in err
    assert not (tmp_path / "lake").exists()  # nothing was started, nothing written


def test_the_cli_names_a_bad_run_id_in_one_line(tmp_path):
    proc = subprocess.run([WEBFAQ, "extract", str(tmp_path), "--lake", str(tmp_path / "lake"), "--run-id", ".."],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "--run-id" in proc.stderr and '".."' in proc.stderr, proc.stderr
    assert not (tmp_path / "lake").exists()


def test_a_file_whose_crawl_cannot_be_a_name_fails_in_the_lake_job_with_every_pair_counted():
    """Real WARCs say ``isPartOf: Temporary%20Collection`` (pywb's default): Spark would write
    ``crawl=Temporary%2520Collection`` and the swap would lose the rows. In the lake job such a
    file fails with its reason, its pairs counted as dropped; ``extract-file`` reports it as is."""
    from conftest import shared_path
    from webfaq.config import Config
    from webfaq.counters import reconcile
    from webfaq.extract.pipeline import lake_checked, process_file

    for name, status in (("example.warc.gz", "ok"), ("example-trunc.warc", "ok")):  # the short record resynced
        result = process_file(str(shared_path("warc", name)), Config())
        assert (result.status, result.crawl) == (status, "Temporary%20Collection")
        kept = result.counters.get("qa.kept", 0)
        checked = lake_checked(result)
        c = checked.counters
        assert (checked.status, checked.reason, checked.records) == ("failed", "bad_crawl_name", [])
        assert reconcile(c) == [] and c["files.total"] == c["files.failed.bad_crawl_name"] == 1
        assert c.get("drop.bad_crawl_name", 0) == kept and not any(k.startswith("kept.lang.") for k in c)
    cfg = Config()
    cfg.job.crawl_id = "C"  # --crawl-id names the crawl instead: the file is fine
    assert lake_checked(process_file(str(shared_path("warc", "example.warc.gz")), cfg)).status == "ok"


# --------------------------------------------------------------------------- the lease

RACER = textwrap.dedent("""
    import os, sys, time
    from webfaq.config import S3Config
    from webfaq.lake.lease import LakeBusy, acquire, lease_store
    lake, me, results, n, endpoint = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
    store = lease_store(lake, S3Config(endpoint_url=endpoint or None))
    go = os.path.join(results, "go")
    give_up = time.time() + 120
    while not os.path.exists(go) and time.time() < give_up:
        time.sleep(0.01)
    start = float(open(go).read())
    while time.time() < start:
        time.sleep(0.001)
    try:
        lease = acquire(store, lake, me, "race", ttl_s=30)
    except LakeBusy as exc:
        open(os.path.join(results, me), "w").write("refused " + str(exc))
        sys.exit(0)
    open(os.path.join(results, me), "w").write(f"won {lease.holder.generation}")
    deadline = time.time() + 60  # hold the lake until every racer has tried
    while len([f for f in os.listdir(results) if f.startswith("r")]) < n and time.time() < deadline:
        time.sleep(0.02)
    lease.check()
    lease.release()
""")


def race_for_the_lease(lake_uri: str, results: Path, n: int, endpoint: str = "") -> list[str]:
    """``n`` processes that start at one instant and try to take the lease of ``lake_uri``."""
    results.mkdir(parents=True)
    procs = [subprocess.Popen([sys.executable, "-c", RACER, lake_uri, f"r{i}", str(results), str(n), endpoint],
                              stderr=subprocess.PIPE, text=True) for i in range(n)]
    (results / "go.tmp").write_text(str(time.time() + 2.5))  # the start instant, a little ahead
    (results / "go.tmp").rename(results / "go")
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
    return [(results / f"r{i}").read_text() for i in range(n)]


def assert_one_winner(outcomes: list[str], generation: int) -> None:
    winners = [o for o in outcomes if o.startswith("won")]
    assert winners == [f"won {generation}"], outcomes
    for o in outcomes:
        if o.startswith("refused"):
            assert "\n" not in o and "is being written by run r" in o and "webfaq unlock --lake" in o


def test_racing_processes_one_holds_the_lake_the_others_are_refused(tmp_path):
    root = tmp_path / "lake"
    for round_ in range(ROUNDS):
        assert_one_winner(race_for_the_lease(str(root), tmp_path / f"round{round_}", 4), round_ + 1)
        assert read_view(lease_store(str(root)), str(root)).state() == "released"
    assert len([n for n in os.listdir(root / "_lease") if n.endswith(".json")]) == 2  # old generations forgotten


def test_racing_processes_on_s3_through_a_conditional_put(tmp_path, s3_bucket, s3_endpoint):
    _, bucket = s3_bucket
    uri = f"s3a://{bucket}/lake"
    for round_ in range(ROUNDS - 1):
        assert_one_winner(race_for_the_lease(uri, tmp_path / f"round{round_}", 3, s3_endpoint), round_ + 1)
    from webfaq.config import S3Config

    store = lease_store(uri, S3Config(endpoint_url=s3_endpoint))
    held = acquire(store, uri, "live-run", "extract", ttl_s=30)
    proc = subprocess.run([WEBFAQ, "unlock", "--lake", f"s3://{bucket}/lake", "--s3-endpoint", s3_endpoint],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1 and "live-run" in proc.stderr and "looks alive" in proc.stderr
    held.release()
    assert read_view(store, uri).state() == "released"


def _hold_and_die(root: Path) -> None:
    code = f"from webfaq.lake.lease import acquire, lease_store\nimport os\n" \
           f"acquire(lease_store({str(root)!r}), {str(root)!r}, 'dead-run', 'extract')\nos._exit(9)"
    assert subprocess.run([sys.executable, "-c", code], timeout=60).returncode == 9


def _remote_holder(root: Path, generation: int, run_id: str, ttl_s: float, age_s: float = 0.0) -> None:
    """The holder record a run on another machine would have written (no heartbeat since
    ``age_s`` seconds ago)."""
    import datetime as dt
    from dataclasses import asdict

    from webfaq.lake.lease import Holder

    started = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=age_s)).isoformat()
    holder = Holder(generation, run_id, "extract", "elsewhere", 4242, started, ttl_s)
    (root / "_lease" / f"{generation:012d}.json").write_text(json.dumps(asdict(holder)))


def test_dead_and_silent_holders_are_taken_over_and_a_stalled_one_learns_it_lost(tmp_path):
    root = tmp_path / "lake"
    store = lease_store(str(root))
    _hold_and_die(root)  # a process on this machine that died holding the lake
    assert read_view(store, str(root)).state() == "dead"
    taken = acquire(store, str(root), "next-run", "extract", ttl_s=0.6)
    assert taken.broke["holder"]["run_id"] == "dead-run" and taken.broke["state"] == "dead"
    taken.check()
    taken.beat = lambda: None  # its driver stalls: no renewals
    time.sleep(0.8)
    with pytest.raises(LeaseLost, match="no lease renewal"):
        taken.check()  # it must not commit
    # meanwhile a run on another machine found the lease lapsed and took the next generation
    _remote_holder(root, taken.holder.generation + 1, "remote-run", ttl_s=600)
    taken._last_ok = time.monotonic()  # even had its renewals come back
    with pytest.raises(LeaseLost, match="lost the lake lease to run remote-run"):
        taken.check()
    with pytest.raises(LakeBusy, match="remote-run") as busy:
        acquire(store, str(root), "third", "extract")
    assert "host elsewhere, pid 4242" in str(busy.value)
    # a remote holder silent for longer than its ttl is taken for dead
    _remote_holder(root, taken.holder.generation + 2, "silent-run", ttl_s=5, age_s=10)
    assert read_view(store, str(root)).state() == "expired"
    after = acquire(store, str(root), "after", "extract")
    assert after.broke["state"] == "expired" and after.broke["holder"]["run_id"] == "silent-run"
    after.release()
    taken.release()


def test_unlock_frees_a_dead_holder_and_refuses_a_live_one(tmp_path):
    root = tmp_path / "lake"
    held = acquire(lease_store(str(root)), str(root), "live-run", "extract")
    proc = subprocess.run([WEBFAQ, "unlock", "--lake", str(root)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1 and "live-run" in proc.stderr and proc.stderr.count("\n") == 1
    held.release()
    _hold_and_die(root)
    proc = subprocess.run([WEBFAQ, "unlock", "--lake", str(root)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and "dead-run" in proc.stdout and "was dead" in proc.stdout
    assert unlock(lease_store(str(root)), str(root)) == f"the lake {root} is not locked"


def test_the_commands_the_lake_suggests_can_be_pasted_into_a_shell_whatever_its_path(tmp_path):
    """The refusal's unlock command and every summary's 'next:' command are meant to be pasted: a
    lake path with spaces, quotes or a ';' stays one argument (it used to be split by the shell)."""
    from jobs.base import next_command

    root = tmp_path / "my lake ü 'x'; echo pwned"
    held = acquire(lease_store(str(root)), str(root), "live-run", "extract")
    with pytest.raises(LakeBusy) as refused:
        acquire(lease_store(str(root)), str(root), "second-run", "extract")
    held.release()
    pasted = str(refused.value).split("if that run is dead: ", 1)[1]
    assert shlex.split(pasted) == ["webfaq", "unlock", "--lake", str(root)]
    _hold_and_die(root)
    proc = subprocess.run(["bash", "-c", pasted.replace("webfaq", shlex.quote(WEBFAQ), 1)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and proc.stderr == "" and proc.stdout.count("\n") == 1  # no 'pwned' line
    assert proc.stdout.startswith(f"unlocked {root}: run dead-run") and "was dead" in proc.stdout
    for job, args in [("extract", ["dedup", "--lake", str(root)]), ("dedup", ["align", "--lake", str(root)]),
                      ("align", ["benchmark", "--lake", str(root)]), ("benchmark", ["evaluate", f"{root}/benchmark"]),
                      ("run", ["verify", "--lake", str(root)])]:
        line = next_command({"job": job, "config": {"lake": {"path": str(root)}}})
        assert shlex.split(line.removeprefix("next: ").removesuffix("  (then open the report)")) == ["webfaq"] + args


# --------------------------------------------------------------------------- Delta commits

SCHEMA = pa.schema([("id", pa.string()), ("crawl", pa.string()), ("language", pa.string())])

COMMITTER = textwrap.dedent("""
    import sys, time
    import pyarrow as pa
    from webfaq import lake
    root, run, start, version = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4]
    schema = pa.schema([("id", pa.string()), ("crawl", pa.string()), ("language", pa.string())])
    fs = lake.LocalFS(root)
    while time.time() < start:
        time.sleep(0.001)
    try:
        n = lake.commit_delta(fs, f"{root}/_staging/{run}/faq", f"{root}/faq", {"crawl": ["NEW"]}, ["crawl", "language"],
                              schema, expected_version=None if version == "none" else int(version))
        print(f"committed {n}")
    except lake.DeltaConflict as exc:
        print("conflict " + str(exc))
""")


def stage(root: Path, run: str, crawl: str, ids: list[str]) -> None:
    d = root / "_staging" / run / "faq" / f"crawl={crawl}" / "language=eng"
    d.mkdir(parents=True)
    pq.write_table(pa.table({"id": ids}), d / f"part-{run}.parquet")


def orphans(table: Path) -> set[str]:
    """Data files in the table's folder that no version of its log ever added."""
    added = set()
    for entry in (table / "_delta_log").glob("*.json"):
        for line in entry.read_text().splitlines():
            action = json.loads(line)
            if "add" in action:
                added.add(action["add"]["path"])
    return {str(p.relative_to(table)) for p in table.rglob("*.parquet")} - added


def test_concurrent_delta_commits_one_wins_the_other_leaves_nothing(tmp_path):
    from deltalake import DeltaTable

    root = tmp_path / "lake"
    stage(root, "seed", "OLD", ["o1"])
    lake.commit_delta(lake.LocalFS(str(root)), str(root / "_staging/seed/faq"), str(root / "faq"), {"crawl": ["OLD"]},
                      ["crawl", "language"], SCHEMA, expected_version=None)
    for round_ in range(ROUNDS - 1):
        version = DeltaTable(str(root / "faq")).version()
        runs = [f"r{round_}a", f"r{round_}b"]
        for run in runs:  # both overwrite the same (new) crawl from the same version
            stage(root, run, "NEW", [f"{run}-1", f"{run}-2"])
        start = time.time() + 3
        procs = [subprocess.Popen([sys.executable, "-c", COMMITTER, str(root), run, str(start), str(version)],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for run in runs]
        outcomes = [p.communicate(timeout=120)[0].strip() for p in procs]
        assert sorted(o.split()[0] for o in outcomes) == ["committed", "conflict"], outcomes
        winner = runs[[o.startswith("committed") for o in outcomes].index(True)]
        rows = DeltaTable(str(root / "faq")).to_pyarrow_table().to_pylist()
        assert sorted(r["id"] for r in rows if r["crawl"] == "NEW") == [f"{winner}-1", f"{winner}-2"]
        assert [r["id"] for r in rows if r["crawl"] == "OLD"] == ["o1"]
        assert DeltaTable(str(root / "faq")).version() == version + 1
        assert orphans(root / "faq") == set()


def test_a_commit_killed_before_it_lands_leaves_no_orphan_after_recovery(tmp_path):
    from webfaq.faults import ENV, EXIT_CODE

    root = tmp_path / "lake"
    stage(root, "seed", "OLD", ["o1"])
    lake.commit_delta(lake.LocalFS(str(root)), str(root / "_staging/seed/faq"), str(root / "faq"), {"crawl": ["OLD"]},
                      ["crawl", "language"], SCHEMA, expected_version=None)
    stage(root, "dying", "NEW", ["n1"])
    proc = subprocess.run([sys.executable, "-c", COMMITTER, str(root), "dying", "0", "0"], capture_output=True,
                          text=True, timeout=120, env=dict(os.environ, **{ENV: "delta.before_commit"}))
    assert proc.returncode == EXIT_CODE
    assert len(orphans(root / "faq")) == 1  # moved into the table, never committed
    done = lake.recover(lake.LocalFS(str(root)), str(root))
    assert done["removed"] == ["faq/crawl=NEW/language=eng/part-dying.parquet", "_staging/dying", "_staging/seed"]
    assert orphans(root / "faq") == set()


@pytest.mark.parametrize("job", ["extract", "dedup", "align", "benchmark", "refresh"])
def test_every_writing_job_is_refused_at_start_while_another_holds_the_lake(job, tmp_path, capsys):
    """Refused before Spark starts, in one line naming the holder; verify, a reader, takes no
    lease and works meanwhile."""
    import importlib

    from webfaq.lake.verify import verify

    root = tmp_path / "lake"
    held = acquire(lease_store(str(root)), str(root), "holder-run", "extract")
    try:
        main = importlib.import_module(f"webfaq_jobs.{job}").main
        assert main(["--lake", str(root), "--crawl", "CC-MAIN-2099-01"] if job == "refresh" else ["--lake", str(root)]) == 75
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and err.startswith(f"{job} REFUSED: ") and "run holder-run (job extract, host " in err
        assert verify(str(root))["ok"]
        held.check()  # still the holder: nobody broke the lease
    finally:
        held.release()
    assert not (root / "_runs").exists()  # a refused run leaves no trace
