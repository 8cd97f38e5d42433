//! The configuration file (`trailsight.toml`): baseline and detector settings and catalog
//! extensions, each section a serde struct with `deny_unknown_fields` and documented defaults.
//! Thresholds are validated types, so a bad value is refused when the file is read, with the
//! key and the allowed range in the message.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::baseline::BaselineConfig;
use crate::catalog::{Catalog, CatalogExtension};
use crate::detect::DetectConfig;
use crate::policy::Suppression;

/// The full default configuration with a comment on every key (`trailsight config default`);
/// a test keeps it equal to [`Config::default`] key for key.
pub const DEFAULT_TOML: &str = include_str!("default-config.toml");

/// The whole file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// `[baseline]`: training window.
    pub baseline: BaselineConfig,
    /// `[detectors.<name>]`: each detector's switches and thresholds.
    pub detectors: DetectConfig,
    /// `[catalog.categories]`: APIs added to the shipped catalog's categories.
    pub catalog: CatalogExtension,
    /// `[[suppress]]`: rules that hide findings from alerts (kept and counted in the report).
    pub suppress: Vec<Suppression>,
}

/// A config file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// Unreadable.
    #[error("{path}: {source}")]
    Io {
        /// File.
        path: std::path::PathBuf,
        /// Cause.
        source: std::io::Error,
    },
    /// Not valid, with the key, the value and the reason.
    #[error("{path}: {reason}")]
    Invalid {
        /// File.
        path: std::path::PathBuf,
        /// What is wrong (toml names the key and line).
        reason: String,
    },
}

impl Config {
    /// Reads and validates a file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(&text).map_err(|reason| ConfigError::Invalid {
            path: path.to_path_buf(),
            reason,
        })
    }

    /// Parses and validates TOML text.
    pub fn parse(text: &str) -> Result<Config, String> {
        let c: Config = toml::from_str(text).map_err(|e| e.to_string())?;
        c.validate()?;
        Ok(c)
    }

    /// Checks cross-field rules serde cannot.
    pub fn validate(&self) -> Result<(), String> {
        let b = &self.baseline;
        if !(1..=90).contains(&b.training_days) {
            return Err(format!(
                "baseline.training_days = {} (allowed 1 to 90)",
                b.training_days
            ));
        }
        if b.min_training_days < 1 || b.min_training_days > b.training_days {
            return Err(format!(
                "baseline.min_training_days = {} (allowed 1 to baseline.training_days = {})",
                b.min_training_days, b.training_days
            ));
        }
        let m = &self.detectors.maintenance_gap;
        if !(0.0..=1.0).contains(&m.min_reliability) {
            return Err(format!(
                "detectors.maintenance_gap.min_reliability = {} (allowed 0 to 1)",
                m.min_reliability
            ));
        }
        let windows = [
            (
                "call_rate_spike",
                &self.detectors.call_rate_spike.windows_minutes,
            ),
            (
                "call_rate_drop",
                &self.detectors.call_rate_drop.windows_minutes,
            ),
            ("error_rate", &self.detectors.error_rate.windows_minutes),
            (
                "provisioning_spike",
                &self.detectors.provisioning_spike.windows_minutes,
            ),
            ("iam_burst", &self.detectors.iam_burst.windows_minutes),
        ];
        for (i, r) in self.suppress.iter().enumerate() {
            r.validate(i)?;
        }
        for (name, w) in windows {
            if w.is_empty() || w.iter().any(|m| *m == 0 || m % 5 != 0 || *m > 1440) {
                return Err(format!("detectors.{name}.windows_minutes = {w:?} (allowed: multiples of 5 from 5 to 1440, at least one)"));
            }
        }
        Ok(())
    }

    /// The shipped catalog with this config's extensions.
    pub fn catalog(&self) -> Catalog {
        let mut c = Catalog::builtin();
        c.extend(&self.catalog);
        c
    }

    /// The config from `--config`, or the defaults.
    pub fn from_arg(path: Option<&Path>) -> Result<Config, ConfigError> {
        path.map_or_else(|| Ok(Config::default()), Config::load)
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
        assert_eq!(c.detectors.call_rate_spike.overrides.len(), 1);
        assert_eq!(c.suppress.len(), 1);
        let e = Config::parse("[detectors.iam_burst.overrides.\"RunInstances\"]\nmin_score = 9\n")
            .unwrap_err();
        assert!(e.contains("RunInstances") && e.contains("service"), "{e}");
        let e = Config::parse(
            "[detectors.iam_burst.overrides.\"iam.amazonaws.com\"]\nmin_score = 101\n",
        )
        .unwrap_err();
        assert!(e.contains("101") && e.contains("0 to 100"), "{e}");
        let e = Config::parse("[[suppress]]\nprincipal = \"x\"\n").unwrap_err();
        assert!(e.contains("reason"), "{e}");
        let e = Config::parse("[[suppress]]\nreason = \"all\"\n").unwrap_err();
        assert!(
            e.contains("suppress[0]") && e.contains("every finding"),
            "{e}"
        );
        let e = Config::parse("[[suppress]]\nreason = \"r\"\nsource_ip = \"10.0.0.0/40\"\n")
            .unwrap_err();
        assert!(e.contains("source_ip") || e.contains("10.0.0.0/40"), "{e}");
        let e = Config::parse("[[suppress]]\nreason = \"r\"\nkind = \"spike\"\n").unwrap_err();
        assert!(e.contains("spike"), "{e}");
    }

    #[test]
    fn defaults_round_trip_and_bad_values_name_the_key() {
        let text = toml::to_string(&Config::default()).unwrap();
        assert_eq!(Config::parse(&text).unwrap(), Config::default());
        let e = Config::parse("[detectors.iam_burst]\nmin_score = 140\n").unwrap_err();
        assert!(
            e.contains("min_score") && e.contains("140") && e.contains("0 to 100"),
            "{e}"
        );
        let e = Config::parse("[detectors.iam_burts]\n").unwrap_err();
        assert!(e.contains("iam_burts"), "{e}");
        let e =
            Config::parse("[baseline]\ntraining_days = 3\nmin_training_days = 7\n").unwrap_err();
        assert!(e.contains("min_training_days"), "{e}");
        let e = Config::parse("[detectors.call_rate_spike]\nwindows_minutes = [7]\n").unwrap_err();
        assert!(e.contains("windows_minutes"), "{e}");
    }
}
