//! Conversions between in-memory rollups and polars DataFrames, with every column name spelled
//! once, and regular zero-filled count series for the detectors.

use polars::prelude::*;

use super::agg::{ApiKey, Counts, DetailKey, DetailVal, Rollup};
use super::series::{CountSeries, Resolution};

/// Column names of the rollup tables.
pub mod col {
    /// Account id.
    pub const ACCOUNT: &str = "account";
    /// Region.
    pub const REGION: &str = "region";
    /// eventSource.
    pub const EVENT_SOURCE: &str = "event_source";
    /// eventName.
    pub const EVENT_NAME: &str = "event_name";
    /// readOnly.
    pub const READ_ONLY: &str = "read_only";
    /// Minute start (calls table), UTC datetime.
    pub const MINUTE: &str = "minute";
    /// 5-minute bucket start (detail table), UTC datetime.
    pub const BUCKET: &str = "bucket";
    /// Calls.
    pub const CALLS: &str = "calls";
    /// Failed calls.
    pub const ERRORS: &str = "errors";
    /// Principal ARN.
    pub const PRINCIPAL: &str = "principal";
    /// userIdentity.type.
    pub const PRINCIPAL_TYPE: &str = "principal_type";
    /// User agent.
    pub const USER_AGENT: &str = "user_agent";
    /// Source IP.
    pub const SOURCE_IP: &str = "source_ip";
    /// Error code (null when the calls succeeded).
    pub const ERROR_CODE: &str = "error_code";
    /// Example event id.
    pub const EXAMPLE_EVENT_ID: &str = "example_event_id";
    /// Session ARN of the example event.
    pub const SESSION_ARN: &str = "session_arn";
    /// Access key id of the example event.
    pub const ACCESS_KEY_ID: &str = "access_key_id";
}

fn utc_ms() -> DataType {
    DataType::Datetime(TimeUnit::Milliseconds, Some(TimeZone::UTC))
}

fn datetime_col(name: &str, secs: Vec<i64>) -> PolarsResult<Column> {
    let ms: Vec<i64> = secs.into_iter().map(|s| s * 1000).collect();
    Column::new(name.into(), ms).cast(&utc_ms())
}

/// The `calls` table of a rollup, sorted by series then minute.
pub(crate) fn calls_frame(r: &Rollup) -> PolarsResult<DataFrame> {
    let mut rows: Vec<(&ApiKey, i64, Counts)> = r
        .apis
        .iter()
        .flat_map(|(k, a)| a.minutes.iter().map(move |(m, c)| (k, *m, *c)))
        .collect();
    rows.sort_unstable_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
    let cols = vec![
        Column::new(
            col::ACCOUNT.into(),
            rows.iter()
                .map(|r| r.0.account.as_str())
                .collect::<Vec<_>>(),
        ),
        Column::new(
            col::REGION.into(),
            rows.iter().map(|r| r.0.region.as_str()).collect::<Vec<_>>(),
        ),
        Column::new(
            col::EVENT_SOURCE.into(),
            rows.iter()
                .map(|r| r.0.event_source.as_str())
                .collect::<Vec<_>>(),
        ),
        Column::new(
            col::EVENT_NAME.into(),
            rows.iter()
                .map(|r| r.0.event_name.as_str())
                .collect::<Vec<_>>(),
        ),
        Column::new(
            col::READ_ONLY.into(),
            rows.iter().map(|r| r.0.read_only).collect::<Vec<_>>(),
        ),
        datetime_col(col::MINUTE, rows.iter().map(|r| r.1 * 60).collect())?,
        Column::new(
            col::CALLS.into(),
            rows.iter().map(|r| r.2.calls).collect::<Vec<_>>(),
        ),
        Column::new(
            col::ERRORS.into(),
            rows.iter().map(|r| r.2.errors).collect::<Vec<_>>(),
        ),
    ];
    DataFrame::new(rows.len(), cols)
}

