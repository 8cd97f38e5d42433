//! Side-by-side evaluation of trailsight against two open detectors on the same count series.
//!
//! ```sh
//! cargo run --release --example peers -- --seeds 404,505,606 --scale 0.05 [--days 35] [--work DIR] [--json OUT]
//! ```
//!
//! Per seed, [`trailsight::pipeline::eval::eval_seed`] simulates a trail, ingests it, fits trailsight's
//! baselines on the 28 days (`baseline.training_days`) before the evaluation window and detects
//! over the window. Then two peers run on the *hourly call series of every API* read back from
//! the same state (`Store::series(.., Resolution::Hour)`), trained on the same 28 days and
//! detecting over the same window:
//!
//! - **augurs MSTL + ETS** (Grafana's `augurs` 0.10): per series MSTL with seasonal periods 24
//!   and 168 hours and an AutoETS (non-seasonal, `ZZN`) trend model, forecasting the evaluation
//!   hours with 99 % prediction intervals. An hour is a spike when the observed count is above
//!   the upper bound, a drop when below the lower bound while the point forecast is ≥ 5.
//!   Series MSTL cannot fit — all-zero training (e.g. an API first seen in the window), fewer
//!   than two weeks of training hours, or a fit/forecast error — give no findings; their number
//!   is printed.
//! - **hour-of-week median**: expected = median of the training hours at the same hour of week,
//!   scale = 1.4826 × their MAD (floor 1); a spike when (observed − median) / scale > 5, a drop
//!   when < −5 with median ≥ 5.
//!
//! Consecutive flagged hours of one series in one direction merge into one
//! [`Finding`] (`call_rate_spike` / `call_rate_drop`, score 100), so
//! [`EvalScore::of`] scores the peers exactly like trailsight.
//!
//! The peers see only per-API call counts: no principals, errors or catalog categories. So
//! besides trailsight's per-kind score the table compares all three on kind-agnostic terms:
//! an incident is *hit* when any finding matches it ([`trailsight::pipeline::eval::matches`]), a false
//! positive is a finding matching no incident, precision = true positives / findings,
//! recall = incidents hit / incidents. Times are wall-clock fit + detect: for trailsight
//! `fit` + `detect_into` (re-run after `eval_seed`, reading the Parquet rollups
//! itself); for the peers the model work on the series, with the shared read of the hourly
//! series reported separately.
//!
//! Besides the table, each seed leaves under `WORK`: `trail-<seed>/` (with `labels.json`),
//! `state-<seed>/`, trailsight's `findings-<seed>/findings.jsonl` and the peers' findings in
//! `peers-<seed>/{augurs-mstl-ets,hour-of-week-median}.jsonl`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use augurs::ets::AutoETS;
use augurs::mstl::MSTLModel;
use augurs::prelude::*;
use chrono::{DateTime, Utc};
use clap::Parser;
use serde::Serialize;
use trailsight::config::Config;
use trailsight::finding::{write_jsonl, Amount, Attributions, Finding, FindingKind, Severity};
use trailsight::pipeline::eval::{matches, EvalScore};
use trailsight::pipeline::{detect::detect_into, eval::eval_seed, fit::fit, no_progress};
use trailsight::rollup::{CountSeries, Resolution, Store};
use trailsight::simulate::{self, Label, Labels, SimConfig};
use trailsight::state::StateDir;
use trailsight::time::TimeRange;

/// Hours in a week: the hour-of-week period and MSTL's weekly season.
const WEEK_HOURS: usize = 168;
/// MSTL needs two full periods of the longest season.
const MIN_MSTL_HOURS: usize = 2 * WEEK_HOURS;
/// Prediction-interval level of the MSTL + ETS peer.
const LEVEL: f64 = 0.99;
/// Robust z threshold of the hour-of-week median peer.
const MEDIAN_Z: f64 = 5.0;
/// Drops are only flagged where at least this many calls per hour were expected.
const MIN_DROP_EXPECTED: f64 = 5.0;

