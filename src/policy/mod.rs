//! What happens to findings after the detectors, as SREs configure it, decided in one place:
//! per detector whether it runs, whether it alerts or only shows (shadow mode), its threshold
//! and per-API, per-service and per-category overrides of it; then the suppression rules
//! written by investigators. Pure: findings and policy in, a [`Triage`] out.
//!
//! Suppressed findings are kept (with the rule that matched) so the report can count and list
//! them; shadow findings are kept apart so they never count as alerts.

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::catalog::{Catalog, Category};
use crate::finding::{Finding, FindingKind, Threshold};

/// A detector's overrides, by target.
pub type Overrides = BTreeMap<Target, Override>;

/// What an override applies to, written as a TOML key.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Target {
    /// One API: `"ec2.amazonaws.com:RunInstances"`.
    Api {
        /// eventSource.
        source: String,
        /// eventName.
        name: String,
    },
    /// Every API of a service: `"ec2.amazonaws.com"`.
    Service(String),
    /// Every API of a catalog category: `"category:provisioning"`.
    Category(Category),
}

/// An override key that is not a target.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseTargetError {
    /// `category:<name>` with a name the catalog does not know.
    #[error(
        "override key {0:?}: unknown category (known: {known}) {EXPECTED_TARGET}",
        known = known_categories()
    )]
    UnknownCategory(String),
    /// A `:` without a valid service and API on either side.
    #[error("override key {0:?}: not a service:API pair {EXPECTED_TARGET}")]
    NotAnApi(String),
    /// `service:API` whose service part is not an endpoint (`ec2:RunInstances`): it names an
    /// IAM action, which never matches a finding's `eventSource` (issue 15).
    #[error("override key {key:?} can never match: findings name the service by its endpoint; write \"{endpoint}:{name}\"")]
    ShortService {
        /// The key as written.
        key: String,
        /// The endpoint meant, `<service>.amazonaws.com`.
        endpoint: String,
        /// The API.
        name: String,
    },
    /// No `:`, and not a service endpoint (`service.amazonaws.com`).
    #[error("override key {0:?}: not a service endpoint {EXPECTED_TARGET}")]
    NotAService(String),
}

const EXPECTED_TARGET: &str = "(expected \"service.amazonaws.com:ApiName\", \"service.amazonaws.com\" or \"category:<name>\")";

fn known_categories() -> String {
    let names: Vec<&str> = Category::ALL.iter().map(|c| c.as_str()).collect();
    names.join(", ")
}

impl FromStr for Target {
    type Err = ParseTargetError;

    fn from_str(s: &str) -> Result<Target, ParseTargetError> {
        if let Some(cat) = s.strip_prefix("category:") {
            let c = Category::ALL
                .into_iter()
                .find(|c| c.as_str() == cat)
                .ok_or_else(|| ParseTargetError::UnknownCategory(s.to_string()))?;
            return Ok(Target::Category(c));
        }
        let valid = |x: &str| {
            !x.is_empty()
                && x.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
        };
        match s.split_once(':') {
            Some((source, name)) if valid(source) && valid(name) && !source.contains('.') => {
                Err(ParseTargetError::ShortService {
                    key: s.to_string(),
                    endpoint: format!("{}.amazonaws.com", source.to_ascii_lowercase()),
                    name: name.to_string(),
                })
            }
            Some((source, name)) if valid(source) && valid(name) => Ok(Target::Api {
                source: source.to_string(),
                name: name.to_string(),
            }),
            Some(_) => Err(ParseTargetError::NotAnApi(s.to_string())),
            None if valid(s) && s.contains('.') => Ok(Target::Service(s.to_string())),
            None => Err(ParseTargetError::NotAService(s.to_string())),
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Api { source, name } => write!(f, "{source}:{name}"),
            Target::Service(s) => f.write_str(s),
            Target::Category(c) => write!(f, "category:{}", c.as_str()),
        }
    }
}

impl Serialize for Target {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Target {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

impl Target {
    /// Whether a finding falls under this target: every API it names must (a finding that
    /// spans a category and other APIs keeps the detector's own settings).
    fn covers(&self, f: &Finding, catalog: &Catalog) -> bool {
        if f.event_names.is_empty() {
            return false;
        }
        match self {
            Target::Api { source, name } => {
                f.event_source == *source && f.event_names.iter().all(|n| n == name)
            }
            Target::Service(s) => f.event_source == *s,
            Target::Category(c) => {
                !f.event_source.is_empty()
                    && f.event_names
                        .iter()
                        .all(|n| catalog.is(*c, &f.event_source, n))
            }
        }
    }

