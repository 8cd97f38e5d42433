//! Whether a principal's calls came from where it always calls from: its networks and tool
//! families ([`Habits`]). The second piece of evidence beside "unusual": a first-time action,
//! an IAM burst or a sweep of denied reads means much more from a network and a tool the
//! principal never used (a stolen key) than from its own laptop and CLI or its own CI runner
//! (its job, or its owner at work). Also the organization's other accounts: the same role
//! name doing the same thing elsewhere is that role's habit, not news.

use std::collections::BTreeMap;

use super::calibrate;
use crate::baseline::{Baselines, Habits, PrincipalModel};
use crate::event::{agent_family, network_of};
use crate::rollup::{ApiKey, DetailKey, DetailVal};

/// The score factor of evidence that came from the principal's habitual networks and tools:
/// the same unusual thing, done from where the principal always works, is a third less telling.
/// A settled principal's first-time destructive action (85 × 0.93) becomes about 52, below
/// `rare_action`'s default threshold of 60.
pub(crate) const HABITUAL: f64 = 0.65;

/// The factor when what is new is only a network, for a principal that often adds networks
/// ([`Habits::network_churn`] ≥ [`CHURNING`]): a traveller, a role on AWS's addresses.
pub(crate) const CHURNING_NETWORK: f64 = 0.85;

/// The most a new network and tool together multiply a return period by: three decades (60
/// points of score below the knee of [`calibrate::score_of_period`]), so a routine-sized burst
/// from a stolen key's new place alerts without every new place turning a daily event into an
/// alert.
pub(crate) const MAX_SURPRISE: f64 = 1000.0;

pub(crate) use crate::baseline::habits::CHURNING;

/// Where some calls of one principal came from, against its habits.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Context {
    /// The principal had habits (it was seen in the training window).
    pub(crate) known: bool,
    /// Networks of the calls that are not among its habits, most calls first.
    pub(crate) new_networks: Vec<String>,
    /// Tool families of the calls that are not among its habits, most calls first.
    pub(crate) new_agents: Vec<String>,
    /// Networks of the calls that are not among its habits but are among the organization's
    /// ([`OrgNetworks`], [`Context::within`]): places of its people, not a stranger's.
    pub(crate) org_networks: Vec<String>,
    /// Its chance of a new network on an active day.
    pub(crate) network_churn: f64,
    /// Its chance of a new tool family on an active day.
    pub(crate) agent_churn: f64,
}

impl Context {
    /// The context of `rows` (calls of one principal) against its habits (`None`: never seen).
    pub(crate) fn of(
        rows: &[(&ApiKey, &DetailKey, &DetailVal)],
        habits: Option<&Habits>,
    ) -> Context {
        let Some(h) = habits.filter(|h| h.active_days > 0) else {
            return Context {
                known: false,
                new_networks: Vec::new(),
                new_agents: Vec::new(),
                org_networks: Vec::new(),
                network_churn: 1.0,
                agent_churn: 1.0,
            };
        };
        let mut nets: BTreeMap<String, u64> = BTreeMap::new();
        let mut agents: BTreeMap<String, u64> = BTreeMap::new();
        for (_, dk, dv) in rows {
            let c = u64::from(dv.count);
            let n = network_of(&dk.source_ip);
            if !h.knows_network(&n) {
                *nets.entry(n).or_default() += c;
            }
            let a = agent_family(&dk.user_agent);
            if !h.knows_agent(&a) {
                *agents.entry(a).or_default() += c;
            }
        }
        Context {
            known: true,
            new_networks: ranked(nets),
            new_agents: ranked(agents),
            org_networks: Vec::new(),
            network_churn: h.network_churn(),
            agent_churn: h.agent_churn(),
        }
    }

    /// This context with the networks new to the principal that the organization uses
    /// ([`OrgNetworks`]) moved to `org_networks`: they count as its usual places. A person's
    /// first day on the office network or the VPN, or on the home network two of their other
    /// roles sign in from, is no stranger's address; a stolen key's is new to everyone.
    pub(crate) fn within(mut self, org: &OrgNetworks) -> Context {
        let (known, new): (Vec<String>, Vec<String>) = std::mem::take(&mut self.new_networks)
            .into_iter()
            .partition(|n| org.knows(n));
        self.new_networks = new;
        self.org_networks = known;
        self
    }

