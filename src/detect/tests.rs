//! Detectors on hand-built rollups and baselines.

use std::borrow::Cow;
use std::collections::BTreeSet;

use super::*;
use crate::baseline::stats::fit_seasonal;
use crate::baseline::{
    Baselines, Bursts, Period, PeriodicJob, PrincipalModel, SeriesModel, TopContributors,
};
use crate::event::Event;
use crate::finding::Threshold;
use crate::rollup::{ApiKey, Resolution, Rollup};

/// 2026-02-02T00:00:00Z, a Monday: the detection window starts here.
const T0: i64 = 1_769_990_400;
const ACCT: &str = "111122223333";
const REGION: &str = "us-east-1";

fn ev(
    t: i64,
    id: &str,
    source: &str,
    name: &str,
    read_only: bool,
    principal: &str,
    error: Option<&str>,
) -> Event<'static> {
    Event {
        time: t,
        event_id: Cow::Owned(id.to_string()),
        event_source: Cow::Owned(source.to_string()),
        event_name: Cow::Owned(name.to_string()),
        read_only,
        error_code: error.map(|e| Cow::Owned(e.to_string())),
        principal: Cow::Owned(principal.to_string()),
        principal_type: Cow::Borrowed("IAMUser"),
        session_arn: None,
        access_key_id: Some(Cow::Borrowed("AKIAEXAMPLE")),
        source_ip: Cow::Borrowed("198.51.100.7"),
        user_agent: Cow::Borrowed("aws-cli/2.15.0"),
        account: Cow::Borrowed(ACCT),
        region: Cow::Borrowed(REGION),
    }
}

/// Series of the window from a rollup, as the pipeline builds them.
fn series_of(r: &Rollup, start: i64, end: i64) -> Vec<CountSeries> {
    let mut out = Vec::new();
    for (k, a) in &r.apis {
        let n = ((end - start) / 300) as usize;
        let mut calls = vec![0u32; n];
        let mut errors = vec![0u32; n];
        for (m, c) in &a.minutes {
            let i = ((m * 60 - start) / 300) as usize;
            if i < n {
                calls[i] += c.calls;
                errors[i] += c.errors;
            }
        }
        out.push(CountSeries {
            key: k.clone(),
            start,
            resolution: Resolution::FiveMinutes,
            calls,
            errors,
        });
    }
    out.sort_by(|a, b| a.key.cmp(&b.key));
    out
}

fn run(det: &dyn Detector, r: &Rollup, b: &Baselines, hours: i64) -> Vec<Finding> {
    // Each detector at its default threshold, as the default policy runs it.
    let floor = crate::config::Config::default()
        .policy()
        .detector(det.kind())
        .floor();
    run_down_to(det, r, b, hours, floor)
}

/// [`run`] with findings down to `floor` (what a lowered `min_score` shows).
fn run_down_to(
    det: &dyn Detector,
    r: &Rollup,
    b: &Baselines,
    hours: i64,
    floor: f64,
) -> Vec<Finding> {
    let (start, end) = (T0, T0 + hours * 3600);
    let series = series_of(r, start, end);
    let holes = Holes::from_series(&series, start);
    let catalog = Catalog::builtin();
    let input = DetectInput {
        window: TimeRange { start, end },
        series: &series,
        detail: r,
        baselines: b,
        catalog: &catalog,
        holes: &holes,
    };
    det.detect(&input, floor)
}

fn key(source: &str, name: &str, read_only: bool) -> ApiKey {
    ApiKey {
        account: ACCT.into(),
        region: REGION.into(),
        event_source: source.into(),
        event_name: name.into(),
        read_only,
    }
}

fn flat(per_hour: f64) -> crate::baseline::stats::SeasonalProfile {
    fit_seasonal(&vec![per_hour; 28 * 24], 0)
}

fn principal_model(principal: &str, iam_per_hour: f64, apis: &[&str]) -> PrincipalModel {
    PrincipalModel {
        account: ACCT.into(),
        principal: principal.into(),
        iam_writes: flat(iam_per_hour),
        iam_total: (iam_per_hour * 672.0) as u64,
        provisioning: flat(0.0),
        provisioning_total: 0,
        provisioning_burst: Bursts::default(),
        iam_burst: Bursts::default(),
        error_burst: Bursts::default(),
        error_codes: Vec::new(),
        routine_errors: BTreeSet::new(),
        errors: flat(0.0),
        error_alpha: 0.1,
        error_total: 0,
        calls_total: 1000,
        apis: apis.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>(),
        active_hours: 400,
    }
}

