//! `ingest cloudtrail://…` and `aws-insights` against a local server speaking CloudTrail's
//! JSON 1.1 protocol for LookupEvents (moto does not implement it), driven by the real
//! aws-sdk-cloudtrail client through --endpoint-url.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use trailsight::ingest::IngestSummary;
use trailsight::rollup::Store;
use trailsight::state::StateDir;

use crate::aws_s3::{aws_cli, run};
use crate::support::record;

/// The X-Amz-Target the SDK sends (some clients prefix it with the service's namespace).
const TARGET: &str = "CloudTrail_20131101.LookupEvents";
/// Smaller than the client's MaxResults, so every window takes several pages.
const PAGE: usize = 7;

/// One served entry: its time, and the `CloudTrailEvent` string.
#[derive(Clone)]
struct Entry {
    time: i64,
    event: String,
}

#[derive(Clone, Debug)]
struct Seen {
    at: Instant,
    start: f64,
    token: Option<String>,
    throttled: bool,
}

#[derive(Default)]
struct Shared {
    management: Vec<Entry>,
    insights: Vec<Entry>,
    /// Answer the next paged request (one with a NextToken) with ThrottlingException.
    throttle_once: bool,
    seen: Vec<Seen>,
}

struct Server {
    port: u16,
    shared: Arc<Mutex<Shared>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Server {
    fn start(shared: Shared) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let shared = Arc::new(Mutex::new(shared));
        let stop = Arc::new(AtomicBool::new(false));
        let (s2, stop2) = (shared.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            for conn in listener.incoming() {
                if stop2.load(Ordering::SeqCst) {
                    return;
                }
                if let Ok(c) = conn {
                    let _ = serve(c, &s2);
                }
            }
        });
        Server {
            port,
            shared,
            stop,
            thread: Some(thread),
        }
    }

    fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn take_seen(&self) -> Vec<Seen> {
        std::mem::take(&mut self.shared.lock().unwrap().seen)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// One request per connection (`Connection: close`), which the SDK's client handles.
fn serve(conn: TcpStream, shared: &Mutex<Shared>) -> std::io::Result<()> {
    conn.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut r = BufReader::new(conn.try_clone()?);
    let mut line = String::new();
    r.read_line(&mut line)?;
    let mut len = 0usize;
    let mut target = String::new();
    loop {
        let mut h = String::new();
        r.read_line(&mut h)?;
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        let (k, v) = h.split_once(':').unwrap_or((h, ""));
        match k.to_ascii_lowercase().as_str() {
            "content-length" => len = v.trim().parse().unwrap_or(0),
            "x-amz-target" => target = v.trim().to_string(),
            _ => {}
        }
    }
    let mut body = vec![0u8; len];
    r.read_exact(&mut body)?;
    let (status, resp) = answer(&target, &body, shared);
    let resp = resp.to_string();
    let mut w = conn;
    write!(
        w,
        "HTTP/1.1 {status}\r\nContent-Type: application/x-amz-json-1.1\r\nx-amzn-RequestId: test\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{resp}",
        resp.len()
    )?;
    w.flush()
}

fn answer(target: &str, body: &[u8], shared: &Mutex<Shared>) -> (&'static str, Value) {
    if !target.ends_with(TARGET) {
        return (
            "400 Bad Request",
            json!({"__type": "UnknownOperationException", "message": target}),
        );
    }
    let req: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let start = req["StartTime"].as_f64().unwrap_or(0.0);
    let end = req["EndTime"].as_f64().unwrap_or(f64::MAX);
    let token = req["NextToken"].as_str().map(str::to_string);
    let insight = req["EventCategory"].as_str() == Some("insight");
    let mut s = shared.lock().unwrap();
    let throttled = token.is_some() && s.throttle_once;
    s.seen.push(Seen {
        at: Instant::now(),
        start,
        token: token.clone(),
        throttled,
    });
    if throttled {
        s.throttle_once = false;
        return (
            "400 Bad Request",
            json!({"__type": "ThrottlingException", "message": "Rate exceeded"}),
        );
    }
    let list = if insight { &s.insights } else { &s.management };
    // Newest first, like the service.
    let mut hits: Vec<&Entry> = list
        .iter()
        .filter(|e| (e.time as f64) >= start && (e.time as f64) <= end)
        .collect();
    hits.sort_by_key(|e| std::cmp::Reverse(e.time));
    let offset: usize = token
        .as_deref()
        .and_then(|t| t.strip_prefix("page-at-"))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    let page: Vec<Value> = hits
        .iter()
        .skip(offset)
        .take(PAGE)
        .map(|e| json!({"EventId": "x", "EventTime": e.time, "CloudTrailEvent": e.event}))
        .collect();
    let mut out = json!({ "Events": page });
    if offset + PAGE < hits.len() {
        out["NextToken"] = json!(format!("page-at-{}", offset + PAGE));
    }
    ("200 OK", out)
}

fn rfc3339(t: i64) -> String {
    chrono::DateTime::from_timestamp(t, 0)
        .unwrap()
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

fn history(home: &Path, state: &Path, endpoint: &str, extra: &[&str]) -> IngestSummary {
    let mut c = aws_cli(home);
    c.args(["ingest", "--json", "--endpoint-url", endpoint])
        .arg("--state")
        .arg(state)
        .args(extra)
        .arg("cloudtrail://us-east-1");
    let (ok, so, se) = run(&mut c);
    assert!(
        ok,
        "ingest failed: {}",
        &se[se.len().saturating_sub(3000)..]
    );
    serde_json::from_str(so.trim()).unwrap_or_else(|e| panic!("{e}: {so}"))
}

/// Requests, retries included, are at least 1/rate apart.
fn assert_paced(seen: &[Seen]) {
    for w in seen.windows(2) {
        let gap = w[1].at - w[0].at;
        assert!(
            gap >= Duration::from_millis(450),
            "requests {gap:?} apart: faster than 2 per second"
        );
    }
}

#[test]
fn event_history_pages_throttling_bad_records_and_resume() {
    let now = chrono::Utc::now().timestamp();
    let hour = 3600;
    // Off the hour, so no event sits on a UTC-day window boundary (where it would be served
    // by both windows, as LookupEvents' end time is inclusive).
    let base = now / hour * hour - 70 * hour + 1807;
    let mut management: Vec<Entry> = (0..60)
        .map(|i| {
            let t = base + i * hour;
            let r = record(
                &format!("hist-{i}"),
                &rfc3339(t),
                "iam.amazonaws.com",
                "ListRoles",
                "arn:aws:iam::111122223333:user/alice",
            );
            Entry {
                time: t,
                event: r.to_string(),
            }
        })
        .collect();
    // The same event served twice, and one that is not JSON.
    management.push(management[5].clone());
    management.push(Entry {
        time: base + 20 * hour + 60,
        event: "{\"eventVersion\": \"1.09\", broken".into(),
    });
    let server = Server::start(Shared {
        management,
        throttle_once: true,
        ..Default::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");

    // First run: events 0..40 (until half an hour after event 39).
    let until = base + 40 * hour - 1800;
    let first = history(
        dir.path(),
        &state,
        &server.endpoint(),
        &[
            "--since",
            &rfc3339(base - 2 * hour),
            "--until",
            &rfc3339(until),
        ],
    );
    assert_eq!(first.management_events, 40, "{first:#?}");
    assert_eq!(first.duplicates, 1);
    assert_eq!(first.bad_records, 1);
    assert!(
        first.problems[0]
            .path
            .starts_with("cloudtrail://us-east-1/"),
        "{:?}",
        first.problems
    );
    let seen = server.take_seen();
    let throttled: Vec<usize> = (0..seen.len()).filter(|&i| seen[i].throttled).collect();
    assert_eq!(throttled.len(), 1, "the throttling response was served");
    let t = throttled[0];
    assert_eq!(
        seen[t + 1].token,
        seen[t].token,
        "the throttled page was retried"
    );
    assert!(seen.len() >= 40 / PAGE + 2, "{} requests", seen.len());
    assert_paced(&seen);
    let progress: Value =
        serde_json::from_slice(&std::fs::read(state.join("sources/cloudtrail.json")).unwrap())
            .unwrap();
    let key = format!("cloudtrail://us-east-1#{}", server.endpoint());
    assert_eq!(progress["sources"][&key]["done_until"], json!(until));

    // Second run, no period: resumes where the first stopped (less a small overlap).
    let second = history(dir.path(), &state, &server.endpoint(), &[]);
    assert_eq!(second.management_events, 20, "{second:#?}");
    assert_eq!(second.bad_records, 0);
    let seen = server.take_seen();
    assert!(seen
        .iter()
        .all(|s| s.start >= (until - 15 * 60) as f64 - 1.0));
    assert_paced(&seen);
    assert_eq!(
        Store::open(&StateDir::new(&state)).unwrap().total_events(),
        60
    );

    // The nightly job takes the same input: resumes, finds nothing new, writes its day.
    let mut c = aws_cli(dir.path());
    c.args(["run", "--endpoint-url", &server.endpoint()])
        .arg("--state")
        .arg(&state)
        .arg("--out")
        .arg(dir.path().join("reports"))
        .args(["--input", "cloudtrail://us-east-1"]);
    let (ok, so, se) = run(&mut c);
    assert!(ok, "run failed: {}", &se[se.len().saturating_sub(3000)..]);
    assert!(so.contains(" 0 new events"), "{so}");
    // Its dated folder is written (`latest` moves only to a day checked, not one warming up).
    let dated: Vec<_> = std::fs::read_dir(dir.path().join("reports"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| !p.ends_with("latest") && p.join("run.json").exists())
        .collect();
    assert_eq!(dated.len(), 1, "{dated:?}");
    assert_eq!(
        Store::open(&StateDir::new(&state)).unwrap().total_events(),
        60
    );
}

#[test]
fn aws_insights_are_compared_with_findings() {
    let now = chrono::Utc::now().timestamp();
    let t0 = now - 5 * 3600;
    let insight = |state: &str, t: i64, id: &str, name: &str| {
        Entry {
        time: t,
        event: json!({
            "eventVersion": "1.08", "eventTime": rfc3339(t), "awsRegion": "us-east-1",
            "eventID": format!("{id}-{state}"), "eventType": "AwsCloudTrailInsight",
            "recipientAccountId": "111122223333", "sharedEventID": id, "eventCategory": "Insight",
            "insightDetails": {"state": state, "eventSource": "iam.amazonaws.com", "eventName": name,
              "insightType": "ApiCallRateInsight",
              "insightContext": {"statistics": {"baseline": {"average": 0.1}, "insight": {"average": 5.0}}}}
        })
        .to_string(),
    }
    };
    let server = Server::start(Shared {
        insights: vec![
            insight("Start", t0, "s1", "CreateAccessKey"),
            insight("End", t0 + 1800, "s1", "CreateAccessKey"),
            insight("Start", t0 + 7200, "s2", "DeleteRole"),
            insight("End", t0 + 9000, "s2", "DeleteRole"),
        ],
        ..Default::default()
    });
    let dir = tempfile::tempdir().unwrap();
    // trailsight's findings: one on CreateAccessKey overlapping s1, one AWS did not raise.
    let golden = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/findings.jsonl"),
    )
    .unwrap();
    let mut lines = Vec::new();
    for (i, (name, start)) in [("CreateAccessKey", t0 + 600), ("ListUsers", t0 + 3600)]
        .iter()
        .enumerate()
    {
        let mut f: Value = serde_json::from_str(golden.lines().next().unwrap()).unwrap();
        f["id"] = json!(format!("finding{i}"));
        f["account"] = json!("111122223333");
        f["region"] = json!("us-east-1");
        f["event_source"] = json!("iam.amazonaws.com");
        f["event_names"] = json!([name]);
        f["start"] = json!(rfc3339(*start));
        f["end"] = json!(rfc3339(start + 3600));
        lines.push(f.to_string());
    }
    let findings = dir.path().join("findings.jsonl");
    std::fs::write(&findings, lines.join("\n") + "\n").unwrap();
    let out = dir.path().join("out");
    let mut c = aws_cli(dir.path());
    c.args([
        "aws-insights",
        "--json",
        "--endpoint-url",
        &server.endpoint(),
    ])
    .args(["--from", "cloudtrail://us-east-1"])
    .args(["--since", &rfc3339(now - 86_400), "--until", &rfc3339(now)])
    .arg("--findings")
    .arg(&findings)
    .arg("--out")
    .arg(&out);
    let (ok, so, se) = run(&mut c);
    assert!(ok, "{se}");
    let cmp: Value = serde_json::from_str(so.trim()).unwrap();
    assert_eq!(cmp["both"].as_array().unwrap().len(), 1, "{cmp:#}");
    assert_eq!(cmp["both"][0]["aws"]["event_name"], "CreateAccessKey");
    assert_eq!(cmp["both"][0]["findings"][0]["id"], "finding0");
    assert_eq!(cmp["only_aws"][0]["event_name"], "DeleteRole");
    assert_eq!(cmp["only_trailsight"][0]["id"], "finding1");
    let saved: Value =
        serde_json::from_slice(&std::fs::read(out.join("aws-insights.json")).unwrap()).unwrap();
    assert_eq!(saved["Records"].as_array().unwrap().len(), 4);
    assert!(out.join("insights-comparison.json").exists());

    // Issue 15: `--from FILE` compares over the file's own days by default; with a one-week
    // window back from today, February's insights were all "only AWS".
    let feb = 1_770_112_800; // 2026-02-03T10:00:00Z
    let records: Vec<Value> = [
        insight("Start", feb, "f1", "CreateAccessKey"),
        insight("End", feb + 1800, "f1", "CreateAccessKey"),
    ]
    .iter()
    .map(|e| serde_json::from_str(&e.event).unwrap())
    .collect();
    let file = dir.path().join("feb-insights.json");
    std::fs::write(&file, json!({ "Records": records }).to_string()).unwrap();
    let mut f: Value = serde_json::from_str(&lines[0]).unwrap();
    f["start"] = json!(rfc3339(feb + 600));
    f["end"] = json!(rfc3339(feb + 4200));
    let feb_findings = dir.path().join("feb-findings.jsonl");
    std::fs::write(&feb_findings, f.to_string() + "\n").unwrap();
    let mut c = aws_cli(dir.path());
    c.args(["aws-insights", "--json", "--from"])
        .arg(&file)
        .arg("--findings")
        .arg(&feb_findings)
        .arg("--out")
        .arg(dir.path().join("feb"));
    let (ok, so, se) = run(&mut c);
    assert!(ok, "{se}");
    let cmp: Value = serde_json::from_str(so.trim()).unwrap();
    assert_eq!(cmp["both"].as_array().unwrap().len(), 1, "{cmp:#}");
    assert!(cmp["only_aws"].as_array().unwrap().is_empty(), "{cmp:#}");

    // The report shows AWS's insights next to trailsight's findings.
    let state = dir.path().join("state");
    let input = crate::support::write(
        &dir.path().join("in/a.json.gz"),
        &crate::support::gz(&crate::support::records_doc(&crate::support::records(
            "aws", 30,
        ))),
    );
    let mut c = aws_cli(dir.path());
    c.args(["ingest", "--state"]).arg(&state).arg(&input);
    assert!(run(&mut c).0);
    let mut c = aws_cli(dir.path());
    c.args(["report", "--state"])
        .arg(&state)
        .arg("--findings")
        .arg(&findings)
        .arg("--aws-insights")
        .arg(out.join("insights-comparison.json"))
        .arg("--out")
        .arg(dir.path().join("report"));
    let (ok, _, se) = run(&mut c);
    assert!(ok, "{se}");
    let html = std::fs::read_to_string(dir.path().join("report/report.html")).unwrap();
    assert!(html.contains("AWS CloudTrail Insights side by side"));
    assert!(
        html.contains("1 raised by both, 1 by AWS only, 1 by trailsight only"),
        "counts"
    );
    assert!(html.contains("iam.amazonaws.com:DeleteRole") && html.contains("href=\"#f-finding1\""));
}
