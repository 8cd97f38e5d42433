//! The generator's mechanics over the world of `world.toml`: random streams derived from the
//! seed, gamma-Poisson background, schedules and incidents run step by step, the incident
//! plan, and the labels.
//!
//! Every random choice is drawn from an RNG derived from the seed and the unit (day, account,
//! region) or incident it belongs to, so the output does not depend on which rayon thread
//! generates which unit. The widths of the draws (64-bit for times and spaced series, 32-bit for
//! counts and picks) are part of the output: changing one changes every trail.

use chrono::{Datelike, NaiveDate, Weekday};
use rand::rngs::SmallRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, Gamma, Poisson};
use xxhash_rust::xxh3::xxh3_64_with_seed;

use super::world::{
    Days, Draw, Effect, ErrKind, Jitter, Key, LabelDef, Profile, Program, Repeat, Schedule, Step,
    Var, What, When, World, MARK_END, MARK_START,
};
use super::{Label, SimConfig};

/// A call, kept small until it is rendered; the rendering is a pure function of
/// the event (its `seed` drives ids and parameters), so a duplicate delivery
/// re-renders to identical bytes.
pub(super) struct Event {
    /// Unix seconds.
    pub(super) t: i64,
    pub(super) actor: u16,
    /// Index into [`World::apis`].
    pub(super) api: u16,
    pub(super) err: Option<ErrKind>,
    /// API-specific variant: volume / user index, 1 = GPU instance types, ...
    pub(super) var: u32,
    pub(super) seed: u64,
}

/// Seed for an RNG identified by `parts` (day, account, region, tag ...).
pub(super) fn mix(seed: u64, parts: &[u64]) -> u64 {
    let mut bytes = Vec::with_capacity(parts.len() * 8);
    for p in parts {
        bytes.extend_from_slice(&p.to_le_bytes());
    }
    xxh3_64_with_seed(&bytes, seed)
}

// Random-stream tags; schedules that draw their runs bring their own (world.toml `rng_tag`).
const TAG_BG: u64 = 1;
const TAG_PLAN: u64 = 2;
pub(super) const TAG_DELIVERY: u64 = 5;
const TAG_INCIDENT: u64 = 6;
/// The tags above: a schedule's `rng_tag` must be none of them.
pub(super) const RESERVED_RNG_TAGS: [u64; 4] = [TAG_BG, TAG_PLAN, TAG_DELIVERY, TAG_INCIDENT];

/// Unix seconds of midnight UTC of simulation day `day`.
pub(super) fn day_start(cfg: &SimConfig, day: u32) -> i64 {
    let d = cfg.start + chrono::Days::new(u64::from(day));
    d.and_hms_opt(0, 0, 0)
        .expect("midnight exists")
        .and_utc()
        .timestamp()
}

fn weekday(start: NaiveDate, day: u32) -> Weekday {
    (start + chrono::Days::new(u64::from(day))).weekday()
}

fn is_workday(w: Weekday) -> bool {
    !matches!(w, Weekday::Sat | Weekday::Sun)
}

fn runs_on(days: Days, wd: Weekday) -> bool {
    match days {
        Days::Daily => true,
        Days::Workdays => is_workday(wd),
        Days::On(d) => d == wd,
    }
}

/// Days at the end of the simulation where incidents and decoys are labelled.
pub(super) fn eval_days(days: u32) -> u32 {
    if days >= 14 {
        7
    } else {
        days.div_ceil(3).max(1)
    }
}

// ---------------------------------------------------------------- background

fn profile(p: &Profile, hour: u32, wd: Weekday) -> f64 {
    let phase = |peak: f64| (f64::from(hour) + 0.5 - peak) / 24.0 * std::f64::consts::TAU;
    let weekend = |factor: f64| if is_workday(wd) { 1.0 } else { factor };
    match *p {
        Profile::Cosine {
            peak_hour,
            level,
            swing,
            weekend_factor,
        } => weekend(weekend_factor) * (level + swing * phase(peak_hour).cos()),
        Profile::RaisedCosine {
            peak_hour,
            floor,
            swing,
            weekend_factor,
        } => weekend(weekend_factor) * (floor + swing * (0.5 + 0.5 * phase(peak_hour).cos())),
        Profile::OfficeHours {
            from,
            to,
            inside,
            outside,
            weekend,
        } => {
            if !is_workday(wd) {
                weekend
            } else if (from..to).contains(&hour) {
                inside
            } else {
                outside
            }
        }
    }
}

