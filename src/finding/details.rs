//! What each detector adds to its findings beyond the shared fields, typed: the report,
//! `explain` and the Insights writer read fields, not string keys, so renaming one is a
//! compile error rather than a silently missing chart marker.
//!
//! Serialised as a flat JSON object (`"details": {...}`) whose keys are the fields below, in
//! alphabetical order (the order findings.jsonl has always had); each shape has its own set of
//! keys, so a line reads back into the same variant.

use serde::{Deserialize, Serialize};

/// A finding's detector-specific numbers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Details {
    /// `call_rate_spike`, `call_rate_drop`.
    CallRate(CallRateDetails),
    /// `error_rate` on one API.
    ApiErrors(ApiErrorDetails),
    /// `error_rate` by one principal across APIs.
    PrincipalErrors(PrincipalErrorDetails),
    /// `provisioning_spike`.
    Provisioning(ProvisioningDetails),
    /// `iam_burst`.
    IamBurst(IamBurstDetails),
    /// `rare_action`.
    RareAction(RareActionDetails),
    /// `maintenance_gap`.
    MaintenanceGap(MaintenanceGapDetails),
    /// Nothing beyond the shared fields (`{}`).
    None(NoDetails),
}

impl Default for Details {
    fn default() -> Self {
        Details::None(NoDetails {})
    }
}

/// No details: `{}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoDetails {}

/// A call-rate finding's model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CallRateDetails {
    /// The negative-binomial dispersion α of the series (0 is Poisson).
    pub dispersion: f64,
    /// The series was absent from the baseline (a new API); its prior rate was used.
    pub new_series: bool,
}

/// An error-rate finding on one API.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiErrorDetails {
    /// The share of the series' calls that failed in the baseline (none: a new series).
    pub baseline_error_share: Option<f64>,
    /// Calls (failed or not) in the window.
    pub calls: u32,
}

/// An error-rate finding by one principal across APIs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrincipalErrorDetails {
    /// APIs that failed in the window.
    pub distinct_apis: u64,
    /// Services they belong to.
    pub distinct_services: u64,
    /// The principal's failed calls in the baseline (none: a principal new to the baseline).
    pub principal_baseline_errors: Option<u64>,
}

/// A provisioning spike.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProvisioningDetails {
    /// Provisioning calls of the scope in the baseline (none: a scope new to the baseline).
    pub baseline_total: Option<u64>,
    /// `principal` (one identity) or `account_region` (everyone in the account and region).
    pub scope: String,
}

/// An IAM burst.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IamBurstDetails {
    /// The principal's IAM writes in the baseline.
    pub principal_iam_writes_in_baseline: u64,
    /// The principal was in the baseline at all.
    pub principal_known: bool,
}

/// A first-seen sensitive action.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RareActionDetails {
    /// The catalog category that makes the action sensitive.
    pub category: String,
    /// Hours in which the principal was active in the baseline.
    pub principal_active_hours: u32,
    /// The principal called this API before, but never in this region.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub first_in_region: bool,
}

/// A periodic job that did not run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MaintenanceGapDetails {
    /// When the missed run was expected (RFC 3339).
    pub expected_run: String,
    /// How often the job runs.
    pub period: crate::baseline::Period,
    /// Some of the job's calls happened in the window, off their usual time.
    pub ran_off_schedule: bool,
    /// Runs the baseline expected.
    pub runs_expected: u32,
    /// Runs seen in the baseline.
    pub runs_seen: u32,
}

impl MaintenanceGapDetails {
    /// The expected run time as epoch seconds.
    pub fn expected_run_secs(&self) -> Option<i64> {
        chrono::DateTime::parse_from_rfc3339(&self.expected_run)
            .ok()
            .map(|t| t.timestamp())
    }
}

impl Details {
    /// Whether there is nothing beyond the shared fields.
    pub fn is_empty(&self) -> bool {
        matches!(self, Details::None(_))
    }

