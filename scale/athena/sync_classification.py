"""Write the classification lists of rollups.sql from models/classification.toml.

    python3 scale/athena/sync_classification.py          # rewrite rollups.sql in place
    python3 scale/athena/sync_classification.py --check  # exit 1 if it is out of date

The lists sit between `-- BEGIN <block>` and `-- END <block>` comment lines (blocks
`data_events` and `read_only_prefixes`); everything else in the file is left alone. The marker
line's indentation is kept. `cargo test` (src/event/classify.rs) compares the SQL with the TOML
too, so a hand edit that drifts fails there even where Python is not run.
"""

import argparse
import difflib
import os
import re
import sys
import tomllib

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
TOML = os.path.join(ROOT, "models", "classification.toml")
SQL = os.path.join(HERE, "rollups.sql")
WIDTH = 100
NOTE = "generated from models/classification.toml"


def wrap(items, indent, last):
    """`items` joined by ', ' over lines of at most WIDTH characters, then `last`."""
    lines, line = [], indent
    for i, item in enumerate(items):
        piece = item + (", " if i + 1 < len(items) else last)
        if line != indent and len(line + piece.rstrip()) > WIDTH:
            lines.append(line.rstrip())
            line = indent
        line += piece
    lines.append(line)
    return lines


def data_events(tables, indent):
    out = []
    for d in tables["data_events"]:
        names = ["'%s'" % n for n in d["event_names"]]
        out.append("%sWHEN eventsource = '%s' AND eventname IN (" % (indent, d["event_source"]))
        out += wrap(names, indent + "    ", ") THEN 'other'")
    return out


def read_only_prefixes(tables, indent):
    pattern = "^(%s)" % "|".join(tables["read_only_prefixes"])
    return ["%sELSE regexp_like(eventname, '%s')" % (indent, pattern)]


BLOCKS = {"data_events": data_events, "read_only_prefixes": read_only_prefixes}


def check_words(tables):
    """Names go into SQL literals and a regexp: plain words only (as src/event/classify.rs)."""
    words = list(tables["read_only_prefixes"])
    for d in tables["data_events"]:
        if not re.fullmatch(r"[a-z0-9.-]+", d["event_source"]):
            raise SystemExit("%s: event_source %r is malformed" % (TOML, d["event_source"]))
        words += d["event_names"]
    bad = [w for w in words if not re.fullmatch(r"[A-Za-z0-9]+", w)]
    if bad:
        raise SystemExit("%s: not plain words: %r" % (TOML, bad))


def render(sql, tables):
    """`sql` with every marked block rewritten from `tables`."""
    for name, gen in BLOCKS.items():
        m = re.search(r"(?m)^( *)-- BEGIN %s\b.*\n(?:.*\n)*?\1-- END %s\n" % (name, name), sql)
        if m is None:
            raise SystemExit("%s: no -- BEGIN %s / -- END %s block" % (SQL, name, name))
        indent = m.group(1)
        body = ["%s-- BEGIN %s: %s" % (indent, name, NOTE)] + gen(tables, indent)
        body.append("%s-- END %s" % (indent, name))
        sql = sql[: m.start()] + "\n".join(body) + "\n" + sql[m.end():]
    return sql


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="only check; exit 1 if out of date")
    args = ap.parse_args(argv)
    with open(TOML, "rb") as f:
        tables = tomllib.load(f)
    check_words(tables)
    with open(SQL) as f:
        sql = f.read()
    new = render(sql, tables)
    if args.check:
        if new != sql:
            sys.stdout.writelines(difflib.unified_diff(
                sql.splitlines(True), new.splitlines(True), SQL, SQL + " (from the TOML)"))
            print("rollups.sql is out of date: run python3 scale/athena/sync_classification.py",
                  file=sys.stderr)
            return 1
        print("rollups.sql matches models/classification.toml")
        return 0
    if new != sql:
        with open(SQL, "w") as f:
            f.write(new)
        print("rewrote %s" % SQL)
    return 0


if __name__ == "__main__":
    sys.exit(main())