/// Background reads every 5 minutes so the account is never silent.
fn background(r: &mut Rollup, hours: i64) {
    for i in 0..hours * 12 {
        r.add(&ev(
            T0 + i * 300 + 10,
            &format!("bg{i}"),
            "ec2.amazonaws.com",
            "DescribeInstances",
            true,
            "arn:aws:iam::111122223333:role/monitor",
            None,
        ));
    }
}

#[test]
fn iam_burst_from_an_unknown_principal_and_not_from_a_routine_one() {
    let thief = "arn:aws:iam::111122223333:user/leaked";
    let mut r = Rollup::default();
    background(&mut r, 6);
    for (i, name) in [
        "CreateUser",
        "CreateAccessKey",
        "AttachUserPolicy",
        "CreateLoginProfile",
        "PutUserPolicy",
        "CreateAccessKey",
    ]
    .iter()
    .enumerate()
    {
        r.add(&ev(
            T0 + 7200 + i as i64 * 40,
            &format!("iam{i}"),
            "iam.amazonaws.com",
            name,
            false,
            thief,
            None,
        ));
    }
    let b = Baselines::empty(T0 - 28 * 86_400, T0);
    let f = run(&IamBurst(IamConfig::default()), &r, &b, 6);
    assert_eq!(f.len(), 1, "{f:#?}");
    assert_eq!(f[0].principal.as_deref(), Some(thief));
    assert!(f[0].event_names.contains(&"CreateUser".to_string()));
    assert_eq!(f[0].observed.total, 6.0);
    assert!(
        f[0].score >= 70.0 && f[0].explanation.contains("never seen"),
        "{}",
        f[0].explanation
    );
    assert_eq!(f[0].attributions.source_ip[0].value, "198.51.100.7");
    assert_eq!(f[0].access_key_ids, vec!["AKIAEXAMPLE".to_string()]);
    // The same writes from a principal that does this every hour are routine.
    let mut b2 = b.clone();
    b2.principals.push(principal_model(thief, 6.0, &[]));
    assert!(run(&IamBurst(IamConfig::default()), &r, &b2, 6).is_empty());
}

/// Regression (judging world, first contact): a StackSet release creating the baseline roles,
/// and a maintenance window's first SendCommand, alerted as an attacker would. Calls an AWS
/// service made on the principal's behalf (sourceIPAddress is the service) score at most
/// [`attribution::SERVICE_MADE_MAX_SCORE`]; the same calls from an address still alert.
#[test]
fn writes_an_aws_service_made_for_a_principal_do_not_alert() {
    let role = "arn:aws:iam::111122223333:role/AWSCloudFormationStackSetExecutionRole";
    let calls = [
        ("iam.amazonaws.com", "CreateRole"),
        ("iam.amazonaws.com", "AttachRolePolicy"),
        ("iam.amazonaws.com", "PutRolePolicy"),
        ("iam.amazonaws.com", "CreateRole"),
        ("iam.amazonaws.com", "AttachRolePolicy"),
        ("iam.amazonaws.com", "PutRolePolicy"),
        ("ssm.amazonaws.com", "SendCommand"),
    ];
    let trail = |ip: &'static str| {
        let mut r = Rollup::default();
        background(&mut r, 6);
        for (i, (source, name)) in calls.iter().enumerate() {
            let mut e = ev(
                T0 + 7200 + i as i64 * 30,
                &format!("w{i}"),
                source,
                name,
                false,
                role,
                None,
            );
            e.source_ip = Cow::Borrowed(ip);
            r.add(&e);
        }
        r
    };
    let b = Baselines::empty(T0 - 28 * 86_400, T0);
    let from_service = trail("cloudformation.amazonaws.com");
    assert!(run(&IamBurst(IamConfig::default()), &from_service, &b, 6).is_empty());
    assert!(run(&RareAction(RareConfig::default()), &from_service, &b, 6).is_empty());
    // Shown below the threshold, saying why.
    let shown = run_down_to(&IamBurst(IamConfig::default()), &from_service, &b, 6, 0.0);
    assert!(!shown.is_empty());
    for f in &shown {
        assert!(
            f.score <= attribution::SERVICE_MADE_MAX_SCORE,
            "{}",
            f.score
        );
        assert!(
            f.explanation
                .contains("made by cloudformation.amazonaws.com"),
            "{}",
            f.explanation
        );
    }
    // The same writes sent from an address (stolen credentials) alert.
    let from_ip = trail("203.0.113.50");
    assert_eq!(
        run(&IamBurst(IamConfig::default()), &from_ip, &b, 6).len(),
        1
    );
    assert!(!run(&RareAction(RareConfig::default()), &from_ip, &b, 6).is_empty());
    // So do they when only some came through the service.
    let mut mixed = trail("cloudformation.amazonaws.com");
    let mut e = ev(
        T0 + 7300,
        "x",
        "iam.amazonaws.com",
        "CreateUser",
        false,
        role,
        None,
    );
    e.source_ip = Cow::Borrowed("203.0.113.50");
    mixed.add(&e);
    assert_eq!(run(&IamBurst(IamConfig::default()), &mixed, &b, 6).len(), 1);
}

