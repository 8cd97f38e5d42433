//! The page: a view model of plain strings and numbers rendered through a minijinja template
//! with HTML auto-escaping (the template is named `.html`, so every `{{ }}` is escaped). Only
//! our own base64 chart URIs and the page's constant CSS/JS are marked safe.

use std::collections::{BTreeMap, HashMap};

use base64::Engine;
use minijinja::{context, Environment, Value};
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::data::{duration, Overview};
use super::{Group, ReportError, ReportInput};
use crate::baseline::Baselines;
use crate::finding::{Attribution, Finding, FindingKind, Severity};
use crate::ingest::log::IngestRun;
use crate::rollup::Store;
use crate::time::TimeRange;

const TEMPLATE: &str = include_str!("templates/report.html");
const CSS: &str = include_str!("templates/report.css");
const JS: &str = include_str!("templates/report.js");

/// Problems listed in the data-quality section (the rest are counted).
const MAX_PROBLEMS: usize = 100;

/// AWS's insights next to the findings: rows of (AWS insight, trailsight findings).
fn aws_side_by_side(c: &crate::aws::insights::InsightComparison) -> Value {
    use crate::aws::insights::{AwsInsight, FindingRef};
    let t = |d: &chrono::DateTime<chrono::Utc>| d.format("%Y-%m-%d %H:%M").to_string();
    let aws = |a: &AwsInsight| {
        context! {
            api => format!("{}:{}", a.event_source, a.event_name),
            kind => &a.insight_type,
            error_code => &a.error_code,
            where_ => format!("{} / {}", a.account, a.region),
            window => format!("{} – {}", t(&a.start), a.end.as_ref().map_or("open".to_string(), t)),
            rate => match (a.insight_average, a.baseline_average) {
                (Some(i), Some(b)) => format!(
                    "{} vs {}",
                    crate::finding::format_rate(i, 1.0),
                    crate::finding::format_rate(b, 1.0)
                ),
                _ => String::new(),
            },
        }
    };
    let ours = |f: &FindingRef| {
        context! {
            id => &f.id,
            anchor => format!("f-{}", f.id),
            kind => &f.kind,
            api => format!("{}:{}", f.event_source, f.event_names.join(",")),
            where_ => format!("{} / {}", f.account, f.region),
            window => format!("{} – {}", t(&f.start), t(&f.end)),
            score => format!("{:.1}", f.score),
        }
    };
    context! {
        period => format!("{} – {} UTC", t(&c.since), t(&c.until)),
        slack => c.slack_minutes,
        both => c.both.iter().map(|m| context! { aws => aws(&m.aws), ours => m.findings.iter().map(ours).collect::<Vec<_>>() }).collect::<Vec<_>>(),
        only_aws => c.only_aws.iter().map(aws).collect::<Vec<_>>(),
        only_ours => c.only_trailsight.iter().map(ours).collect::<Vec<_>>(),
    }
}

/// Everything the page shows.
pub(crate) struct Page<'a> {
    pub(crate) input: &'a ReportInput<'a>,
    pub(crate) period: TimeRange,
    pub(crate) events: u64,
    pub(crate) groups: &'a [Group<'a>],
    pub(crate) charts: HashMap<String, Vec<u8>>,
    pub(crate) overview: &'a [(&'static str, Vec<u8>)],
    pub(crate) overview_data: &'a Overview,
    pub(crate) silent_hours: &'a [(String, String, i64)],
    pub(crate) ingests: &'a [IngestRun],
    pub(crate) baselines: Option<&'a Baselines>,
    pub(crate) store: &'a Store,
}

#[derive(Debug, Serialize)]
struct Row {
    id: String,
    anchor: String,
    kind: &'static str,
    severity: &'static str,
    sev_rank: u8,
    score: String,
    start: String,
    start_ts: i64,
    account: String,
    region: String,
    api: String,
    principal: String,
    related: usize,
}

