"""One true state for every run, used by `bench status`, `bench report` and a re-submission's triage.

Three witnesses, each trusted for what it can know:

    run.json      what the run last wrote: done and diverged are final; failed and interrupted say why
    .lock         who trains it now: a pid on a host and, under SLURM, the job (bench.store.rundir.RunDir.lock)
    scheduler     what became of the jobs: the run's latest job (jobs.jsonl) and the lock holder's job,
                  one task at a time (bench.store.scheduler), or a local job's process

The order: a finished run is finished; a run whose lock is held by a live process or job is running
(whichever job that is: an older job than jobs.jsonl's latest one may still hold it); a run whose
latest job is queued is pending, with SLURM's reason; otherwise what the run wrote, completed by the
scheduler's verdict on a job that died without a word (OUT_OF_MEMORY, NODE_FAIL, CANCELLED...).

Each state carries a `reason` with nothing run-specific in it, so that `bench status` can group 500
runs by it, and a `detail` that is this run's own (job, step, attempt).
"""

from __future__ import annotations

import socket
import time
from dataclasses import dataclass
from pathlib import Path

from bench.store import scheduler
from bench.store.scheduler import Task
from bench.store.rundir import LOCK, RUN_JSON, pid_alive, read_json, read_jsonl

STATES = ("pending", "running", "done", "failed", "diverged", "interrupted")
SWEEP_JSON = "sweep.json"
JOBS_JSONL = "jobs.jsonl"
READ = object()  # run_state's holder: read the lock file


@dataclass
class RunState:
    run_id: str
    state: str  # one of STATES
    reason: str = ""  # why, the same words for every run in the same situation (status groups by it)
    detail: str = ""  # this run's own: its job and state, its step, its attempts
    log: Path | None = None  # its latest job's stderr, when there is one
    job_id: str | None = None
    job_state: str | None = None
    attempts: int = 0
    held: bool = False  # a live process or job has the run (running, queued, requeued): never submit it again

    @property
    def error(self) -> str | None:
        """Why a failed run failed (the reason), None otherwise."""
        return self.reason if self.state == "failed" else None


# -- reading a sweep folder --------------------------------------------------------------------------
def latest_jobs(folder: Path) -> dict[str, dict]:
    """run id -> the latest jobs.jsonl line for it (one line per submitted run, appended)."""
    return {r["run_id"]: r for r in read_jsonl(folder / JOBS_JSONL) if r.get("run_id")}


def read_record(path: Path) -> dict | None:
    try:
        return read_json(path / RUN_JSON) if (path / RUN_JSON).exists() else None
    except (OSError, ValueError):
        return None


def read_lock(path: Path) -> dict | None:
    try:
        holder = read_json(path / LOCK)
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return {}  # being written, or cut short: a lock all the same
    return holder if isinstance(holder, dict) else {}


def lock_job(holder: dict | None) -> str | None:
    """The SLURM job (array task id when it is one) a lock's holder ran in."""
    if not holder:
        return None
    return holder.get("slurm_task") or holder.get("slurm_job")


def tasks_for(jobs: list[dict], holders: list[dict | None]) -> dict[str, Task]:
    """One scheduler query for the given jobs.jsonl lines and lock holders (local jobs: their process)."""
    out: dict[str, Task] = {}
    ids = {j["job_id"] for j in jobs if j.get("executor") == "slurm"}
    ids |= {lock_job(h) for h in holders if lock_job(h)}
    if ids and scheduler.available():
        out.update(scheduler.query(ids))
    for j in jobs:
        if j.get("executor") == "local":  # job id = the pid of submitit's controller on the submitting host
            alive = j.get("host") == socket.gethostname() and pid_alive(int(j["job_id"]))
            out[j["job_id"]] = Task(j["job_id"], "RUNNING" if alive else "EXITED", source="process")
    return out


# -- the one function --------------------------------------------------------------------------------
def run_state(path: Path, record: dict | None, job: dict | None, tasks: dict[str, Task],
              holder: dict | None | object = READ) -> RunState:
    """The state of the run at `path` from its run.json `record`, its lock `holder` (None: no lock;
    by default read from disk), its latest `job` (a jobs.jsonl line) and the scheduler's `tasks`
    (bench.store.scheduler.query, keyed by job id: the latest job's and the lock holder's)."""
    holder = read_lock(path) if holder is READ else holder
    status = (record or {}).get("status")
    task = tasks.get(job["job_id"]) if job else None
    jid = job["job_id"] if job else None
    attempts = len((record or {}).get("attempts") or [])
    step = _step(record)
    where = f"job {jid} {task.state}" if task else ""

    def out(state: str, reason: str, *extra: str, held: bool = False) -> RunState:
        detail = ", ".join(x for x in (where, *extra, step, _last_attempt(record)) if x)
        return RunState(path.name, state, reason, detail, _log(job), jid, task.state if task else None, attempts,
                        held)

    if status in ("done", "diverged"):
        return out(status, (record.get("divergence") or {}).get("reason", "") if status == "diverged" else "")
    held, by = _held(holder, tasks)
    if held:
        return out("running", "training" if status == "running" else "starting", by, held=True)
    if task is not None and task.queued:
        why = f"{'requeued' if task.state.startswith('REQUEUE') or _requeued(record) else 'queued'}" \
              + (f" ({task.reason})" if task.reason else "")
        return out("pending", why, held=True)
    if task is not None and task.live:
        if job.get("task_packs", 1) > 1 and status != "running":  # runs_per_task: one after another
            return out("pending", "waiting for the other runs of its job", held=True)
        return out("running", "starting" if status != "running" else "training", held=True)
    return _from_record(out, record, task, holder, job)


