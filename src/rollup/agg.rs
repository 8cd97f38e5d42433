//! In-memory rollups: per-API minute counts and per-principal detail, built while reading and
//! merged with what the state already holds. Keys are owned; lookups on the hot path borrow.

use hashbrown::{Equivalent, HashMap};

use crate::event::Event;

/// Seconds per detail bucket. Per-principal detail is kept at 5-minute resolution: fine enough
/// for sliding-window bursts, coarse enough that a chatty role does not make one row per call.
use crate::time::BUCKET_SECS;

/// One call series: who received the call and which API it was.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub struct ApiKey {
    /// Account that received the call.
    pub account: String,
    /// AWS region.
    pub region: String,
    /// e.g. `ec2.amazonaws.com`.
    pub event_source: String,
    /// e.g. `RunInstances`.
    pub event_name: String,
    /// Read-only calls and writes are separate series.
    pub read_only: bool,
}

impl ApiKey {
    /// `ec2.amazonaws.com:RunInstances`, the name users write in overrides.
    pub fn api(&self) -> String {
        format!("{}:{}", self.event_source, self.event_name)
    }
}

/// Borrowed twin of [`ApiKey`]; field order and types hash identically.
#[derive(Hash)]
struct ApiKeyRef<'a> {
    account: &'a str,
    region: &'a str,
    event_source: &'a str,
    event_name: &'a str,
    read_only: bool,
}

impl Equivalent<ApiKey> for ApiKeyRef<'_> {
    fn equivalent(&self, k: &ApiKey) -> bool {
        self.read_only == k.read_only
            && self.event_name == k.event_name
            && self.event_source == k.event_source
            && self.region == k.region
            && self.account == k.account
    }
}

/// Calls and failed calls in one bucket.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Every call.
    pub calls: u32,
    /// Calls that carried an `errorCode`.
    pub errors: u32,
}

impl Counts {
    fn add(&mut self, o: Counts) {
        self.calls = self.calls.saturating_add(o.calls);
        self.errors = self.errors.saturating_add(o.errors);
    }
}

/// Who called, from where, with what, and how it ended, in one 5-minute bucket.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DetailKey {
    /// Bucket start, epoch seconds.
    pub bucket: i64,
    /// Principal ARN (issuing role for assumed roles).
    pub principal: String,
    /// `userIdentity.type`.
    pub principal_type: String,
    /// User agent.
    pub user_agent: String,
    /// Source IP address.
    pub source_ip: String,
    /// Error code, if the calls failed.
    pub error_code: Option<String>,
}

#[derive(Hash)]
struct DetailKeyRef<'a> {
    bucket: i64,
    principal: &'a str,
    principal_type: &'a str,
    user_agent: &'a str,
    source_ip: &'a str,
    error_code: Option<&'a str>,
}

impl Equivalent<DetailKey> for DetailKeyRef<'_> {
    fn equivalent(&self, k: &DetailKey) -> bool {
        self.bucket == k.bucket
            && self.principal == k.principal
            && self.source_ip == k.source_ip
            && self.user_agent == k.user_agent
            && self.error_code == k.error_code.as_deref()
            && self.principal_type == k.principal_type
    }
}

/// Calls in a detail bucket and one example event an investigator can look up. The example is
/// the smallest eventID, so it does not depend on the order files were read in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DetailVal {
    /// Calls.
    pub count: u32,
    /// Smallest eventID among them.
    pub example_event_id: String,
    /// Session ARN of that example event.
    pub session_arn: Option<String>,
    /// Access key id of that example event.
    pub access_key_id: Option<String>,
}

impl DetailVal {
    fn merge(&mut self, o: DetailVal) {
        self.count = self.count.saturating_add(o.count);
        if o.example_event_id < self.example_event_id {
            self.example_event_id = o.example_event_id;
            self.session_arn = o.session_arn;
            self.access_key_id = o.access_key_id;
        }
    }
}

/// Everything known about one API series.
#[derive(Debug, Clone, Default)]
pub struct ApiAgg {
    /// Epoch minute → counts.
    pub minutes: HashMap<i64, Counts>,
    /// Per-principal detail.
    pub detail: HashMap<DetailKey, DetailVal>,
}