/// A rate-driven background stream of one principal calling one API in one unit.
struct Stream<'w> {
    actor: u16,
    key: Key,
    api: usize,
    /// Calls per hour at scale 1 and profile factor 1.
    per_hour: f64,
    profile: &'w Profile,
    /// Gamma shape of the per-hour multiplier: lower = burstier.
    shape: f64,
    err: f64,
    errs: &'w [ErrKind],
}

/// The background streams of (account `a`, region `r`), in the order they draw.
fn streams(w: &World, a: usize, r: usize) -> Vec<Stream<'_>> {
    let mut v = Vec::new();
    let traffic = w.accounts[a].traffic[r] * w.volume;
    for s in w.streams.iter().filter(|s| s.accounts[a]) {
        for &key in &s.actors {
            let Some(actor) = w.actor(key, a) else {
                continue;
            };
            for c in &s.calls {
                if !c.actors.contains(&key) || (r != 0 && w.apis[c.api].global) {
                    continue;
                }
                let mut per_hour = c.per_hour * s.region_factor[r];
                if s.split_by_traffic {
                    per_hour *= traffic;
                }
                v.push(Stream {
                    actor,
                    key,
                    api: c.api,
                    per_hour,
                    profile: &w.profiles[c.profile],
                    shape: c.gamma_shape,
                    err: c.errors.share,
                    errs: &c.errors.kinds,
                });
            }
        }
    }
    v
}

struct Gen {
    rng: SmallRng,
    events: Vec<Event>,
}

impl Gen {
    fn push(&mut self, t: i64, actor: u16, api: usize, err: Option<ErrKind>, var: u32) {
        let seed = self.rng.random();
        self.events.push(Event {
            t,
            actor,
            api: api as u16,
            err,
            var,
            seed,
        });
    }
}

/// All events of one (day, account, region), in time order.
pub(super) fn generate(
    cfg: &SimConfig,
    w: &World,
    plan: &Plan,
    day: u32,
    a: usize,
    r: usize,
) -> Vec<Event> {
    let rng = SmallRng::seed_from_u64(mix(cfg.seed, &[TAG_BG, u64::from(day), a as u64, r as u64]));
    let mut g = Gen {
        rng,
        events: Vec::new(),
    };
    let d0 = day_start(cfg, day);
    let wd = weekday(cfg.start, day);
    background(&mut g, cfg, w, plan, day, a, r, d0, wd);
    for (s, schedule) in w.schedules.iter().enumerate() {
        if !plan.skipped_in(w, s, day, a, r) {
            jobs(&mut g, cfg, w, schedule, day, a, r);
        }
    }
    for inc in plan
        .incidents
        .iter()
        .filter(|i| i.day == day && i.account == a && i.region == r)
    {
        if let Effect::Steps(program) = &w.incidents[inc.recipe].effect {
            inject(&mut g, w, inc, program);
        }
    }
    // Stable: ties keep generation order, which is itself deterministic.
    g.events.sort_by_key(|e| e.t);
    g.events
}

#[allow(clippy::too_many_arguments)]
fn background(
    g: &mut Gen,
    cfg: &SimConfig,
    w: &World,
    plan: &Plan,
    day: u32,
    a: usize,
    r: usize,
    d0: i64,
    wd: Weekday,
) {
    for s in streams(w, a, r) {
        let gamma = Gamma::new(s.shape, 1.0 / s.shape).expect("valid gamma");
        let thinned = plan.thinned(w, day, a, r, s.key, s.api);
        for hour in 0..24u32 {
            let mult: f64 = gamma.sample(&mut g.rng);
            let lam = s.per_hour * profile(s.profile, hour, wd) * cfg.scale * mult;
            if !(lam > 0.0 && lam.is_finite()) {
                continue;
            }
            // The rate is constant within the hour, so one Poisson count spread
            // uniformly over the hour equals per-minute Poisson draws.
            let n = Poisson::new(lam)
                .expect("positive finite rate")
                .sample(&mut g.rng) as u64;
            let h0 = d0 + i64::from(hour) * 3600;
            for _ in 0..n {
                let t = h0 + g.rng.random_range(0..3600);
                // An incident keeps only a share of the stream in its window.
                if thinned
                    .is_some_and(|(s0, s1, keep)| t >= s0 && t < s1 && !g.rng.random_bool(keep))
                {
                    continue;
                }
                let err = (s.err > 0.0 && g.rng.random_bool(s.err))
                    .then(|| s.errs[g.rng.random_range(0..s.errs.len())]);
                g.push(t, s.actor, s.api, err, 0);
            }
        }
    }
}