    /// Every call from a network and a tool family the principal used before.
    pub(crate) fn habitual(&self) -> bool {
        self.known && self.new_networks.is_empty() && self.new_agents.is_empty()
    }

    /// The score factor of this context: [`HABITUAL`] for habitual calls,
    /// [`CHURNING_NETWORK`] when only the network is new and the principal often adds
    /// networks, 1 otherwise (a new tool, a settled principal on a new network, or a principal
    /// never seen: nothing to compare with).
    pub(crate) fn factor(&self) -> f64 {
        if !self.known {
            1.0
        } else if self.habitual() {
            HABITUAL
        } else if self.new_agents.is_empty() && self.network_churn >= CHURNING {
            CHURNING_NETWORK
        } else {
            1.0
        }
    }

    /// How much rarer this context is than the principal's routine: a network it never used
    /// comes on `network_churn` of its active days and a tool it never used on `agent_churn`, so
    /// their inverses multiply the return period of evidence seen with them (independent, at
    /// most [`MAX_SURPRISE`] together). 1 for habitual calls and for a principal never seen.
    pub(crate) fn surprise(&self) -> f64 {
        if !self.known {
            return 1.0;
        }
        let mut s = 1.0;
        if !self.new_networks.is_empty() {
            s /= self.network_churn.max(1e-3);
        }
        if !self.new_agents.is_empty() {
            s /= self.agent_churn.max(1e-3);
        }
        s.min(MAX_SURPRISE)
    }

    /// The chance that the principal's routine does *not* explain this context: 0 for habitual
    /// calls or a principal never seen, else `1 − Π churn` over what is new (a network it never
    /// used on a settled principal: ~0.97; on one that shows up from a new address every day:
    /// ~0). Evidence of its own, combined with a first-time action's as independent
    /// (noisy-or) by `rare_action`.
    pub(crate) fn novelty(&self) -> f64 {
        if !self.known || self.habitual() {
            return 0.0;
        }
        let mut routine = 1.0;
        if !self.new_networks.is_empty() {
            routine *= self.network_churn.clamp(0.0, 1.0);
        }
        if !self.new_agents.is_empty() {
            routine *= self.agent_churn.clamp(0.0, 1.0);
        }
        1.0 - routine
    }

    /// `score` (a return-period score, [`calibrate`]) with this context's evidence: habitual
    /// security evidence scaled by [`Context::factor`], new places multiplying its return period
    /// by [`Context::surprise`].
    pub(crate) fn weigh(&self, score: f64) -> f64 {
        let s = self.surprise();
        if s > 1.0 {
            calibrate::score_of_period(calibrate::period_of_score(score) * s).max(score)
        } else {
            score * self.factor()
        }
    }

    /// How far below `floor` to scan a principal whose calls of the day came from this
    /// context, so that a window its new place would lift over `floor` ([`Context::weigh`]) is
    /// not dropped before it is weighed: the score whose return period, multiplied by
    /// [`Context::surprise`], is `floor`'s.
    pub(crate) fn scan_floor(&self, floor: f64) -> f64 {
        let s = self.surprise();
        if s > 1.0 {
            calibrate::score_of_period(calibrate::period_of_score(floor) / s)
        } else {
            floor
        }
    }

    /// A clause for explanations: "from its usual networks and tools", "from a network
    /// new to it (193.189.100.0/24) with a tool new to it (python-requests)".
    pub(crate) fn describe(&self) -> String {
        if !self.known {
            return String::new();
        }
        // "from a network new to it (a)", "with tools new to it (a, b, c)": none when empty.
        let clause = |lead: &str, (one, many): (&str, &str), what: &str, v: &[String]| {
            (!v.is_empty()).then(|| {
                let shown = v.iter().take(3).cloned().collect::<Vec<_>>().join(", ");
                let noun = if v.len() == 1 { one } else { many };
                format!("{lead} {noun} {what} ({shown})")
            })
        };
        const NETWORK: (&str, &str) = ("a network", "networks");
        let org = clause("from", NETWORK, "its organization uses", &self.org_networks);
        if self.habitual() {
            return match org {
                Some(o) => format!("{o}, with its usual tools"),
                None => "from its usual networks and tools".into(),
            };
        }
        let parts: Vec<String> = [
            org,
            clause("from", NETWORK, "new to it", &self.new_networks),
            clause("with", ("a tool", "tools"), "new to it", &self.new_agents),
        ]
        .into_iter()
        .flatten()
        .collect();
        parts.join(" ")
    }
}