/// Command line of the example.
#[derive(Parser, Debug)]
#[command(about = "trailsight vs augurs MSTL+ETS vs an hour-of-week median, on simulated trails")]
struct Args {
    /// Simulation seeds, comma-separated.
    #[arg(long, value_delimiter = ',', default_values_t = [404u64, 505, 606])]
    seeds: Vec<u64>,
    /// Background rate multiplier of the simulator.
    #[arg(long, default_value_t = 0.05)]
    scale: f64,
    /// Simulated days (the last ones are the evaluation window).
    #[arg(long, default_value_t = 35)]
    days: u32,
    /// Working directory for trails and states (default: a temporary one, removed at the end).
    #[arg(long)]
    work: Option<PathBuf>,
    /// Also write the numbers as JSON to this file.
    #[arg(long)]
    json: Option<PathBuf>,
}

/// Direction of a flagged hour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dir {
    /// Above the expected range.
    Spike,
    /// Below it.
    Drop,
}

/// One evaluation hour's verdict and the expected count behind it.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Hour {
    /// `None` when the hour is normal.
    flag: Option<Dir>,
    /// The detector's expected count for the hour (point forecast or median).
    expected: f64,
}

/// The hour-of-week median rule over one series.
///
/// `train` are the training hours, the first one at hour-of-week `train_how0`; `obs` the
/// evaluation hours, the first one at `obs_how0`. Returns one verdict per evaluation hour.
fn median_rule(train: &[f64], train_how0: usize, obs: &[f64], obs_how0: usize) -> Vec<Hour> {
    let mut by_how: Vec<Vec<f64>> = vec![Vec::new(); WEEK_HOURS];
    for (i, &y) in train.iter().enumerate() {
        by_how[(train_how0 + i) % WEEK_HOURS].push(y);
    }
    let stats: Vec<(f64, f64)> = by_how
        .iter_mut()
        .map(|v| {
            let med = median(v);
            let mut dev: Vec<f64> = v.iter().map(|y| (y - med).abs()).collect();
            let scale = (1.4826 * median(&mut dev)).max(1.0);
            (med, scale)
        })
        .collect();
    obs.iter()
        .enumerate()
        .map(|(i, &y)| {
            let (med, scale) = stats[(obs_how0 + i) % WEEK_HOURS];
            let z = (y - med) / scale;
            let flag = if z > MEDIAN_Z {
                Some(Dir::Spike)
            } else if z < -MEDIAN_Z && med >= MIN_DROP_EXPECTED {
                Some(Dir::Drop)
            } else {
                None
            };
            Hour {
                flag,
                expected: med,
            }
        })
        .collect()
}

/// Median of `v` (sorted in place); 0 for an empty slice.
fn median(v: &mut [f64]) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// Why the MSTL + ETS peer gave a series no verdicts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
enum Skip {
    /// Every training hour is zero.
    AllZero,
    /// Fewer than [`MIN_MSTL_HOURS`] training hours.
    ShortHistory,
    /// augurs returned an error (or non-finite intervals).
    ModelError,
}

/// The MSTL + AutoETS rule over one series: fit on `train`, forecast `obs.len()` hours with
/// [`LEVEL`] intervals and compare.
fn mstl_rule(train: &[f64], obs: &[f64]) -> Result<Vec<Hour>, Skip> {
    if train.len() < MIN_MSTL_HOURS {
        return Err(Skip::ShortHistory);
    }
    if train.iter().all(|&y| y == 0.0) {
        return Err(Skip::AllZero);
    }
    let trend = AutoETS::non_seasonal().into_trend_model();
    let model = MSTLModel::new(vec![24, WEEK_HOURS], trend);
    let fit = model.fit(train).map_err(|_| Skip::ModelError)?;
    let fc = fit
        .predict(obs.len(), LEVEL)
        .map_err(|_| Skip::ModelError)?;
    let iv = fc.intervals.as_ref().ok_or(Skip::ModelError)?;
    if fc.point.len() != obs.len() || iv.lower.len() != obs.len() || iv.upper.len() != obs.len() {
        return Err(Skip::ModelError);
    }
    Ok(obs
        .iter()
        .enumerate()
        .map(|(i, &y)| {
            let (p, lo, hi) = (fc.point[i], iv.lower[i], iv.upper[i]);
            // NaN bounds compare false: never flagged.
            let flag = if y > hi {
                Some(Dir::Spike)
            } else if y < lo && p >= MIN_DROP_EXPECTED {
                Some(Dir::Drop)
            } else {
                None
            };
            Hour {
                flag,
                expected: p.max(0.0),
            }
        })
        .collect())
}