#[derive(Debug, Serialize)]
struct AttrRow {
    value: String,
    insight_count: u64,
    insight_share: String,
    baseline_count: u64,
    baseline_share: String,
}

#[derive(Debug, Serialize)]
struct AttrTable {
    name: &'static str,
    rows: Vec<AttrRow>,
}

#[derive(Debug, Serialize)]
struct Detail {
    row: Row,
    explanation: String,
    chart: Value,
    window: String,
    duration: String,
    observed: String,
    expected: String,
    ratio: String,
    p_value: String,
    baseline_window: String,
    event_source: String,
    event_names: String,
    error_code: Option<String>,
    attributions: Vec<AttrTable>,
    event_ids: Vec<String>,
    access_keys: Vec<String>,
    source_ips: Vec<String>,
    user_agents: Vec<String>,
    details: Vec<(String, String)>,
    related: Vec<Detail>,
}

fn api_of(f: &Finding) -> String {
    match f.event_names.as_slice() {
        [one] => format!("{}:{one}", f.event_source),
        [first, rest @ ..] => format!("{}:{first} (+{} more)", f.event_source, rest.len()),
        [] => f.event_source.clone(),
    }
}

fn row(f: &Finding, related: usize) -> Row {
    Row {
        id: f.id.clone(),
        anchor: format!("f-{}", f.id),
        kind: f.kind.as_str(),
        severity: f.severity.as_str(),
        sev_rank: f.severity as u8,
        score: format!("{:.1}", f.score),
        start: hm(&f.start),
        start_ts: f.start.timestamp(),
        account: f.account.clone(),
        region: f.region.clone(),
        api: api_of(f),
        principal: f.principal.clone().unwrap_or_default(),
        related,
    }
}

fn hm(t: &chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%d %H:%M").to_string()
}

fn pct(x: f64) -> String {
    format!("{:.1} %", x * 100.0)
}

fn attr_rows(v: &[Attribution]) -> Vec<AttrRow> {
    v.iter()
        .map(|a| AttrRow {
            value: a.value.clone(),
            insight_count: a.insight_count,
            insight_share: pct(a.insight_share),
            baseline_count: a.baseline_count,
            baseline_share: pct(a.baseline_share),
        })
        .collect()
}

fn data_uri(png: &[u8]) -> Value {
    // Base64 is [A-Za-z0-9+/=] only: nothing in it can break out of the attribute.
    Value::from_safe_string(format!(
        "data:image/png;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(png)
    ))
}

fn detail(f: &Finding, related: &[&Finding], charts: &HashMap<String, Vec<u8>>) -> Detail {
    let a = &f.attributions;
    let tables = [
        ("principal", &a.principal),
        ("user agent", &a.user_agent),
        ("source IP", &a.source_ip),
        ("error code", &a.error_code),
    ]
    .into_iter()
    .filter(|(_, v)| !v.is_empty())
    .map(|(name, v)| AttrTable {
        name,
        rows: attr_rows(v),
    })
    .collect();
    let ratio = if f.expected.total > 0.0 {
        format!("{:.1}×", f.observed.total / f.expected.total)
    } else {
        "—".into()
    };
    Detail {
        row: row(f, related.len()),
        explanation: f.explanation.clone(),
        chart: charts.get(&f.id).map_or(Value::from(()), |p| data_uri(p)),
        window: format!("{} – {} UTC", hm(&f.start), hm(&f.end)),
        duration: duration(f.end.timestamp() - f.start.timestamp()),
        observed: format!(
            "{:.0} ({})",
            f.observed.total,
            crate::finding::format_rate(f.observed.total, f.duration_minutes())
        ),
        expected: format!(
            "{:.2} ({})",
            f.expected.total,
            crate::finding::format_rate(f.expected.total, f.duration_minutes())
        ),
        ratio,
        p_value: format!("{:.2e}", f.p_value),
        baseline_window: format!(
            "{} – {} UTC",
            hm(&crate::time::datetime(f.baseline_window.start)),
            hm(&crate::time::datetime(f.baseline_window.end))
        ),
        event_source: f.event_source.clone(),
        event_names: f.event_names.join(", "),
        error_code: f.error_code.clone(),
        attributions: tables,
        event_ids: f.example_event_ids.clone(),
        access_keys: f.access_key_ids.clone(),
        source_ips: a.source_ip.iter().map(|x| x.value.clone()).collect(),
        user_agents: a.user_agent.iter().map(|x| x.value.clone()).collect(),
        details: f.details.pairs(),
        related: related.iter().map(|r| detail(r, &[], charts)).collect(),
    }
}

