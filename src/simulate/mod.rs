//! Synthetic CloudTrail trail with labelled incidents and decoys.
//!
//! [`simulate`] writes, under an output directory, a trail in the S3 delivery
//! layout (`AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/*.json.gz`, one
//! account in organization-trail form `AWSLogs/<org id>/<account>/...`) and
//! `labels.json`, the ground truth ([`Labels`]): injected incidents that a
//! detector should flag, and decoys — recurring bursts (deploys, backups, key
//! rotation, autoscaling) that it should not.
//!
//! Background activity is rate-driven with hour-of-day / day-of-week
//! seasonality and gamma-Poisson (over-dispersed) noise; scheduled jobs and
//! incidents keep their natural counts at any `scale`. Output is byte-identical
//! for a given config: every unit of work (day, account, region) has its own
//! RNG derived from the seed.
//!
//! The organisation is data, `world.toml` (compiled in; its format is described at
//! its top): accounts and regions, actors (an identity, IP and user-agent pools),
//! the API catalogue, background streams (actors × APIs with a rate, a daily/weekly
//! profile, burstiness and an error mix), schedules (days, a time or drawn runs, and
//! steps: calls at offsets, repeats, polls until the run's end, marks), incident
//! recipes (where, when, how many, steps or an effect on a stream or schedule, and a
//! label) and which schedules' runs are labelled decoys. `world/load.rs` reads and
//! checks it into `world.rs`'s tables (an unknown actor, API, mark or schedule is an
//! error naming its key); `model.rs` runs it; `record.rs` renders each call as
//! CloudTrail writes it. A new actor family (a Config recorder, Security Hub scanners,
//! a CI poller) is an actor, a stream or a schedule, plus a decoy label if its bursts
//! should not be flagged: data only, unless its calls need new request bodies.

mod model;
mod record;
#[cfg(test)]
mod tests;
mod world;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use chrono::{DateTime, NaiveDate, Utc};
use flate2::write::GzEncoder;
use flate2::Compression;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use world::{Cat, World};

/// Parameters of a simulation run.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SimConfig {
    /// Number of simulated days (1..=400).
    pub days: u32,
    /// RNG seed; the same config produces byte-identical output.
    pub seed: u64,
    /// Multiplier of all background rates, in (0, 100]; 1.0 ≈ 120k management
    /// events/day. Scheduled jobs and incidents keep their natural counts.
    pub scale: f64,
    /// First simulated day (UTC).
    pub start: NaiveDate,
    /// Which shipped organisation is simulated.
    #[serde(default, skip_serializing_if = "WorldName::is_default")]
    pub world: WorldName,
    /// Only the world's first this many accounts (all when `None`): the same organisation's
    /// plan, with the other accounts' trails and labels left out (a one-account replay).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accounts: Option<u32>,
}

/// The shipped simulated organisations.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum WorldName {
    /// `world.toml`: the organisation the defaults were tuned on (tuning seeds).
    #[default]
    Default,
    /// `judge.toml`: other actors and habits, and decoy families written from AWS's
    /// documentation of what real accounts run (Config, Security Hub, Access Analyzer,
    /// Trusted Advisor, Backup, SSM, StackSets, a CSPM scanner, Terraform, Karpenter). Never tuned on:
    /// it judges.
    Judge,
}

impl WorldName {
    fn is_default(&self) -> bool {
        *self == WorldName::Default
    }
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            days: 35,
            seed: 42,
            scale: 1.0,
            start: NaiveDate::from_ymd_opt(2026, 1, 5).expect("valid date"),
            world: WorldName::Default,
            accounts: None,
        }
    }
}

impl SimConfig {
    /// Checks every field is in its allowed range.
    pub fn validate(&self) -> Result<(), SimError> {
        if !(1..=400).contains(&self.days) {
            return Err(SimError::InvalidConfig {
                field: "days",
                value: self.days.to_string(),
                allowed: "1..=400",
            });
        }
        if !(self.scale > 0.0 && self.scale <= 100.0) {
            return Err(SimError::InvalidConfig {
                field: "scale",
                value: self.scale.to_string(),
                allowed: "(0, 100]",
            });
        }
        if self.accounts == Some(0) {
            return Err(SimError::InvalidConfig {
                field: "accounts",
                value: "0".into(),
                allowed: "1 or more",
            });
        }
        if self
            .start
            .checked_add_days(chrono::Days::new(u64::from(self.days) + 1))
            .is_none()
        {
            return Err(SimError::InvalidConfig {
                field: "start",
                value: self.start.to_string(),
                allowed: "a date such that start + days is representable",
            });
        }
        Ok(())
    }
}

