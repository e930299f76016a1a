"""The lake's writer lease: at most one job writes a lake at a time, and a run that died does
not block the lake for long.

Why a lease and not "just be careful": every job starts by cleaning up what dead runs left
(``_staging``, ``_trash``) and ends with renames or a Delta commit. Two writers at once delete
each other's staging, swap over each other and leave the lake holding whichever renamed last.
So every writing job holds this lease from before its first write until after its manifest;
a second writer is refused at start with one line naming the holder (or waits, with
``--lake-lease-wait-s``). Read-only commands (``verify``, ``report``) take none.

Layout, under ``<lake>/_lease/`` (one *generation* per holder, numbered upwards)::

    <gen>.json         the holder: run id, job, host, pid, start time   (created exclusively)
    <gen>.beat.<seq>   the holder's heartbeats, a new file every ttl/4 (the older one is then
                       deleted: there is never a moment without one, even where a file cannot
                       be replaced atomically, as on HDFS)
    <gen>.released     written when the holder lets go (or by ``webfaq unlock``)

Taking the lease means creating ``<n+1>.json`` *exclusively* while generation ``n`` is free.
Exclusive create is the one atomic step every store offers (``link()`` on local disks,
``create(overwrite=false)`` on HDFS, a conditional ``PUT`` with ``If-None-Match: *`` on S3),
so of two runs that both find the lake free, or both find a dead holder, exactly one wins; a
holder file is never overwritten, so a run that stalled cannot clobber its successor's lease.

Generation ``n`` is free when it is released, when its process is gone (same host and boot:
the pid no longer runs that process), or when its heartbeat is older than its ttl (another
host). A holder checks, right before it commits, that its heartbeats kept succeeding and that
no newer generation exists (:meth:`Lease.check`).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import secrets
import shlex
import socket
import threading
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Protocol

from webfaq.lake.names import confine

LEASE_DIR = "_lease"
DEFAULT_TTL_S = 120.0


class LeaseStore(Protocol):
    """What the lease needs of a file system; LocalFS, HadoopFS and :class:`S3LeaseStore`."""

    def create_exclusive(self, path: str, text: str) -> bool: ...
    def write_text(self, path: str, text: str) -> None: ...
    def read_text(self, path: str) -> str: ...
    def list_names(self, path: str) -> list[str]: ...
    def delete(self, path: str) -> None: ...


class LakeBusy(RuntimeError):
    """Another live run holds the lake's writer lease (one line: who, and how to break it)."""


class LeaseLost(RuntimeError):
    """This run no longer holds the lease it took: it must not commit."""


# --------------------------------------------------------------------------- this process

def _boot_id() -> str:
    try:
        with open("/proc/sys/kernel/random/boot_id", encoding="ascii") as fh:
            return fh.read().strip()
    except OSError:
        return ""


def _pid_start(pid: int) -> str:
    """The process's start time in clock ticks since boot (field 22 of /proc/<pid>/stat): with
    the pid it names one process, so a reused pid is not taken for the holder."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            return fh.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return ""


def _pid_state(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return ""


def process_alive(pid: int, start: str) -> bool:
    """Whether ``pid`` still runs the process that started at ``start`` (zombies are dead)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # it exists, as another user
    if _pid_state(pid) in ("Z", "X"):
        return False
    return not start or not _pid_start(pid) or _pid_start(pid) == start


def this_process() -> dict[str, Any]:
    """host, boot id, pid and pid start time of this process: together they name it on this
    machine, so a later process with the same pid, or the same pid after a reboot, is not
    taken for it (the lease's holder record; an export's owner record)."""
    pid = os.getpid()
    return {"host": socket.gethostname(), "boot": _boot_id(), "pid": pid, "pid_start": _pid_start(pid)}


def on_this_machine(host: str, boot: str) -> bool:
    """Whether a process recorded by :func:`this_process` ran on this machine since its last boot
    (only then can its pid be looked up here)."""
    return host == socket.gethostname() and boot == _boot_id()