/// Merges runs of consecutive hours flagged in the same direction into findings.
///
/// `hours[i]` is the verdict for the hour starting at `start + 3600 i`, `observed[i]` its
/// count. `detector` names the peer in the explanation.
fn merge_findings(
    series: &CountSeries,
    start: i64,
    observed: &[f64],
    hours: &[Hour],
    detector: &str,
    baseline: TimeRange,
) -> Vec<Finding> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < hours.len() {
        let Some(dir) = hours[i].flag else {
            i += 1;
            continue;
        };
        let mut j = i + 1;
        while j < hours.len() && hours[j].flag == Some(dir) {
            j += 1;
        }
        let obs: f64 = observed[i..j].iter().sum();
        let exp: f64 = hours[i..j].iter().map(|h| h.expected).sum();
        out.push(peer_finding(
            series,
            dir,
            (start + 3600 * i as i64, start + 3600 * j as i64),
            (obs, exp),
            detector,
            baseline,
        ));
        i = j;
    }
    out
}

/// Builds a call-rate finding for the hours `[span.0, span.1)` with `totals` (observed,
/// expected).
fn peer_finding(
    series: &CountSeries,
    dir: Dir,
    span: (i64, i64),
    totals: (f64, f64),
    detector: &str,
    baseline: TimeRange,
) -> Finding {
    let k = &series.key;
    let kind = match dir {
        Dir::Spike => FindingKind::CallRateSpike,
        Dir::Drop => FindingKind::CallRateDrop,
    };
    let ts = |t: i64| DateTime::<Utc>::from_timestamp(t, 0).expect("in range");
    let (start, end) = (ts(span.0), ts(span.1));
    let minutes = (span.1 - span.0) as f64 / 60.0;
    let names = vec![k.event_name.clone()];
    Finding {
        id: Finding::stable_id(
            kind,
            &k.account,
            &k.region,
            &k.event_source,
            &names,
            None,
            None,
            start,
        ),
        kind,
        account: k.account.clone(),
        region: k.region.clone(),
        event_source: k.event_source.clone(),
        event_names: names,
        read_only: Some(k.read_only),
        principal: None,
        error_code: None,
        start,
        end,
        score: 100.0,
        severity: Severity::from_score(100.0),
        p_value: 0.0,
        observed: Amount {
            total: totals.0,
            per_minute: totals.0 / minutes,
        },
        expected: Amount {
            total: totals.1,
            per_minute: totals.1 / minutes,
        },
        baseline_window: baseline,
        attributions: Attributions::default(),
        explanation: format!(
            "{} {}: {:.0} calls in {} h where {detector} expected {:.1}",
            k.api(),
            if dir == Dir::Spike { "spike" } else { "drop" },
            totals.0,
            (span.1 - span.0) / 3600,
            totals.1
        ),
        example_event_ids: Vec::new(),
        access_key_ids: Vec::new(),
        details: Default::default(),
        incident_id: None,
    }
}

/// Kind-agnostic and per-kind counts of one detector over one or more seeds.
#[derive(Debug, Clone, Default, Serialize)]
struct Tally {
    /// trailsight's own scoring (a finding must have the incident's kind to recall it).
    score: EvalScore,
    /// Incidents matched by any finding of any kind.
    hit: usize,
    /// Incidents hit, per incident kind.
    hit_by_kind: BTreeMap<String, usize>,
    /// Fit + detect wall time, seconds.
    seconds: f64,
    /// Series the detector gave no verdict for, by reason (MSTL only).
    skipped: BTreeMap<String, usize>,
}

impl Tally {
    fn of(findings: &[Finding], labels: &Labels, seconds: f64) -> Tally {
        let mut t = Tally {
            score: EvalScore::of(findings, &labels.incidents, &labels.decoys),
            seconds,
            ..Tally::default()
        };
        for l in &labels.incidents {
            let hit = findings.iter().any(|f| matches(f, l));
            *t.hit_by_kind.entry(l.kind.clone()).or_default() += usize::from(hit);
            t.hit += usize::from(hit);
        }
        t
    }

    fn add(&mut self, o: &Tally) {
        self.score.add(&o.score);
        self.hit += o.hit;
        for (k, v) in &o.hit_by_kind {
            *self.hit_by_kind.entry(k.clone()).or_default() += v;
        }
        for (k, v) in &o.skipped {
            *self.skipped.entry(k.clone()).or_default() += v;
        }
        self.seconds += o.seconds;
    }