    /// The fields as `(label, value)` text pairs, for pages and terminals that list them:
    /// labels in words ("principal baseline errors", not the JSON key), yes/no, a job's
    /// period as said ("weekly on Saturday").
    pub fn pairs(&self) -> Vec<(String, String)> {
        use serde_json::Value;
        let v = serde_json::to_value(self).expect("details serialise");
        v.as_object()
            .map(|m| {
                m.iter()
                    .map(|(k, v)| {
                        let s = match v {
                            _ if k == "period" => {
                                serde_json::from_value::<crate::baseline::Period>(v.clone())
                                    .map_or_else(|_| v.to_string(), |p| p.to_string())
                            }
                            Value::String(s) => s.clone(),
                            Value::Bool(b) => (if *b { "yes" } else { "no" }).to_string(),
                            Value::Null => "—".to_string(),
                            Value::Number(n) => match n.as_f64() {
                                Some(f) if n.is_f64() => format!("{:.3}", f)
                                    .trim_end_matches('0')
                                    .trim_end_matches('.')
                                    .to_string(),
                                _ => n.to_string(),
                            },
                            other => other.to_string(),
                        };
                        (k.replace('_', " "), s)
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 15: `Weekly { weekday: 6 }` and snake_case keys on the page.
    #[test]
    fn pairs_read_as_words() {
        let d = Details::MaintenanceGap(MaintenanceGapDetails {
            expected_run: "2026-01-10T03:00:00Z".into(),
            period: crate::baseline::Period::Weekly { weekday: 5 },
            ran_off_schedule: false,
            runs_expected: 4,
            runs_seen: 4,
        });
        let p = d.pairs();
        assert!(
            p.contains(&("period".into(), "weekly on Saturday".into())),
            "{p:?}"
        );
        assert!(
            p.contains(&("ran off schedule".into(), "no".into())),
            "{p:?}"
        );
        assert!(p.iter().all(|(k, _)| !k.contains('_')), "{p:?}");
    }

    #[test]
    fn each_shape_reads_back_as_itself() {
        let all = [
            Details::CallRate(CallRateDetails {
                dispersion: 0.35,
                new_series: false,
            }),
            Details::ApiErrors(ApiErrorDetails {
                baseline_error_share: None,
                calls: 12,
            }),
            Details::PrincipalErrors(PrincipalErrorDetails {
                distinct_apis: 4,
                distinct_services: 2,
                principal_baseline_errors: Some(0),
            }),
            Details::Provisioning(ProvisioningDetails {
                baseline_total: Some(3),
                scope: "principal".into(),
            }),
            Details::IamBurst(IamBurstDetails {
                principal_iam_writes_in_baseline: 0,
                principal_known: true,
            }),
            Details::RareAction(RareActionDetails {
                category: "sensitive".into(),
                principal_active_hours: 40,
                first_in_region: false,
            }),
            Details::RareAction(RareActionDetails {
                category: "provisioning".into(),
                principal_active_hours: 400,
                first_in_region: true,
            }),
            Details::MaintenanceGap(MaintenanceGapDetails {
                expected_run: "2026-01-05T02:00:00Z".into(),
                period: crate::baseline::Period::Daily,
                ran_off_schedule: false,
                runs_expected: 28,
                runs_seen: 28,
            }),
            Details::None(NoDetails {}),
        ];
        for d in all {
            let text = serde_json::to_string(&d).unwrap();
            assert_eq!(serde_json::from_str::<Details>(&text).unwrap(), d, "{text}");
        }
        assert_eq!(serde_json::to_string(&Details::default()).unwrap(), "{}");
        // Keys come out sorted, as serde_json's map wrote them before the details were typed.
        let m = Details::MaintenanceGap(MaintenanceGapDetails {
            expected_run: "2026-01-05T02:00:00Z".into(),
            period: crate::baseline::Period::Weekly { weekday: 6 },
            ran_off_schedule: true,
            runs_expected: 4,
            runs_seen: 4,
        });
        let text = serde_json::to_string(&m).unwrap();
        let sorted: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(text, sorted.to_string());
        let Details::MaintenanceGap(g) = m else {
            unreachable!()
        };
        assert_eq!(g.expected_run_secs(), Some(1_767_578_400));
        // A shape no detector writes is refused, not silently dropped.
        assert!(serde_json::from_str::<Details>(r#"{"dispersion": 1.0}"#).is_err());
    }
}