def _now_iso() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


# --------------------------------------------------------------------------- records

@dataclass
class Holder:
    """Who holds (or held) a generation of the lease."""

    generation: int
    run_id: str
    job: str
    host: str
    pid: int
    started: str
    ttl_s: float
    boot: str = ""
    pid_start: str = ""
    token: str = field(default_factory=lambda: secrets.token_hex(8))

    def describe(self) -> str:
        return f"run {self.run_id} (job {self.job}, host {self.host}, pid {self.pid}, started {self.started})"

    def same_machine(self) -> bool:
        return on_this_machine(self.host, self.boot)


@dataclass
class LeaseView:
    """The newest generation of a lake's lease as a store shows it now."""

    generation: int
    holder: Holder | None
    beat_at: float | None
    released: bool

    def state(self, now: float | None = None) -> str:
        """free (never taken), released, dead (its process is gone), expired (no heartbeat for
        its ttl), or held."""
        if self.holder is None:
            return "free" if self.generation == 0 else "held"  # a holder file not readable yet
        if self.released:
            return "released"
        h = self.holder
        if h.same_machine():
            return "held" if process_alive(h.pid, h.pid_start) else "dead"
        last = self.beat_at if self.beat_at is not None else _epoch(h.started)
        return "expired" if (now or time.time()) - last > h.ttl_s else "held"

    def describe(self) -> str:
        if self.holder is None:
            return f"generation {self.generation} (holder record unreadable)"
        beat = "" if self.beat_at is None else \
            f", last heartbeat {dt.datetime.fromtimestamp(self.beat_at, dt.timezone.utc).isoformat(timespec='seconds')}"
        return self.holder.describe()[:-1] + beat + ")"


def _epoch(iso: str) -> float:
    try:
        return dt.datetime.fromisoformat(iso).timestamp()
    except ValueError:
        return 0.0


def lease_dir(lake: str) -> str:
    return lake.rstrip("/") + "/" + LEASE_DIR


def _file(lake: str, generation: int, suffix: str) -> str:
    return confine(lake, f"{lease_dir(lake)}/{generation:012d}.{suffix}")


@dataclass
class _Files:
    holder: bool = False
    released: bool = False
    beats: list[int] = field(default_factory=list)

    def suffixes(self) -> list[str]:
        return (["json"] if self.holder else []) + (["released"] if self.released else []) + \
            [f"beat.{n:012d}" for n in self.beats]


def _generations(store: LeaseStore, lake: str) -> dict[int, _Files]:
    found: dict[int, _Files] = {}
    for name in store.list_names(lease_dir(lake)):
        parts = name.split(".")
        if not parts[0].isdigit():
            continue
        files = found.setdefault(int(parts[0]), _Files())
        if parts[1:] == ["json"]:
            files.holder = True
        elif parts[1:] == ["released"]:
            files.released = True
        elif len(parts) == 3 and parts[1] == "beat" and parts[2].isdigit():
            files.beats.append(int(parts[2]))
    return found


def _beat_at(store: LeaseStore, lake: str, generation: int, beats: list[int]) -> float | None:
    """When the newest heartbeat was written; one being written right now (unreadable) counts
    as a heartbeat now."""
    if not beats:
        return None
    try:
        return float(json.loads(store.read_text(_file(lake, generation, f"beat.{max(beats):012d}")))["at"])
    except Exception:  # noqa: BLE001 - being written, or deleted since the listing (a newer one replaced it)
        return time.time()


def read_view(store: LeaseStore, lake: str) -> LeaseView:
    gens = _generations(store, lake)
    newest = max((g for g, files in gens.items() if files.holder), default=0)
    if newest == 0:
        return LeaseView(0, None, None, False)
    try:
        holder = Holder(**json.loads(store.read_text(_file(lake, newest, "json"))))
    except Exception:  # noqa: BLE001 - being written (HDFS shows a file while it is written): taken as held
        holder = None
    return LeaseView(newest, holder, _beat_at(store, lake, newest, gens[newest].beats), gens[newest].released)


