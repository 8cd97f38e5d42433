//! Evaluation as a use case: detection on simulated trails scored against their `labels.json`.
//!
//! A finding *matches* a label when they share the account, their windows overlap (with
//! [`SLACK`] on both sides: windows are bucketed) and they name the same principal or share an
//! API. A label is *recalled* when a finding of its kind matches it. A finding is a true
//! positive when it matches any incident (a call-rate spike during an IAM burst points at a
//! real incident); otherwise it is a false positive, and a *decoy hit* when it matches a decoy.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::{PipelineError, Progress};
use crate::config::Config;
use crate::finding::Finding;
use crate::ingest::IngestOptions;
use crate::simulate::{self, Label, Labels, SimConfig, SimSummary};
use crate::state::StateDir;
use crate::time::TimeRange;

/// Tolerance on window edges, in seconds.
pub const SLACK: i64 = 1800;

/// Whether a finding points at a labelled window.
pub fn matches(f: &Finding, l: &Label) -> bool {
    if f.account != l.account {
        return false;
    }
    let label = crate::time::TimeRange::new(l.start.timestamp(), l.end.timestamp());
    if !f.window().overlaps(&label, SLACK) {
        return false;
    }
    let same_principal = l.principal.is_some() && f.principal == l.principal;
    let shared_api = f.event_names.iter().any(|n| l.event_names.contains(n));
    same_principal || shared_api
}

/// Recall of one kind.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct KindScore {
    /// Incidents of this kind.
    pub labels: usize,
    /// Of which a finding of this kind matched.
    pub recalled: usize,
    /// Findings of this kind.
    pub findings: usize,
    /// Of which matched no incident.
    pub false_positives: usize,
}

/// Scores of one or more runs.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct EvalScore {
    /// Per finding kind.
    pub kinds: BTreeMap<String, KindScore>,
    /// All findings.
    pub findings: usize,
    /// Findings matching an incident.
    pub true_positives: usize,
    /// Findings matching none.
    pub false_positives: usize,
    /// False positives matching a decoy.
    pub decoy_hits: usize,
    /// Incidents.
    pub incidents: usize,
    /// Incidents recalled by a finding of their kind.
    pub recalled: usize,
}

impl EvalScore {
    /// Scores one run.
    pub fn of(findings: &[Finding], incidents: &[Label], decoys: &[Label]) -> EvalScore {
        let mut s = EvalScore {
            incidents: incidents.len(),
            findings: findings.len(),
            ..Default::default()
        };
        for l in incidents {
            let k = s.kinds.entry(l.kind.clone()).or_default();
            k.labels += 1;
            if findings
                .iter()
                .any(|f| f.kind.as_str() == l.kind && matches(f, l))
            {
                k.recalled += 1;
                s.recalled += 1;
            }
        }
        for f in findings {
            let k = s.kinds.entry(f.kind.as_str().to_string()).or_default();
            k.findings += 1;
            if incidents.iter().any(|l| matches(f, l)) {
                s.true_positives += 1;
            } else {
                s.false_positives += 1;
                k.false_positives += 1;
                if decoys.iter().any(|l| matches(f, l)) {
                    s.decoy_hits += 1;
                }
            }
        }
        s
    }

    /// Adds another run's counts.
    pub fn add(&mut self, o: &EvalScore) {
        for (name, k) in &o.kinds {
            let m = self.kinds.entry(name.clone()).or_default();
            m.labels += k.labels;
            m.recalled += k.recalled;
            m.findings += k.findings;
            m.false_positives += k.false_positives;
        }
        self.findings += o.findings;
        self.true_positives += o.true_positives;
        self.false_positives += o.false_positives;
        self.decoy_hits += o.decoy_hits;
        self.incidents += o.incidents;
        self.recalled += o.recalled;
    }

    /// Recalled incidents / incidents.
    pub fn recall(&self) -> f64 {
        ratio(self.recalled, self.incidents)
    }

    /// True positives / findings.
    pub fn precision(&self) -> f64 {
        ratio(self.true_positives, self.findings)
    }

    /// Harmonic mean of precision and recall.
    pub fn f1(&self) -> f64 {
        let (p, r) = (self.precision(), self.recall());
        if p + r == 0.0 {
            0.0
        } else {
            2.0 * p * r / (p + r)
        }
    }

    /// A table for the terminal and the README.
    pub fn table(&self) -> String {
        use std::fmt::Write;
        let mut o = String::new();
        let _ = writeln!(
            o,
            "| kind | incidents | recalled | recall | findings | false positives |"
        );
        let _ = writeln!(o, "|---|---:|---:|---:|---:|---:|");
        for (name, k) in &self.kinds {
            let recall = if k.labels == 0 {
                "–".to_string()
            } else {
                format!("{:.2}", ratio(k.recalled, k.labels))
            };
            let _ = writeln!(
                o,
                "| {name} | {} | {} | {recall} | {} | {} |",
                k.labels, k.recalled, k.findings, k.false_positives
            );
        }
        let _ = writeln!(
            o,
            "| **all** | {} | {} | {:.2} | {} | {} |\n\nprecision {:.2}, recall {:.2}, F1 {:.2}, decoys flagged {}",
            self.incidents,
            self.recalled,
            self.recall(),
            self.findings,
            self.false_positives,
            self.precision(),
            self.recall(),
            self.f1(),
            self.decoy_hits
        );
        o
    }
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 {
        1.0
    } else {
        a as f64 / b as f64
    }
}

