#!/usr/bin/env python3
"""Writes each fuzz target's seed corpus under fuzz/corpus/<target>/ from the project's own
fixtures (the vendored Stratus Red Team and Panther samples, the golden Insights files, the
default config). The corpora grown by fuzzing stay out of git; these seeds are rebuilt.

    python3 fuzz/seed.py
"""
import gzip
import hashlib
import json
import pathlib
import sys

root = pathlib.Path(__file__).resolve().parent.parent
fixtures = root / "tests" / "fixtures"
corpus = root / "fuzz" / "corpus"


def put(target, data):
    d = corpus / target
    d.mkdir(parents=True, exist_ok=True)
    (d / hashlib.sha1(data).hexdigest()).write_bytes(data)


def main():
    docs = []
    records = []
    for p in sorted((fixtures / "stratus-red-team").glob("*.json")):
        data = p.read_bytes()
        docs.append(data)
        for r in json.loads(data):
            records.append(json.dumps(r).encode())
    for p in sorted((fixtures / "panther").glob("*.jsonl")):
        data = p.read_bytes()
        lines = [l for l in data.splitlines() if l.strip()]
        records.extend(lines)
        docs.append(b"\n".join(lines[:20]) + b"\n")
    # The shapes ingest reads: a delivered log file, LookupEvents output, a bare array.
    some = [json.loads(r) for r in records[:5]]
    docs.append(json.dumps({"Records": some}).encode())
    docs.append(json.dumps({"Events": [{"CloudTrailEvent": json.dumps(r)} for r in some]}).encode())
    docs.append(json.dumps(some, indent=2).encode())
    for r in records:
        put("record_scanner", r)
    for i, d in enumerate(docs):
        put("split_chunks", bytes([i % 256, (7 * i) % 256, i % 4]) + d[:64 << 10])
        put("ingest_file", bytes([i % 4 * 2 + 1]) + d[:64 << 10])
        put("ingest_file", bytes([i % 4 * 2]) + d[:64 << 10])
    put("ingest_file", b"\x03" + gzip.compress(docs[0]))
    put("config", (root / "src" / "default-config.toml").read_bytes())
    put("config", b'[[suppress]]\nreason = "migration"\nprincipal = "x"\nexpires = "2020-01-31"\n')
    put("config", b'[baseline]\ntraining_days = 14\n[detectors.error_rate]\nmin_score = 80\nshadow = true\n')
    for p in sorted((root / "tests" / "golden").glob("*.json*")):
        put("insights_reader", p.read_bytes()[:64 << 10])
    n = {t.name: len(list(t.iterdir())) for t in corpus.iterdir()}
    print("seeds:", n, file=sys.stderr)


main()
