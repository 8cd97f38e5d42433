"""Tests for judge/trailgen.py.  Run from the repository root:

    python3 -m unittest judge/test_trailgen.py

Uses small --days/--scale: about 80 s of CPU, roughly a minute on an idle 2-core machine.
"""
import gzip
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
GEN = os.path.join(HERE, "trailgen.py")
if HERE not in sys.path:
    sys.path.insert(0, HERE)

from trailgen_lib import verify  # noqa: E402
from trailgen_lib.core import parse_date, DAY  # noqa: E402

KINDS = {"call_rate_spike", "call_rate_drop", "error_rate", "provisioning_spike", "iam_burst", "maintenance_gap",
         "rare_action"}
TIME_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


def run(out, seed, days, accounts, scale, hashseed="0", start="2026-09-01"):
    env = dict(os.environ)
    env["PYTHONHASHSEED"] = hashseed
    subprocess.run([sys.executable, GEN, "--out", out, "--seed", str(seed), "--days", str(days),
                    "--accounts", str(accounts), "--scale", str(scale), "--start", start, "--quiet"],
                   check=True, env=env)


def digest(root):
    h = hashlib.sha256()
    for dp, dn, fn in os.walk(root):
        dn.sort()
        for f in sorted(fn):
            p = os.path.join(dp, f)
            h.update(os.path.relpath(p, root).encode())
            with open(p, "rb") as fh:
                h.update(fh.read())
    return h.hexdigest()


class TrailgenTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="trailgen-test-")
        cls.main = os.path.join(cls.tmp, "main")
        run(cls.main, 11, 5, 3, 0.02)
        cls.problems, cls.idx, cls.doc = verify.verify(cls.main)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    # ------------------------------------------------------------ determinism
    def test_same_seed_is_byte_identical_and_other_seed_differs(self):
        a = os.path.join(self.tmp, "det-a")
        b = os.path.join(self.tmp, "det-b")
        c = os.path.join(self.tmp, "det-c")
        run(a, 5, 1, 3, 0.02, hashseed="1")
        run(b, 5, 1, 3, 0.02, hashseed="12345")
        self.assertEqual(digest(a), digest(b))
        run(c, 6, 1, 3, 0.02, hashseed="1")
        self.assertNotEqual(digest(a), digest(c))
        with open(os.path.join(a, "labels.json")) as f1, open(os.path.join(c, "labels.json")) as f2:
            self.assertNotEqual(json.load(f1)["accounts"], json.load(f2)["accounts"])

    # ------------------------------------------------------------ single account
    def test_single_account(self):
        d = os.path.join(self.tmp, "single")
        run(d, 3, 4, 1, 0.02)
        probs, idx, doc = verify.verify(d)
        self.assertEqual(len(doc["accounts"]), 1)
        self.assertEqual(list(idx.keys()), doc["accounts"])
        self.assertEqual(probs, [])
        # the single (production-like) account gets every incident kind
        self.assertEqual({l["kind"] for l in doc["incidents"]}, KINDS)

    # ------------------------------------------------------------ labels vs records
    def test_labels_consistent_with_records(self):
        self.assertEqual(self.problems, [], "\n".join(self.problems[:30]))

    def test_label_schema(self):
        doc = self.doc
        for k in ("generator", "version", "seed", "days", "start", "scale", "accounts", "incidents", "decoys"):
            self.assertIn(k, doc)
        self.assertEqual(doc["generator"], "trailgen")
        self.assertEqual(len(doc["accounts"]), 3)
        start = parse_date(doc["start"]) * DAY
        ids = set()
        for lab in doc["incidents"] + doc["decoys"]:
            self.assertEqual(set(lab.keys()), {"id", "kind", "decoy", "account", "region", "event_source", "event_names",
                                               "principal", "start", "end", "description", "family"})
            self.assertIn(lab["kind"], KINDS)
            self.assertIn(lab["account"], doc["accounts"])
            self.assertTrue(TIME_RE.match(lab["start"]) and TIME_RE.match(lab["end"]))
            self.assertLess(lab["start"], lab["end"])
            self.assertTrue(lab["event_names"])
            self.assertTrue(lab["family"])
            self.assertNotIn(lab["id"], ids)
            ids.add(lab["id"])
            if lab["decoy"]:
                self.assertRegex(lab["id"], r"^decoy-\d{4}-[a-z_]+$")
            else:
                self.assertRegex(lab["id"], r"^inc-\d{3}-[a-z_]+$")
                # first three days are incident-free
                self.assertGreaterEqual(verify.to_t(lab["start"]), start + 3 * DAY)
            if lab["principal"] is not None:
                self.assertRegex(lab["principal"], r"^(arn:aws:iam::\d{12}:(role|user)/.+|arn:aws:iam::\d{12}:root|[a-z0-9.-]+\.amazonaws\.com)$")
        self.assertGreater(len(doc["incidents"]), 0)
        # decoys on every day of the trail, in every account
        for acct in doc["accounts"]:
            days = {l["start"][:10] for l in doc["decoys"] if l["account"] == acct}
            self.assertEqual(len(days), doc["days"], acct)

    # ------------------------------------------------------------ records and layout
    def test_records_and_layout(self):
        root = self.main
        self.assertEqual(sorted(os.listdir(root)), ["AWSLogs", "labels.json"])
        n = 0
        mgmt = data = 0
        for dp, dn, fn in os.walk(os.path.join(root, "AWSLogs")):
            for f in fn:
                m = verify.NAME_RE.match(f)
                self.assertIsNotNone(m, f)
                with open(os.path.join(dp, f), "rb") as fh:
                    raw = fh.read()
                self.assertEqual(raw[:2], b"\x1f\x8b")
                doc = json.loads(gzip.decompress(raw))
                self.assertEqual(list(doc.keys()), ["Records"])
                for r in doc["Records"]:
                    n += 1
                    self.assertIn(r["eventVersion"], ("1.08", "1.09", "1.10", "1.11"))
                    self.assertTrue(TIME_RE.match(r["eventTime"]))
                    self.assertIn(r["eventType"], ("AwsApiCall", "AwsConsoleSignIn", "AwsServiceEvent"))
                    self.assertIsInstance(r["readOnly"], bool)
                    self.assertIsInstance(r["managementEvent"], bool)
                    self.assertRegex(r["eventID"], r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
                    self.assertTrue(r["eventSource"].endswith(".amazonaws.com"))
                    self.assertEqual(r["recipientAccountId"], m.group(1))
                    self.assertEqual(r["awsRegion"], m.group(2))
                    ui = r["userIdentity"]
                    if "type" in ui:
                        self.assertIn(ui["type"], ("AssumedRole", "IAMUser", "Root", "AWSService", "AWSAccount",
                                                   "WebIdentityUser", "SAMLUser", "FederatedUser"))
                    if ui.get("type") == "AssumedRole":
                        self.assertTrue(ui["sessionContext"]["sessionIssuer"]["arn"].startswith("arn:aws:iam::"))
                    if r.get("errorCode"):
                        self.assertIsNone(r["responseElements"])
                    if r["eventCategory"] == "Data":
                        data += 1
                        self.assertFalse(r["managementEvent"])
                    else:
                        mgmt += 1
                        self.assertEqual(r["eventCategory"], "Management")
                        self.assertTrue(r["managementEvent"])
                    if r["eventSource"] in ("iam.amazonaws.com", "signin.amazonaws.com", "organizations.amazonaws.com"):
                        self.assertEqual(r["awsRegion"], "us-east-1")
        self.assertGreater(n, 10000)
        self.assertGreater(data, 0)
        self.assertLess(data, 0.1 * mgmt)


if __name__ == "__main__":
    unittest.main()
