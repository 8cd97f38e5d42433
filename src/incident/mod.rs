//! Incidents, the unit of alerting: the findings of one actor in one account, close in time,
//! told as one story. One attacker hour or one month-end batch is one incident however many
//! detectors it trips; an SRE reads one title, not forty findings.
//!
//! The rules, in order:
//! 1. Each finding has an **actor**: its principal; for a finding about an API rather than a
//!    principal, the principal behind at least half of the window's calls; otherwise the
//!    service in that account and region, so that several APIs of one service moving together
//!    with nobody dominating them (a poller or an integration stopping) are one story.
//! 2. Findings of the same account and actor join one incident when each starts within
//!    [`IncidentConfig::gap_minutes`] of the end of the incident so far (a chain: a slow
//!    attacker stays one incident as long as the pauses are shorter than the gap).
//! 3. The incident's score combines its kinds of evidence as independent: `100·(1 − Π(1 − s/100))`
//!    over the best finding of each kind, so two detectors agreeing outrank either alone but
//!    many findings of one kind do not add up; its severity is that score's band. Kinds that
//!    count the same calls are one piece of evidence, the better of them counting
//!    (`evidence`): an API's call-rate spike and the provisioning spike its `RunInstances`
//!    make, a stream's drop and the missed run of the same job.
//! 4. Its id is stable: a hash of the account, the actor and the first finding's start, so a
//!    re-run of the same day updates the incident rather than creating another.
//!
//! Pure: findings in, incidents out.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::finding::{Finding, FindingError, FindingKind, Severity};

/// Grouping settings (`[incidents]` in the config file).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IncidentConfig {
    /// Findings of one actor this close (minutes between one's end and the next one's start)
    /// are one incident.
    pub gap_minutes: u32,
    /// A finding about an API belongs to the principal behind at least this share of its calls.
    pub actor_share: f64,
}

impl Default for IncidentConfig {
    fn default() -> Self {
        IncidentConfig {
            gap_minutes: 120,
            actor_share: 0.5,
        }
    }
}

/// Who an incident is about.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type", content = "value")]
pub enum Actor {
    /// A principal (role, user, service) ARN.
    Principal(String),
    /// A service whose calls nobody dominates: `service in account/region`.
    Series(String),
}

impl Actor {
    /// The principal or series as written in titles.
    pub fn name(&self) -> &str {
        match self {
            Actor::Principal(p) | Actor::Series(p) => p,
        }
    }
}

/// One step of an incident's story: a finding, in time order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Step {
    /// When it started.
    #[serde(with = "crate::time::rfc3339_seconds")]
    pub at: DateTime<Utc>,
    /// The finding.
    pub finding_id: String,
    /// Its kind.
    pub kind: FindingKind,
    /// Its score.
    pub score: f64,
    /// The APIs involved.
    pub event_names: Vec<String>,
    /// What it says.
    pub summary: String,
}

/// One incident.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Incident {
    /// Stable id (16 hex digits).
    pub id: String,
    /// One line a human reads: who, what, how much, how fast.
    pub title: String,
    /// Who.
    pub actor: Actor,
    /// Account.
    pub account: String,
    /// Regions touched.
    pub regions: Vec<String>,
    /// Principals involved (the actor, and the top callers of its API findings).
    pub principals: Vec<String>,
    /// Start of the first finding.
    #[serde(with = "crate::time::rfc3339_seconds")]
    pub start: DateTime<Utc>,
    /// End of the last finding.
    #[serde(with = "crate::time::rfc3339_seconds")]
    pub end: DateTime<Utc>,
    /// 0–100 (rule 3 of the module documentation).
    pub score: f64,
    /// The band of the score.
    pub severity: Severity,
    /// The kinds of evidence, each once.
    pub kinds: Vec<FindingKind>,
    /// Its findings, in time order.
    pub storyline: Vec<Step>,
    /// Access keys seen in its findings.
    pub access_key_ids: Vec<String>,
}

impl Incident {
    /// The ids of its findings.
    pub fn finding_ids(&self) -> impl Iterator<Item = &str> {
        self.storyline.iter().map(|s| s.finding_id.as_str())
    }
}