    fn precision(&self) -> f64 {
        ratio(self.score.true_positives, self.score.findings)
    }

    fn recall(&self) -> f64 {
        ratio(self.hit, self.score.incidents)
    }

    fn f1(&self) -> f64 {
        let (p, r) = (self.precision(), self.recall());
        if p + r == 0.0 {
            0.0
        } else {
            2.0 * p * r / (p + r)
        }
    }
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 {
        1.0
    } else {
        a as f64 / b as f64
    }
}

/// Detector names, in table order.
const DETECTORS: [&str; 3] = ["trailsight", "augurs MSTL+ETS", "hour-of-week median"];

/// Runs both peers over every hourly series of one state; returns (MSTL tally inputs, median
/// ones) as (findings, seconds, skips), plus the seconds spent reading the series.
#[allow(clippy::type_complexity)]
fn run_peers(
    store: &Store,
    train: TimeRange,
    window: TimeRange,
) -> Result<(
    (Vec<Finding>, f64, BTreeMap<String, usize>),
    (Vec<Finding>, f64),
    f64,
    usize,
)> {
    let t = Instant::now();
    let all = store.series(
        TimeRange {
            start: train.start,
            end: window.end,
        },
        Resolution::Hour,
    )?;
    let load = t.elapsed().as_secs_f64();
    let n_train = usize::try_from((train.end - train.start) / 3600)?;
    let baseline = train;
    let how = |t: i64| usize::try_from(t.div_euclid(3600).rem_euclid(WEEK_HOURS as i64)).unwrap();
    let split = |s: &CountSeries| -> (Vec<f64>, Vec<f64>) {
        let y: Vec<f64> = s.calls.iter().map(|&c| f64::from(c)).collect();
        let (a, b) = y.split_at(n_train.min(y.len()));
        (a.to_vec(), b.to_vec())
    };
    for s in &all {
        if s.start != train.start || s.resolution != Resolution::Hour {
            bail!(
                "series {} does not start at the training start",
                s.key.api()
            );
        }
    }

    let t = Instant::now();
    let mut mstl = Vec::new();
    let mut skipped: BTreeMap<String, usize> = BTreeMap::new();
    for s in &all {
        let (train_y, obs) = split(s);
        match mstl_rule(&train_y, &obs) {
            Ok(hours) => mstl.extend(merge_findings(
                s,
                window.start,
                &obs,
                &hours,
                "augurs MSTL+ETS",
                baseline,
            )),
            Err(why) => {
                let name = serde_json::to_value(why)?
                    .as_str()
                    .unwrap_or("?")
                    .to_string();
                *skipped.entry(name).or_default() += 1;
            }
        }
    }
    let mstl_secs = t.elapsed().as_secs_f64();

    let t = Instant::now();
    let mut med = Vec::new();
    for s in &all {
        let (train_y, obs) = split(s);
        let hours = median_rule(&train_y, how(train.start), &obs, how(window.start));
        med.extend(merge_findings(
            s,
            window.start,
            &obs,
            &hours,
            "hour-of-week median",
            baseline,
        ));
    }
    let med_secs = t.elapsed().as_secs_f64();
    Ok(((mstl, mstl_secs, skipped), (med, med_secs), load, all.len()))
}

