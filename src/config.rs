//! The configuration file (`trailsight.toml`), the one owner of its format: baseline settings,
//! one `[detectors.<kind>]` section per detector, catalog extensions and suppression rules.
//! Each section is a serde struct with `deny_unknown_fields` and documented defaults; thresholds
//! are validated types, so a bad value is refused when the file is read, with the key and the
//! allowed range in the message.
//!
//! A detector's section holds two things the file keeps together for the reader: its policy
//! (`enabled`, `shadow`, `min_score`, `overrides`: [`crate::policy::DetectorPolicy`]) and its
//! algorithm's parameters ([`crate::detect::DetectorConfig`]). [`Section`] splits them when
//! the file is read; [`Config::policy`] and [`Config::detectors`] build the runtime objects.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::baseline::BaselineConfig;
use crate::catalog::{Catalog, CatalogExtension};
use crate::detect::{
    DetectConfigError, Detector, DetectorConfig, DropConfig, ErrorConfig, IamConfig,
    MaintenanceConfig, ProvisioningConfig, RareConfig, SpikeConfig,
};
use crate::finding::{FindingKind, Threshold};
use crate::policy::{DetectorPolicy, Overrides, Policy, Suppression, SuppressionError};

/// The full default configuration with a comment on every key (`trailsight config default`);
/// a test keeps it equal to [`Config::default`] key for key.
pub const DEFAULT_TOML: &str = include_str!("default-config.toml");

/// The whole file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// `[baseline]`: training window.
    pub baseline: BaselineConfig,
    /// `[detectors.<name>]`: each detector's policy and parameters.
    pub detectors: Detectors,
    /// `[incidents]`: how findings group into incidents.
    pub incidents: crate::incident::IncidentConfig,
    /// `[catalog.categories]`: APIs added to the shipped catalog's categories.
    pub catalog: CatalogExtension,
    /// `[[suppress]]`: rules that hide findings from alerts (kept and counted in the report).
    pub suppress: Vec<Suppression>,
}

/// `[detectors.*]`: one section per detector.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Detectors {
    /// `call_rate_spike`.
    pub call_rate_spike: Section<SpikeConfig>,
    /// `call_rate_drop`.
    pub call_rate_drop: Section<DropConfig>,
    /// `error_rate`.
    pub error_rate: Section<ErrorConfig>,
    /// `provisioning_spike`.
    pub provisioning_spike: Section<ProvisioningConfig>,
    /// `iam_burst`.
    pub iam_burst: Section<IamConfig>,
    /// `maintenance_gap`.
    pub maintenance_gap: Section<MaintenanceConfig>,
    /// `rare_action`.
    pub rare_action: Section<RareConfig>,
}

impl Detectors {
    /// The policy part of the section of the detector reporting `kind`.
    pub fn policy(&self, kind: FindingKind) -> &DetectorPolicy {
        match kind {
            FindingKind::CallRateSpike => &self.call_rate_spike.policy,
            FindingKind::CallRateDrop => &self.call_rate_drop.policy,
            FindingKind::ErrorRate => &self.error_rate.policy,
            FindingKind::ProvisioningSpike => &self.provisioning_spike.policy,
            FindingKind::IamBurst => &self.iam_burst.policy,
            FindingKind::MaintenanceGap => &self.maintenance_gap.policy,
            FindingKind::RareAction => &self.rare_action.policy,
        }
    }

    /// The same, to change it.
    pub fn policy_mut(&mut self, kind: FindingKind) -> &mut DetectorPolicy {
        match kind {
            FindingKind::CallRateSpike => &mut self.call_rate_spike.policy,
            FindingKind::CallRateDrop => &mut self.call_rate_drop.policy,
            FindingKind::ErrorRate => &mut self.error_rate.policy,
            FindingKind::ProvisioningSpike => &mut self.provisioning_spike.policy,
            FindingKind::IamBurst => &mut self.iam_burst.policy,
            FindingKind::MaintenanceGap => &mut self.maintenance_gap.policy,
            FindingKind::RareAction => &mut self.rare_action.policy,
        }
    }