/// The actor of a finding (rule 1).
pub fn actor_of(f: &Finding, cfg: &IncidentConfig) -> Actor {
    if let Some(p) = &f.principal {
        return Actor::Principal(p.clone());
    }
    match f.attributions.principal.first() {
        Some(a) if a.insight_share >= cfg.actor_share && !a.value.is_empty() => {
            Actor::Principal(a.value.clone())
        }
        _ => Actor::Series(format!("{} in {}/{}", f.event_source, f.account, f.region)),
    }
}

/// Groups findings into incidents (rules 1–4), highest score first; every finding lands in
/// exactly one incident.
pub fn group(findings: &[Finding], cfg: &IncidentConfig) -> Vec<Incident> {
    let gap = i64::from(cfg.gap_minutes) * 60;
    let mut by_actor: BTreeMap<(String, Actor), Vec<&Finding>> = BTreeMap::new();
    for f in findings {
        by_actor
            .entry((f.account.clone(), actor_of(f, cfg)))
            .or_default()
            .push(f);
    }
    let mut out = Vec::new();
    for ((account, actor), mut fs) in by_actor {
        fs.sort_by(|a, b| a.start.cmp(&b.start).then_with(|| a.id.cmp(&b.id)));
        let mut current: Vec<&Finding> = Vec::new();
        let mut end = i64::MIN;
        for f in fs {
            if !current.is_empty() && f.start.timestamp() > end.saturating_add(gap) {
                out.push(build(&account, &actor, &current));
                current.clear();
            }
            end = if current.is_empty() {
                f.end.timestamp()
            } else {
                end.max(f.end.timestamp())
            };
            current.push(f);
        }
        if !current.is_empty() {
            out.push(build(&account, &actor, &current));
        }
    }
    out.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then_with(|| a.start.cmp(&b.start))
            .then_with(|| a.id.cmp(&b.id))
    });
    out
}

/// The incident id of each finding, for `findings.jsonl`.
pub fn index(incidents: &[Incident]) -> BTreeMap<&str, &str> {
    incidents
        .iter()
        .flat_map(|i| i.finding_ids().map(move |f| (f, i.id.as_str())))
        .collect()
}

/// The incidents as JSON Lines, in the order given (highest score first from [`group`]).
pub fn to_jsonl(incidents: &[Incident]) -> String {
    let mut out = String::new();
    for i in incidents {
        out.push_str(&serde_json::to_string(i).expect("an incident serialises"));
        out.push('\n');
    }
    out
}

/// Writes `incidents.jsonl` atomically.
pub fn write_jsonl(path: &std::path::Path, incidents: &[Incident]) -> Result<(), FindingError> {
    crate::state::write_atomic(path, to_jsonl(incidents).as_bytes()).map_err(|e| FindingError::Io {
        path: path.to_path_buf(),
        source: std::io::Error::other(e.to_string()),
    })
}

/// Reads an `incidents.jsonl`; a line that is not an incident is an error naming the line.
pub fn read_jsonl(path: &std::path::Path) -> Result<Vec<Incident>, FindingError> {
    let text = std::fs::read_to_string(path).map_err(|source| FindingError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str(l).map_err(|e| FindingError::Parse {
                path: path.to_path_buf(),
                line: i + 1,
                reason: e.to_string(),
            })
        })
        .collect()
}

/// The piece of evidence a kind of finding is (rule 3), named by one of its kinds: kinds that
/// count the same calls do not corroborate each other.
fn evidence(kind: FindingKind) -> FindingKind {
    match kind {
        FindingKind::CallRateSpike | FindingKind::ProvisioningSpike => {
            FindingKind::ProvisioningSpike
        }
        FindingKind::CallRateDrop | FindingKind::MaintenanceGap => FindingKind::MaintenanceGap,
        k => k,
    }
}