/// Consecutive silent hours of one account/region as ranges.
#[derive(Debug, Serialize)]
struct Hole {
    account: String,
    region: String,
    from: String,
    to: String,
    hours: i64,
}

fn holes(silent: &[(String, String, i64)]) -> Vec<Hole> {
    let mut by: BTreeMap<(&str, &str), Vec<i64>> = BTreeMap::new();
    for (a, r, t) in silent {
        by.entry((a.as_str(), r.as_str())).or_default().push(*t);
    }
    let mut out = Vec::new();
    for ((a, r), mut ts) in by {
        ts.sort_unstable();
        let mut i = 0;
        while i < ts.len() {
            let mut j = i;
            while j + 1 < ts.len() && ts[j + 1] == ts[j] + 3600 {
                j += 1;
            }
            out.push(Hole {
                account: a.to_string(),
                region: r.to_string(),
                from: crate::time::format(ts[i]),
                to: crate::time::format(ts[j] + 3600),
                hours: (j - i + 1) as i64,
            });
            i = j + 1;
        }
    }
    out
}

/// `49318` → `49,318`.
fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, ch) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// Base64 SHA-256 of an inline block, for the CSP.
fn csp_hash(s: &str) -> String {
    format!(
        "'sha256-{}'",
        base64::engine::general_purpose::STANDARD.encode(Sha256::digest(s.as_bytes()))
    )
}

/// The summary numbers (also the golden-tested part of report.json).
#[derive(Debug, Serialize)]
pub(crate) struct Summary {
    pub(crate) period_start: String,
    pub(crate) period_end: String,
    pub(crate) events: u64,
    pub(crate) findings: usize,
    pub(crate) shown: usize,
    pub(crate) nested: usize,
    pub(crate) by_severity: Vec<(&'static str, usize)>,
    pub(crate) by_kind: Vec<(&'static str, usize)>,
    pub(crate) silent_hours: usize,
    pub(crate) top_apis: Vec<(String, u64, Option<f64>)>,
}

pub(crate) fn summary(page: &Page<'_>) -> Summary {
    let fs = page.input.findings;
    let by_severity = Severity::ALL
        .iter()
        .rev()
        .map(|s| (s.as_str(), fs.iter().filter(|f| f.severity == *s).count()))
        .collect();
    let by_kind = FindingKind::ALL
        .iter()
        .map(|k| (k.as_str(), fs.iter().filter(|f| f.kind == *k).count()))
        .filter(|(_, n)| *n > 0)
        .collect();
    Summary {
        period_start: crate::time::format(page.period.start),
        period_end: crate::time::format(page.period.end),
        events: page.events,
        findings: fs.len(),
        shown: page.groups.len(),
        nested: page.groups.iter().map(|g| g.related.len()).sum(),
        by_severity,
        by_kind,
        silent_hours: page.silent_hours.len(),
        top_apis: page
            .overview_data
            .top_apis
            .iter()
            .map(|(n, c, e)| (n.clone(), *c, e.map(|x| (x * 10.0).round() / 10.0)))
            .collect(),
    }
}

/// Renders the page and report.json.
/// Escapes `s` for HTML and lets long identifiers (ARNs, endpoints, user agents) wrap only
/// after `:`, `/`, `.` or `@`, never mid-word (issue 15: ARNs and regions split mid-word).
fn breakable(s: &str) -> Value {
    let mut o = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#x27;"),
            c => o.push(c),
        }
        if matches!(c, ':' | '/' | '.' | '@') {
            o.push_str("<wbr>");
        }
    }
    Value::from_safe_string(o)
}