/// The `detail` table of a rollup, sorted by series, bucket, then the detail key.
pub(crate) fn detail_frame(r: &Rollup) -> PolarsResult<DataFrame> {
    let mut rows: Vec<(&ApiKey, &DetailKey, &DetailVal)> = r
        .apis
        .iter()
        .flat_map(|(k, a)| a.detail.iter().map(move |(dk, dv)| (k, dk, dv)))
        .collect();
    rows.sort_unstable_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
    // One pass, borrowing: the tables can hold millions of rows.
    let n = rows.len();
    let (mut account, mut region, mut source, mut name) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    let (mut ro, mut bucket, mut principal, mut ptype) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    let (mut ua, mut ip, mut code, mut calls) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    let (mut example, mut session, mut key) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    for (k, dk, dv) in &rows {
        account.push(k.account.as_str());
        region.push(k.region.as_str());
        source.push(k.event_source.as_str());
        name.push(k.event_name.as_str());
        ro.push(k.read_only);
        bucket.push(dk.bucket);
        principal.push(dk.principal.as_str());
        ptype.push(dk.principal_type.as_str());
        ua.push(dk.user_agent.as_str());
        ip.push(dk.source_ip.as_str());
        code.push(dk.error_code.as_deref());
        calls.push(dv.count);
        example.push(dv.example_event_id.as_str());
        session.push(dv.session_arn.as_deref());
        key.push(dv.access_key_id.as_deref());
    }
    let cols = vec![
        Column::new(col::ACCOUNT.into(), account),
        Column::new(col::REGION.into(), region),
        Column::new(col::EVENT_SOURCE.into(), source),
        Column::new(col::EVENT_NAME.into(), name),
        Column::new(col::READ_ONLY.into(), ro),
        datetime_col(col::BUCKET, bucket)?,
        Column::new(col::PRINCIPAL.into(), principal),
        Column::new(col::PRINCIPAL_TYPE.into(), ptype),
        Column::new(col::USER_AGENT.into(), ua),
        Column::new(col::SOURCE_IP.into(), ip),
        Column::new(col::ERROR_CODE.into(), code),
        Column::new(col::CALLS.into(), calls),
        Column::new(col::EXAMPLE_EVENT_ID.into(), example),
        Column::new(col::SESSION_ARN.into(), session),
        Column::new(col::ACCESS_KEY_ID.into(), key),
    ];
    DataFrame::new(rows.len(), cols)
}

fn strs<'a>(df: &'a DataFrame, name: &str) -> PolarsResult<Vec<Option<&'a str>>> {
    Ok(df.column(name)?.str()?.iter().collect())
}

fn secs(df: &DataFrame, name: &str) -> PolarsResult<Vec<i64>> {
    let c = df.column(name)?.cast(&DataType::Int64)?;
    let v: Vec<i64> = c
        .i64()?
        .iter()
        .map(|v| v.unwrap_or(0).div_euclid(1000))
        .collect();
    Ok(v)
}

fn key_at(
    a: &[Option<&str>],
    r: &[Option<&str>],
    s: &[Option<&str>],
    n: &[Option<&str>],
    ro: &[Option<bool>],
    i: usize,
) -> ApiKey {
    ApiKey {
        account: a[i].unwrap_or_default().to_string(),
        region: r[i].unwrap_or_default().to_string(),
        event_source: s[i].unwrap_or_default().to_string(),
        event_name: n[i].unwrap_or_default().to_string(),
        read_only: ro[i].unwrap_or(false),
    }
}

