"""What is on disk and who holds it: run folders (run.json, metrics.jsonl, the lock), atomic writes,
checkpoints and how a resume trusts one, a run's attempts and its one true state (run.json, lock and
the scheduler's accounting), and the disk and signal faults of a shared machine. The bottom tier:
it imports no other tier of bench."""
