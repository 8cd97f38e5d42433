//! Evaluation as a use case: detection on simulated trails scored against their `labels.json`.
//!
//! A finding *matches* a label when they share the account, their windows overlap (with
//! [`SLACK`] on both sides: windows are bucketed) and they name the same principal or share an
//! API. A label is *recalled* when a finding of its kind matches it. A finding is a true
//! positive when it matches any incident (a call-rate spike during an IAM burst points at a
//! real incident); otherwise it is a false positive, and a *decoy hit* when it matches a decoy.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

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
        path: trail.join(crate::ingest::LABELS_FILE),
        reason: "the simulator wrote no readable labels".into(),
    })?;
    Ok((labels, false))
}

fn read_labels(trail: &Path) -> Option<Labels> {
    std::fs::read(trail.join(crate::ingest::LABELS_FILE))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
}

/// The labels of a trail another generator wrote (`judge/trailgen.py`): the same incident and
/// decoy records as `trailsight simulate`'s, with the trail's period and accounts instead of
/// the simulator's config.
#[derive(Debug, Deserialize)]
struct ForeignLabels {
    start: chrono::NaiveDate,
    days: u32,
    #[serde(default)]
    seed: u64,
    #[serde(default)]
    scale: Option<f64>,
    #[serde(default)]
    accounts: Vec<String>,
    incidents: Vec<Label>,
    decoys: Vec<Label>,
}

impl ForeignLabels {
    fn into_labels(self) -> Labels {
        let start = self.start.and_hms_opt(0, 0, 0).expect("midnight").and_utc();
        Labels {
            config: SimConfig {
                days: self.days,
                seed: self.seed,
                scale: self.scale.unwrap_or(1.0),
                start: self.start,
                ..SimConfig::default()
            },
            summary: SimSummary {
                files: 0,
                records_written: 0,
                management_events: 0,
                data_events: 0,
                duplicate_deliveries: 0,
                first_event: start,
                last_event: start + chrono::Duration::days(i64::from(self.days)),
                accounts: self.accounts,
                regions: Vec::new(),
            },
            incidents: self.incidents,
            decoys: self.decoys,
        }
    }
}

/// Reads a labels.json written by `trailsight simulate`, or one of the same incident and decoy
/// records with the trail's `start`, `days` and `accounts` (another generator's).
pub fn load_labels(path: &Path) -> Result<Labels, PipelineError> {
    let bytes = std::fs::read(path).map_err(PipelineError::file(path))?;
    serde_json::from_slice::<Labels>(&bytes)
        .or_else(|own| {
            serde_json::from_slice::<ForeignLabels>(&bytes)
                .map(ForeignLabels::into_labels)
                .map_err(|foreign| (own, foreign))
        })
        .map_err(|(own, foreign)| PipelineError::File {
            path: path.to_path_buf(),
            reason: format!(
                "not a labels.json of `trailsight simulate` ({own}) nor of incidents and decoys with start and days ({foreign})"
            ),
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
        &IngestOptions::for_test_data(),
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

/// Incident-level scores of nightly replays against a trail's labels: what an SRE sees.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct IncidentScore {
    /// Nights replayed (checked, not warming up).
    pub nights: usize,
    /// Accounts in the trail.
    pub accounts: usize,
    /// Incidents raised.
    pub incidents: usize,
    /// Of which match a labelled incident (one of their findings matches it).
    pub true_incidents: usize,
    /// Of which match none.
    pub false_incidents: usize,
    /// False incidents that match a labelled decoy.
    pub decoy_incidents: usize,
    /// Labelled incidents in the replayed nights.
    pub labels: usize,
    /// Of which an incident matches.
    pub recalled: usize,
    /// Recall per labelled kind.
    pub per_kind: BTreeMap<String, KindRecall>,
    /// Decoys per family and how many an incident matched.
    pub per_family: BTreeMap<String, FamilyScore>,
    /// Alerting findings raised.
    pub findings: usize,
    /// Of which match a labelled incident.
    pub true_findings: usize,
    /// Scores of the true incidents.
    pub true_scores: Vec<f64>,
    /// Scores of the false incidents.
    pub false_scores: Vec<f64>,
    /// The first night (1-based day of the trail) with a finding.
    pub first_finding_day: Option<u32>,
}

/// Recall of one labelled kind.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct KindRecall {
    /// Labelled incidents.
    pub labels: usize,
    /// Of which an incident matched.
    pub recalled: usize,
}

/// One decoy family.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct FamilyScore {
    /// Labelled decoys.
    pub decoys: usize,
    /// Of which a false incident matched (each one a false alarm a user would have seen).
    pub flagged: usize,
}

