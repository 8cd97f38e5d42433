//! `rare_action`: a principal performing a sensitive action (catalog: defence evasion,
//! destructive, exposure, sensitive) that it never performed in the baseline window.
//!
//! There is no rate to test, so the score comes from the category (how bad the action is) and
//! from how much history says "never" (a principal active for hundreds of hours that never
//! stopped logging is more telling than one seen for an hour; a principal never seen at all
//! counts fully). The reported p-value is the Laplace estimate of the action's hourly
//! probability given zero occurrences.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::attribution::{self as at, Draft};
use super::context::{self, Context, Peers};
use super::{DetectConfigError, DetectInput, Detector, DetectorConfig};
use crate::baseline::api_name;
use crate::catalog::Category;
use crate::finding::details::RareActionDetails;
use crate::finding::Threshold;
use crate::finding::{Details, Finding, FindingKind};
use crate::time::BUCKET_SECS;

/// `[detectors.rare_action]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RareConfig {
    /// Base score of a first-seen defence-evasion action (logging or security tooling off).
    pub defense_evasion_score: Threshold,
    /// Base score of a first-seen destructive action.
    pub destructive_score: Threshold,
    /// Base score of a first-seen exposure (sharing, public access).
    pub exposure_score: Threshold,
    /// Base score of another first-seen sensitive action.
    pub sensitive_score: Threshold,
    /// Base score of a principal's first resource provisioning (e.g. its first RunInstances).
    pub provisioning_score: Threshold,
}

impl Default for RareConfig {
    fn default() -> Self {
        RareConfig {
            defense_evasion_score: Threshold::of(95.0),
            destructive_score: Threshold::of(85.0),
            exposure_score: Threshold::of(85.0),
            sensitive_score: Threshold::of(70.0),
            provisioning_score: Threshold::of(65.0),
        }
    }
}

/// How much a first-time action of a role with no history in the account counts, against a
/// principal seen doing other things ([`RareAction`]): half.
pub(crate) const NEW_ROLE_CONFIDENCE: f64 = 0.5;

/// Rare-action detector.
#[derive(Debug, Clone)]
pub struct RareAction(pub RareConfig);

impl RareAction {
    fn base(
        &self,
        input: &DetectInput<'_>,
        source: &str,
        name: &str,
    ) -> Option<(f64, &'static str)> {
        let c = input.catalog;
        [
            (
                Category::DefenseEvasion,
                self.0.defense_evasion_score,
                "defence evasion",
            ),
            (
                Category::Destructive,
                self.0.destructive_score,
                "destructive",
            ),
            (Category::Exposure, self.0.exposure_score, "exposure"),
            (Category::Sensitive, self.0.sensitive_score, "sensitive"),
            (
                Category::Provisioning,
                self.0.provisioning_score,
                "provisioning",
            ),
        ]
        .into_iter()
        .find(|(cat, _, _)| c.is(*cat, source, name))
        .map(|(_, t, label)| (t.get(), label))
    }
}

impl Detector for RareAction {
    fn min_history_days(&self) -> u32 {
        // one day: first-seen needs something seen before.
        1
    }

    fn kind(&self) -> FindingKind {
        FindingKind::RareAction
    }

