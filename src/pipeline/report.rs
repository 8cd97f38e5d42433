//! The report as a use case: a findings file (and the shadow, suppressed and AWS-comparison
//! files beside it) rendered against the state it came from.

use std::path::Path;

use super::PipelineError;
use crate::config::Config;
use crate::finding::{self, Finding};
use crate::policy::Suppressed;
use crate::report::{ReportInput, ReportSummary};
use crate::rollup::Store;
use crate::state::StateDir;
use crate::time::TimeRange;

/// The report period from `--from`/`--to`: `None` when neither is given (the report then
/// covers the days the findings span); a missing end is the stored data's.
pub fn period(
    state: &StateDir,
    from: Option<i64>,
    to: Option<i64>,
) -> Result<Option<TimeRange>, PipelineError> {
    if from.is_none() && to.is_none() {
        return Ok(None);
    }
    let span = Store::open(state)?.span().ok_or(PipelineError::NoData)?;
    let p = TimeRange::new(from.unwrap_or(span.start), to.unwrap_or(span.end));
    if p.end <= p.start {
        return Err(PipelineError::Invalid("--to must be after --from".into()));
    }
    Ok(Some(p))
}

/// The configuration a findings file was produced with: the `config.toml` saved beside it by
/// `detect`, `run` and `backtest`; without one, `given` (`--config`) or the defaults. A
/// `--config` that differs from the saved one is ignored with a warning: the report shows
/// what the detection used (issue 15).
pub fn config_for(findings: &Path, given: Option<Config>) -> Result<Config, PipelineError> {
    let saved = findings
        .parent()
        .unwrap_or(Path::new("."))
        .join(super::detect::CONFIG_FILE);
    if !saved.exists() {
        return Ok(given.unwrap_or_default());
    }
    let cfg = Config::load(&saved)?;
    if given.is_some_and(|g| g != cfg) {
        tracing::warn!(
            saved = %saved.display(),
            "--config differs from the configuration saved beside the findings; the report shows the saved one, which the detection used"
        );
    }
    Ok(cfg)
}

/// Reads `findings` and writes the HTML report for it into `out`. shadow.jsonl,
/// suppressed.jsonl and insights-comparison.json are read from beside `findings` when there
/// (`aws_insights` names another comparison file).
pub fn write_report(
    state: &StateDir,
    findings: &Path,
    cfg: &Config,
    out: &Path,
    period: Option<TimeRange>,
    aws_insights: Option<&Path>,
) -> Result<ReportSummary, PipelineError> {
    let all = finding::read_jsonl(findings)?;
    let dir = findings.parent().unwrap_or(Path::new("."));
    let shadow = match dir.join("shadow.jsonl") {
        p if p.exists() => finding::read_jsonl(&p)?,
        _ => Vec::new(),
    };
    let suppressed = read_suppressed(&dir.join("suppressed.jsonl"))?;
    let beside = dir.join("insights-comparison.json");
    let aws_path = aws_insights.or_else(|| beside.exists().then_some(beside.as_path()));
    let aws: Option<crate::aws::insights::InsightComparison> = match aws_path {
        None => None,
        Some(p) => {
            let bytes = std::fs::read(p).map_err(PipelineError::file(p))?;
            Some(
                serde_json::from_slice(&bytes).map_err(|e| PipelineError::File {
                    path: p.to_path_buf(),
                    reason: format!(
                        "not an insights-comparison.json written by `aws-insights`: {e}"
                    ),
                })?,
            )
        }
    };
    let input = ReportInput {
        state,
        findings: &all,
        config: cfg,
        findings_source: findings.display().to_string(),
        period,
        shadow: &shadow,
        suppressed: &suppressed,
        aws: aws.as_ref(),
    };
    write(&input, out)
}

/// Writes the report of `input` into `out` and logs what it wrote.
pub fn write(input: &ReportInput<'_>, out: &Path) -> Result<ReportSummary, PipelineError> {
    let r = crate::report::write_report(input, out)?;
    tracing::info!(
        findings = r.findings,
        charts = r.charts,
        bytes = r.bytes,
        seconds = r.seconds,
        "report written"
    );
    Ok(r)
}

/// Reads suppressed.jsonl (absent: none).
fn read_suppressed(path: &Path) -> Result<Vec<Suppressed>, PipelineError> {
    let text = match std::fs::read_to_string(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        r => r.map_err(PipelineError::file(path))?,
    };
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str(l).map_err(|e| PipelineError::File {
                path: path.to_path_buf(),
                reason: format!("line {}: not a suppressed finding: {e}", i + 1),
            })
        })
        .collect()
}

/// Shortest id prefix `explain` takes: shorter ones match too much to be meant.
pub const MIN_ID_PREFIX: usize = 4;