/// What a run wrote. Counts are exact, so an ingest of the trail can be checked
/// against them.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SimSummary {
    /// `.json.gz` files written.
    pub files: u64,
    /// Every record written, including data events and duplicate deliveries.
    pub records_written: u64,
    /// Unique management events (distinct eventID); includes console sign-in
    /// and service events.
    pub management_events: u64,
    /// Data events (S3 object, Lambda invoke); never duplicated.
    pub data_events: u64,
    /// Records delivered a second time (same eventID and bytes, later file).
    pub duplicate_deliveries: u64,
    /// Earliest eventTime written.
    pub first_event: DateTime<Utc>,
    /// Latest eventTime written.
    pub last_event: DateTime<Utc>,
    /// Account ids of the trail.
    pub accounts: Vec<String>,
    /// Regions of the trail.
    pub regions: Vec<String>,
}

/// One labelled incident or decoy.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Label {
    /// Stable id, e.g. `inc-03-error_rate`, `decoy-012-iam_burst`.
    pub id: String,
    /// Detector kind: `call_rate_spike`, `call_rate_drop`, `error_rate`,
    /// `provisioning_spike`, `iam_burst`, `maintenance_gap` or `rare_action`.
    /// For a decoy, the kind of detector that might wrongly fire.
    pub kind: String,
    /// True for expected recurring bursts a detector must not flag.
    pub decoy: bool,
    /// Account id.
    pub account: String,
    /// Region the events are delivered in.
    pub region: String,
    /// Main event source, e.g. `ec2.amazonaws.com` (an enumeration burst spans
    /// several services; this is the most frequent one).
    pub event_source: String,
    /// Every API involved (may span services).
    pub event_names: Vec<String>,
    /// Principal ARN; the role ARN (session issuer) for assumed roles.
    pub principal: Option<String>,
    /// Window start (inclusive).
    pub start: DateTime<Utc>,
    /// Window end (exclusive).
    pub end: DateTime<Utc>,
    /// Human-readable description.
    pub description: String,
    /// Scenario family of a decoy (the world's schedule family, e.g. `aws-config`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family: Option<String>,
}

/// Contents of `labels.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Labels {
    /// The config of the run.
    pub config: SimConfig,
    /// What was written.
    pub summary: SimSummary,
    /// Injected incidents (decoy = false).
    pub incidents: Vec<Label>,
    /// Recurring bursts in the evaluation window (decoy = true).
    pub decoys: Vec<Label>,
}

