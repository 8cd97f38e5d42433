"""Per-account generation context: day clock, RNG streams, activity curves,
session helpers and label bookkeeping."""
import math

from . import catalog as C
from .core import (DAY, HOUR, MIN, Rng, Sink, derive_seed, iso, weekday, is_holiday,
                   local_hour, role_session, service_session, internal_session, access_denied,
                   throttled, svc_of)
from .world import rand_ip, aws_ip, private_ip


def floor_min(t):
    return int(t) // 60 * 60


def ceil_min(t):
    return (int(t) + 59) // 60 * 60


class Ctx:
    def __init__(self, org, acct, plan, writer, seed):
        self.org = org
        self.acct = acct
        self.plan = plan
        self.seed = seed
        self.sink = Sink(acct.id, writer, Rng(derive_seed(seed, acct.id, "sink")))
        self.labels = []
        self.day = None
        self.t0 = None
        self.scale = org.scale
        self.writes = []          # (t, source, name, region) of successful writes today, for AWS Config
        self.state = {}           # actor state carried across days
        self.sink.suppress = plan.suppressions

    # ------------------------------------------------------------ clock
    def start_day(self, dayno):
        self.day = dayno
        self.t0 = dayno * DAY
        self.t1 = self.t0 + DAY
        self.wd = weekday(dayno)
        self.weekend = self.wd >= 5
        self.us_holiday = is_holiday("us", dayno)
        self.day_index = dayno - self.org.start_day
        self.writes = []
        r = self.rng("daynoise")
        # slow drift (+~0.6%/day) and day-to-day noise
        self.drift = (1.0 + 0.006 * self.day_index) * r.lognorm(0.08)

    def rng(self, name):
        return Rng(derive_seed(self.seed, self.acct.id, self.day, name))

    # ------------------------------------------------------------ curves
    def traffic(self, t):
        """Customer traffic intensity (mostly US + EU customers), ~0.35..1.0."""
        h = (t % DAY) / HOUR
        base = 0.35 + 0.65 * (0.5 + 0.5 * math.cos(2 * math.pi * (h - 18.5) / 24.0))
        wd = weekday(int(t // DAY))
        if wd >= 5:
            base *= 0.8
        return base * self.drift

    def arrivals(self, rng, rate_per_hour, a=None, b=None, step=300, fn=None):
        """Poisson arrival times in [a, b) with rate (events/hour) possibly time-varying."""
        a = self.t0 if a is None else a
        b = self.t1 if b is None else b
        out = []
        t = a
        while t < b:
            e = min(b, t + step)
            r = rate_per_hour(t + (e - t) / 2) if callable(rate_per_hour) else rate_per_hour
            n = rng.poisson(r * (e - t) / HOUR)
            for _ in range(n):
                out.append(t + rng.random() * (e - t))
            t = e
        out.sort()
        return out

    # ------------------------------------------------------------ emitting
    def emit(self, t, sess, svc, name, region, **kw):
        source = svc if svc.endswith(".amazonaws.com") else svc + ".amazonaws.com"
        ok = self.sink.emit(t, sess, source, name, region, **kw)
        if ok and not kw.get("err") and not kw.get("data"):
            ro = kw.get("ro")
            if ro is False or (ro is None and not _is_ro(name)):
                self.writes.append((int(t), source, name, region))
        return ok

    def emit_read(self, t, sess, svc, name, region, permset=None, err=None, **kw):
        """Emit with AccessDenied when a permission set lacks the action."""
        if err is None and permset is not None and C.denied(permset, svc, name):
            err = access_denied(svc + ".amazonaws.com", name, sess.ui.get("arn", ""))
        return self.emit(t, sess, svc, name, region, err=err, **kw)

    def denied_err(self, sess, svc, name, resource="*"):
        return access_denied(svc + ".amazonaws.com", name, sess.ui.get("arn", ""), resource)

    def throttle_err(self, svc):
        return throttled(svc + ".amazonaws.com")

    # ------------------------------------------------------------ sessions
    def slr_session(self, name, session_name, svc=None):
        role = self.acct.slr(name)
        svc = svc or role.path.split("/")[2]
        r = self.rng("slr:" + name)
        return role_session(r, role, self.t0 - int(r.uniform(600, 3000)), session_name, svc, svc, invoked_by=svc)

    def svc_role_session(self, rolename, session_name, svc, t=None, path=None):
        role = self.acct.principals[rolename]
        r = self.rng("svcrole:" + rolename + session_name)
        return role_session(r, role, t or self.t0, session_name, svc, svc, invoked_by=svc)

    def aws_service(self, svc):
        return service_session(self.acct.service(svc))

    def internal(self, invoked_by="AWS Internal"):
        return internal_session(self.acct.id, invoked_by)

    def nat_ip(self, rng, region=None):
        region = region or self.acct.region
        ips = self.acct.nat_ips.get(region) or self.acct.nat_ips[self.acct.region]
        return rng.choice(ips)

    def workload_session(self, rng, rolename, session_name, t, ua, region=None, via_vpce=True, web_fed=False):
        """Session for a workload inside the VPC (private IP via interface endpoint or NAT IP)."""
        role = self.acct.principals[rolename]
        region = region or self.acct.region
        wf = None
        if web_fed:
            wf = {"federatedProvider": "arn:aws:iam::%s:oidc-provider/%s" % (self.acct.id, self.acct.eks_oidc),
                  "attributes": {}}
        if via_vpce and region in self.acct.vpce:
            return role_session(rng, role, t, session_name, private_ip(rng), ua, web_fed=wf,
                                vpce=self.acct.vpce[region])
        return role_session(rng, role, t, session_name, self.nat_ip(rng, region), ua, web_fed=wf)

    # ------------------------------------------------------------ labels
    def label(self, decoy, kind, family, items, description, principal="auto", region=None,
              event_source=None, window=None, event_names=None):
        if not items and window is None:
            return None
        if items:
            ts = [x[0] for x in items]
            start, end = floor_min(min(ts)), ceil_min(max(ts) + 1)
            srcs = _most_common([x[1] for x in items])
            regs = _most_common([x[3] for x in items])
            names = sorted(set(x[2] for x in items))
            if principal == "auto":
                ps = [x[4] for x in items]
                mc = _most_common(ps)
                principal = mc if ps.count(mc) >= 0.6 * len(ps) else None
        else:
            start, end = floor_min(window[0]), ceil_min(window[1])
            srcs = event_source
            regs = region
            names = []
        if window is not None:
            start, end = min(start, floor_min(window[0])), max(end, ceil_min(window[1]))
        if end <= start:
            end = start + 60
        if event_names is not None:
            names = sorted(set(names) | set(event_names))
        lab = {"kind": kind, "decoy": bool(decoy), "account": self.acct.id,
               "region": region or regs, "event_source": event_source or srcs,
               "event_names": names, "principal": principal if principal != "auto" else None,
               "start": iso(start), "end": iso(end), "description": description, "family": family,
               "_t": start}
        self.labels.append(lab)
        return lab

    def decoy(self, kind, family, items, description, **kw):
        return self.label(True, kind, family, items, description, **kw)


from .core import is_read_only as _is_ro  # noqa: E402


def _most_common(xs):
    best, bc = None, -1
    counts = {}
    order = []
    for x in xs:
        if x not in counts:
            counts[x] = 0
            order.append(x)
        counts[x] += 1
    for x in order:
        if counts[x] > bc:
            best, bc = x, counts[x]
    return best
