//! What the command line prints: every terminal rendering in one place, as strings the
//! handlers print.

use crate::finding::{Finding, FindingKind};
use crate::ingest::IngestSummary;
use crate::pipeline::tune::TuneRow;
use crate::pipeline::Detection;

/// The one-screen human summary of an ingest.
pub fn ingest_summary(s: &IngestSummary) -> String {
    use std::fmt::Write;
    let mut o = String::new();
    let rate = if s.seconds > 0.0 {
        s.records as f64 / s.seconds
    } else {
        0.0
    };
    let _ = writeln!(
        o,
        "files read            {:>12}   ({:.1} MiB compressed)",
        s.files,
        s.input_bytes as f64 / 1048576.0
    );
    let _ = writeln!(
        o,
        "records read          {:>12}   ({:.0} records/s, {:.2} s)",
        s.records, rate, s.seconds
    );
    let _ = writeln!(
        o,
        "management events     {:>12}   new, unique",
        s.management_events
    );
    let _ = writeln!(
        o,
        "skipped (not mgmt)    {:>12}   data {}, insight {}, network activity {}",
        s.skipped_non_management, s.skipped.data, s.skipped.insight, s.skipped.network_activity
    );
    let _ = writeln!(
        o,
        "duplicates            {:>12}   same eventID already seen",
        s.duplicates
    );
    let _ = writeln!(o, "bad files             {:>12}", s.bad_files);
    let _ = writeln!(o, "bad records           {:>12}", s.bad_records);
    let span = match (&s.first_event, &s.last_event) {
        (Some(a), Some(b)) => format!("{a} .. {b}"),
        _ => "no new events".into(),
    };
    let _ = writeln!(o, "time span             {span}");
    let _ = writeln!(o, "accounts              {}", list(&s.accounts));
    let _ = writeln!(o, "regions               {}", list(&s.regions));
    let _ = writeln!(o, "days updated          {}", s.days_updated.len());
    if !s.problems.is_empty() {
        let _ = writeln!(o, "problems:");
        for p in s.problems.iter().take(20) {
            match p.record {
                Some(n) => {
                    let _ = writeln!(o, "  {} (record {n}): {}", p.path, p.reason);
                }
                None => {
                    let _ = writeln!(o, "  {}: {}", p.path, p.reason);
                }
            }
        }
        let more = s.problems.len().saturating_sub(20) as u64 + s.problems_not_listed;
        if more > 0 {
            let _ = writeln!(o, "  … and {more} more (use --json for the full list)");
        }
    }
    o
}

fn list(v: &[String]) -> String {
    if v.len() <= 6 {
        v.join(", ")
    } else {
        format!("{} and {} more", v[..6].join(", "), v.len() - 6)
    }
}

/// A detection as the terminal shows it: its incidents, the `top` highest first, each with
/// its findings in time order.
pub fn findings(d: &Detection, top: usize) -> String {
    use std::fmt::Write;
    let mut o = String::new();
    let _ = writeln!(
        o,
        "{} incident(s) from {} finding(s) over {} .. {} ({} series, {} events)",
        d.incidents.len(),
        d.findings.len(),
        crate::time::format(d.window.start),
        crate::time::format(d.window.end),
        d.series,
        d.events
    );
    for i in d.incidents.iter().take(top) {
        let _ = writeln!(
            o,
            "  {:>5.1} {:<8} {}  {}  {}",
            i.score,
            i.severity.as_str(),
            crate::time::format_datetime(&i.start),
            i.id,
            i.title
        );
        for s in &i.storyline {
            let _ = writeln!(
                o,
                "        {:>5.1} {:<18} {}  {}",
                s.score,
                s.kind.as_str(),
                crate::time::format_datetime(&s.at),
                s.summary
            );
        }
    }
    if d.incidents.len() > top {
        let _ = writeln!(o, "  … {} more in incidents.jsonl", d.incidents.len() - top);
    }
    o
}

