//! Scores as return periods: how often this series or principal would have raised something
//! this unusual in its own history, shrunk toward the model when the history is short.
//!
//! A window's model tail probability `p` alone over-ranks: counts far above a thin profile
//! give `p` of 1e-20 whether the window is an attack or a job that does this every Tuesday,
//! so most findings scored ≥ 95 and a threshold separated nothing. Two rates are combined:
//! - the model's: `r_M = min(1, m · p)` windows a day this surprising, with `m` the windows
//!   tried per day (288 starts × the window lengths);
//! - the entity's own: on `k` of its `n` training days a window of the same length reached
//!   at least [`SAME_ORDER`] of the observed size ([`crate::baseline::Bursts::days_reaching`]).
//!   Burst sizes of real jobs are heavy-tailed (a deploy that polls twice as long as usual), so
//!   "never exactly this big" is no evidence; "never within a factor of two" is. A size reached
//!   on a single day counts as never reached ([`MIN_PRECEDENT_DAYS`]): that day may have been
//!   an incident itself, and one day is no rhythm.
//!
//! **Past its precedent, the entity's own tail**: when fewer than two days reached half the
//! size, the largest size that two days did reach (`s₂`) is extrapolated with a power-law tail
//! of index [`TAIL_INDEX`]: `k = 2 · (s₂ / (½ · observed))^TAIL_INDEX` ([`precedent`]). The
//! sizes of real jobs' bursts are heavy-tailed (a Terraform apply that touches seven roles
//! where it usually touches two, a scan of a new region): a CI role that writes two IAM
//! policies on most deploy days and seven today is a few times its habit, about monthly, not
//! "beyond anything in its history"; a principal that never did any of it has no `s₂` and
//! nothing to extrapolate from. With four weeks a burst 16× its two-day precedent still scores
//! 70 and one 70× scores the ceiling.
//!
//! `r = (k + a · r_M) / (n + a)` with `a` = [`PRIOR_DAYS`] pseudo-days of the model: with no
//! history the model decides; with four weeks a size reached once in them is at best a
//! once-a-month event whatever `p` says.
//!
//! **Size alone has a ceiling**: `T = 1 / r` is at most [`MAX_EXTRAPOLATION`] times the
//! history it was learned from (`n + a` days). Past what the entity ever did, `p` is the
//! model's extrapolation into a tail nobody measured — a Prowler scan's first run and a stolen
//! key's enumeration both give `p` of 1e-100 — so a size never reached scores "beyond anything
//! in its history" (~88 with four weeks, ~78 on day 2) and what lifts a window above that is
//! other evidence: a place new to the principal (`detect::context`), another kind of evidence
//! in the same incident.
//!
//! The return period maps to `score = 20 · log10(T) + 20` up to 80 (20 ≈ daily, 40 ≈ every 10
//! days, 60 ≈ every 100 days, 70 ≈ once a year, 80 ≈ every 1000 days) and then approaches 100
//! without reaching it, `100 − 20 · e^−(log10(T) − 3)` (the same slope at 80; 90 ≈ 10^3.7 days,
//! 97 ≈ 10^5, 99 ≈ 10^6), so that evidence beyond the ceiling still ranks
//! ([`score_of_period`]). A default `min_score` of 70 therefore reads "would have alerted about
//! once a year on this entity's own history".

use crate::baseline::Bursts;

/// Pseudo-days the model's rate counts for against the entity's own history.
pub const PRIOR_DAYS: f64 = 7.0;

/// Days a size must have been reached on to count as the entity's precedent.
pub const MIN_PRECEDENT_DAYS: u32 = 2;

/// A training day counts as having reached a burst when it reached this share of its size.
pub const SAME_ORDER: f64 = 0.5;

/// A size never reached in `n` days claims a return period of at most this many times
/// `n + PRIOR_DAYS` days, however small the model's `p`.
pub const MAX_EXTRAPOLATION: f64 = 100.0;