    fn detect(&self, input: &DetectInput<'_>, floor: f64) -> Vec<Finding> {
        let w = input.window;
        let models = input.baselines.principal_index();
        // (account, region, principal, source, name) → first and last bucket.
        type Key<'k> = (&'k str, &'k str, &'k str, &'k str, &'k str);
        let mut seen: BTreeMap<Key<'_>, (i64, i64)> = BTreeMap::new();
        for (k, a) in &input.detail.apis {
            if self.base(input, &k.event_source, &k.event_name).is_none() {
                continue;
            }
            for dk in a.detail.keys() {
                if dk.bucket < w.start || dk.bucket >= w.end {
                    continue;
                }
                if federated_sign_in(k, &dk.principal) {
                    continue;
                }
                // Known: called before, in this region (a stolen key starting instances in a
                // region its owner never used is as new as a first RunInstances).
                let known = models
                    .get(&(k.account.as_str(), dk.principal.as_str()))
                    .is_some_and(|m| {
                        m.apis.contains(&api_name(&k.event_source, &k.event_name))
                            && (m.regions.is_empty() || m.regions.contains(&k.region))
                    });
                if known {
                    continue;
                }
                let e = seen
                    .entry((
                        &k.account,
                        &k.region,
                        &dk.principal,
                        &k.event_source,
                        &k.event_name,
                    ))
                    .or_insert((dk.bucket, dk.bucket));
                e.0 = e.0.min(dk.bucket);
                e.1 = e.1.max(dk.bucket);
            }
        }
        let peers = Peers::of(input.baselines);
        let history = input.baselines.history_days;
        let mut out = Vec::new();
        for ((account, region, principal, source, name), (first, last)) in seen {
            let Some((base, label)) = self.base(input, source, name) else {
                continue;
            };
            let model = models.get(&(account, principal));
            let hours = model.map_or(0, |m| m.active_hours);
            // "Never" says as much as the principal's own routine is settled: a service role
            // that has called the same APIs for weeks doing something new is news; Terraform,
            // an administrator, a principal seen on one day add first-time actions on many of
            // their days ([`Habits::action_churn`], which also makes day 2 quiet). A principal
            // never seen at all is a new identity acting sensitively — or a weekly or monthly
            // one the history is still too short to have seen: "never seen" counts fully only
            // after four weeks of watching.
            let p = 1.0 / (f64::from(hours) + 2.0);
            let (start, end) = (first, last + BUCKET_SECS);
            let rows = at::rows(input.detail, start, end, |k, dk| {
                k.account == account
                    && k.event_source == source
                    && k.event_name == name
                    && dk.principal == principal
            });
            let watched_for = 0.7 + 0.3 * (f64::from(history) / 28.0).min(1.0);
            let unexcused = input.catalog.is(Category::DefenseEvasion, source, name)
                || input.catalog.is(Category::InhibitRecovery, source, name);
            let confidence = match model {
                // Logging switched off or backups deleted is not excused by a habit of doing
                // new things: it counts as from a new identity at least.
                Some(m) if m.habits.active_days > 0 && unexcused => {
                    (1.0 - m.habits.action_churn()).max(watched_for)
                }
                Some(m) if m.habits.active_days > 0 => 1.0 - m.habits.action_churn(),
                // A role no one used in the window: someone its trust policy admits (a
                // break-glass permission set, an incident-response role, a new pipeline, a
                // month-end batch) began using it, and that assumption is judged on whoever
                // made it. Its first actions are weak evidence on their own; a long-term key
                // never used before (a user) acting sensitively is the leaked-credential case
                // and counts fully. So does a new role whose attempts were mostly denied:
                // whoever may use a role is given what it is for, while a role an attacker just
                // made and assumed probes (Stratus ec2-launch-unusual-instances).
                _ if !unexcused
                    && context::role_name(principal).is_some()
                    && super::errors::denied_share(&rows, false) < 0.5 =>
                {
                    watched_for * NEW_ROLE_CONFIDENCE
                }
                _ => watched_for,
            };
            // Where it came from, against the principal's habits (or, for a role new in this
            // account, the same role's elsewhere); and whether that role does it elsewhere.
            let elsewhere = peers.elsewhere(principal, account);
            let habits = model
                .map(|m| &m.habits)
                .or(elsewhere.first().map(|m| &m.habits));
            let ctx = Context::of(&rows, habits).within(peers.networks());
            let peer = peers.account_calling(principal, account, &api_name(source, name));
            let first_in_region = model.is_some_and(|m| m.apis.contains(&api_name(source, name)));
            let factor = if unexcused {
                // Logging or security tooling switched off, or backups deleted, is reported
                // whoever does it, from wherever: there is no routine way to go unwatched or
                // to destroy what recovery needs.
                1.0
            } else {
                match peer {
                    Some(_) if ctx.new_agents.is_empty() && ctx.new_networks.is_empty() => {
                        ctx.factor().min(context::HABITUAL)
                    }
                    _ => ctx.factor(),
                }
            };
            let by_service = at::service_made(&rows);
            // Never done, and from a place the principal never used: two independent pieces of
            // evidence (noisy-or).
            // A place is new to a principal by its own habits; against the same role's in
            // other accounts (other people, other pipelines) it is no evidence.
            let novelty = if model.is_some() { ctx.novelty() } else { 0.0 };
            let raw = 100.0 * (1.0 - (1.0 - base * confidence * factor / 100.0) * (1.0 - novelty));
            let score = match by_service {
                Some(_) => raw.min(at::SERVICE_MADE_MAX_SCORE),
                None => raw,
            };
            if score < floor {
                continue;
            }
            let calls: u64 = rows.iter().map(|r| u64::from(r.2.count)).sum();
            let mut explanation = format!(
                "{name} ({source}, {label}) by {principal} in {account}/{region}: {calls} call(s); {} in the previous {} days",
                match model {
                    Some(m) if first_in_region => format!(
                        "this principal was active {} hours and called it only in {}",
                        m.active_hours,
                        m.regions.iter().cloned().collect::<Vec<_>>().join(", ")
                    ),
                    Some(m) => format!(
                        "this principal was active {} hours on {} days and never called it (it began calling a new watched API on {} of those days)",
                        m.active_hours, m.habits.active_days, m.habits.new_action_days
                    ),
                    None => "this principal was never seen".to_string(),
                },
                history
            );
            let clause = ctx.describe();
            if !clause.is_empty() {
                explanation.push_str("; ");
                explanation.push_str(&clause);
            }
            if let Some(a) = peer {
                explanation.push_str(&format!("; the same role calls it in account {a}"));
            }
            if let Some(svc) = by_service {
                explanation.push_str(&format!(
                    "; made by {svc} on its behalf (scored at most {})",
                    at::SERVICE_MADE_MAX_SCORE
                ));
            }
            let details = Details::RareAction(RareActionDetails {
                category: label.to_string(),
                principal_active_hours: hours,
                first_in_region,
            });
            let d = Draft {
                kind: FindingKind::RareAction,
                account,
                region,
                event_source: source,
                event_names: vec![name.to_string()],
                read_only: rows.first().map(|r| r.0.read_only),
                principal: Some(principal),
                error_code: None,
                start,
                end,
                observed: calls as f64,
                expected: 0.0,
                p,
                score,
                explanation,
                details,
            };
            out.push(d.build(input, &rows, None));
        }
        out
    }
}

/// A role's `ConsoleLogin` is a federated sign-in (IAM Identity Center, SAML): the identity
/// provider checked the person, and CloudTrail logs one per console session of every permission
/// set a person opens. What the session then does is judged on its own. A root's or an IAM
/// user's `ConsoleLogin` is a password sign-in and stays watched.
fn federated_sign_in(k: &crate::rollup::ApiKey, principal: &str) -> bool {
    k.event_source == "signin.amazonaws.com"
        && k.event_name == "ConsoleLogin"
        && context::role_name(principal).is_some()
}

impl DetectorConfig for RareConfig {
    const KIND: FindingKind = FindingKind::RareAction;
    const DEFAULT_MIN_SCORE: f64 = 60.0;

    fn build(&self) -> Result<Box<dyn Detector>, DetectConfigError> {
        Ok(Box::new(RareAction(self.clone())))
    }
}