// ---------------------------------------------------------------- schedules

/// One run of a schedule: absolute start, end of its window if it has one, and its count.
#[derive(Debug, Clone, Copy)]
struct RunTime {
    start: i64,
    end: Option<i64>,
    count: u32,
}

/// The runs of schedule `s` on `day` in account `a` (the days filter is the caller's).
/// Drawn runs come from the schedule's own RNG, so the generator and the decoy labels agree.
fn runs(cfg: &SimConfig, s: &Schedule, day: u32, a: usize) -> Vec<RunTime> {
    let d0 = day_start(cfg, day);
    match s.when {
        When::At { at, minutes } => vec![RunTime {
            start: d0 + at,
            end: minutes.map(|m| d0 + at + m * 60),
            count: s.count[a],
        }],
        When::Occurs {
            rng_tag,
            per_account,
            times,
            start,
            minutes,
            count,
        } => {
            let parts = [rng_tag, u64::from(day), a as u64];
            let parts = if per_account { &parts[..] } else { &parts[..2] };
            let mut rng = SmallRng::seed_from_u64(mix(cfg.seed, parts));
            let n = match times {
                Draw::Fixed(n) => n,
                Draw::Range(lo, hi) => rng.random_range(lo..=hi),
            };
            let mut v: Vec<(i64, i64, u32)> = (0..n)
                .map(|_| {
                    let off = rng.random_range(start.0..start.1);
                    let mins = rng.random_range(minutes.0..=minutes.1);
                    let c = count.map_or(s.count[a], |(lo, hi)| rng.random_range(lo..=hi));
                    (off, mins, c)
                })
                .collect();
            v.sort_unstable();
            v.into_iter()
                .map(|(off, mins, count)| RunTime {
                    start: d0 + off,
                    end: Some(d0 + off + mins * 60),
                    count,
                })
                .collect()
        }
    }
}

/// Scheduled activity of one schedule in one unit, at natural counts (not scaled).
fn jobs(g: &mut Gen, cfg: &SimConfig, w: &World, s: &Schedule, day: u32, a: usize, r: usize) {
    if !s.accounts[a] || !s.regions.contains(&r) || !runs_on(s.days, weekday(cfg.start, day)) {
        return;
    }
    for &key in &s.actors {
        let Some(actor) = w.actor(key, a) else {
            continue;
        };
        for run in runs(cfg, s, day, a) {
            let mut x = Runner::new(w, &s.program, a, r, actor, run, None);
            x.steps(g, &s.program.steps, run.start, None);
        }
    }
}

/// A call of an even layout before it is timed: actor, API, error, var.
type Pending = (u16, usize, Option<ErrKind>, u32);

/// Executes a program (see world.toml's "Steps") for one run.
struct Runner<'w> {
    w: &'w World,
    a: usize,
    r: usize,
    actor: u16,
    run: RunTime,
    marks: Vec<i64>,
    /// Iterations of each named repeat.
    names: Vec<u32>,
    /// An incident draws from its own RNG (its content does not depend on the background);
    /// a schedule from the unit's.
    own: Option<SmallRng>,
    /// Calls of an even layout, timed at the end.
    pending: Option<Vec<Pending>>,
}

