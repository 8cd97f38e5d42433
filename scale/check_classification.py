"""The scale-out paths classify records by models/classification.toml, as trailsight does.

    python scale/check_classification.py    # run by test_equivalence.sh (needs xxhash)

1. The Athena SQL's lists are the ones sync_classification.py writes from the TOML.
2. The Spark job's record reader, given records that predate `managementEvent` and `readOnly`,
   calls every listed API a data event (and the same name of another source, or an unlisted
   name, a management event) and infers readOnly from every listed prefix — both with the
   tables it loads itself and with tables handed over as the driver does for its executors.
"""

import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "spark"))
sys.path.insert(0, os.path.join(HERE, "athena"))
import cloudtrail_records as cr  # noqa: E402
import sync_classification  # noqa: E402


def parsed(source, name):
    obj = {"eventVersion": "1.05", "eventTime": "2026-01-05T10:00:00Z", "eventSource": source,
           "eventName": name, "eventID": "e1", "userIdentity": {"type": "Root", "accountId": "1"}}
    cls, event = cr.parse_record(obj, json.dumps(obj))
    return cls, event[cr.EVENT_FIELDS.index("read_only")]


def check_reader(tables):
    n = 0
    for source, names in tables["data_event_apis"].items():
        for name in names:
            assert parsed(source, name)[0] == "data", (source, name)
            assert parsed("ec2.amazonaws.com", name)[0] == "management", name
            n += 1
        assert parsed(source, "NotADataEventApi")[0] == "management", source
    for p in tables["read_only_prefixes"]:
        assert parsed("ec2.amazonaws.com", p + "Things")[1] is True, p
    for name in ("RunInstances", "CreateListener", "describeInstances"):
        assert parsed("ec2.amazonaws.com", name)[1] is False, name
    return n


def main():
    if sync_classification.main(["--check"]) != 0:
        return 1
    tables = cr.load_classification()
    n = check_reader(tables)
    # As on an executor: tables set from what the driver sent, not read from a file.
    cr.use_classification({"data_event_apis": {}, "read_only_prefixes": ()})
    assert parsed("s3.amazonaws.com", "GetObject") == ("management", False), "tables not used"
    cr.use_classification(tables)
    check_reader(tables)
    print("Spark reader classifies by models/classification.toml: %d data-event APIs, %d prefixes"
          % (n, len(tables["read_only_prefixes"])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
