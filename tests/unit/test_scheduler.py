"""Reading squeue and sacct (bench.store.scheduler): each task's own line wins over a range record. The texts
are what SLURM 22.05 printed on the local cluster (slurm/local) for arrays of sleep jobs
(`sacct -X -n -P -o JobID,JobIDRaw,State`): array 14_[0-7%2] after its pending task 14_5 was
cancelled, and array 40_[0-5%2] after 40_5 was cancelled while pending and then 40_4 while 40_2 and
40_3 ran (issue 17, fault 1). The squeue lines are what `squeue -r -o "%i %T %r"` printed at the
same moment, in the |-separated format bench.store.scheduler asks for, with the raw ids sacct gave (the
node column added). tests/slurm repeats all of it on the live cluster."""

from __future__ import annotations

from submitit.slurm.slurm import SlurmInfoWatcher

from bench.store.scheduler import expand, parse_sacct, parse_squeue, resolve

SACCT = """\
14_0|15|COMPLETED
14_1|16|COMPLETED
14_2|17|RUNNING
14_3|18|RUNNING
14_[4,6-7%2]|14|PENDING
"""
# squeue, a moment later: 14_4 and 14_6 have started, while sacct still had 14_4 inside the range
SQUEUE = """\
14_7|14|PENDING|JobArrayTaskLimit|
14_6|20|RUNNING|None|vm
14_4|19|RUNNING|None|vm
"""
# the second array: sacct's leftover range record is CANCELLED and spans the running 40_2 and 40_3
SACCT_LATER = """\
40_0|41|COMPLETED
40_1|42|COMPLETED
40_2|43|RUNNING
40_3|44|RUNNING
40_[2-4%2]|40|CANCELLED by 0
"""


def test_submitits_watcher_lets_the_stale_range_record_win():
    """The reading before issue 17 (bench.sweep.status.job_states used SlurmInfoWatcher): 40_2 is RUNNING in
    its own line, but the range record that follows overwrites it."""
    assert SlurmInfoWatcher().read_info("JobID|JobIDRaw|State\n" + SACCT_LATER)["40_2"]["State"].startswith("CANCELLED")


def test_own_line_wins_over_the_range_record():
    own, ranges = parse_sacct(SACCT_LATER)
    assert resolve("40_2", {}, (own, ranges)).state == "RUNNING"
    assert resolve("40_3", {}, (own, ranges)).state == "RUNNING"
    # a task with no line of its own takes the range record's final state
    assert resolve("40_4", {}, (own, ranges)).state == "CANCELLED"
    assert resolve("40_4", {}, (own, ranges)).source == "sacct-range"
    # the cancelled pending task 40_5 has no record at all
    assert resolve("40_5", {}, (own, ranges)).state == "UNKNOWN"


def test_squeue_is_the_controllers_word_for_live_tasks():
    live = parse_squeue(SQUEUE)
    acct = parse_sacct(SACCT)
    # sacct still has 14_4 inside a PENDING range; squeue holds it RUNNING
    assert resolve("14_4", live, acct).state == "RUNNING" and resolve("14_4", live, acct).node == "vm"
    assert resolve("14_7", live, acct).reason == "JobArrayTaskLimit"
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