/// A finding's full reasoning.
pub fn explanation(f: &Finding) -> String {
    use std::fmt::Write;
    let mut o = String::new();
    let _ = writeln!(
        o,
        "{} {} (score {:.1}, {}, p = {:.3e})",
        f.id,
        f.kind.as_str(),
        f.score,
        f.severity.as_str(),
        f.p_value
    );
    let _ = writeln!(o, "{}\n", f.explanation);
    let _ = writeln!(
        o,
        "where      {}/{}  {}  {}",
        f.account,
        f.region,
        f.event_source,
        f.event_names.join(", ")
    );
    if let Some(p) = &f.principal {
        let _ = writeln!(o, "principal  {p}");
    }
    if let Some(c) = &f.error_code {
        let _ = writeln!(o, "error      {c}");
    }
    let _ = writeln!(
        o,
        "when       {} .. {} ({:.0} min)",
        crate::time::format_datetime(&f.start),
        crate::time::format_datetime(&f.end),
        f.duration_minutes()
    );
    let _ = writeln!(
        o,
        "observed   {:.1} in all, {}",
        f.observed.total,
        crate::finding::format_rate(f.observed.total, f.duration_minutes())
    );
    let _ = writeln!(
        o,
        "expected   {:.3} in all, {}",
        f.expected.total,
        crate::finding::format_rate(f.expected.total, f.duration_minutes())
    );
    let _ = writeln!(
        o,
        "baseline   {} .. {}",
        crate::time::format(f.baseline_window.start),
        crate::time::format(f.baseline_window.end)
    );
    let _ = writeln!(
        o,
        "score      {:.1} from p = {:.3e} (models/README.md explains the statistics)",
        f.score, f.p_value
    );
    for (name, list) in [
        ("principal", &f.attributions.principal),
        ("user agent", &f.attributions.user_agent),
        ("source IP", &f.attributions.source_ip),
        ("error code", &f.attributions.error_code),
    ] {
        if list.is_empty() {
            continue;
        }
        let _ = writeln!(o, "\nby {name}:   in window            in baseline");
        for a in list {
            let _ = writeln!(
                o,
                "  {:>8} {:>6.1}%   {:>8} {:>6.1}%   {}",
                a.insight_count,
                a.insight_share * 100.0,
                a.baseline_count,
                a.baseline_share * 100.0,
                a.value
            );
        }
    }
    if !f.example_event_ids.is_empty() {
        let _ = writeln!(o, "\nexample eventIDs: {}", f.example_event_ids.join(", "));
    }
    if !f.access_key_ids.is_empty() {
        let _ = writeln!(o, "access key ids:   {}", f.access_key_ids.join(", "));
    }
    if !f.details.is_empty() {
        let _ = writeln!(
            o,
            "details:          {}",
            serde_json::to_string(&f.details).expect("details serialise")
        );
    }
    o
}

/// The rows as a terminal table.
pub fn tune_table(kind: FindingKind, rows: &[TuneRow]) -> String {
    let mut o = format!(
        "{:>9} {:>9} {:>9} {:>8} {:>10} {:>9} {:>6}  top APIs / principals   ({})\n",
        "threshold",
        "incidents",
        "per night",
        "findings",
        "suppressed",
        "precision",
        "recall",
        kind.as_str()
    );
    let opt = |x: Option<f64>| x.map(|v| format!("{v:.2}")).unwrap_or_else(|| "–".into());
    for r in rows {
        o.push_str(&format!(
            "{:>8}{} {:>9} {:>9.2} {:>8} {:>10} {:>9} {:>6}  {}\n",
            r.threshold,
            if r.current { "*" } else { " " },
            r.incidents,
            r.incidents_per_day,
            r.findings,
            r.suppressed,
            opt(r.precision),
            opt(r.recall),
            crate::pipeline::tune::join(&r.top_apis)
        ));
        if !r.top_principals.is_empty() {
            o.push_str(&format!(
                "{:>68}  {}\n",
                "",
                crate::pipeline::tune::join(&r.top_principals)
            ));
        }
    }
    o.push_str("(* the configured value; precision and recall of incidents, with --labels)\n");
    o
}