    /// API beats service beats category.
    fn rank(&self) -> u8 {
        match self {
            Target::Api { .. } => 0,
            Target::Service(_) => 1,
            Target::Category(_) => 2,
        }
    }
}

/// Settings for one target; unset fields keep the detector's.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Override {
    /// Report findings on this target at all.
    pub enabled: Option<bool>,
    /// Lowest score reported on this target (0–100), instead of the detector's `min_score`.
    pub min_score: Option<Threshold>,
    /// Lowest observed count (calls, errors) in the finding's window.
    pub min_observed: Option<f64>,
}

/// The most specific override of `overrides` that covers `f`.
fn override_for<'a>(
    overrides: &'a Overrides,
    f: &Finding,
    catalog: &Catalog,
) -> Option<&'a Override> {
    overrides
        .iter()
        .filter(|(t, _)| t.covers(f, catalog))
        .min_by_key(|(t, _)| t.rank())
        .map(|(_, o)| o)
}

/// A shell-style pattern: `*` any run of characters, `?` one character; everything else
/// literal and case-sensitive (ARNs and user agents are).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Glob(String);

impl Glob {
    /// A pattern.
    pub fn new(p: &str) -> Glob {
        Glob(p.to_string())
    }

    /// Whether `s` matches the whole pattern.
    pub fn matches(&self, s: &str) -> bool {
        // Iterative matcher with one backtrack point: linear in practice, never exponential.
        let p: Vec<char> = self.0.chars().collect();
        let t: Vec<char> = s.chars().collect();
        let (mut pi, mut ti) = (0, 0);
        let mut star: Option<(usize, usize)> = None;
        while ti < t.len() {
            if pi < p.len() && (p[pi] == '?' || (p[pi] != '*' && p[pi] == t[ti])) {
                pi += 1;
                ti += 1;
            } else if pi < p.len() && p[pi] == '*' {
                star = Some((pi, ti));
                pi += 1;
            } else if let Some((sp, st)) = star {
                pi = sp + 1;
                ti = st + 1;
                star = Some((sp, st + 1));
            } else {
                return false;
            }
        }
        p[pi..].iter().all(|&c| c == '*')
    }
}

impl Serialize for Glob {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Glob {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        if s.is_empty() {
            return Err(serde::de::Error::custom("an empty pattern matches nothing"));
        }
        Ok(Glob(s))
    }
}

/// An IPv4 or IPv6 network, `10.0.0.0/8` or a single address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    net: IpAddr,
    prefix: u8,
}

/// Text that is not an address or network.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseCidrError {
    /// The part before any `/` is not an IPv4 or IPv6 address.
    #[error("{0:?} is not an IP address or CIDR network")]
    NotAnAddress(String),
    /// The prefix length is not a number up to the address width.
    #[error("{text:?}: prefix length must be 0 to {max}")]
    PrefixLength {
        /// The text given.
        text: String,
        /// The address width: 32 for IPv4, 128 for IPv6.
        max: u8,
    },
}

impl FromStr for Cidr {
    type Err = ParseCidrError;

    fn from_str(s: &str) -> Result<Cidr, ParseCidrError> {
        let (ip, prefix) = s.split_once('/').unwrap_or((s, ""));
        let net: IpAddr = ip
            .parse()
            .map_err(|_| ParseCidrError::NotAnAddress(s.to_string()))?;
        let max = if net.is_ipv4() { 32 } else { 128 };
        let prefix = if prefix.is_empty() {
            max
        } else {
            prefix
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| ParseCidrError::PrefixLength {
                    text: s.to_string(),
                    max,
                })?
        };
        Ok(Cidr { net, prefix })
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.net, self.prefix)
    }
}

