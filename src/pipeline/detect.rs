//! Detection as a use case: read a window's rollups once, run the detectors, triage their
//! findings by the config's policy, and write the outputs of the run.

use std::path::Path;

use super::PipelineError;
use crate::baseline::Baselines;
use crate::catalog::Catalog;
use crate::config::Config;
use crate::detect::{self, DetectInput, Detector, Holes};
use crate::finding::Finding;
use crate::incident::{Incident, IncidentConfig};
use crate::policy::{Policy, Triage};
use crate::rollup::{Resolution, Store, StoreError};
use crate::state::StateDir;
use crate::time::TimeRange;

/// What a detection run produced, with the data-quality facts the report shows.
#[derive(Debug, Clone)]
pub struct Detection {
    /// The window, aligned to 5 minutes.
    pub window: TimeRange,
    /// Alerting findings, sorted by score, each with its incident id.
    pub findings: Vec<Finding>,
    /// The alerting findings grouped into incidents, highest score first.
    pub incidents: Vec<Incident>,
    /// Hours in which an account/region delivered nothing.
    pub silent_hours: Vec<(String, String, i64)>,
    /// Call series examined.
    pub series: usize,
    /// Events in the window.
    pub events: u64,
}

/// A window's rollups read once, for running detection on them several times (`tune`).
#[derive(Debug, Clone)]
pub struct Prepared {
    window: TimeRange,
    series: Vec<crate::rollup::CountSeries>,
    detail: crate::rollup::Rollup,
    holes: Holes,
}

impl Prepared {
    /// Reads `[window.start, window.end)`, aligned to 5 minutes, and the detail of
    /// [`crate::detect::LOOKBACK_SECS`] before it.
    pub fn load(store: &Store, window: TimeRange) -> Result<Prepared, StoreError> {
        let window = window.aligned();
        let series = store.series(window, Resolution::FiveMinutes)?;
        let detail = store.detail_rollup(TimeRange {
            start: window.start - crate::detect::LOOKBACK_SECS,
            end: window.end,
        })?;
        let holes = Holes::from_series(&series, window.start);
        Ok(Prepared {
            window,
            series,
            detail,
            holes,
        })
    }

    /// The aligned window.
    pub fn window(&self) -> TimeRange {
        self.window
    }

    /// Runs `detectors`, each down to its policy's floor, then triages their findings by the
    /// policy: thresholds and overrides, suppression rules, shadow mode. The detection's
    /// findings are the alerting ones.
    pub fn run(
        &self,
        baselines: &Baselines,
        catalog: &Catalog,
        detectors: &[Box<dyn Detector>],
        policy: &Policy,
        grouping: &IncidentConfig,
    ) -> (Detection, Triage) {
        let input = DetectInput {
            window: self.window,
            series: &self.series,
            detail: &self.detail,
            baselines,
            catalog,
            holes: &self.holes,
        };
        let findings = detect::run_all(detectors, &input, &|k| policy.detector(k).floor());
        let mut triage = policy.triage(findings, catalog);
        let incidents = crate::incident::group(&triage.active, grouping);
        let index = crate::incident::index(&incidents);
        for f in &mut triage.active {
            f.incident_id = index.get(f.id.as_str()).map(|i| i.to_string());
        }
        let events = self
            .series
            .iter()
            .flat_map(|s| s.calls.iter())
            .map(|&c| u64::from(c))
            .sum();
        let d = Detection {
            window: self.window,
            findings: triage.active.clone(),
            incidents,
            silent_hours: self.holes.silent_hours(),
            series: self.series.len(),
            events,
        };
        (d, triage)
    }

    /// [`Prepared::run`] with the config's detectors and policy.
    pub fn run_triaged(&self, baselines: &Baselines, cfg: &Config) -> (Detection, Triage) {
        let policy = cfg.policy();
        self.run(
            baselines,
            &cfg.catalog(),
            &cfg.detectors(&policy),
            &policy,
            &cfg.incidents,
        )
    }
}

/// The last stored day as a window, the default detection window.
pub fn last_day(store: &Store) -> Result<TimeRange, PipelineError> {
    let day = *store.days().last().ok_or(PipelineError::NoData)?;
    Ok(TimeRange::day(day))
}

/// Detects over `window` with the state's stored baselines and the config's overrides,
/// suppressions and shadow mode, and writes the outputs into `out` ([`write_outputs`]). The
/// detection's findings are the alerting ones.
pub fn detect_into(
    state: &StateDir,
    cfg: &Config,
    window: TimeRange,
    out: &Path,
) -> Result<Detection, PipelineError> {
    if window.end <= window.start {
        return Err(PipelineError::Invalid("--to must be after --from".into()));
    }
    let store = Store::open(state)?;
    let b = Baselines::load(state)?;
    if b.training_end.timestamp() > window.start {
        tracing::warn!(
            training_end = %crate::time::format_datetime(&b.training_end),
            "the baselines were trained on part of the detection window; incidents in it may look normal"
        );
    }
    let prepared = Prepared::load(&store, window)?;
    // A window with no stored event is not "0 findings" (issue 15).
    if prepared.series.is_empty() {
        let stored = match store.span() {
            Some(s) => format!(
                "the state holds {} .. {}",
                crate::time::format(s.start),
                crate::time::format(s.end)
            ),
            None => "the state holds no events".to_string(),
        };
        return Err(PipelineError::Empty(format!(
            "no stored event in the window {} .. {} ({stored})",
            crate::time::format(window.start),
            crate::time::format(window.end)
        )));
    }
    let (d, t) = prepared.run_triaged(&b, cfg);
    super::create_dir(out)?;
    write_outputs(out, &t, &d.incidents, cfg)?;
    Ok(d)
}

/// The configuration a detection used, saved beside its findings (the report shows it).
pub const CONFIG_FILE: &str = "config.toml";

/// Writes findings.jsonl and insights.json (alerting findings), incidents.jsonl (one incident
/// per line, highest score first), shadow.jsonl (shadow-mode detectors), suppressed.jsonl
/// (each line: rule index, reason, finding) and the configuration used ([`CONFIG_FILE`])
/// into `out`.
pub fn write_outputs(
    out: &Path,
    t: &Triage,
    incidents: &[Incident],
    cfg: &Config,
) -> Result<(), PipelineError> {
    let toml = cfg.to_toml().expect("the configuration serialises to TOML");
    crate::state::write_atomic(
        &out.join(CONFIG_FILE),
        format!(
            "# The configuration this detection used (trailsight {}).\n{toml}",
            env!("CARGO_PKG_VERSION")
        )
        .as_bytes(),
    )?;
    crate::incident::write_jsonl(&out.join("incidents.jsonl"), incidents)?;
    crate::finding::write_jsonl(&out.join("findings.jsonl"), &t.active)?;
    crate::finding::write_insights(&out.join("insights.json"), &t.active)?;
    crate::finding::write_jsonl(&out.join("shadow.jsonl"), &t.shadow)?;
    let mut text = String::new();
    for s in &t.suppressed {
        text.push_str(&serde_json::to_string(s).expect("a suppressed finding serialises"));
        text.push('\n');
    }
    crate::state::write_atomic(&out.join("suppressed.jsonl"), text.as_bytes())?;
    Ok(())
}
