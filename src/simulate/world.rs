//! The simulated world as data: `world.toml` (its format is documented at the top of that
//! file) read by [`load`] into these resolved tables — every actor, API, profile, schedule
//! and mark reference checked and turned into an index — that the generator in `model.rs`
//! runs.

mod load;

use std::sync::LazyLock;

use chrono::Weekday;
use serde::Deserialize;

const WORLD_TOML: &str = include_str!("world.toml");
const JUDGE_TOML: &str = include_str!("judge.toml");

/// Why a world file was refused: the key (a path into the file) and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{key}: {message}")]
pub(super) struct WorldError {
    pub(super) key: String,
    pub(super) message: String,
}

// ---------------------------------------------------------------- the resolved world

/// One AWS account of the organisation.
pub(super) struct Account {
    pub(super) id: String,
    pub(super) alias: String,
    /// Delivered under `AWSLogs/<organization id>/<account>/` like an organization trail.
    pub(super) org: bool,
    /// Share of the split background per region.
    pub(super) traffic: Vec<f64>,
}

/// How CloudTrail classifies a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Cat {
    /// Management API call (`AwsApiCall`).
    Mgmt,
    /// Data event (S3 object / Lambda invoke).
    Data,
    /// `AwsConsoleSignIn`.
    SignIn,
    /// `AwsServiceEvent`.
    Service,
}

/// One API of the catalogue.
#[derive(Debug)]
pub(super) struct Api {
    pub(super) source: String,
    pub(super) name: String,
    pub(super) read_only: bool,
    pub(super) cat: Cat,
    /// A global service's API: recorded in the home region only.
    pub(super) global: bool,
}

impl Api {
    /// Service prefix as used in IAM actions and host names (`ec2`, `kms`, ...).
    pub(super) fn service(&self) -> &str {
        self.source.split('.').next().unwrap_or(&self.source)
    }
}

/// Who made a call, as CloudTrail's `userIdentity` shows it.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub(super) enum Ident {
    /// `AssumedRole`; `path` is the role path (`aws-reserved/sso.amazonaws.com/`).
    Role {
        name: String,
        session: String,
        #[serde(default)]
        path: String,
        invoked_by: Option<String>,
        #[serde(default)]
        mfa: bool,
    },
    /// `IAMUser` with a long-term access key (or a console session).
    User { name: String },
    /// The account root user.
    Root,
    /// `AWSService` acting on its own.
    Service { invoked_by: String },
    /// `WebIdentityUser` calling `AssumeRoleWithWebIdentity`.
    WebIdentity {
        provider: String,
        sub: String,
        aud: String,
    },
}

/// A principal in one account plus the network context its calls come from.
pub(super) struct Actor {
    pub(super) account: usize,
    pub(super) ident: Ident,
    pub(super) ips: Vec<String>,
    pub(super) uas: Vec<String>,
    /// Calls come from the console (`sessionCredentialFromConsole`).
    pub(super) console: bool,
    /// The ARN a detector groups by: the role ARN for assumed roles.
    pub(super) principal: String,
    /// Stable hash used to derive principal ids and access keys.
    pub(super) hash: u64,
}

/// An actor key (`monitor`, `ci`, ...), resolved per account with [`World::actor`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Key(u16);

/// Failure kinds; rendered to the service's own error code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(super) enum ErrKind {
    Denied,
    Throttled,
    NotFound,
    Capacity,
}

/// Hour-of-day / weekday factor of a stream's rate.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(tag = "form", rename_all = "snake_case", deny_unknown_fields)]
pub(super) enum Profile {
    /// `level + swing·cos(phase)`, times `weekend_factor` on weekends.
    Cosine {
        peak_hour: f64,
        level: f64,
        swing: f64,
        #[serde(default = "one")]
        weekend_factor: f64,
    },
    /// `floor + swing·(½ + ½cos(phase))`, times `weekend_factor` on weekends.
    RaisedCosine {
        peak_hour: f64,
        floor: f64,
        swing: f64,
        #[serde(default = "one")]
        weekend_factor: f64,
    },
    /// `inside` from `from` to `to` o'clock on weekdays, else `outside`; `weekend` all day.
    OfficeHours {
        from: u32,
        to: u32,
        inside: f64,
        outside: f64,
        weekend: f64,
    },
}

