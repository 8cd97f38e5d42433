//! Periodic jobs: a principal calling a maintenance API (catalog `maintenance_candidate`) at the
//! same time every day, or on the same weekday every week — the nightly snapshot, the Sunday
//! key rotation. Discovered from the detail rollups; the `maintenance_gap` detector then
//! expects each run.

use chrono::{DateTime, Datelike, Utc};
use hashbrown::HashMap;
use serde::{Deserialize, Serialize};

use crate::catalog::{Catalog, Category};
use crate::rollup::Rollup;

/// How often a job runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Period {
    /// Every day.
    Daily,
    /// Once a week on this weekday (0 = Monday).
    Weekly {
        /// 0 = Monday … 6 = Sunday.
        weekday: u32,
    },
    /// Monday to Friday (a batch that follows the business week).
    Workdays,
}

impl std::fmt::Display for Period {
    /// As a person says it: "daily", "Monday to Friday", "weekly on Saturday".
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        const DAYS: [&str; 7] = [
            "Monday",
            "Tuesday",
            "Wednesday",
            "Thursday",
            "Friday",
            "Saturday",
            "Sunday",
        ];
        match self {
            Period::Daily => f.write_str("daily"),
            Period::Workdays => f.write_str("Monday to Friday"),
            Period::Weekly { weekday } => {
                write!(
                    f,
                    "weekly on {}",
                    DAYS.get(*weekday as usize).unwrap_or(&"?")
                )
            }
        }
    }
}

/// A discovered periodic job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PeriodicJob {
    /// Account.
    pub account: String,
    /// Region.
    pub region: String,
    /// Who runs it.
    pub principal: String,
    /// eventSource.
    pub event_source: String,
    /// eventName.
    pub event_name: String,
    /// Daily or weekly.
    pub period: Period,
    /// Usual start, minutes after midnight UTC.
    pub minute_of_day: u32,
    /// How far from the usual start a run may begin and still count, in minutes.
    pub tolerance_minutes: u32,
    /// Runs seen in the training window.
    pub runs_seen: u32,
    /// Runs that were expected in the training window.
    pub runs_expected: u32,
    /// Median calls per run.
    pub typical_calls: u32,
    /// Expected runs at the end of the training window that did not happen: an outage still
    /// going on (a schedule disabled three nights ago). Counted in `runs_expected` but not
    /// against the job's [`PeriodicJob::reliability`], which judges the job before it, so each
    /// night of the outage is still checked.
    #[serde(default)]
    pub trailing_misses: u32,
}

impl PeriodicJob {
    /// Share of expected runs that happened before the outage still going on, if any
    /// ([`PeriodicJob::trailing_misses`]).
    pub fn reliability(&self) -> f64 {
        let expected = self.runs_expected.saturating_sub(self.trailing_misses);
        if expected == 0 {
            0.0
        } else {
            f64::from(self.runs_seen.min(expected)) / f64::from(expected)
        }
    }

    /// Expected run starts (epoch seconds) to check in `[start, end)`: those whose tolerance
    /// window closes in it (`start < t + tolerance ≤ end`), so that each run is checked once,
    /// by the first night that has seen all of its window — a nightly job at 01:30 (±2 h) is
    /// checked the night of its day, with the previous evening's data looked back at
    /// ([`crate::detect::LOOKBACK_SECS`]).
    pub fn expected_runs(&self, start: i64, end: i64) -> Vec<i64> {
        let tol = i64::from(self.tolerance_minutes) * 60;
        let mut out = Vec::new();
        let mut day = start.div_euclid(86_400) - 1;
        while day * 86_400 < end + 86_400 {
            let t = day * 86_400 + i64::from(self.minute_of_day) * 60;
            let ok_day = match self.period {
                Period::Daily => true,
                Period::Weekly { weekday } => weekday_of(t) == weekday,
                Period::Workdays => weekday_of(t) < 5,
            };
            if ok_day && t + tol > start && t + tol <= end {
                out.push(t);
            }
            day += 1;
        }
        out
    }
}