impl<'w> Runner<'w> {
    fn new(
        w: &'w World,
        p: &Program,
        a: usize,
        r: usize,
        actor: u16,
        run: RunTime,
        own: Option<SmallRng>,
    ) -> Runner<'w> {
        let mut marks = vec![0; p.marks.max(2)];
        marks[MARK_START] = run.start;
        marks[MARK_END] = run.end.unwrap_or(run.start);
        Runner {
            w,
            a,
            r,
            actor,
            run,
            marks,
            names: vec![0; p.names],
            own,
            pending: None,
        }
    }

    fn rng<'g>(&'g mut self, g: &'g mut Gen) -> &'g mut SmallRng {
        self.own.as_mut().unwrap_or(&mut g.rng)
    }

    /// A run's calls never fall after its window.
    fn clamp(&self, t: i64) -> i64 {
        self.run.end.map_or(t, |e| t.min(e - 1))
    }

    /// One uniformly of `apis`, global ones left out outside the home region.
    fn pick(&mut self, g: &mut Gen, apis: &[usize]) -> Option<usize> {
        let here: Vec<usize> = (apis.iter().copied())
            .filter(|&x| self.r == 0 || !self.w.apis[x].global)
            .collect();
        match here.len() {
            0 => None,
            1 => Some(here[0]),
            n => Some(here[self.rng(g).random_range(0..n)]),
        }
    }

    fn push(
        &mut self,
        g: &mut Gen,
        t: i64,
        actor: u16,
        api: usize,
        err: Option<ErrKind>,
        var: u32,
    ) {
        match &mut self.pending {
            Some(p) => p.push((actor, api, err, var)),
            None => g.push(t, actor, api, err, var),
        }
    }

    fn steps(&mut self, g: &mut Gen, steps: &[Step], base: i64, index: Option<u32>) {
        for s in steps {
            self.step(g, s, base, index);
        }
    }

    fn step(&mut self, g: &mut Gen, s: &Step, base: i64, index: Option<u32>) {
        let at = s.at.0.map_or(base, |m| self.marks[m]) + s.at.1;
        if let What::Halfway(x, y) = s.what {
            if let Some(m) = s.mark {
                self.marks[m] = (self.marks[x] + self.marks[y]) / 2;
            }
            return;
        }
        if s.until_end {
            let end = self.run.end.unwrap_or(at);
            let mut t = at;
            while t < end {
                self.iteration(g, s, t, index);
                t += match s.every {
                    Draw::Fixed(e) => e,
                    Draw::Range(lo, hi) => self.rng(g).random_range(lo..=hi),
                };
            }
            return;
        }
        let every = match s.every {
            Draw::Fixed(e) => e,
            Draw::Range(..) => 0,
        };
        let n = match s.repeat {
            Repeat::Once => 1,
            Repeat::Count => self.run.count,
            Repeat::Times(Draw::Fixed(n)) => n,
            // A spaced series draws its length as the times it spaces (64-bit).
            Repeat::Times(Draw::Range(lo, hi)) if s.every != Draw::Fixed(0) => {
                self.rng(g).random_range(i64::from(lo)..=i64::from(hi)) as u32
            }
            Repeat::Times(Draw::Range(lo, hi)) => self.rng(g).random_range(lo..=hi),
        };
        let repeats = s.repeat != Repeat::Once;
        for k in 0..n {
            let index = if repeats { Some(k) } else { index };
            self.iteration(g, s, at + i64::from(k) * every, index);
        }
        if let Some(slot) = s.name {
            self.names[slot] = n;
        }
        if let Some(m) = s.next {
            self.marks[m] = at + i64::from(n) * every;
        }
    }

    /// One iteration: the API, the error, the jitter, the spread, the var, then the calls.
    fn iteration(&mut self, g: &mut Gen, s: &Step, t: i64, index: Option<u32>) {
        let api = match &s.what {
            What::Call(x) => Some(*x),
            What::Pick(list) => match self.pick(g, list) {
                Some(x) => Some(x),
                None => return,
            },
            What::Either {
                share,
                first,
                second,
            } => {
                let group = if self.rng(g).random_bool(*share) {
                    first
                } else {
                    second
                };
                match self.pick(g, group) {
                    Some(x) => Some(x),
                    None => return,
                }
            }
            _ => None,
        };
        let err = s
            .error
            .and_then(|(share, kind)| self.rng(g).random_bool(share).then_some(kind));
        let t = t + match s.jitter {
            Jitter::None => 0,
            Jitter::Secs(j) => self.rng(g).random_range(0..j),
            Jitter::Window => {
                let dur = self.run.end.map_or(1, |e| e - self.run.start);
                self.rng(g).random_range(0..dur)
            }
        };
        let spread: Vec<i64> = match &s.what {
            What::Calls(calls) if s.spread > 0 => (0..calls.len())
                .map(|_| self.rng(g).random_range(0..s.spread))
                .collect(),
            _ => Vec::new(),
        };
        let var = match s.var {
            Var::Fixed(v) => v,
            Var::Index(off) => index.unwrap_or(0) + off,
            Var::Pick(slot, off) => {
                let n = self.names[slot];
                off + if n > 0 {
                    self.rng(g).random_range(0..n)
                } else {
                    0
                }
            }
        };
        let t = self.clamp(t);
        let actor = match s.actor {
            Some(k) => self.w.actor(k, self.a).unwrap_or(self.actor),
            None => self.actor,
        };
        match &s.what {
            What::Calls(calls) => {
                for (j, &(off, x)) in calls.iter().enumerate() {
                    let at = self.clamp(t + off + spread.get(j).copied().unwrap_or(0));
                    self.push(g, at, actor, x, None, var);
                }
            }
            What::Steps(inner) => self.steps(g, inner, t, index),
            _ => {
                if let Some(x) = api {
                    self.push(g, t, actor, x, err, var);
                }
            }
        }
        if let Some(m) = s.mark {
            self.marks[m] = t;
        }
    }
}