#[test]
fn rare_action_is_first_seen_only() {
    let who = "arn:aws:iam::111122223333:role/ops";
    let mut r = Rollup::default();
    background(&mut r, 2);
    r.add(&ev(
        T0 + 600,
        "stop",
        "cloudtrail.amazonaws.com",
        "StopLogging",
        false,
        who,
        None,
    ));
    let mut b = Baselines::empty(T0 - 28 * 86_400, T0);
    b.principals.push(principal_model(
        who,
        0.0,
        &["ec2.amazonaws.com:DescribeInstances"],
    ));
    let f = run(&RareAction(RareConfig::default()), &r, &b, 2);
    assert_eq!(f.len(), 1, "{f:#?}");
    assert_eq!(f[0].kind, FindingKind::RareAction);
    assert!(
        f[0].score >= 90.0,
        "defence evasion by a long-active principal: {}",
        f[0].score
    );
    assert_eq!(f[0].example_event_ids, vec!["stop".to_string()]);
    b.principals[0]
        .apis
        .insert("cloudtrail.amazonaws.com:StopLogging".into());
    assert!(run(&RareAction(RareConfig::default()), &r, &b, 2).is_empty());
}

#[test]
fn maintenance_gap_missed_run_off_schedule_and_delivery_hole() {
    let job_role = "arn:aws:iam::111122223333:role/backup";
    let job = PeriodicJob {
        account: ACCT.into(),
        region: REGION.into(),
        principal: job_role.into(),
        event_source: "ec2.amazonaws.com".into(),
        event_name: "CreateSnapshot".into(),
        period: Period::Daily,
        minute_of_day: 120,
        tolerance_minutes: 60,
        runs_seen: 28,
        runs_expected: 28,
        typical_calls: 8,
    };
    let mut b = Baselines::empty(T0 - 28 * 86_400, T0);
    b.jobs.push(job);
    let det = MaintenanceGap(MaintenanceConfig::default());
    // Logs flow, the job did not run: a gap.
    let mut r = Rollup::default();
    background(&mut r, 24);
    let f = run(&det, &r, &b, 24);
    assert_eq!(f.len(), 1, "{f:#?}");
    assert!(
        f[0].explanation.contains("did not run") && f[0].score > 90.0,
        "{}",
        f[0].explanation
    );
    // It ran on time: nothing.
    let mut on_time = r.clone();
    on_time.add(&ev(
        T0 + 7200 + 60,
        "snap",
        "ec2.amazonaws.com",
        "CreateSnapshot",
        false,
        job_role,
        None,
    ));
    assert!(run(&det, &on_time, &b, 24).is_empty());
    // It ran at 09:00: off schedule, lower score.
    let mut late = r.clone();
    late.add(&ev(
        T0 + 9 * 3600,
        "late",
        "ec2.amazonaws.com",
        "CreateSnapshot",
        false,
        job_role,
        None,
    ));
    let f = run(&det, &late, &b, 24);
    assert_eq!(f.len(), 1);
    assert!(
        f[0].explanation.contains("off schedule at 09:00"),
        "{}",
        f[0].explanation
    );
    // No logs at all around 02:00: a delivery hole, not a missed job.
    let mut hole = Rollup::default();
    for i in (0..24 * 12).filter(|i| !(12..48).contains(i)) {
        hole.add(&ev(
            T0 + i * 300,
            &format!("h{i}"),
            "ec2.amazonaws.com",
            "DescribeInstances",
            true,
            "m",
            None,
        ));
    }
    assert!(run(&det, &hole, &b, 24).is_empty());
}