/// A set of rollups: what one ingest adds, or one day as stored.
#[derive(Debug, Clone, Default)]
pub struct Rollup {
    /// Per API series.
    pub apis: HashMap<ApiKey, ApiAgg>,
}

impl Rollup {
    /// Adds one management event (already deduplicated).
    pub fn add(&mut self, e: &Event<'_>) {
        let kref = ApiKeyRef {
            account: &e.account,
            region: &e.region,
            event_source: &e.event_source,
            event_name: &e.event_name,
            read_only: e.read_only,
        };
        let agg = match self.apis.get_mut(&kref) {
            Some(a) => a,
            None => self
                .apis
                .entry(ApiKey {
                    account: e.account.to_string(),
                    region: e.region.to_string(),
                    event_source: e.event_source.to_string(),
                    event_name: e.event_name.to_string(),
                    read_only: e.read_only,
                })
                .or_default(),
        };
        let err = u32::from(e.error_code.is_some());
        agg.minutes
            .entry(e.time.div_euclid(60))
            .or_default()
            .add(Counts {
                calls: 1,
                errors: err,
            });
        let dref = DetailKeyRef {
            bucket: e.time.div_euclid(BUCKET_SECS) * BUCKET_SECS,
            principal: &e.principal,
            principal_type: &e.principal_type,
            user_agent: &e.user_agent,
            source_ip: &e.source_ip,
            error_code: e.error_code.as_deref(),
        };
        match agg.detail.get_mut(&dref) {
            // The hot path: a known row. Only the count changes, and the example when this
            // event's id sorts first; nothing is allocated otherwise.
            Some(v) => {
                v.count = v.count.saturating_add(1);
                if *e.event_id < *v.example_event_id {
                    v.example_event_id = e.event_id.to_string();
                    v.session_arn = e.session_arn.as_ref().map(|s| s.to_string());
                    v.access_key_id = e.access_key_id.as_ref().map(|s| s.to_string());
                }
            }
            None => {
                agg.detail.insert(
                    DetailKey {
                        bucket: dref.bucket,
                        principal: e.principal.to_string(),
                        principal_type: e.principal_type.to_string(),
                        user_agent: e.user_agent.to_string(),
                        source_ip: e.source_ip.to_string(),
                        error_code: e.error_code.as_ref().map(|s| s.to_string()),
                    },
                    DetailVal {
                        count: 1,
                        example_event_id: e.event_id.to_string(),
                        session_arn: e.session_arn.as_ref().map(|s| s.to_string()),
                        access_key_id: e.access_key_id.as_ref().map(|s| s.to_string()),
                    },
                );
            }
        }
    }

    /// Adds raw counts for one minute (used when reading stored rollups back).
    pub fn add_minute(&mut self, key: &ApiKey, minute: i64, c: Counts) {
        self.api_mut(key).minutes.entry(minute).or_default().add(c);
    }

    /// Adds one detail row (used when reading stored rollups back).
    pub fn add_detail(&mut self, key: &ApiKey, dk: DetailKey, v: DetailVal) {
        match self.api_mut(key).detail.entry(dk) {
            hashbrown::hash_map::Entry::Occupied(mut o) => o.get_mut().merge(v),
            hashbrown::hash_map::Entry::Vacant(slot) => {
                slot.insert(v);
            }
        }
    }

    fn api_mut(&mut self, key: &ApiKey) -> &mut ApiAgg {
        if !self.apis.contains_key(key) {
            self.apis.insert(key.clone(), ApiAgg::default());
        }
        self.apis.get_mut(key).expect("inserted above")
    }

    /// Folds another rollup into this one.
    pub fn merge(&mut self, other: Rollup) {
        for (k, a) in other.apis {
            match self.apis.entry(k) {
                hashbrown::hash_map::Entry::Vacant(v) => {
                    v.insert(a);
                }
                hashbrown::hash_map::Entry::Occupied(mut o) => {
                    let mine = o.get_mut();
                    for (m, c) in a.minutes {
                        mine.minutes.entry(m).or_default().add(c);
                    }
                    for (dk, dv) in a.detail {
                        match mine.detail.entry(dk) {
                            hashbrown::hash_map::Entry::Occupied(mut e) => e.get_mut().merge(dv),
                            hashbrown::hash_map::Entry::Vacant(e) => {
                                e.insert(dv);
                            }
                        }
                    }
                }
            }
        }
    }

