"""CloudTrail record reading, exactly as `trailsight ingest` does it (src/ingest, src/event).

Pure Python (stdlib + xxhash), no Spark: the Spark job ships this module to its executors, and
the equivalence test exercises it directly. Every rule here mirrors a Rust function named in
its docstring; when one changes, the other must, and `scale/test_equivalence.sh` fails if they
drift apart.

`read_file(path, data)` turns one file's bytes into a `FileResult`: the management events it
holds (normalised tuples, `EVENT_FIELDS`), counts of skipped non-management events, the number
of records found and bad, and the problems (file, record number, reason).
"""

import calendar
import json
import os
import re
import time
import zlib
from dataclasses import dataclass, field

import xxhash

try:
    import tomllib  # Python 3.11+
except ModuleNotFoundError:  # older cluster Pythons: the same parser from PyPI
    import tomli as tomllib

MAX_FIELD_BYTES = 512
MAX_RECORD_BYTES = 16 << 20
DEFAULT_MAX_FILE_BYTES = 1 << 30

# Order of the fields of one normalised event tuple.
EVENT_FIELDS = (
    "time",
    "event_id",
    "event_source",
    "event_name",
    "read_only",
    "error_code",
    "principal",
    "principal_type",
    "session_arn",
    "access_key_id",
    "source_ip",
    "user_agent",
    "account",
    "region",
)

# models/classification.toml (read by src/event/classify.rs too): the data-event APIs of
# pre-1.06 records, {eventSource: frozenset(eventName)}, and the read-only name prefixes.
# Loaded here from the repository when the file is there; the Spark job's driver loads it and
# hands it to the executors (`use_classification`), which only have this module.
CLASSIFICATION_TOML = os.path.join(
    os.path.dirname(os.path.abspath(__file__)), os.pardir, os.pardir, "models", "classification.toml")
DATA_EVENT_APIS = None
READ_PREFIXES = None


def load_classification(path=CLASSIFICATION_TOML):
    """The tables of classification.toml as plain (picklable) values."""
    with open(path, "rb") as f:
        t = tomllib.load(f)
    return {
        "data_event_apis": {d["event_source"]: frozenset(d["event_names"]) for d in t["data_events"]},
        "read_only_prefixes": tuple(t["read_only_prefixes"]),
    }


def use_classification(tables):
    """Makes `tables` (from load_classification) the ones classify and parse_record use."""
    global DATA_EVENT_APIS, READ_PREFIXES
    DATA_EVENT_APIS = tables["data_event_apis"]
    READ_PREFIXES = tables["read_only_prefixes"]


if os.path.exists(CLASSIFICATION_TOML):
    use_classification(load_classification())

INPUT_SUFFIXES = (".json", ".json.gz", ".jsonl", ".jsonl.gz", ".ndjson", ".ndjson.gz", ".gz")
JSONL_SUFFIXES = (".jsonl", ".jsonl.gz", ".ndjson", ".ndjson.gz")


class RecordError(Exception):
    """Why one record could not be used (event/mod.rs RecordError)."""


@dataclass
class FileResult:
    """What one file yielded."""

    events: list = field(default_factory=list)  # (record number, event tuple)
    records: int = 0
    bad_records: int = 0
    bad_file: bool = False
    skipped_data: int = 0
    skipped_insight: int = 0
    skipped_network_activity: int = 0
    problems: list = field(default_factory=list)  # (path, record or None, reason)


_TRAIL_KEY = re.compile(r"^(\d{12})/CloudTrail/[^/]+/(\d{4})/(\d{2})/(\d{2})/[^/]+")