impl Cidr {
    /// Whether the text is an address inside this network (hostnames such as
    /// `ec2.amazonaws.com`, which CloudTrail records for service calls, are not).
    pub fn contains(&self, ip: &str) -> bool {
        let Ok(ip) = ip.parse::<IpAddr>() else {
            return false;
        };
        let mask = |bits: u32, width: u32| -> u128 {
            if bits == 0 {
                0
            } else {
                (!0u128 << (width - bits)) & (!0u128 >> (128 - width))
            }
        };
        match (self.net, ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                let m = mask(u32::from(self.prefix), 32);
                (u128::from(u32::from(n)) & m) == (u128::from(u32::from(a)) & m)
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => {
                let m = mask(u32::from(self.prefix), 128);
                (u128::from(n) & m) == (u128::from(a) & m)
            }
            _ => false,
        }
    }
}

impl Serialize for Cidr {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Cidr {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

/// One `[[suppress]]` rule: a finding is suppressed when every field given matches it.
///
/// `principal`, `source_ip` and `user_agent` match the finding's principal, or — for findings
/// about an API rather than a principal — its top contributor in the insight window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Suppression {
    /// Why (shown in the report next to every finding it hides). Required.
    pub reason: String,
    /// Principal ARN pattern, e.g. `"arn:aws:iam::*:role/terraform-*"`.
    #[serde(default)]
    pub principal: Option<Glob>,
    /// API pattern, matched against `service:ApiName` and against `ApiName`
    /// (`"ec2.amazonaws.com:RunInstances"`, `"Describe*"`); every API of the finding must match.
    #[serde(default)]
    pub api: Option<Glob>,
    /// Account id pattern.
    #[serde(default)]
    pub account: Option<Glob>,
    /// Region pattern.
    #[serde(default)]
    pub region: Option<Glob>,
    /// Source network, `"10.0.0.0/8"` or one address.
    #[serde(default)]
    pub source_ip: Option<Cidr>,
    /// User agent pattern, e.g. `"*Terraform*"`.
    #[serde(default)]
    pub user_agent: Option<Glob>,
    /// Finding kind.
    #[serde(default)]
    pub kind: Option<FindingKind>,
    /// Last day (UTC, inclusive) the rule applies to; findings starting later are not suppressed.
    #[serde(default)]
    pub expires: Option<NaiveDate>,
}

/// A `[[suppress]]` rule that is refused, by its index in the config's list.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SuppressionError {
    /// The rule gives no reason.
    #[error("suppress[{0}].reason is empty (say why the rule exists; the report shows it)")]
    NoReason(usize),
    /// The rule gives nothing to match, so it would hide every finding.
    #[error("suppress[{0}] matches every finding (give at least one of principal, api, account, region, source_ip, user_agent, kind)")]
    MatchesEverything(usize),
}

impl Suppression {
    /// Rules with no reason, or with nothing to match, are refused when the config is read.
    pub fn validate(&self, index: usize) -> Result<(), SuppressionError> {
        if self.reason.trim().is_empty() {
            return Err(SuppressionError::NoReason(index));
        }
        if self.principal.is_none()
            && self.api.is_none()
            && self.account.is_none()
            && self.region.is_none()
            && self.source_ip.is_none()
            && self.user_agent.is_none()
            && self.kind.is_none()
        {
            return Err(SuppressionError::MatchesEverything(index));
        }
        Ok(())
    }

    /// Whether the rule still applies at `t`.
    pub fn active_at(&self, t: DateTime<Utc>) -> bool {
        self.expires.is_none_or(|d| t.date_naive() <= d)
    }

    /// Whether the rule hides `f`.
    pub fn matches(&self, f: &Finding) -> bool {
        let top = |v: &[crate::finding::Attribution]| v.first().map(|a| a.value.clone());
        let principal = f
            .principal
            .clone()
            .or_else(|| top(&f.attributions.principal));
        let opt_glob = |g: &Option<Glob>, v: Option<&str>| match g {
            None => true,
            Some(g) => v.is_some_and(|v| g.matches(v)),
        };
        self.active_at(f.start)
            && self.kind.is_none_or(|k| k == f.kind)
            && opt_glob(&self.account, Some(&f.account))
            && opt_glob(&self.region, Some(&f.region))
            && opt_glob(&self.principal, principal.as_deref())
            && opt_glob(&self.user_agent, top(&f.attributions.user_agent).as_deref())
            && self.source_ip.is_none_or(|c| {
                f.attributions
                    .source_ip
                    .first()
                    .is_some_and(|a| c.contains(&a.value))
            })
            && self.api.as_ref().is_none_or(|g| {
                !f.event_names.is_empty()
                    && f.event_names
                        .iter()
                        .all(|n| g.matches(n) || g.matches(&format!("{}:{n}", f.event_source)))
            })
    }
}