/// What `baseline` fitted.
pub fn baseline(b: &crate::baseline::Baselines, path: &std::path::Path) -> String {
    use std::fmt::Write;
    let mut o = String::new();
    let _ = writeln!(
        o,
        "fitted baselines on {} .. {} ({} days of data): {} call series, {} principals, {} account/region groups, {} periodic jobs\nwrote {}",
        crate::time::format_datetime(&b.training_start),
        crate::time::format_datetime(&b.training_end),
        b.history_days,
        b.series.len(),
        b.principals.len(),
        b.groups.len(),
        b.jobs.len(),
        path.display()
    );
    for j in &b.jobs {
        let _ = writeln!(
            o,
            "  job: {} {} by {} ({}/{}) {} at {:02}:{:02} UTC, {} of {} runs",
            j.event_source,
            j.event_name,
            j.principal,
            j.account,
            j.region,
            j.period,
            j.minute_of_day / 60,
            j.minute_of_day % 60,
            j.runs_seen,
            j.runs_expected
        );
    }
    o
}

/// What a nightly `run` did.
pub fn run(r: &crate::pipeline::run::RunOutcome) -> String {
    use std::fmt::Write;
    let mut o = String::new();
    let s = &r.ingest.summary;
    let _ = writeln!(
        o,
        "trailsight run {}: read {} new file(s) ({} local unchanged), {} new events, {} duplicates, {} bad file(s), {} bad record(s)",
        r.date,
        s.files,
        r.ingest.unchanged,
        s.management_events,
        s.duplicates,
        s.bad_files,
        s.bad_records
    );
    match (&r.warming_up, &r.detection) {
        (Some(w), _) => {
            let _ = writeln!(o, "  warming up, no detection yet: {w}");
        }
        (None, Some(d)) => {
            let _ = writeln!(
                o,
                "  checked {} .. {}: {} finding(s), {} in shadow mode, {} suppressed",
                crate::time::format(r.window.start),
                crate::time::format(r.window.end),
                r.triage.active.len(),
                r.triage.shadow.len(),
                r.triage.suppressed.len()
            );
            o.push_str(&findings(d, 10));
        }
        (None, None) => {}
    }
    let _ = writeln!(o, "  wrote {}", r.dated.display());
    o
}

/// `detect --json`: the window, the counts, the incidents and findings, where they were written.
pub fn detection_json(d: &Detection, out: &std::path::Path) -> serde_json::Value {
    serde_json::json!({
        "window_start": crate::time::format(d.window.start),
        "window_end": crate::time::format(d.window.end),
        "events": d.events,
        "series": d.series,
        "incident_count": d.incidents.len(),
        "finding_count": d.findings.len(),
        "incidents": d.incidents,
        "findings": d.findings,
        "out": out.display().to_string(),
    })
}

/// `run --json`: what the nightly run read, checked and wrote, and whether `--fail-on` was met.
pub fn run_json(r: &crate::pipeline::run::RunOutcome, fail_on_met: bool) -> serde_json::Value {
    let s = &r.ingest.summary;
    serde_json::json!({
        "date": r.date.to_string(),
        "window_start": crate::time::format(r.window.start),
        "window_end": crate::time::format(r.window.end),
        "checked": r.detection.is_some(),
        "warming_up": r.warming_up,
        "files_read": s.files,
        "files_unchanged": r.ingest.unchanged,
        "new_events": s.management_events,
        "duplicates": s.duplicates,
        "bad_files": s.bad_files,
        "bad_records": s.bad_records,
        "incident_count": r.incidents().len(),
        "findings": r.triage.active.len(),
        "shadow": r.triage.shadow.len(),
        "suppressed": r.triage.suppressed.len(),
        "fail_on_met": fail_on_met,
        "incidents": r.incidents(),
        "dated": r.dated.display().to_string(),
    })
}

