//! A principal's habits: the networks and tool families it calls from, and how often it adds a
//! new one. The same first-time action means little from the principal's own laptop and CLI
//! and much from a network and a tool it never used (a stolen key); a principal that shows up
//! from a new network every few days (a Lambda role on AWS's addresses, a traveller) is not
//! news on its next one.

use std::collections::BTreeSet;
use std::rc::Rc;

use hashbrown::HashMap;
use serde::{Deserialize, Serialize};

use crate::event::{agent_family, network_of};

/// How many networks and tool families a principal's habits keep (most-used days first).
/// A principal with more is one whose every network is new anyway: its churn says so.
pub const HABIT_VALUES_KEPT: usize = 64;

/// Network churn from which a new network is routine for a principal (a new one on one
/// active day in four): a traveller, a role on AWS's addresses, a CI runner pool.
pub const CHURNING: f64 = 0.25;

/// One principal's habits over the training window.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Habits {
    /// Days on which it made any call.
    pub active_days: u32,
    /// Networks ([`network_of`]) with the days each was used, most days first.
    pub networks: Vec<(String, u32)>,
    /// Tool families ([`agent_family`]) with the days each was used, most days first.
    pub agents: Vec<(String, u32)>,
    /// Days, after its first, on which it used a network it had not used before.
    pub new_network_days: u32,
    /// Days, after its first, on which it used a tool family it had not used before.
    pub new_agent_days: u32,
    /// Days, after its first, on which it called a watched API (sensitive or provisioning:
    /// what `rare_action` reports) it had not called before: how often its own routine brings a
    /// first-time action (Terraform applying a new module, an administrator at work).
    #[serde(default)]
    pub new_action_days: u32,
}

impl Habits {
    /// Days of use that make a network or a tool a habit: two, as a burst needs two days to be
    /// a precedent — one day may have been an incident itself (a leaked key's enumeration two
    /// days before the same address starts instances), and one day is no rhythm. A principal
    /// seen on one day only has nothing better than that day.
    pub fn habit_days(&self) -> u32 {
        self.active_days.clamp(1, 2)
    }

    /// Whether this network ([`network_of`] form) is one of its habits ([`Habits::habit_days`]).
    pub fn knows_network(&self, network: &str) -> bool {
        let need = self.habit_days();
        self.networks
            .iter()
            .any(|(n, d)| n == network && *d >= need)
    }

    /// Whether this tool family ([`agent_family`] form) is one of its habits.
    pub fn knows_agent(&self, family: &str) -> bool {
        let need = self.habit_days();
        self.agents.iter().any(|(a, d)| a == family && *d >= need)
    }

    /// Whether a call from this network with this tool is the principal's routine: a habitual
    /// tool, from a habitual network — or any network, for a principal whose networks churn
    /// ([`CHURNING`]: a CI runner pool is a new address every run).
    pub fn habitual(&self, network: &str, family: &str) -> bool {
        self.knows_agent(family)
            && (self.knows_network(network) || self.network_churn() >= CHURNING)
    }

    /// The chance that an active day brings a network it never used:
    /// `(new-network days + 2) / (active days − 1 + 3)` (a prior of two new days in three).
    /// Two thirds for a principal seen once, near 0 for one that has called from the same
    /// places for weeks.
    pub fn network_churn(&self) -> f64 {
        churn(self.new_network_days, self.active_days)
    }

    /// As [`Habits::network_churn`], for tool families.
    pub fn agent_churn(&self) -> f64 {
        churn(self.new_agent_days, self.active_days)
    }

    /// As [`Habits::network_churn`], for first-time watched actions: the chance that an active
    /// day of its routine brings one.
    pub fn action_churn(&self) -> f64 {
        churn(self.new_action_days, self.active_days)
    }
}

/// Pseudo-days of the churn's prior, of which [`PRIOR_NEW_DAYS`] brought something new: a
/// principal's first days do bring new places and tools (home, office, VPN; a CI runner pool),
/// so a short history says little about how settled it is.
const PRIOR_DAYS: f64 = 3.0;
/// See [`PRIOR_DAYS`].
const PRIOR_NEW_DAYS: f64 = 2.0;

/// `(new days + 2) / (days after the first + 3)`: the chance that an active day brings
/// something new, with a prior of two new days in three.
fn churn(new_days: u32, active_days: u32) -> f64 {
    let opportunities = f64::from(active_days.saturating_sub(1));
    (f64::from(new_days) + PRIOR_NEW_DAYS) / (opportunities + PRIOR_DAYS)
}

/// Collects habits from detail rows, one principal at a time or many interleaved.
#[derive(Debug, Default)]
pub struct HabitsBuilder {
    days: BTreeSet<i64>,
    networks: HashMap<String, BTreeSet<i64>>,
    agents: HashMap<String, BTreeSet<i64>>,
    /// Watched API → the first day it was called.
    actions: HashMap<String, i64>,
}

/// Folds raw source IPs and user agents once per distinct string: a training window repeats
/// the same few thousand of them across millions of rows.
#[derive(Debug, Default)]
pub struct Folder {
    networks: HashMap<String, Rc<str>>,
    agents: HashMap<String, Rc<str>>,
}

impl Folder {
    /// The network of a source IP (cached).
    pub fn network(&mut self, source_ip: &str) -> Rc<str> {
        cached(&mut self.networks, source_ip, network_of)
    }

    /// The tool family of a user agent (cached).
    pub fn agent(&mut self, user_agent: &str) -> Rc<str> {
        cached(&mut self.agents, user_agent, agent_family)
    }
}

fn cached(m: &mut HashMap<String, Rc<str>>, raw: &str, fold: fn(&str) -> String) -> Rc<str> {
    if let Some(v) = m.get(raw) {
        return v.clone();
    }
    let v: Rc<str> = fold(raw).into();
    m.insert(raw.to_string(), v.clone());
    v
}