/// A finding hidden by a suppression rule, kept for the report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Suppressed {
    /// Index of the rule in the config's `[[suppress]]` list.
    pub rule: usize,
    /// The rule's reason.
    pub reason: String,
    /// The finding.
    pub finding: Finding,
}

/// Findings sorted into what alerts, what is on trial and what is suppressed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Triage {
    /// Findings that alert.
    pub active: Vec<Finding>,
    /// Findings of detectors in shadow mode (not suppressed).
    pub shadow: Vec<Finding>,
    /// Findings a suppression rule hid.
    pub suppressed: Vec<Suppressed>,
    /// Findings below a per-target override's threshold, or on a target it disables.
    pub below_override: usize,
}

/// One detector's policy (`enabled`, `shadow`, `min_score`, `overrides` in its config section).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DetectorPolicy {
    /// Run the detector at all.
    pub enabled: bool,
    /// Shadow mode: run it, and list its findings in the report's shadow section, but never
    /// alert (`run --fail-on` ignores them) — the way to trial a new threshold.
    pub shadow: bool,
    /// Per-API, per-service and per-category settings (`"ec2.amazonaws.com:RunInstances"`,
    /// `"ec2.amazonaws.com"`, `"category:provisioning"`).
    pub overrides: Overrides,
    /// Lowest score reported (0–100).
    pub min_score: Threshold,
}

impl DetectorPolicy {
    /// Enabled, alerting, at `min_score`, no overrides.
    pub fn new(min_score: Threshold) -> DetectorPolicy {
        DetectorPolicy {
            enabled: true,
            shadow: false,
            overrides: Overrides::new(),
            min_score,
        }
    }

    /// The lowest score any target of this detector keeps: its `min_score` or a lower
    /// override's. Detectors scan down to it, so every override can be honoured afterwards.
    pub fn floor(&self) -> f64 {
        self.overrides
            .values()
            .filter_map(|o| o.min_score)
            .fold(self.min_score, |a, b| if b < a { b } else { a })
            .get()
    }
}

/// Every detector's policy and the suppression rules.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    detectors: BTreeMap<FindingKind, DetectorPolicy>,
    suppress: Vec<Suppression>,
}

impl Policy {
    /// A policy from each kind's detector policy (kinds not given keep `min_score` 70) and the
    /// suppression rules, in the config's order.
    pub fn new(
        detectors: impl IntoIterator<Item = (FindingKind, DetectorPolicy)>,
        suppress: Vec<Suppression>,
    ) -> Policy {
        let mut m: BTreeMap<FindingKind, DetectorPolicy> = detectors.into_iter().collect();
        for k in FindingKind::ALL {
            m.entry(k)
                .or_insert_with(|| DetectorPolicy::new(Threshold::of(70.0)));
        }
        Policy {
            detectors: m,
            suppress,
        }
    }

    /// The policy of the detector reporting `kind`.
    pub fn detector(&self, kind: FindingKind) -> &DetectorPolicy {
        &self.detectors[&kind]
    }

    /// The same, to change it (`tune` replays one detector at other thresholds).
    pub fn detector_mut(&mut self, kind: FindingKind) -> &mut DetectorPolicy {
        self.detectors
            .get_mut(&kind)
            .expect("every kind has a policy")
    }

    /// This policy with only the detector reporting `kind` enabled.
    pub fn only(&self, kind: FindingKind) -> Policy {
        let mut p = self.clone();
        for (k, d) in &mut p.detectors {
            d.enabled = *k == kind;
        }
        p
    }

    /// The suppression rules.
    pub fn suppressions(&self) -> &[Suppression] {
        &self.suppress
    }

