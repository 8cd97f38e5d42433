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
//! `r = (k + a · r_M) / (n + a)` with `a` = [`PRIOR_DAYS`] pseudo-days of the model: with no
//! history the model decides; with four weeks a size reached once in them is at best a
//! once-a-month event whatever `p` says. The return period `T = 1 / r` days maps to
//! `score = 20 · log10(T) + 20`, clamped to 0–100: 20 ≈ daily, 40 ≈ every 10 days,
//! 60 ≈ every 100 days, 70 ≈ once a year ([`score_of_period`]). A default `min_score` of 70
//! therefore reads "would have alerted about once a year on this entity's own history".

/// Pseudo-days the model's rate counts for against the entity's own history.
pub const PRIOR_DAYS: f64 = 7.0;

/// Days a size must have been reached on to count as the entity's precedent.
pub const MIN_PRECEDENT_DAYS: u32 = 2;

/// A training day counts as having reached a burst when it reached this share of its size.
pub const SAME_ORDER: f64 = 0.5;

/// Score of a return period of `days`.
pub fn score_of_period(days: f64) -> f64 {
    if days.is_nan() {
        return 0.0;
    }
    (20.0 * days.max(1e-9).log10() + 20.0).clamp(0.0, 100.0)
}

/// The return period in days a score stands for (the inverse of [`score_of_period`]; a clamped
/// 100 gives its lower bound, 10⁴ days).
pub fn period_of_score(score: f64) -> f64 {
    10f64.powf((score - 20.0) / 20.0)
}

/// The return period in days of a window with model tail probability `p`, tried `tests` times
/// a day, whose size the entity reached on `k` of its `n` training days.
pub fn return_period(p: f64, tests: f64, k: u32, n: u32) -> f64 {
    let p = if p.is_nan() { 1.0 } else { p.clamp(0.0, 1.0) };
    let r_model = (tests * p).min(1.0);
    // One day is no precedent: it may have been an incident itself (the same stolen key used
    // twice), and one day is no rhythm — as the burst ceiling ignores a single day.
    let k = if k < MIN_PRECEDENT_DAYS { 0 } else { k };
    let r = (f64::from(k) + PRIOR_DAYS * r_model) / (f64::from(n) + PRIOR_DAYS);
    if r <= 0.0 {
        f64::INFINITY
    } else {
        1.0 / r
    }
}

/// The calibrated score ([`score_of_period`] of [`return_period`]).
pub fn score(p: f64, tests: f64, k: u32, n: u32) -> f64 {
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
        assert_eq!(score_of_period(1e9), 100.0);
        assert_eq!(score_of_period(0.01), 0.0);
        assert_eq!(score_of_period(f64::NAN), 0.0);
    }

    #[test]
    fn period_and_score_are_inverse() {
        for t in [1.0, 10.0, 365.0, 1000.0] {
            assert!((period_of_score(score_of_period(t)) - t).abs() < 1e-6 * t);
        }
    }

    #[test]
    fn own_history_caps_what_the_model_says() {
        let tests = 1152.0;
        // Never reached in 28 days and far out in the model: top score.
        assert_eq!(score(1e-30, tests, 0, 28), 100.0);
        // The same window, reached on 2 of the 28 days: every ~two weeks, below 70.
        let twice = score(1e-30, tests, 2, 28);
        assert!((40.0..50.0).contains(&twice), "{twice}");
        // More often reached, lower score: the score ranks.
        assert!(score(1e-30, tests, 5, 28) < twice);
    }

    #[test]
    fn short_history_leans_on_the_model() {
        let tests = 1152.0;
        // One day of history: an extreme window still scores high, a mild one does not.
        assert!(score(1e-12, tests, 0, 1) > 90.0);
        assert!(score(1e-3, tests, 0, 1) < 30.0);
        // Reached on the one day seen: one day is no precedent, the model decides.
        assert!(score(1e-12, tests, 1, 1) > 90.0);
        // Reached on both of two days: about weekly (the model's pseudo-days keep it above 1).
        assert!(score(1e-12, tests, 2, 2) < 40.0);
    }

    #[test]
    fn score_is_monotone_in_p() {
        // Smaller p, higher (or equal, once clamped) score.
        let mut last = -1.0;
        for e in 0..40 {
            let s = score(10f64.powi(-e), 1152.0, 0, 28);
            assert!(s >= last, "p 1e-{e}: {s} < {last}");
            last = s;
        }
    }
}
