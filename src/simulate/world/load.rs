//! Reading and checking `world.toml`: the file's own types (serde, unknown keys refused),
//! then every reference resolved to an index with an error naming its key when it does not
//! resolve, and the step programs checked for what the runner needs (marks set before use,
//! windows for `end`, `until` and `jitter = "window"`, counts for `repeat = "count"`).

use std::collections::{BTreeMap, HashMap};
use std::fmt::Display;

use serde::Deserialize;
use xxhash_rust::xxh3::xxh3_64_with_seed;

use super::*;
use crate::simulate::model::RESERVED_RNG_TAGS;

/// Reads and checks a world file.
pub(super) fn parse(text: &str) -> Result<World, WorldError> {
    let raw: RawWorld =
        toml::from_str(text).map_err(|e| bad("world.toml", e.to_string().trim_end()))?;
    Builder::build(raw)
}

fn bad(key: impl Display, message: impl Display) -> WorldError {
    WorldError {
        key: key.to_string(),
        message: message.to_string(),
    }
}

fn ensure(ok: bool, key: impl Display, message: impl Display) -> Result<(), WorldError> {
    if ok {
        Ok(())
    } else {
        Err(bad(key, message))
    }
}

/// `name` looked up in one of the builder's name tables.
fn find<T: Copy>(
    map: &HashMap<String, T>,
    key: &str,
    what: &str,
    name: &str,
) -> Result<T, WorldError> {
    map.get(name)
        .copied()
        .ok_or_else(|| bad(key, format!("unknown {what} {name:?}")))
}