/// Errors of [`simulate`].
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// A config field is out of range.
    #[error("invalid simulation config: {field} = {value}, allowed {allowed}")]
    InvalidConfig {
        /// Field name.
        field: &'static str,
        /// The rejected value.
        value: String,
        /// The allowed range.
        allowed: &'static str,
    },
    /// The output already holds a trail; mixing two runs would break the counts.
    #[error("{} already exists: simulate into a new or empty directory", path.display())]
    OutputExists {
        /// The existing `AWSLogs` directory.
        path: PathBuf,
    },
    /// Reading or writing a file failed.
    #[error("I/O error on {}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// Serializing `labels.json` failed.
    #[error("serializing labels: {0}")]
    Json(#[from] serde_json::Error),
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> SimError + '_ {
    move |source| SimError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// First and last instant of the evaluation window (the last 7 days, or the
/// last third of the days for runs shorter than 14 days), where incidents and
/// decoys are placed.
pub fn evaluation_window(cfg: &SimConfig) -> (DateTime<Utc>, DateTime<Utc>) {
    let first = cfg.days - model::eval_days(cfg.days);
    let ts = |d| DateTime::from_timestamp(model::day_start(cfg, d), 0).expect("in range");
    (ts(first), ts(cfg.days))
}

/// Directory of one account/region/day in the S3 delivery layout, relative to `out`.
fn day_dir(w: &World, out: &Path, a: usize, r: usize, date: NaiveDate) -> PathBuf {
    let acct = &w.accounts[a];
    let mut p = out.join("AWSLogs");
    if acct.org {
        p.push(&w.organization_id);
    }
    p.push(&acct.id);
    p.push("CloudTrail");
    p.push(&w.regions[r]);
    p.push(date.format("%Y/%m/%d").to_string());
    p
}

#[derive(Default)]
struct UnitStats {
    files: u64,
    records: u64,
    mgmt: u64,
    data: u64,
    dups: u64,
    first: Option<i64>,
    last: Option<i64>,
}

/// Probability that a management record is delivered twice.
const DUP_RATE: f64 = 0.005;
const SLOT: i64 = 300;

/// Generates and writes one (day, account, region): one gzip file per 5-minute
/// slot with events, duplicates re-delivered in a later slot of the same day.
fn write_unit(
    cfg: &SimConfig,
    w: &World,
    plan: &model::Plan,
    out: &Path,
    day: u32,
    a: usize,
    r: usize,
) -> Result<UnitStats, SimError> {
    let events = model::generate(cfg, w, plan, day, a, r);
    let mut st = UnitStats::default();
    if events.is_empty() {
        return Ok(st);
    }
    let d0 = model::day_start(cfg, day);
    let date = cfg.start + chrono::Days::new(u64::from(day));
    let dir = day_dir(w, out, a, r, date);
    std::fs::create_dir_all(&dir).map_err(io_err(&dir))?;
    let mut rng = SmallRng::seed_from_u64(model::mix(
        cfg.seed,
        &[model::TAG_DELIVERY, u64::from(day), a as u64, r as u64],
    ));

    // Contiguous runs of events per non-empty slot (events are sorted).
    let mut slots: Vec<(i64, usize, usize)> = Vec::new();
    for (i, e) in events.iter().enumerate() {
        let s = (e.t - d0) / SLOT;
        match slots.last_mut() {
            Some(last) if last.0 == s => last.2 = i + 1,
            _ => slots.push((s, i, i + 1)),
        }
    }
    // Duplicates go to one of the next few non-empty slots.
    let mut extra: Vec<Vec<usize>> = vec![Vec::new(); slots.len()];
    for (k, &(_, lo, hi)) in slots.iter().enumerate() {
        let later = slots.len() - k - 1;
        for (j, e) in events[lo..hi].iter().enumerate() {
            if w.apis[usize::from(e.api)].cat != Cat::Data && rng.random_bool(DUP_RATE) && later > 0
            {
                extra[k + rng.random_range(1..=later.min(6))].push(lo + j);
            }
        }
    }

    let acct = &w.accounts[a].id;
    let region = &w.regions[r];
    let mut json = Vec::with_capacity(1 << 20);
    let mut order: Vec<usize> = Vec::new();
    for (k, &(s, lo, hi)) in slots.iter().enumerate() {
        order.clear();
        order.extend(lo..hi);
        order.extend_from_slice(&extra[k]);
        // Records of a file are in time order; duplicates are older, so they lead.
        order.sort_by_key(|&i| (events[i].t, i));
        json.clear();
        json.extend_from_slice(b"{\"Records\":[");
        for (n, &i) in order.iter().enumerate() {
            if n > 0 {
                json.push(b',');
            }
            record::render(w, r, &events[i], &mut json);
        }
        json.extend_from_slice(b"]}");

        let stamp = DateTime::from_timestamp(d0 + s * SLOT, 0)
            .expect("in range")
            .format("%Y%m%dT%H%MZ");
        let name = format!(
            "{acct}_CloudTrail_{region}_{stamp}_{}.json.gz",
            record::file_suffix(&mut rng)
        );
        let path = dir.join(name);
        let mut gz = GzEncoder::new(Vec::with_capacity(json.len() / 6), Compression::new(6));
        gz.write_all(&json).map_err(io_err(&path))?;
        let bytes = gz.finish().map_err(io_err(&path))?;
        std::fs::write(&path, bytes).map_err(io_err(&path))?;

        st.files += 1;
        st.records += order.len() as u64;
        st.dups += extra[k].len() as u64;
    }
    for e in &events {
        if w.apis[usize::from(e.api)].cat == Cat::Data {
            st.data += 1;
        } else {
            st.mgmt += 1;
        }
    }
    st.first = events.first().map(|e| e.t);
    st.last = events.last().map(|e| e.t);
    Ok(st)
}

/// Writes a synthetic trail and `labels.json` under `out`, reporting
/// `progress(days_done, days_total)` as days complete (from worker threads,
/// with `days_done` increasing).
///
/// `out` may exist but must not contain `AWSLogs/` (fails with
/// [`SimError::OutputExists`]), so the summary always describes every file
/// under it.
pub fn simulate(
    cfg: &SimConfig,
    out: &Path,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> Result<SimSummary, SimError> {
    cfg.validate()?;
    let logs = out.join("AWSLogs");
    if logs.exists() {
        return Err(SimError::OutputExists { path: logs });
    }
    crate::state::create_folder(out).map_err(io_err(out))?;
    let world = World::shipped(cfg.world);
    let plan = model::Plan::new(cfg, world);

    let n_accounts = cfg.accounts.map_or(world.accounts.len(), |n| {
        world.accounts.len().min(n as usize)
    });
    let n_regions = world.regions.len();
    let kept: Vec<&str> = world.accounts[..n_accounts]
        .iter()
        .map(|a| a.id.as_str())
        .collect();
    let units: Vec<(u32, usize, usize)> = (0..cfg.days)
        .flat_map(|d| (0..n_accounts).flat_map(move |a| (0..n_regions).map(move |r| (d, a, r))))
        .collect();
    let per_day = (n_accounts * n_regions) as u32;
    let total = u64::from(cfg.days);
    // (units finished per day, days fully done so far); progress is reported
    // under the lock so callers see a monotone count.
    let tracker = Mutex::new((vec![0u32; cfg.days as usize], 0u64));
    let stats: Vec<UnitStats> = units
        .par_iter()
        .map(|&(d, a, r)| {
            let st = write_unit(cfg, world, &plan, out, d, a, r)?;
            let mut t = tracker.lock().unwrap_or_else(|e| e.into_inner());
            t.0[d as usize] += 1;
            if t.0[d as usize] == per_day {
                t.1 += 1;
                progress(t.1, total);
            }
            Ok(st)
        })
        .collect::<Result<_, SimError>>()?;

    let mut s = UnitStats::default();
    for u in &stats {
        s.files += u.files;
        s.records += u.records;
        s.mgmt += u.mgmt;
        s.data += u.data;
        s.dups += u.dups;
        s.first = match (s.first, u.first) {
            (Some(x), Some(y)) => Some(x.min(y)),
            (x, y) => x.or(y),
        };
        s.last = s.last.max(u.last);
    }
    let span_start = model::day_start(cfg, 0);
    let ts = |t: i64| DateTime::from_timestamp(t, 0).expect("in range");
    let summary = SimSummary {
        files: s.files,
        records_written: s.records,
        management_events: s.mgmt,
        data_events: s.data,
        duplicate_deliveries: s.dups,
        first_event: ts(s.first.unwrap_or(span_start)),
        last_event: ts(s.last.unwrap_or(span_start)),
        accounts: kept.iter().map(|a| a.to_string()).collect(),
        regions: world.regions.clone(),
    };
    let in_trail = |l: &Label| kept.contains(&l.account.as_str());
    let labels = Labels {
        config: cfg.clone(),
        summary: summary.clone(),
        incidents: model::incident_labels(world, &plan)
            .into_iter()
            .filter(in_trail)
            .collect(),
        decoys: model::decoy_labels(cfg, world, &plan)
            .into_iter()
            .filter(in_trail)
            .collect(),
    };
    let path = out.join(crate::ingest::LABELS_FILE);
    let tmp = out.join("labels.json.tmp");
    let mut text = serde_json::to_vec_pretty(&labels)?;
    text.push(b'\n');
    std::fs::write(&tmp, text).map_err(io_err(&tmp))?;
    std::fs::rename(&tmp, &path).map_err(io_err(&path))?;
    Ok(summary)
}