/// How fast burst sizes thin out past an entity's precedent: the index of the power-law tail
/// [`precedent`] extrapolates with (a size `x` times larger is `x^1.5` times rarer). Measured
/// job-size and traffic-burst tails are Pareto with indices of about 1–2; 1.5 sits between.
pub const TAIL_INDEX: f64 = 1.5;

/// The score at which the scale stops being linear in `log10(T)` (T = 1000 days).
const KNEE_SCORE: f64 = 80.0;
/// `log10` of the return period at [`KNEE_SCORE`].
const KNEE_DECADES: f64 = 3.0;

/// Score of a return period of `days`: linear in its decades up to 80, then approaching 100.
pub fn score_of_period(days: f64) -> f64 {
    if days.is_nan() {
        return 0.0;
    }
    let x = days.max(1e-9).log10();
    if x <= KNEE_DECADES {
        (20.0 * x + 20.0).max(0.0)
    } else {
        100.0 - (100.0 - KNEE_SCORE) * (-(x - KNEE_DECADES)).exp()
    }
}

/// The return period in days a score stands for (the inverse of [`score_of_period`]; 100 is
/// never reached and stands for an infinite one).
pub fn period_of_score(score: f64) -> f64 {
    if score >= 100.0 {
        return f64::INFINITY;
    }
    if score <= KNEE_SCORE {
        10f64.powf((score - 20.0) / 20.0)
    } else {
        10f64.powf(KNEE_DECADES - ((100.0 - score) / (100.0 - KNEE_SCORE)).ln())
    }
}

/// The days of precedent a day count stands for: one day is none (it may have been an incident
/// itself, the same stolen key used twice, and one day is no rhythm — as the burst ceiling
/// ignores a single day).
pub fn days_of_precedent(k: u32) -> f64 {
    if k < MIN_PRECEDENT_DAYS {
        0.0
    } else {
        f64::from(k)
    }
}

/// The days of precedent in `history` of a window of `len` buckets starting at `at` (Unix
/// seconds) with `observed` calls: the days a window reached [`SAME_ORDER`] of it
/// ([`Bursts::precedent_days`]) when at least [`MIN_PRECEDENT_DAYS`] did, else the entity's
/// tail extrapolated from the largest size reached on that many days, `s₂`:
/// `2 · (s₂ / (SAME_ORDER · observed))^TAIL_INDEX`, below 2 and falling with the size; 0 when
/// no size was reached on two days.
pub fn precedent(history: &Bursts, len: usize, observed: f64, at: Option<i64>) -> f64 {
    let half = observed * SAME_ORDER;
    let k = days_of_precedent(history.precedent_days(len, half, at));
    if k > 0.0 || half <= 0.0 {
        return k;
    }
    let two = MIN_PRECEDENT_DAYS as usize;
    match history.maxima(len).get(two - 1) {
        Some(&s2) if s2 > 0.0 && s2 < half => {
            f64::from(MIN_PRECEDENT_DAYS) * (s2 / half).powf(TAIL_INDEX)
        }
        _ => 0.0,
    }
}

/// How many times the size reached on [`MIN_PRECEDENT_DAYS`] days a window was, given the
/// tail extrapolation `k` (below 2) that [`precedent`] made of it: its inverse, for
/// explanations.
pub fn times_precedent(k: f64) -> f64 {
    1.0 / (SAME_ORDER * (k / f64::from(MIN_PRECEDENT_DAYS)).powf(1.0 / TAIL_INDEX))
}

