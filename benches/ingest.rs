//! Criterion benches for the ingest hot path: record parse, rollup add, and a whole ingest of a
//! small simulated trail (inflate + split + parse + dedup + Parquet commit).
#![allow(missing_docs)] // criterion_group! generates an undocumented pub fn.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use trailsight::event::parse_record;
use trailsight::ingest::{ingest_paths, IngestOptions};
use trailsight::rollup::{Rollup, Store};
use trailsight::simulate::{simulate, SimConfig};

const RECORD: &str = r#"{"eventVersion":"1.09","userIdentity":{"type":"AssumedRole","principalId":"AROAEXAMPLE:i-0abc","arn":"arn:aws:sts::111122223333:assumed-role/monitoring/i-0abc","accountId":"111122223333","accessKeyId":"ASIAEXAMPLE","sessionContext":{"sessionIssuer":{"type":"Role","principalId":"AROAEXAMPLE","arn":"arn:aws:iam::111122223333:role/monitoring","accountId":"111122223333","userName":"monitoring"},"attributes":{"creationDate":"2026-01-05T09:00:00Z","mfaAuthenticated":"false"}}},"eventTime":"2026-01-05T10:00:07Z","eventSource":"ec2.amazonaws.com","eventName":"DescribeInstances","awsRegion":"us-east-1","sourceIPAddress":"10.0.3.17","userAgent":"aws-sdk-go-v2/1.30.3 os/linux lang/go#1.22.5 md/GOOS#linux md/GOARCH#amd64 api/ec2#1.173.0","requestParameters":{"instancesSet":{},"filterSet":{"items":[{"name":"tag:env","valueSet":{"items":[{"value":"prod"}]}}]}},"responseElements":null,"requestID":"0f3c7c1e-8d0a-4a59-9a9f-2f1f6f0b8a11","eventID":"6a0d5f3e-2b1c-4a8e-9f47-3e2d1c0b9a87","readOnly":true,"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"111122223333","eventCategory":"Management","tlsDetails":{"tlsVersion":"TLSv1.3","cipherSuite":"TLS_AES_128_GCM_SHA256","clientProvidedHostHeader":"ec2.us-east-1.amazonaws.com"}}"#;

fn parse(c: &mut Criterion) {
    let mut g = c.benchmark_group("record");
    g.throughput(Throughput::Bytes(RECORD.len() as u64));
    g.bench_function("parse_record", |b| {
        b.iter(|| parse_record(black_box(RECORD)).unwrap())
    });
    let ev = parse_record(RECORD).unwrap().event;
    g.bench_function("rollup_add", |b| {
        let mut r = Rollup::default();
        b.iter(|| r.add(black_box(&ev)))
    });
    g.finish();
}

fn ingest(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let trail = dir.path().join("trail");
    let cfg = SimConfig {
        days: 1,
        scale: 0.05,
        ..SimConfig::default()
    };
    let sim = simulate(&cfg, &trail, &|_, _| {}).unwrap();
    let mut g = c.benchmark_group("ingest");
    g.sample_size(10);
    g.throughput(Throughput::Elements(sim.records_written));
    g.bench_function("simulated_day_scale_0.05", |b| {
        b.iter_with_setup(
            || tempfile::tempdir().unwrap(),
            |state| {
                let mut store =
                    Store::open_or_create(&trailsight::state::StateDir::new(state.path())).unwrap();
                let s = ingest_paths(
                    &mut store,
                    std::slice::from_ref(&trail),
                    &IngestOptions::default(),
                    &|_, _| {},
                )
                .unwrap();
                assert_eq!(s.management_events, sim.management_events);
            },
        )
    });
    g.finish();
}

criterion_group!(benches, parse, ingest);
criterion_main!(benches);
