#!/usr/bin/env python3
"""trailgen: an independent simulator of AWS CloudTrail activity with labelled
incidents and decoys.  Python 3.11 standard library only.

    python3 judge/trailgen.py --out DIR --seed N [--days 35] [--accounts 3]
                              [--scale 1.0] [--start 2026-09-01] [--jobs 2]

Writes DIR/AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/*.json.gz and
DIR/labels.json.  Same arguments -> byte-identical output.
"""
import argparse
import json
import multiprocessing
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from trailgen_lib.core import DAY, TrailWriter, parse_date, daystr  # noqa: E402
from trailgen_lib.world import build_world  # noqa: E402
from trailgen_lib.plan import Plan  # noqa: E402
from trailgen_lib.ctx import Ctx  # noqa: E402
from trailgen_lib import actors_aws as AA, actors_work as AW, actors_tools as AT  # noqa: E402
from trailgen_lib import actors_people as AP, actors_misc as AM  # noqa: E402

VERSION = 1

ACTORS = [AA.act_config, AA.act_securityhub, AA.act_guardduty, AA.act_access_analyzer, AA.act_trusted_advisor,
          AA.act_inspector, AA.act_kms_rotation, AA.act_cloudtrail_kms, AA.act_backup,
          AW.act_eks, AW.act_asg, AW.act_instance_profiles, AW.act_ssm, AW.act_ecs, AW.act_lambdas,
          AT.act_monitoring, AT.act_cspm, AT.act_prowler, AT.act_terraform, AT.act_deploys, AT.act_legacy_users,
          AT.act_jobs, AM.act_security_ops, AM.act_data_platform, AM.act_month_end, AM.act_org_changes,
          AP.act_humans]


def generate_account(job):
    seed, idx, n_accounts, scale, start_day, days, out = job
    org, accts = build_world(seed, n_accounts, scale, start_day, days)
    acct = accts[idx]
    plan = Plan(org, acct, seed)
    writer = TrailWriter(out, seed, acct.id)
    ctx = Ctx(org, acct, plan, writer, seed)
    ctx.sink.end_t = (start_day + days) * DAY
    ctx.sink.start_t = start_day * DAY
    per_day = []
    for d in range(start_day, start_day + days):
        before = ctx.sink.count
        before_m = ctx.sink.count_mgmt
        ctx.start_day(d)
        for act in ACTORS:
            act(ctx)
        for ep in plan.episodes.get(d, []):
            ep.emit(ctx)
        AA.config_followups(ctx)
        writer.flush(before_t=(d + 1) * DAY)
        per_day.append((daystr(d), ctx.sink.count_mgmt - before_m, ctx.sink.count - before))
    writer.flush()
    return {"account": acct.id, "profile": acct.profile, "labels": ctx.labels, "per_day": per_day,
            "files": writer.files}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--days", type=int, default=35)
    ap.add_argument("--accounts", type=int, default=3)
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--start", default="2026-09-01")
    ap.add_argument("--jobs", type=int, default=None, help="worker processes (default: min(accounts, CPUs))")
    ap.add_argument("--quiet", action="store_true")
    args = ap.parse_args(argv)
    if args.days < 1 or args.accounts < 1 or args.scale <= 0:
        ap.error("days, accounts must be >= 1 and scale > 0")
    start_day = parse_date(args.start)
    os.makedirs(args.out, exist_ok=True)
    jobs = [(args.seed, i, args.accounts, args.scale, start_day, args.days, args.out) for i in range(args.accounts)]
    nproc = args.jobs or min(args.accounts, os.cpu_count() or 1)
    if nproc > 1 and args.accounts > 1:
        with multiprocessing.get_context("fork" if hasattr(os, "fork") else "spawn").Pool(nproc) as pool:
            results = pool.map(generate_account, jobs, chunksize=1)
    else:
        results = [generate_account(j) for j in jobs]
    labels = [l for res in results for l in res["labels"]]
    inc = sorted([l for l in labels if not l["decoy"]], key=lambda l: (l["_t"], l["account"], l["kind"], l["family"], l["description"]))
    dec = sorted([l for l in labels if l["decoy"]], key=lambda l: (l["_t"], l["account"], l["kind"], l["family"], l["description"]))
    keys = ["id", "kind", "decoy", "account", "region", "event_source", "event_names", "principal", "start", "end",
            "description", "family"]
    out_inc, out_dec = [], []
    for i, l in enumerate(inc):
        l["id"] = "inc-%03d-%s" % (i + 1, l["kind"])
        out_inc.append({k: l[k] for k in keys})
    for i, l in enumerate(dec):
        l["id"] = "decoy-%04d-%s" % (i + 1, l["kind"])
        out_dec.append({k: l[k] for k in keys})
    doc = {"generator": "trailgen", "version": VERSION, "seed": args.seed, "days": args.days, "start": args.start,
           "scale": args.scale, "accounts": [r["account"] for r in results], "incidents": out_inc, "decoys": out_dec}
    with open(os.path.join(args.out, "labels.json"), "w") as f:
        json.dump(doc, f, indent=1, sort_keys=False)
        f.write("\n")
    if not args.quiet:
        for res in results:
            mg = [x[1] for x in res["per_day"]]
            al = [x[2] for x in res["per_day"]]
            print("account %s (%s): %d files, management events/day min %d median %d max %d (all events incl. data: median %d)" % (
                res["account"], res["profile"], res["files"], min(mg), sorted(mg)[len(mg) // 2], max(mg), sorted(al)[len(al) // 2]))
        fam = {}
        for l in out_inc + out_dec:
            k = ("decoy" if l["decoy"] else "incident", l["family"], l["kind"])
            fam[k] = fam.get(k, 0) + 1
        print("incidents: %d, decoys: %d" % (len(out_inc), len(out_dec)))
        for k in sorted(fam):
            print("  %-8s %-26s %-18s %d" % (k[0], k[1], k[2], fam[k]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