#[test]
fn call_rate_spike_and_drop_against_a_seasonal_baseline() {
    let k = key("s3.amazonaws.com", "ListBuckets", true);
    let mut r = Rollup::default();
    let mut n = 0;
    // 24 calls an hour, evenly, for 6 hours; 300 extra calls in 10:15–10:35 of hour 2.
    for i in 0..6 * 12 {
        for j in 0..2 {
            n += 1;
            r.add(&ev(
                T0 + i * 300 + j * 100,
                &format!("n{n}"),
                "s3.amazonaws.com",
                "ListBuckets",
                true,
                "arn:aws:iam::111122223333:role/app",
                None,
            ));
        }
    }
    for j in 0..300 {
        r.add(&ev(
            T0 + 2 * 3600 + 900 + j * 4,
            &format!("s{j}"),
            "s3.amazonaws.com",
            "ListBuckets",
            true,
            "arn:aws:iam::111122223333:user/x",
            None,
        ));
    }
    let mut b = Baselines::empty(T0 - 28 * 86_400, T0);
    b.series.push(SeriesModel {
        key: k.clone(),
        calls: flat(24.0),
        alpha: 0.05,
        errors: flat(0.0),
        error_share: 0.0,
        error_alpha: 0.1,
        total_calls: 24 * 672,
        total_errors: 0,
        top: TopContributors {
            total: 100,
            principal: vec![("arn:aws:iam::111122223333:role/app".into(), 100)],
            ..Default::default()
        },
        // Every day of the 28 reaches these sizes per window length.
        burst: Bursts {
            days: 28,
            daily_max: [4.0, 12.0, 24.0, 48.0, 96.0, 144.0]
                .iter()
                .map(|m| vec![*m; 10])
                .collect(),
        },
        error_burst: Bursts::default(),
        presence: vec![1.0; 24],
    });
    let f = run(&CallRateSpike(SpikeConfig::default()), &r, &b, 6);
    assert_eq!(f.len(), 1, "{f:#?}");
    let s = &f[0];
    assert_eq!(s.start.timestamp(), T0 + 2 * 3600 + 900);
    assert_eq!(s.end.timestamp(), T0 + 2 * 3600 + 2100);
    assert_eq!(s.observed.total, 300.0 + 8.0);
    assert!((s.expected.total - 8.0).abs() < 0.5, "{}", s.expected.total);
    assert_eq!(
        s.attributions.principal[0].value,
        "arn:aws:iam::111122223333:user/x"
    );
    assert_eq!(s.attributions.principal[0].baseline_share, 0.0);
    assert!(run(&CallRateDrop(DropConfig::default()), &r, &b, 6).is_empty());
    // Hours 3–5 go quiet while other APIs keep logging: a drop.
    let mut quiet = Rollup::default();
    background(&mut quiet, 6);
    for i in 0..3 * 12 {
        for j in 0..2 {
            quiet.add(&ev(
                T0 + i * 300 + j * 100,
                &format!("q{i}-{j}"),
                "s3.amazonaws.com",
                "ListBuckets",
                true,
                "arn:aws:iam::111122223333:role/app",
                None,
            ));
        }
    }
    let f = run(&CallRateDrop(DropConfig::default()), &quiet, &b, 6);
    assert_eq!(f.len(), 1, "{f:#?}");
    assert_eq!(f[0].start.timestamp(), T0 + 3 * 3600);
    assert_eq!(f[0].observed.total, 0.0);
}