fn ranked(m: BTreeMap<String, u64>) -> Vec<String> {
    let mut v: Vec<(String, u64)> = m.into_iter().collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    v.into_iter().map(|(k, _)| k).collect()
}

/// The organization-wide name of a role principal: its ARN without the account, with the
/// per-account suffix of IAM Identity Center roles removed
/// (`AWSReservedSSO_PowerUserAccess_1f3b5d7e9a2c4068` → `AWSReservedSSO_PowerUserAccess`), so
/// the same role deployed to every account (a StackSet's, a permission set's, a scanner's)
/// has one name. Users, services and roots have none: the same user name in two accounts is
/// not known to be one person.
pub(crate) fn role_name(principal: &str) -> Option<String> {
    let rest = principal.strip_prefix("arn:")?;
    let mut parts = rest.splitn(5, ':');
    let (_partition, service, _region, _account) =
        (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    let resource = parts.next()?;
    if service != "iam" || !resource.starts_with("role/") {
        return None;
    }
    let last = resource.rsplit('/').next().unwrap_or(resource);
    if let Some(stem) = last.strip_prefix("AWSReservedSSO_") {
        if let Some((set, suffix)) = stem.rsplit_once('_') {
            if !suffix.is_empty() && suffix.chars().all(|c| c.is_ascii_hexdigit()) {
                return Some(format!("role/AWSReservedSSO_{set}"));
            }
        }
    }
    Some(resource.to_string())
}

/// Principals of the organization a network must be a habit of ([`Habits::knows_network`],
/// two days or more each) to be one of its networks: one could be a stolen key's second day.
pub(crate) const ORG_NETWORK_PRINCIPALS: usize = 2;

/// The organization's networks: those that are habits of at least [`ORG_NETWORK_PRINCIPALS`]
/// of its principals (its offices and VPN egress, the homes its people sign in from with
/// several roles, fixed CI runners).
#[derive(Debug, Default)]
pub(crate) struct OrgNetworks(std::collections::HashSet<String>);

impl OrgNetworks {
    /// From the principal models of the baselines.
    pub(crate) fn of(b: &Baselines) -> OrgNetworks {
        OrgNetworks::from_habits(b.principals.iter().map(|m| &m.habits))
    }

    /// From the habits of each of the organization's principals.
    fn from_habits<'h>(all: impl Iterator<Item = &'h Habits>) -> OrgNetworks {
        let mut users: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
        for h in all {
            let need = h.habit_days().max(2);
            for (n, d) in &h.networks {
                if *d >= need {
                    *users.entry(n.as_str()).or_default() += 1;
                }
            }
        }
        OrgNetworks(
            users
                .into_iter()
                .filter(|(_, c)| *c >= ORG_NETWORK_PRINCIPALS)
                .map(|(n, _)| n.to_string())
                .collect(),
        )
    }

    /// Whether `network` ([`network_of`] form) is one of the organization's.
    pub(crate) fn knows(&self, network: &str) -> bool {
        self.0.contains(network)
    }
}

/// The organization's roles by [`role_name`], per account: a role in a small or new account
/// borrows what the same role does in the others (the APIs it calls, its habits, its bursts).
#[derive(Debug, Default)]
pub(crate) struct Peers<'a> {
    roles: BTreeMap<String, Vec<&'a PrincipalModel>>,
    networks: OrgNetworks,
}

