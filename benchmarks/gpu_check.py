"""The GPU path, checked and timed by one command: `python -m benchmarks.gpu_check`.

GPU time is scarce (an H100/H200 for minutes at a time), so everything that needs a CUDA device is
one prepared command of under 7 minutes, whose parts run one after the other, each in its own
process with its own time limit:

  environment   GPU, driver, torch, CUDA, cuDNN, the Python packages the harness needs
  pytest        `pytest -m gpu` (pytest-xdist workers where installed), pass/fail per test
  toy           benchmarks.toy_wgan_gp: none, graph, compile, packs 8 and 32 against the plain loop
  fmnist-mlp    benchmarks.fmnist_mlp_wgan_gp: none, graph, pack 8
  fmnist-dcgan  benchmarks.fmnist_dcgan_wgan_gp: none, graph, pack 8
  eval-cost     benchmarks.eval_cost --device cuda: evaluation as a fraction of training time
  e2e           `bench run` through the CLI on CUDA (wgan,gan mlp toy; wgan-gp,sngan dcgan Fashion-MNIST
                quick; a --pack 4 toy run), then `bench report` on them

The Markdown report is rewritten after every part, so a check cut short still holds what it
measured; a part that runs past its limit is killed and reported as such, with the end of its log.
It needs the repo, torch-fidelity, POT and submitit (carried as wheels if the machine lacks them),
and the Fashion-MNIST files in a folder named by $BENCH_DATA (or --data). Exit code 0 when every
part passed, 1 otherwise. `--device cpu --smoke` runs the same parts at toy sizes on a CPU (tests).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Callable

REPO = Path(__file__).resolve().parents[1]
# Targets of the GPU issue; a row that misses one says so in the report.
TARGETS = {"toy_graph_steps": 200.0, "toy_graph_x_plain": 6.0, "toy_pack32_run_steps": 1000.0,
           "fmnist_mlp_steps": 400.0, "eval_percent": 10.0}


@dataclass
class Part:
    name: str
    limit_s: float
    run: Callable[["Check", float], str]  # (check, limit) -> the part's Markdown section (raises nothing)


@dataclass
class Outcome:
    rc: int | None  # None: killed at its limit
    seconds: float
    log: str

    @property
    def timed_out(self) -> bool:
        return self.rc is None


@dataclass
class Check:
    args: argparse.Namespace
    work: Path
    sections: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join([str(REPO), *[p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]])
        env["PYTHONUNBUFFERED"] = "1"
        if self.args.data:
            env["BENCH_DATA"] = self.args.data
        env.setdefault("BENCH_CACHE", str(self.work / "cache"))
        return env

    def sh(self, cmd: list[str], limit_s: float, log_name: str) -> Outcome:
        """Run `cmd` in its own process group; kill the group at the limit. stdout+stderr -> work/log_name."""
        log = self.work / log_name
        t0 = time.monotonic()
        with open(log, "w") as f:
            f.write("$ " + " ".join(cmd) + "\n")
            f.flush()
            proc = subprocess.Popen(cmd, cwd=REPO, env=self.env(), stdout=f, stderr=subprocess.STDOUT,
                                    start_new_session=True)
            try:
                rc: int | None = proc.wait(timeout=max(limit_s, 1))
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
                rc = None
        return Outcome(rc, time.monotonic() - t0, log.read_text(errors="replace"))

    def python(self, *args: str) -> list[str]:
        return [sys.executable, *args]


def tail(text: str, n: int = 15) -> str:
    lines = text.rstrip().splitlines()[-n:]
    return "```\n" + "\n".join(lines) + "\n```\n"


def verdict(outcome: Outcome, limit_s: float) -> str:
    if outcome.timed_out:
        return f"**timed out** after {limit_s:.0f} s (killed; what it finished is below)"
    return ("passed" if outcome.rc == 0 else f"**failed** (exit code {outcome.rc})") + f" in {outcome.seconds:.0f} s"


# -- the parts ------------------------------------------------------------------------------------------
def environment(check: Check, limit_s: float) -> str:
    code = ("import json, torch; c = torch.cuda.is_available(); p = torch.cuda.get_device_properties(0) if c else None; "
            "print(json.dumps({'torch': torch.__version__, 'cuda': torch.version.cuda, "
            "'cudnn': torch.backends.cudnn.version() if c else None, 'gpu': torch.cuda.get_device_name(0) if c else None, "
            "'gpu_memory_gib': round(p.total_memory / 2**30, 1) if c else None, "
            "'sms': p.multi_processor_count if c else None, 'threads': torch.get_num_threads()}))")
    out = check.sh(check.python("-c", code), limit_s, "environment.log")
    facts = {}
    if out.rc == 0:
        facts = json.loads(out.log.strip().splitlines()[-1])
    smi = subprocess.run(["nvidia-smi", "--query-gpu=name,driver_version,memory.total", "--format=csv,noheader"],
                         capture_output=True, text=True) if _which("nvidia-smi") else None
    rows = [("GPU", facts.get("gpu") or "none (PyTorch sees no CUDA device)"),
            ("GPU memory, multiprocessors", f"{facts.get('gpu_memory_gib')} GiB, {facts.get('sms')}"),
            ("driver (nvidia-smi)", smi.stdout.strip() if smi is not None and smi.returncode == 0 else "no nvidia-smi"),
            ("torch, CUDA, cuDNN", f"{facts.get('torch')}, {facts.get('cuda')}, {facts.get('cudnn')}"),
            ("Python", f"{platform.python_version()} ({sys.executable})"),
            ("CPU", f"{os.cpu_count()} cores, torch threads {facts.get('threads')}")]
    for pkg in ("torch-fidelity", "POT", "submitit", "pytest-xdist"):
        try:
            rows.append((pkg, metadata.version(pkg)))
        except metadata.PackageNotFoundError:
            rows.append((pkg, "**missing** (carry its wheel: see README, Speed)"))
    rows.append(("git commit", _git_commit()))
    rows.append(("Fashion-MNIST ($BENCH_DATA)", check.env().get("BENCH_DATA") or "not set: image parts look in system folders"))
    if out.rc != 0:
        check.failed.append("environment")
    return "| | |\n|---|---|\n" + "".join(f"| {k} | {v} |\n" for k, v in rows) + (
        "" if out.rc == 0 else "\ntorch could not report the device:\n" + tail(out.log))


RESULT = re.compile(r"(PASSED|FAILED|ERROR|SKIPPED|XFAIL|XPASS)\s+(tests/\S+::\S+)|(tests/\S+::\S+)\s+(PASSED|FAILED|ERROR|SKIPPED|XFAIL|XPASS)")


def pytest_gpu(check: Check, limit_s: float) -> str:
    cmd = check.python("-m", "pytest", "-m", check.args.pytest_marker, "-v", "-p", "no:cacheprovider", "-rfE")
    if _has("xdist") and check.args.workers > 1:
        cmd += ["-n", str(check.args.workers)]  # each worker its own process and CUDA context: safe
    out = check.sh(cmd, limit_s, "pytest.log")
    results: dict[str, str] = {}
    for m in RESULT.finditer(out.log):
        status, test = (m.group(1), m.group(2)) if m.group(1) else (m.group(4), m.group(3))
        results[test] = status
    if out.rc not in (0,) or any(s in ("FAILED", "ERROR") for s in results.values()):
        check.failed.append("pytest")
    counts = {s: sum(1 for v in results.values() if v == s) for s in sorted(set(results.values()))}
    lines = [f"{verdict(out, limit_s)}: " + (", ".join(f"{n} {s.lower()}" for s, n in counts.items()) or "no test result"),
             "", "| test | result |", "|---|---|"]
    lines += [f"| `{t}` | {s if s == 'PASSED' else f'**{s}**'} |" for t, s in sorted(results.items())]
    text = "\n".join(lines) + "\n"
    if out.rc not in (0, None) or out.timed_out or "FAILED" in counts or "ERROR" in counts:
        text += "\nEnd of the log:\n" + tail(out.log, 30)
    return text


def benchmark(module: str, modes: str, packs: str, steps: int, repeats: int, targets: Callable[[list[dict]], list[str]]):
    def part(check: Check, limit_s: float) -> str:
        js = check.work / f"{module}.json"
        cpu = check.args.device == "cpu"  # (no CUDA graphs there; a pack of 2 stands in for the packs)
        cmd = check.python("-m", f"benchmarks.{module}", "--device", check.args.device,
                           "--modes", "none" if cpu else modes, "--packs", "2" if cpu else packs, "--steps", str(steps if not check.args.smoke else 2),
                           "--repeats", str(repeats if not check.args.smoke else 1), "--json", str(js))
        if check.args.smoke:
            cmd += ["--batch-size", "16", "--width", "32"]
        out = check.sh(cmd, limit_s, f"{module}.log")
        if out.rc != 0:
            check.failed.append(module)
        if not js.exists():
            return verdict(out, limit_s) + "\n\n" + tail(out.log)
        res = json.loads(js.read_text())  # (written as the table is printed: a part killed after it still has it)
        lines = [f"{verdict(out, limit_s)}. {res['title']}; {res['device']}; {res['steps']} timed steps x "
                 f"{res['repeats']} interleaved repeats, medians.", "",
                 "| contestant | generator steps/s | run-steps/s | x plain | range |", "|---|---:|---:|---:|---:|"]
        for r in res["rows"]:
            lo, hi = r["x_plain_range"]
            lines.append(f"| {r['contestant']} | {r['gen_steps_per_s']:.4g} | {r['run_steps_per_s']:.4g} | "
                         f"{r['x_plain']:.2f} | {lo:.2f}-{hi:.2f} |")
        return "\n".join(lines) + "\n" + "".join(f"\n- {t}" for t in targets(res["rows"])) + "\n"

    return part


def _row(rows: list[dict], name: str) -> dict | None:
    return next((r for r in rows if r["contestant"] == name), None)


def _target(label: str, value: float | None, goal: float, unit: str) -> str:
    if value is None:
        return f"{label}: not measured"
    return f"{label}: {value:.4g}{unit} (target >= {goal:g}{unit}: **{'met' if value >= goal else 'missed'}**)"


def toy_targets(rows: list[dict]) -> list[str]:
    graph, pack = _row(rows, "bench run --compile graph"), _row(rows, "bench run --compile graph --pack 32")
    return [_target("one run, CUDA graphs", graph and graph["gen_steps_per_s"], TARGETS["toy_graph_steps"],
                    " generator steps/s"),
            _target("one run, CUDA graphs, x the plain loop", graph and graph["x_plain"], TARGETS["toy_graph_x_plain"], "x"),
            _target("pack of 32", pack and pack["run_steps_per_s"], TARGETS["toy_pack32_run_steps"], " run-steps/s")]


def mlp_targets(rows: list[dict]) -> list[str]:
    best = max((r["gen_steps_per_s"] for r in rows if r["contestant"].startswith("bench run") and "--pack" not in
                r["contestant"]), default=None)
    return [_target("one run, fastest mode", best, TARGETS["fmnist_mlp_steps"], " generator steps/s")]


def eval_cost(check: Check, limit_s: float) -> str:
    js = check.work / "eval_cost.json"
    cmd = check.python("-m", "benchmarks.eval_cost", "--device", check.args.device, "--json", str(js),
                       "--steps", "20" if not check.args.smoke else "1", "--repeats", "3" if not check.args.smoke else "1")
    if check.args.smoke:
        cmd += ["--dataset", "8gaussians", "--arch", "mlp"]
    out = check.sh(cmd, limit_s, "eval_cost.log")
    if out.rc != 0 or not js.exists():
        check.failed.append("eval-cost")
        return verdict(out, limit_s) + "\n\n" + tail(out.log)
    r = json.loads(js.read_text())
    by = ", ".join(f"{k} {v:.2f} s" for k, v in sorted(r["by_metric_s"].items(), key=lambda kv: -kv[1]))
    return (f"{verdict(out, limit_s)}. `wgan-gp --arch dcgan`, standard schedule, steps in mode `{r['compile']}`: "
            f"{r['step_s'] * 1000:.2f} ms per generator step, {r['steps_between_evals']:.0f} steps between evaluations "
            f"= {r['step_s'] * r['steps_between_evals']:.0f} s of training.\n\n"
            f"| evaluation | seconds | % of evaluation + training |\n|---|---:|---:|\n"
            f"| first (real features computed) | {r['first_eval_s']:.1f} | {r['first_eval_percent']:.2f} |\n"
            f"| later (real features cached) | {r['later_eval_s']:.1f} | {r['later_eval_percent']:.2f} |\n\n"
            f"Later evaluation by metric: {by}.\n\n- "
            + _target_below("evaluation share", r["later_eval_percent"], TARGETS["eval_percent"]) + "\n")


def _target_below(label: str, value: float, goal: float) -> str:
    return f"{label}: {value:.3g} % (target < {goal:g} %: **{'met' if value < goal else 'missed'}**)"


def e2e(check: Check, limit_s: float) -> str:
    results = check.work / "e2e"
    common = ["--results", str(results), "--name", "e2e", "--no-progress", "--device", check.args.device]
    tiny = ["--steps", "4", "--evals", "2", "--batch-size", "16", "--set", "width=32"] if check.args.smoke else []
    wgan_short = ["--set", "warmup_gen_steps=1"] if check.args.smoke else []
    commands = [
        ["run", "--variants", "wgan,gan", "--arch", "mlp", *common, *tiny, *wgan_short],
        ["run", "--variants", "wgan-gp,sngan", "--arch", "dcgan", "--dataset", "fashion-mnist", "--schedule", "quick",
         *common, *tiny],
        ["run", "--variants", "wgan-gp", "--arch", "mlp", "--seeds", "0-3", "--pack", "4", *common, *tiny],
        ["report", str(results / "e2e"), "--out", str(results / "report"), "--quiet"],
    ]
    if check.args.smoke:  # no Fashion-MNIST needed on a CPU smoke test
        commands.pop(1)
    deadline, lines = time.monotonic() + limit_s, ["| command | result |", "|---|---|"]
    ok, logs = True, ""
    for i, args in enumerate(commands):
        left = deadline - time.monotonic()
        if left < 5:
            lines.append(f"| `bench {' '.join(args[:5])} ...` | not run: the part's {limit_s:.0f} s were spent |")
            ok = False
            continue
        out = check.sh(check.python("-m", "bench", *args), left, f"e2e-{i}.log")
        ok &= out.rc == 0
        shown = " ".join(a.replace(str(results), "R") for a in args)
        lines.append(f"| `bench {shown}` | {verdict(out, left)} |")
        if out.rc != 0:
            logs += tail(out.log)
    runs = sorted((results / "e2e").glob("*/run.json"))
    lines += ["", "| run | status | steps/s | step mode | fallback | critic gap | W1 / FID |", "|---|---|---:|---|---|---:|---:|"]
    for path in runs:
        rec = json.loads(path.read_text())
        rows = [json.loads(x) for x in (path.parent / "metrics.jsonl").read_text().splitlines() if x.strip()]
        last = rows[-1] if rows else {}
        quality = last.get("fid", last.get("w1_exact"))
        fb = rec.get("speed", {}).get("fallback")
        lines.append(f"| {rec['run_id']} | {rec['status']} | {rec.get('timings', {}).get('steps_per_s')} | "
                     f"{rec['speed'].get('compile')}{' (pack %d)' % rec['speed']['pack'] if rec['speed'].get('pack', 1) > 1 else ''} | "
                     f"{fb['reason'] if fb else '-'} | {_fmt(last.get('critic_gap'))} | {_fmt(quality)} |")
        ok &= rec["status"] == "done"
    report = results / "report" / "report.md"
    lines.append(f"\n`bench report` wrote {report.relative_to(check.work) if report.exists() else 'nothing'}.")
    if not ok:
        check.failed.append("e2e")
    return "\n".join(lines) + "\n" + logs


def _fmt(x) -> str:
    return "-" if x is None else f"{x:.4g}"


def _which(name: str) -> bool:
    import shutil

    return shutil.which(name) is not None


def _has(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


def _git_commit() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True, timeout=5)
        dirty = subprocess.run(["git", "status", "--porcelain"], cwd=REPO, capture_output=True, text=True, timeout=5)
        return (out.stdout.strip() or "unknown") + (" (with uncommitted changes)" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown (no git)"


PARTS = [
    Part("environment", 30, environment),
    Part("pytest", 90, pytest_gpu),
    Part("toy", 75, benchmark("toy_wgan_gp", "none,graph,compile", "8,32", 60, 3, toy_targets)),
    Part("fmnist-mlp", 35, benchmark("fmnist_mlp_wgan_gp", "none,graph", "8", 40, 3, mlp_targets)),
    Part("fmnist-dcgan", 50, benchmark("fmnist_dcgan_wgan_gp", "none,graph", "8", 15, 3, lambda rows: [])),
    Part("eval-cost", 50, eval_cost),
    Part("e2e", 110, e2e),
]
TITLES = {"environment": "Environment", "pytest": "`pytest -m gpu`", "toy": "Toy WGAN-GP (`benchmarks.toy_wgan_gp`)",
          "fmnist-mlp": "Fashion-MNIST MLP WGAN-GP (`benchmarks.fmnist_mlp_wgan_gp`)",
          "fmnist-dcgan": "Fashion-MNIST DCGAN WGAN-GP (`benchmarks.fmnist_dcgan_wgan_gp`)",
          "eval-cost": "Evaluation cost (`benchmarks.eval_cost`)", "e2e": "End to end through the CLI"}


def write(check: Check, out: Path, started: float, done: bool) -> str:
    head = (f"# GAN Bench GPU check\n\n`python -m benchmarks.gpu_check {' '.join(sys.argv[1:])}` — "
            f"{time.strftime('%Y-%m-%d %H:%M %Z')}, {time.monotonic() - started:.0f} s"
            f"{'' if done else ' so far (still running, or cut short)'}. Parts that failed: "
            f"{', '.join(check.failed) or 'none'}. Logs: `{check.work}`.\n")
    text = head + "".join(check.sections)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, out)
    return text


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description="Check and time GAN Bench's CUDA path in one command (see the module "
                                            "docstring); writes a Markdown report and prints it.")
    p.add_argument("--out", default="gpu_check.md", help="the Markdown report [default: gpu_check.md]")
    p.add_argument("--work", help="folder for logs, JSON and the e2e runs [default: a new temporary folder]")
    p.add_argument("--data", default=os.environ.get("BENCH_DATA"), help="folder with the Fashion-MNIST files "
                   "[default: $BENCH_DATA]")
    p.add_argument("--parts", default=",".join(x.name for x in PARTS), help="which parts, comma-separated [default: all]")
    p.add_argument("--limits", default="", help="override parts' time limits in seconds, e.g. toy=60,pytest=90")
    p.add_argument("--budget-s", type=float, default=400, help="the whole check's time; a part starts only with "
                   "at least 10 s left and gets at most what is left [default: 400]")
    p.add_argument("--workers", type=int, default=8, help="pytest-xdist workers for the gpu tests [default: 8]")
    p.add_argument("--device", choices=["cuda", "cpu"], default="cuda", help="cpu: a smoke test of the check itself")
    p.add_argument("--smoke", action="store_true", help="toy sizes everywhere (with --device cpu: tests of the check)")
    p.add_argument("--pytest-marker", default="gpu", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    chosen = args.parts.split(",")
    unknown = sorted(set(chosen) - {x.name for x in PARTS})
    if unknown:
        p.error(f"unknown part(s) {', '.join(unknown)}; choose from {', '.join(x.name for x in PARTS)}")
    try:
        limits = {k: float(v) for k, v in (kv.split("=") for kv in args.limits.split(",") if kv)}
    except ValueError:
        p.error(f"malformed --limits {args.limits!r}; write PART=SECONDS,... e.g. toy=60")
    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="gpu-check-"))
    work.mkdir(parents=True, exist_ok=True)
    check, out, started = Check(args, work), Path(args.out), time.monotonic()
    for part in (x for x in PARTS if x.name in chosen):
        left = args.budget_s - (time.monotonic() - started)
        limit = min(limits.get(part.name, part.limit_s), left)
        title = f"\n## {TITLES[part.name]}\n\n"
        if left < 10:
            check.sections.append(title + f"not run: {left:.0f} s of the {args.budget_s:.0f} s budget were left\n")
            check.failed.append(part.name)
        else:
            print(f"gpu_check: {part.name} (limit {limit:.0f} s) ...", file=sys.stderr, flush=True)
            n = len(check.failed)
            try:
                check.sections.append(title + part.run(check, limit))
            except Exception as e:  # a bug in the check itself must not lose the other parts
                check.sections.append(title + f"**the check's own code failed**: {type(e).__name__}: {e}\n")
                check.failed.append(part.name)
            if len(check.failed) > n:  # a part's failures are listed under the part's name
                check.failed[n:] = [part.name]
        write(check, out, started, done=False)
    print(write(check, out, started, done=True))
    return 1 if check.failed else 0


if __name__ == "__main__":
    sys.exit(main())