impl IncidentScore {
    /// Scores one night: its incidents (and their findings) against the labels that overlap it.
    pub fn of(
        incidents: &[crate::incident::Incident],
        findings: &[Finding],
        labels: &Labels,
    ) -> IncidentScore {
        let by_id: BTreeMap<&str, &Finding> = findings.iter().map(|f| (f.id.as_str(), f)).collect();
        let members = |i: &crate::incident::Incident| -> Vec<&Finding> {
            i.finding_ids()
                .filter_map(|id| by_id.get(id).copied())
                .collect()
        };
        let mut s = IncidentScore {
            incidents: incidents.len(),
            findings: findings.len(),
            ..Default::default()
        };
        s.true_findings = findings
            .iter()
            .filter(|f| labels.incidents.iter().any(|l| matches(f, l)))
            .count();
        for i in incidents {
            let fs = members(i);
            let hits = |l: &Label| fs.iter().any(|f| matches(f, l));
            if labels.incidents.iter().any(hits) {
                s.true_incidents += 1;
                s.true_scores.push(i.score);
            } else {
                s.false_incidents += 1;
                s.false_scores.push(i.score);
                if labels.decoys.iter().any(hits) {
                    s.decoy_incidents += 1;
                }
            }
        }
        s
    }

    /// Adds another night's counts.
    pub fn add(&mut self, o: &IncidentScore) {
        self.incidents += o.incidents;
        self.true_incidents += o.true_incidents;
        self.false_incidents += o.false_incidents;
        self.decoy_incidents += o.decoy_incidents;
        self.findings += o.findings;
        self.true_findings += o.true_findings;
        self.true_scores.extend(&o.true_scores);
        self.false_scores.extend(&o.false_scores);
    }

    /// Recall per label and per family over the whole replay: a label counts when it falls in
    /// a checked night, and is recalled when an incident of any night matches it.
    pub fn finish(&mut self, labels: &Labels, nights: &[super::backtest::Night]) {
        let checked: Vec<TimeRange> = nights
            .iter()
            .filter(|n| n.warming_up.is_none())
            .map(|n| {
                let s = super::run::day_start(n.date);
                TimeRange::new(s, s + crate::time::DAY_SECS)
            })
            .collect();
        self.nights = checked.len();
        let mut accounts: Vec<&str> = labels
            .incidents
            .iter()
            .chain(&labels.decoys)
            .map(|l| l.account.as_str())
            .chain(labels.summary.accounts.iter().map(String::as_str))
            .collect();
        accounts.sort();
        accounts.dedup();
        self.accounts = accounts.len().max(1);
        let in_checked = |l: &Label| {
            let w = TimeRange::new(l.start.timestamp(), l.end.timestamp());
            checked.iter().any(|c| c.overlaps(&w, 0))
        };
        let raised: Vec<(&crate::incident::Incident, Vec<&Finding>)> = nights
            .iter()
            .flat_map(|n| {
                let by_id: BTreeMap<&str, &Finding> =
                    n.triage.active.iter().map(|f| (f.id.as_str(), f)).collect();
                n.incidents.iter().map(move |i| {
                    let fs: Vec<&Finding> = i
                        .finding_ids()
                        .filter_map(|id| by_id.get(id).copied())
                        .collect();
                    (i, fs)
                })
            })
            .collect();
        let matched = |l: &Label| {
            raised
                .iter()
                .any(|(_, fs)| fs.iter().any(|f| matches(f, l)))
        };
        // A decoy is flagged by a false incident: an incident that points at a labelled one is
        // not a false alarm because a decoy happened in the same hour with a shared API.
        let is_true = |fs: &[&Finding]| {
            labels
                .incidents
                .iter()
                .any(|l| fs.iter().any(|f| matches(f, l)))
        };
        let falsely_matched = |l: &Label| {
            raised
                .iter()
                .any(|(_, fs)| !is_true(fs) && fs.iter().any(|f| matches(f, l)))
        };
        for l in labels.incidents.iter().filter(|l| in_checked(l)) {
            let k = self.per_kind.entry(l.kind.clone()).or_default();
            k.labels += 1;
            self.labels += 1;
            if matched(l) {
                k.recalled += 1;
                self.recalled += 1;
            }
        }
        for l in labels.decoys.iter().filter(|l| in_checked(l)) {
            let family = family_of(l);
            let f = self.per_family.entry(family).or_default();
            f.decoys += 1;
            if falsely_matched(l) {
                f.flagged += 1;
            }
        }
        self.first_finding_day = nights
            .iter()
            .position(|n| !n.triage.active.is_empty())
            .map(|i| {
                let first = labels.config.start;
                (nights[i].date - first).num_days() as u32 + 1
            });
    }