impl<'a> Peers<'a> {
    /// From the principal models of the baselines.
    pub(crate) fn of(b: &'a Baselines) -> Peers<'a> {
        let mut roles: BTreeMap<String, Vec<&'a PrincipalModel>> = BTreeMap::new();
        for m in &b.principals {
            if let Some(name) = role_name(&m.principal) {
                roles.entry(name).or_default().push(m);
            }
        }
        for v in roles.values_mut() {
            // The most active first: the best-known habits lead.
            v.sort_by(|a, b| {
                b.active_hours
                    .cmp(&a.active_hours)
                    .then_with(|| a.account.cmp(&b.account))
            });
        }
        Peers {
            roles,
            networks: OrgNetworks::of(b),
        }
    }

    /// The organization's networks ([`OrgNetworks`]).
    pub(crate) fn networks(&self) -> &OrgNetworks {
        &self.networks
    }

    /// The same role in the organization's other accounts, most active first.
    pub(crate) fn elsewhere(&self, principal: &str, account: &str) -> Vec<&'a PrincipalModel> {
        role_name(principal)
            .and_then(|n| self.roles.get(&n))
            .map(|v| v.iter().copied().filter(|m| m.account != account).collect())
            .unwrap_or_default()
    }

    /// Another account in which the same role called `api` (`eventSource:eventName`).
    pub(crate) fn account_calling(
        &self,
        principal: &str,
        account: &str,
        api: &str,
    ) -> Option<&'a str> {
        self.elsewhere(principal, account)
            .into_iter()
            .find(|m| m.apis.contains(api))
            .map(|m| m.account.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::baseline::habits::HabitsBuilder;
    use crate::rollup::{ApiKey, DetailKey, DetailVal};

    fn key() -> ApiKey {
        ApiKey {
            account: "111111111111".into(),
            region: "us-east-1".into(),
            event_source: "ec2.amazonaws.com".into(),
            event_name: "TerminateInstances".into(),
            read_only: false,
        }
    }

    fn row(ip: &str, ua: &str) -> (DetailKey, DetailVal) {
        (
            DetailKey {
                bucket: 0,
                principal: "arn:aws:iam::111111111111:user/alice".into(),
                principal_type: "IAMUser".into(),
                user_agent: ua.into(),
                source_ip: ip.into(),
                error_code: None,
            },
            DetailVal {
                count: 1,
                example_event_id: "e-1".into(),
                session_arn: None,
                access_key_id: None,
            },
        )
    }

    fn habits(churn_days: i64) -> Habits {
        let mut b = HabitsBuilder::default();
        for d in 0..28 {
            let n = if churn_days > 0 { d / churn_days } else { 0 };
            b.add(d, &format!("91.198.{n}.0/24"), "aws-cli");
        }
        b.finish()
    }

    #[test]
    fn calls_from_the_usual_place_are_habitual() {
        let k = key();
        let (dk, dv) = row("91.198.0.7", "aws-cli/2.18.0 md/awscrt#0.22.0");
        let c = Context::of(&[(&k, &dk, &dv)], Some(&habits(0)));
        assert!(c.habitual());
        assert_eq!(c.factor(), HABITUAL);
        assert_eq!(c.describe(), "from its usual networks and tools");
    }

    /// Regression (trailgen tuning seed 301): people's sessions denied on console pages, and an
    /// administrator rotating keys, from a network new to their role but used for weeks by
    /// their other roles (the office, a home), alerted as a stranger's. A network that is a
    /// habit of two of the organization's principals is one of its places; one principal's
    /// (a stolen key's second day) or one day's is not.
    #[test]
    fn a_network_the_organization_uses_is_no_strangers() {
        let k = key();
        let (dk, dv) = row("208.185.9.40", "aws-cli/2.18.0");
        let used = |network: &str, days: i64| {
            let mut b = HabitsBuilder::default();
            for d in 0..days {
                b.add(d, network, "console");
            }
            b.finish()
        };
        let mut all = vec![used("208.185.9.0/24", 5)];
        let org = |all: &[Habits]| OrgNetworks::from_habits(all.iter());
        let new = || Context::of(&[(&k, &dk, &dv)], Some(&habits(0)));
        // One other principal's habit: still new.
        assert_eq!(new().within(&org(&all)).new_networks.len(), 1);
        // A second principal's single day: still new.
        all.push(used("208.185.9.0/24", 1));
        assert_eq!(new().within(&org(&all)).new_networks.len(), 1);
        // A habit of two: the organization's.
        all.push(used("208.185.9.0/24", 3));
        let c = new().within(&org(&all));
        assert!(c.habitual(), "{c:?}");
        assert_eq!(c.factor(), HABITUAL);
        assert_eq!(
            c.describe(),
            "from a network its organization uses (208.185.9.0/24), with its usual tools"
        );
        // A stranger's address stays new beside it, and is what the clause leads with after
        // the organization's.
        let (dk2, dv2) = row("193.189.100.204", "python-requests/2.31.0");
        let c =
            Context::of(&[(&k, &dk, &dv), (&k, &dk2, &dv2)], Some(&habits(0))).within(&org(&all));
        assert_eq!(c.new_networks, vec!["193.189.100.0/24".to_string()]);
        assert_eq!(c.org_networks, vec!["208.185.9.0/24".to_string()]);
        assert!(!c.habitual());
    }

    #[test]
    fn a_new_network_and_tool_is_full_evidence() {
        let k = key();
        let (dk, dv) = row("193.189.100.204", "python-requests/2.31.0 Boto3/1.26.0");
        let c = Context::of(&[(&k, &dk, &dv)], Some(&habits(0)));
        assert!(!c.habitual());
        assert_eq!(c.factor(), 1.0);
        assert_eq!(c.new_networks, vec!["193.189.100.0/24".to_string()]);
        assert_eq!(c.new_agents, vec!["python-requests".to_string()]);
        assert!(
            c.describe().contains("193.189.100.0/24") && c.describe().contains("python-requests")
        );
    }

    #[test]
    fn a_new_network_is_routine_for_a_principal_that_often_adds_one() {
        let k = key();
        let (dk, dv) = row("86.12.203.77", "aws-cli/2.18.0");
        // Settled: the same network for four weeks.
        assert_eq!(
            Context::of(&[(&k, &dk, &dv)], Some(&habits(0))).factor(),
            1.0
        );
        // A new network every other day.
        let c = Context::of(&[(&k, &dk, &dv)], Some(&habits(2)));
        assert_eq!(c.factor(), CHURNING_NETWORK);
    }

    #[test]
    fn the_scan_floor_is_what_weighing_lifts_to_the_threshold() {
        let k = key();
        let (dk, dv) = row("193.189.100.204", "python-requests/2.31.0 Boto3/1.26.0");
        let c = Context::of(&[(&k, &dk, &dv)], Some(&habits(0)));
        assert!(c.surprise() > 1.0);
        // Below the knee and above it: a window at the floor is weighed up to the threshold.
        for threshold in [60.0, 70.0, 90.0] {
            let floor = c.scan_floor(threshold);
            assert!(floor < threshold);
            assert!(
                (c.weigh(floor) - threshold).abs() < 1e-6,
                "{threshold}: {floor}"
            );
        }
        // Habitual calls are not lifted: the floor is the threshold.
        let (dk, dv) = row("91.198.0.7", "aws-cli/2.18.0");
        let usual = Context::of(&[(&k, &dk, &dv)], Some(&habits(0)));
        assert_eq!(usual.scan_floor(70.0), 70.0);
    }

    #[test]
    fn a_principal_never_seen_has_no_context() {
        let k = key();
        let (dk, dv) = row("91.198.0.7", "aws-cli/2.18.0");
        let c = Context::of(&[(&k, &dk, &dv)], None);
        assert!(!c.known && !c.habitual());
        assert_eq!(c.factor(), 1.0);
        assert_eq!(c.describe(), "");
    }

    #[test]
    fn role_names_drop_the_account_and_the_identity_center_suffix() {
        assert_eq!(
            role_name("arn:aws:iam::613904728155:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_PowerUserAccess_1f3b5d7e9a2c4068"),
            Some("role/AWSReservedSSO_PowerUserAccess".into())
        );
        assert_eq!(
            role_name("arn:aws:iam::947215830366:role/gha-deployer"),
            role_name("arn:aws:iam::613904728155:role/gha-deployer")
        );
        assert_eq!(role_name("arn:aws:iam::613904728155:user/alice"), None);
        assert_eq!(role_name("config.amazonaws.com"), None);
        assert_eq!(role_name("arn:aws:iam::613904728155:root"), None);
    }
}