/// The return period in days of a window with model tail probability `p`, tried `tests` times
/// a day, with `k` days of precedent ([`precedent`], [`days_of_precedent`]) in the entity's `n`
/// training days; at most [`MAX_EXTRAPOLATION`] × (`n` + [`PRIOR_DAYS`]).
pub fn return_period(p: f64, tests: f64, k: f64, n: u32) -> f64 {
    let p = if p.is_nan() { 1.0 } else { p.clamp(0.0, 1.0) };
    let r_model = (tests * p).min(1.0);
    let days = f64::from(n) + PRIOR_DAYS;
    let r = (k.max(0.0) + PRIOR_DAYS * r_model) / days;
    let ceiling = MAX_EXTRAPOLATION * days;
    if r <= 0.0 {
        ceiling
    } else {
        (1.0 / r).min(ceiling)
    }
}

/// The calibrated score ([`score_of_period`] of [`return_period`]).
pub fn score(p: f64, tests: f64, k: f64, n: u32) -> f64 {
    score_of_period(return_period(p, tests, k, n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_map_to_documented_scores() {
        assert!((score_of_period(1.0) - 20.0).abs() < 1e-9);
        assert!((score_of_period(10.0) - 40.0).abs() < 1e-9);
        assert!((score_of_period(365.0) - 71.2).abs() < 0.1);
        assert!((score_of_period(1000.0) - 80.0).abs() < 1e-9);
        // Past the knee: ~90 at 10^3.7 days, ~99 at 10^6, never 100.
        assert!((score_of_period(10f64.powf(3.7)) - 90.1).abs() < 0.1);
        assert!((score_of_period(1e6) - 99.0).abs() < 0.01);
        assert!(score_of_period(1e30) < 100.0);
        assert_eq!(score_of_period(0.01), 0.0);
        assert_eq!(score_of_period(f64::NAN), 0.0);
    }

    #[test]
    fn period_and_score_are_inverse() {
        for t in [1.0, 10.0, 365.0, 1000.0, 3500.0, 1e6] {
            assert!((period_of_score(score_of_period(t)) - t).abs() < 1e-6 * t);
        }
    }

    #[test]
    fn the_scale_is_continuous_and_rising_at_the_knee() {
        let below = score_of_period(999.0);
        let above = score_of_period(1001.0);
        assert!(below < 80.0 && above > 80.0 && above - below < 0.05);
        let mut last = -1.0;
        for e in -20..200 {
            let s = score_of_period(10f64.powf(f64::from(e) / 20.0));
            assert!(
                s > last || s == 0.0,
                "1e{}: {s} <= {last}",
                f64::from(e) / 20.0
            );
            last = s;
        }
    }

    #[test]
    fn size_alone_stops_at_the_ceiling_of_its_history() {
        let tests = 1152.0;
        // Never reached in 28 days: p of 1e-12 and of 1e-100 are the same evidence, "beyond
        // anything in its history", 100 × 35 days.
        let far = return_period(1e-100, tests, days_of_precedent(0), 28);
        assert!((far - 3500.0).abs() < 1e-6, "{far}");
        assert_eq!(
            score(1e-12, tests, days_of_precedent(0), 28),
            score(1e-100, tests, days_of_precedent(0), 28)
        );
        let s = score(1e-100, tests, days_of_precedent(0), 28);
        assert!((88.0..89.0).contains(&s), "{s}");
        // A shorter history claims less: day 2 (one day seen) still above 75.
        let day2 = score(1e-100, tests, days_of_precedent(0), 1);
        assert!((75.0..s).contains(&day2), "{day2}");
        // Below the ceiling the model still ranks.
        assert!(
            score(1e-4, tests, days_of_precedent(0), 28)
                < score(1e-5, tests, days_of_precedent(0), 28)
        );
    }

    #[test]
    fn own_history_caps_what_the_model_says() {
        let tests = 1152.0;
        // Never reached in 28 days and far out in the model: the ceiling.
        assert!(score(1e-30, tests, days_of_precedent(0), 28) > 88.0);
        // The same window, reached on 2 of the 28 days: every ~two weeks, below 70.
        let twice = score(1e-30, tests, days_of_precedent(2), 28);
        assert!((40.0..50.0).contains(&twice), "{twice}");
        // More often reached, lower score: the score ranks.
        assert!(score(1e-30, tests, days_of_precedent(5), 28) < twice);
    }

    #[test]
    fn short_history_leans_on_the_model() {
        let tests = 1152.0;
        // One day of history: an extreme window still scores high, a mild one does not.
        assert!(score(1e-12, tests, days_of_precedent(0), 1) > 75.0);
        assert!(score(1e-3, tests, days_of_precedent(0), 1) < 30.0);
        // Reached on the one day seen: one day is no precedent, the model decides.
        assert!(score(1e-12, tests, days_of_precedent(1), 1) > 75.0);
        // Reached on both of two days: about weekly (the model's pseudo-days keep it above 1).
        assert!(score(1e-12, tests, days_of_precedent(2), 2) < 40.0);
    }

    fn bursts(daily_max: &[f64]) -> Bursts {
        Bursts {
            days: 28,
            daily_max: vec![daily_max.to_vec(); crate::baseline::BURST_LENS.len()],
            peaks: vec![vec![0; daily_max.len()]; crate::baseline::BURST_LENS.len()],
        }
    }

    /// Regression (trailgen tuning seed 301): a Terraform role that writes two IAM policies on
    /// most deploy days and seven one day scored "beyond anything in its history" (88). Past
    /// its precedent a size follows the entity's own tail: a few times its habit is about
    /// monthly, far past it reaches the ceiling, and with no second day there is no tail.
    #[test]
    fn a_size_past_its_precedent_follows_the_entitys_tail() {
        let tests = 1152.0;
        let ci = bursts(&[12.0, 2.0, 2.0, 1.0]);
        // Within a factor of two of three days: those days are the precedent.
        assert_eq!(precedent(&ci, 1, 4.0, None), 3.0);
        // Seven: only the one-off day of 12 reached 3.5, so the tail of the days of 2 speaks.
        let k = precedent(&ci, 1, 7.0, None);
        assert!(
            (k - 2.0 * (2.0f64 / 3.5).powf(TAIL_INDEX)).abs() < 1e-12,
            "{k}"
        );
        let seven = score(1e-30, tests, k, 28);
        assert!((40.0..60.0).contains(&seven), "{seven}");
        // Continuous where the precedent ends (half the size = the second day's size) and
        // falling with the size: 16× scores about 70, 70× and more the ceiling.
        let at_edge = precedent(&ci, 1, 4.0 + 1e-9, None);
        assert!((at_edge - 2.0).abs() < 1e-6, "{at_edge}");
        let mut last = seven;
        for x in [10.0, 20.0, 32.0, 64.0, 140.0] {
            let s = score(1e-30, tests, precedent(&ci, 1, x, None), 28);
            assert!(s > last, "{x}: {s} <= {last}");
            last = s;
        }
        assert!((times_precedent(k) - 3.5).abs() < 1e-9);
        let sixteen = score(1e-30, tests, precedent(&ci, 1, 32.0, None), 28);
        assert!((68.0..73.0).contains(&sixteen), "{sixteen}");
        assert_eq!(
            score(1e-30, tests, precedent(&ci, 1, 140.0, None), 28),
            score(1e-30, tests, 0.0, 28)
        );
        // One day of anything is no tail: beyond it is beyond the history.
        let once = bursts(&[2.0]);
        assert_eq!(precedent(&once, 1, 7.0, None), 0.0);
        assert_eq!(precedent(&Bursts::default(), 1, 7.0, None), 0.0);
    }

    #[test]
    fn score_is_monotone_in_p() {
        // Smaller p, higher (or equal, once clamped) score.
        let mut last = -1.0;
        for e in 0..40 {
            let s = score(10f64.powi(-e), 1152.0, 0.0, 28);
            assert!(s >= last, "p 1e-{e}: {s} < {last}");
            last = s;
        }
    }
}