    /// Incidents matching a labelled incident / incidents raised (1 when none were raised).
    pub fn precision(&self) -> f64 {
        ratio(self.true_incidents, self.incidents)
    }

    /// Labelled incidents matched / labelled incidents.
    pub fn recall(&self) -> f64 {
        ratio(self.recalled, self.labels)
    }

    /// How well the score ranks: the chance that a true incident outscores a false one (ties
    /// count half; the area under the ROC curve). `None` without both kinds.
    pub fn ranking(&self) -> Option<f64> {
        if self.true_scores.is_empty() || self.false_scores.is_empty() {
            return None;
        }
        let mut wins = 0.0;
        for t in &self.true_scores {
            for f in &self.false_scores {
                wins += match t.total_cmp(f) {
                    std::cmp::Ordering::Greater => 1.0,
                    std::cmp::Ordering::Equal => 0.5,
                    std::cmp::Ordering::Less => 0.0,
                };
            }
        }
        Some(wins / (self.true_scores.len() * self.false_scores.len()) as f64)
    }

    /// True and false incidents scoring at least `min`: what a threshold there would keep.
    pub fn at_or_above(&self, min: f64) -> (usize, usize) {
        let n = |v: &[f64]| v.iter().filter(|&&x| x >= min).count();
        (n(&self.true_scores), n(&self.false_scores))
    }

    /// False incidents per account per week of checked nights.
    pub fn false_per_account_week(&self) -> f64 {
        if self.nights == 0 {
            return 0.0;
        }
        self.false_incidents as f64 / self.accounts as f64 / (self.nights as f64 / 7.0)
    }
}

/// The scenario family of a decoy label: the world's family, or else the detector kind it
/// tempts.
fn family_of(l: &Label) -> String {
    l.family.clone().unwrap_or_else(|| l.kind.clone())
}

/// One seed's nightly replay.
#[derive(Debug, Clone, Serialize)]
pub struct SeedNights {
    /// The seed.
    pub seed: u64,
    /// Its incident-level score.
    pub score: IncidentScore,
}

/// What [`eval_nightly`] measured.
#[derive(Debug, Clone, Serialize)]
pub struct NightlyEval {
    /// All seeds together.
    pub total: IncidentScore,
    /// Per seed.
    pub per_seed: Vec<SeedNights>,
}

/// Simulates one trail per seed (`template` gives the world, days and scale), ingests it, and
/// replays it night by night from day `first_day` (1-based) to the last, each night against
/// baselines of the nights before it, scoring the incidents an SRE would have seen. Trails
/// and states are kept in `work` and reused when their settings match.
pub fn eval_nightly(
    cfg: &Config,
    template: &SimConfig,
    seeds: &[u64],
    first_day: u32,
    work: &Path,
    progress: Progress<'_>,
) -> Result<NightlyEval, PipelineError> {
    super::create_dir(work)?;
    let mut total = IncidentScore::default();
    let mut per_seed = Vec::new();
    for &seed in seeds {
        let sim = SimConfig {
            seed,
            ..template.clone()
        };
        let nights = replay_seed(cfg, &sim, first_day, work, progress)?;
        let labels = read_labels(&work.join(format!("trail-{seed}"))).ok_or_else(|| {
            PipelineError::File {
                path: work.join(format!("trail-{seed}/labels.json")),
                reason: "unreadable labels".into(),
            }
        })?;
        let s = score_nights(
            &nights,
            &labels,
            &work.join(format!("incidents-{seed}.jsonl")),
        )?;
        total.merge(&s);
        per_seed.push(SeedNights { seed, score: s });
    }
    Ok(NightlyEval { total, per_seed })
}