def _from_record(out, record: dict | None, task: Task | None, holder: dict | None, job: dict | None) -> RunState:
    """No live process or job holds the run: what it last wrote decides, with the scheduler's verdict."""
    status = (record or {}).get("status")
    ended = task.state if task is not None else None
    if status == "failed":
        return out("failed", record.get("error") or "failed (no error recorded)")
    if status == "interrupted":
        return out("interrupted", f"interrupted by {_signal_words(record.get('interrupted_by'))}")
    if status == "running":  # it died without a word: the scheduler may know how
        if ended in scheduler.RETRYABLE or ended in ("FAILED", "TIMEOUT", "BOOT_FAIL", "DEADLINE"):
            return out("failed", f"its job ended {ended} while the run was training")
        if ended == "CANCELLED":
            return out("interrupted", "its job was cancelled while the run was training")
        who = f"pid {holder.get('pid')} on {holder.get('host')}" if holder else \
            f"pid {record.get('pid')} on {record.get('host')}"
        return out("interrupted", "its process is gone without a word (killed: kill -9, out of memory, a lost node?)",
                   who)
    if record is not None:  # written by a process that stopped before training (an old version)
        return out("interrupted", f"stopped before training ({status})")
    if job is None:
        return out("pending", "not submitted")
    if ended == "CANCELLED":
        return out("interrupted", "its job was cancelled before the run started")
    if ended == "UNKNOWN":
        return out("interrupted", "its job is gone from the scheduler without a record (cancelled while pending?)")
    if ended in (None, "COMPLETED"):
        return out("pending", "its job ended without starting the run; submit the sweep again")
    from bench.store.logs import exception_line

    raised = exception_line(_log(job))
    return out("failed", f"its job ended ({ended}) before the run started" + (f": {raised}" if raised else ""))


def _held(holder: dict | None, tasks: dict[str, Task]) -> tuple[bool, str]:
    """Whether a live process holds the run's lock, and who."""
    if holder is None:
        return False, ""
    if not holder:
        return True, "lock being written"
    pid, host = holder.get("pid", -1), holder.get("host")
    jid = lock_job(holder)
    if host == socket.gethostname():
        alive = pid_alive(int(pid or -1))
        return alive, f"pid {pid}" if alive else ""
    if jid:
        task = tasks.get(jid)
        if task is None or task.live or task.state == "UNKNOWN":  # no scheduler to ask, or it cannot tell
            return True, f"held by job {jid} on {host}"
        return False, ""  # its job has ended: the lock is stale (bench.store.rundir takes it over)
    return True, f"held by pid {pid} on {host} (cannot be checked from here)"


def _step(record: dict | None) -> str:
    if not record or "config" not in record:
        return ""
    return f"step {record.get('step', 0)}/{record['config'].get('schedule', {}).get('steps', '?')}"


def _last_attempt(record: dict | None) -> str:
    attempts = (record or {}).get("attempts") or []
    if len(attempts) < 2:
        return ""
    a = attempts[-1]
    return f"attempt {len(attempts)} ({a.get('job') or 'pid ' + str(a.get('pid'))} on {a.get('host')})"


def _requeued(record: dict | None) -> bool:
    return bool(record) and record.get("status") in ("interrupted", "running")


def _signal_words(interrupted_by: str | None) -> str:
    return interrupted_by or "a stop (unrecorded)"


def _log(job: dict | None) -> Path | None:
    if not job or not job.get("folder"):
        return None
    from bench.store.logs import log_path

    return log_path(job)


# -- a whole sweep, and the report's one run ---------------------------------------------------------
def sweep_states(folder: Path, run_ids: list[str]) -> list[RunState]:
    """Every run of a sweep folder, with one scheduler query for all of them."""
    jobs = latest_jobs(folder)
    records = {rid: read_record(folder / rid) for rid in run_ids}
    holders = {rid: read_lock(folder / rid) for rid in run_ids}
    unfinished = [rid for rid in run_ids if (records[rid] or {}).get("status") not in ("done", "diverged")]
    tasks = tasks_for([jobs[r] for r in unfinished if r in jobs], [holders[r] for r in unfinished])
    return [run_state(folder / rid, records[rid], jobs.get(rid), tasks, holders[rid]) for rid in run_ids]


_ASKED: dict[Path, tuple[float, dict[str, dict], dict[str, Task]]] = {}
ASK_AGAIN_S = 2.0  # within one `bench report`, one scheduler query per sweep folder


def label(path: Path, record: dict) -> str:
    """The state of one run folder, for `bench report` (which reads run.json itself). The scheduler is
    asked only about unfinished runs, once per sweep folder within ASK_AGAIN_S."""
    if record.get("status") in ("done", "diverged"):
        return record["status"]
    folder = path.parent
    now = time.monotonic()
    cached = _ASKED.get(folder)
    if cached is None or now - cached[0] > ASK_AGAIN_S:
        jobs = latest_jobs(folder)
        holders = [read_lock(p.parent) for p in folder.glob(f"*/{LOCK}")]
        try:
            tasks = tasks_for(list(jobs.values()), holders)
        except scheduler.SchedulerError:
            tasks = {}  # the report still reads: runs are labelled from what they wrote
        cached = _ASKED[folder] = (now, jobs, tasks)
    _, jobs, tasks = cached
    holder = read_lock(path)
    tasks = dict(tasks)
    if lock_job(holder) and lock_job(holder) not in tasks and scheduler.available():
        try:
            tasks.update(scheduler.query([lock_job(holder)]))
        except scheduler.SchedulerError:
            pass
    return run_state(path, record, jobs.get(path.name), tasks, holder).state