/// An incident-level evaluation as a table.
pub fn incident_score(s: &crate::pipeline::eval::IncidentScore) -> String {
    use std::fmt::Write;
    let mut o = String::new();
    let pct = |v: &[f64], q: f64| -> String {
        if v.is_empty() {
            return "–".into();
        }
        let mut v = v.to_vec();
        v.sort_by(f64::total_cmp);
        let i = ((v.len() - 1) as f64 * q).round() as usize;
        format!("{:.1}", v[i])
    };
    let _ = writeln!(o, "| incident kind | labelled | recalled | recall |");
    let _ = writeln!(o, "|---|---:|---:|---:|");
    for (k, r) in &s.per_kind {
        let _ = writeln!(
            o,
            "| {k} | {} | {} | {:.2} |",
            r.labels,
            r.recalled,
            if r.labels == 0 {
                1.0
            } else {
                r.recalled as f64 / r.labels as f64
            }
        );
    }
    let _ = writeln!(o, "\n| decoy family | decoys | flagged |");
    let _ = writeln!(o, "|---|---:|---:|");
    for (k, f) in &s.per_family {
        let _ = writeln!(o, "| {k} | {} | {} |", f.decoys, f.flagged);
    }
    let _ = writeln!(
        o,
        "\nnights {}, accounts {}: {} incidents ({} true, {} false, {} on decoys) from {} findings ({} true)",
        s.nights,
        s.accounts,
        s.incidents,
        s.true_incidents,
        s.false_incidents,
        s.decoy_incidents,
        s.findings,
        s.true_findings
    );
    let _ = writeln!(
        o,
        "incident precision {:.2}, recall {:.2}, false incidents per account per week {:.2}, first finding on day {}",
        s.precision(),
        s.recall(),
        s.false_per_account_week(),
        s.first_finding_day
            .map_or("–".to_string(), |d| d.to_string())
    );
    let _ = writeln!(
        o,
        "scores: true incidents median {}, false incidents p95 {}; a true incident outscores a false one {}",
        pct(&s.true_scores, 0.5),
        pct(&s.false_scores, 0.95),
        s.ranking().map_or("–".to_string(), |r| format!("{r:.2} of the time"))
    );
    // What moving the threshold would keep: the curve `tune` and `--fail-on` move along.
    let _ = writeln!(
        o,
        "\n| incidents scoring at least | true | false | precision |"
    );
    let _ = writeln!(o, "|---:|---:|---:|---:|");
    for min in SCORE_STEPS {
        let (t, f) = s.at_or_above(min);
        let p = if t + f == 0 {
            "–".to_string()
        } else {
            format!("{:.2}", t as f64 / (t + f) as f64)
        };
        let _ = writeln!(o, "| {min} | {t} | {f} | {p} |");
    }
    o
}

/// The thresholds the eval summary shows incidents at (90 is severity critical).
const SCORE_STEPS: [f64; 6] = [70.0, 80.0, 85.0, 90.0, 95.0, 99.0];

/// A backtest summary: incidents per day per kind.
pub fn backtest(s: &crate::pipeline::backtest::BacktestSummary) -> String {
    use std::fmt::Write;
    let mut o = String::new();
    let _ = writeln!(
        o,
        "{:<10}  {:>9}  {:>8}  by kind",
        "day", "incidents", "findings"
    );
    for d in &s.days {
        if d.warming_up {
            let _ = writeln!(o, "{:<10}  warming up", d.date);
            continue;
        }
        let kinds: Vec<String> = d
            .by_kind
            .iter()
            .map(|(k, n)| format!("{} {n}", k.as_str()))
            .collect();
        let _ = writeln!(
            o,
            "{:<10}  {:>9}  {:>8}  {}{}",
            d.date,
            d.incidents,
            d.findings,
            kinds.join(", "),
            d.false_incidents
                .map(|f| format!("  ({f} false)"))
                .unwrap_or_default()
        );
    }
    let total: usize = s.days.iter().map(|d| d.incidents).sum();
    let checked = s.days.iter().filter(|d| !d.warming_up).count();
    let _ = writeln!(
        o,
        "{total} incident(s) over {checked} checked day(s) ({:.2} per day)",
        total as f64 / checked.max(1) as f64
    );
    if let Some(sc) = &s.score {
        o.push('\n');
        o.push_str(&incident_score(sc));
    }
    o
}