# --------------------------------------------------------------------------- the lease

class Lease:
    """A held generation of the lake's lease, renewed by a daemon thread until released.

    ``runs`` are the run ids working under it (a refresh and the stage jobs it runs in the same
    process): :func:`webfaq.lake.recover` leaves their staging alone."""

    def __init__(self, store: LeaseStore, lake: str, holder: Holder, broke: LeaseView | None = None):
        self.store, self.lake, self.holder = store, lake, holder
        self.runs = {holder.run_id}
        self.broke = {"holder": asdict(broke.holder), "state": broke.state()} if broke and broke.holder else None
        self._stop = threading.Event()
        self._last_ok = time.monotonic()
        self._error: str | None = None
        self._thread: threading.Thread | None = None
        self._seq = 0

    @property
    def interval_s(self) -> float:
        return max(0.05, self.holder.ttl_s / 4)

    def start(self) -> "Lease":
        self.beat()
        self._thread = threading.Thread(target=self._run, name=f"lease-{self.holder.run_id}", daemon=True)
        self._thread.start()
        return self

    def beat(self) -> None:
        """Renew: write the next heartbeat file of this generation, then delete the older ones
        (never touching the holder file), and notice a newer generation (someone found this
        lease expired and took the lake)."""
        self._seq += 1
        gen = self.holder.generation
        self.store.write_text(_file(self.lake, gen, f"beat.{self._seq:012d}"),
                              json.dumps({"at": time.time(), "renewed": _now_iso(), "run_id": self.holder.run_id}))
        gens = _generations(self.store, self.lake)
        for old in gens.get(gen, _Files()).beats:
            if old < self._seq:
                self.store.delete(_file(self.lake, gen, f"beat.{old:012d}"))
        newer = [g for g in gens if g > gen]
        if newer:
            self._error = f"generation {max(newer)} of the lease was taken after this run's heartbeat lapsed"
        else:
            self._last_ok = time.monotonic()

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                self.beat()
            except Exception as exc:  # noqa: BLE001 - a failed renewal is recorded; check() decides
                self._error = self._error or f"heartbeat failed: {type(exc).__name__}: {exc}"

    def check(self) -> None:
        """Raise :class:`LeaseLost` unless this run still holds the lake: renewals kept
        succeeding (the last one less than a ttl ago), nobody released it, and no newer
        generation exists. Called right before every commit."""
        if self._stop.is_set():
            raise LeaseLost(f"run {self.holder.run_id}: the lake lease was already released")
        age = time.monotonic() - self._last_ok
        if age > self.holder.ttl_s:
            raise LeaseLost(f"run {self.holder.run_id}: no lease renewal for {age:.0f} s (ttl {self.holder.ttl_s:.0f} s)"
                            + (f"; {self._error}" if self._error else ""))
        view = read_view(self.store, self.lake)
        if view.generation != self.holder.generation or view.holder is None \
                or view.holder.token != self.holder.token or view.released:
            raise LeaseLost(f"run {self.holder.run_id} lost the lake lease to {view.describe()}")

    def release(self) -> None:
        """Stop renewing and mark this generation released (idempotent). A release that fails
        leaves a lease that expires by itself, or is freed at once on this machine."""
        if self._stop.is_set():
            return
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.interval_s * 4 + 5)
        self.store.create_exclusive(_file(self.lake, self.holder.generation, "released"),
                                    json.dumps({"at": time.time(), "by": self.holder.run_id}))


def busy(view: LeaseView, lake: str) -> LakeBusy:
    """The one line that refuses a run: who holds the lake, and how to break a dead run's hold."""
    return LakeBusy(f"the lake {lake} is being written by {view.describe()}; wait for it to finish, "
                    f"or if that run is dead: webfaq unlock --lake {shlex.quote(lake)}")


