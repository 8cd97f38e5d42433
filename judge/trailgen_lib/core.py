"""Core helpers for trailgen: time, deterministic randomness, identities,
CloudTrail record construction and the S3-layout writer.

Everything here is deterministic given the seed: no wall clock, no hash()
of strings (PYTHONHASHSEED would change it), no iteration over sets.
"""
import gzip
import hashlib
import json
import math
import os
import random
import string

DAY = 86400
MIN = 60
HOUR = 3600

# --------------------------------------------------------------------------
# time

_DAYSTR = {}


def days_from_civil(y, m, d):
    """Days since 1970-01-01 (proleptic Gregorian)."""
    y -= m <= 2
    era = (y if y >= 0 else y - 399) // 400
    yoe = y - era * 400
    doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def civil_from_days(z):
    z += 719468
    era = (z if z >= 0 else z - 146096) // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    y = yoe + era * 400
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = mp + (3 if mp < 10 else -9)
    return (y + (m <= 2), m, d)


def parse_date(s):
    y, m, d = (int(x) for x in s.split("-"))
    return days_from_civil(y, m, d)


def daystr(dayno):
    s = _DAYSTR.get(dayno)
    if s is None:
        y, m, d = civil_from_days(dayno)
        s = "%04d-%02d-%02d" % (y, m, d)
        _DAYSTR[dayno] = s
    return s


def iso(t):
    t = int(t)
    dn, r = divmod(t, DAY)
    h, r = divmod(r, 3600)
    mi, s = divmod(r, 60)
    return "%sT%02d:%02d:%02dZ" % (daystr(dn), h, mi, s)


def weekday(dayno):
    """0=Monday .. 6=Sunday."""
    return (dayno + 3) % 7


def nth_weekday(y, m, wd, n):
    """Day number of the n-th weekday wd (0=Mon) of month m; n=-1 -> last."""
    if n > 0:
        first = days_from_civil(y, m, 1)
        off = (wd - weekday(first)) % 7
        return first + off + 7 * (n - 1)
    nm_y, nm_m = (y + 1, 1) if m == 12 else (y, m + 1)
    last = days_from_civil(nm_y, nm_m, 1) - 1
    off = (weekday(last) - wd) % 7
    return last - off


def easter(y):
    a = y % 19
    b, c = divmod(y, 100)
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    l = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * l) // 451
    month = (h + l - 7 * m + 114) // 31
    day = ((h + l - 7 * m + 114) % 31) + 1
    return days_from_civil(y, month, day)