    /// Every detector, built from its parameters (in [`FindingKind::ALL`] order).
    fn build_all(&self) -> Result<Vec<Box<dyn Detector>>, DetectConfigError> {
        Ok(vec![
            self.call_rate_spike.params.build()?,
            self.call_rate_drop.params.build()?,
            self.error_rate.params.build()?,
            self.provisioning_spike.params.build()?,
            self.iam_burst.params.build()?,
            self.maintenance_gap.params.build()?,
            self.rare_action.params.build()?,
        ])
    }
}

/// One `[detectors.<kind>]` section: the detector's policy and its parameters, side by side
/// in the file. Unknown keys are refused; absent keys keep their defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct Section<P> {
    /// `enabled`, `shadow`, `min_score`, `overrides`.
    pub policy: DetectorPolicy,
    /// Every other key.
    pub params: P,
}

impl<P: DetectorConfig> Default for Section<P> {
    fn default() -> Self {
        Section {
            policy: DetectorPolicy::new(Threshold::of(P::DEFAULT_MIN_SCORE)),
            params: P::default(),
        }
    }
}

/// The policy keys of a section, each optional (absent: the detector's default).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyKeys {
    enabled: Option<bool>,
    shadow: Option<bool>,
    overrides: Option<Overrides>,
    min_score: Option<Threshold>,
}

const POLICY_KEYS: [&str; 4] = ["enabled", "shadow", "overrides", "min_score"];

impl<'de, P: DetectorConfig> Deserialize<'de> for Section<P> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let table = toml::Table::deserialize(d)?;
        // Errors name the key: values read back from a table carry no position of their own.
        let name = P::KIND.as_str();
        let bad = |key: &str, e: toml::de::Error| {
            D::Error::custom(format!("detectors.{name}.{key}: {}", e.message()))
        };
        let (policy, params): (toml::Table, toml::Table) = table
            .into_iter()
            .partition(|(k, _)| POLICY_KEYS.contains(&k.as_str()));
        for (k, v) in &params {
            let one = toml::Table::from_iter([(k.clone(), v.clone())]);
            if let Err(e) = P::deserialize(toml::Value::Table(one)) {
                return Err(D::Error::custom(format!(
                    "detectors.{name}.{k}: {} (a detector section also takes {})",
                    e.message(),
                    POLICY_KEYS.join(", ")
                )));
            }
        }
        let params = P::deserialize(toml::Value::Table(params)).map_err(|e| bad("", e))?;
        let mut policy_keys = PolicyKeys {
            enabled: None,
            shadow: None,
            overrides: None,
            min_score: None,
        };
        for (k, v) in policy {
            let one = toml::Value::Table(toml::Table::from_iter([(k.clone(), v)]));
            let got = PolicyKeys::deserialize(one).map_err(|e| bad(&k, e))?;
            policy_keys.enabled = policy_keys.enabled.or(got.enabled);
            policy_keys.shadow = policy_keys.shadow.or(got.shadow);
            policy_keys.overrides = policy_keys.overrides.or(got.overrides);
            policy_keys.min_score = policy_keys.min_score.or(got.min_score);
        }
        let mut policy = DetectorPolicy::new(Threshold::of(P::DEFAULT_MIN_SCORE));
        if let Some(v) = policy_keys.enabled {
            policy.enabled = v;
        }
        if let Some(v) = policy_keys.shadow {
            policy.shadow = v;
        }
        if let Some(v) = policy_keys.overrides {
            policy.overrides = v;
        }
        if let Some(v) = policy_keys.min_score {
            policy.min_score = v;
        }
        Ok(Section { policy, params })
    }
}

impl<P: Serialize> Serialize for Section<P> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // One flat table, policy keys first, as the file and run.json have always had it.
        #[derive(Serialize)]
        struct Flat<'a, P> {
            #[serde(flatten)]
            policy: &'a DetectorPolicy,
            #[serde(flatten)]
            params: &'a P,
        }
        Flat {
            policy: &self.policy,
            params: &self.params,
        }
        .serialize(s)
    }
}