def delivery_date(path):
    """ingest/source.rs parse_trail_key(..).date: `YYYY-MM-DD` of an S3-layout key, else ''."""
    parts = re.split(r"[/\\]", path)
    if "AWSLogs" not in parts:
        return ""
    rest = parts[len(parts) - 1 - parts[::-1].index("AWSLogs") + 1 :]
    if rest and rest[0].startswith("o-"):
        rest = rest[1:]
    if len(rest) < 7 or rest[1] != "CloudTrail":
        return ""
    acct, y, m, d = rest[0], rest[3], rest[4], rest[5]
    ok = lambda s, n: len(s) == n and s.isascii() and s.isdigit()  # noqa: E731
    if not (ok(acct, 12) and ok(y, 4) and ok(m, 2) and ok(d, 2)):
        return ""
    return "%s-%s-%s" % (y, m, d)


# ingest/source.rs LABELS_FILE: a simulator's labels beside its trail, never a log.
LABELS_FILE = "labels.json"


def looks_like_input(path):
    """ingest/source.rs looks_like_input: which files a folder walk reads."""
    name = path.rsplit("/", 1)[-1]
    if "CloudTrail-Digest" in path or name == LABELS_FILE:
        return False
    return name.endswith(INPUT_SUFFIXES)


# ---------------------------------------------------------------------------------------------
# Reading bytes (ingest/source.rs read_contents)


def inflate(data, limit):
    """Whole-file gzip inflation, all members, at most `limit + 1` bytes. Returns (bytes, problem)."""
    out = bytearray()
    pos = 0
    problem = None
    while pos < len(data):
        d = zlib.decompressobj(31)
        try:
            chunk = d.decompress(data[pos:], limit + 1 - len(out))
            out += chunk
            while d.unconsumed_tail and len(out) <= limit:
                out += d.decompress(d.unconsumed_tail, limit + 1 - len(out))
        except zlib.error as e:
            if not out:
                return None, "unreadable gzip stream: %s" % e
            problem = "gzip stream damaged after %d bytes (%s); records before the damage were read" % (len(out), e)
            break
        if len(out) > limit:
            break
        if not d.eof:
            if not out:
                return None, "unreadable gzip stream: unexpected end of file"
            problem = "gzip stream damaged after %d bytes (unexpected end of file); records before the damage were read" % len(out)
            break
        pos = len(data) - len(d.unused_data)
    return bytes(out), problem


def read_contents(path, data, limit):
    """Returns (text bytes or None, problem)."""
    gz = data[:2] == b"\x1f\x8b"
    problem = None
    if path.endswith(".gz") and not gz:
        problem = "named .gz but not gzip-compressed; read as plain text"
    if gz:
        out, p = inflate(data, limit)
        if out is None:
            return None, p
        problem = p or problem
    else:
        out = data[: limit + 1]
    if len(out) > limit:
        out = out[:limit]
        problem = (
            "decompressed size exceeds the %d MiB limit (a gzip bomb, or raise --max-file-mib); "
            "records within the limit were read" % (limit >> 20)
        )
    return out, problem


# ---------------------------------------------------------------------------------------------
# Splitting documents into records (ingest/split.rs)


class ScanError(Exception):
    def __init__(self, at, why):
        super().__init__(why)
        self.at = at
        self.why = why


_WS = " \n\r\t"
_STRUCT = re.compile(r'["\[\]{}]')
_STRING_END = re.compile(r'["\\]')
_SCALAR_END = re.compile(r'[,\]} \n\r\t]')


def _reject_constant(name):
    # serde_json does not accept NaN / Infinity; neither do we.
    raise ValueError("invalid constant " + name)


_DECODER = json.JSONDecoder(parse_constant=_reject_constant)


def _ws(t, i):
    n = len(t)
    while i < n and t[i] in _WS:
        i += 1
    return i


def _string(t, i):
    """At an opening quote: the index after the closing quote."""
    j = i + 1
    n = len(t)
    while True:
        m = _STRING_END.search(t, j)
        if m is None:
            raise ScanError(n, "document ends inside a string")
        at = m.start()
        if t[at] == "\\":
            j = at + 2
            if j > n:
                raise ScanError(n, "document ends inside a string")
        else:
            return at + 1