def us_dst(t):
    y = civil_from_days(int(t) // DAY)[0]
    start = nth_weekday(y, 3, 6, 2) * DAY + 7 * HOUR
    end = nth_weekday(y, 11, 6, 1) * DAY + 6 * HOUR
    return start <= t < end


def eu_dst(t):
    y = civil_from_days(int(t) // DAY)[0]
    start = nth_weekday(y, 3, 6, -1) * DAY + HOUR
    end = nth_weekday(y, 10, 6, -1) * DAY + HOUR
    return start <= t < end


# (standard offset hours, dst rule)
TIMEZONES = {
    "America/New_York": (-5.0, "us"),
    "America/Chicago": (-6.0, "us"),
    "America/Los_Angeles": (-8.0, "us"),
    "Europe/Dublin": (0.0, "eu"),
    "Europe/Berlin": (1.0, "eu"),
    "Asia/Kolkata": (5.5, None),
    "Asia/Tokyo": (9.0, None),
    "Europe/Lisbon": (0.0, "eu"),
    "America/Toronto": (-5.0, "us"),
}


def utc_offset(tz, t):
    std, rule = TIMEZONES[tz]
    if rule == "us" and us_dst(t):
        return std + 1
    if rule == "eu" and eu_dst(t):
        return std + 1
    return std


def local_hour(tz, t):
    """Local fractional hour of day and local day number."""
    lt = t + utc_offset(tz, t) * HOUR
    dn = int(lt // DAY)
    return (lt - dn * DAY) / HOUR, dn


_HOL_CACHE = {}


def holidays(cal, y):
    """Public holidays (day numbers) for a calendar: 'us', 'ie', 'in'."""
    key = (cal, y)
    if key in _HOL_CACHE:
        return _HOL_CACHE[key]
    d = days_from_civil
    out = []
    if cal == "us":
        out = [d(y, 1, 1), nth_weekday(y, 1, 0, 3), nth_weekday(y, 2, 0, 3),
               nth_weekday(y, 5, 0, -1), d(y, 6, 19), d(y, 7, 4),
               nth_weekday(y, 9, 0, 1), nth_weekday(y, 11, 3, 4),
               nth_weekday(y, 11, 3, 4) + 1, d(y, 12, 24), d(y, 12, 25)]
        # observed dates for fixed holidays on weekends
        obs = []
        for x in (d(y, 1, 1), d(y, 6, 19), d(y, 7, 4), d(y, 12, 25)):
            if weekday(x) == 5:
                obs.append(x - 1)
            elif weekday(x) == 6:
                obs.append(x + 1)
        out += obs
    elif cal == "ie":
        feb1 = d(y, 2, 1)
        brigid = feb1 if weekday(feb1) == 4 else nth_weekday(y, 2, 0, 1)
        out = [d(y, 1, 1), brigid, d(y, 3, 17), easter(y) + 1,
               nth_weekday(y, 5, 0, 1), nth_weekday(y, 6, 0, 1),
               nth_weekday(y, 8, 0, 1), nth_weekday(y, 10, 0, -1),
               d(y, 12, 25), d(y, 12, 26)]
    elif cal == "in":
        out = [d(y, 1, 26), d(y, 8, 15), d(y, 10, 2), d(y, 12, 25)]
    res = sorted(set(out))
    _HOL_CACHE[key] = res
    return res


def is_holiday(cal, dayno):
    y = civil_from_days(dayno)[0]
    return dayno in holidays(cal, y)


# --------------------------------------------------------------------------
# randomness

def derive_seed(*parts):
    h = hashlib.sha256("|".join(str(p) for p in parts).encode()).digest()
    return int.from_bytes(h[:8], "big")


ALNUM = string.ascii_letters + string.digits
UPPER_ALNUM = string.ascii_uppercase + string.digits
HEX = "0123456789abcdef"


def b62_from_hash(*parts, n=16):
    h = hashlib.sha256("|".join(str(p) for p in parts).encode()).digest()
    v = int.from_bytes(h, "big")
    out = []
    for _ in range(n):
        v, r = divmod(v, 62)
        out.append(ALNUM[r])
    return "".join(out)


class Rng(random.Random):
    """random.Random with a few generator helpers."""

    def uuid(self):
        v = self.getrandbits(128)
        h = "%032x" % v
        return "%s-%s-4%s-%s%s-%s" % (h[0:8], h[8:12], h[13:16], "89ab"[v & 3], h[17:20], h[20:32])

    def hexs(self, n):
        return "%0*x" % (n, self.getrandbits(4 * n))

    def upper(self, n):
        return "".join(self.choice(UPPER_ALNUM) for _ in range(n))

    def alnum(self, n):
        return "".join(self.choice(ALNUM) for _ in range(n))

    def poisson(self, lam):
        if lam <= 0:
            return 0
        if lam < 30:
            L = math.exp(-lam)
            k, p = 0, 1.0
            while True:
                p *= self.random()
                if p <= L:
                    return k
                k += 1
        v = int(round(self.gauss(lam, math.sqrt(lam))))
        return max(0, v)

    def wchoice(self, items, weights):
        return self.choices(items, weights=weights, k=1)[0]

    def lognorm(self, sigma):
        return math.exp(self.gauss(0.0, sigma))

    def chance(self, p):
        return self.random() < p


# --------------------------------------------------------------------------
# API semantics

READ_PREFIXES = ("Describe", "Get", "List", "Lookup", "Search", "BatchGet", "Head",
                 "Check", "Select", "Scan", "Query", "Verify", "Estimate", "Preview",
                 "Validate", "Decrypt", "GenerateDataKey", "GenerateRandom",
                 "AssumeRole", "Filter", "View", "Detect", "Discover", "Test",
                 "Evaluate", "Simulate", "Generate", "Retrieve", "Poll")
WRITE_OVERRIDES = {"GenerateCredentialReport", "GetSigninToken", "GetFederationToken",
                   "GetSessionToken"}
READ_OVERRIDES = {"ConsoleLogin": False, "StartQuery": False, "BatchCheckLayerAvailability": True}

GLOBAL_SOURCES = {"iam.amazonaws.com", "organizations.amazonaws.com",
                  "signin.amazonaws.com", "route53.amazonaws.com",
                  "cloudfront.amazonaws.com", "health.amazonaws.com",
                  "ce.amazonaws.com", "support.amazonaws.com",
                  "trustedadvisor.amazonaws.com", "account.amazonaws.com",
                  "pricing.amazonaws.com", "budgets.amazonaws.com",
                  "globalaccelerator.amazonaws.com", "waf.amazonaws.com"}

QUERY_PROTOCOL = {"iam", "sts", "cloudformation", "autoscaling", "elasticloadbalancing",
                  "rds", "sns", "elasticache", "redshift", "ses", "monitoring", "sqs",
                  "route53", "cloudfront", "s3", "sdb", "elasticbeanstalk"}

ACTION_PREFIX = {"monitoring": "cloudwatch", "tagging": "tag", "elasticloadbalancing":
                 "elasticloadbalancing", "email": "ses", "es": "es",
                 "access-analyzer": "access-analyzer", "signin": "signin"}


def svc_of(source):
    return source.split(".", 1)[0]


def is_read_only(name):
    if name in READ_OVERRIDES:
        return READ_OVERRIDES[name]
    if name in WRITE_OVERRIDES:
        return False
    return name.startswith(READ_PREFIXES)


def access_denied(source, name, arn, resource="*"):
    svc = svc_of(source)
    pfx = ACTION_PREFIX.get(svc, svc)
    act = "%s:%s" % (pfx, name)
    if svc == "ec2":
        return ("Client.UnauthorizedOperation",
                "You are not authorized to perform this operation. User: %s is not authorized "
                "to perform: %s because no identity-based policy allows the %s action" % (arn, act, act))
    code = "AccessDenied" if svc in QUERY_PROTOCOL else "AccessDeniedException"
    return (code, "User: %s is not authorized to perform: %s on resource: %s because no "
                  "identity-based policy allows the %s action" % (arn, act, resource, act))


def throttled(source):
    svc = svc_of(source)
    if svc == "ec2":
        return ("Client.RequestLimitExceeded", "Request limit exceeded.")
    if svc == "s3":
        return ("SlowDown", "Please reduce your request rate.")
    if svc in QUERY_PROTOCOL:
        return ("Throttling", "Rate exceeded")
    return ("ThrottlingException", "Rate exceeded")


_EV_VERSIONS = ("1.08", "1.08", "1.09", "1.09", "1.10", "1.11")


def event_version(source):
    return _EV_VERSIONS[sum(source.encode()) % len(_EV_VERSIONS)]


def endpoint_host(source, region):
    svc = svc_of(source)
    if source in GLOBAL_SOURCES:
        if svc == "signin":
            return "%s.signin.aws.amazon.com" % region
        return "%s.amazonaws.com" % svc
    if svc == "s3":
        return "s3.%s.amazonaws.com" % region
    if svc == "elasticloadbalancing":
        return "elasticloadbalancing.%s.amazonaws.com" % region
    return "%s.%s.amazonaws.com" % (svc, region)


# --------------------------------------------------------------------------
# identities

class Principal:
    """A long-lived identity: IAM role, IAM user, root, or a service.

    label_arn follows the labelling rule: role ARN for assumed roles,
    invokedBy for AWSService, userIdentity.arn otherwise.
    """

    def __init__(self, acct, kind, name, path="/", pid=None, service=None):
        self.acct = acct
        self.kind = kind          # role | user | root | service
        self.name = name
        self.path = path
        self.pid = pid
        self.service = service    # for kind=service: e.g. lambda.amazonaws.com
        if kind == "role":
            self.arn = "arn:aws:iam::%s:role%s%s" % (acct, path, name)
        elif kind == "user":
            self.arn = "arn:aws:iam::%s:user%s%s" % (acct, path, name)
        elif kind == "root":
            self.arn = "arn:aws:iam::%s:root" % acct
        else:
            self.arn = None
        self.label_arn = service if kind == "service" else self.arn
        self.access_keys = []

    def __repr__(self):
        return "Principal(%s)" % (self.label_arn,)


class Session:
    """Credentials in use: userIdentity dict plus the network/client context."""
    __slots__ = ("ui", "ip", "ua", "console", "principal", "vpce", "host_ip", "label", "uij")

    def __init__(self, ui, ip, ua, principal, console=False, vpce=None):
        self.uij = None
        self.ui = ui
        self.ip = ip
        self.ua = ua
        self.console = console
        self.principal = principal
        self.vpce = vpce
        self.label = principal.label_arn if principal is not None else None


def role_session(rng, role, t, session_name, ip, ua, invoked_by=None, console=False,
                 mfa=False, web_fed=None, source_identity=None, vpce=None, caller_acct=None):
    acct = role.acct
    ui = {
        "type": "AssumedRole",
        "principalId": "%s:%s" % (role.pid, session_name),
        "arn": "arn:aws:sts::%s:assumed-role/%s/%s" % (acct, role.name, session_name),
        "accountId": acct,
        "accessKeyId": "ASIA" + rng.upper(16),
        "sessionContext": {
            "sessionIssuer": {"type": "Role", "principalId": role.pid, "arn": role.arn,
                              "accountId": acct, "userName": role.name},
            "webIdFederationData": web_fed or {},
            "attributes": {"creationDate": iso(t), "mfaAuthenticated": "true" if mfa else "false"},
        },
    }
    if source_identity:
        ui["sessionContext"]["sourceIdentity"] = source_identity
    if invoked_by:
        ui["invokedBy"] = invoked_by
    return Session(ui, ip, ua, role, console=console, vpce=vpce)


def user_session(rng, user, ip, ua, key=None, console=False, t=None, mfa=False):
    ui = {"type": "IAMUser", "principalId": user.pid, "arn": user.arn, "accountId": user.acct,
          "accessKeyId": key if key else ("ASIA" + rng.upper(16) if console else ""),
          "userName": user.name}
    if console:
        ui["sessionContext"] = {"sessionIssuer": {}, "webIdFederationData": {},
                                "attributes": {"creationDate": iso(t), "mfaAuthenticated": "true" if mfa else "false"}}
    return Session(ui, ip, ua, user, console=console)


def root_session(rng, root, ip, ua, console=True, t=None, mfa=False):
    ui = {"type": "Root", "principalId": root.acct, "arn": root.arn, "accountId": root.acct,
          "accessKeyId": "ASIA" + rng.upper(16) if console else ""}
    if console:
        ui["sessionContext"] = {"sessionIssuer": {}, "webIdFederationData": {},
                                "attributes": {"creationDate": iso(t), "mfaAuthenticated": "true" if mfa else "false"}}
    return Session(ui, ip, ua, root, console=console)


def service_session(svc_principal):
    svc = svc_principal.service
    ui = {"type": "AWSService", "invokedBy": svc}
    return Session(ui, svc, svc, svc_principal)


def internal_session(acct, invoked_by="AWS Internal"):
    """Identity of AwsServiceEvent records that carry no type (e.g. KMS RotateKey)."""
    ui = {"accountId": acct, "invokedBy": invoked_by}
    s = Session(ui, invoked_by, invoked_by, None)
    return s


def label_principal(ui):
    """The labelling rule from the brief, applied to a userIdentity dict."""
    typ = ui.get("type")
    if typ in ("AssumedRole", "FederatedUser"):
        sc = ui.get("sessionContext") or {}
        iss = sc.get("sessionIssuer") or {}
        if iss.get("arn"):
            return iss["arn"]
        return ui.get("arn")
    if typ == "AWSService":
        return ui.get("invokedBy")
    return ui.get("arn")


# --------------------------------------------------------------------------
# record sink

TLS_SUITES = (("TLSv1.3", "TLS_AES_128_GCM_SHA256"), ("TLSv1.3", "TLS_AES_256_GCM_SHA384"),
              ("TLSv1.2", "ECDHE-RSA-AES128-GCM-SHA256"))

_dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


class Capture:
    """Collects (t, source, name, region, principal) of emitted records."""
    __slots__ = ("items",)

    def __init__(self):
        self.items = []


class Sink:
    """Builds CloudTrail records for one account and hands them to the writer."""

    def __init__(self, acct, writer, rng):
        self.acct = acct
        self.writer = writer
        self.rng = rng
        self.captures = []
        self.count = 0
        self.count_mgmt = 0
        self.suppress = []   # list of (t0, t1, predicate(session, source, name, region) -> drop probability)
        self.end_t = None
        self.start_t = 0

    def capture(self):
        c = Capture()
        self.captures.append(c)
        return c

    def release(self, c):
        self.captures.remove(c)

    def emit(self, t, sess, source, name, region, params=None, resp=None, err=None,
             ro=None, etype="AwsApiCall", extra=None, data=False, resources=None,
             ip=None, ua=None, addl=None, svc_details=None, shared_id=None, force=False):
        """Emit one record.  err is (code, message) or None.  Returns True if emitted."""
        t = int(t)
        if self.end_t is not None and (t >= self.end_t or t < self.start_t):
            return False
        if self.suppress and not force:
            for (a, b, pred) in self.suppress:
                if a <= t < b:
                    p = pred(sess, source, name, region)
                    if p and (p >= 1.0 or self.rng.random() < p):
                        return False
        rng = self.rng
        if source in GLOBAL_SOURCES:
            region = "us-east-1"
        ip = ip or sess.ip
        ua = ua or sess.ua
        rec = {"eventTime": iso(t), "eventSource": source, "eventName": name,
               "awsRegion": region, "sourceIPAddress": ip, "userAgent": ua}
        if err:
            rec["errorCode"] = err[0]
            if err[1]:
                rec["errorMessage"] = err[1]
        rec["requestParameters"] = params
        rec["responseElements"] = None if err else resp
        if addl is not None:
            rec["additionalEventData"] = addl
        if etype != "AwsServiceEvent":
            rec["requestID"] = rng.uuid()
        rec["eventID"] = rng.uuid()
        rec["readOnly"] = is_read_only(name) if ro is None else ro
        if resources:
            rec["resources"] = resources
        rec["eventType"] = etype
        rec["managementEvent"] = not data
        rec["recipientAccountId"] = self.acct
        if svc_details is not None:
            rec["serviceEventDetails"] = svc_details
        if shared_id:
            rec["sharedEventID"] = shared_id
        if sess.vpce and not data:
            rec["vpcEndpointId"] = sess.vpce
            rec["vpcEndpointAccountId"] = self.acct
        rec["eventCategory"] = "Data" if data else "Management"
        if sess.console and etype == "AwsApiCall":
            rec["sessionCredentialFromConsole"] = "true"
        if extra:
            rec.update(extra)
        if ip and ip[0].isdigit() and etype != "AwsServiceEvent":
            v, c = TLS_SUITES[(t // 7 + len(name)) % 3]
            rec["tlsDetails"] = {"tlsVersion": v, "cipherSuite": c,
                                 "clientProvidedHostHeader": endpoint_host(source, region)}
        uij = sess.uij
        if uij is None:
            uij = sess.uij = _dumps(sess.ui)
        self.writer.add(t, region, '{"eventVersion":"%s","userIdentity":%s,%s' % (
            event_version(source), uij, _dumps(rec)[1:]), rng)
        self.count += 1
        if not data:
            self.count_mgmt += 1
        if self.captures and not data:
            lab = sess.label if sess.label is not None else label_principal(sess.ui)
            for c in self.captures:
                c.items.append((t, source, name, region, lab, err[0] if err else None))
        return True


# --------------------------------------------------------------------------
# writer

class TrailWriter:
    """Buckets records into ~5 minute delivery files per region and writes
    them in the CloudTrail S3 layout.  Flushing is driven by the caller so
    that only about a day of records is in memory."""

    SLOT = 300
    SPLIT = 5000

    def __init__(self, out, seed, acct, compresslevel=4):
        self.out = out
        self.seed = seed
        self.acct = acct
        self.pending = {}
        self.files = 0
        self.min_slot = None
        self.level = compresslevel

    def add(self, t, region, js, rng):
        # delivery delay: mostly 2-7 minutes, occasionally up to ~15
        delay = 45 + rng.expovariate(1.0 / 200.0)
        if delay > 900:
            delay = 900
        slot = int((t + delay) // self.SLOT)
        if self.min_slot is not None and slot < self.min_slot:
            slot = self.min_slot     # late delivery into the next open file
        key = (region, slot)
        lst = self.pending.get(key)
        if lst is None:
            lst = []
            self.pending[key] = lst
        lst.append((t, js))

    def flush(self, before_t=None):
        if before_t is not None:
            self.min_slot = int(before_t // self.SLOT)
        keys = sorted(self.pending.keys(), key=lambda k: (k[1], k[0]))
        for key in keys:
            region, slot = key
            if before_t is not None and (slot + 1) * self.SLOT > before_t:
                continue
            recs = self.pending.pop(key)
            recs.sort(key=lambda x: x[0])
            parts = [recs[i:i + self.SPLIT] for i in range(0, len(recs), self.SPLIT)]
            for pi, part in enumerate(parts):
                self._write(region, slot, pi, part)

    def _write(self, region, slot, part, recs):
        # delivered shortly after the end of the slot (minute resolution in the name)
        h = derive_seed(self.seed, self.acct, region, slot, part)
        deliver = (slot + 1) * self.SLOT + (h % 170) + 10 * part
        y, m, d = civil_from_days(deliver // DAY)
        hh = (deliver % DAY) // 3600
        mm = (deliver % 3600) // 60
        uniq = b62_from_hash(self.seed, self.acct, region, slot, part)
        folder = os.path.join(self.out, "AWSLogs", self.acct, "CloudTrail", region,
                              "%04d" % y, "%02d" % m, "%02d" % d)
        os.makedirs(folder, exist_ok=True)
        name = "%s_CloudTrail_%s_%04d%02d%02dT%02d%02dZ_%s.json.gz" % (
            self.acct, region, y, m, d, hh, mm, uniq)
        body = '{"Records":[' + ",".join(js for _, js in recs) + "]}"
        with open(os.path.join(folder, name), "wb") as f:
            f.write(gzip.compress(body.encode("utf-8"), compresslevel=self.level, mtime=0))
        self.files += 1
