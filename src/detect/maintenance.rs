//! `maintenance_gap`: every periodic job the baseline discovered (nightly snapshot, weekly key
//! rotation) is expected at its usual time; a run that did not happen, or happened far off its
//! time, is a finding — unless the account/region delivered no logs at all then, which is a
//! delivery hole (reported in the data-quality section), not a missed job.
//!
//! A run happened when the job's principal called anything in the account at its time (a
//! cleanup with nothing to delete that day does not call its delete API). The score grows with
//! the job's reliability and history: a job that ran 28 nights out of 28 and then did not is
//! worth waking up for; one that misses one night in ten is not watched (`min_reliability`).
//! Score = 60 + 35 · reliability⁴ · min(1, runs_seen / 14); an off-schedule run scores 0.8 of
//! that. Reliability leaves out the misses at the end of the baseline (an outage still going
//! on): the second night a disabled schedule does not run is checked like the first. The
//! p-value is the Laplace estimate of a miss, (misses + ½) / (runs expected + 1).

use serde::{Deserialize, Serialize};

use super::attribution::{self as at, Draft};
use super::{DetectConfigError, DetectInput, Detector, DetectorConfig};
use crate::baseline::{Period, PeriodicJob};
use crate::finding::details::MaintenanceGapDetails;
use crate::finding::{Details, Finding, FindingKind};

/// `[detectors.maintenance_gap]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MaintenanceConfig {
    /// Jobs that ran in fewer than this share of their expected slots are not watched.
    pub min_reliability: f64,
}

impl Default for MaintenanceConfig {
    fn default() -> Self {
        MaintenanceConfig {
            min_reliability: 0.9,
        }
    }
}

/// Maintenance-gap detector.
#[derive(Debug, Clone)]
pub struct MaintenanceGap(pub MaintenanceConfig);

fn job_score(j: &PeriodicJob) -> f64 {
    60.0 + 35.0 * j.reliability().powi(4) * (f64::from(j.runs_seen) / 14.0).min(1.0)
}

fn hhmm(t: i64) -> String {
    at::ts(t).format("%H:%M").to_string()
}

impl Detector for MaintenanceGap {
    fn min_history_days(&self) -> u32 {
        // a week: a job that runs Monday to Friday looks daily until a weekend was seen.
        crate::baseline::jobs::JOB_HISTORY_DAYS as u32
    }

    fn kind(&self) -> FindingKind {
        FindingKind::MaintenanceGap
    }