/// The finding of a findings file whose id starts with `id` (for `explain`). Lines that are
/// not findings are reported and skipped; an ambiguous prefix lists its candidates.
pub fn find(findings: &Path, id: &str) -> Result<Finding, PipelineError> {
    let id = id.trim();
    if id.chars().count() < MIN_ID_PREFIX {
        return Err(PipelineError::Invalid(format!(
            "a finding id is needed (the whole id or its first {MIN_ID_PREFIX} characters or more), not {id:?}"
        )));
    }
    let text = std::fs::read_to_string(findings).map_err(PipelineError::file(findings))?;
    let mut hits = Vec::new();
    let mut bad = 0;
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<Finding>(line) {
            Ok(f) if f.id.starts_with(id) => hits.push(f),
            Ok(_) => {}
            Err(e) => {
                bad += 1;
                tracing::warn!(
                    path = %findings.display(),
                    line = i + 1,
                    "skipped a line that is not a finding: {e}"
                );
            }
        }
    }
    match hits.len() {
        1 => Ok(hits.into_iter().next().expect("one")),
        0 => Err(PipelineError::Invalid(format!(
            "no finding with id {id} in {}{}",
            findings.display(),
            if bad > 0 {
                format!(" ({bad} lines of it could not be read)")
            } else {
                String::new()
            }
        ))),
        n => {
            let list: Vec<String> = hits
                .iter()
                .take(10)
                .map(|f| {
                    format!(
                        "  {} {} {}",
                        f.id,
                        f.kind.as_str(),
                        crate::time::format_datetime(&f.start)
                    )
                })
                .collect();
            Err(PipelineError::Invalid(format!(
                "{n} findings start with {id}; give more of the id:\n{}{}",
                list.join("\n"),
                if n > 10 {
                    format!("\n  … and {} more", n - 10)
                } else {
                    String::new()
                }
            )))
        }
    }
}

/// An `aws-insights` comparison, as the command line asked for it.
#[derive(Debug, Clone)]
pub struct AwsInsightsRequest {
    /// AWS access and period.
    pub aws: crate::aws::AwsOptions,
    /// Where AWS's Insights events come from: the event history or a local file.
    pub from: crate::ingest::Input,
    /// trailsight's findings.jsonl to compare with.
    pub findings: std::path::PathBuf,
    /// Output folder.
    pub out: std::path::PathBuf,
    /// Print the comparison as JSON.
    pub json: bool,
}

/// Fetches AWS's own Insights events for the period (--since/--until; by default a file's own
/// days, or the last 35 days of the event history), compares
/// them with the findings, and writes `aws-insights.json` and `insights-comparison.json`.
pub fn aws_insights(
    req: &AwsInsightsRequest,
) -> Result<crate::aws::insights::InsightComparison, PipelineError> {
    use crate::aws::insights;
    use crate::ingest::Input;
    let now = chrono::Utc::now().timestamp();
    let records = match &req.from {
        Input::History { region } => {
            let until = req.aws.until.unwrap_or(now);
            let since = req.aws.since.unwrap_or(until - 35 * crate::time::DAY_SECS);
            insights::fetch(&req.aws, region.as_deref(), since, until)?
        }
        Input::Local(p) => insights::read_records(p)?,
        Input::S3 { .. } => {
            return Err(PipelineError::Invalid(
                "--from s3://… is not supported yet: copy the bucket's CloudTrail-Insight/ objects locally, or use cloudtrail://".into(),
            ))
        }
    };
    let (aws_insights, skipped) = insights::pair_records(&records);
    if skipped > 0 {
        tracing::warn!(
            skipped,
            "records that are not placeable Insights events were skipped"
        );
    }
    // The period compared: --since/--until; for a file, else the file's own days.
    let own = match &req.from {
        Input::Local(_) => insights::file_period(&aws_insights),
        _ => None,
    };
    let until = req.aws.until.or(own.map(|p| p.1)).unwrap_or(now);
    let since = req
        .aws
        .since
        .or(own.map(|p| p.0))
        .unwrap_or(until - 35 * crate::time::DAY_SECS);
    if until <= since {
        return Err(PipelineError::Invalid(
            "--until must be after --since".into(),
        ));
    }
    let findings = finding::read_jsonl(&req.findings)?;
    let cmp = insights::compare(
        &aws_insights,
        &findings,
        crate::time::datetime(since),
        crate::time::datetime(until),
        chrono::Duration::minutes(insights::DEFAULT_SLACK_MINUTES),
    );
    super::create_dir(&req.out)?;
    let doc = serde_json::json!({ "Records": records });
    crate::state::write_atomic(
        &req.out.join("aws-insights.json"),
        serde_json::to_string_pretty(&doc)
            .expect("records serialise")
            .as_bytes(),
    )?;
    crate::state::write_atomic(
        &req.out.join("insights-comparison.json"),
        serde_json::to_string_pretty(&cmp)
            .expect("the comparison serialises")
            .as_bytes(),
    )?;
    Ok(cmp)
}
