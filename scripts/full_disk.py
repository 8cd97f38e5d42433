#!/usr/bin/env python3
"""Full disk (issue 18): the nightly job and `ingest` on a small filesystem (a size-limited
tmpfs) that fills up mid-commit. Each night of a simulated trail, the filesystem is first filled
to within a few KiB..MiB of full, so the run fails somewhere in its ingest, baseline, outputs
or publication; it must fail with a clear error naming the path (no panic), leave the previous
state readable (a detection over the stored days still runs), and once the space
is back the same command must complete, exactly once. At the end the state and every dated
output equal an uninterrupted replay on a roomy disk. Then `ingest` of the whole trail into a
fresh state on the nearly full filesystem: a clear error, and with space back every event is
stored exactly once.

    sudo python3 scripts/full_disk.py [--bin target/debug/trailsight] [--nights 8]

Needs to mount a tmpfs (root, or passwordless sudo); without that it says so and exits 0
unless TRAILSIGHT_REQUIRE_MOUNT=1. Python standard library only.
"""

import argparse
import json
import datetime
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from kill_soak import OUTPUTS, deliver, delivery_dates, whole_detection  # noqa: E402



def written_since(roots, since):
    """Bytes (in 4 KiB pages, as tmpfs counts them) of the files under `roots` written since
    `since`: what a night's run writes, so that a margin drawn below it runs out mid-run."""
    total = 0
    for root in roots:
        for dirpath, _, names in os.walk(root):
            for n in names:
                st = os.stat(os.path.join(dirpath, n))
                if st.st_mtime >= since:
                    total += (st.st_size + 4095) // 4096 * 4096
    return total


def sudo():
    return [] if os.geteuid() == 0 else ["sudo", "-n"]


def mount(point, size_mib):
    try:
        r = subprocess.run(sudo() + ["mount", "-t", "tmpfs", "-o", "size=%dm" % size_mib,
                                     "tmpfs", str(point)], capture_output=True, text=True)
    except OSError as e:  # no sudo, no mount
        return False, str(e)
    return r.returncode == 0, r.stderr.strip()


def umount(point):
    try:
        subprocess.run(sudo() + ["umount", str(point)], check=False)
    except OSError:
        pass


def fill(point, leave):
    """Writes a filler file so that about `leave` bytes stay free."""
    st = os.statvfs(point)
    free = st.f_bavail * st.f_frsize
    size = max(0, free - leave)
    with open(point / "filler", "wb") as f:
        chunk = b"\0" * (1 << 20)
        while size > 0:
            n = min(size, len(chunk))
            try:
                f.write(chunk[:n])
                f.flush()
            except OSError:
                break
            size -= n


