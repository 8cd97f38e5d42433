//! Detection speed: every detector over N API series × D days of 5-minute buckets (the issue's
//! target: 5,000 series × 28 days under 10 s on 2 cores), and how cost grows with N × D.
#![allow(missing_docs)] // criterion_group! generates an undocumented pub fn.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, Poisson};
use trailsight::baseline::stats::fit_seasonal;
use trailsight::baseline::{Baselines, Bursts, Lulls, SeriesModel, TopContributors};
use trailsight::catalog::Catalog;
use trailsight::config::Config;
use trailsight::detect::{run_all, DetectInput, Holes};
use trailsight::rollup::{ApiKey, CountSeries, Resolution, Rollup};
use trailsight::time::TimeRange;

/// 2026-02-02T00:00:00Z.
const T0: i64 = 1_769_990_400;

fn workload(series: usize, days: usize) -> (Vec<CountSeries>, Baselines) {
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let n = days * 288;
    let mut b = Baselines::empty(T0 - 28 * 86_400, T0);
    let mut out = Vec::with_capacity(series);
    for i in 0..series {
        // Rates from one call a day to hundreds a minute, as in real trails.
        let per_hour = 10f64.powf(rng.random_range(-1.5..3.5));
        let key = ApiKey {
            account: format!("{:012}", 100_000_000_000u64 + (i % 20) as u64),
            region: ["us-east-1", "eu-west-1"][i % 2].into(),
            event_source: format!("svc{}.amazonaws.com", i % 150),
            event_name: format!("Api{i}"),
            read_only: i % 3 != 0,
        };
        let pois = Poisson::new((per_hour / 12.0).max(1e-6)).expect("positive rate");
        let calls: Vec<u32> = (0..n).map(|_| pois.sample(&mut rng) as u32).collect();
        let errors: Vec<u32> = calls.iter().map(|&c| c / 50).collect();
        b.series.push(SeriesModel {
            key: key.clone(),
            calls: fit_seasonal(&vec![per_hour; 168 * 4], 0),
            alpha: 0.1,
            errors: fit_seasonal(&vec![per_hour / 50.0; 168 * 4], 0),
            error_share: 0.02,
            error_alpha: 0.1,
            total_calls: (per_hour * 672.0) as u64,
            total_errors: 0,
            top: TopContributors::default(),
            burst: Bursts::default(),
            error_burst: Bursts::default(),
            presence: vec![1.0; 24],
            lulls: Lulls::default(),
            density: 1.0,
            callers: Vec::new(),
        });
        out.push(CountSeries {
            key,
            start: T0,
            resolution: Resolution::FiveMinutes,
            calls,
            errors,
        });
    }
    (out, b)
}

fn detect(c: &mut Criterion) {
    let catalog = Catalog::builtin();
    let cfg = Config::default();
    let policy = cfg.policy();
    let detectors = cfg.detectors(&policy);
    let detail = Rollup::default();
    let mut g = c.benchmark_group("detect");
    g.sample_size(10);
    for (series, days) in [(1250, 28), (2500, 28), (5000, 7), (5000, 14), (5000, 28)] {
        let (s, b) = workload(series, days);
        let holes = Holes::from_series(&s, T0);
        let input = DetectInput {
            window: TimeRange {
                start: T0,
                end: T0 + days as i64 * 86_400,
            },
            series: &s,
            detail: &detail,
            baselines: &b,
            catalog: &catalog,
            holes: &holes,
        };
        g.throughput(Throughput::Elements((series * days * 288) as u64));
        g.bench_with_input(
            BenchmarkId::new("all_detectors", format!("{series}x{days}d")),
            &input,
            |bench, input| {
                bench
                    .iter(|| black_box(run_all(&detectors, input, &|k| policy.detector(k).floor())))
            },
        );
    }
    g.finish();
}

criterion_group!(benches, detect);
criterion_main!(benches);