fn main() -> Result<()> {
    let a = Args::parse();
    if a.seeds.is_empty() {
        bail!("--seeds needs at least one seed");
    }
    let cfg = Config::from_arg(None)?;
    let (work, temp) = match &a.work {
        Some(w) => (w.clone(), false),
        None => (
            std::env::temp_dir().join(format!("trailsight-peers-{}", std::process::id())),
            true,
        ),
    };
    std::fs::create_dir_all(&work).with_context(|| format!("creating {}", work.display()))?;
    let train_secs = i64::from(cfg.baseline.training_days) * 86_400;

    let mut totals: Vec<Tally> = vec![Tally::default(); DETECTORS.len()];
    let mut per_seed = Vec::new();
    let mut load_total = 0.0;
    for &seed in &a.seeds {
        let sim = SimConfig {
            days: a.days,
            seed,
            scale: a.scale,
            ..SimConfig::default()
        };
        sim.validate()?;
        eprintln!("seed {seed}: simulate, ingest, fit, detect …");
        let (score, findings) = eval_seed(&work, &cfg, &sim, &no_progress)?;
        let trail = work.join(format!("trail-{seed}"));
        let state = StateDir::new(work.join(format!("state-{seed}")));
        let labels: Labels = serde_json::from_slice(&std::fs::read(trail.join("labels.json"))?)?;
        let (from, to) = simulate::evaluation_window(&sim);
        let window = TimeRange {
            start: from.timestamp(),
            end: to.timestamp(),
        };

        // trailsight's fit + detect, timed on their own (eval_seed also simulates and ingests).
        let t = Instant::now();
        fit(&state, &cfg, window.start)?;
        let d = detect_into(&state, &cfg, window, &work.join(format!("findings-{seed}")))?;
        let ts_secs = t.elapsed().as_secs_f64();
        if d.findings.len() != findings.len() {
            bail!(
                "seed {seed}: re-running detection gave {} findings, eval_seed {}",
                d.findings.len(),
                findings.len()
            );
        }
        let ts = Tally::of(&findings, &labels, ts_secs);
        debug_assert_eq!(ts.score, score);

        let store = Store::open(&state)?;
        let span = store.span().context("empty state")?;
        let train = TimeRange {
            start: (window.start - train_secs).max(span.start),
            end: window.start,
        };
        eprintln!("seed {seed}: peers …");
        let ((mstl_f, mstl_s, skipped), (med_f, med_s), load, n_series) =
            run_peers(&store, train, window)?;
        load_total += load;
        let dump = work.join(format!("peers-{seed}"));
        std::fs::create_dir_all(&dump)?;
        write_jsonl(&dump.join("augurs-mstl-ets.jsonl"), &mstl_f)?;
        write_jsonl(&dump.join("hour-of-week-median.jsonl"), &med_f)?;
        let mut mstl = Tally::of(&mstl_f, &labels, mstl_s);
        mstl.skipped = skipped;
        let med = Tally::of(&med_f, &labels, med_s);

        let missed_by_ts: Vec<&Label> = labels
            .incidents
            .iter()
            .filter(|l| !findings.iter().any(|f| matches(f, l)))
            .collect();
        for l in &missed_by_ts {
            let by: Vec<&str> = [("augurs", &mstl_f), ("median", &med_f)]
                .iter()
                .filter(|(_, fs)| fs.iter().any(|f| matches(f, l)))
                .map(|(n, _)| *n)
                .collect();
            eprintln!(
                "seed {seed}: trailsight missed {} ({}){}",
                l.id,
                l.description,
                if by.is_empty() {
                    String::new()
                } else {
                    format!("; hit by {}", by.join(", "))
                }
            );
        }
        let tallies = [ts, mstl, med];
        per_seed.push(serde_json::json!({
            "seed": seed,
            "series": n_series,
            "load_seconds": load,
            "detectors": DETECTORS.iter().zip(&tallies).map(|(n, t)| serde_json::json!({
                "detector": n,
                "tally": t,
            })).collect::<Vec<_>>(),
        }));
        for (tot, t) in totals.iter_mut().zip(&tallies) {
            tot.add(t);
        }
    }

    let (from, to) = simulate::evaluation_window(&SimConfig {
        days: a.days,
        ..SimConfig::default()
    });
    println!(
        "seeds {:?}, {} days, scale {}: detection over the last {} days, training on the {} days before\n",
        a.seeds,
        a.days,
        a.scale,
        (to - from).num_days(),
        cfg.baseline.training_days,
    );
    println!("| detector | incidents hit | incidents | findings | false positives | decoys flagged | precision | recall | F1 | recalled (own kind) | fit+detect s |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (name, t) in DETECTORS.iter().zip(&totals) {
        println!(
            "| {name} | {} | {} | {} | {} | {} | {:.2} | {:.2} | {:.2} | {} | {:.2} |",
            t.hit,
            t.score.incidents,
            t.score.findings,
            t.score.false_positives,
            t.score.decoy_hits,
            t.precision(),
            t.recall(),
            t.f1(),
            t.score.recalled,
            t.seconds
        );
    }
    println!(
        "\npeers' times exclude reading the hourly series from the rollups ({load_total:.2} s over all seeds); trailsight's include reading its rollups.\naugurs MSTL+ETS gave no verdict for: {}\n",
        if totals[1].skipped.is_empty() {
            "no series".to_string()
        } else {
            totals[1]
                .skipped
                .iter()
                .map(|(k, v)| format!("{v} series ({k})"))
                .collect::<Vec<_>>()
                .join(", ")
        }
    );
    let kinds: Vec<&String> = totals[0].hit_by_kind.keys().collect();
    println!("incidents hit (any finding kind), by incident kind:\n");
    println!("| incident kind | incidents | {} |", DETECTORS.join(" | "));
    println!("|---|---:|---:|---:|---:|");
    for k in kinds {
        let n = totals[0].score.kinds.get(k).map_or(0, |s| s.labels);
        let cells: Vec<String> = totals
            .iter()
            .map(|t| t.hit_by_kind.get(k).copied().unwrap_or(0).to_string())
            .collect();
        println!("| {k} | {n} | {} |", cells.join(" | "));
    }
    println!("\ntrailsight per kind:\n");
    print!("{}", totals[0].score.table());

    if let Some(out) = &a.json {
        let doc = serde_json::json!({
            "seeds": a.seeds,
            "days": a.days,
            "scale": a.scale,
            "load_seconds": load_total,
            "total": DETECTORS.iter().zip(&totals).map(|(n, t)| serde_json::json!({
                "detector": n,
                "incidents": t.score.incidents,
                "incidents_hit": t.hit,
                "findings": t.score.findings,
                "false_positives": t.score.false_positives,
                "decoys_flagged": t.score.decoy_hits,
                "precision": t.precision(),
                "recall": t.recall(),
                "f1": t.f1(),
                "seconds": t.seconds,
                "tally": t,
            })).collect::<Vec<_>>(),
            "per_seed": per_seed,
        });
        std::fs::write(out, serde_json::to_vec_pretty(&doc)?)
            .with_context(|| format!("writing {}", out.display()))?;
    }
    if temp {
        let _ = std::fs::remove_dir_all(&work);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use trailsight::rollup::ApiKey;

    fn series() -> CountSeries {
        CountSeries {
            key: ApiKey {
                account: "111111111111".into(),
                region: "us-east-1".into(),
                event_source: "ec2.amazonaws.com".into(),
                event_name: "RunInstances".into(),
                read_only: false,
            },
            start: 0,
            resolution: Resolution::Hour,
            calls: Vec::new(),
            errors: Vec::new(),
        }
    }

    fn win() -> TimeRange {
        TimeRange::new(0, 0)
    }

    fn h(flag: Option<Dir>, expected: f64) -> Hour {
        Hour { flag, expected }
    }

    #[test]
    fn merges_runs_by_direction() {
        let hours = [
            h(None, 1.0),
            h(Some(Dir::Spike), 2.0),
            h(Some(Dir::Spike), 3.0),
            h(Some(Dir::Drop), 10.0),
            h(None, 1.0),
            h(Some(Dir::Spike), 1.0),
        ];
        let obs = [1.0, 50.0, 60.0, 0.0, 1.0, 9.0];
        let f = merge_findings(&series(), 7200, &obs, &hours, "x", win());
        assert_eq!(f.len(), 3);
        assert_eq!(f[0].kind, FindingKind::CallRateSpike);
        assert_eq!(f[0].start.timestamp(), 7200 + 3600);
        assert_eq!(f[0].end.timestamp(), 7200 + 3 * 3600);
        assert_eq!(f[0].observed.total, 110.0);
        assert_eq!(f[0].expected.total, 5.0);
        assert!((f[0].observed.per_minute - 110.0 / 120.0).abs() < 1e-12);
        assert_eq!(f[1].kind, FindingKind::CallRateDrop);
        assert_eq!(f[1].start.timestamp(), 7200 + 3 * 3600);
        assert_eq!(f[1].end.timestamp(), 7200 + 4 * 3600);
        assert_eq!(f[2].end.timestamp(), 7200 + 6 * 3600);
        assert_eq!(f[0].id, f[0].compute_id());
        assert_eq!(f[0].event_names, vec!["RunInstances".to_string()]);
        assert_eq!(f[0].read_only, Some(false));
        assert!(merge_findings(&series(), 0, &[1.0], &[h(None, 1.0)], "x", win()).is_empty());
    }

    #[test]
    fn median_and_mad() {
        assert_eq!(median(&mut []), 0.0);
        assert_eq!(median(&mut [3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&mut [4.0, 1.0, 2.0, 3.0]), 2.5);
        // Four weeks; hour-of-week 0 sees 10, 12, 14, 100 (an old incident): median 13,
        // |dev| = 3, 1, 1, 87 → MAD 2, scale 2.9652. Other hours are all 0 (scale floor 1).
        let mut train = vec![0.0; 4 * WEEK_HOURS];
        for (w, v) in [10.0, 12.0, 14.0, 100.0].into_iter().enumerate() {
            train[w * WEEK_HOURS] = v;
        }
        let scale = 1.4826 * 2.0;
        let hi = 13.0 + 5.0 * scale;
        let lo = 13.0 - 5.0 * scale;
        let obs = [hi + 0.01, hi - 0.01, lo - 0.01, lo + 0.01];
        // Evaluation hours 0, 168, 336, 504 after a week-aligned start all map to how 0.
        let mut eval = vec![0.0; 3 * WEEK_HOURS + 1];
        for (i, v) in obs.into_iter().enumerate() {
            eval[i * WEEK_HOURS] = v;
        }
        let r = median_rule(&train, 0, &eval, 0);
        assert_eq!(r[0].flag, Some(Dir::Spike));
        assert_eq!(r[WEEK_HOURS].flag, None);
        assert_eq!(r[2 * WEEK_HOURS].flag, Some(Dir::Drop));
        assert_eq!(r[3 * WEEK_HOURS].flag, None);
        assert_eq!(r[0].expected, 13.0);
        // Zero hours: scale floors at 1, so 5 calls is not a spike, 6 is; no drop below 0.
        let r = median_rule(&train, 0, &[0.0, 5.0, 6.0], 0);
        assert_eq!(r[1].flag, None);
        assert_eq!(r[2].flag, Some(Dir::Spike));
        // Offsets: training starting at how 167 puts train[1] at how 0; evaluation starting
        // at how 167 sees 7 then 20, at how 0 sees 20 then an empty hour (0).
        let r = median_rule(&[7.0, 20.0], 167, &[1.0, 1.0], 167);
        assert_eq!((r[0].expected, r[1].expected), (7.0, 20.0));
        let r = median_rule(&[7.0, 20.0], 167, &[1.0, 1.0], 0);
        assert_eq!((r[0].expected, r[1].expected), (20.0, 0.0));
    }

    #[test]
    fn drops_need_an_expected_level() {
        // With the scale floored at 1, a drop needs median − observed > 5, so the median ≥ 5
        // gate is implied: a median of 4 falling to 0 is not a drop, a median of 30 is.
        let r = median_rule(&[4.0, 30.0], 0, &[0.0, 0.0], 0);
        assert_eq!(r[0].flag, None);
        assert_eq!(r[1].flag, Some(Dir::Drop));
    }

    #[test]
    fn mstl_skips_what_it_cannot_fit() {
        assert_eq!(mstl_rule(&[1.0; 100], &[1.0]), Err(Skip::ShortHistory));
        assert_eq!(
            mstl_rule(&[0.0; MIN_MSTL_HOURS], &[1.0]),
            Err(Skip::AllZero)
        );
    }

    #[test]
    fn mstl_flags_a_spike_on_a_seasonal_series() {
        let y = |t: usize| 50.0 + 30.0 * ((t % 24) as f64 / 24.0 * std::f64::consts::TAU).sin();
        let train: Vec<f64> = (0..4 * WEEK_HOURS)
            .map(|t| y(t) + ((t * 7919) % 5) as f64)
            .collect();
        let mut obs: Vec<f64> = (4 * WEEK_HOURS..5 * WEEK_HOURS)
            .map(|t| y(t) + 2.0)
            .collect();
        obs[10] += 500.0;
        let r = mstl_rule(&train, &obs).expect("fits");
        assert_eq!(r[10].flag, Some(Dir::Spike));
        let flagged = r.iter().filter(|h| h.flag.is_some()).count();
        assert!(flagged <= 5, "{flagged} hours flagged");
    }
}