def run(binary, copy, date):
    return subprocess.run(
        [str(binary), "-q", "--log-format", "text", "run",
         "--input", str(copy / "input" / "AWSLogs"), "--state", str(copy / "state"),
         "--out", str(copy / "out"), "--date", date],
        capture_output=True, text=True,
    )


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bin", default=os.environ.get("TRAILSIGHT_BIN", "target/debug/trailsight"))
    ap.add_argument("--nights", type=int, default=10)
    ap.add_argument("--scale", type=float, default=0.02)
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--size-mib", type=int, default=64, help="the small filesystem's size")
    a = ap.parse_args()
    binary = Path(a.bin).resolve()
    work = Path(tempfile.mkdtemp(prefix="trailsight-full-disk-"))
    rng = random.Random(a.seed)
    small = work / "small"
    small.mkdir()
    ok, why = mount(small, a.size_mib)
    if not ok:
        msg = "full-disk check skipped: cannot mount a tmpfs here (%s)" % why
        if os.environ.get("TRAILSIGHT_REQUIRE_MOUNT") == "1":
            raise SystemExit(msg)
        print(msg)
        return 0
    problems = []
    failures = []
    try:
        trail = work / "trail"
        subprocess.run([str(binary), "-q", "simulate", "--days", str(a.nights), "--scale",
                        str(a.scale), "--seed", str(a.seed), "--out", str(trail)],
                       check=True, stdout=subprocess.DEVNULL)
        days = delivery_dates(trail)
        dates = sorted(days)
        ref = work / "reference"
        # The copy's state and outputs are on the small filesystem; its input is not (a
        # bucket copy elsewhere), reached through a symlink so that the paths match.
        full = small / "copy"
        full.mkdir()
        os.symlink(work / "full-input" / "input", full / "input")
        for i, d in enumerate(dates):
            deliver(trail, days[d], ref)
            started = time.time() - 1
            r = run(binary, ref, d)
            if r.returncode != 0:
                raise SystemExit("reference run failed: " + r.stderr[-2000:])
            writes = written_since([ref / "state", ref / "out"], started)
            deliver(trail, days[d], work / "full-input")
            end = (datetime.date.fromisoformat(d) + datetime.timedelta(days=1)).isoformat()
            readable_before = (full / "state" / "models").exists()
            # Room for a random part of what the night writes: it runs out anywhere in the
            # run (ingest commit, ledger, baselines, outputs, report, publication).
            margin = int(rng.uniform(0.0, 0.8) * writes) if i > 0 else None
            if margin is not None:
                fill(small, margin)
                r = run(binary, full, d)
                if r.returncode == 0:
                    failures.append("%s: fit in %d KiB" % (d, margin >> 10))
                else:
                    err = r.stderr.strip().splitlines()[-1] if r.stderr.strip() else ""
                    failures.append("%s: %s" % (d, err[:160]))
                    if r.returncode != 2 or "panicked" in r.stderr:
                        problems.append("%s: exit %d, not a clear error: %s" % (d, r.returncode, r.stderr[-500:]))
                    if "No space left on device" not in r.stderr or str(small) not in r.stderr:
                        problems.append("%s: the error does not name the full path: %s" % (d, err))
                (small / "filler").unlink()
                # Whatever the failed run committed (ingest batches, baselines) is consistent
                # progress; what must hold is that the state still reads.
                if readable_before:
                    try:
                        whole_detection(binary, full, dates[0], end)
                    except SystemExit as e:
                        problems.append("%s: the state is unreadable after the failure: %s" % (d, e))
            r = run(binary, full, d)
            if r.returncode != 0:
                problems.append("%s: the run with space back failed: %s" % (d, r.stderr[-800:]))
        last = (datetime.date.fromisoformat(dates[-1]) + datetime.timedelta(days=1)).isoformat()
        for d in dates:
            for name in OUTPUTS:
                x, y = ref / "out" / d / name, full / "out" / d / name
                if x.exists() != y.exists() or (x.exists() and x.read_bytes() != y.read_bytes()):
                    problems.append("%s/%s differs from the replay on a roomy disk" % (d, name))
        if whole_detection(binary, ref, dates[0], last) != whole_detection(binary, full, dates[0], last):
            problems.append("the stored counts differ from the replay on a roomy disk")
        leftovers = [n for n in os.listdir(full / "out") if n.startswith(".")]
        if leftovers:
            problems.append("leftovers in the output folder: %s" % leftovers)

        # `ingest` of the whole trail into a fresh state on a nearly full filesystem: a clear
        # error; with space back the same command completes, and a third finds every unique
        # event stored exactly once (all duplicates).
        shutil.rmtree(full)
        state = small / "ingest-state"
        ingest = [str(binary), "-q", "--log-format", "text", "ingest", "--json", "--state",
                  str(state), str(trail / "AWSLogs")]
        fill(small, 96 << 10)
        r = subprocess.run(ingest, capture_output=True, text=True)
        err = r.stderr.strip().splitlines()[-1] if r.stderr.strip() else ""
        failures.append("ingest: %s" % err[:160])
        if r.returncode != 2 or "No space left on device" not in r.stderr or str(small) not in r.stderr:
            problems.append("ingest on a full disk: exit %d, %s" % (r.returncode, err))
        (small / "filler").unlink()
        for attempt in ("with space back", "once more"):
            r = subprocess.run(ingest, capture_output=True, text=True)
            if r.returncode != 0:
                problems.append("ingest %s failed: %s" % (attempt, r.stderr[-800:]))
                break
        else:
            # Every management record is a duplicate now: the unique events and the trail's own
            # duplicate deliveries.
            sim = json.loads((trail / "labels.json").read_text())["summary"]
            want = sim["management_events"] + sim["duplicate_deliveries"]
            last_run = json.loads(r.stdout)
            if (last_run["management_events"], last_run["duplicates"]) != (0, want):
                problems.append("ingest after the full disk: %d new, %d duplicates; %d expected"
                                % (last_run["management_events"], last_run["duplicates"], want))
    finally:
        umount(small)
    print("full disk: %d nights on a %d MiB tmpfs, filled before each run after the first:"
          % (len(dates), a.size_mib))
    for f in failures:
        print("  " + f)
    if problems:
        for p in problems:
            print("  FAILED: " + p)
        print("  working folder kept: %s" % work)
        return 1
    print("  each failure named the path and left the state readable; with space back every "
          "night completed exactly once and equals the replay on a roomy disk")
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