class LakeChanged(LakeBusy):
    """A writer took the lake's lease while a reader read it. Readers take no lease (a read-only
    lake must stay readable), but a writer's swap moves a partition out before it moves the new
    one in, so what was read may mix two states of the lake, or miss a table for a moment."""


def reader_store(lake: str, s3: Any = None) -> LeaseStore | None:
    """:func:`lease_store` for a reader without Spark, or None where the lease needs Hadoop's
    FileSystem (an hdfs:// lake): there a reader cannot tell a run's publish from a quiet lake."""
    try:
        return lease_store(lake, s3)
    except ValueError:
        return None


def reader_mark(store: LeaseStore, lake: str) -> LeaseView:
    """The lease as a reader finds it before reading; :func:`busy` when a live run holds it.
    Pass the view to :func:`written_since` after reading."""
    view = read_view(store, lake)
    if view.state() == "held":
        raise busy(view, lake)
    return view


def written_since(store: LeaseStore, lake: str, mark: LeaseView) -> LeaseView | None:
    """The lease now, if a writer took it after ``mark`` (a new generation: every writer takes
    one, even one that started and finished during the read) or holds it now; else None."""
    view = read_view(store, lake)
    return view if view.generation != mark.generation or view.state() == "held" else None


def refuse_if_held(store: LeaseStore, lake: str) -> None:
    """Raise :func:`busy` when a live run holds the lake (a look, nothing written): a writer is
    told the lake is busy before any other check of tables that run may be writing."""
    view = read_view(store, lake)
    if view.state() == "held":
        raise busy(view, lake)


def acquire(store: LeaseStore, lake: str, run_id: str, job: str, ttl_s: float = DEFAULT_TTL_S,
            wait_s: float = 0.0, sleep: Callable[[float], None] = time.sleep) -> Lease:
    """Take the lake's writer lease for ``run_id`` or raise :class:`LakeBusy` (after waiting up
    to ``wait_s`` seconds for the holder to finish). Starts the heartbeat thread."""
    deadline = time.monotonic() + max(0.0, wait_s)
    while True:
        view = read_view(store, lake)
        state = view.state()
        if state != "held":
            holder = Holder(generation=view.generation + 1, run_id=run_id, job=job, started=_now_iso(),
                            ttl_s=float(ttl_s), **this_process())
            if store.create_exclusive(_file(lake, holder.generation, "json"), json.dumps(asdict(holder))):
                lease = Lease(store, lake, holder, view if state in ("dead", "expired") else None).start()
                _forget_old_generations(store, lake, holder.generation)
                return lease
            continue  # another run took this generation first: look again
        if time.monotonic() >= deadline:
            raise busy(view, lake)
        sleep(min(1.0, max(0.05, deadline - time.monotonic())))


def _forget_old_generations(store: LeaseStore, lake: str, current: int) -> None:
    """Delete the files of generations before the previous one (kept: who held the lake last)."""
    for generation, files in _generations(store, lake).items():
        if generation < current - 1:
            for suffix in files.suffixes():
                store.delete(_file(lake, generation, suffix))


def unlock(store: LeaseStore, lake: str, force: bool = False) -> str:
    """Free a lease whose holder is dead (``webfaq unlock``): mark its generation released.
    Refuses a holder that looks alive unless ``force``. Returns what was done, one line."""
    view = read_view(store, lake)
    state = view.state()
    if state in ("free", "released"):
        return f"the lake {lake} is not locked"
    if state == "held" and not force:
        raise LakeBusy(f"{view.describe()} looks alive (heartbeat within its ttl, or its process runs on "
                       f"this machine); stop it first, or pass --force if you are sure it is gone")
    store.create_exclusive(_file(lake, view.generation, "released"), json.dumps({"at": time.time(), "by": "unlock"}))
    return f"unlocked {lake}: {view.describe()} was {state}"