fn build(account: &str, actor: &Actor, fs: &[&Finding]) -> Incident {
    let start = fs.iter().map(|f| f.start).min().expect("one finding");
    let end = fs.iter().map(|f| f.end).max().expect("one finding");
    let mut best: BTreeMap<FindingKind, f64> = BTreeMap::new();
    let mut by_evidence: BTreeMap<FindingKind, f64> = BTreeMap::new();
    for f in fs {
        let s = if f.score.is_nan() { 0.0 } else { f.score };
        let b = best.entry(f.kind).or_insert(0.0);
        *b = b.max(s);
        let e = by_evidence.entry(evidence(f.kind)).or_insert(0.0);
        *e = e.max(s);
    }
    let miss: f64 = by_evidence
        .values()
        .map(|s| 1.0 - (s / 100.0).clamp(0.0, 1.0))
        .product();
    let score = ((100.0 * (1.0 - miss)) * 10.0).round() / 10.0;
    let mut regions: Vec<String> = fs.iter().map(|f| f.region.clone()).collect();
    regions.sort();
    regions.dedup();
    let mut principals: Vec<String> = fs
        .iter()
        .flat_map(|f| {
            f.principal
                .iter()
                .cloned()
                .chain(f.attributions.principal.first().map(|a| a.value.clone()))
        })
        .filter(|p| !p.is_empty())
        .collect();
    principals.sort();
    principals.dedup();
    let mut keys: Vec<String> = fs.iter().flat_map(|f| f.access_key_ids.clone()).collect();
    keys.sort();
    keys.dedup();
    let mut storyline: Vec<Step> = fs
        .iter()
        .map(|f| Step {
            at: f.start,
            finding_id: f.id.clone(),
            kind: f.kind,
            score: f.score,
            event_names: f.event_names.clone(),
            summary: f.explanation.clone(),
        })
        .collect();
    storyline.sort_by(|a, b| {
        a.at.cmp(&b.at)
            .then_with(|| a.finding_id.cmp(&b.finding_id))
    });
    let id = {
        let input = format!(
            "trailsight-incident-v1\u{1f}{account}\u{1f}{}\u{1f}{}",
            serde_json::to_string(actor).expect("actor serialises"),
            start.timestamp()
        );
        format!("{:016x}", xxhash_rust::xxh3::xxh3_64(input.as_bytes()))
    };
    Incident {
        id,
        title: title(actor, fs, (end - start).num_seconds()),
        actor: actor.clone(),
        account: account.to_string(),
        regions,
        principals,
        start,
        end,
        score,
        severity: Severity::from_score(score),
        kinds: best.keys().copied().collect(),
        storyline,
        access_key_ids: keys,
    }
}

/// "arn:…/marco: 12 IAM writes, 3 first-time sensitive actions, 40 RunInstances in 25 min".
fn title(actor: &Actor, fs: &[&Finding], secs: i64) -> String {
    let mut parts: Vec<String> = Vec::new();
    let sum = |k: FindingKind| -> f64 {
        fs.iter()
            .filter(|f| f.kind == k)
            .map(|f| f.observed.total)
            .sum()
    };
    let count = |k: FindingKind| fs.iter().filter(|f| f.kind == k).count();
    // The APIs of kind `k`'s findings, the most called first.
    let ranked = |k: FindingKind| -> Vec<String> {
        let mut m: BTreeMap<&str, f64> = BTreeMap::new();
        for f in fs.iter().filter(|f| f.kind == k) {
            for n in &f.event_names {
                *m.entry(n).or_default() += f.observed.total / f.event_names.len().max(1) as f64;
            }
        }
        let mut v: Vec<(&str, f64)> = m.into_iter().collect();
        v.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(b.0)));
        v.into_iter().map(|(n, _)| n.to_string()).collect()
    };
    let top_api = |k: FindingKind| ranked(k).into_iter().next().unwrap_or_default();
    // "A", "A and B", "A, B and 3 more".
    let apis = |k: FindingKind| match ranked(k).as_slice() {
        [] => String::new(),
        [a] => a.clone(),
        [a, b] => format!("{a} and {b}"),
        [a, b, rest @ ..] => format!("{a}, {b} and {} more", rest.len()),
    };
    // Most telling evidence first.
    for k in [
        FindingKind::IamBurst,
        FindingKind::RareAction,
        FindingKind::ProvisioningSpike,
        FindingKind::ErrorRate,
        FindingKind::CallRateSpike,
        FindingKind::CallRateDrop,
        FindingKind::MaintenanceGap,
    ] {
        let n = count(k);
        if n == 0 {
            continue;
        }
        let total = sum(k);
        let text = match k {
            FindingKind::IamBurst => format!("{total:.0} IAM writes"),
            FindingKind::RareAction => {
                format!(
                    "{n} first-time sensitive action{}",
                    if n == 1 { "" } else { "s" }
                )
            }
            FindingKind::ProvisioningSpike => {
                format!("{total:.0} provisioning calls (mostly {})", top_api(k))
            }
            FindingKind::ErrorRate => format!("{total:.0} failed calls"),
            FindingKind::CallRateSpike => format!("{total:.0} {} calls", top_api(k)),
            FindingKind::CallRateDrop => format!("{} calls dropped", apis(k)),
            FindingKind::MaintenanceGap => format!("{} did not run", apis(k)),
        };
        parts.push(text);
    }
    format!(
        "{}: {} in {}",
        short(actor.name()),
        parts.join(", "),
        crate::time::duration(secs)
    )
}

