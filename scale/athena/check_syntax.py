"""Syntax check of the Athena SQL with sqlglot's Athena dialect (no Athena here).

    python scale/athena/check_syntax.py

Parses cloudtrail_table.sql (Hive DDL) and rollups.sql (Trino) strictly. sqlglot has no UNLOAD
grammar, so each UNLOAD's SELECT is parsed on its own and the rest checked against Athena's
documented form: TO 's3://...', WITH (format = 'PARQUET', ..., partitioned_by = ARRAY['day']),
and the partition column last in the SELECT list, as Athena requires.
"""

import os
import re
import sys

import sqlglot
from sqlglot import exp
from sqlglot.errors import ErrorLevel

HERE = os.path.dirname(os.path.abspath(__file__))
UNLOAD = re.compile(
    r"^UNLOAD \((?P<select>.*)\)\s*TO '(?P<to>s3://[^']+/)'\s*"
    r"WITH \(format = 'PARQUET', compression = 'ZSTD', partitioned_by = ARRAY\['(?P<part>\w+)'\]\)$",
    re.S,
)


def statements(sql):
    body = "\n".join(line for line in sql.splitlines() if not line.lstrip().startswith("--"))
    return [s.strip() for s in body.split(";") if s.strip()]


def main():
    problems = []
    ddl = open(os.path.join(HERE, "cloudtrail_table.sql")).read()
    parsed = sqlglot.parse(ddl, read="athena", error_level=ErrorLevel.RAISE)
    if len(parsed) != 1 or not isinstance(parsed[0], exp.Create):
        problems.append("cloudtrail_table.sql: expected one CREATE statement")
    n_unload = 0
    for st in statements(open(os.path.join(HERE, "rollups.sql")).read()):
        if st.startswith("UNLOAD"):
            m = UNLOAD.match(st)
            if not m:
                problems.append("UNLOAD not in Athena's form: %s..." % st[:80])
                continue
            sel = sqlglot.parse_one(m.group("select"), read="athena", error_level=ErrorLevel.RAISE)
            last = sel.selects[-1].alias_or_name
            if last != m.group("part"):
                problems.append("UNLOAD to %s: partition column %s is not last (%s is)"
                                % (m.group("to"), m.group("part"), last))
            n_unload += 1
        else:
            sqlglot.parse_one(st, read="athena", error_level=ErrorLevel.RAISE)
    if n_unload != 3:
        problems.append("expected 3 UNLOADs, found %d" % n_unload)
    if problems:
        print("\n".join(problems))
        return 1
    print("Athena SQL parses (sqlglot %s): 1 CREATE TABLE, 1 view, %d UNLOADs" % (sqlglot.__version__, n_unload))
    return 0


if __name__ == "__main__":
    sys.exit(main())