fn one() -> f64 {
    1.0
}

/// A share of calls that fail, each with a kind drawn uniformly from `kinds`.
#[derive(Debug, Clone)]
pub(super) struct Errors {
    pub(super) share: f64,
    pub(super) kinds: Vec<ErrKind>,
}

/// One rate-driven background call of a stream.
pub(super) struct StreamCall {
    pub(super) api: usize,
    pub(super) per_hour: f64,
    pub(super) profile: usize,
    pub(super) gamma_shape: f64,
    pub(super) errors: Errors,
    /// The stream's actors that make this call.
    pub(super) actors: Vec<Key>,
}

/// A family of background streams.
pub(super) struct Stream {
    pub(super) actors: Vec<Key>,
    pub(super) accounts: Vec<bool>,
    pub(super) split_by_traffic: bool,
    pub(super) region_factor: Vec<f64>,
    pub(super) calls: Vec<StreamCall>,
}

/// Which days a schedule runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Days {
    Daily,
    Workdays,
    On(Weekday),
}

/// A number, fixed or drawn uniformly from an inclusive range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Draw<T> {
    Fixed(T),
    Range(T, T),
}

/// When a schedule's runs happen on a day it runs.
pub(super) enum When {
    /// Once, at `at` seconds after midnight; `minutes` gives the run a window.
    At { at: i64, minutes: Option<i64> },
    /// Runs drawn from the schedule's own random stream.
    Occurs {
        rng_tag: u64,
        per_account: bool,
        times: Draw<u32>,
        /// Start range in seconds after midnight, `[from, to)`.
        start: (i64, i64),
        minutes: (i64, i64),
        count: Option<(u32, u32)>,
    },
}

/// A recurring job.
pub(super) struct Schedule {
    pub(super) name: String,
    pub(super) actors: Vec<Key>,
    pub(super) accounts: Vec<bool>,
    pub(super) regions: Vec<usize>,
    pub(super) days: Days,
    pub(super) when: When,
    /// The run's count per account.
    pub(super) count: Vec<u32>,
    pub(super) program: Program,
    pub(super) decoy: Option<LabelDef>,
}

/// A label's fixed parts.
pub(super) struct LabelDef {
    pub(super) kind: String,
    pub(super) api: usize,
    /// Global APIs are left out where the run is outside the home region.
    pub(super) apis: Vec<usize>,
    pub(super) actor: Key,
    /// `{count}`, `{minutes}`, `{account}`, `{region}` and `{ip}` are filled in.
    pub(super) description: String,
    /// The scenario family a decoy belongs to, for per-family precision.
    pub(super) family: Option<String>,
}

/// Where an incident may happen.
pub(super) struct Place {
    pub(super) account: usize,
    pub(super) region: usize,
    pub(super) count: Option<u32>,
}

/// What an incident does.
pub(super) enum Effect {
    Steps(Program),
    /// Only `keep` of `actor`'s `api` stream is kept in the window.
    Thin {
        actor: Key,
        api: usize,
        keep: f64,
    },
    /// The schedule does not run in the incident's unit.
    Skip(usize),
}

/// An incident recipe.
pub(super) struct Recipe {
    pub(super) places: Vec<Place>,
    /// Start minute after midnight: fixed or drawn from `[from, to)`.
    pub(super) start: Draw<i64>,
    pub(super) minutes: Draw<i64>,
    pub(super) count: Option<Draw<u32>>,
    pub(super) actor: Option<Key>,
    /// Calls laid out one per equal slot of the window, in order.
    pub(super) even: bool,
    pub(super) effect: Effect,
    pub(super) label: LabelDef,
}

