#!/usr/bin/env bash
# Run the two small studies of the project, one after the other, on this machine: sweeps/study-toy.yaml,
# then sweeps/study-fmnist-mlp.yaml, each as local processes, two runs at a time with one thread each,
# at low CPU priority. Results go to RESULTS/study-toy/ and RESULTS/study-fmnist-mlp/ (RESULTS:
# $BENCH_RESULTS, default results/ of this checkout).
#
# Run it again to resume: finished runs are skipped and interrupted ones resume from their checkpoints
# (bench sweep). A study with failed runs does not stop the next one; the script exits non-zero at the
# end if either sweep did. Any further arguments go to both `bench sweep` calls (e.g. --dry-run).
#
#   setsid nohup sweeps/run-small-studies.sh > studies.log 2>&1 &      # survives the shell's exit
#   bench status results/study-toy results/study-fmnist-mlp
set -uo pipefail
cd "$(dirname "$0")/.."
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1       # one thread per run: two runs share two cores
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"  # this checkout's code, also in the local jobs
results="${BENCH_RESULTS:-results}"
status=0
for study in study-toy study-fmnist-mlp; do
    echo "== $(date -Is) $study"
    nice -n "${NICE:-15}" python -m bench sweep "sweeps/$study.yaml" --executor local --array-parallelism 2 \
        --cpus 1 --results "$results" "$@" || status=$?
done
echo "== $(date -Is) done (exit $status)"
exit "$status"
