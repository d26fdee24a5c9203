"""Reading squeue and sacct (bench.scheduler): each task's own line wins over a range record. The texts
are what SLURM 22.05 printed on the local cluster (slurm/local) for an array 14_[0-7%2] after its
pending task 14_5 was cancelled (fault 1 of issue 17); tests/slurm repeats it on the live cluster."""

from __future__ import annotations

from submitit.slurm.slurm import SlurmInfoWatcher

from bench.scheduler import expand, parse_sacct, parse_squeue, resolve

# sacct -X -n -P -o JobID,JobIDRaw,State,NodeList,ExitCode,End -j 14
SACCT = """\
14_0|15|COMPLETED|vm|0:0|2026-11-29T21:26:57
14_1|16|COMPLETED|vm|0:0|2026-11-29T21:26:57
14_2|17|RUNNING|vm|0:0|Unknown
14_3|18|RUNNING|vm|0:0|Unknown
14_[4,6-7%2]|14|PENDING|None assigned|0:0|Unknown
"""
# squeue -h -r -t all -j 14 -o %i|%A|%T|%r|%N, a moment later: 14_4 has started
SQUEUE = """\
14_6|14|PENDING|JobArrayTaskLimit|
14_7|14|PENDING|JobArrayTaskLimit|
14_4|19|RUNNING|None|vm
14_2|17|RUNNING|None|vm
14_0|15|COMPLETED|None|vm
"""
# the same array once 14_4 ran, as sacct kept it: the stale range record lists 14_4 again
SACCT_LATER = """\
14_4|19|RUNNING|vm|0:0|Unknown
14_6|20|RUNNING|vm|0:0|Unknown
14_[4,6-7%2]|14|CANCELLED by 0|None assigned|0:0|2026-11-29T21:27:30
"""


def test_submitits_watcher_lets_the_stale_range_record_win():
    """Today's reading (bench.status.job_states used SlurmInfoWatcher): 14_4 is RUNNING in its own
    line, but the range record that follows overwrites it."""
    assert SlurmInfoWatcher().read_info("JobID|JobIDRaw|State\n" + SACCT_LATER)["14_4"]["State"].startswith("CANCELLED")


def test_own_line_wins_over_the_range_record():
    own, ranges = parse_sacct(SACCT_LATER)
    assert resolve("14_4", {}, (own, ranges)).state == "RUNNING"
    assert resolve("14_6", {}, (own, ranges)).state == "RUNNING"
    # a task with no line of its own takes the range record's final state
    assert resolve("14_7", {}, (own, ranges)).state == "CANCELLED"
    assert resolve("14_7", {}, (own, ranges)).source == "sacct-range"
    # the cancelled pending task 14_5 has no record at all
    assert resolve("14_5", {}, (own, ranges)).state == "UNKNOWN"


def test_squeue_is_the_controllers_word_for_live_tasks():
    live = parse_squeue(SQUEUE)
    acct = parse_sacct(SACCT)
    # sacct still has 14_4 inside a PENDING range; squeue holds it RUNNING
    assert resolve("14_4", live, acct).state == "RUNNING" and resolve("14_4", live, acct).node == "vm"
    assert resolve("14_6", live, acct).reason == "JobArrayTaskLimit"
    # by raw id (a lock written by SLURM_JOB_ID=19 names 14_4)
    assert resolve("19", live, acct).job_id == "14_4"
    # a pending range record never speaks for a task squeue does not hold (it would be stale)
    assert resolve("14_5", {}, parse_sacct(SACCT)).state == "UNKNOWN"


def test_range_expansion():
    assert expand("14", "4,6-7%2") == {"14_4", "14_6", "14_7"}
    assert expand("3", "0-2") == {"3_0", "3_1", "3_2"}


def test_states_with_words_after_them_and_steps_are_read():
    own, _ = parse_sacct("21|21|CANCELLED by 0|vm|0:15|2026-11-29T21:00:00\n21.batch|21.batch|CANCELLED||0:15|\n")
    assert own["21"].state == "CANCELLED" and "21.batch" not in own