/// An ARN shortened to `arn:…/<name>` for titles; anything else as it is.
fn short(name: &str) -> String {
    match (name.starts_with("arn:"), name.rsplit_once('/')) {
        (true, Some((_, last))) => format!("arn:…/{last}"),
        _ => name.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::{Amount, Attribution, Attributions};
    use crate::time::TimeRange;
    use chrono::TimeZone;

    fn f(
        id: &str,
        kind: FindingKind,
        principal: Option<&str>,
        start: i64,
        len: i64,
        score: f64,
    ) -> Finding {
        let t = |s| Utc.timestamp_opt(s, 0).unwrap();
        Finding {
            id: id.into(),
            kind,
            account: "111122223333".into(),
            region: "us-east-1".into(),
            event_source: "iam.amazonaws.com".into(),
            event_names: vec!["CreateUser".into()],
            read_only: Some(false),
            principal: principal.map(str::to_string),
            error_code: None,
            start: t(start),
            end: t(start + len),
            score,
            severity: Severity::from_score(score),
            p_value: 1e-6,
            observed: Amount {
                total: 12.0,
                per_minute: 1.0,
            },
            expected: Amount::default(),
            baseline_window: TimeRange::new(0, 1),
            attributions: Attributions::default(),
            explanation: format!("{id} happened"),
            example_event_ids: vec![],
            access_key_ids: vec![format!("AKIA{id}")],
            details: Default::default(),
            incident_id: None,
        }
    }

    const MARCO: &str = "arn:aws:iam::111122223333:user/marco";

    #[test]
    fn one_actor_close_in_time_is_one_incident() {
        let h = 3600;
        let fs = vec![
            f("a", FindingKind::IamBurst, Some(MARCO), 10 * h, 900, 80.0),
            f(
                "b",
                FindingKind::RareAction,
                Some(MARCO),
                10 * h + 600,
                300,
                60.0,
            ),
            f(
                "c",
                FindingKind::ProvisioningSpike,
                Some(MARCO),
                11 * h,
                1500,
                50.0,
            ),
            // Five hours later: another incident of the same actor.
            f("d", FindingKind::IamBurst, Some(MARCO), 17 * h, 600, 75.0),
            // Someone else at the same time: their own incident.
            f(
                "e",
                FindingKind::ErrorRate,
                Some("arn:aws:iam::111122223333:role/ci"),
                10 * h,
                600,
                90.0,
            ),
        ];
        let inc = group(&fs, &IncidentConfig::default());
        assert_eq!(inc.len(), 3, "{inc:#?}");
        let big = inc.iter().find(|i| i.storyline.len() == 3).unwrap();
        assert_eq!(
            big.finding_ids().collect::<Vec<_>>(),
            vec!["a", "b", "c"],
            "story in time order"
        );
        // Independent kinds combine: 1 − 0.2·0.4·0.5 = 0.96.
        assert!((big.score - 96.0).abs() < 1e-9, "{}", big.score);
        assert_eq!(big.severity, Severity::Critical);
        assert!(
            big.title.starts_with(
                "arn:…/marco: 12 IAM writes, 1 first-time sensitive action, 12 provisioning calls"
            ),
            "{}",
            big.title
        );
        assert!(big.title.ends_with("in 1 h 25 min"), "{}", big.title);
        // Every finding in exactly one incident.
        let idx = index(&inc);
        assert_eq!(idx.len(), fs.len());
        // Highest score first.
        assert!(inc.windows(2).all(|w| w[0].score >= w[1].score));
    }

    #[test]
    fn ids_are_stable_and_many_findings_of_one_kind_do_not_add_up() {
        let fs: Vec<Finding> = (0..40)
            .map(|i| {
                f(
                    &format!("x{i}"),
                    FindingKind::CallRateSpike,
                    Some(MARCO),
                    1000 + i * 300,
                    300,
                    70.0,
                )
            })
            .collect();
        let a = group(&fs, &IncidentConfig::default());
        assert_eq!(a.len(), 1);
        assert_eq!(a[0].score, 70.0);
        let mut rev = fs.clone();
        rev.reverse();
        assert_eq!(group(&rev, &IncidentConfig::default())[0].id, a[0].id);
    }

    #[test]
    fn kinds_counting_the_same_calls_do_not_corroborate_each_other() {
        // A month-end batch: its RunInstances make a provisioning spike and a call-rate spike
        // on RunInstances. One piece of evidence: the better score, not 1 − 0.2·0.2.
        let batch = vec![
            f(
                "p",
                FindingKind::ProvisioningSpike,
                Some(MARCO),
                0,
                900,
                80.0,
            ),
            f("c", FindingKind::CallRateSpike, Some(MARCO), 0, 900, 75.0),
        ];
        let inc = group(&batch, &IncidentConfig::default());
        assert_eq!(inc.len(), 1);
        assert_eq!(inc[0].score, 80.0);
        // Both kinds are still named.
        assert_eq!(
            inc[0].kinds,
            vec![FindingKind::CallRateSpike, FindingKind::ProvisioningSpike]
        );
        // A drop and the missed run of the same job: one absence.
        let absent = vec![
            f("d", FindingKind::CallRateDrop, Some(MARCO), 0, 3600, 70.0),
            f("m", FindingKind::MaintenanceGap, Some(MARCO), 0, 3600, 90.0),
        ];
        assert_eq!(group(&absent, &IncidentConfig::default())[0].score, 90.0);
        // Failures on top of the spike are other evidence: 1 − 0.2·0.2.
        let throttled = vec![
            f("p", FindingKind::CallRateSpike, Some(MARCO), 0, 900, 80.0),
            f("e", FindingKind::ErrorRate, Some(MARCO), 0, 900, 80.0),
        ];
        let t = group(&throttled, &IncidentConfig::default());
        assert!((t[0].score - 96.0).abs() < 1e-9, "{}", t[0].score);
    }

    #[test]
    fn api_findings_belong_to_their_dominant_caller_or_to_the_series() {
        let mut api = f("s", FindingKind::CallRateSpike, None, 0, 300, 70.0);
        api.attributions.principal = vec![Attribution {
            value: MARCO.into(),
            insight_count: 30,
            insight_share: 0.75,
            baseline_count: 0,
            baseline_share: 0.0,
        }];
        let cfg = IncidentConfig::default();
        assert_eq!(actor_of(&api, &cfg), Actor::Principal(MARCO.into()));
        api.attributions.principal[0].insight_share = 0.3;
        assert_eq!(
            actor_of(&api, &cfg),
            Actor::Series("iam.amazonaws.com in 111122223333/us-east-1".into())
        );
    }

    /// A trailgen replay (seed 301, inc-007) reported one stopped poller as two incidents: two
    /// route53 APIs dropped together with nobody dominating either, each its own series.
    #[test]
    fn apis_of_one_service_that_nobody_dominates_are_one_incident() {
        let mut a = f("a", FindingKind::CallRateDrop, None, 0, 3600, 80.0);
        a.event_source = "route53.amazonaws.com".into();
        a.event_names = vec!["ListHostedZones".into()];
        a.observed.total = 40.0;
        let mut b = a.clone();
        b.id = "b".into();
        b.event_names = vec!["ListResourceRecordSets".into()];
        b.observed.total = 10.0;
        let mut other = a.clone();
        other.id = "c".into();
        other.event_source = "sqs.amazonaws.com".into();
        let got = group(&[a, b, other], &IncidentConfig::default());
        assert_eq!(got.len(), 2, "{got:#?}");
        let r53 = got
            .iter()
            .find(|i| i.actor.name().starts_with("route53"))
            .unwrap();
        assert_eq!(r53.storyline.len(), 2);
        assert!(
            r53.title.starts_with(
                "route53.amazonaws.com in 111122223333/us-east-1: \
                 ListHostedZones and ListResourceRecordSets calls dropped"
            ),
            "{}",
            r53.title
        );
    }
}