/// Steps with their marks resolved: `marks` is how many mark slots a run needs.
pub(super) struct Program {
    pub(super) steps: Vec<Step>,
    pub(super) marks: usize,
    pub(super) names: usize,
}

/// Mark slots every run has.
pub(super) const MARK_START: usize = 0;
pub(super) const MARK_END: usize = 1;

/// One step of a program (see world.toml's "Steps").
pub(super) struct Step {
    pub(super) what: What,
    pub(super) actor: Option<Key>,
    /// Mark slot (`None`: the base time) and seconds after it.
    pub(super) at: (Option<usize>, i64),
    pub(super) jitter: Jitter,
    pub(super) spread: i64,
    pub(super) repeat: Repeat,
    pub(super) every: Draw<i64>,
    pub(super) until_end: bool,
    pub(super) var: Var,
    pub(super) error: Option<(f64, ErrKind)>,
    pub(super) mark: Option<usize>,
    pub(super) next: Option<usize>,
    pub(super) name: Option<usize>,
}

pub(super) enum What {
    Call(usize),
    Calls(Vec<(i64, usize)>),
    Pick(Vec<usize>),
    Either {
        share: f64,
        first: Vec<usize>,
        second: Vec<usize>,
    },
    Steps(Vec<Step>),
    /// Sets `mark` half-way between two marks.
    Halfway(usize, usize),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Jitter {
    None,
    Secs(i64),
    Window,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Repeat {
    Once,
    Times(Draw<u32>),
    Count,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Var {
    Fixed(u32),
    /// The enclosing repeat's iteration plus an offset.
    Index(u32),
    /// One iteration of the named repeat (slot), drawn, plus an offset.
    Pick(usize, u32),
}

/// The organisation and everything it does.
pub(super) struct World {
    pub(super) regions: Vec<String>,
    pub(super) organization_id: String,
    pub(super) volume: f64,
    pub(super) sign_in_user_agent: String,
    pub(super) accounts: Vec<Account>,
    pub(super) apis: Vec<Api>,
    pub(super) actors: Vec<Actor>,
    /// `[key][account]`: the actor of that key in that account.
    by_key: Vec<Vec<Option<u16>>>,
    pub(super) profiles: Vec<Profile>,
    pub(super) streams: Vec<Stream>,
    pub(super) schedules: Vec<Schedule>,
    pub(super) incidents: Vec<Recipe>,
    pub(super) decoy_order: Vec<Vec<usize>>,
}

impl World {
    /// The default shipped world (`world.toml`, compiled in), parsed once.
    #[cfg(test)]
    pub(super) fn builtin() -> &'static World {
        World::shipped(super::WorldName::Default)
    }

    /// A shipped world (compiled in), parsed once.
    pub(super) fn shipped(name: super::WorldName) -> &'static World {
        static DEFAULT: LazyLock<World> = LazyLock::new(|| {
            World::from_toml(WORLD_TOML)
                .unwrap_or_else(|e| unreachable!("src/simulate/world.toml is tested: {e}"))
        });
        static JUDGE: LazyLock<World> = LazyLock::new(|| {
            World::from_toml(JUDGE_TOML)
                .unwrap_or_else(|e| unreachable!("src/simulate/judge.toml is tested: {e}"))
        });
        match name {
            super::WorldName::Default => &DEFAULT,
            super::WorldName::Judge => &JUDGE,
        }
    }

    /// Reads and checks a world file.
    pub(super) fn from_toml(text: &str) -> Result<World, WorldError> {
        load::parse(text)
    }

    /// The actor of `key` in `account`, if it exists there.
    pub(super) fn actor(&self, key: Key, account: usize) -> Option<u16> {
        self.by_key[usize::from(key.0)][account]
    }
}