def _skip_value(t, i):
    """split.rs Scanner::value: skips one value structurally (no validation)."""
    n = len(t)
    if i >= n:
        raise ScanError(i, "document ends inside a value")
    c = t[i]
    if c not in '"[]{}':
        if c in ",:":
            raise ScanError(i, "expected a value")
        m = _SCALAR_END.search(t, i + 1)
        return m.start() if m else n
    depth = 0
    while True:
        if i >= n:
            raise ScanError(i, "document ends inside a value")
        c = t[i]
        if c == '"':
            i = _string(t, i)
        elif c in "{[":
            depth += 1
            i += 1
        elif c in "}]":
            if depth == 0:
                raise ScanError(i, "unexpected closing bracket")
            depth -= 1
            i += 1
        else:
            m = _STRUCT.search(t, i)
            i = m.start() if m else n
            continue
        if depth == 0:
            return i


def _value(t, i):
    """One value: (end, parsed object or None when it is not valid JSON)."""
    try:
        obj, end = _DECODER.raw_decode(t, i)
        return end, obj, True
    except (ValueError, RecursionError):
        return _skip_value(t, i), None, False


def _array(t, i, items):
    i += 1
    i = _ws(t, i)
    if i < len(t) and t[i] == "]":
        return i + 1
    while True:
        i = _ws(t, i)
        start = i
        end, obj, ok = _value(t, i)
        items.append((start, end, obj, ok))
        i = _ws(t, end)
        if i >= len(t):
            raise ScanError(i, "document ends inside the records array")
        if t[i] == ",":
            i += 1
        elif t[i] == "]":
            return i + 1
        else:
            raise ScanError(i, "expected ',' or ']' between records")


def split(t):
    """Returns (kind, items, error): kind in records/events/array/none, items (start, end, obj, ok)."""
    i = 1 if t.startswith("\ufeff") else 0
    i = _ws(t, i)
    items = []
    if i >= len(t):
        return "array", items, (i, "empty file")
    c = t[i]
    if c == "[":
        try:
            _array(t, i, items)
            return "array", items, None
        except ScanError as e:
            return "array", items, (e.at, e.why)
    if c != "{":
        return "none", items, (i, "not a JSON object or array")
    kind = "none"
    i += 1
    try:
        while True:
            i = _ws(t, i)
            if i >= len(t):
                raise ScanError(i, "document ends inside the top-level object")
            if t[i] == "}":
                break
            if t[i] != '"':
                raise ScanError(i, "expected a key in the top-level object")
            kstart = i
            i = _string(t, i)
            key = t[kstart + 1 : i - 1]
            i = _ws(t, i)
            if i >= len(t) or t[i] != ":":
                raise ScanError(i, "expected ':' after a key")
            i = _ws(t, i + 1)
            wanted = {"Records": "records", "Events": "events"}.get(key)
            if wanted and i < len(t) and t[i] == "[" and kind == "none":
                kind = wanted
                i = _array(t, i, items)
            else:
                i = _skip_value(t, i)
            i = _ws(t, i)
            if i >= len(t):
                raise ScanError(i, "document ends inside the top-level object")
            if t[i] == ",":
                i += 1
            elif t[i] == "}":
                break
            else:
                raise ScanError(i, "expected ',' or '}' in the top-level object")
    except ScanError as e:
        return kind, items, (e.at, e.why)
    return kind, items, None


# ---------------------------------------------------------------------------------------------
# One record (event/mod.rs, event/time.rs)

_FAST_TIME = re.compile(rb"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
_RFC3339 = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|([+-])(\d{2}):(\d{2}))$"
)
_NAIVE = re.compile(r"^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})(\.\d*)?$")


def _epoch(y, mo, d, h, mi, s):
    import datetime

    try:
        datetime.date(y, mo, d)
    except ValueError:
        return None
    if h > 23 or mi > 59 or s > 60:
        return None
    return calendar.timegm((y, mo, d, h, mi, min(s, 59), 0, 0, 0))