/// The template with its filters.
fn environment() -> Result<Environment<'static>, ReportError> {
    let mut env = Environment::new();
    env.add_filter("breakable", breakable);
    env.add_template("report.html", TEMPLATE)
        .map_err(|e| ReportError::Template(e.to_string()))?;
    Ok(env)
}

pub(crate) fn render(page: &Page<'_>) -> Result<(String, String), ReportError> {
    let env = environment()?;
    let rows: Vec<Row> = page
        .groups
        .iter()
        .map(|g| row(g.finding, g.related.len()))
        .collect();
    let details: Vec<Detail> = page
        .groups
        .iter()
        .map(|g| detail(g.finding, &g.related, &page.charts))
        .collect();
    let distinct = |f: &dyn Fn(&Row) -> String| {
        let mut v: Vec<String> = rows.iter().map(f).filter(|s| !s.is_empty()).collect();
        v.sort();
        v.dedup();
        v
    };
    let kinds = distinct(&|r| r.kind.to_string());
    let severities: Vec<&str> = Severity::ALL
        .iter()
        .rev()
        .map(|s| s.as_str())
        .filter(|s| rows.iter().any(|r| r.severity == *s))
        .collect();
    let accounts = distinct(&|r| r.account.clone());
    let sum = summary(page);
    let side = |f: &Finding, reason: Option<&str>| {
        context! {
            row => row(f, 0),
            explanation => &f.explanation,
            reason => reason,
        }
    };
    let shadow: Vec<Value> = page.input.shadow.iter().map(|f| side(f, None)).collect();
    let suppressed: Vec<Value> = page
        .input
        .suppressed
        .iter()
        .map(|s| side(&s.finding, Some(&s.reason)))
        .collect();
    let mut problems = Vec::new();
    let mut problems_more = 0u64;
    for run in page.ingests.iter().rev() {
        for p in &run.summary.problems {
            if problems.len() < MAX_PROBLEMS {
                problems.push(p.clone());
            } else {
                problems_more += 1;
            }
        }
        problems_more += run.summary.problems_not_listed;
    }
    let ingests: Vec<_> = page
        .ingests
        .iter()
        .rev()
        .map(|r| {
            let s = &r.summary;
            context! {
                at => r.at.format("%Y-%m-%d %H:%M:%S").to_string(),
                files => s.files,
                mib => format!("{:.1}", s.input_bytes as f64 / 1048576.0),
                records => s.records,
                management_events => s.management_events,
                skipped => s.skipped_non_management,
                duplicates => s.duplicates,
                bad_files => s.bad_files,
                bad_records => s.bad_records,
                span => match (&s.first_event, &s.last_event) {
                    (Some(a), Some(b)) => format!("{a} – {b}"),
                    _ => "no new events".into(),
                },
            }
        })
        .collect();
    let config_toml = toml::to_string_pretty(page.input.config)
        .unwrap_or_else(|e| format!("# the config could not be shown: {e}"));
    let baseline = page.baselines.map(|b| {
        context! {
            training => format!("{} – {} UTC ({} days)", hm(&b.training_start), hm(&b.training_end), b.history_days),
            series => b.series.len(),
            principals => b.principals.len(),
            jobs => b.jobs.len(),
        }
    });
    let store_days = page.store.days();
    let overview: Vec<_> = page
        .overview
        .iter()
        .map(|(name, png)| context! { name => *name, uri => data_uri(png) })
        .collect();
    let csp = format!(
        "default-src 'none'; img-src data:; style-src {}; script-src {}; base-uri 'none'; form-action 'none'",
        csp_hash(CSS),
        csp_hash(JS)
    );
    let tmpl = env
        .get_template("report.html")
        .map_err(|e| ReportError::Template(e.to_string()))?;
    let html = tmpl
        .render(context! {
            csp => csp,
            css => Value::from_safe_string(CSS.to_string()),
            js => Value::from_safe_string(JS.to_string()),
            generated => chrono::Utc::now().format("%Y-%m-%d %H:%M UTC").to_string(),
            version => env!("CARGO_PKG_VERSION"),
            source => &page.input.findings_source,
            summary => &sum,
            events => thousands(sum.events),
            period => format!("{} – {} UTC", sum.period_start.trim_end_matches(":00Z").replace('T', " "), sum.period_end.trim_end_matches(":00Z").replace('T', " ")),
            rows => &rows,
            details => &details,
            kinds => kinds,
            severities => severities,
            accounts => accounts,
            overview => overview,
            ingests => ingests,
            problems => problems,
            problems_more => problems_more,
            holes => holes(page.silent_hours),
            config_toml => config_toml,
            baseline => baseline,
            stored_days => store_days.len(),
            stored_events => page.store.total_events(),
            shadow => shadow,
            aws => page.input.aws.map(aws_side_by_side),
            suppressed => suppressed,
        })
        .map_err(|e| ReportError::Template(e.to_string()))?;
    let json = serde_json::to_string_pretty(&serde_json::json!({
        "summary": sum,
        "groups": page.groups.iter().map(|g| serde_json::json!({
            "id": g.finding.id,
            "related": g.related.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "overview": page.overview_data,
    }))
    .map_err(|e| ReportError::Template(e.to_string()))?;
    Ok((html, json))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csp_hash_is_base64_sha256() {
        // printf 'a' | openssl dgst -sha256 -binary | base64
        assert_eq!(
            csp_hash("a"),
            "'sha256-ypeBEsobvcr6wjGzmiPcTaeG7/gUfE5yuYB3ha/uSLs='"
        );
    }

    #[test]
    fn thousands_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(49318), "49,318");
        assert_eq!(thousands(1234567), "1,234,567");
    }

    #[test]
    fn silent_hours_merge_into_ranges() {
        let s = vec![
            ("1".to_string(), "r".to_string(), 3600),
            ("1".to_string(), "r".to_string(), 7200),
            ("1".to_string(), "r".to_string(), 18000),
        ];
        let h = holes(&s);
        assert_eq!(h.len(), 2);
        assert_eq!(h[0].hours, 2);
        assert_eq!(h[0].to, "1970-01-01T03:00:00Z");
        assert_eq!(h[1].hours, 1);
    }

    #[test]
    fn the_template_escapes_log_strings() {
        let env = environment().unwrap();
        let t = env.get_template("report.html").unwrap();
        let evil = "\"><img src=x onerror=alert(1)><script>alert(2)</script>";
        let out = t
            .render(context! {
                rows => vec![context!{ id => evil, anchor => evil, kind => "iam_burst", severity => "high",
                    sev_rank => 2, score => "1", start => "", start_ts => 0, account => evil,
                    region => evil, api => evil, principal => evil, related => 0 }],
                summary => context!{ by_severity => Vec::<(String, usize)>::new(), by_kind => Vec::<(String, usize)>::new() },
            })
            .unwrap();
        assert!(!out.contains("<img src=x"), "unescaped payload");
        assert!(!out.contains("<script>alert"), "unescaped payload");
        assert!(out.contains("&lt;script&gt;alert(2)"));
    }

    /// Issue 15: ARNs wrapped mid-word in the table; they break after `:` and `/` only, and
    /// what they hold is still escaped.
    #[test]
    fn identifiers_break_after_separators_only_and_stay_escaped() {
        let v = breakable("arn:aws:iam::1:role/<x>");
        assert_eq!(
            v.to_string(),
            "arn:<wbr>aws:<wbr>iam:<wbr>:<wbr>1:<wbr>role/<wbr>&lt;x&gt;"
        );
    }
}