/// Simulates `cfg` into `trail`, or reuses the trail already there when it was made with the
/// same settings (its labels say so). Returns the summary and whether it was reused; a trail
/// made with other settings is refused rather than mixed.
pub fn simulate_or_reuse(
    cfg: &SimConfig,
    trail: &Path,
    progress: Progress<'_>,
) -> Result<(Labels, bool), PipelineError> {
    cfg.validate()?;
    if let Some(l) = read_labels(trail).filter(|l| l.config == *cfg) {
        return Ok((l, true));
    }
    if trail.join("AWSLogs").exists() {
        return Err(PipelineError::Invalid(format!(
            "{} holds a trail simulated with other settings; remove it or pick another --out",
            trail.display()
        )));
    }
    simulate::simulate(cfg, trail, progress)?;
    let labels = read_labels(trail).ok_or_else(|| PipelineError::File {
        path: trail.join("labels.json"),
        reason: "the simulator wrote no readable labels".into(),
    })?;
    Ok((labels, false))
}

fn read_labels(trail: &Path) -> Option<Labels> {
    std::fs::read(trail.join("labels.json"))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
}

/// Reads a labels.json written by `trailsight simulate`.
pub fn load_labels(path: &Path) -> Result<Labels, PipelineError> {
    let bytes = std::fs::read(path).map_err(PipelineError::file(path))?;
    serde_json::from_slice(&bytes).map_err(|e| PipelineError::File {
        path: path.to_path_buf(),
        reason: format!("not a labels.json written by `trailsight simulate`: {e}"),
    })
}

/// The simulator's summary of a trail's labels.
pub fn summary(labels: &Labels) -> &SimSummary {
    &labels.summary
}

/// Simulates (or reuses), ingests, fits and detects one seed under `work`; returns its score
/// and findings.
pub fn eval_seed(
    work: &Path,
    cfg: &Config,
    sim: &SimConfig,
    progress: Progress<'_>,
) -> Result<(EvalScore, Vec<Finding>), PipelineError> {
    let trail = work.join(format!("trail-{}", sim.seed));
    let state_dir = work.join(format!("state-{}", sim.seed));
    if read_labels(&trail).is_none_or(|l| l.config != *sim) {
        let _ = std::fs::remove_dir_all(&trail);
    }
    let (labels, _) = simulate_or_reuse(sim, &trail, progress)?;
    let _ = std::fs::remove_dir_all(&state_dir);
    let state = StateDir::new(&state_dir);
    super::ingest::ingest_local(
        &state,
        &[trail.join("AWSLogs")],
        &IngestOptions::default(),
        progress,
    )?;
    let (from, to) = simulate::evaluation_window(sim);
    super::fit::fit(&state, cfg, from.timestamp())?;
    let window = TimeRange::new(from.timestamp(), to.timestamp());
    let d = super::detect::detect_into(
        &state,
        cfg,
        window,
        &work.join(format!("findings-{}", sim.seed)),
    )?;
    Ok((
        EvalScore::of(&d.findings, &labels.incidents, &labels.decoys),
        d.findings,
    ))
}

/// What [`eval`] measured.
#[derive(Debug, Clone, Serialize)]
pub struct EvalReport {
    /// All seeds together.
    pub total: EvalScore,
    /// Per seed.
    pub per_seed: Vec<SeedScore>,
}

/// One seed's score.
#[derive(Debug, Clone, Serialize)]
pub struct SeedScore {
    /// The seed.
    pub seed: u64,
    /// Its score.
    pub score: EvalScore,
}

/// Evaluates `cfg` on one simulated trail per seed (`template` gives days and scale) in `work`
/// (a temporary folder, removed afterwards, when `None`).
pub fn eval(
    cfg: &Config,
    template: &SimConfig,
    seeds: &[u64],
    work: Option<&Path>,
    progress: Progress<'_>,
) -> Result<EvalReport, PipelineError> {
    let dir: PathBuf = match work {
        Some(w) => w.to_path_buf(),
        None => std::env::temp_dir().join(format!("trailsight-eval-{}", std::process::id())),
    };
    super::create_dir(&dir)?;
    let mut total = EvalScore::default();
    let mut per_seed = Vec::new();
    for &seed in seeds {
        let sim = SimConfig {
            seed,
            ..template.clone()
        };
        let (s, _) = eval_seed(&dir, cfg, &sim, progress)?;
        tracing::info!(
            seed,
            recall = s.recall(),
            precision = s.precision(),
            "seed evaluated"
        );
        total.add(&s);
        per_seed.push(SeedScore { seed, score: s });
    }
    if work.is_none() {
        let _ = std::fs::remove_dir_all(&dir);
    }
    Ok(EvalReport { total, per_seed })
}