/// Scores replayed nights against their labels and writes the verdict of every incident.
fn score_nights(
    nights: &[super::backtest::Night],
    labels: &Labels,
    verdicts: &Path,
) -> Result<IncidentScore, PipelineError> {
    let mut s = IncidentScore::default();
    for n in nights {
        s.add(&IncidentScore::of(&n.incidents, &n.triage.active, labels));
    }
    s.finish(labels, nights);
    write_verdicts(verdicts, nights, labels)?;
    tracing::info!(
        seed = labels.config.seed,
        incidents = s.incidents,
        false_incidents = s.false_incidents,
        recall = s.recall(),
        "trail replayed"
    );
    Ok(s)
}

impl IncidentScore {
    /// Adds another trail's whole replay (its nights, labels and recall as well).
    fn merge(&mut self, s: &IncidentScore) {
        let total = self;
        total.add(s);
        total.nights += s.nights;
        total.accounts = total.accounts.max(s.accounts);
        total.labels += s.labels;
        total.recalled += s.recalled;
        for (k, v) in &s.per_kind {
            let t = total.per_kind.entry(k.clone()).or_default();
            t.labels += v.labels;
            t.recalled += v.recalled;
        }
        for (k, v) in &s.per_family {
            let t = total.per_family.entry(k.clone()).or_default();
            t.decoys += v.decoys;
            t.flagged += v.flagged;
        }
        total.first_finding_day = match (total.first_finding_day, s.first_finding_day) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
    }
}

/// Replays trails another generator wrote — folders holding `AWSLogs/` and a `labels.json`
/// ([`load_labels`]) — night by night from day `first_day`, like [`eval_nightly`]: the judge
/// the project did not write. States are kept in `work` (one per trail, reused while they hold
/// events).
pub fn eval_trails(
    cfg: &Config,
    trails: &[PathBuf],
    first_day: u32,
    work: &Path,
    progress: Progress<'_>,
) -> Result<NightlyEval, PipelineError> {
    super::create_dir(work)?;
    let mut total = IncidentScore::default();
    let mut per_seed = Vec::new();
    for (i, trail) in trails.iter().enumerate() {
        let labels = load_labels(&trail.join(crate::ingest::LABELS_FILE))?;
        let name = trail
            .file_name()
            .map_or_else(|| format!("trail{i}"), |n| n.to_string_lossy().into_owned());
        let sim = &labels.config;
        let nights = ingest_and_replay(
            cfg,
            &trail.join("AWSLogs"),
            &work.join(format!("state-{name}")),
            |stored| stored > 0,
            sim,
            first_day,
            progress,
        )?;
        let s = score_nights(
            &nights,
            &labels,
            &work.join(format!("incidents-{name}.jsonl")),
        )?;
        total.merge(&s);
        per_seed.push(SeedNights {
            seed: sim.seed,
            score: s,
        });
    }
    Ok(NightlyEval { total, per_seed })
}

/// The nights of one simulated trail (simulated and ingested under `work` when needed).
pub fn replay_seed(
    cfg: &Config,
    sim: &SimConfig,
    first_day: u32,
    work: &Path,
    progress: Progress<'_>,
) -> Result<Vec<super::backtest::Night>, PipelineError> {
    let trail = work.join(format!("trail-{}", sim.seed));
    let state_dir = work.join(format!("state-{}", sim.seed));
    if read_labels(&trail).is_none_or(|l| l.config != *sim) {
        let _ = std::fs::remove_dir_all(&trail);
        let _ = std::fs::remove_dir_all(&state_dir);
    }
    let (labels, _) = simulate_or_reuse(sim, &trail, progress)?;
    ingest_and_replay(
        cfg,
        &trail.join("AWSLogs"),
        &state_dir,
        |stored| stored == labels.summary.management_events,
        sim,
        first_day,
        progress,
    )
}