# ingest/mod.rs PlausibleTimes: 2013-11-01T00:00:00Z, and the run's clock plus a day
# (None when replayed test data may be dated in the future: TRAILSIGHT_ALLOW_FUTURE=1).
NOT_BEFORE = 1383264000
NOT_AFTER = None if os.environ.get("TRAILSIGHT_ALLOW_FUTURE") == "1" else int(time.time()) + 86400


def parse_event_time(s):
    """time.rs parse_event_time: whole seconds since the epoch, or None."""
    b = s.encode("utf-8", "surrogatepass")
    if len(b) == 20 and b[4:5] == b"-" and b[7:8] == b"-" and b[10:11] == b"T" and b[13:14] == b":" and b[16:17] == b":" and b[19:20] == b"Z":
        if not _FAST_TIME.match(b):
            return None
        return _epoch(int(b[0:4]), int(b[5:7]), int(b[8:10]), int(b[11:13]), int(b[14:16]), int(b[17:19]))
    m = _RFC3339.match(s)
    if m and s.isascii():
        t = _epoch(*(int(m.group(k)) for k in range(1, 7)))
        if t is None:
            return None
        if m.group(9):
            off = int(m.group(10)) * 3600 + int(m.group(11)) * 60
            if int(m.group(10)) > 23 or int(m.group(11)) > 59:
                return None
            t -= off if m.group(9) == "+" else -off
        return t
    m = _NAIVE.match(s)
    if m and s.isascii():
        return _epoch(*(int(m.group(k)) for k in range(1, 7)))
    return None


def _str(o, key):
    """An optional string field: missing or null is None, another type makes the record bad."""
    v = o.get(key)
    if v is None or isinstance(v, str):
        return v
    raise RecordError("invalid record: field %s is not a string" % key)


def _obj(o, key):
    v = o.get(key)
    if v is None or isinstance(v, dict):
        return v
    raise RecordError("invalid record: field %s is not an object" % key)


def _bool(o, key):
    """event/mod.rs lenient_bool."""
    v = o.get(key)
    if v is None or isinstance(v, bool):
        return v
    if isinstance(v, str):
        if v.lower() == "true" and v.isascii():
            return True
        if v.lower() == "false" and v.isascii():
            return False
        raise RecordError("invalid record: expected a boolean, found the string %r" % v)
    raise RecordError("invalid record: field %s is not a boolean" % key)


def _ne(v):
    return v if v else None


def _utf8(s):
    try:
        return s.encode("utf-8")
    except UnicodeEncodeError:
        raise RecordError("invalid record: lone surrogate in a string")


def cut(s, max_bytes):
    """event/mod.rs cut: at most `max_bytes` UTF-8 bytes, cut at a char boundary."""
    if len(s) * 4 <= max_bytes:
        return s
    b = _utf8(s)
    if len(b) <= max_bytes:
        return s
    return b[:max_bytes].decode("utf-8", "ignore")


def classify(o, source, name):
    """event/mod.rs classify: management, data, insight or network_activity."""
    if o["_event_type"] == "AwsCloudTrailInsight":
        return "insight"
    cat = o["_event_category"]
    if cat == "Management":
        return "management"
    if cat == "Data":
        return "data"
    if cat == "Insight":
        return "insight"
    if cat == "NetworkActivity":
        return "network_activity"
    me = o["_management_event"]
    if me is True:
        return "management"
    if me is False:
        return "data"
    if DATA_EVENT_APIS is None:
        raise RuntimeError("classification tables not loaded: call "
                           "use_classification(load_classification(path to classification.toml))")
    if name in DATA_EVENT_APIS.get(source, ()):
        return "data"
    return "management"


