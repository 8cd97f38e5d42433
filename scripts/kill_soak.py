#!/usr/bin/env python3
"""Kill soak of the nightly job (issue 18): a simulated trail is delivered night by night, as S3
would add a day's files, into two copies. One copy runs `trailsight run` once per night (the
reference). The other is SIGKILLed at random moments during its runs, N times in all, each kill
followed by a run that must complete. At the end, both must be identical: each dated folder's
outputs byte for byte, `latest`, and a detection over every stored day (which reads every
stored count, so a double-counted or lost event shows).

    python3 scripts/kill_soak.py [--bin target/debug/trailsight] [--nights 14] [--kills 25]
    python3 scripts/kill_soak.py --long      # a simulated month and 150 kills

Python standard library only. Exit status 0 when every check passed, 1 otherwise.
"""

import argparse
import datetime
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# The files of a dated run that must not depend on how often the run was interrupted.
OUTPUTS = (
    "findings.jsonl",
    "incidents.jsonl",
    "insights.json",
    "shadow.jsonl",
    "suppressed.jsonl",
    "config.toml",
)


def delivery_dates(trail):
    """Every log file under trail/AWSLogs by its delivery date (the key's YYYY/MM/DD)."""
    out = {}
    for path in sorted((trail / "AWSLogs").rglob("*.json.gz")):
        parts = path.relative_to(trail).parts
        # AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/<file>
        date = "-".join(parts[-4:-1])
        out.setdefault(date, []).append(path.relative_to(trail))
    return out


def deliver(trail, files, copy):
    for rel in files:
        to = copy / "input" / rel
        to.parent.mkdir(parents=True, exist_ok=True)
        os.link(trail / rel, to)


def nightly(binary, copy, date):
    return [
        str(binary), "-q", "--log-format", "json", "run",
        "--input", str(copy / "input" / "AWSLogs"),
        "--state", str(copy / "state"), "--out", str(copy / "out"),
        "--date", date,
    ]


def run_to_end(cmd, log):
    t = time.monotonic()
    p = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if p.returncode != 0:
        log.write(p.stderr)
        raise SystemExit("run failed (%d): %s\n%s" % (p.returncode, " ".join(cmd), p.stderr[-2000:]))
    return time.monotonic() - t


def whole_detection(binary, copy, first, last):
    """`detect --json` over every stored day: the findings depend on every stored count."""
    out = copy / "whole"
    p = subprocess.run(
        [str(binary), "-q", "detect", "--json", "--state", str(copy / "state"),
         "--from", first, "--to", last, "--out", str(out)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    if p.returncode != 0:
        raise SystemExit("detect failed on %s: %s" % (copy, p.stderr[-2000:]))
    v = json.loads(p.stdout)
    v.pop("out", None)
    return v


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bin", default=os.environ.get("TRAILSIGHT_BIN", "target/debug/trailsight"))
    ap.add_argument("--nights", type=int, default=14, help="simulated days (default 14)")
    ap.add_argument("--kills", type=int, default=25, help="SIGKILLs in all (default 25)")
    ap.add_argument("--scale", type=float, default=0.02)
    ap.add_argument("--seed", type=int, default=7, help="the trail's and the kills' seed")
    ap.add_argument("--long", action="store_true", help="30 nights and 150 kills")
    ap.add_argument("--work", help="working folder (kept); a temporary one by default")
    a = ap.parse_args()
    if a.long:
        a.nights, a.kills = 30, 150
    binary = Path(a.bin).resolve()
    if not binary.is_file():
        raise SystemExit("no trailsight binary at %s (cargo build first, or --bin)" % binary)
    work = Path(a.work) if a.work else Path(tempfile.mkdtemp(prefix="trailsight-soak-"))
    work.mkdir(parents=True, exist_ok=True)
    log = open(work / "soak.log", "w")
    rng = random.Random(a.seed)
    started = time.monotonic()

    trail = work / "trail"
    if not trail.exists():
        subprocess.run(
            [str(binary), "-q", "simulate", "--days", str(a.nights), "--scale", str(a.scale),
             "--seed", str(a.seed), "--out", str(trail)],
            check=True, stdout=subprocess.DEVNULL,
        )
    days = delivery_dates(trail)
    dates = sorted(days)
    ref, soak = work / "reference", work / "soak"
    for copy in (ref, soak):
        shutil.rmtree(copy, ignore_errors=True)

    # The reference: one uninterrupted run a night; its durations set the kill moments.
    durations = []
    for d in dates:
        deliver(trail, days[d], ref)
        durations.append(run_to_end(nightly(binary, ref, d), log))
    longest = max(durations)
    # A run killed after its last step is not a kill mid-run: report how many landed inside.

    # The soak: the same nights, with the kills spread over them at random.
    per_night = [0] * len(dates)
    for _ in range(a.kills):
        per_night[rng.randrange(len(dates))] += 1
    landed = finished_first = 0
    for i, d in enumerate(dates):
        deliver(trail, days[d], soak)
        for _ in range(per_night[i]):
            # Anywhere in the run: the reference's duration that night is how long it takes.
            delay = rng.uniform(0.0, durations[i] * 0.95)
            p = subprocess.Popen(nightly(binary, soak, d), stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL)
            try:
                p.wait(timeout=delay)
                finished_first += 1
            except subprocess.TimeoutExpired:
                p.send_signal(signal.SIGKILL)
                p.wait()
                landed += 1
                log.write("%s: killed after %.2f s\n" % (d, delay))
        run_to_end(nightly(binary, soak, d), log)

    # The checks.
    problems = []
    for d in dates:
        for name in OUTPUTS:
            x, y = ref / "out" / d / name, soak / "out" / d / name
            if x.exists() != y.exists() or (x.exists() and x.read_bytes() != y.read_bytes()):
                problems.append("%s/%s differs" % (d, name))
    links = [os.readlink(c / "out" / "latest") if (c / "out" / "latest").is_symlink() else None
             for c in (ref, soak)]
    if links[0] != links[1]:
        problems.append("latest: %s vs %s" % tuple(links))
    leftovers = [n for n in os.listdir(soak / "out") if n.startswith(".")]
    if leftovers:
        problems.append("leftovers in the output folder: %s" % leftovers)
    last = (datetime.date.fromisoformat(dates[-1]) + datetime.timedelta(days=1)).isoformat()
    if whole_detection(binary, ref, dates[0], last) != whole_detection(binary, soak, dates[0], last):
        problems.append("a detection over every stored day differs (stored counts differ)")

    print("kill soak: %d nights, %d SIGKILLs landed mid-run (%d runs finished before their kill), "
          "%.0f s; reference runs %.2f–%.2f s" % (len(dates), landed, finished_first,
                                                  time.monotonic() - started, min(durations), longest))
    if problems:
        for p in problems:
            print("  FAILED: " + p)
        print("  working folder kept: %s" % work)
        return 1
    print("  identical to the uninterrupted replay: every dated output, latest, and the stored counts")
    if not a.work:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
