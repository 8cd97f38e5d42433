"""Consistency checks of a generated trail against its labels (used by the tests
and usable by hand:  python3 -m trailgen_lib.verify DIR  from judge/)."""
import gzip
import json
import os
import re
import sys
from statistics import median

from .core import label_principal, parse_date, DAY

NAME_RE = re.compile(r"^(\d{12})_CloudTrail_([a-z0-9-]+)_(\d{8})T(\d{4})Z_([A-Za-z0-9]{16})\.json\.gz$")
REQUIRED = ("eventVersion", "userIdentity", "eventTime", "eventSource", "eventName", "awsRegion",
            "sourceIPAddress", "userAgent", "eventID", "eventType", "recipientAccountId", "eventCategory",
            "managementEvent", "readOnly")


def to_t(s):
    d = parse_date(s[:10])
    return d * DAY + int(s[11:13]) * 3600 + int(s[14:16]) * 60 + int(s[17:19])


def load(root, problems):
    """Index of management records: account -> list of (t, eventName, principal, source, errorCode)."""
    idx = {}
    ids = set()
    for dp, dn, fn in os.walk(os.path.join(root, "AWSLogs")):
        dn.sort()
        for f in sorted(fn):
            m = NAME_RE.match(f)
            rel = os.path.relpath(os.path.join(dp, f), root).split(os.sep)
            if not m:
                problems.append("bad file name %s" % f)
                continue
            acct, region, ymd, hm, _ = m.groups()
            if rel[:4] != ["AWSLogs", acct, "CloudTrail", region] or rel[4:7] != [ymd[:4], ymd[4:6], ymd[6:8]]:
                problems.append("bad folder for %s" % "/".join(rel))
            deliver = to_t("%s-%s-%sT%s:%s:00Z" % (ymd[:4], ymd[4:6], ymd[6:8], hm[:2], hm[2:]))
            doc = json.loads(gzip.open(os.path.join(dp, f)).read())
            recs = doc["Records"]
            if not recs:
                problems.append("empty file %s" % f)
            for r in recs:
                for k in REQUIRED:
                    if k not in r:
                        problems.append("missing %s in %s" % (k, f))
                if r["recipientAccountId"] != acct or r["awsRegion"] != region:
                    problems.append("record account/region mismatch in %s" % f)
                if r["eventID"] in ids:
                    problems.append("duplicate eventID %s" % r["eventID"])
                ids.add(r["eventID"])
                t = to_t(r["eventTime"])
                if t > deliver + 60:
                    problems.append("event after delivery time in %s" % f)
                ui = r["userIdentity"]
                sc = ui.get("sessionContext") or {}
                cd = (sc.get("attributes") or {}).get("creationDate")
                if cd and to_t(cd) > t:
                    problems.append("session created after event %s %s" % (r["eventName"], r["eventTime"]))
                if r["eventCategory"] == "Data":
                    if r["managementEvent"]:
                        problems.append("data event flagged as management")
                    continue
                idx.setdefault(acct, []).append((t, r["eventName"], label_principal(ui), r["eventSource"],
                                                 r.get("errorCode")))
    for a in idx:
        idx[a].sort(key=lambda x: x[0])
        idx[a] = ([x[0] for x in idx[a]], idx[a])
    return idx


def _count(recs, t0, t1, names, principal):
    import bisect
    times, recs = recs
    i = bisect.bisect_left(times, t0)
    n = 0
    while i < len(recs) and recs[i][0] < t1:
        x = recs[i]
        if x[1] in names and (principal is None or x[2] == principal):
            n += 1
        i += 1
    return n


def check_labels(root, idx, problems, start_day, days):
    with open(os.path.join(root, "labels.json")) as f:
        doc = json.load(f)
    end_t = (start_day + days) * DAY
    for lab in doc["incidents"] + doc["decoys"]:
        a = lab["account"]
        recs = idx.get(a, ([], []))
        t0, t1 = to_t(lab["start"]), to_t(lab["end"])
        names = set(lab["event_names"])
        pr = lab["principal"]
        if t1 <= t0:
            problems.append("%s: empty window" % lab["id"])
            continue
        if lab["kind"] in ("maintenance_gap", "call_rate_drop") and (not lab["decoy"] or lab["kind"] == "call_rate_drop"):
            got = _count(recs, t0, t1, names, pr)
            base = []
            for k in range(-7, 8):
                if k == 0:
                    continue
                s0, s1 = t0 + k * DAY, t1 + k * DAY
                if s0 < start_day * DAY or s1 > end_t:
                    continue
                wd_a = ((t0 // DAY) + 3) % 7 >= 5
                wd_b = ((s0 // DAY) + 3) % 7 >= 5
                if lab["kind"] == "call_rate_drop" and wd_a != wd_b:
                    continue
                base.append(_count(recs, s0, s1, names, pr))
            base = [b for b in base if b > 0]
            if lab["kind"] == "maintenance_gap":
                if got != 0:
                    problems.append("%s: %d records of the missed job in its window" % (lab["id"], got))
                if not base and days >= 15:
                    problems.append("%s: job never ran on other days" % lab["id"])
            else:
                if base and median(base) >= 10 and got > 0.6 * median(base):
                    problems.append("%s: drop not visible (%d vs median %s)" % (lab["id"], got, median(base)))
                if not base and days >= 7:
                    problems.append("%s: no baseline activity for the dropped calls" % lab["id"])
            continue
        found_p = False
        seen = set()
        import bisect
        times, rl = recs
        i = bisect.bisect_left(times, t0)
        while i < len(rl) and rl[i][0] < t1:
            x = rl[i]
            if x[1] in names:
                seen.add(x[1])
                if pr is None or x[2] == pr:
                    found_p = True
            i += 1
        if not found_p:
            problems.append("%s: no record of principal %s with its APIs in window" % (lab["id"], pr))
        missing = names - seen
        if missing and lab["kind"] != "maintenance_gap":
            problems.append("%s: APIs not in window: %s" % (lab["id"], sorted(missing)[:5]))
    return doc


def verify(root):
    problems = []
    with open(os.path.join(root, "labels.json")) as f:
        doc = json.load(f)
    idx = load(root, problems)
    check_labels(root, idx, problems, parse_date(doc["start"]), doc["days"])
    return problems, idx, doc


if __name__ == "__main__":
    probs, idx, doc = verify(sys.argv[1])
    for p in probs[:200]:
        print(p)
    print("%d problems, %d accounts, %d incidents, %d decoys" % (len(probs), len(idx), len(doc["incidents"]), len(doc["decoys"])))