/// A config file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// Unreadable.
    #[error("{}: {source}", path.display())]
    Io {
        /// File.
        path: std::path::PathBuf,
        /// Cause.
        source: std::io::Error,
    },
    /// Not valid TOML, or a key or value serde refuses (toml names the key and line).
    #[error("{0}")]
    Syntax(String),
    /// A value out of range or rules that contradict each other.
    #[error("{0}")]
    Invalid(String),
    /// A detector's parameters.
    #[error(transparent)]
    Detector(#[from] DetectConfigError),
    /// A suppression rule.
    #[error(transparent)]
    Suppression(#[from] SuppressionError),
    /// A file that is not valid, with the reason.
    #[error("{}: {reason}", path.display())]
    File {
        /// File.
        path: std::path::PathBuf,
        /// What is wrong.
        reason: Box<ConfigError>,
    },
}

impl Config {
    /// Reads and validates a file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(&text).map_err(|reason| ConfigError::File {
            path: path.to_path_buf(),
            reason: Box::new(reason),
        })
    }

    /// Parses and validates TOML text. Every error names the key and its line, in words a
    /// reader of the file knows ("a whole number ≥ 0", not `u32`).
    pub fn parse(text: &str) -> Result<Config, ConfigError> {
        let c: Config = toml::from_str(text)
            .map_err(|e| ConfigError::Syntax(explain::message(text, &e.to_string())))?;
        c.validate().map_err(|e| match e {
            ConfigError::Invalid(m) => ConfigError::Invalid(explain::message(text, &m)),
            other => ConfigError::Invalid(explain::message(text, &other.to_string())),
        })?;
        Ok(c)
    }

    /// The config as a file: what `detect` and `run` save beside findings, and what
    /// [`Config::parse`] reads back to the same config (the `config` fuzz target checks it).
    pub fn to_toml(&self) -> Result<String, toml::ser::Error> {
        toml::to_string(self)
    }

    /// The `config` fuzz target's check: any text is refused with an error or accepted, and
    /// an accepted config saved reads back the same. Panics otherwise.
    pub fn check_round_trip(text: &str) {
        if let Ok(c) = Config::parse(text) {
            let saved = c.to_toml().expect("an accepted config can be saved");
            let again = Config::parse(&saved)
                .unwrap_or_else(|e| panic!("saved config refused: {e}\n{saved}"));
            assert_eq!(c, again, "saved config reads back differently:\n{saved}");
        }
    }

    /// The suppression rules that have expired by `today`, one line each (`config check`,
    /// `detect` and `run` warn about them: an expired rule silently stops hiding findings).
    pub fn expired_rules(&self, today: chrono::NaiveDate) -> Vec<String> {
        self.suppress
            .iter()
            .enumerate()
            .filter_map(|(i, r)| {
                let d = r.expires?;
                (d < today).then(|| format!("suppress[{i}] ({:?}) expired on {d}", r.reason))
            })
            .collect()
    }

    /// Checks what serde cannot: cross-field rules, suppression rules, and every detector's
    /// parameters (by building it).
    pub fn validate(&self) -> Result<(), ConfigError> {
        let b = &self.baseline;
        if !(1..=90).contains(&b.training_days) {
            return Err(ConfigError::Invalid(format!(
                "baseline.training_days = {} (allowed 1 to 90)",
                b.training_days
            )));
        }
        if b.min_training_days < 1 || b.min_training_days > b.training_days {
            return Err(ConfigError::Invalid(format!(
                "baseline.min_training_days = {} (allowed 1 to baseline.training_days = {})",
                b.min_training_days, b.training_days
            )));
        }
        for (i, r) in self.suppress.iter().enumerate() {
            r.validate(i)?;
        }
        self.detectors.build_all()?;
        let i = &self.incidents;
        if !(1..=1440).contains(&i.gap_minutes) {
            return Err(ConfigError::Invalid(format!(
                "incidents.gap_minutes = {} (allowed 1 to 1440)",
                i.gap_minutes
            )));
        }
        if !(i.actor_share > 0.0 && i.actor_share <= 1.0) {
            return Err(ConfigError::Invalid(format!(
                "incidents.actor_share = {} (allowed above 0 up to 1)",
                i.actor_share
            )));
        }
        Ok(())
    }

    /// The shipped catalog with this config's extensions.
    pub fn catalog(&self) -> Catalog {
        let mut c = Catalog::builtin();
        c.extend(&self.catalog);
        c
    }

    /// What happens to findings: every detector's policy and the suppression rules.
    pub fn policy(&self) -> Policy {
        Policy::new(
            FindingKind::ALL.map(|k| (k, self.detectors.policy(k).clone())),
            self.suppress.clone(),
        )
    }

    /// The detectors `policy` enables, built from their parameters (validated when the file
    /// was read).
    pub fn detectors(&self, policy: &Policy) -> Vec<Box<dyn Detector>> {
        self.detectors
            .build_all()
            .expect("detector parameters are validated when the config is read")
            .into_iter()
            .filter(|d| policy.detector(d.kind()).enabled)
            .collect()
    }

    /// The config from `--config`, or the defaults.
    pub fn from_arg(path: Option<&Path>) -> Result<Config, ConfigError> {
        path.map_or_else(|| Ok(Config::default()), Config::load)
    }
}