    /// Applies thresholds and overrides, then suppression rules, then shadow mode, keeping the
    /// findings' order. Detectors must have run with each kind's [`DetectorPolicy::floor`].
    pub fn triage(&self, findings: Vec<Finding>, catalog: &Catalog) -> Triage {
        let mut t = Triage::default();
        for f in findings {
            let c = self.detector(f.kind);
            let o = override_for(&c.overrides, &f, catalog);
            let min_score = o.and_then(|o| o.min_score).unwrap_or(c.min_score);
            let enabled = o.and_then(|o| o.enabled).unwrap_or(true);
            let min_observed = o.and_then(|o| o.min_observed).unwrap_or(0.0);
            if !enabled || f.score < min_score.get() || f.observed.total < min_observed {
                t.below_override += 1;
                continue;
            }
            if let Some((rule, r)) = self
                .suppress
                .iter()
                .enumerate()
                .find(|(_, r)| r.matches(&f))
            {
                t.suppressed.push(Suppressed {
                    rule,
                    reason: r.reason.clone(),
                    finding: f,
                });
            } else if c.shadow {
                t.shadow.push(f);
            } else {
                t.active.push(f);
            }
        }
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_like_a_shell() {
        let g = Glob::new("arn:aws:iam::*:role/terraform-*");
        assert!(g.matches("arn:aws:iam::111122223333:role/terraform-ci"));
        assert!(!g.matches("arn:aws:iam::111122223333:role/admin"));
        assert!(Glob::new("*Terraform*").matches("APN/1.0 HashiCorp/1.0 Terraform/1.5.7"));
        assert!(Glob::new("a?c").matches("abc") && !Glob::new("a?c").matches("abbc"));
        assert!(Glob::new("*").matches("") && !Glob::new("x").matches(""));
        assert!(Glob::new("*a*b").matches("zzazzb") && !Glob::new("*a*b").matches("zzazzbz"));
        // Long adversarial input stays fast (no exponential backtracking).
        let long = "a".repeat(10_000);
        assert!(!Glob::new("*a*a*a*a*a*b").matches(&long));
    }

    #[test]
    fn cidrs_contain_addresses_not_hostnames() {
        let c: Cidr = "10.0.0.0/8".parse().unwrap();
        assert!(c.contains("10.1.2.3") && !c.contains("11.0.0.1"));
        assert!(!c.contains("ec2.amazonaws.com") && !c.contains("::1"));
        let one: Cidr = "203.0.113.9".parse().unwrap();
        assert!(one.contains("203.0.113.9") && !one.contains("203.0.113.10"));
        let v6: Cidr = "2001:db8::/32".parse().unwrap();
        assert!(v6.contains("2001:db8:1::5") && !v6.contains("2001:db9::1"));
        let all: Cidr = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains("8.8.8.8"));
        let e = "10.0.0.0/33".parse::<Cidr>().unwrap_err();
        assert_eq!(
            e,
            ParseCidrError::PrefixLength {
                text: "10.0.0.0/33".into(),
                max: 32
            }
        );
        assert_eq!(
            e.to_string(),
            "\"10.0.0.0/33\": prefix length must be 0 to 32"
        );
        assert_eq!(
            "ten".parse::<Cidr>().unwrap_err().to_string(),
            "\"ten\" is not an IP address or CIDR network"
        );
    }

    #[test]
    fn targets_parse_and_print_back() {
        for s in [
            "ec2.amazonaws.com:RunInstances",
            "iam.amazonaws.com",
            "category:provisioning",
        ] {
            assert_eq!(s.parse::<Target>().unwrap().to_string(), s);
        }
        let e = "category:nope".parse::<Target>().unwrap_err();
        assert_eq!(e, ParseTargetError::UnknownCategory("category:nope".into()));
        assert!(e.to_string().starts_with(
            "override key \"category:nope\": unknown category (known: provisioning, "
        ));
        assert!(e.to_string().ends_with(
            ") (expected \"service.amazonaws.com:ApiName\", \"service.amazonaws.com\" or \"category:<name>\")"
        ), "{e}");
        assert_eq!(
            "RunInstances".parse::<Target>().unwrap_err().to_string(),
            "override key \"RunInstances\": not a service endpoint (expected \"service.amazonaws.com:ApiName\", \"service.amazonaws.com\" or \"category:<name>\")"
        );
        assert_eq!(
            "ec2.amazonaws.com:".parse::<Target>().unwrap_err(),
            ParseTargetError::NotAnApi("ec2.amazonaws.com:".into())
        );
        // Issue 15: an IAM-style key never matches an eventSource; refused with the fix.
        assert_eq!(
            "ec2:RunInstances".parse::<Target>().unwrap_err().to_string(),
            "override key \"ec2:RunInstances\" can never match: findings name the service by its endpoint; write \"ec2.amazonaws.com:RunInstances\""
        );
    }
}