// ---------------------------------------------------------------- the file

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWorld {
    regions: Vec<String>,
    organization_id: String,
    volume: f64,
    global_services: Vec<String>,
    sign_in_user_agent: String,
    decoy_order: Vec<Vec<String>>,
    accounts: Vec<RawAccount>,
    ips: BTreeMap<String, Vec<String>>,
    user_agents: BTreeMap<String, Vec<String>>,
    actors: Vec<RawActor>,
    apis: BTreeMap<String, ApiKind>,
    profiles: BTreeMap<String, Profile>,
    streams: Vec<RawStream>,
    schedules: Vec<RawSchedule>,
    incidents: Vec<RawIncident>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAccount {
    id: String,
    alias: String,
    #[serde(default)]
    organization_trail: bool,
    ips: String,
    traffic: Vec<f64>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Pool {
    Name(String),
    List(Vec<String>),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawActor {
    key: String,
    accounts: Option<Vec<String>>,
    identity: Option<Ident>,
    same_identity_as: Option<String>,
    ips: Pool,
    user_agents: Pool,
    #[serde(default)]
    console: bool,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "kebab-case")]
enum ApiKind {
    Read,
    Write,
    DataRead,
    DataWrite,
    SignIn,
    ServiceEvent,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawErrors {
    share: f64,
    kinds: Vec<ErrKind>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStream {
    actors: Vec<String>,
    accounts: Option<Vec<String>>,
    #[serde(default)]
    split_by_traffic: bool,
    #[serde(default)]
    region_factor: BTreeMap<String, f64>,
    profile: Option<String>,
    gamma_shape: Option<f64>,
    errors: Option<RawErrors>,
    calls: Vec<RawCall>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCall {
    api: String,
    per_hour: f64,
    actors: Option<Vec<String>>,
    profile: Option<String>,
    gamma_shape: Option<f64>,
    errors: Option<RawErrors>,
}

#[derive(Clone, Copy, Deserialize)]
#[serde(untagged)]
enum RawDraw<T> {
    Fixed(T),
    Range([T; 2]),
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawCount {
    Fixed(u32),
    PerAccount(BTreeMap<String, u32>),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOccurs {
    rng_tag: u64,
    #[serde(default)]
    per_account: bool,
    times: Option<RawDraw<u32>>,
    start: [String; 2],
    minutes: [i64; 2],
    count: Option<[u32; 2]>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSchedule {
    name: String,
    actor: Option<String>,
    actors: Option<Vec<String>>,
    accounts: Option<Vec<String>>,
    regions: Option<Vec<String>>,
    days: String,
    at: Option<String>,
    minutes: Option<i64>,
    occurs: Option<RawOccurs>,
    count: Option<RawCount>,
    steps: Vec<RawStep>,
    decoy: Option<RawLabel>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPlace {
    account: String,
    region: String,
    count: Option<u32>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawStart {
    At(String),
    Range([String; 2]),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawThin {
    actor: String,
    api: String,
    keep: f64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawIncident {
    #[serde(rename = "where")]
    places: Vec<RawPlace>,
    start: RawStart,
    minutes: RawDraw<i64>,
    count: Option<RawDraw<u32>>,
    actor: Option<String>,
    layout: Option<String>,
    steps: Option<Vec<RawStep>>,
    thin: Option<RawThin>,
    skip: Option<String>,
    label: RawLabel,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLabel {
    kind: String,
    api: Option<String>,
    apis: Option<Vec<String>>,
    actor: Option<String>,
    description: String,
    family: Option<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum NumOrWord<T> {
    Num(T),
    Word(String),
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawRepeat {
    Fixed(u32),
    Range([u32; 2]),
    Word(String),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEither {
    share: f64,
    first: Vec<String>,
    second: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawError {
    share: f64,
    kind: ErrKind,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStep {
    call: Option<String>,
    calls: Option<Vec<(i64, String)>>,
    pick: Option<Vec<String>>,
    either: Option<RawEither>,
    steps: Option<Vec<RawStep>>,
    halfway: Option<[String; 2]>,
    actor: Option<String>,
    at: Option<NumOrWord<i64>>,
    jitter: Option<NumOrWord<i64>>,
    spread: Option<i64>,
    repeat: Option<RawRepeat>,
    every: Option<RawDraw<i64>>,
    until: Option<String>,
    var: Option<NumOrWord<u32>>,
    error: Option<RawError>,
    mark: Option<String>,
    next: Option<String>,
    name: Option<String>,
}

// ---------------------------------------------------------------- resolution and checks

/// What a program may refer to, fixed by where it runs.
struct Scope<'a> {
    /// The run has a window (an end).
    window: bool,
    /// The run has a count for `repeat = "count"`.
    count: bool,
    /// The run may be outside the home region.
    abroad: bool,
    even: bool,
    /// Mark names in definition order (slots 0 and 1: start, end).
    marks: Vec<String>,
    names: Vec<String>,
    /// Accounts the program can run in (actor references must resolve in each).
    accounts: &'a [usize],
}

struct Builder {
    regions: Vec<String>,
    accounts: Vec<Account>,
    aliases: HashMap<String, usize>,
    apis: Vec<Api>,
    api_ids: HashMap<String, usize>,
    keys: HashMap<String, Key>,
    by_key: Vec<Vec<Option<u16>>>,
    profiles: HashMap<String, usize>,
}

/// Seconds after midnight of `"HH:MM"`.
fn seconds_of_day(key: &str, hhmm: &str) -> Result<i64, WorldError> {
    let parsed = hhmm
        .split_once(':')
        .filter(|_| hhmm.len() == 5)
        .and_then(|(h, m)| {
            let (h, m): (i64, i64) = (h.parse().ok()?, m.parse().ok()?);
            ((0..24).contains(&h) && (0..60).contains(&m)).then_some(h * 3600 + m * 60)
        });
    parsed.ok_or_else(|| bad(key, format!("{hhmm:?} is not a time of day HH:MM")))
}

fn share(key: &str, x: f64) -> Result<f64, WorldError> {
    if (0.0..=1.0).contains(&x) {
        Ok(x)
    } else {
        Err(bad(key, format!("share {x} is not in [0, 1]")))
    }
}

fn range<T: PartialOrd + Copy + Display>(key: &str, d: RawDraw<T>) -> Result<Draw<T>, WorldError> {
    match d {
        RawDraw::Fixed(x) => Ok(Draw::Fixed(x)),
        RawDraw::Range([lo, hi]) if lo <= hi => Ok(Draw::Range(lo, hi)),
        RawDraw::Range([lo, hi]) => Err(bad(key, format!("range [{lo}, {hi}] is empty"))),
    }
}

impl Builder {
    fn build(raw: RawWorld) -> Result<World, WorldError> {
        if raw.regions.is_empty() || raw.accounts.is_empty() {
            return Err(bad(
                "regions/accounts",
                "a world needs a region and an account",
            ));
        }
        let mut b = Builder {
            regions: raw.regions.clone(),
            accounts: Vec::new(),
            aliases: HashMap::new(),
            apis: Vec::new(),
            api_ids: HashMap::new(),
            keys: HashMap::new(),
            by_key: Vec::new(),
            profiles: HashMap::new(),
        };
        let mut account_ips = Vec::new();
        for (i, a) in raw.accounts.into_iter().enumerate() {
            let key = format!("accounts[{i}]");
            ensure(
                a.traffic.len() == b.regions.len(),
                &key,
                "traffic needs one share per region",
            )?;
            ensure(
                b.aliases.insert(a.alias.clone(), i).is_none(),
                &key,
                "alias used twice",
            )?;
            let ips = raw.ips.get(&a.ips).cloned();
            account_ips.push(ips.ok_or_else(|| bad(&key, format!("unknown IP pool {:?}", a.ips)))?);
            b.accounts.push(Account {
                id: a.id,
                alias: a.alias,
                org: a.organization_trail,
                traffic: a.traffic,
            });
        }
        for (id, kind) in &raw.apis {
            let (service, name) = id
                .split_once(':')
                .filter(|(s, n)| !s.is_empty() && !n.is_empty())
                .ok_or_else(|| bad(format!("apis.{id:?}"), "an API is \"service:Name\""))?;
            use ApiKind::*;
            b.api_ids.insert(id.clone(), b.apis.len());
            b.apis.push(Api {
                source: format!("{service}.amazonaws.com"),
                name: name.to_string(),
                read_only: matches!(kind, Read | DataRead),
                cat: match kind {
                    Read | Write => Cat::Mgmt,
                    DataRead | DataWrite => Cat::Data,
                    SignIn => Cat::SignIn,
                    ServiceEvent => Cat::Service,
                },
                global: raw.global_services.iter().any(|g| g == service),
            });
        }
        let actors = b.actors(raw.actors, &raw.ips, &raw.user_agents, &account_ips)?;
        let mut profiles = Vec::new();
        for (name, p) in raw.profiles {
            if let Profile::OfficeHours { from, to, .. } = p {
                ensure(
                    from < to && to <= 24,
                    format!("profiles.{name}"),
                    "office hours need from < to <= 24",
                )?;
            }
            b.profiles.insert(name, profiles.len());
            profiles.push(p);
        }
        let streams = raw
            .streams
            .into_iter()
            .enumerate()
            .map(|(i, s)| b.stream(&format!("streams[{i}]"), s))
            .collect::<Result<Vec<_>, _>>()?;
        let mut schedules: Vec<Schedule> = Vec::new();
        for (i, s) in raw.schedules.into_iter().enumerate() {
            let key = format!("schedules[{i}] ({})", s.name);
            ensure(
                schedules.iter().all(|x| x.name != s.name),
                &key,
                "name used twice",
            )?;
            let s = b.schedule(&key, s)?;
            if let When::Occurs { rng_tag, .. } = s.when {
                let taken = schedules
                    .iter()
                    .any(|x| matches!(x.when, When::Occurs { rng_tag: t, .. } if t == rng_tag));
                let free = !taken && !RESERVED_RNG_TAGS.contains(&rng_tag);
                ensure(
                    free,
                    format!("{key}.occurs.rng_tag"),
                    format!("{rng_tag} is taken"),
                )?;
            }
            schedules.push(s);
        }
        let incidents = raw
            .incidents
            .into_iter()
            .enumerate()
            .map(|(i, r)| b.incident(&format!("incidents[{i}]"), r, &schedules))
            .collect::<Result<Vec<_>, _>>()?;
        let mut decoy_order = Vec::new();
        for (g, group) in raw.decoy_order.iter().enumerate() {
            let mut ids = Vec::new();
            for name in group {
                let key = format!("decoy_order[{g}]");
                let id = schedules
                    .iter()
                    .position(|s| &s.name == name && s.decoy.is_some())
                    .ok_or_else(|| bad(&key, format!("{name:?} is no schedule with a decoy")))?;
                let twice = decoy_order
                    .iter()
                    .chain([&ids])
                    .any(|v: &Vec<usize>| v.contains(&id));
                ensure(!twice, key, format!("{name:?} listed twice"))?;
                ids.push(id);
            }
            decoy_order.push(ids);
        }
        for (i, s) in schedules
            .iter()
            .enumerate()
            .filter(|(_, s)| s.decoy.is_some())
        {
            let listed = decoy_order.iter().any(|g| g.contains(&i));
            ensure(
                listed,
                "decoy_order",
                format!("schedule {:?} has a decoy but is not listed", s.name),
            )?;
        }
        Ok(World {
            regions: b.regions,
            organization_id: raw.organization_id,
            volume: raw.volume,
            sign_in_user_agent: raw.sign_in_user_agent,
            accounts: b.accounts,
            apis: b.apis,
            actors,
            by_key: b.by_key,
            profiles,
            streams,
            schedules,
            incidents,
            decoy_order,
        })
    }

    fn actors(
        &mut self,
        raw: Vec<RawActor>,
        ips: &BTreeMap<String, Vec<String>>,
        uas: &BTreeMap<String, Vec<String>>,
        account_ips: &[Vec<String>],
    ) -> Result<Vec<Actor>, WorldError> {
        let mut actors: Vec<Actor> = Vec::new();
        let n_accounts = self.accounts.len();
        let mut slots: HashMap<(usize, String), usize> = HashMap::new();
        for (i, a) in raw.iter().enumerate() {
            let key = format!("actors[{i}] ({})", a.key);
            let accounts = self.account_list(&key, a.accounts.as_deref())?;
            let pool = |p: &Pool,
                        named: &BTreeMap<String, Vec<String>>,
                        own: Option<&Vec<String>>| match p {
                Pool::List(v) => Ok(v.clone()),
                Pool::Name(n) if n == "account" && own.is_some() => {
                    Ok(own.cloned().unwrap_or_default())
                }
                Pool::Name(n) => named
                    .get(n)
                    .cloned()
                    .ok_or_else(|| bad(&key, format!("unknown pool {n:?}"))),
            };
            let next_key = Key(self.keys.len() as u16);
            let k = *self.keys.entry(a.key.clone()).or_insert(next_key);
            if usize::from(k.0) == self.by_key.len() {
                self.by_key.push(vec![None; n_accounts]);
            }
            for acct in accounts {
                let ident = match (&a.identity, &a.same_identity_as) {
                    (Some(id), None) => id.clone(),
                    (None, Some(other)) => {
                        let j = slots.get(&(acct, other.clone())).ok_or_else(|| {
                            bad(
                                &key,
                                format!(
                                    "no actor {other:?} in {} before it",
                                    self.accounts[acct].alias
                                ),
                            )
                        })?;
                        actors[*j].ident.clone()
                    }
                    _ => {
                        return Err(bad(
                            &key,
                            "needs exactly one of identity and same_identity_as",
                        ))
                    }
                };
                let ips = pool(&a.ips, ips, Some(&account_ips[acct]))?;
                let uas = pool(&a.user_agents, uas, None)?;
                ensure(
                    !ips.is_empty() && !uas.is_empty(),
                    &key,
                    "needs an IP and a user agent",
                )?;
                let first = slots.insert((acct, a.key.clone()), actors.len()).is_none();
                ensure(
                    first,
                    &key,
                    format!("a second {:?} in {}", a.key, self.accounts[acct].alias),
                )?;
                self.by_key[usize::from(k.0)][acct] = Some(actors.len() as u16);
                let id = &self.accounts[acct].id;
                let principal = match &ident {
                    Ident::Role { name, path, .. } => {
                        format!("arn:aws:iam::{id}:role/{path}{name}")
                    }
                    Ident::User { name } => format!("arn:aws:iam::{id}:user/{name}"),
                    Ident::Root => format!("arn:aws:iam::{id}:root"),
                    Ident::Service { invoked_by } => invoked_by.clone(),
                    Ident::WebIdentity { provider, sub, .. } => format!("{provider}:{sub}"),
                };
                actors.push(Actor {
                    account: acct,
                    hash: xxh3_64_with_seed(principal.as_bytes(), 0x7a11),
                    ident,
                    ips,
                    uas,
                    console: a.console,
                    principal,
                });
            }
        }
        Ok(actors)
    }

    /// Account indices of `list` (every account when absent).
    fn account_list(&self, key: &str, list: Option<&[String]>) -> Result<Vec<usize>, WorldError> {
        match list {
            None => Ok((0..self.accounts.len()).collect()),
            Some(l) => l
                .iter()
                .map(|a| find(&self.aliases, key, "account", a))
                .collect(),
        }
    }

    fn region(&self, key: &str, r: &str) -> Result<usize, WorldError> {
        self.regions
            .iter()
            .position(|x| x == r)
            .ok_or_else(|| bad(key, format!("unknown region {r:?}")))
    }

    fn api(&self, key: &str, id: &str) -> Result<usize, WorldError> {
        find(&self.api_ids, key, "API", id)
    }

    /// Which accounts of the world are in `accounts`.
    fn covered(&self, accounts: &[usize]) -> Vec<bool> {
        (0..self.accounts.len())
            .map(|a| accounts.contains(&a))
            .collect()
    }

    /// The key of an actor that exists in at least one of `accounts`.
    fn key(&self, key: &str, name: &str, accounts: &[usize]) -> Result<Key, WorldError> {
        let k = find(&self.keys, key, "actor", name)?;
        let somewhere = accounts
            .iter()
            .any(|&a| self.by_key[usize::from(k.0)][a].is_some());
        ensure(
            somewhere,
            key,
            format!("actor {name:?} is in none of the accounts it acts in"),
        )?;
        Ok(k)
    }

    /// Like `key`, but the actor must exist in every one of `accounts`.
    fn key_everywhere(&self, key: &str, name: &str, accounts: &[usize]) -> Result<Key, WorldError> {
        let k = self.key(key, name, accounts)?;
        match accounts
            .iter()
            .find(|&&a| self.by_key[usize::from(k.0)][a].is_none())
        {
            Some(&a) => Err(bad(
                key,
                format!(
                    "actor {name:?} does not exist in {}",
                    self.accounts[a].alias
                ),
            )),
            None => Ok(k),
        }
    }

    fn errors(
        &self,
        key: &str,
        e: Option<&RawErrors>,
        default: &Errors,
    ) -> Result<Errors, WorldError> {
        let Some(e) = e else {
            return Ok(default.clone());
        };
        ensure(
            e.share == 0.0 || !e.kinds.is_empty(),
            key,
            "errors with a share need kinds",
        )?;
        Ok(Errors {
            share: share(key, e.share)?,
            kinds: e.kinds.clone(),
        })
    }

    fn stream(&self, key: &str, s: RawStream) -> Result<Stream, WorldError> {
        let accounts = self.account_list(key, s.accounts.as_deref())?;
        let actors = s
            .actors
            .iter()
            .map(|a| self.key(&format!("{key}.actors"), a, &accounts))
            .collect::<Result<Vec<_>, _>>()?;
        let mut region_factor = vec![1.0; self.regions.len()];
        for (r, f) in &s.region_factor {
            region_factor[self.region(&format!("{key}.region_factor"), r)?] = *f;
        }
        let none = Errors {
            share: 0.0,
            kinds: Vec::new(),
        };
        let errors = self.errors(&format!("{key}.errors"), s.errors.as_ref(), &none)?;
        let mut calls = Vec::new();
        for (j, c) in s.calls.iter().enumerate() {
            let ck = format!("{key}.calls[{j}]");
            let profile = c
                .profile
                .as_ref()
                .or(s.profile.as_ref())
                .ok_or_else(|| bad(&ck, "no profile"))?;
            let profile = find(&self.profiles, &ck, "profile", profile)?;
            let gamma_shape = c
                .gamma_shape
                .or(s.gamma_shape)
                .ok_or_else(|| bad(&ck, "no gamma_shape"))?;
            let ok =
                gamma_shape > 0.0 && c.per_hour >= 0.0 && (gamma_shape + c.per_hour).is_finite();
            ensure(
                ok,
                &ck,
                "gamma_shape must be positive and per_hour not negative",
            )?;
            let call_actors = match &c.actors {
                None => actors.clone(),
                Some(list) => list
                    .iter()
                    .map(|a| {
                        let k = self.key(&format!("{ck}.actors"), a, &accounts)?;
                        ensure(
                            actors.contains(&k),
                            &ck,
                            format!("{a:?} is not a stream actor"),
                        )?;
                        Ok(k)
                    })
                    .collect::<Result<Vec<_>, _>>()?,
            };
            calls.push(StreamCall {
                api: self.api(&format!("{ck}.api"), &c.api)?,
                per_hour: c.per_hour,
                profile,
                gamma_shape,
                errors: self.errors(&format!("{ck}.errors"), c.errors.as_ref(), &errors)?,
                actors: call_actors,
            });
        }
        Ok(Stream {
            actors,
            accounts: self.covered(&accounts),
            split_by_traffic: s.split_by_traffic,
            region_factor,
            calls,
        })
    }

    fn schedule(&self, key: &str, s: RawSchedule) -> Result<Schedule, WorldError> {
        let accounts = self.account_list(key, s.accounts.as_deref())?;
        let actor_names = match (&s.actor, &s.actors) {
            (Some(a), None) => vec![a.clone()],
            (None, Some(v)) if !v.is_empty() => v.clone(),
            _ => return Err(bad(key, "needs exactly one of actor and actors")),
        };
        let actors = actor_names
            .iter()
            .map(|a| self.key(&format!("{key}.actors"), a, &accounts))
            .collect::<Result<Vec<_>, _>>()?;
        let regions = match &s.regions {
            None => vec![0],
            Some(v) => v
                .iter()
                .map(|r| self.region(&format!("{key}.regions"), r))
                .collect::<Result<_, _>>()?,
        };
        let days = match s.days.as_str() {
            "daily" => Days::Daily,
            "workdays" => Days::Workdays,
            d => Days::On(d.parse().map_err(|_| {
                bad(
                    format!("{key}.days"),
                    format!("{d:?}: daily, workdays or a weekday"),
                )
            })?),
        };
        let when = match (&s.at, &s.occurs) {
            (Some(at), None) => When::At {
                at: seconds_of_day(&format!("{key}.at"), at)?,
                minutes: s.minutes,
            },
            (None, Some(o)) if s.minutes.is_none() => {
                let ok = format!("{key}.occurs");
                let start = (
                    seconds_of_day(&ok, &o.start[0])?,
                    seconds_of_day(&ok, &o.start[1])?,
                );
                let [m0, m1] = o.minutes;
                let fine = start.0 < start.1 && 1 <= m0 && m0 <= m1;
                ensure(
                    fine,
                    &ok,
                    "start must be an increasing range, minutes a range from 1",
                )?;
                When::Occurs {
                    rng_tag: o.rng_tag,
                    per_account: o.per_account,
                    times: match &o.times {
                        None => Draw::Fixed(1),
                        Some(t) => range(&format!("{ok}.times"), *t)?,
                    },
                    start,
                    minutes: (m0, m1),
                    count: o.count.map(|[a, b]| (a, b)),
                }
            }
            _ => {
                return Err(bad(
                    key,
                    "needs exactly one of at (with minutes) and occurs",
                ))
            }
        };
        let window = match &when {
            When::At { minutes, .. } => minutes.is_some(),
            When::Occurs { .. } => true,
        };
        let mut count = vec![0; self.accounts.len()];
        let has_count = match (&s.count, &when) {
            (Some(_), When::Occurs { count: Some(_), .. }) => {
                return Err(bad(key, "count is given twice (here and in occurs)"));
            }
            (Some(RawCount::Fixed(n)), _) => {
                count.fill(*n);
                true
            }
            (Some(RawCount::PerAccount(m)), _) => {
                for (alias, n) in m {
                    count[find(&self.aliases, &format!("{key}.count"), "account", alias)?] = *n;
                }
                let all = accounts
                    .iter()
                    .all(|&a| m.contains_key(&self.accounts[a].alias));
                ensure(
                    all,
                    format!("{key}.count"),
                    "a count for every account it runs in",
                )?;
                true
            }
            (None, When::Occurs { count: c, .. }) => c.is_some(),
            (None, _) => false,
        };
        let mut scope = Scope {
            window,
            count: has_count,
            abroad: regions.iter().any(|&r| r != 0),
            even: false,
            marks: vec!["start".into(), "end".into()],
            names: Vec::new(),
            accounts: &accounts,
        };
        let program = self.program(&format!("{key}.steps"), &s.steps, &mut scope)?;
        let decoy = match &s.decoy {
            None => None,
            Some(l) => {
                let fine = actors.len() == 1 && window;
                ensure(
                    fine,
                    format!("{key}.decoy"),
                    "a decoy schedule has one actor and a window",
                )?;
                self.key_everywhere(&format!("{key}.actor"), &actor_names[0], &accounts)?;
                Some(self.label(
                    &format!("{key}.decoy"),
                    l,
                    Some(actors[0]),
                    &program,
                    None,
                    &accounts,
                )?)
            }
        };
        Ok(Schedule {
            name: s.name,
            actors,
            accounts: self.covered(&accounts),
            regions,
            days,
            when,
            count,
            program,
            decoy,
        })
    }

    fn incident(
        &self,
        key: &str,
        r: RawIncident,
        schedules: &[Schedule],
    ) -> Result<Recipe, WorldError> {
        let mut places = Vec::new();
        for (i, p) in r.places.iter().enumerate() {
            let pk = format!("{key}.where[{i}]");
            places.push(Place {
                account: find(&self.aliases, &pk, "account", &p.account)?,
                region: self.region(&pk, &p.region)?,
                count: p.count,
            });
        }
        ensure(
            !places.is_empty(),
            format!("{key}.where"),
            "an incident needs a place",
        )?;
        let place_counts = places.iter().filter(|p| p.count.is_some()).count();
        let one_way = place_counts == 0 || (place_counts == places.len() && r.count.is_none());
        ensure(
            one_way,
            key,
            "give count for every place or for the incident, not both",
        )?;
        let minute = |s: &str| seconds_of_day(&format!("{key}.start"), s).map(|x| x / 60);
        let start = match &r.start {
            RawStart::At(s) => Draw::Fixed(minute(s)?),
            RawStart::Range([a, b]) => {
                let (a, b) = (minute(a)?, minute(b)?);
                ensure(a < b, format!("{key}.start"), "start range is empty")?;
                // Drawn from [a, b): stored inclusive.
                Draw::Range(a, b - 1)
            }
        };
        let minutes = range(&format!("{key}.minutes"), r.minutes)?;
        let short = matches!(minutes, Draw::Fixed(m) | Draw::Range(m, _) if m < 1);
        ensure(
            !short,
            format!("{key}.minutes"),
            "an incident lasts at least a minute",
        )?;
        let count = r
            .count
            .map(|c| range(&format!("{key}.count"), c))
            .transpose()?;
        let mut accounts: Vec<usize> = places.iter().map(|p| p.account).collect();
        accounts.dedup();
        let actor = r
            .actor
            .as_ref()
            .map(|a| self.key_everywhere(&format!("{key}.actor"), a, &accounts))
            .transpose()?;
        let even = match r.layout.as_deref() {
            None => false,
            Some("even") => true,
            Some(other) => {
                return Err(bad(
                    format!("{key}.layout"),
                    format!("{other:?}: only \"even\""),
                ))
            }
        };
        let mut scope = Scope {
            window: true,
            count: count.is_some() || place_counts > 0,
            abroad: places.iter().any(|p| p.region != 0),
            even,
            marks: vec!["start".into(), "end".into()],
            names: Vec::new(),
            accounts: &accounts,
        };
        let (effect, label_actor, thin_api) = match (&r.steps, &r.thin, &r.skip) {
            (Some(steps), None, None) => {
                ensure(
                    actor.is_some(),
                    key,
                    "an incident with steps needs an actor",
                )?;
                (
                    Effect::Steps(self.program(&format!("{key}.steps"), steps, &mut scope)?),
                    actor,
                    None,
                )
            }
            (None, Some(t), None) => {
                let tk = format!("{key}.thin");
                let a = self.key_everywhere(&tk, &t.actor, &accounts)?;
                let api = self.api(&tk, &t.api)?;
                (
                    Effect::Thin {
                        actor: a,
                        api,
                        keep: share(&tk, t.keep)?,
                    },
                    Some(a),
                    Some(api),
                )
            }
            (None, None, Some(name)) => {
                let s = schedules
                    .iter()
                    .position(|s| &s.name == name)
                    .ok_or_else(|| {
                        bad(format!("{key}.skip"), format!("unknown schedule {name:?}"))
                    })?;
                (Effect::Skip(s), schedules[s].actors.first().copied(), None)
            }
            _ => return Err(bad(key, "needs exactly one of steps, thin and skip")),
        };
        let empty = Program {
            steps: Vec::new(),
            marks: 0,
            names: 0,
        };
        let program = match &effect {
            Effect::Steps(p) => p,
            _ => &empty,
        };
        let label = self.label(
            &format!("{key}.label"),
            &r.label,
            label_actor,
            program,
            thin_api,
            &accounts,
        )?;
        Ok(Recipe {
            places,
            start,
            minutes,
            count,
            actor,
            even,
            effect,
            label,
        })
    }

    fn label(
        &self,
        key: &str,
        l: &RawLabel,
        actor: Option<Key>,
        program: &Program,
        extra_api: Option<usize>,
        accounts: &[usize],
    ) -> Result<LabelDef, WorldError> {
        let apis = match &l.apis {
            Some(v) => v
                .iter()
                .map(|a| self.api(&format!("{key}.apis"), a))
                .collect::<Result<Vec<_>, _>>()?,
            None => {
                let mut v = Vec::new();
                called(&program.steps, &mut v);
                v.extend(extra_api.filter(|a| !v.contains(a)));
                v
            }
        };
        let api = match &l.api {
            Some(a) => self.api(&format!("{key}.api"), a)?,
            None => *apis.first().ok_or_else(|| bad(key, "a label needs apis"))?,
        };
        let actor = match &l.actor {
            Some(a) => self.key_everywhere(&format!("{key}.actor"), a, accounts)?,
            None => actor.ok_or_else(|| bad(key, "a label needs an actor"))?,
        };
        Ok(LabelDef {
            kind: l.kind.clone(),
            api,
            apis,
            actor,
            description: l.description.clone(),
            family: l.family.clone(),
        })
    }

    fn program(
        &self,
        key: &str,
        steps: &[RawStep],
        scope: &mut Scope<'_>,
    ) -> Result<Program, WorldError> {
        let steps = self.steps(key, steps, scope, false)?;
        Ok(Program {
            steps,
            marks: scope.marks.len(),
            names: scope.names.len(),
        })
    }

    fn steps(
        &self,
        key: &str,
        steps: &[RawStep],
        scope: &mut Scope<'_>,
        in_repeat: bool,
    ) -> Result<Vec<Step>, WorldError> {
        steps
            .iter()
            .enumerate()
            .map(|(i, s)| self.step(&format!("{key}[{i}]"), s, scope, in_repeat))
            .collect()
    }

    fn mark_ref(&self, key: &str, name: &str, scope: &Scope<'_>) -> Result<usize, WorldError> {
        ensure(
            name != "end" || scope.window,
            key,
            "\"end\": the run has no window",
        )?;
        let slot = scope.marks.iter().position(|m| m == name);
        slot.ok_or_else(|| bad(key, format!("mark {name:?} is not set by an earlier step")))
    }

    fn new_mark(key: &str, name: &str, scope: &mut Scope<'_>) -> Result<usize, WorldError> {
        ensure(
            !scope.marks.iter().any(|m| m == name),
            key,
            "a mark set twice",
        )?;
        scope.marks.push(name.to_string());
        Ok(scope.marks.len() - 1)
    }

    /// An API list for pick/either: global APIs are fine there (left out abroad).
    fn api_list(&self, key: &str, list: &[String]) -> Result<Vec<usize>, WorldError> {
        ensure(!list.is_empty(), key, "an empty API list")?;
        list.iter().map(|a| self.api(key, a)).collect()
    }

    /// A single call's API: a global one only where the run stays in the home region.
    fn single(&self, key: &str, id: &str, scope: &Scope<'_>) -> Result<usize, WorldError> {
        let api = self.api(key, id)?;
        let home = !scope.abroad || !self.apis[api].global;
        ensure(
            home,
            key,
            "a global API outside the home region (pick and either drop it)",
        )?;
        Ok(api)
    }

    fn step(
        &self,
        key: &str,
        s: &RawStep,
        scope: &mut Scope<'_>,
        in_repeat: bool,
    ) -> Result<Step, WorldError> {
        let kinds = [s.call.is_some(), s.calls.is_some(), s.pick.is_some()];
        let kinds =
            kinds
                .into_iter()
                .chain([s.either.is_some(), s.steps.is_some(), s.halfway.is_some()]);
        let one = kinds.filter(|&k| k).count() == 1;
        ensure(
            one,
            key,
            "needs one of call, calls, pick, either, steps and halfway",
        )?;
        let field = |f: &str| format!("{key}.{f}");
        let repeat = match &s.repeat {
            None => Repeat::Once,
            Some(RawRepeat::Fixed(n)) => Repeat::Times(Draw::Fixed(*n)),
            Some(RawRepeat::Range([lo, hi])) if lo <= hi => Repeat::Times(Draw::Range(*lo, *hi)),
            Some(RawRepeat::Word(w)) if w == "count" && scope.count => Repeat::Count,
            Some(_) => {
                return Err(bad(
                    field("repeat"),
                    "N, [lo, hi] or \"count\" (with a count)",
                ))
            }
        };
        let repeats = repeat != Repeat::Once;
        let until_end = s.until.is_some();
        ensure(
            s.until.as_deref().is_none_or(|u| u == "end"),
            field("until"),
            "only \"end\"",
        )?;
        ensure(
            !until_end || scope.window,
            field("until"),
            "the run has no window",
        )?;
        let every = match s.every {
            None => Draw::Fixed(0),
            Some(e) => range(&field("every"), e)?,
        };
        let positive = matches!(every, Draw::Fixed(e) | Draw::Range(e, _) if e > 0);
        ensure(
            !until_end || positive,
            field("every"),
            "a poll (until) needs a positive every",
        )?;
        let drawn = matches!(every, Draw::Range(..));
        ensure(
            !(until_end && repeats) && (until_end || !drawn),
            key,
            "until excludes repeat; a drawn every is for until",
        )?;
        ensure(
            !matches!(every, Draw::Fixed(e) if e < 0),
            field("every"),
            "a negative every",
        )?;
        let at = match &s.at {
            None => (None, 0),
            Some(NumOrWord::Num(n)) => (None, *n),
            Some(NumOrWord::Word(w)) => {
                let (name, off) = match w.find(['+', '-']) {
                    None => (w.as_str(), 0),
                    Some(i) => {
                        let off: Option<i64> = w[i + 1..].parse().ok();
                        let off = off.ok_or_else(|| bad(field("at"), "mark, mark+N or mark-N"))?;
                        (&w[..i], if w.as_bytes()[i] == b'-' { -off } else { off })
                    }
                };
                (Some(self.mark_ref(&field("at"), name, scope)?), off)
            }
        };
        let jitter = match &s.jitter {
            None => Jitter::None,
            Some(NumOrWord::Num(n)) if *n > 0 => Jitter::Secs(*n),
            Some(NumOrWord::Word(w)) if w == "window" && scope.window => Jitter::Window,
            Some(_) => return Err(bad(field("jitter"), "N > 0, or \"window\" (with a window)")),
        };
        let spread = s.spread.unwrap_or(0);
        ensure(
            spread >= 0 && (spread == 0 || s.calls.is_some()),
            field("spread"),
            "N > 0, with calls",
        )?;
        let single_call = s.call.is_some() || s.pick.is_some() || s.either.is_some();
        ensure(
            s.error.is_none() || single_call,
            field("error"),
            "errors are for call, pick and either",
        )?;
        let error = match &s.error {
            None => None,
            Some(e) => Some((share(&field("error"), e.share)?, e.kind)),
        };
        let actor = s.actor.as_ref();
        let actor = actor
            .map(|a| self.key_everywhere(&field("actor"), a, scope.accounts))
            .transpose()?;
        ensure(
            s.var.is_none() || s.steps.is_none(),
            field("var"),
            "var is for calls, not a sequence",
        )?;
        let var = match &s.var {
            None => Var::Fixed(0),
            Some(NumOrWord::Num(n)) => Var::Fixed(*n),
            Some(NumOrWord::Word(w)) => {
                let (name, off) = w.split_once('+').unwrap_or((w, "0"));
                let off = off
                    .parse()
                    .map_err(|_| bad(field("var"), "N, index+N or NAME+N"))?;
                if name == "index" {
                    ensure(
                        repeats || in_repeat,
                        field("var"),
                        "\"index\" outside a repeat",
                    )?;
                    Var::Index(off)
                } else {
                    let slot = scope.names.iter().position(|n| n == name);
                    Var::Pick(
                        slot.ok_or_else(|| bad(field("var"), format!("no repeat named {name:?}")))?,
                        off,
                    )
                }
            }
        };
        let offsets = s
            .calls
            .as_ref()
            .is_some_and(|c| c.iter().any(|(o, _)| *o != 0));
        let timed =
            s.at.is_some() || s.jitter.is_some() || s.every.is_some() || until_end || offsets;
        let nested =
            s.mark.is_some() || s.next.is_some() || s.halfway.is_some() || s.steps.is_some();
        ensure(
            !scope.even || !(timed || nested),
            key,
            "an even layout times the calls itself",
        )?;
        let what = if let Some(a) = &s.call {
            What::Call(self.single(&field("call"), a, scope)?)
        } else if let Some(calls) = &s.calls {
            ensure(!calls.is_empty(), field("calls"), "no calls")?;
            let v = calls
                .iter()
                .map(|(off, a)| Ok((*off, self.single(&field("calls"), a, scope)?)));
            What::Calls(v.collect::<Result<_, WorldError>>()?)
        } else if let Some(p) = &s.pick {
            What::Pick(self.api_list(&field("pick"), p)?)
        } else if let Some(e) = &s.either {
            What::Either {
                share: share(&field("either"), e.share)?,
                first: self.api_list(&field("either.first"), &e.first)?,
                second: self.api_list(&field("either.second"), &e.second)?,
            }
        } else if let Some(inner) = &s.steps {
            What::Steps(self.steps(&field("steps"), inner, scope, in_repeat || repeats)?)
        } else {
            let [x, y] = s.halfway.as_ref().expect("one of the kinds");
            ensure(
                s.mark.is_some() && !repeats && !until_end,
                key,
                "halfway sets a mark, once",
            )?;
            let x = self.mark_ref(&field("halfway"), x, scope)?;
            What::Halfway(x, self.mark_ref(&field("halfway"), y, scope)?)
        };
        ensure(
            !until_end || (s.mark.is_none() && s.next.is_none()),
            key,
            "a poll sets no marks",
        )?;
        ensure(
            s.next.is_none() || repeats,
            field("next"),
            "next follows a repeat",
        )?;
        ensure(
            s.name.is_none() || repeats,
            field("name"),
            "only a repeat has a name",
        )?;
        let mark = s
            .mark
            .as_ref()
            .map(|m| Self::new_mark(&field("mark"), m, scope))
            .transpose()?;
        let next = s
            .next
            .as_ref()
            .map(|m| Self::new_mark(&field("next"), m, scope))
            .transpose()?;
        let name = match &s.name {
            None => None,
            Some(n) => {
                ensure(!scope.names.contains(n), field("name"), "a name used twice")?;
                scope.names.push(n.clone());
                Some(scope.names.len() - 1)
            }
        };
        Ok(Step {
            what,
            actor,
            at,
            jitter,
            spread,
            repeat,
            every,
            until_end,
            var,
            error,
            mark,
            next,
            name,
        })
    }
}

/// The APIs `steps` can call, in order of first appearance.
fn called(steps: &[Step], out: &mut Vec<usize>) {
    for s in steps {
        let apis: Vec<usize> = match &s.what {
            What::Call(a) => vec![*a],
            What::Calls(v) => v.iter().map(|&(_, a)| a).collect(),
            What::Pick(v) => v.clone(),
            What::Either { first, second, .. } => first.iter().chain(second).copied().collect(),
            What::Steps(inner) => {
                called(inner, out);
                Vec::new()
            }
            What::Halfway(..) => Vec::new(),
        };
        for a in apis {
            if !out.contains(&a) {
                out.push(a);
            }
        }
    }
}