    /// Splits by UTC day (days since the epoch).
    pub fn split_by_day(self) -> std::collections::BTreeMap<i64, Rollup> {
        let mut out: std::collections::BTreeMap<i64, Rollup> = Default::default();
        for (k, a) in self.apis {
            for (m, c) in a.minutes {
                out.entry((m * 60).div_euclid(86_400))
                    .or_default()
                    .api_mut(&k)
                    .minutes
                    .insert(m, c);
            }
            for (dk, dv) in a.detail {
                out.entry(dk.bucket.div_euclid(86_400))
                    .or_default()
                    .api_mut(&k)
                    .detail
                    .insert(dk, dv);
            }
        }
        out
    }

    /// Total calls.
    pub fn total_calls(&self) -> u64 {
        self.apis
            .values()
            .flat_map(|a| a.minutes.values())
            .map(|c| u64::from(c.calls))
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use super::*;

    fn ev(t: i64, id: &str, principal: &str) -> Event<'static> {
        Event {
            time: t,
            event_id: Cow::Owned(id.into()),
            event_source: Cow::Borrowed("ec2.amazonaws.com"),
            event_name: Cow::Borrowed("RunInstances"),
            read_only: false,
            error_code: None,
            principal: Cow::Owned(principal.into()),
            principal_type: Cow::Borrowed("AssumedRole"),
            session_arn: Some(Cow::Owned(format!("session-of-{id}"))),
            access_key_id: None,
            source_ip: Cow::Borrowed("10.0.0.1"),
            user_agent: Cow::Borrowed("ua"),
            account: Cow::Borrowed("1"),
            region: Cow::Borrowed("r"),
        }
    }

    fn snapshot(r: &Rollup) -> Vec<String> {
        let mut v: Vec<String> = r
            .apis
            .iter()
            .flat_map(|(k, a)| {
                a.minutes
                    .iter()
                    .map(move |(m, c)| format!("{k:?} {m} {c:?}"))
                    .chain(
                        a.detail
                            .iter()
                            .map(move |(dk, dv)| format!("{k:?} {dk:?} {dv:?}")),
                    )
            })
            .collect();
        v.sort();
        v
    }

    #[test]
    fn order_and_split_do_not_matter() {
        let events: Vec<Event<'static>> = (0..50)
            .map(|i| {
                ev(
                    86_400 - 600 + i * 30,
                    &format!("id{:02}", (i * 37) % 50),
                    ["a", "b"][i as usize % 2],
                )
            })
            .collect();
        let mut forward = Rollup::default();
        events.iter().for_each(|e| forward.add(e));
        let mut backward = Rollup::default();
        events.iter().rev().for_each(|e| backward.add(e));
        assert_eq!(snapshot(&forward), snapshot(&backward));
        let (mut a, mut b) = (Rollup::default(), Rollup::default());
        events[..20].iter().for_each(|e| a.add(e));
        events[20..].iter().for_each(|e| b.add(e));
        a.merge(b);
        assert_eq!(snapshot(&a), snapshot(&forward));
        assert_eq!(forward.total_calls(), 50);
        // The example of a detail row is its smallest eventID, with that event's session.
        let row = forward
            .apis
            .values()
            .next()
            .unwrap()
            .detail
            .values()
            .min_by(|x, y| x.example_event_id.cmp(&y.example_event_id))
            .unwrap();
        assert_eq!(
            row.session_arn.as_deref(),
            Some(format!("session-of-{}", row.example_event_id).as_str())
        );
        // Events straddle midnight: two days, counts preserved.
        let days = forward.split_by_day();
        assert_eq!(days.keys().copied().collect::<Vec<_>>(), vec![0, 1]);
        assert_eq!(days.values().map(Rollup::total_calls).sum::<u64>(), 50);
    }
}