/// Config error messages made to read well: the key's line added where the message has
/// none, serde's type names in words, and what `expires` takes.
mod explain {
    /// Top-level tables of the file; a word starting with one of them names a key path.
    const ROOTS: [&str; 5] = ["baseline", "detectors", "incidents", "catalog", "suppress"];

    pub(super) fn message(text: &str, msg: &str) -> String {
        let mut m = msg
            .replace("expected u32", "expected a whole number ≥ 0")
            .replace("expected u64", "expected a whole number ≥ 0")
            .replace("expected u16", "expected a whole number ≥ 0")
            .replace("expected u8", "expected a whole number ≥ 0")
            .replace("expected usize", "expected a whole number ≥ 0")
            .replace("expected i64", "expected a whole number")
            .replace("expected i32", "expected a whole number")
            .replace("expected f64", "expected a number")
            .replace("expected f32", "expected a number");
        if m.contains("expires") && !m.contains("YYYY-MM-DD") {
            m.push_str(" (expires takes a date, YYYY-MM-DD, in quotes)");
        }
        if m.contains("TOML parse error at line") {
            // toml points at the table of a value read inside a section (the detector
            // sections read theirs from a table): point at the key the message names instead.
            let (head, msg) = m.rsplit_once("^\n").unwrap_or(("", &m));
            let at = key_path(msg).and_then(|p| line_of(text, &p));
            return match at {
                Some(line) if !head.starts_with(&format!("TOML parse error at line {line},")) => {
                    let shown = text.lines().nth(line - 1).unwrap_or("").trim_end();
                    format!("line {line}: {}\n  {line} | {shown}", msg.trim())
                }
                _ => m,
            };
        }
        match key_path(&m).and_then(|p| line_of(text, &p)) {
            Some(line) => format!("line {line}: {m}"),
            None => m,
        }
    }

    /// The first key path the message names (`detectors.iam_burst.min_score`, `suppress[2]`).
    fn key_path(msg: &str) -> Option<String> {
        msg.split(|c: char| c.is_whitespace() || c == ':' || c == '=' || c == ',' || c == '(')
            .map(|w| w.trim_matches(|c: char| c == '`' || c == '"' || c == '\''))
            .find(|w| {
                ROOTS
                    .iter()
                    .any(|r| w.starts_with(&format!("{r}.")) || w.starts_with(&format!("{r}[")))
            })
            .map(str::to_string)
    }

    /// The 1-based line of `path` in `text`: the key's own line, else its table's header,
    /// else the closest enclosing table's.
    pub(super) fn line_of(text: &str, path: &str) -> Option<usize> {
        let mut table = String::new();
        let mut arrays: std::collections::BTreeMap<String, usize> = Default::default();
        let mut best: Option<(usize, usize)> = None; // (matched length, line)
        for (i, raw) in text.lines().enumerate() {
            let line = raw.trim();
            let here = if let Some(name) =
                line.strip_prefix("[[").and_then(|l| l.split("]]").next())
            {
                let name = unquote(name);
                let n = arrays.entry(name.clone()).or_insert(0);
                table = format!("{name}[{n}]");
                *n += 1;
                table.clone()
            } else if let Some(name) = line.strip_prefix('[').and_then(|l| l.split(']').next()) {
                table = unquote(name);
                table.clone()
            } else if let Some((key, _)) = line.split_once('=').filter(|_| !line.starts_with('#')) {
                let key = unquote(key);
                if table.is_empty() {
                    key
                } else {
                    format!("{table}.{key}")
                }
            } else {
                continue;
            };
            if here == path {
                return Some(i + 1);
            }
            let enclosing = path.starts_with(&here)
                && matches!(path.as_bytes().get(here.len()), Some(b'.') | Some(b'['));
            if enclosing && best.is_none_or(|(len, _)| here.len() > len) {
                best = Some((here.len(), i + 1));
            }
        }
        best.map(|(_, line)| line)
    }