// ---------------------------------------------------------------- incidents

/// One injected incident, fixed by the plan before any unit is generated.
pub(super) struct Incident {
    /// Index into [`World::incidents`].
    pub(super) recipe: usize,
    pub(super) account: usize,
    pub(super) region: usize,
    pub(super) day: u32,
    /// Window in unix seconds, `[start, end)`.
    pub(super) start: i64,
    pub(super) end: i64,
    pub(super) count: u32,
    pub(super) seed: u64,
}

/// The incidents of a run and the evaluation window they fall in.
pub(super) struct Plan {
    pub(super) eval_start_day: u32,
    pub(super) incidents: Vec<Incident>,
}

impl Plan {
    pub(super) fn new(cfg: &SimConfig, w: &World) -> Plan {
        let mut rng = SmallRng::seed_from_u64(mix(cfg.seed, &[TAG_PLAN]));
        let n_eval = eval_days(cfg.days);
        let eval_start_day = cfg.days - n_eval;
        // Spread incidents over the window's days: a shuffled cycle of day offsets.
        let mut offsets: Vec<u32> = Vec::new();
        while offsets.len() < w.incidents.len() {
            let mut cycle: Vec<u32> = (0..n_eval).collect();
            cycle.shuffle(&mut rng);
            offsets.extend(cycle);
        }
        let mut incidents = Vec::new();
        for (i, rec) in w.incidents.iter().enumerate() {
            let day = eval_start_day + offsets[i];
            let d0 = day_start(cfg, day);
            let seed = mix(cfg.seed, &[TAG_INCIDENT, i as u64]);
            let place = match rec.places.len() {
                1 => &rec.places[0],
                n => &rec.places[rng.random_range(0..n)],
            };
            let off = match rec.start {
                Draw::Fixed(m) => m,
                Draw::Range(lo, hi) => rng.random_range(lo..=hi),
            } * 60;
            let dur = match rec.minutes {
                Draw::Fixed(m) => m,
                Draw::Range(lo, hi) => rng.random_range(lo..=hi),
            } * 60;
            let count = match (place.count, rec.count) {
                (Some(c), _) | (None, Some(Draw::Fixed(c))) => c,
                (None, Some(Draw::Range(lo, hi))) => rng.random_range(lo..=hi),
                (None, None) => 0,
            };
            incidents.push(Incident {
                recipe: i,
                account: place.account,
                region: place.region,
                day,
                start: d0 + off,
                end: d0 + off + dur,
                count,
                seed,
            });
        }
        Plan {
            eval_start_day,
            incidents,
        }
    }

    fn in_unit(&self, day: u32, a: usize, r: usize) -> impl Iterator<Item = &Incident> {
        self.incidents
            .iter()
            .filter(move |i| i.day == day && i.account == a && i.region == r)
    }

    /// The window and kept share where an incident thins `key`'s `api` stream in this unit.
    fn thinned(
        &self,
        w: &World,
        day: u32,
        a: usize,
        r: usize,
        key: Key,
        api: usize,
    ) -> Option<(i64, i64, f64)> {
        self.in_unit(day, a, r)
            .find_map(|i| match w.incidents[i.recipe].effect {
                Effect::Thin {
                    actor,
                    api: x,
                    keep,
                } if actor == key && x == api => Some((i.start, i.end, keep)),
                _ => None,
            })
    }

    /// Whether an incident stops schedule `s` in this unit.
    fn skipped_in(&self, w: &World, s: usize, day: u32, a: usize, r: usize) -> bool {
        self.in_unit(day, a, r)
            .any(|i| matches!(w.incidents[i.recipe].effect, Effect::Skip(x) if x == s))
    }
}