#[test]
fn error_bursts_per_principal_fold_per_api_ones() {
    let who = "arn:aws:iam::111122223333:user/enum";
    let mut r = Rollup::default();
    background(&mut r, 3);
    let apis = [
        ("s3.amazonaws.com", "ListBuckets"),
        ("iam.amazonaws.com", "ListUsers"),
        ("ec2.amazonaws.com", "DescribeVpcs"),
        ("lambda.amazonaws.com", "ListFunctions"),
    ];
    for i in 0..120 {
        let (s, n) = apis[i % apis.len()];
        r.add(&ev(
            T0 + 3600 + i as i64 * 5,
            &format!("e{i}"),
            s,
            n,
            true,
            who,
            Some("AccessDenied"),
        ));
    }
    let b = Baselines::empty(T0 - 28 * 86_400, T0);
    let f = run(&ErrorRate(ErrorConfig::default()), &r, &b, 3);
    assert_eq!(f.len(), 1, "{f:#?}");
    assert_eq!(f[0].principal.as_deref(), Some(who));
    assert_eq!(f[0].error_code.as_deref(), Some("AccessDenied"));
    assert_eq!(f[0].observed.total, 120.0);
    assert_eq!(f[0].event_names.len(), 4);
}

#[test]
fn routine_failures_and_console_fan_outs_are_not_error_bursts() {
    let recorder = "arn:aws:iam::111122223333:role/aws-service-role/config.amazonaws.com/AWSServiceRoleForConfig";
    let person = "arn:aws:iam::111122223333:user/dana";
    let mut r = Rollup::default();
    background(&mut r, 3);
    // The Config recorder's daily probe: GetBucketPolicy fails with NoSuchBucketPolicy, as it
    // did on most training days.
    for i in 0..120 {
        r.add(&ev(
            T0 + 3600 + i as i64 * 5,
            &format!("c{i}"),
            "s3.amazonaws.com",
            "GetBucketPolicy",
            true,
            recorder,
            Some("NoSuchBucketPolicy"),
        ));
    }
    // A person opens the IAM console without read access: ~60 denied reads in two minutes.
    for i in 0..60 {
        let mut e = ev(
            T0 + 7200 + i as i64 * 2,
            &format!("d{i}"),
            "iam.amazonaws.com",
            ["GetRole", "ListRoles", "ListAttachedRolePolicies"][i % 3],
            true,
            person,
            Some("AccessDenied"),
        );
        e.user_agent = Cow::Borrowed("AWS Internal");
        r.add(&e);
    }
    let mut b = Baselines::empty(T0 - 28 * 86_400, T0);
    let mut m = principal_model(recorder, 0.0, &["s3.amazonaws.com:GetBucketPolicy"]);
    m.error_total = 28 * 120;
    m.error_codes = vec![("NoSuchBucketPolicy".into(), 28 * 120)];
    m.routine_errors = [crate::baseline::routine_key(
        "s3.amazonaws.com:GetBucketPolicy",
        "NoSuchBucketPolicy",
    )]
    .into_iter()
    .collect();
    b.principals.push(m);
    let f = run(&ErrorRate(ErrorConfig::default()), &r, &b, 3);
    assert!(
        f.iter().all(|f| f.principal.as_deref() != Some(recorder)),
        "{f:#?}"
    );
    assert!(
        f.iter().all(|f| f.principal.as_deref() != Some(person)),
        "{f:#?}"
    );
    // The same denials from the CLI across services are enumeration (see the test above), and
    // a new failure of the recorder is not routine.
    let mut r2 = Rollup::default();
    background(&mut r2, 3);
    for i in 0..120 {
        r2.add(&ev(
            T0 + 3600 + i as i64 * 5,
            &format!("x{i}"),
            "s3.amazonaws.com",
            "GetBucketPolicy",
            true,
            recorder,
            Some("AccessDenied"),
        ));
    }
    let f = run(&ErrorRate(ErrorConfig::default()), &r2, &b, 3);
    let rec = f
        .iter()
        .find(|f| f.principal.as_deref() == Some(recorder))
        .unwrap_or_else(|| panic!("{f:#?}"));
    // Its attribution's baseline side is its own history, not "0 in baseline".
    let code = &rec.attributions.error_code[0];
    assert_eq!(code.value, "AccessDenied");
    assert_eq!(code.baseline_share, 0.0);
    assert_eq!(rec.attributions.principal[0].baseline_share, 1.0);
}

#[test]
fn thresholds_refuse_out_of_range_values() {
    assert!(Threshold::try_from(101.0).is_err());
    assert!(Threshold::try_from(-1.0).is_err());
    assert!(Ratio::try_from(0.5).is_err());
    assert!(serde_json::from_str::<Threshold>("150")
        .unwrap_err()
        .to_string()
        .contains("0 to 100"));
}