def parse_record(obj, text):
    """event/mod.rs parse_record on an already-decoded JSON object: (class, event tuple)."""
    if not isinstance(obj, dict):
        raise RecordError("invalid record: not an object")
    # Type checks of every field the Rust view deserialises, before any is used.
    f = {
        "_event_type": _str(obj, "eventType"),
        "_event_category": _str(obj, "eventCategory"),
        "_management_event": _bool(obj, "managementEvent"),
    }
    _str(obj, "eventVersion")
    time_s = _str(obj, "eventTime")
    source = _str(obj, "eventSource")
    name = _str(obj, "eventName")
    region = _str(obj, "awsRegion")
    ip = _str(obj, "sourceIPAddress")
    ua = _str(obj, "userAgent")
    code = _str(obj, "errorCode")
    event_id = _str(obj, "eventID")
    read_only = _bool(obj, "readOnly")
    recipient = _str(obj, "recipientAccountId")
    ui = _obj(obj, "userIdentity") or {}
    kind = _str(ui, "type")
    principal_id = _str(ui, "principalId")
    arn = _str(ui, "arn")
    account_id = _str(ui, "accountId")
    access_key = _str(ui, "accessKeyId")
    invoked_by = _str(ui, "invokedBy")
    user_name = _str(ui, "userName")
    ctx = _obj(ui, "sessionContext") or {}
    issuer_obj = _obj(ctx, "sessionIssuer") or {}
    issuer = _str(issuer_obj, "arn")
    for s in (time_s, source, name, region, ip, ua, code, event_id, recipient, kind, principal_id,
              arn, account_id, access_key, invoked_by, user_name, issuer, f["_event_type"],
              f["_event_category"]):
        if s is not None:
            _utf8(s)

    if not time_s:
        raise RecordError("record has no eventTime")
    t = parse_event_time(time_s)
    if t is None:
        raise RecordError("unparseable eventTime %r" % time_s)
    if not source:
        raise RecordError("record has no eventSource")
    if not name:
        raise RecordError("record has no eventName")
    # ingest/mod.rs PlausibleTimes: nothing before CloudTrail existed, nothing more than a day
    # after the clock of the run.
    if t < NOT_BEFORE:
        raise RecordError("eventTime %s is before CloudTrail existed (2013-11-01)" % time_s)
    if NOT_AFTER is not None and t > NOT_AFTER:
        raise RecordError("eventTime %s is more than a day after this run's clock" % time_s)
    cls = classify(f, source, name)

    def fallback():
        if principal_id:
            return principal_id
        if user_name:
            return user_name
        if account_id:
            return "account:" + account_id
        return "unknown"

    k = kind or ""
    session = None
    if k in ("AssumedRole", "FederatedUser"):
        if issuer:
            principal, session = issuer, _ne(arn)
        else:
            principal = arn or fallback()
    elif k == "AWSService":
        principal = invoked_by or fallback()
    else:
        principal = arn or fallback()
    if not event_id:
        event_id = "sha-" + xxhash.xxh3_128_hexdigest(_utf8(text))
    if read_only is None:
        read_only = name.startswith(READ_PREFIXES)
    event = (
        t,
        event_id,
        cut(source, 256),
        cut(name, 256),
        read_only,
        cut(code, MAX_FIELD_BYTES) if code else None,
        cut(principal, MAX_FIELD_BYTES * 4),
        cut(kind or "Unknown", 64),
        cut(session, MAX_FIELD_BYTES * 4) if session else None,
        cut(access_key, 128) if access_key else None,
        cut(ip or "", MAX_FIELD_BYTES),
        cut(ua or "", MAX_FIELD_BYTES),
        cut(recipient or account_id or "unknown", 64),
        cut(region or "unknown", 64),
    )
    return cls, event


# ---------------------------------------------------------------------------------------------
# One file (ingest/mod.rs Ctx::file_in)