fn inject(g: &mut Gen, w: &World, inc: &Incident, program: &Program) {
    let rec = &w.incidents[inc.recipe];
    let Some(actor) = rec.actor.and_then(|k| w.actor(k, inc.account)) else {
        return;
    };
    let run = RunTime {
        start: inc.start,
        end: Some(inc.end),
        count: inc.count,
    };
    // Own RNG so the incident's content does not depend on the background.
    let own = SmallRng::seed_from_u64(inc.seed);
    let mut x = Runner::new(w, program, inc.account, inc.region, actor, run, Some(own));
    if rec.even {
        x.pending = Some(Vec::new());
    }
    x.steps(g, &program.steps, inc.start, None);
    if let Some(calls) = x.pending.take() {
        // One call per equal slot of the window, at a random second within it.
        let step = (inc.end - inc.start) / calls.len().max(1) as i64;
        for (i, (actor, api, err, var)) in calls.into_iter().enumerate() {
            let t = inc.start + i as i64 * step + x.rng(g).random_range(0..step.max(1));
            g.push(t, actor, api, err, var);
        }
    }
}

// ---------------------------------------------------------------- labels

fn utc(t: i64) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp(t, 0).expect("in range")
}

/// A label from its definition, for a run in (`a`, `r`) with this window and count.
#[allow(clippy::too_many_arguments)]
fn label(
    w: &World,
    def: &LabelDef,
    id: String,
    decoy: bool,
    a: usize,
    r: usize,
    start: i64,
    end: i64,
    count: u32,
) -> Label {
    let actor = w.actor(def.actor, a).map(|i| &w.actors[usize::from(i)]);
    let description = def
        .description
        .replace("{count}", &count.to_string())
        .replace("{minutes}", &((end - start) / 60).to_string())
        .replace("{account}", &w.accounts[a].alias)
        .replace("{region}", &w.regions[r])
        .replace("{ip}", actor.map_or("", |x| x.ips[0].as_str()));
    Label {
        id,
        kind: def.kind.clone(),
        decoy,
        account: w.accounts[a].id.clone(),
        region: w.regions[r].clone(),
        event_source: w.apis[def.api].source.clone(),
        event_names: (def.apis.iter())
            .filter(|&&x| r == 0 || !w.apis[x].global)
            .map(|&x| w.apis[x].name.clone())
            .collect(),
        principal: actor.map(|x| x.principal.clone()),
        start: utc(start),
        end: utc(end),
        description,
        family: def.family.clone(),
    }
}

/// Incident labels, in plan order.
pub(super) fn incident_labels(w: &World, plan: &Plan) -> Vec<Label> {
    let mut out = Vec::new();
    for (i, inc) in plan.incidents.iter().enumerate() {
        let def = &w.incidents[inc.recipe].label;
        let id = format!("inc-{:02}-{}", i + 1, def.kind);
        out.push(label(
            w,
            def,
            id,
            false,
            inc.account,
            inc.region,
            inc.start,
            inc.end,
            inc.count,
        ));
    }
    out
}

/// Decoy labels: the recurring runs inside the evaluation window (world.toml `decoy_order`).
pub(super) fn decoy_labels(cfg: &SimConfig, w: &World, plan: &Plan) -> Vec<Label> {
    let mut out = Vec::new();
    for day in plan.eval_start_day..cfg.days {
        let wd = weekday(cfg.start, day);
        for group in &w.decoy_order {
            for a in
                (0..w.accounts.len()).filter(|&a| group.iter().any(|&s| w.schedules[s].accounts[a]))
            {
                for &si in group {
                    let s = &w.schedules[si];
                    let Some(def) = s
                        .decoy
                        .as_ref()
                        .filter(|_| s.accounts[a] && runs_on(s.days, wd))
                    else {
                        continue;
                    };
                    for &r in &s.regions {
                        if plan.skipped_in(w, si, day, a, r) {
                            continue;
                        }
                        for run in runs(cfg, s, day, a) {
                            let id = format!("decoy-{:03}-{}", out.len() + 1, def.kind);
                            let end = run.end.unwrap_or(run.start);
                            out.push(label(w, def, id, true, a, r, run.start, end, run.count));
                        }
                    }
                }
            }
        }
    }
    out
}