/// Ingests `logs` into a fresh state at `state_dir` unless the state there is `current` (given
/// its stored event count), then replays it night by night from day `first_day` (1-based) of
/// `sim`'s days.
fn ingest_and_replay(
    cfg: &Config,
    logs: &Path,
    state_dir: &Path,
    current: impl Fn(u64) -> bool,
    sim: &SimConfig,
    first_day: u32,
    progress: Progress<'_>,
) -> Result<Vec<super::backtest::Night>, PipelineError> {
    let state = StateDir::new(state_dir);
    let reuse = crate::rollup::Store::open(&state).is_ok_and(|s| current(s.total_events()));
    if !reuse {
        let _ = std::fs::remove_dir_all(state_dir);
        super::ingest::ingest_local(
            &state,
            &[logs.to_path_buf()],
            &IngestOptions::for_test_data(),
            progress,
        )?;
    }
    let store = crate::rollup::Store::open(&state)?;
    let first = sim.start + chrono::Days::new(u64::from(first_day.max(1) - 1));
    let last = sim.start + chrono::Days::new(u64::from(sim.days.max(1) - 1));
    super::backtest::replay(&store, cfg, &super::backtest::days(first, last), progress)
}

/// Writes every replayed incident with the labels it matches (`true`: a labelled incident;
/// otherwise the decoys it hit, if any), one JSON object per line, for reading what was raised.
fn write_verdicts(
    path: &Path,
    nights: &[super::backtest::Night],
    labels: &Labels,
) -> Result<(), PipelineError> {
    let mut text = String::new();
    for n in nights {
        let by_id: BTreeMap<&str, &Finding> =
            n.triage.active.iter().map(|f| (f.id.as_str(), f)).collect();
        for i in &n.incidents {
            let fs: Vec<&Finding> = i
                .finding_ids()
                .filter_map(|id| by_id.get(id).copied())
                .collect();
            let hit = |ls: &[Label]| -> Vec<String> {
                ls.iter()
                    .filter(|l| fs.iter().any(|f| matches(f, l)))
                    .map(|l| l.id.clone())
                    .collect()
            };
            let incidents = hit(&labels.incidents);
            let line = serde_json::json!({
                "night": n.date,
                "true": !incidents.is_empty(),
                "labels": incidents,
                "decoys": hit(&labels.decoys),
                "incident": i,
            });
            text.push_str(&line.to_string());
            text.push('\n');
        }
    }
    crate::state::write_atomic(path, text.as_bytes())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::IncidentScore;

    fn scores(t: &[f64], f: &[f64]) -> IncidentScore {
        IncidentScore {
            true_scores: t.to_vec(),
            false_scores: f.to_vec(),
            ..Default::default()
        }
    }

    #[test]
    fn ranking_is_the_chance_a_true_incident_outscores_a_false_one() {
        // 90 beats 85 and 70, 80 beats 70 only: 3 of 4 pairs.
        assert_eq!(scores(&[90.0, 80.0], &[85.0, 70.0]).ranking(), Some(0.75));
        // Saturated scores rank nothing: every pair a tie.
        assert_eq!(scores(&[100.0; 3], &[100.0; 2]).ranking(), Some(0.5));
        assert_eq!(scores(&[60.0], &[95.0]).ranking(), Some(0.0));
        assert_eq!(scores(&[], &[95.0]).ranking(), None);
        assert_eq!(scores(&[95.0], &[]).ranking(), None);
    }

    #[test]
    fn a_threshold_keeps_what_scores_at_least_it() {
        let s = scores(&[99.0, 92.0, 88.4, 75.0], &[89.9, 84.0, 70.0]);
        assert_eq!(s.at_or_above(70.0), (4, 3));
        assert_eq!(s.at_or_above(88.4), (3, 1));
        assert_eq!(s.at_or_above(90.0), (2, 0));
        assert_eq!(s.at_or_above(100.0), (0, 0));
    }
}