/// 0 = Monday.
pub fn weekday_of(t: i64) -> u32 {
    DateTime::<Utc>::from_timestamp(t, 0)
        .map(|d| d.weekday().num_days_from_monday())
        .unwrap_or(0)
}

/// Circular distance between two minutes of the day.
fn minute_dist(a: u32, b: u32) -> u32 {
    let d = a.abs_diff(b);
    d.min(1440 - d)
}

/// The minute (of the given ones) with the most others within `tol` minutes, and that count.
fn mode_minute(minutes: &[u32], tol: u32) -> (u32, usize) {
    minutes
        .iter()
        .map(|&m| {
            (
                m,
                minutes
                    .iter()
                    .filter(|&&o| minute_dist(m, o) <= tol)
                    .count(),
            )
        })
        .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(&a.0)))
        .unwrap_or((0, 0))
}

type JobKey = (String, String, String, String, String);

/// Days of history before jobs are looked for: a job that runs Monday to Friday looks daily
/// until a weekend has been seen, and a weekly one needs its weekday.
pub const JOB_HISTORY_DAYS: usize = 7;

/// How far from its usual minute a run may start and still be on time (minutes).
pub const JOB_TOLERANCE_MINUTES: u32 = 120;

/// Finds daily, workday and weekly jobs in the detail rollups of `[start, end)`.
pub fn discover(roll: &Rollup, catalog: &Catalog, start: i64, end: i64) -> Vec<PeriodicJob> {
    let first_day = start.div_euclid(86_400);
    let days = ((end - start) / 86_400).max(0) as usize;
    if days < JOB_HISTORY_DAYS {
        return Vec::new();
    }
    // Per job candidate and day: first call minute and number of calls.
    let mut per_day: HashMap<JobKey, Vec<Option<(u32, u32)>>> = HashMap::new();
    for (k, a) in &roll.apis {
        if k.read_only
            || !catalog.is(
                Category::MaintenanceCandidate,
                &k.event_source,
                &k.event_name,
            )
        {
            continue;
        }
        for (dk, dv) in &a.detail {
            let d = dk.bucket.div_euclid(86_400) - first_day;
            if d < 0 || d as usize >= days {
                continue;
            }
            let minute = (dk.bucket.rem_euclid(86_400) / 60) as u32;
            let key = (
                k.account.clone(),
                k.region.clone(),
                dk.principal.clone(),
                k.event_source.clone(),
                k.event_name.clone(),
            );
            let slot = &mut per_day.entry(key).or_insert_with(|| vec![None; days])[d as usize];
            *slot = Some(match *slot {
                None => (minute, dv.count),
                Some((m, c)) => (m.min(minute), c + dv.count),
            });
        }
    }
    let mut jobs = Vec::new();
    for ((account, region, principal, event_source, event_name), v) in per_day {
        let active: Vec<(usize, u32, u32)> = v
            .iter()
            .enumerate()
            .filter_map(|(d, x)| x.map(|(m, c)| (d, m, c)))
            .collect();
        if active.len() < 3 {
            continue;
        }
        // Expected days (by `expected`) at the end of the window with no run near `minute`.
        let trailing = |expected: &dyn Fn(usize) -> bool, minute: u32| -> u32 {
            (0..days)
                .rev()
                .filter(|&d| expected(d))
                .take_while(|&d| {
                    !active
                        .iter()
                        .any(|a| a.0 == d && minute_dist(a.1, minute) <= 90)
                })
                .count() as u32
        };
        let mk = |period,
                  minute_of_day,
                  tolerance_minutes,
                  runs_seen,
                  runs_expected,
                  trailing_misses,
                  calls: &mut Vec<u32>| {
            calls.sort_unstable();
            PeriodicJob {
                account: account.clone(),
                region: region.clone(),
                principal: principal.clone(),
                event_source: event_source.clone(),
                event_name: event_name.clone(),
                period,
                minute_of_day,
                tolerance_minutes,
                runs_seen,
                runs_expected,
                typical_calls: calls[calls.len() / 2],
                trailing_misses,
            }
        };
        // Daily: active on most days, starting near the same minute.
        let minutes: Vec<u32> = active.iter().map(|a| a.1).collect();
        let (m, near) = mode_minute(&minutes, 90);
        if active.len() as f64 >= 0.8 * days as f64 && near as f64 >= 0.8 * active.len() as f64 {
            let mut calls: Vec<u32> = active.iter().map(|a| a.2).collect();
            jobs.push(mk(
                Period::Daily,
                m,
                JOB_TOLERANCE_MINUTES,
                near as u32,
                days as u32,
                trailing(&|_| true, m),
                &mut calls,
            ));
            continue;
        }
        // Workdays: active on most weekdays, starting near the same minute, rarely at weekends.
        let weekday = |d: usize| weekday_of((first_day + d as i64) * 86_400) < 5;
        let workdays = (0..days).filter(|&d| weekday(d)).count();
        let on_workdays: Vec<&(usize, u32, u32)> = active.iter().filter(|a| weekday(a.0)).collect();
        let at_weekends = active.len() - on_workdays.len();
        if workdays >= 5
            && on_workdays.len() as f64 >= 0.8 * workdays as f64
            && at_weekends as f64 <= 0.2 * (days - workdays).max(1) as f64
        {
            let minutes: Vec<u32> = on_workdays.iter().map(|a| a.1).collect();
            let (m, near) = mode_minute(&minutes, 90);
            if near as f64 >= 0.8 * on_workdays.len() as f64 {
                let mut calls: Vec<u32> = on_workdays.iter().map(|a| a.2).collect();
                jobs.push(mk(
                    Period::Workdays,
                    m,
                    JOB_TOLERANCE_MINUTES,
                    near as u32,
                    workdays as u32,
                    trailing(&weekday, m),
                    &mut calls,
                ));
                continue;
            }
        }
        // Weekly: one or more weekdays each active most weeks near the same minute (a
        // rotation Lambda that rotates one secret on Mondays at 09:00 and another on
        // Wednesdays at 11:00), which together explain nearly all of the principal's calls
        // of the API.
        let mut by_wd: [Vec<(u32, u32)>; 7] = Default::default();
        for &(d, m, c) in &active {
            by_wd[weekday_of((first_day + d as i64) * 86_400) as usize].push((m, c));
        }
        let on_wd =
            |wd: usize| move |d: usize| weekday_of((first_day + d as i64) * 86_400) as usize == wd;
        let slots: Vec<(usize, u32, usize, usize)> = (0..7)
            .filter_map(|wd| {
                let runs = &by_wd[wd];
                let weeks = (0..days).filter(|&d| on_wd(wd)(d)).count();
                if weeks < 2 || (runs.len() as f64) < 0.75 * weeks as f64 {
                    return None;
                }
                let mins: Vec<u32> = runs.iter().map(|r| r.0).collect();
                let (m, near) = mode_minute(&mins, 90);
                (near as f64 >= 0.75 * runs.len() as f64).then_some((wd, m, near, weeks))
            })
            .collect();
        let explained: usize = slots.iter().map(|s| by_wd[s.0].len()).sum();
        if slots.is_empty() || ((active.len() - explained) as f64) > 0.2 * active.len() as f64 {
            continue;
        }
        for (wd, m, near, weeks) in slots {
            let mut calls: Vec<u32> = by_wd[wd].iter().map(|r| r.1).collect();
            jobs.push(mk(
                Period::Weekly { weekday: wd as u32 },
                m,
                JOB_TOLERANCE_MINUTES,
                near as u32,
                weeks as u32,
                trailing(&on_wd(wd), m),
                &mut calls,
            ));
        }
    }
    jobs.sort_by(|a, b| {
        (
            &a.account,
            &a.region,
            &a.principal,
            &a.event_source,
            &a.event_name,
        )
            .cmp(&(
                &b.account,
                &b.region,
                &b.principal,
                &b.event_source,
                &b.event_name,
            ))
    });
    jobs
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A job of principal `p` at 02:00 (±60 min) that ran 28 of 28 times, ~8 calls each.
    pub(crate) fn job(period: Period) -> PeriodicJob {
        PeriodicJob {
            account: "a".into(),
            region: "r".into(),
            principal: "p".into(),
            event_source: "ec2.amazonaws.com".into(),
            event_name: "CreateSnapshot".into(),
            period,
            minute_of_day: 120,
            tolerance_minutes: 60,
            runs_seen: 28,
            runs_expected: 28,
            typical_calls: 8,
            trailing_misses: 0,
        }
    }

    #[test]
    fn expected_runs_respect_period_and_window() {
        let monday = 1_767_571_200; // 2026-01-05T00:00:00Z, a Monday
        assert_eq!(weekday_of(monday), 0);
        let daily = job(Period::Daily).expected_runs(monday, monday + 7 * 86_400);
        assert_eq!(daily.len(), 7);
        assert_eq!(daily[0], monday + 7200);
        let weekly = job(Period::Weekly { weekday: 6 }).expected_runs(monday, monday + 14 * 86_400);
        assert_eq!(
            weekly,
            vec![monday + 6 * 86_400 + 7200, monday + 13 * 86_400 + 7200]
        );
        // A run whose tolerance window is cut by the range end is not expected yet.
        assert!(job(Period::Daily)
            .expected_runs(monday, monday + 7200 + 1800)
            .is_empty());
    }

    /// A Monday-to-Friday batch is a workday job once a weekend was seen, and expected on
    /// weekdays only; before a week of history no job is looked for.
    #[test]
    fn workday_jobs_are_told_from_daily_ones() {
        let monday = 1_767_571_200; // 2026-01-05T00:00:00Z
        let mut r = Rollup::default();
        for d in 0..14i64 {
            if weekday_of(monday + d * 86_400) >= 5 {
                continue;
            }
            call(
                &mut r,
                monday + d * 86_400 + 13 * 3600 + 60,
                ("ssm.amazonaws.com", "StartAutomationExecution"),
                "arn:aws:iam::1:role/invoice-batch",
            );
        }
        let catalog = Catalog::builtin();
        assert!(catalog.is(
            Category::MaintenanceCandidate,
            "ssm.amazonaws.com",
            "StartAutomationExecution"
        ));
        let jobs = discover(&r, &catalog, monday, monday + 14 * 86_400);
        assert_eq!(jobs.len(), 1, "{jobs:#?}");
        assert_eq!(jobs[0].period, Period::Workdays);
        assert_eq!((jobs[0].runs_seen, jobs[0].runs_expected), (10, 10));
        let runs = jobs[0].expected_runs(monday + 14 * 86_400, monday + 21 * 86_400);
        assert_eq!(runs.len(), 5);
        assert!(runs.iter().all(|t| weekday_of(*t) < 5));
        // Four weekdays of history: too early to tell a workday job from a daily one.
        assert!(discover(&r, &catalog, monday, monday + 4 * 86_400).is_empty());
    }

    /// One successful write of `api` (event source, name) by `principal` at `t`.
    fn call(r: &mut Rollup, t: i64, api: (&'static str, &'static str), principal: &'static str) {
        use crate::event::Event;
        use std::borrow::Cow;
        r.add(&Event {
            time: t,
            event_id: Cow::Owned(format!("e{t}")),
            event_source: Cow::Borrowed(api.0),
            event_name: Cow::Borrowed(api.1),
            read_only: false,
            error_code: None,
            principal: Cow::Borrowed(principal),
            principal_type: Cow::Borrowed("AssumedRole"),
            session_arn: None,
            access_key_id: None,
            source_ip: Cow::Borrowed("10.0.0.1"),
            user_agent: Cow::Borrowed("Boto3/1.34"),
            account: Cow::Borrowed("1"),
            region: Cow::Borrowed("us-east-1"),
        });
    }

    /// Regression (trailgen held-out seed 107): one rotation Lambda rotates one secret on
    /// Mondays at 09:00 and another on Wednesdays at 11:00. No weekday alone explained its
    /// calls, so no job was found and a missed rotation went unseen. Each weekday slot that
    /// runs most weeks is a weekly job when together they explain the calls.
    #[test]
    fn weekly_slots_of_one_principal_are_each_a_job() {
        let monday = 1_767_571_200; // 2026-01-05T00:00:00Z
        let who = "arn:aws:iam::1:role/secrets-rotation-lambda";
        let mut r = Rollup::default();
        for week in 0..4i64 {
            let w = monday + week * 7 * 86_400;
            call(
                &mut r,
                w + 9 * 3600 + 60 * week,
                ("secretsmanager.amazonaws.com", "PutSecretValue"),
                who,
            );
            call(
                &mut r,
                w + 2 * 86_400 + 11 * 3600,
                ("secretsmanager.amazonaws.com", "PutSecretValue"),
                who,
            );
        }
        let catalog = Catalog::builtin();
        let jobs = discover(&r, &catalog, monday, monday + 28 * 86_400);
        let slots: Vec<(Period, u32)> = jobs.iter().map(|j| (j.period, j.minute_of_day)).collect();
        assert_eq!(
            slots,
            vec![
                (Period::Weekly { weekday: 0 }, 9 * 60),
                (Period::Weekly { weekday: 2 }, 11 * 60)
            ],
            "{jobs:#?}"
        );
        assert!(jobs
            .iter()
            .all(|j| j.runs_seen == 4 && j.runs_expected == 4));
        // Calls on other days too (a person rotating by hand now and then) leave the slots
        // unexplained: no job.
        for d in [1i64, 4, 12, 20, 24] {
            call(
                &mut r,
                monday + d * 86_400 + 15 * 3600,
                ("secretsmanager.amazonaws.com", "PutSecretValue"),
                who,
            );
        }
        assert!(discover(&r, &catalog, monday, monday + 28 * 86_400).is_empty());
    }

    /// Runs missing at the end of the window are an outage going on: counted as expected, but
    /// not against the job's reliability; a miss earlier in the window is.
    #[test]
    fn an_outage_at_the_end_of_the_window_is_not_the_jobs_record() {
        let day0 = 1_767_571_200;
        let who = "arn:aws:iam::1:role/rotator";
        let mut r = Rollup::default();
        for d in (0..18i64).filter(|d| *d != 3) {
            call(
                &mut r,
                day0 + d * 86_400 + 2 * 3600,
                ("secretsmanager.amazonaws.com", "RotateSecret"),
                who,
            );
        }
        let jobs = discover(&r, &Catalog::builtin(), day0, day0 + 20 * 86_400);
        assert_eq!(jobs.len(), 1, "{jobs:#?}");
        let j = &jobs[0];
        assert_eq!(
            (j.runs_seen, j.runs_expected, j.trailing_misses),
            (17, 20, 2)
        );
        assert!(
            (j.reliability() - 17.0 / 18.0).abs() < 1e-9,
            "{}",
            j.reliability()
        );
        let on_time = discover(&r, &Catalog::builtin(), day0, day0 + 18 * 86_400);
        assert_eq!(on_time[0].trailing_misses, 0);
    }

    #[test]
    fn circular_minutes() {
        assert_eq!(minute_dist(10, 1430), 20);
        // Ties go to the earliest minute of the day: 5 sits between 23:50 and 00:10.
        assert_eq!(mode_minute(&[1430, 5, 10, 700], 30), (5, 3));
    }
}