    fn detect(&self, input: &DetectInput<'_>, floor: f64) -> Vec<Finding> {
        let w = input.window;
        let mut out = Vec::new();
        for j in &input.baselines.jobs {
            if j.reliability() < self.0.min_reliability {
                continue;
            }
            let tol = i64::from(j.tolerance_minutes) * 60;
            let of_job = |k: &crate::rollup::ApiKey, dk: &crate::rollup::DetailKey| {
                k.account == j.account
                    && k.region == j.region
                    && k.event_source == j.event_source
                    && k.event_name == j.event_name
                    && !k.read_only
                    && dk.principal == j.principal
            };
            // The job ran when its principal called anything in the account at its time: a
            // cleanup with nothing to delete that day runs without calling its delete API.
            let ran = |k: &crate::rollup::ApiKey, dk: &crate::rollup::DetailKey| {
                k.account == j.account && dk.principal == j.principal
            };
            for t in j.expected_runs(w.start, w.end) {
                let on_time = at::rows(input.detail, t - tol, t + tol, ran);
                if !on_time.is_empty() {
                    continue;
                }
                if input.holes.silent(&j.account, &j.region, t - tol, t + tol) {
                    continue;
                }
                let day = t.div_euclid(86_400) * 86_400;
                let that_day = at::rows(
                    input.detail,
                    day.max(w.start),
                    (day + 86_400).min(w.end),
                    of_job,
                );
                let calls: u64 = that_day.iter().map(|r| u64::from(r.2.count)).sum();
                let misses = j.runs_expected.saturating_sub(j.runs_seen);
                let p = (f64::from(misses) + 0.5) / (f64::from(j.runs_expected) + 1.0);
                let mut score = job_score(j);
                let when = match j.period {
                    Period::Daily => format!("daily at {}", hhmm(t)),
                    Period::Workdays => format!("Monday to Friday at {}", hhmm(t)),
                    Period::Weekly { .. } => {
                        format!("weekly on {} at {}", at::ts(t).format("%A"), hhmm(t))
                    }
                };
                let what = if calls > 0 {
                    score *= 0.8;
                    let first = that_day.iter().map(|r| r.1.bucket).min().unwrap_or(t);
                    format!("ran off schedule at {} ({calls} calls)", hhmm(first))
                } else {
                    "did not run".to_string()
                };
                if score < floor {
                    continue;
                }
                let outage = match j.trailing_misses {
                    0 => String::new(),
                    1 => "; it also missed its run before".to_string(),
                    n => format!("; it also missed its {n} runs before"),
                };
                let explanation = format!(
                    "{} by {} ({} {}/{}), usually {when} (±{} min, {} of {} runs in the baseline, ~{} calls each), {what} on {}{outage}",
                    j.event_name,
                    j.principal,
                    j.event_source,
                    j.account,
                    j.region,
                    j.tolerance_minutes,
                    j.runs_seen,
                    j.runs_expected,
                    j.typical_calls,
                    at::ts(t).format("%Y-%m-%d")
                );
                let details = Details::MaintenanceGap(MaintenanceGapDetails {
                    expected_run: crate::time::format(t),
                    period: j.period,
                    ran_off_schedule: calls > 0,
                    runs_expected: j.runs_expected,
                    runs_seen: j.runs_seen,
                });
                let d = Draft {
                    kind: FindingKind::MaintenanceGap,
                    account: &j.account,
                    region: &j.region,
                    event_source: &j.event_source,
                    event_names: vec![j.event_name.clone()],
                    read_only: Some(false),
                    principal: Some(&j.principal),
                    error_code: None,
                    start: t - tol,
                    end: t + tol,
                    observed: 0.0,
                    expected: f64::from(j.typical_calls),
                    p,
                    score,
                    explanation,
                    details,
                };
                out.push(d.build(input, &that_day, None));
            }
        }
        merge_same_run(out)
    }
}

/// One job role missing several APIs of the same run (CreateSnapshot and DeleteSnapshot of the
/// nightly backup) is one finding.
fn merge_same_run(mut v: Vec<Finding>) -> Vec<Finding> {
    v.sort_by(|a, b| {
        (&a.account, &a.region, &a.principal, a.start, &a.event_names).cmp(&(
            &b.account,
            &b.region,
            &b.principal,
            b.start,
            &b.event_names,
        ))
    });
    let mut out: Vec<Finding> = Vec::new();
    for f in v {
        if let Some(last) = out.last_mut() {
            if last.account == f.account
                && last.region == f.region
                && last.principal == f.principal
                && last.start == f.start
            {
                last.event_names.extend(f.event_names);
                last.explanation.push_str("; also ");
                last.explanation.push_str(&f.explanation);
                if f.score > last.score {
                    last.score = f.score;
                    last.severity = f.severity;
                    last.p_value = f.p_value;
                }
                last.id = last.compute_id();
                continue;
            }
        }
        out.push(f);
    }
    out
}

impl DetectorConfig for MaintenanceConfig {
    const KIND: FindingKind = FindingKind::MaintenanceGap;
    const DEFAULT_MIN_SCORE: f64 = 60.0;

    fn build(&self) -> Result<Box<dyn Detector>, DetectConfigError> {
        if !(0.0..=1.0).contains(&self.min_reliability) {
            return Err(DetectConfigError::OutOfRange {
                detector: Self::KIND.as_str(),
                key: "min_reliability",
                value: self.min_reliability,
                allowed: "0 to 1",
            });
        }
        Ok(Box::new(MaintenanceGap(self.clone())))
    }
}