class _Reader:
    def __init__(self, path, res):
        self.path = path
        self.res = res

    def bad(self, n, reason):
        self.res.bad_records += 1
        self.res.problems.append((self.path, n, reason))

    def record(self, n, text, obj=None, ok=None):
        """ingest/mod.rs Ctx::record. `obj`/`ok`: the already-decoded value, if any."""
        self.res.records += 1
        if len(text) * 4 > MAX_RECORD_BYTES and len(text.encode("utf-8", "surrogatepass")) > MAX_RECORD_BYTES:
            self.bad(n, "record exceeds the %d byte limit" % MAX_RECORD_BYTES)
            return
        if not text.startswith("{"):
            self.bad(n, "record is not a JSON object")
            return
        if ok is None:
            try:
                obj = _DECODER.decode(text)
                ok = True
            except (ValueError, RecursionError) as e:
                ok = False
                obj = str(e)
        if not ok:
            self.bad(n, "invalid record: not valid JSON")
            return
        try:
            cls, event = parse_record(obj, text)
        except RecordError as e:
            self.bad(n, str(e))
            return
        except RecursionError:
            self.bad(n, "invalid record: nesting too deep")
            return
        if cls == "management":
            self.res.events.append((n, event))
        elif cls == "data":
            self.res.skipped_data += 1
        elif cls == "insight":
            self.res.skipped_insight += 1
        else:
            self.res.skipped_network_activity += 1

    def lookup_event(self, n, obj, ok):
        if ok and isinstance(obj, dict) and isinstance(obj.get("CloudTrailEvent"), str):
            self.record(n, obj["CloudTrailEvent"])
        else:
            self.res.records += 1
            self.bad(n, "LookupEvents entry without a CloudTrailEvent string")

    def lines(self, text):
        for i, line in enumerate(_rust_lines(text)):
            line = line.strip()
            if not line:
                continue
            at = line.find("{")
            if at < 0:
                self.res.records += 1
                self.bad(i + 1, "line holds no JSON object")
            else:
                self.record(i + 1, line[at:])


def _rust_lines(text):
    """str::lines: split on \\n, drop one trailing \\r per line, no final empty line."""
    parts = text.split("\n")
    if parts and parts[-1] == "":
        parts.pop()
    return [p[:-1] if p.endswith("\r") else p for p in parts]


def _looks_like_lines(text):
    ls = _rust_lines(text.lstrip())
    first = ls[0].strip() if ls else ""
    at = max(first.find("{"), 0)
    try:
        json.loads(first[at:])
        return True
    except (ValueError, RecursionError):
        return False


def read_file(path, data, max_file_bytes=DEFAULT_MAX_FILE_BYTES):
    """ingest/mod.rs Ctx::file_in: everything one file yields."""
    res = FileResult()
    r = _Reader(path, res)
    raw, problem = read_contents(path, data, max_file_bytes)
    if raw is None:
        res.bad_file = True
        res.problems.append((path, None, problem))
        return res
    bad_file = problem
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        bad_file = bad_file or "invalid UTF-8 at byte %d; decoded with replacement characters" % e.start
        text = raw.decode("utf-8", "replace")
    kind = None if path.endswith(JSONL_SUFFIXES) else split(text)
    if kind is not None and kind[0] != "none":
        k, items, err = kind
        for i, (s, e, obj, ok) in enumerate(items):
            if k == "events":
                r.lookup_event(i + 1, obj, ok)
            else:
                r.record(i + 1, text[s:e], obj, ok)
        if err:
            bad_file = bad_file or "%s at byte %d; %d records before it were read" % (err[1], err[0], len(items))
    elif kind is not None and not _looks_like_lines(text):
        err = kind[2]
        stripped = text.strip()
        if err:
            bad_file = bad_file or "%s at byte %d" % (err[1], err[0])
        else:
            try:
                parse_record(_DECODER.decode(stripped), stripped)
                r.record(1, stripped)
            except (ValueError, RecursionError, RecordError) as e:
                bad_file = bad_file or (
                    "not a CloudTrail log: a JSON object with no Records or Events array, and not a record (%s)" % e
                )
    else:
        r.lines(text)
    if bad_file:
        res.bad_file = True
        res.problems.append((path, None, bad_file))
    return res


def fingerprint(event_id):
    """xxh3-128 of the eventID bytes: the key `rollups/ids/*.bin` stores (ingest/mod.rs)."""
    return xxhash.xxh3_128_intdigest(event_id.encode("utf-8"))
