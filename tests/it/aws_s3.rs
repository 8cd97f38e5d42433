//! `ingest s3://…` against a real S3-compatible server (moto, installed by
//! scripts/setup-moto.sh into target/venv-moto), started on 127.0.0.1 for each test and
//! stopped when it ends.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use trailsight::ingest::IngestSummary;
use trailsight::rollup::Store;
use trailsight::state::StateDir;
use trailsight::time::TimeRange;

/// Never printed by trailsight, whatever happens: checked in every output below.
pub(crate) const SECRET: &str = "wJalrXUtnFEMI-K7MDENG-bPxRfiCYTESTSECRET";
const KEY_ID: &str = "AKIATRAILSIGHTTEST01";

/// A moto server on a free loopback port, killed on drop.
pub(crate) struct Moto {
    child: Child,
    pub(crate) endpoint: String,
}

impl Moto {
    /// Starts moto (with extra environment, e.g. to enforce authentication) and waits until
    /// it answers. `None` (test skipped) when moto is not installed, unless
    /// TRAILSIGHT_REQUIRE_MOTO is set (scripts/test.sh sets it).
    pub(crate) fn start(env: &[(&str, &str)]) -> Option<Moto> {
        let bin = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/venv-moto/bin/moto_server");
        if !bin.exists() {
            assert!(
                std::env::var_os("TRAILSIGHT_REQUIRE_MOTO").is_none(),
                "{} is missing: run scripts/setup-moto.sh",
                bin.display()
            );
            eprintln!("skipped: moto is not installed (scripts/setup-moto.sh)");
            return None;
        }
        let port = free_port();
        let mut cmd = Command::new(bin);
        cmd.args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = cmd.spawn().expect("start moto_server");
        let moto = Moto {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
        };
        // Poll until it serves HTTP (moto takes a second or two to import).
        let t0 = Instant::now();
        loop {
            if http_ok(port) {
                return Some(moto);
            }
            assert!(
                t0.elapsed() < Duration::from_secs(60),
                "moto did not start on port {port}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn http_ok(port: u16) -> bool {
    use std::io::{Read, Write};
    let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    if s.write_all(b"GET /moto-api/ HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .is_err()
    {
        return false;
    }
    let mut head = [0u8; 12];
    s.read_exact(&mut head).is_ok() && head.starts_with(b"HTTP/1.")
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn client(endpoint: &str) -> aws_sdk_s3::Client {
    use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider};
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .build_https();
    let conf = aws_sdk_s3::Config::builder()
        .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
        .region(aws_sdk_s3::config::Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .force_path_style(true)
        .http_client(http)
        .credentials_provider(aws_sdk_s3::config::Credentials::new(
            KEY_ID, SECRET, None, None, "test",
        ))
        .build();
    aws_sdk_s3::Client::from_conf(conf)
}

/// Creates `bucket` and uploads every file under `dir` as `<prefix>/<relative path>`.
fn upload(endpoint: &str, bucket: &str, prefix: &str, dir: &Path) -> usize {
    let files: Vec<PathBuf> = walk(dir);
    let c = client(endpoint);
    rt().block_on(async {
        c.create_bucket().bucket(bucket).send().await.unwrap();
        let sem = Arc::new(tokio::sync::Semaphore::new(16));
        let mut tasks = tokio::task::JoinSet::new();
        for f in &files {
            let rel = f
                .strip_prefix(dir)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            let key = format!("{prefix}/{rel}");
            let body = std::fs::read(f).unwrap();
            let (c, bucket, sem) = (c.clone(), bucket.to_string(), sem.clone());
            tasks.spawn(async move {
                let _p = sem.acquire_owned().await.unwrap();
                c.put_object()
                    .bucket(bucket)
                    .key(key)
                    .body(body.into())
                    .send()
                    .await
                    .unwrap();
            });
        }
        while let Some(r) = tasks.join_next().await {
            r.unwrap();
        }
    });
    files.len()
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// The CLI with fake credentials in the environment and nothing else from the machine's AWS
/// setup (no config files, no instance metadata).
pub(crate) fn aws_cli(home: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_trailsight"));
    for v in [
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_SESSION_TOKEN",
        "AWS_ENDPOINT_URL",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
        "AWS_ROLE_ARN",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    ] {
        c.env_remove(v);
    }
    c.env("AWS_ACCESS_KEY_ID", KEY_ID)
        .env("AWS_SECRET_ACCESS_KEY", SECRET)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", home.join("no-config"))
        .env("AWS_SHARED_CREDENTIALS_FILE", home.join("no-credentials"))
        .env("HOME", home)
        .arg("--log-format")
        .arg("json");
    c
}

/// Runs `cmd`; returns (success, stdout, stderr), after checking the secret is in neither.
pub(crate) fn run(cmd: &mut Command) -> (bool, String, String) {
    let out = cmd.output().unwrap();
    let (so, se) = (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    );
    assert!(
        !so.contains(SECRET) && !se.contains(SECRET),
        "the secret access key was printed"
    );
    (out.status.success(), so, se)
}

fn ingest_s3(home: &Path, state: &Path, endpoint: &str, extra: &[&str]) -> IngestSummary {
    let (ok, s, se) = ingest_s3_in(home, None, state, endpoint, extra);
    assert!(
        ok,
        "ingest failed: {}",
        &se[se.len().saturating_sub(3000)..]
    );
    s
}

/// `ingest --json` of a bucket, with `TMPDIR` set when given: (success, summary, stderr).
fn ingest_s3_in(
    home: &Path,
    tmpdir: Option<&Path>,
    state: &Path,
    endpoint: &str,
    extra: &[&str],
) -> (bool, IngestSummary, String) {
    let mut c = aws_cli(home);
    if let Some(t) = tmpdir {
        c.env("TMPDIR", t);
    }
    c.args([
        "ingest",
        "--json",
        "--region",
        "us-east-1",
        "--endpoint-url",
        endpoint,
    ])
    .arg("--state")
    .arg(state)
    .args(extra);
    let (ok, so, se) = run(&mut c);
    let s = serde_json::from_str(so.trim())
        .unwrap_or_else(|e| panic!("{e}: {so}\n{}", &se[se.len().saturating_sub(3000)..]));
    (ok, s, se)
}

fn frames_equal(a: &Path, b: &Path) {
    let (a, b) = (
        Store::open(&StateDir::new(a)).unwrap(),
        Store::open(&StateDir::new(b)).unwrap(),
    );
    let (ca, cb) = (
        a.calls(TimeRange::ALL).unwrap(),
        b.calls(TimeRange::ALL).unwrap(),
    );
    assert!(ca.height() > 100, "{ca:?}");
    assert!(ca.equals_missing(&cb), "calls differ:\n{ca:?}\n{cb:?}");
    let (da, db) = (
        a.detail(TimeRange::ALL).unwrap(),
        b.detail(TimeRange::ALL).unwrap(),
    );
    assert!(da.height() > 100);
    assert!(da.equals_missing(&db), "detail differs:\n{da:?}\n{db:?}");
    assert_eq!(a.total_events(), b.total_events());
}

#[test]
fn bucket_ingest_equals_the_local_copy_and_fetches_each_object_once() {
    let Some(moto) = Moto::start(&[]) else { return };
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    let trail = dir.path().join("trail");
    // 4 days: ~4,600 objects, ~1,100 in the busiest region folder, so listings take pages.
    let cfg = trailsight::simulate::SimConfig {
        days: 4,
        scale: 0.02,
        seed: 11,
        ..Default::default()
    };
    let sim = trailsight::simulate::simulate(&cfg, &trail, &|_, _| {}).unwrap();
    // Things a real bucket also holds, which must be skipped.
    let digest = trail.join(
        "AWSLogs/284715390162/CloudTrail-Digest/us-east-1/2026/01/05/284715390162_CloudTrail-Digest_us-east-1_x_20260105T0000Z.json.gz",
    );
    std::fs::create_dir_all(digest.parent().unwrap()).unwrap();
    std::fs::write(&digest, b"not a log").unwrap();
    let uploaded = upload(&moto.endpoint, "trail-bucket", "org/trails", &trail);
    assert!(uploaded > 4000, "{uploaded}");
    std::fs::remove_file(&digest).unwrap();

    let local = dir.path().join("local");
    let mut store = Store::open_or_create(&StateDir::new(&local)).unwrap();
    let want = trailsight::ingest::ingest_paths(
        &mut store,
        &[trail.join("AWSLogs")],
        &Default::default(),
        &|_, _| {},
    )
    .unwrap();
    assert_eq!(want.files, sim.files);

    // First run: the first two delivery days only.
    let remote = dir.path().join("remote");
    let url = "s3://trail-bucket/org/trails";
    let first = ingest_s3(
        home,
        &remote,
        &moto.endpoint,
        &["--since", "2026-01-05", "--until", "2026-01-07", url],
    );
    assert!(first.files > 1000 && first.files < sim.files, "{first:?}");
    assert_eq!((first.bad_files, first.bad_records), (0, 0), "{first:?}");
    assert!(remote.join("sources/s3.json").exists());

    // Second run, no --since: resumes a day before the newest processed date, fetches only
    // the objects not in the ledger, and the state then equals the local ingest.
    let second = ingest_s3(
        home,
        &remote,
        &moto.endpoint,
        &["--until", "2026-01-12", url],
    );
    assert_eq!(first.files + second.files, sim.files, "{second:?}");
    assert_eq!(
        first.management_events + second.management_events,
        want.management_events
    );
    assert_eq!(first.duplicates + second.duplicates, want.duplicates);
    assert_eq!(second.accounts, want.accounts);
    assert_eq!(second.regions, want.regions);
    frames_equal(&local, &remote);

    // Issue 18: every object was held in memory while its batch was read. With --spool-mib 0
    // every body goes through a temporary file instead: the same state, and the temporary
    // folder is empty afterwards.
    let spooled = dir.path().join("spooled");
    let tmp = dir.path().join("tmp");
    std::fs::create_dir_all(&tmp).unwrap();
    let week = ["--since", "2026-01-05", "--until", "2026-01-12"];
    let (ok, s, se) = ingest_s3_in(
        home,
        Some(&tmp),
        &spooled,
        &moto.endpoint,
        &[&week[..], &["--spool-mib", "0", url]].concat(),
    );
    assert!(ok, "spooled ingest failed: {se}");
    assert_eq!((s.files, s.bad_files), (sim.files, 0), "{s:?}");
    frames_equal(&local, &spooled);
    let left: Vec<_> = std::fs::read_dir(&tmp).unwrap().collect();
    assert!(left.is_empty(), "spool files left behind: {left:?}");

    // A temporary folder that cannot be written: each object is a bad file naming the path and
    // the reason, and is not remembered, so the next run fetches it again.
    let broken = dir.path().join("broken-tmp");
    let day = ["--since", "2026-01-06", "--until", "2026-01-07", url];
    let (_, b, _) = ingest_s3_in(
        home,
        Some(&dir.path().join("no-such-tmp")),
        &broken,
        &moto.endpoint,
        &[&day[..], &["--spool-mib", "0"]].concat(),
    );
    assert!(b.files > 0 && b.bad_files == b.files, "{b:?}");
    assert!(
        b.problems
            .iter()
            .all(|p| p.reason.contains("cannot spool the download to")
                && p.reason.contains("no-such-tmp")),
        "{:?}",
        &b.problems[..3.min(b.problems.len())]
    );
    let again = ingest_s3(home, &broken, &moto.endpoint, &day);
    assert!(again.files == b.files && again.bad_files == 0, "{again:?}");

    // Third run: nothing new to fetch.
    let third = ingest_s3(
        home,
        &remote,
        &moto.endpoint,
        &["--until", "2026-01-12", url],
    );
    assert_eq!((third.files, third.management_events), (0, 0), "{third:?}");

    // The nightly job reads the bucket the same way: a fresh state equals the local ingest,
    // and running the day again fetches nothing.
    let run_state = dir.path().join("run-state");
    let reports = dir.path().join("reports");
    let nightly = || {
        let mut c = aws_cli(home);
        c.args([
            "run",
            "--region",
            "us-east-1",
            "--endpoint-url",
            &moto.endpoint,
        ])
        .args([
            "--since",
            "2026-01-05",
            "--until",
            "2026-01-12",
            "--date",
            "2026-01-08",
        ])
        .arg("--state")
        .arg(&run_state)
        .arg("--out")
        .arg(&reports)
        .args(["--input", url]);
        run(&mut c)
    };
    let (ok, so, se) = nightly();
    assert!(ok, "run failed: {}", &se[se.len().saturating_sub(3000)..]);
    assert!(
        so.contains(&format!("read {} new file(s)", sim.files)),
        "{so}"
    );
    frames_equal(&local, &run_state);
    assert!(reports.join("2026-01-08/run.json").exists());
    let (ok, so, _) = nightly();
    assert!(ok && so.contains("read 0 new file(s)"), "{so}");

    // A bucket prefix that reaches into AWSLogs narrows the listing to that account.
    let one = dir.path().join("one-account");
    let s = ingest_s3(
        home,
        &one,
        &moto.endpoint,
        &[
            "--since",
            "2026-01-05",
            "--until",
            "2026-01-12",
            "s3://trail-bucket/org/trails/AWSLogs/o-a1b2c3d4e5",
        ],
    );
    assert_eq!(s.accounts, vec!["519376204857"], "{s:?}");
}

#[test]
fn bucket_errors_are_clear_and_never_show_the_secret() {
    let Some(moto) = Moto::start(&[]) else { return };
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    let state = dir.path().join("state");
    let fail = |endpoint: &str, input: &str, extra: &[&str]| {
        let mut c = aws_cli(home);
        // Debug logs include the SDK's own: the secret must not be in those either.
        c.env("TRAILSIGHT_LOG", "debug")
            .args([
                "ingest",
                "--region",
                "us-east-1",
                "--endpoint-url",
                endpoint,
            ])
            .arg("--state")
            .arg(&state)
            .args(extra)
            .arg(input);
        let (ok, _, se) = run(&mut c);
        assert!(!ok, "{input} should fail");
        se
    };

    let e = fail(&moto.endpoint, "s3://no-such-bucket", &[]);
    assert!(
        e.contains("s3://no-such-bucket: the bucket does not exist"),
        "{e}"
    );

    rt().block_on(async {
        client(&moto.endpoint)
            .create_bucket()
            .bucket("not-a-trail")
            .send()
            .await
            .unwrap()
    });
    let e = fail(&moto.endpoint, "s3://not-a-trail/logs", &[]);
    assert!(e.contains("no CloudTrail folders"), "{e}");

    let closed = format!("http://127.0.0.1:{}", free_port());
    let e = fail(&closed, "s3://some-bucket", &["--max-attempts", "2"]);
    assert!(
        e.contains("s3://some-bucket: cannot reach the endpoint"),
        "{e}"
    );

    // No credentials anywhere.
    let mut c = aws_cli(home);
    c.env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .args([
            "ingest",
            "--region",
            "us-east-1",
            "--endpoint-url",
            &moto.endpoint,
        ])
        .arg("--state")
        .arg(&state)
        .arg("s3://trail-bucket");
    let (ok, _, e) = run(&mut c);
    assert!(!ok);
    assert!(
        e.contains("s3://trail-bucket: no usable AWS credentials"),
        "{e}"
    );

    // A server that checks signatures rejects the unknown key.
    drop(moto);
    let Some(strict) = Moto::start(&[("INITIAL_NO_AUTH_ACTION_COUNT", "0")]) else {
        return;
    };
    let e = fail(&strict.endpoint, "s3://trail-bucket", &[]);
    assert!(
        e.contains("s3://trail-bucket: the AWS credentials were rejected (InvalidAccessKeyId)"),
        "{e}"
    );
}