    /// `a."b:c".d ` → `a.b:c.d`.
    fn unquote(s: &str) -> String {
        s.trim()
            .replace(['"', '\''], "")
            .split('.')
            .map(str::trim)
            .collect::<Vec<_>>()
            .join(".")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaf_keys(v: &toml::Value, prefix: &str, out: &mut std::collections::BTreeSet<String>) {
        match v {
            toml::Value::Table(t) if !t.is_empty() => {
                for (k, v) in t {
                    leaf_keys(v, &format!("{prefix}{k}."), out);
                }
            }
            _ => {
                out.insert(prefix.trim_end_matches('.').to_string());
            }
        }
    }

    fn err(text: &str) -> String {
        Config::parse(text).unwrap_err().to_string()
    }

    #[test]
    fn the_commented_default_file_is_the_default_key_for_key() {
        assert_eq!(Config::parse(DEFAULT_TOML).unwrap(), Config::default());
        let mut want = std::collections::BTreeSet::new();
        leaf_keys(
            &toml::Value::try_from(Config::default()).unwrap(),
            "",
            &mut want,
        );
        // Suppression rules have no default; the file documents them in comments.
        want.remove("suppress");
        let mut have = std::collections::BTreeSet::new();
        leaf_keys(&toml::from_str(DEFAULT_TOML).unwrap(), "", &mut have);
        assert_eq!(
            have, want,
            "src/default-config.toml and Config::default() differ"
        );
        // Every key carries its documentation on the line above.
        let lines: Vec<&str> = DEFAULT_TOML.lines().collect();
        for (i, l) in lines.iter().enumerate() {
            if !l.starts_with('#') && !l.starts_with('[') && l.contains(" = ") {
                assert!(lines[i - 1].starts_with('#'), "undocumented key: {l}");
            }
        }
    }

    #[test]
    fn overrides_and_suppressions_parse_and_bad_ones_name_the_key() {
        let c = Config::parse(
            r#"
[detectors.call_rate_spike.overrides."ec2.amazonaws.com:RunInstances"]
min_score = 90
[detectors.provisioning_spike.overrides."category:provisioning"]
enabled = false
[[suppress]]
reason = "terraform"
principal = "arn:aws:iam::*:role/terraform-*"
source_ip = "10.0.0.0/8"
expires = "2027-01-31"
"#,
        )
        .unwrap();
        assert_eq!(c.detectors.call_rate_spike.policy.overrides.len(), 1);
        assert_eq!(c.suppress.len(), 1);
        let e = err("[detectors.iam_burst.overrides.\"RunInstances\"]\nmin_score = 9\n");
        assert!(e.contains("RunInstances") && e.contains("service"), "{e}");
        let e = err("[detectors.iam_burst.overrides.\"iam.amazonaws.com\"]\nmin_score = 101\n");
        assert!(e.contains("101") && e.contains("0 to 100"), "{e}");
        let e = err("[[suppress]]\nprincipal = \"x\"\n");
        assert!(e.contains("reason"), "{e}");
        let e = err("[[suppress]]\nreason = \"all\"\n");
        assert!(
            e.contains("suppress[0]") && e.contains("every finding"),
            "{e}"
        );
        let e = err("[[suppress]]\nreason = \"r\"\nsource_ip = \"10.0.0.0/40\"\n");
        assert!(e.contains("source_ip") || e.contains("10.0.0.0/40"), "{e}");
        let e = err("[[suppress]]\nreason = \"r\"\nkind = \"spike\"\n");
        assert!(e.contains("spike"), "{e}");
    }

    /// Issue 15: every config error gives the key and its line, in words; `expires` says what
    /// it takes; an expired rule is named.
    #[test]
    fn config_errors_give_the_key_the_line_and_plain_words() {
        let e = err("[baseline]\ntraining_days = 0\n");
        assert!(e.starts_with("line 2: baseline.training_days = 0"), "{e}");
        let e = err("# x\n[detectors.iam_burst]\nenabled = true\nmin_score = 140\n");
        assert!(
            e.contains("line 4") && e.contains("min_score") && e.contains("140"),
            "{e}"
        );
        let e = err("[baseline]\ntraining_days = -3\n");
        assert!(
            e.contains("line 2") && e.contains("a whole number ≥ 0") && !e.contains("u32"),
            "{e}"
        );
        let e = err(
            "[[suppress]]\nreason = \"a\"\nprincipal = \"x\"\n[[suppress]]\nreason = \"all\"\n",
        );
        assert!(e.starts_with("line 4: suppress[1]"), "{e}");
        let e = err("[[suppress]]\nreason = \"a\"\nprincipal = \"x\"\nexpires = \"31/01/2027\"\n");
        assert!(e.contains("line 4") && e.contains("YYYY-MM-DD"), "{e}");
        let e = err("[detectors.call_rate_spike.overrides.\"ec2:RunInstances\"]\nmin_score = 90\n");
        assert!(
            e.contains("can never match") && e.contains("ec2.amazonaws.com:RunInstances"),
            "{e}"
        );
        let c = Config::parse(
            "[[suppress]]\nreason = \"old\"\nprincipal = \"x\"\nexpires = \"2026-01-31\"\n\
             [[suppress]]\nreason = \"new\"\nprincipal = \"y\"\nexpires = \"2026-03-01\"\n",
        )
        .unwrap();
        let today = chrono::NaiveDate::from_ymd_opt(2026, 2, 1).unwrap();
        assert_eq!(
            c.expired_rules(today),
            vec!["suppress[0] (\"old\") expired on 2026-01-31"]
        );
    }

    #[test]
    fn defaults_round_trip_and_bad_values_name_the_key() {
        let text = toml::to_string(&Config::default()).unwrap();
        assert_eq!(Config::parse(&text).unwrap(), Config::default());
        let e = err("[detectors.iam_burst]\nmin_score = 140\n");
        assert!(
            e.contains("min_score") && e.contains("140") && e.contains("0 to 100"),
            "{e}"
        );
        let e = err("[detectors.iam_burts]\n");
        assert!(e.contains("iam_burts"), "{e}");
        let e = err("[baseline]\ntraining_days = 3\nmin_training_days = 7\n");
        assert!(e.contains("min_training_days"), "{e}");
        let e = err("[detectors.call_rate_spike]\nwindows_minutes = [7]\n");
        assert!(e.contains("windows_minutes"), "{e}");
    }

    #[test]
    fn a_section_splits_into_policy_and_parameters() {
        let c = Config::parse(
            "[detectors.rare_action]\nshadow = true\nsensitive_score = 50\n[detectors.error_rate]\nmin_errors = 7\n",
        )
        .unwrap();
        let rare = &c.detectors.rare_action;
        // Absent policy keys keep the detector's own defaults (rare_action reports from 60).
        assert!(rare.policy.shadow && rare.policy.enabled);
        assert_eq!(rare.policy.min_score.get(), 60.0);
        assert_eq!(rare.params.sensitive_score.get(), 50.0);
        assert_eq!(c.detectors.error_rate.params.min_errors, 7);
        assert_eq!(
            c.detectors.error_rate.policy,
            DetectorPolicy::new(Threshold::of(70.0))
        );
        let e = err("[detectors.error_rate]\nmin_erors = 7\n");
        assert!(
            e.contains("min_erors") && e.contains("min_errors") && e.contains("shadow"),
            "{e}"
        );
        let e = err("[detectors.maintenance_gap]\nmin_reliability = 2.0\n");
        assert!(
            e.contains("detectors.maintenance_gap.min_reliability") && e.contains("0 to 1"),
            "{e}"
        );
        // The runtime objects: the enabled detectors, and the policy's floor.
        let c = Config::parse(
            "[detectors.iam_burst]\nenabled = false\n[detectors.call_rate_spike.overrides.\"ec2.amazonaws.com\"]\nmin_score = 40\n",
        )
        .unwrap();
        let p = c.policy();
        let kinds: Vec<FindingKind> = c.detectors(&p).iter().map(|d| d.kind()).collect();
        assert_eq!(kinds.len(), 6);
        assert!(!kinds.contains(&FindingKind::IamBurst));
        assert_eq!(p.detector(FindingKind::CallRateSpike).floor(), 40.0);
        assert_eq!(p.detector(FindingKind::ErrorRate).floor(), 70.0);
    }
}
