"""Deterministic schedule helpers shared by actors and the incident planner."""
from .core import DAY, HOUR, MIN, derive_seed, Rng


def job_start(seed, acct_id, job, dayno, hour, jitter_min=10.0):
    """Start time of a scheduled job's run on a day: base hour plus jitter."""
    r = Rng(derive_seed(seed, acct_id, job, dayno, "start"))
    return int(dayno * DAY + hour * HOUR + r.uniform(0, jitter_min) * MIN)


def region_hour(seed, acct_id, job, region, lo=0.0, hi=24.0):
    r = Rng(derive_seed(seed, acct_id, job, region, "hour"))
    return r.uniform(lo, hi)
