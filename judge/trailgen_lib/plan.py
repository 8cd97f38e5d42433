"""Per-account plan: special days, job skips/delays, fleet boosts, suppression
windows and the incident episodes."""
from .core import DAY, HOUR, MIN, Rng, derive_seed, weekday, civil_from_days, days_from_civil, is_holiday
from . import catalog as C


class Plan:
    def __init__(self, org, acct, seed):
        self.org = org
        self.acct = acct
        self.seed = seed
        self.suppressions = []
        self.skips = set()
        self.lates = {}
        self.special = {}
        self.windows = {}        # name -> {day: (t0, t1)}
        self.boosts = {}         # (kind, day) -> list of (t0, t1, amount)
        self.episodes = {}       # day -> [episode]
        self.live_regions = {}   # region -> first day
        start, days = org.start_day, org.days
        end = start + days
        ro = Rng(derive_seed(seed, "org-plan"))
        ra = Rng(derive_seed(seed, acct.id, "plan"))

        def dpick(r, lo_frac, hi_frac, min_day=1):
            lo = start + max(min_day, int(days * lo_frac))
            hi = start + max(lo - start, int(days * hi_frac))
            hi = min(hi, end - 1)
            lo = min(lo, hi)
            return r.randint(lo, hi)

        # org-wide events (same draw for every account)
        self.special["stackset_rollout"] = dpick(ro, 0.45, 0.6)
        self.special["control_tower"] = dpick(ro, 0.62, 0.8) if days >= 14 else None
        prov = []
        d = start + ro.randint(2, 9)
        while d < end:
            if weekday(d) < 5:
                prov.append(d)
            d += ro.randint(7, 13)
        self.special["sso_provisioning"] = prov
        self.special["prowler_start"] = dpick(ro, 0.2, 0.3, 3)
        me = []
        for dd in range(start, end):
            y, m, _ = civil_from_days(dd)
            nm_y, nm_m = (y + 1, 1) if m == 12 else (y, m + 1)
            last = days_from_civil(nm_y, nm_m, 1) - 1
            while weekday(last) >= 5 or is_holiday("us", last):
                last -= 1
            if dd == last:
                me.append(dd)
        self.special["month_end_days"] = me
        # account-level one-offs
        p = acct.profile
        self.special["dr_test"] = dpick(ra, 0.3, 0.7) if p == "prod" and days >= 10 else None
        self.special["new_job_day"] = dpick(ra, 0.35, 0.5) if p == "prod" else None
        if p == "prod" and days >= 8:
            nd = dpick(ra, 0.5, 0.65)
            while weekday(nd) >= 5 and nd + 1 < end:
                nd += 1
            self.special["new_region"] = (nd, "eu-central-1")
            self.live_regions["eu-central-1"] = nd
        self.special["onboarding"] = dpick(ra, 0.25, 0.75) if p in ("prod", "security") else None
        if self.special["onboarding"] is not None:
            while weekday(self.special["onboarding"]) >= 5 and self.special["onboarding"] + 1 < end:
                self.special["onboarding"] += 1
        self.special["key_rotation"] = dpick(ra, 0.4, 0.9) if acct.legacy_users and p in ("prod", "staging", "data") else None
        fa = []
        if p == "prod":
            d = start + ra.randint(1, 6)
            while d < end:
                fa.append(d)
                d += ra.randint(5, 10)
        self.special["false_alarms"] = fa
        # staging load tests on Thursdays, 15:00-17:30 UTC
        if p == "staging":
            lt = {}
            for dd in range(start, end):
                if weekday(dd) == 3 and ra.random() < 0.7:
                    t0 = dd * DAY + 15 * HOUR + ra.uniform(0, 40) * MIN
                    lt[dd] = (int(t0), int(t0 + ra.uniform(1.5, 2.5) * HOUR))
                    self.boosts[("eks", dd)] = [(lt[dd][0], lt[dd][1], ra.uniform(12, 25))]
                    self.boosts[("asg", dd)] = [(lt[dd][0], lt[dd][1], ra.uniform(6, 12))]
            self.windows["load_test"] = lt
        # planned maintenance in prod (a Sunday morning)
        if p == "prod" and days >= 10:
            suns = [dd for dd in range(start + 3, end) if weekday(dd) == 6]
            if suns:
                dd = ra.choice(suns)
                t0 = int(dd * DAY + 6 * HOUR + ra.uniform(0, 30) * MIN)
                t1 = int(t0 + ra.uniform(1.5, 2.5) * HOUR)
                self.windows["planned_maintenance"] = {dd: (t0, t1)}
                arn = acct.principals["ledger-sync-prod"].arn
                self.suppressions.append((t0, t1, _pred_role(arn, None, 1.0)))
        # monitoring vendor bursts
        if p != "security":
            mb = {}
            for _ in range(1 if days < 20 else 2):
                dd = dpick(ra, 0.1, 0.95)
                t0 = int(dd * DAY + ra.uniform(0, 20) * HOUR)
                mb[dd] = (t0, int(t0 + ra.uniform(1, 2.5) * HOUR))
            self.windows["monitoring_burst"] = mb
        # late-running jobs (decoys for maintenance-gap detectors)
        for job in ("aws-backup", "nightly-export"):
            for _ in range(ra.randint(1, 2)):
                dd = dpick(ra, 0.05, 0.95)
                self.lates[(job, dd)] = int(ra.uniform(35, 80) * MIN)
        # incidents
        from .episodes import plan_incidents
        plan_incidents(self, org, acct, seed)

    # ------------------------------------------------------------ queries
    def skip(self, job, day):
        return (job, day) in self.skips

    def late(self, job, day):
        if (job, day) in self.skips:
            return None
        return self.lates.get((job, day))

    def window(self, name, day):
        return self.windows.get(name, {}).get(day)

    def region_live(self, region, day):
        d = self.live_regions.get(region)
        return d is not None and day >= d

    def fleet_boost(self, day, kind):
        b = self.boosts.get((kind, day))
        if not b:
            return None

        def f(t):
            for (a, c, amt) in b:
                if a <= t < c:
                    return amt
            return 0
        return f

    def add_episode(self, ep):
        self.episodes.setdefault(ep.day, []).append(ep)


def _pred_role(arn, names, prob, region=None, source=None):
    names = set(names) if names else None

    def pred(sess, src, name, reg):
        if sess.label != arn:
            return 0
        if names is not None and name not in names:
            return 0
        if region is not None and reg != region:
            return 0
        if source is not None and src != source:
            return 0
        return prob
    return pred


def pred_names(names, prob, source=None, region=None):
    names = set(names)

    def pred(sess, src, name, reg):
        if name not in names:
            return 0
        if source is not None and src != source:
            return 0
        if region is not None and reg != region:
            return 0
        return prob
    return pred