impl HabitsBuilder {
    /// Records calls on UTC day `day` (days since the epoch) from a network and a tool family.
    pub fn add(&mut self, day: i64, network: &str, agent: &str) {
        self.days.insert(day);
        if let Some(d) = self.networks.get_mut(network) {
            d.insert(day);
        } else {
            self.networks
                .insert(network.to_string(), BTreeSet::from([day]));
        }
        if let Some(d) = self.agents.get_mut(agent) {
            d.insert(day);
        } else {
            self.agents.insert(agent.to_string(), BTreeSet::from([day]));
        }
    }

    /// Records a call of a watched API (one `rare_action` reports when first seen) on `day`.
    pub fn action(&mut self, day: i64, api: &str) {
        if let Some(d) = self.actions.get_mut(api) {
            *d = (*d).min(day);
        } else {
            self.actions.insert(api.to_string(), day);
        }
    }

    /// The habits.
    pub fn finish(self) -> Habits {
        let first = self.days.first().copied();
        let new_action_days = self
            .actions
            .values()
            .filter(|d| Some(**d) != first)
            .collect::<BTreeSet<_>>()
            .len() as u32;
        let new_days = |m: &HashMap<String, BTreeSet<i64>>| -> u32 {
            let firsts: BTreeSet<i64> = m
                .values()
                .filter_map(|d| d.first().copied())
                .filter(|d| Some(*d) != first)
                .collect();
            firsts.len() as u32
        };
        let ranked = |m: HashMap<String, BTreeSet<i64>>| -> Vec<(String, u32)> {
            let mut v: Vec<(String, u32)> =
                m.into_iter().map(|(k, d)| (k, d.len() as u32)).collect();
            v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            v.truncate(HABIT_VALUES_KEPT);
            v
        };
        Habits {
            active_days: self.days.len() as u32,
            new_network_days: new_days(&self.networks),
            new_agent_days: new_days(&self.agents),
            new_action_days,
            networks: ranked(self.networks),
            agents: ranked(self.agents),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settled_principal_has_low_churn_and_knows_its_places() {
        let mut b = HabitsBuilder::default();
        for day in 0..28 {
            b.add(day, "91.198.174.0/24", "aws-cli");
            if day % 7 == 0 {
                b.add(day, "86.12.203.0/24", "console");
            }
        }
        let h = b.finish();
        assert_eq!(h.active_days, 28);
        assert!(h.knows_network("91.198.174.0/24") && h.knows_network("86.12.203.0/24"));
        assert!(!h.knows_network("193.189.100.0/24"));
        assert!(h.knows_agent("aws-cli") && !h.knows_agent("python-requests"));
        // Everything was used on its first day: no day brought a new value.
        assert_eq!((h.new_network_days, h.new_agent_days), (0, 0));
        assert!(h.network_churn() < 0.1, "{}", h.network_churn());
        assert_eq!(h.networks[0], ("91.198.174.0/24".to_string(), 28));

        // Used on one day of 28: seen, not a habit.
        let mut b = HabitsBuilder::default();
        for day in 0..28 {
            b.add(day, "91.198.174.0/24", "aws-cli");
        }
        b.add(20, "5.188.61.0/24", "boto3");
        let h = b.finish();
        assert!(!h.knows_network("5.188.61.0/24") && !h.knows_agent("boto3"));
        // A principal seen on one day only: that day's places are all it has.
        let mut b = HabitsBuilder::default();
        b.add(0, "91.198.174.0/24", "aws-cli");
        assert!(b.finish().knows_network("91.198.174.0/24"));
    }

    #[test]
    fn a_principal_on_new_addresses_every_few_days_churns() {
        let mut b = HabitsBuilder::default();
        for day in 0..28 {
            b.add(day, &format!("3.{}.0.0/24", day / 3), "boto3");
        }
        let h = b.finish();
        assert_eq!(h.new_network_days, 9);
        assert!(h.network_churn() > 0.3, "{}", h.network_churn());
        assert!(h.agent_churn() < 0.1);
    }

    #[test]
    fn first_time_actions_count_the_days_that_brought_one() {
        let mut b = HabitsBuilder::default();
        for day in 0..10 {
            b.add(day, "10.0.0.0/24", "terraform");
            // Its first day's APIs are where it started, not news; later, a new one on days 3
            // and 7 (twice on day 7), and day 5 repeats an API it already called.
            b.action(day, "ec2.amazonaws.com:RunInstances");
        }
        b.action(3, "ec2.amazonaws.com:TerminateInstances");
        b.action(7, "s3.amazonaws.com:DeleteBucket");
        b.action(7, "iam.amazonaws.com:CreateRole");
        b.action(5, "ec2.amazonaws.com:TerminateInstances");
        let h = b.finish();
        assert_eq!(h.new_action_days, 2);
        assert!((h.action_churn() - 4.0 / 12.0).abs() < 1e-12);
    }

    #[test]
    fn habits_keep_at_most_the_cap() {
        let mut b = HabitsBuilder::default();
        for i in 0..200 {
            b.add(i, &format!("10.0.{i}.0/24"), "boto3");
        }
        assert_eq!(b.finish().networks.len(), HABIT_VALUES_KEPT);
    }

    #[test]
    fn folder_caches_the_folded_forms() {
        let mut f = Folder::default();
        assert_eq!(&*f.network("54.87.120.14"), "54.87.120.0/24");
        assert_eq!(&*f.agent("aws-cli/2.18.0 md/x"), "aws-cli");
        let again = f.network("54.87.120.14");
        assert!(Rc::ptr_eq(&again, &f.network("54.87.120.14")));
    }
}