# --------------------------------------------------------------------------- S3

class S3LeaseStore:
    """The lease on an S3 lake, through boto3: exclusive create is ``PutObject`` with
    ``If-None-Match: *`` (S3 answers 412 when the key exists; AWS S3 and MinIO support it)."""

    def __init__(self, lake: str, endpoint_url: str | None = None, region: str | None = None,
                 profile: str | None = None):
        from webfaq.lake.storage import boto_session

        self.client = boto_session(profile).client("s3", endpoint_url=endpoint_url, region_name=region)
        self.lake = lake

    @staticmethod
    def _key(path: str) -> tuple[str, str]:
        rest = path.split("://", 1)[1]
        bucket, _, key = rest.partition("/")
        return bucket, key

    @staticmethod
    @contextlib.contextmanager
    def _errors(path: str, *handled: str):
        """botocore's exceptions other than the ``handled`` error codes (which the caller
        answers) become a classified FetchError naming ``path``: a lake in a bucket that does not
        exist, or that refuses, is one line, not a traceback."""
        from botocore.exceptions import BotoCoreError, ClientError

        from webfaq.lake.storage import s3_error

        try:
            yield
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in handled:
                raise
            raise s3_error(exc, path) from exc
        except BotoCoreError as exc:
            raise s3_error(exc, path) from exc

    def create_exclusive(self, path: str, text: str) -> bool:
        from botocore.exceptions import ClientError

        taken = ("PreconditionFailed", "ConditionalRequestConflict", "412", "409")
        bucket, key = self._key(path)
        try:
            with self._errors(path, *taken):
                self.client.put_object(Bucket=bucket, Key=key, Body=text.encode("utf-8"), IfNoneMatch="*")
            return True
        except ClientError:  # only the codes of ``taken`` get here
            return False

    def write_text(self, path: str, text: str) -> None:
        bucket, key = self._key(path)
        with self._errors(path):
            self.client.put_object(Bucket=bucket, Key=key, Body=text.encode("utf-8"))

    def read_text(self, path: str) -> str:
        from botocore.exceptions import ClientError

        bucket, key = self._key(path)
        try:
            with self._errors(path, "NoSuchKey", "404"):
                return self.client.get_object(Bucket=bucket, Key=key)["Body"].read().decode("utf-8")
        except ClientError as exc:  # gone since it was listed (an older heartbeat): as a local file would be
            raise FileNotFoundError(path) from exc

    def list_names(self, path: str) -> list[str]:
        bucket, prefix = self._key(path.rstrip("/") + "/")
        names = []
        with self._errors(path.rstrip("/") + "/"):
            for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix,
                                                                               Delimiter="/"):
                names += [obj["Key"][len(prefix):] for obj in page.get("Contents", [])]
        return sorted(names)

    def delete(self, path: str) -> None:
        bucket, key = self._key(path)
        with self._errors(path):
            self.client.delete_object(Bucket=bucket, Key=key)


def is_s3(uri: str) -> bool:
    return uri.startswith(("s3://", "s3a://", "s3n://"))


def lease_store(lake: str, s3: Any = None, hadoop: Callable[[], LeaseStore] | None = None) -> LeaseStore:
    """The store the lease of ``lake`` lives in: the local disk for local lakes, S3's
    conditional PUT for S3 lakes, Hadoop's FileSystem (``hadoop()``, atomic exclusive create
    on HDFS) for the rest."""
    from webfaq.lake.table import LocalFS

    if "://" not in lake or lake.startswith("file:"):
        return LocalFS(lake)
    if is_s3(lake):
        return S3LeaseStore(lake, getattr(s3, "endpoint_url", None), getattr(s3, "region", None),
                            getattr(s3, "profile", None))
    if hadoop is None:
        raise ValueError(f"{lake}: the lease of an {lake.split('://')[0]}:// lake needs Hadoop's FileSystem (a Spark job)")
    return hadoop()