/// Adds a stored `calls` table into a rollup.
pub(crate) fn add_calls(r: &mut Rollup, df: &DataFrame) -> PolarsResult<()> {
    let (a, re, s, n) = (
        strs(df, col::ACCOUNT)?,
        strs(df, col::REGION)?,
        strs(df, col::EVENT_SOURCE)?,
        strs(df, col::EVENT_NAME)?,
    );
    let ro: Vec<Option<bool>> = df.column(col::READ_ONLY)?.bool()?.iter().collect();
    let m = secs(df, col::MINUTE)?;
    let calls: Vec<Option<u32>> = df.column(col::CALLS)?.u32()?.iter().collect();
    let errs: Vec<Option<u32>> = df.column(col::ERRORS)?.u32()?.iter().collect();
    for i in 0..df.height() {
        let k = key_at(&a, &re, &s, &n, &ro, i);
        r.add_minute(
            &k,
            m[i].div_euclid(60),
            Counts {
                calls: calls[i].unwrap_or(0),
                errors: errs[i].unwrap_or(0),
            },
        );
    }
    Ok(())
}

/// Adds a stored `detail` table into a rollup.
pub(crate) fn add_detail(r: &mut Rollup, df: &DataFrame) -> PolarsResult<()> {
    let (a, re, s, n) = (
        strs(df, col::ACCOUNT)?,
        strs(df, col::REGION)?,
        strs(df, col::EVENT_SOURCE)?,
        strs(df, col::EVENT_NAME)?,
    );
    let ro: Vec<Option<bool>> = df.column(col::READ_ONLY)?.bool()?.iter().collect();
    let b = secs(df, col::BUCKET)?;
    let (p, pt, ua, ip, ec) = (
        strs(df, col::PRINCIPAL)?,
        strs(df, col::PRINCIPAL_TYPE)?,
        strs(df, col::USER_AGENT)?,
        strs(df, col::SOURCE_IP)?,
        strs(df, col::ERROR_CODE)?,
    );
    let calls: Vec<Option<u32>> = df.column(col::CALLS)?.u32()?.iter().collect();
    let (ex, sa, ak) = (
        strs(df, col::EXAMPLE_EVENT_ID)?,
        strs(df, col::SESSION_ARN)?,
        strs(df, col::ACCESS_KEY_ID)?,
    );
    let own = |v: &[Option<&str>], i: usize| v[i].unwrap_or_default().to_string();
    for i in 0..df.height() {
        let k = key_at(&a, &re, &s, &n, &ro, i);
        let dk = DetailKey {
            bucket: b[i],
            principal: own(&p, i),
            principal_type: own(&pt, i),
            user_agent: own(&ua, i),
            source_ip: own(&ip, i),
            error_code: ec[i].map(str::to_string),
        };
        let dv = DetailVal {
            count: calls[i].unwrap_or(0),
            example_event_id: own(&ex, i),
            session_arn: sa[i].map(str::to_string),
            access_key_id: ak[i].map(str::to_string),
        };
        r.add_detail(&k, dk, dv);
    }
    Ok(())
}

/// Builds zero-filled series from a `calls` table over `[start, end)`.
pub(crate) fn series_from_calls(
    df: &DataFrame,
    start: i64,
    end: i64,
    res: Resolution,
) -> PolarsResult<Vec<CountSeries>> {
    let w = res.secs();
    let s0 = start.div_euclid(w) * w;
    let n = usize::try_from((end - s0 + w - 1).div_euclid(w)).unwrap_or(0);
    let mut r = Rollup::default();
    add_calls(&mut r, df)?;
    let mut out: Vec<CountSeries> = r
        .apis
        .into_iter()
        .map(|(key, a)| {
            let mut calls = vec![0u32; n];
            let mut errors = vec![0u32; n];
            for (m, c) in a.minutes {
                let t = m * 60;
                if t < start || t >= end {
                    continue;
                }
                let i = ((t - s0) / w) as usize;
                calls[i] = calls[i].saturating_add(c.calls);
                errors[i] = errors[i].saturating_add(c.errors);
            }
            CountSeries {
                key,
                start: s0,
                resolution: res,
                calls,
                errors,
            }
        })
        .collect();
    out.sort_by(|a, b| a.key.cmp(&b.key));
    Ok(out)
}
