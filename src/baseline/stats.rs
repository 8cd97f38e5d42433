//! Count statistics for baselines: pure functions, no I/O.
//!
//! A call series is a sequence of bucket counts (5-minute or hourly). Its baseline is an
//! expected mean per bucket that depends on the hour of the week ([`SeasonalProfile`]) and a
//! negative-binomial noise model around that mean with an estimated over-dispersion `alpha`
//! ([`estimate_dispersion`]): `Var(X) = mu + alpha * mu^2`, so `alpha = 0` is Poisson.
//!
//! Tail probabilities ([`poisson_sf`], [`nb_sf`], [`nb_sum_sf`], …) are computed from the
//! regularized incomplete gamma and beta functions, never by a Gaussian z-score, so they stay
//! honest for low-rate APIs (a few calls a day, where most buckets are 0) and for high-rate APIs
//! (thousands of calls a minute) alike. They are accurate in relative terms far into the tail
//! and underflow to exactly `0.0` only below about `1e-308`.
//!
//! Conventions shared by every function here:
//! - a mean `mu` that is negative or NaN is treated as `0`; `+inf` is allowed (then every
//!   finite count is infinitely unlikely on the low side and certain on the high side);
//! - a dispersion `alpha` that is negative or NaN is treated as `0` (Poisson) and is capped at
//!   [`MAX_NB_ALPHA`];
//! - probabilities are clamped to `[0, 1]` and are never NaN.

use serde::{Deserialize, Serialize};
use statrs::function::erf::erfc;
use statrs::function::gamma::{gamma_lr, gamma_ur, ln_gamma};

/// Hours in a week: the length of [`SeasonalProfile::hour_of_week`].
pub const HOURS_PER_WEEK: usize = 168;

/// Dispersion returned by [`estimate_dispersion`] when the data carry too little information
/// (fewer than [`MIN_DISPERSION_BUCKETS`] usable buckets, or means so small that the variance
/// cannot be told apart from Poisson). `0.1` is mild over-dispersion, typical of API call
/// counts once seasonality is removed; it is also the shrinkage target for thin data.
pub const DISPERSION_PRIOR: f64 = 0.1;

/// Largest dispersion [`estimate_dispersion`] returns.
pub const MAX_DISPERSION: f64 = 10.0;

/// Fewest usable buckets (finite count, positive finite mean) for [`estimate_dispersion`] to
/// estimate anything; below it the answer is [`DISPERSION_PRIOR`].
pub const MIN_DISPERSION_BUCKETS: usize = 10;

/// Largest `alpha` the negative-binomial functions accept; larger values are capped.
pub const MAX_NB_ALPHA: f64 = 1e6;

/// Factor that turns a median absolute deviation into a standard deviation for Gaussian data.
pub const MAD_TO_SIGMA: f64 = 1.482_602_218_505_602;

/// Values farther than this many robust standard deviations from the median are ignored by
/// [`robust_mean`] and [`robust_count_mean`].
pub const ROBUST_CUTOFF: f64 = 3.5;

/// Below this dispersion the negative binomial is computed as a Poisson (`r = 1/alpha` beyond
/// `1e12` is numerically meaningless and statistically indistinguishable).
const NB_POISSON_ALPHA: f64 = 1e-12;

/// The negative binomial is also computed as a Poisson when `alpha * ((k - mu)^2 + k + mu + 1)`
/// is below this: the relative difference of the two tails is of that order.
const NB_POISSON_GAP: f64 = 1e-9;

/// Above this mean the Poisson tails use a normal approximation of the signed root deviance
/// (the incomplete gamma series needs O(sqrt(mu)) terms and loses precision beyond ~1e12).
const POISSON_APPROX_MU: f64 = 1e10;

/// Pseudo-information (in units of `sum mu^2`) with which the dispersion estimate is shrunk
/// toward [`DISPERSION_PRIOR`]; negligible for busy series, decisive for nearly empty ones.
const DISPERSION_PRIOR_WEIGHT: f64 = 1.0;

/// At most this fraction of buckets (at least one) is excluded as outliers when estimating
/// the dispersion.
const DISPERSION_TRIM_FRACTION: f64 = 0.02;

// ---------------------------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------------------------

fn clean_mu(mu: f64) -> f64 {
    if mu.is_nan() || mu < 0.0 {
        0.0
    } else {
        mu
    }
}

fn clean_alpha(alpha: f64) -> f64 {
    if alpha.is_nan() || alpha <= 0.0 {
        0.0
    } else {
        alpha.min(MAX_NB_ALPHA)
    }
}

fn clamp01(p: f64) -> f64 {
    if p.is_nan() {
        // Never produced by the code paths below; a defensive, conservative answer.
        1.0
    } else {
        p.clamp(0.0, 1.0)
    }
}

// ---------------------------------------------------------------------------------------------
// Poisson
// ---------------------------------------------------------------------------------------------

/// Poisson tail for huge `mu`: `P(X >= k)` (`upper`) or `P(X <= k)`, by the signed root of the
/// deviance at the continuity-corrected count, `z = sign(x - mu) sqrt(2 (x ln(x/mu) - x + mu))`,
/// and the normal tail of `z`. Relative error about `|z| / (6 sqrt(mu))`, i.e. below `1e-4` for
/// `mu > 1e10` out to `z = 30`.
fn poisson_tail_large(k: u64, mu: f64, upper: bool) -> f64 {
    let x = if upper {
        k as f64 - 0.5
    } else {
        k as f64 + 0.5
    };
    let t = (x - mu) / mu;
    // x ln(x/mu) - x + mu = mu ((1 + t) ln(1 + t) - t), written to stay exact near t = 0.
    let dev = 2.0 * mu * ((1.0 + t) * t.ln_1p() - t);
    let z = dev.max(0.0).sqrt() * (x - mu).signum();
    let z = if upper { z } else { -z };
    clamp01(0.5 * erfc(z / std::f64::consts::SQRT_2))
}

/// `P(X >= k)` for `X ~ Poisson(mu)`.
///
/// Computed as the regularized lower incomplete gamma `P(k, mu)` (for `k >= 1`), which is
/// accurate in relative terms deep into the upper tail. `k = 0` gives `1`; `mu = 0` gives `0`
/// for `k >= 1`; `mu = +inf` gives `1`. Beyond `mu = 1e10` (four million calls a minute for a
/// month) a normal approximation of the signed root deviance is used instead, with a relative
/// tail error below `1e-4` out to 30 standard deviations.
pub fn poisson_sf(k: u64, mu: f64) -> f64 {
    let mu = clean_mu(mu);
    if k == 0 {
        return 1.0;
    }
    if mu == 0.0 {
        return 0.0;
    }
    if mu.is_infinite() {
        return 1.0;
    }
    if mu > POISSON_APPROX_MU {
        return poisson_tail_large(k, mu, true);
    }
    clamp01(gamma_lr(k as f64, mu))
}

/// `P(X <= k)` for `X ~ Poisson(mu)`.
///
/// Computed as the regularized upper incomplete gamma `Q(k + 1, mu)`, accurate in relative
/// terms deep into the lower tail (a drop to `k` calls where `mu` were expected). `mu = 0`
/// gives `1`; `mu = +inf` gives `0`. Beyond `mu = 1e10`, the same approximation as
/// [`poisson_sf`].
pub fn poisson_cdf(k: u64, mu: f64) -> f64 {
    let mu = clean_mu(mu);
    if mu == 0.0 {
        return 1.0;
    }
    if mu.is_infinite() {
        return 0.0;
    }
    if mu > POISSON_APPROX_MU {
        return poisson_tail_large(k, mu, false);
    }
    clamp01(gamma_ur(k as f64 + 1.0, mu))
}

// ---------------------------------------------------------------------------------------------
// Negative binomial
// ---------------------------------------------------------------------------------------------

/// `ln B(a, b)`.
fn ln_beta(a: f64, b: f64) -> f64 {
    ln_gamma(a) + ln_gamma(b) - ln_gamma(a + b)
}

/// Continued fraction of the regularized incomplete beta function (modified Lentz), valid
/// and fast for `x < (a + 1) / (a + b + 2)`.
fn beta_cf(a: f64, b: f64, x: f64) -> f64 {
    const TINY: f64 = 1e-300;
    const EPS: f64 = 1e-15;
    // The fraction needs O(sqrt(max(a, b))) terms in the worst case (x near the switch point).
    let max_iter = (200.0 + 20.0 * a.max(b).sqrt()).min(5e6) as u64;
    let qab = a + b;
    let qap = a + 1.0;
    let qam = a - 1.0;
    let guard = |v: f64| if v.abs() < TINY { TINY } else { v };
    let mut c = 1.0;
    let mut d = 1.0 / guard(1.0 - qab * x / qap);
    let mut h = d;
    for m in 1..=max_iter {
        let m = m as f64;
        let m2 = 2.0 * m;
        let aa = m * (b - m) * x / ((qam + m2) * (a + m2));
        d = 1.0 / guard(1.0 + aa * d);
        c = guard(1.0 + aa / c);
        h *= d * c;
        let aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
        d = 1.0 / guard(1.0 + aa * d);
        c = guard(1.0 + aa / c);
        let del = d * c;
        h *= del;
        if (del - 1.0).abs() < EPS {
            break;
        }
    }
    h
}

/// `(I_x(a, b), 1 - I_x(a, b))` for the regularized incomplete beta function, given `ln x`
/// and `ln y` with `y = 1 - x` (passed separately so neither loses precision near 0 or 1).
///
/// The smaller of the two is computed directly (accurate in relative terms down to
/// underflow); the larger as its complement.
fn beta_reg_pair(a: f64, b: f64, ln_x: f64, ln_y: f64) -> (f64, f64) {
    let x = ln_x.exp();
    let y = ln_y.exp();
    if x <= 0.0 {
        return (0.0, 1.0);
    }
    if y <= 0.0 {
        return (1.0, 0.0);
    }
    let ln_front = a * ln_x + b * ln_y - ln_beta(a, b);
    if x < (a + 1.0) / (a + b + 2.0) {
        let v = clamp01((ln_front + (beta_cf(a, b, x) / a).ln()).exp());
        (v, 1.0 - v)
    } else {
        let v = clamp01((ln_front + (beta_cf(b, a, y) / b).ln()).exp());
        (1.0 - v, v)
    }
}

/// `(r, ln p, ln(1 - p))` of the negative binomial with mean `mu` and dispersion `alpha`:
/// `r = 1 / alpha`, `p = r / (r + mu) = 1 / (1 + alpha mu)`.
fn nb_params(mu: f64, alpha: f64) -> (f64, f64, f64) {
    let am = alpha * mu;
    let l1 = am.ln_1p();
    (1.0 / alpha, -l1, am.ln() - l1)
}

fn nb_is_poisson(k: f64, mu: f64, alpha: f64) -> bool {
    alpha < NB_POISSON_ALPHA || alpha * ((k - mu).powi(2) + k + mu + 1.0) < NB_POISSON_GAP
}

/// `P(X >= k)` for `X` negative binomial with mean `mu` and dispersion `alpha`
/// (`Var X = mu + alpha mu^2`; `alpha = 0` is Poisson).
///
/// With `r = 1/alpha` and `p = r/(r + mu)`, `P(X >= k) = I_{1-p}(k, r)` (regularized incomplete
/// beta) for `k >= 1`, evaluated by a continued fraction in log space: accurate in the far tail
/// (values down to ~`1e-300`), never NaN, clamped to `[0, 1]`. When `alpha` is so small that the
/// distribution cannot be told from a Poisson at this `k`, [`poisson_sf`] is used.
pub fn nb_sf(k: u64, mu: f64, alpha: f64) -> f64 {
    let mu = clean_mu(mu);
    let alpha = clean_alpha(alpha);
    if k == 0 {
        return 1.0;
    }
    if mu == 0.0 {
        return 0.0;
    }
    if mu.is_infinite() || (alpha * mu).is_infinite() {
        return 1.0;
    }
    let kf = k as f64;
    if nb_is_poisson(kf, mu, alpha) {
        return poisson_sf(k, mu);
    }
    let (r, ln_p, ln_q) = nb_params(mu, alpha);
    clamp01(beta_reg_pair(kf, r, ln_q, ln_p).0)
}

/// `P(X <= k)` for `X` negative binomial with mean `mu` and dispersion `alpha`
/// (`Var X = mu + alpha mu^2`; `alpha = 0` is Poisson).
///
/// `P(X <= k) = I_p(r, k + 1)` with `r = 1/alpha`, `p = r/(r + mu)`; accurate in the far lower
/// tail (a drop), never NaN, clamped to `[0, 1]`. Falls back to [`poisson_cdf`] for tiny
/// `alpha`. `mu = 0` gives `1`, `mu = +inf` gives `0`.
pub fn nb_cdf(k: u64, mu: f64, alpha: f64) -> f64 {
    let mu = clean_mu(mu);
    let alpha = clean_alpha(alpha);
    if mu == 0.0 {
        return 1.0;
    }
    if mu.is_infinite() || (alpha * mu).is_infinite() {
        return 0.0;
    }
    let kf = k as f64;
    if nb_is_poisson(kf, mu, alpha) {
        return poisson_cdf(k, mu);
    }
    let (r, ln_p, ln_q) = nb_params(mu, alpha);
    clamp01(beta_reg_pair(r, kf + 1.0, ln_p, ln_q).0)
}

/// Mean and moment-matched dispersion of a sum of independent `NB(mu_i, alpha)` buckets:
/// mean `M = sum mu_i`, variance `sum(mu_i + alpha mu_i^2)`, hence
/// `alpha_sum = alpha * sum(mu_i^2) / M^2`.
fn nb_sum_params(mus: &[f64], alpha: f64) -> (f64, f64) {
    let alpha = clean_alpha(alpha);
    let (s1, s2) = mus
        .iter()
        .map(|&m| clean_mu(m))
        .fold((0.0, 0.0), |(s1, s2), m| (s1 + m, s2 + m * m));
    if s1 == 0.0 || !s1.is_finite() || alpha == 0.0 {
        return (s1, 0.0);
    }
    let ratio = if s2.is_finite() { s2 / (s1 * s1) } else { 1.0 };
    (s1, alpha * ratio.min(1.0))
}

/// `P(S >= k)` for `S` the sum of independent buckets `X_i ~ NB(mus[i], alpha)`, e.g. a
/// detector's window of `n` buckets.
///
/// **An approximation**: `S` is replaced by the negative binomial with the same mean
/// (`sum mu_i`) and variance (`sum(mu_i + alpha mu_i^2)`), i.e. dispersion
/// `alpha * sum(mu_i^2) / (sum mu_i)^2`. It is exact when all `mu_i` are equal (a sum of NB with
/// a common `p` is NB) and when `alpha = 0` (a sum of Poissons is Poisson); otherwise the
/// first two moments are exact and the far tail is close but not exact. An empty window has
/// `S = 0`.
pub fn nb_sum_sf(k: u64, mus: &[f64], alpha: f64) -> f64 {
    let (mu, a) = nb_sum_params(mus, alpha);
    nb_sf(k, mu, a)
}

/// `P(S <= k)` for the same moment-matched sum as [`nb_sum_sf`] (for drops in call rate);
/// the same approximation applies.
pub fn nb_sum_cdf(k: u64, mus: &[f64], alpha: f64) -> f64 {
    let (mu, a) = nb_sum_params(mus, alpha);
    nb_cdf(k, mu, a)
}

/// The smallest count `k` with `nb_sf(k, mu, alpha) <= p`: the fewest calls in one bucket that
/// would be flagged at tail probability `p` (for reports: "at this hour, 37 calls would be
/// unusual").
///
/// `p >= 1` gives `0`. When no representable count reaches `p` (e.g. `mu = +inf`, or `p`
/// below the smallest probability an `f64` holds), `u64::MAX` is returned.
pub fn min_detectable(mu: f64, alpha: f64, p: f64) -> u64 {
    let p = if p.is_nan() { 0.0 } else { p };
    if p >= 1.0 {
        return 0;
    }
    let mu = clean_mu(mu);
    if mu.is_infinite() {
        return u64::MAX;
    }
    // Find an upper bound by doubling, then bisect: sf is non-increasing in k.
    let mut hi: u64 = (mu.ceil() as u64).max(1);
    while nb_sf(hi, mu, alpha) > p {
        if hi >= u64::MAX / 2 {
            return u64::MAX;
        }
        hi *= 2;
    }
    let mut lo: u64 = 0; // nb_sf(0) = 1 > p
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if nb_sf(mid, mu, alpha) <= p {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    hi
}

// ---------------------------------------------------------------------------------------------
// Dispersion
// ---------------------------------------------------------------------------------------------

/// Method-of-moments sums over the kept buckets: `(sum((y - mu)^2 - y), sum(mu^2))`.
fn moment_sums(pairs: &[(f64, f64)], keep: &[bool]) -> (f64, f64) {
    pairs
        .iter()
        .zip(keep)
        .filter(|(_, &k)| k)
        .fold((0.0, 0.0), |(num, den), (&(y, mu), _)| {
            (num + (y - mu) * (y - mu) - y, den + mu * mu)
        })
}

fn alpha_from_sums(num: f64, den: f64) -> f64 {
    if den > 0.0 {
        (num / den).max(0.0)
    } else {
        0.0
    }
}

/// Two-sided tail probability of `y` under `NB(mu, alpha)` when its Pearson residual exceeds
/// 2 in absolute value; `None` (not extreme) otherwise, which saves the tail evaluations for
/// the ~95% of ordinary buckets.
fn extreme_tail(y: f64, mu: f64, alpha: f64) -> Option<f64> {
    let z = (y - mu) / (mu + alpha * mu * mu).sqrt();
    if z.abs() <= 2.0 {
        return None;
    }
    let k = y.round() as u64;
    Some(if y > mu {
        nb_sf(k, mu, alpha)
    } else {
        nb_cdf(k, mu, alpha)
    })
}

/// Estimates the negative-binomial dispersion `alpha` (`Var = mu + alpha mu^2`) from observed
/// bucket counts and their fitted means (same length; extra elements of the longer slice are
/// ignored).
///
/// The estimator is the method-of-moments / Pearson one,
/// `alpha = max(0, sum((y - mu)^2 - y) / sum(mu^2))`, made robust to past incidents:
///
/// 1. buckets with a non-finite or negative count, or a mean that is not finite and positive,
///    are unusable and skipped;
/// 2. a first estimate leaves out the 2% of buckets (at least one) with the largest Poisson
///    Pearson residuals;
/// 3. then, iteratively (at most 10 rounds, until stable), a bucket is left out when its count
///    is extreme under the current fit — two-sided tail probability below
///    `min(1e-4, 0.01 / n)`, so that a clean series loses a bucket with probability about 1% —
///    at most the 2% most extreme ones; the estimate is recomputed from the rest.
///
/// Only buckets that the model itself calls impossible are excluded, so the estimate stays
/// nearly unbiased on clean data, while last week's incident (or outage) does not inflate it.
///
/// The result is shrunk toward [`DISPERSION_PRIOR`] with a pseudo-information of `1` in units
/// of `sum(mu^2)` (irrelevant for busy series; for a series of a few calls a day it blends the
/// data with the prior), and clamped to `[0, MAX_DISPERSION]`. With fewer than
/// [`MIN_DISPERSION_BUCKETS`] usable buckets the prior itself is returned.
///
/// Caveat: the means are taken as known; when they were fitted from the same counts with many
/// parameters per observation, the estimate is biased low (degrees of freedom are not
/// corrected for).
pub fn estimate_dispersion(counts: &[f64], means: &[f64]) -> f64 {
    let pairs: Vec<(f64, f64)> = counts
        .iter()
        .zip(means)
        .filter(|(&y, &mu)| y.is_finite() && y >= 0.0 && mu.is_finite() && mu > 0.0)
        .map(|(&y, &mu)| (y, mu))
        .collect();
    let n = pairs.len();
    if n < MIN_DISPERSION_BUCKETS {
        return DISPERSION_PRIOR;
    }
    let cap = ((n as f64 * DISPERSION_TRIM_FRACTION).ceil() as usize).max(1);

    // Step 2: trim the largest Poisson Pearson residuals for a robust starting point.
    let mut order: Vec<usize> = (0..n).collect();
    let pearson2 = |&(y, mu): &(f64, f64)| (y - mu) * (y - mu) / mu;
    order.sort_unstable_by(|&i, &j| pearson2(&pairs[j]).total_cmp(&pearson2(&pairs[i])));
    let mut keep = vec![true; n];
    for &i in order.iter().take(cap) {
        keep[i] = false;
    }
    let (mut num, mut den) = moment_sums(&pairs, &keep);
    let mut alpha = alpha_from_sums(num, den).min(MAX_DISPERSION);

    // Step 3: exclude only what the current model calls extreme; iterate to a fixed point.
    let threshold = (0.01 / n as f64).min(1e-4);
    for _ in 0..10 {
        let mut extreme: Vec<(usize, f64)> = pairs
            .iter()
            .enumerate()
            .filter_map(|(i, &(y, mu))| {
                extreme_tail(y, mu, alpha)
                    .filter(|&p| p < threshold)
                    .map(|p| (i, p))
            })
            .collect();
        extreme.sort_unstable_by(|a, b| a.1.total_cmp(&b.1));
        let mut new_keep = vec![true; n];
        for &(i, _) in extreme.iter().take(cap) {
            new_keep[i] = false;
        }
        if new_keep == keep {
            break;
        }
        keep = new_keep;
        (num, den) = moment_sums(&pairs, &keep);
        alpha = alpha_from_sums(num, den).min(MAX_DISPERSION);
    }

    let shrunk =
        (num + DISPERSION_PRIOR * DISPERSION_PRIOR_WEIGHT) / (den + DISPERSION_PRIOR_WEIGHT);
    if shrunk.is_finite() {
        shrunk.clamp(0.0, MAX_DISPERSION)
    } else {
        DISPERSION_PRIOR
    }
}

// ---------------------------------------------------------------------------------------------
// Robust location
// ---------------------------------------------------------------------------------------------

/// The median of `v`, sorting `v` in place. NaN values are ignored; the median of an empty
/// (or all-NaN) slice is `0.0`. An even number of values gives the mean of the middle two.
pub fn median(v: &mut [f64]) -> f64 {
    v.sort_unstable_by(f64::total_cmp);
    // total_cmp puts negative NaNs first and positive NaNs last.
    let start = v.iter().position(|x| !x.is_nan()).unwrap_or(v.len());
    let end = v.iter().rposition(|x| !x.is_nan()).map_or(start, |i| i + 1);
    let s = &v[start..end.max(start)];
    match s.len() {
        0 => 0.0,
        n if n % 2 == 1 => s[n / 2],
        n => 0.5 * (s[n / 2 - 1] + s[n / 2]),
    }
}

/// The median absolute deviation from the median, unscaled (multiply by [`MAD_TO_SIGMA`] for a
/// Gaussian-consistent standard deviation). NaN values are ignored; empty input gives `0.0`.
pub fn mad(v: &[f64]) -> f64 {
    let mut w: Vec<f64> = v.iter().copied().filter(|x| !x.is_nan()).collect();
    let med = median(&mut w);
    let mut dev: Vec<f64> = w.iter().map(|x| (x - med).abs()).collect();
    median(&mut dev)
}

/// Location and spread of the values a skipped mean keeps.
#[derive(Debug, Clone, Copy)]
struct SlotStats {
    /// Mean of the kept values (0 when none).
    mean: f64,
    /// Sample variance of the kept values (0 when fewer than two).
    var: f64,
    /// Number of kept values.
    n: usize,
}

/// Skipped mean: the mean of the values within `ROBUST_CUTOFF * sigma` of the median, where
/// `sigma = sigma_of(median, MAD, values)`.
fn skipped_mean(values: &[f64], sigma_of: impl Fn(f64, f64, &[f64]) -> f64) -> SlotStats {
    let v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return SlotStats {
            mean: 0.0,
            var: 0.0,
            n: 0,
        };
    }
    let med = median(&mut v.clone());
    let sigma = sigma_of(med, mad(&v), &v);
    let kept: Vec<f64> = if sigma > 0.0 {
        v.iter()
            .copied()
            .filter(|x| (x - med).abs() <= ROBUST_CUTOFF * sigma)
            .collect()
    } else {
        v.iter().copied().filter(|&x| x == med).collect()
    };
    let n = kept.len();
    let mean = kept.iter().sum::<f64>() / n as f64;
    let var = if n >= 2 {
        kept.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / (n - 1) as f64
    } else {
        0.0
    };
    SlotStats { mean, var, n }
}

/// A skipped mean that ignores a minority of extreme values: values farther than
/// [`ROBUST_CUTOFF`] (3.5) robust standard deviations from the median are left out and the
/// rest averaged.
///
/// The robust standard deviation is `MAD_TO_SIGMA * mad`; when more than half the values are
/// identical (MAD = 0) it is `1.2533 *` the mean absolute deviation from the median instead,
/// and when that is 0 too all values are equal. For well-behaved data nothing is left out and
/// the result is the plain mean. Non-finite values are ignored; empty input gives `0.0`, a
/// single value itself. For counts, prefer [`robust_count_mean`].
pub fn robust_mean(v: &[f64]) -> f64 {
    skipped_mean(v, |med, mad, v| {
        if mad > 0.0 {
            MAD_TO_SIGMA * mad
        } else {
            let mean_abs = v.iter().map(|x| (x - med).abs()).sum::<f64>() / v.len() as f64;
            1.253_314_137_315_500_3 * mean_abs
        }
    })
    .mean
}

/// [`robust_mean`] for counts: the robust standard deviation is at least the Poisson one,
/// `max(MAD_TO_SIGMA * mad, sqrt(max(median, 1)))`, so ordinary count noise is never mistaken
/// for an outlier (e.g. `[3, 5, 4, 6]` keeps every value) while an incident is
/// (`[0, 0, 0, 40]` gives `0`, `[100, 96, 104, 900]` gives `100`).
pub fn robust_count_mean(v: &[f64]) -> f64 {
    count_slot_stats(v).mean
}

fn count_slot_stats(v: &[f64]) -> SlotStats {
    skipped_mean(v, |med, mad, _| {
        (MAD_TO_SIGMA * mad).max(med.max(1.0).sqrt())
    })
}

// ---------------------------------------------------------------------------------------------
// Seasonal profile
// ---------------------------------------------------------------------------------------------

/// Why a [`SeasonalProfile`] is invalid.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ProfileError {
    /// `hour_of_week` does not hold exactly [`HOURS_PER_WEEK`] values.
    #[error("hour_of_week holds {0} values, expected 168")]
    HourOfWeekLength(usize),
    /// A field holds a negative or non-finite value.
    #[error("{field} holds {value}; expected counts must be finite and non-negative")]
    InvalidValue {
        /// Which field.
        field: &'static str,
        /// The offending value.
        value: f64,
    },
}

/// Expected calls per hour as a function of the hour of the week, fitted by [`fit_seasonal`].
///
/// Hour of week `0` is Monday 00:00–01:00 UTC, `167` Sunday 23:00–24:00. Serialized as a plain
/// struct (`hour_of_week` as a list); deserialisation runs [`SeasonalProfile::validate`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "SeasonalProfileRepr")]
pub struct SeasonalProfile {
    /// Expected count per hour for each hour of the week (exactly 168 values).
    pub hour_of_week: Vec<f64>,
    /// Expected count per hour for each hour of the day, pooled over all days of the week.
    pub hour_of_day: [f64; 24],
    /// Overall expected count per hour.
    pub level: f64,
    /// History length the profile was fitted from, in weeks (`hours / 168`).
    pub weeks: f64,
}

#[derive(Deserialize)]
struct SeasonalProfileRepr {
    hour_of_week: Vec<f64>,
    hour_of_day: [f64; 24],
    level: f64,
    weeks: f64,
}

impl TryFrom<SeasonalProfileRepr> for SeasonalProfile {
    type Error = ProfileError;

    fn try_from(r: SeasonalProfileRepr) -> Result<Self, ProfileError> {
        SeasonalProfile::new(r.hour_of_week, r.hour_of_day, r.level, r.weeks)
    }
}

impl SeasonalProfile {
    /// Builds a profile from its parts, checking them with [`SeasonalProfile::validate`].
    pub fn new(
        hour_of_week: Vec<f64>,
        hour_of_day: [f64; 24],
        level: f64,
        weeks: f64,
    ) -> Result<Self, ProfileError> {
        let p = SeasonalProfile {
            hour_of_week,
            hour_of_day,
            level,
            weeks,
        };
        p.validate()?;
        Ok(p)
    }

    /// Checks that `hour_of_week` holds 168 values and that every value (and `level`, `weeks`)
    /// is finite and non-negative.
    pub fn validate(&self) -> Result<(), ProfileError> {
        if self.hour_of_week.len() != HOURS_PER_WEEK {
            return Err(ProfileError::HourOfWeekLength(self.hour_of_week.len()));
        }
        let fields = [
            ("hour_of_week", self.hour_of_week.as_slice()),
            ("hour_of_day", self.hour_of_day.as_slice()),
            ("level", std::slice::from_ref(&self.level)),
            ("weeks", std::slice::from_ref(&self.weeks)),
        ];
        for (field, values) in fields {
            if let Some(&value) = values.iter().find(|x| !x.is_finite() || **x < 0.0) {
                return Err(ProfileError::InvalidValue { field, value });
            }
        }
        Ok(())
    }

    /// Expected calls in the hour `hour_of_week` (taken modulo 168; 0 = Monday 00:00 UTC).
    /// For a bucket of `m` minutes, multiply by `m / 60`.
    pub fn expected_per_hour(&self, hour_of_week: usize) -> f64 {
        self.hour_of_week
            .get(hour_of_week % HOURS_PER_WEEK)
            .copied()
            .unwrap_or(self.level)
    }
}

/// Shrinks a slot's robust mean toward `target` (the coarser profile), keeping the part of
/// its deviation that stands out from its own noise: `w = max(0, 1 - v / d^2)` with `d` the
/// deviation and `v = max(var, mean) / n` the variance of the slot mean (sample variance,
/// floored at the Poisson one). Slots with fewer than two kept observations take the target.
fn shrink(st: &SlotStats, target: f64) -> f64 {
    if st.n < 2 {
        return target;
    }
    let d2 = (st.mean - target) * (st.mean - target);
    if d2 == 0.0 {
        return target;
    }
    let v = st.var.max(st.mean) / st.n as f64;
    let w = (1.0 - v / d2).max(0.0);
    target + w * (st.mean - target)
}

/// Fits a [`SeasonalProfile`] from an hourly count series whose first value is the hour of
/// week `first_hour_of_week` (taken modulo 168; 0 = Monday 00:00 UTC). Non-finite values are
/// missing hours (skipped); negative values count as 0.
///
/// The fit, from coarse to fine:
/// 1. **hour of day**: for each of the 24 hours, a robust mean ([`robust_count_mean`]) over
///    every day seen, so a burst that recurs daily (a nightly job) is kept while a one-day
///    incident is ignored;
/// 2. **level**: the mean of those 24 values, weighted by how many hours each was seen
///    (with less than a day of history simply the mean of the hours seen — positive whenever
///    there were calls);
/// 3. **hour of week**: for each of the 168 slots, a robust mean over the weeks seen — trimming
///    is across weeks of the same slot, so one odd week is ignored but an every-week burst
///    (weekday deploys, a weekly rotation) stays.
///
/// Each finer estimate is shrunk toward the coarser one (hour of week → hour of day → level)
/// keeping only the part of its deviation that exceeds its own noise,
/// `w = max(0, 1 - Var(slot mean) / deviation^2)`, and a slot seen fewer than twice takes the
/// coarser value outright. So with 7 days of history the weekly pattern is the daily one,
/// with less than a day it is flat, with no data everything is 0; a consistent pattern (every
/// Saturday 0 calls, every night 50) is kept in full even with two weeks.
///
/// The profile can be exactly 0 at slots that never saw a call; detectors should put their own
/// floor on the expected rate there (e.g. a fraction of `level`) rather than treat any call as
/// impossible.
pub fn fit_seasonal(hourly: &[f64], first_hour_of_week: usize) -> SeasonalProfile {
    let first = first_hour_of_week % HOURS_PER_WEEK;
    let mut week_slots: Vec<Vec<f64>> = vec![Vec::new(); HOURS_PER_WEEK];
    for (i, &y) in hourly.iter().enumerate() {
        if y.is_finite() {
            week_slots[(first + i) % HOURS_PER_WEEK].push(y.max(0.0));
        }
    }
    let mut day_slots: Vec<Vec<f64>> = vec![Vec::new(); 24];
    for (s, values) in week_slots.iter().enumerate() {
        day_slots[s % 24].extend_from_slice(values);
    }
    let day_stats: Vec<SlotStats> = day_slots.iter().map(|v| count_slot_stats(v)).collect();
    let seen: usize = day_slots.iter().map(Vec::len).sum();
    let level = if seen == 0 {
        0.0
    } else {
        day_stats
            .iter()
            .zip(&day_slots)
            .map(|(st, v)| st.mean * v.len() as f64)
            .sum::<f64>()
            / seen as f64
    };
    let hour_of_day: [f64; 24] = std::array::from_fn(|h| shrink(&day_stats[h], level));
    let hour_of_week: Vec<f64> = week_slots
        .iter()
        .enumerate()
        .map(|(s, v)| shrink(&count_slot_stats(v), hour_of_day[s % 24]))
        .collect();
    SeasonalProfile {
        hour_of_week,
        hour_of_day,
        level,
        weeks: hourly.len() as f64 / HOURS_PER_WEEK as f64,
    }
}

// ---------------------------------------------------------------------------------------------
// Scores
// ---------------------------------------------------------------------------------------------

/// Maps a tail probability to a score in `[0, 100]`:
/// `score = 100 * (1 - exp(-max(0, -log10(p) - 1) / 3.5))`.
///
/// `p >= 0.1` scores 0; below that the score is strictly decreasing in `p` until it rounds to
/// 100 in `f64` (around `p = 1e-50`): `p = 0.05` → 8, `0.01` → 25, `1e-3` → 44, `1e-6` → 76, `1e-9` → 90,
/// `1e-12` → 95.7, `p = 0` → 100. NaN counts as `p = 1` (score 0).
pub fn score_from_p(p: f64) -> f64 {
    if p.is_nan() || p >= 0.1 {
        return 0.0;
    }
    if p <= 0.0 {
        return 100.0;
    }
    let excess = (-p.log10() - 1.0).max(0.0);
    (100.0 * (1.0 - (-excess / 3.5).exp())).clamp(0.0, 100.0)
}

/// Running sums with a leading zero: `p[j] - p[i]` is the sum of `v[i..j]`.
pub(crate) fn prefix_sums(v: &[f64]) -> Vec<f64> {
    let mut p = Vec::with_capacity(v.len() + 1);
    let mut acc = 0.0;
    p.push(0.0);
    for x in v {
        acc += x;
        p.push(acc);
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::SeedableRng;
    use rand_distr::{Distribution, Gamma, Poisson};

    fn ln_poisson_pmf(j: u64, mu: f64) -> f64 {
        j as f64 * mu.ln() - mu - ln_gamma(j as f64 + 1.0)
    }

    fn ln_nb_pmf(j: u64, mu: f64, alpha: f64) -> f64 {
        let r = 1.0 / alpha;
        let j = j as f64;
        ln_gamma(j + r) - ln_gamma(r) - ln_gamma(j + 1.0)
            + r * (r / (r + mu)).ln()
            + j * (mu / (r + mu)).ln()
    }

    /// log(sum(exp(l))) of a sequence of log terms.
    fn log_sum(terms: impl Iterator<Item = f64>) -> f64 {
        let t: Vec<f64> = terms.collect();
        let m = t.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        m + t.iter().map(|x| (x - m).exp()).sum::<f64>().ln()
    }

    fn rel_close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol * b.abs().max(1e-300)
    }

    #[test]
    fn poisson_tails_match_direct_summation() {
        for &mu in &[0.01, 0.5, 3.0, 20.0, 300.0] {
            for &k in &[1u64, 2, 5, 10, 40, 100, 500, 1000] {
                let upper = k + 2000 + (10.0 * mu) as u64;
                let sf = log_sum((k..upper).map(|j| ln_poisson_pmf(j, mu))).exp();
                let cdf = log_sum((0..=k).map(|j| ln_poisson_pmf(j, mu))).exp();
                assert!(
                    rel_close(poisson_sf(k, mu), sf, 1e-9),
                    "sf k={k} mu={mu}: {} vs {sf}",
                    poisson_sf(k, mu)
                );
                assert!(
                    rel_close(poisson_cdf(k, mu), cdf, 1e-9),
                    "cdf k={k} mu={mu}"
                );
            }
        }
        // Textbook values.
        assert!(rel_close(poisson_sf(1, 1.0), 1.0 - (-1.0f64).exp(), 1e-12));
        assert!(rel_close(poisson_cdf(0, 2.0), (-2.0f64).exp(), 1e-12));
        // Far tail, still positive and accurate: P(X >= 60 | mu = 1) ~ e^-1 / 60!.
        let far = poisson_sf(60, 1.0);
        let direct = log_sum((60..200).map(|j| ln_poisson_pmf(j, 1.0))).exp();
        assert!(far > 0.0 && far < 1e-80 && rel_close(far, direct, 1e-9));
    }

    #[test]
    fn poisson_edges() {
        assert_eq!(poisson_sf(0, 5.0), 1.0);
        assert_eq!(poisson_sf(0, 0.0), 1.0);
        assert_eq!(poisson_sf(1, 0.0), 0.0);
        assert_eq!(poisson_cdf(0, 0.0), 1.0);
        assert_eq!(poisson_sf(3, f64::INFINITY), 1.0);
        assert_eq!(poisson_cdf(3, f64::INFINITY), 0.0);
        assert_eq!(poisson_sf(3, f64::NAN), 0.0);
        assert_eq!(poisson_sf(3, -1.0), 0.0);
        for &(k, mu) in &[
            (1_000_000_000u64, 1.0),
            (1_000_000_000, 1e7),
            (1, 1e7),
            (10_000_000, 1e7),
            (10_003_000, 1e7),
            (u64::MAX, 3.0),
            (5, 1e300),
            (1_000_000_000, 1_000_000_000.0),
        ] {
            for v in [poisson_sf(k, mu), poisson_cdf(k, mu)] {
                assert!((0.0..=1.0).contains(&v), "k={k} mu={mu}: {v}");
            }
        }
        // High rate: about 1 sd above the mean is ~16%, 3000 ~ 0.95 sd.
        let p = poisson_sf(10_003_163, 1e7);
        assert!(p > 0.14 && p < 0.18, "{p}");
        assert_eq!(poisson_sf(1_000_000_000, 1.0), 0.0);
        // Beyond 1e10 the approximation: complementary, centred, and continuous at the switch.
        let mu = 1e14;
        let (k, sd) = (100_000_000_000_000u64, 1e7);
        assert!((poisson_sf(k + 1, mu) + poisson_cdf(k, mu) - 1.0).abs() < 1e-12);
        assert!((poisson_sf(k, mu) - 0.5).abs() < 1e-6);
        let two_sd = poisson_sf(k + 2 * sd as u64, mu);
        assert!(rel_close(two_sd, 0.022_750_131_948_179_2, 1e-4), "{two_sd}");
        let k = 10_000_300_000u64;
        let below = poisson_sf(k, 1e10 * (1.0 - 1e-15));
        assert!(rel_close(poisson_sf(k, 1e10 * (1.0 + 1e-15)), below, 1e-3));
    }

    #[test]
    fn nb_tails_match_direct_summation() {
        for &alpha in &[0.05, 0.3, 1.0, 4.0] {
            for &mu in &[0.05, 1.0, 7.5, 60.0] {
                for &k in &[1u64, 3, 10, 30, 100, 400] {
                    let upper = k + 20_000;
                    let sf = log_sum((k..upper).map(|j| ln_nb_pmf(j, mu, alpha))).exp();
                    let cdf = log_sum((0..=k).map(|j| ln_nb_pmf(j, mu, alpha))).exp();
                    let got = nb_sf(k, mu, alpha);
                    assert!(
                        rel_close(got, sf, 1e-8),
                        "sf k={k} mu={mu} a={alpha}: {got} vs {sf}"
                    );
                    let got = nb_cdf(k, mu, alpha);
                    assert!(
                        rel_close(got, cdf, 1e-8),
                        "cdf k={k} mu={mu} a={alpha}: {got} vs {cdf}"
                    );
                }
            }
        }
        // Geometric special case (alpha = 1): P(X >= k) = (mu / (1 + mu))^k.
        assert!(rel_close(nb_sf(7, 3.0, 1.0), 0.75f64.powi(7), 1e-12));
        assert!(rel_close(nb_sf(2000, 3.0, 1.0), 0.75f64.powi(2000), 1e-9));
        assert!(nb_sf(2000, 3.0, 1.0) > 0.0);
    }

    #[test]
    fn nb_properties() {
        for &(mu, alpha) in &[(0.2, 0.5), (4.0, 0.1), (250.0, 0.02), (5000.0, 1.0)] {
            assert_eq!(nb_sf(0, mu, alpha), 1.0);
            let mut prev = 1.0;
            for k in (0..20_000).step_by(37) {
                let s = nb_sf(k, mu, alpha);
                assert!(s <= prev + 1e-15, "not monotone at k={k}");
                assert!((0.0..=1.0).contains(&s));
                let c = nb_cdf(k, mu, alpha);
                if k >= 1 {
                    // sf(k) + cdf(k - 1) = 1
                    assert!((s + nb_cdf(k - 1, mu, alpha) - 1.0).abs() < 1e-12);
                }
                assert!((0.0..=1.0).contains(&c));
                prev = s;
            }
        }
        // alpha -> 0 equals Poisson.
        for &mu in &[0.3, 12.0, 4000.0] {
            for &k in &[1u64, 5, 20, 60, 4100, 4300] {
                assert!(rel_close(nb_sf(k, mu, 1e-13), poisson_sf(k, mu), 1e-12));
                assert!(rel_close(nb_sf(k, mu, 0.0), poisson_sf(k, mu), 1e-15));
                let near = nb_sf(k, mu, 1e-7);
                assert!(rel_close(near, poisson_sf(k, mu), 1e-2), "k={k} mu={mu}");
            }
        }
        // Heavier upper tail than Poisson for alpha > 0.
        for &(k, mu) in &[(10u64, 2.0), (40, 20.0), (1200, 1000.0)] {
            assert!(nb_sf(k, mu, 0.1) > poisson_sf(k, mu));
            assert!(nb_sf(k, mu, 0.5) > nb_sf(k, mu, 0.1));
        }
        // Extreme inputs: finite and in [0, 1].
        let cases = [
            (0u64, 0.0, 0.5),
            (1, 0.0, 0.5),
            (0, 3.0, 0.5),
            (1_000_000_000, 1.0, 0.3),
            (1_000_000_000, 1e7, 0.3),
            (1, 1e7, 0.3),
            (10_000_000, 1e7, 1e-9),
            (10_000_000, 1e7, 0.01),
            (u64::MAX, 2.0, 2.0),
            (3, 1e300, 1.0),
            (3, 2.0, 1e9),
            (3, 2.0, f64::NAN),
            (3, f64::NAN, 0.2),
            (3, f64::INFINITY, 0.2),
        ];
        for &(k, mu, alpha) in &cases {
            for v in [nb_sf(k, mu, alpha), nb_cdf(k, mu, alpha)] {
                assert!((0.0..=1.0).contains(&v), "k={k} mu={mu} a={alpha}: {v}");
            }
        }
        assert_eq!(nb_sf(1, 0.0, 0.5), 0.0);
        assert_eq!(nb_cdf(0, 0.0, 0.5), 1.0);
        // Tiny tails are returned, not flushed to zero early.
        let t = nb_sf(300, 5.0, 0.2);
        assert!(t > 0.0 && t < 1e-60, "{t}");
    }

    #[test]
    fn nb_sum_is_exact_in_the_special_cases_and_close_otherwise() {
        // alpha = 0: sum of Poissons.
        let mus = [0.5, 2.0, 7.0];
        assert!(rel_close(
            nb_sum_sf(20, &mus, 0.0),
            poisson_sf(20, 9.5),
            1e-15
        ));
        // Equal means: exact NB(n mu, alpha / n).
        let eq = [3.0; 4];
        assert!(rel_close(
            nb_sum_sf(30, &eq, 0.4),
            nb_sf(30, 12.0, 0.1),
            1e-12
        ));
        // Unequal means: compare with the exact convolution of the pmfs.
        let (alpha, mus) = (0.3, [1.0, 6.0, 15.0]);
        let n = 600usize;
        let mut conv = vec![0.0; n];
        conv[0] = 1.0;
        for &mu in &mus {
            let pmf: Vec<f64> = (0..n)
                .map(|j| ln_nb_pmf(j as u64, mu, alpha).exp())
                .collect();
            let mut next = vec![0.0; n];
            for (i, &a) in conv.iter().enumerate() {
                for (j, &b) in pmf.iter().enumerate().take(n - i) {
                    next[i + j] += a * b;
                }
            }
            conv = next;
        }
        for &k in &[22usize, 35, 60] {
            let exact: f64 = conv[k..].iter().sum();
            let approx = nb_sum_sf(k as u64, &mus, alpha);
            assert!(
                approx / exact > 0.5 && approx / exact < 2.0,
                "k={k}: {approx} vs {exact}"
            );
        }
        assert_eq!(nb_sum_sf(0, &[], 0.3), 1.0);
        assert_eq!(nb_sum_sf(1, &[], 0.3), 0.0);
        let c = nb_sum_cdf(2, &mus, alpha);
        assert!((c + nb_sum_sf(3, &mus, alpha) - 1.0).abs() < 1e-12);
    }

    #[test]
    fn min_detectable_is_the_threshold() {
        for &(mu, alpha, p) in &[(0.05, 0.1, 1e-6), (3.0, 0.0, 1e-3), (500.0, 0.05, 1e-9)] {
            let k = min_detectable(mu, alpha, p);
            assert!(nb_sf(k, mu, alpha) <= p);
            assert!(nb_sf(k - 1, mu, alpha) > p);
        }
        assert_eq!(min_detectable(3.0, 0.1, 1.0), 0);
        assert_eq!(min_detectable(0.0, 0.1, 0.01), 1);
        assert_eq!(min_detectable(f64::INFINITY, 0.1, 0.01), u64::MAX);
    }

    /// Gamma-Poisson draws: NB with mean `mu` and dispersion `alpha`.
    fn draw_nb(rng: &mut StdRng, mu: f64, alpha: f64) -> f64 {
        let lambda = if alpha == 0.0 {
            mu
        } else {
            Gamma::new(1.0 / alpha, mu * alpha).unwrap().sample(rng)
        };
        if lambda <= 1e-12 {
            0.0
        } else {
            Poisson::new(lambda).unwrap().sample(rng)
        }
    }

    fn simulate(seed: u64, n: usize, alpha: f64) -> (Vec<f64>, Vec<f64>) {
        let mut rng = StdRng::seed_from_u64(seed);
        let means: Vec<f64> = (0..n)
            .map(|i| 5.0 + 20.0 * (1.0 + (i as f64 * 0.26).sin()))
            .collect();
        let counts = means.iter().map(|&m| draw_nb(&mut rng, m, alpha)).collect();
        (counts, means)
    }

    #[test]
    fn dispersion_is_recovered_and_robust() {
        for (seed, &alpha) in [0.0, 0.2, 1.0].iter().enumerate() {
            let (mut counts, means) = simulate(seed as u64 + 7, 4000, alpha);
            let est = estimate_dispersion(&counts, &means);
            let tol = 0.02 + 0.12 * alpha;
            assert!((est - alpha).abs() <= tol, "alpha={alpha}: estimated {est}");
            // One huge outlier (an incident) barely moves it.
            counts[1234] = 50_000.0;
            let with_outlier = estimate_dispersion(&counts, &means);
            assert!(
                (with_outlier - est).abs() <= 0.01 + 0.02 * alpha,
                "alpha={alpha}: {est} -> {with_outlier}"
            );
            // An outage (zeros for a few hours) neither.
            for c in counts.iter_mut().skip(2000).take(5) {
                *c = 0.0;
            }
            let with_outage = estimate_dispersion(&counts, &means);
            assert!(
                (with_outage - est).abs() <= 0.02 + 0.03 * alpha,
                "{est} -> {with_outage}"
            );
        }
        // Without the robust steps a single outlier would have dominated.
        let (mut counts, means) = simulate(3, 4000, 0.2);
        counts[10] = 50_000.0;
        let keep = vec![true; counts.len()];
        let pairs: Vec<(f64, f64)> = counts.iter().copied().zip(means.iter().copied()).collect();
        let (num, den) = moment_sums(&pairs, &keep);
        assert!(num / den > 1.0);
    }

    #[test]
    fn dispersion_edges() {
        assert_eq!(estimate_dispersion(&[], &[]), DISPERSION_PRIOR);
        assert_eq!(
            estimate_dispersion(&[1.0, 2.0, 3.0], &[2.0, 2.0, 2.0]),
            DISPERSION_PRIOR
        );
        // Means of zero are unusable.
        assert_eq!(
            estimate_dispersion(&[0.0; 50], &[0.0; 50]),
            DISPERSION_PRIOR
        );
        // Nearly empty series: close to the prior, never NaN.
        let counts = [0.0; 200];
        let means = [0.01; 200];
        let a = estimate_dispersion(&counts, &means);
        assert!(a.is_finite() && (0.0..=MAX_DISPERSION).contains(&a));
        // Wild data is clamped.
        let counts: Vec<f64> = (0..100)
            .map(|i| if i % 2 == 0 { 0.0 } else { 1e4 })
            .collect();
        let means = vec![1.0; 100];
        assert_eq!(estimate_dispersion(&counts, &means), MAX_DISPERSION);
    }

    #[test]
    fn median_and_mad() {
        assert_eq!(median(&mut []), 0.0);
        assert_eq!(median(&mut [4.0]), 4.0);
        assert_eq!(median(&mut [3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&mut [4.0, 1.0, 3.0, 2.0]), 2.5);
        assert_eq!(median(&mut [f64::NAN, 1.0, 5.0, -f64::NAN]), 3.0);
        assert_eq!(mad(&[]), 0.0);
        assert_eq!(mad(&[7.0]), 0.0);
        assert_eq!(mad(&[1.0, 2.0, 3.0, 4.0, 100.0]), 1.0);
        assert_eq!(mad(&[1.0, 2.0, 4.0, 8.0]), 1.5);
    }

    #[test]
    fn robust_means() {
        assert_eq!(robust_mean(&[]), 0.0);
        assert_eq!(robust_mean(&[3.0]), 3.0);
        // A spike in 1 of 4 weeks is ignored.
        assert_eq!(robust_mean(&[100.0, 96.0, 104.0, 900.0]), 100.0);
        assert_eq!(robust_count_mean(&[100.0, 96.0, 104.0, 900.0]), 100.0);
        assert_eq!(robust_count_mean(&[0.0, 0.0, 0.0, 40.0]), 0.0);
        // Well-behaved data: the plain mean.
        let v = [10.0, 12.0, 9.0, 11.0, 13.0, 8.0, 10.5];
        let plain = v.iter().sum::<f64>() / v.len() as f64;
        assert!((robust_mean(&v) - plain).abs() < 1e-12);
        assert!((robust_count_mean(&[3.0, 5.0, 4.0, 6.0]) - 4.5).abs() < 1e-12);
        assert!((robust_count_mean(&[0.0, 1.0, 0.0, 0.0]) - 0.25).abs() < 1e-12);
        // MAD = 0 but a far value: still ignored.
        assert_eq!(robust_mean(&[5.0, 5.0, 5.0, 5.0, 5.0, 5.0, 1000.0]), 5.0);
        assert_eq!(robust_mean(&[2.0, 2.0]), 2.0);
        assert!(robust_mean(&[f64::NAN, 1.0, 3.0]) == 2.0);
    }

    /// Hourly series for `days` days starting Monday 00:00 with a base rate, a nightly burst
    /// at 02:00 and small deterministic wiggle.
    fn nightly_series(days: usize) -> Vec<f64> {
        (0..days * 24)
            .map(|i| {
                let h = i % 24;
                let base = if (8..18).contains(&h) { 6.0 } else { 2.0 };
                let wiggle = ((i * 7919) % 5) as f64 - 2.0; // -2..=2
                let burst = if h == 2 { 60.0 } else { 0.0 };
                (base + burst + wiggle).max(0.0)
            })
            .collect()
    }

    #[test]
    fn seasonal_learns_a_nightly_burst() {
        let series = nightly_series(28);
        let p = fit_seasonal(&series, 0);
        p.validate().unwrap();
        assert_eq!(p.weeks, 4.0);
        for day in 0..7 {
            let at2 = p.expected_per_hour(day * 24 + 2);
            let at3 = p.expected_per_hour(day * 24 + 3);
            assert!(at2 > 55.0 && at2 < 66.0, "day {day}: 02:00 {at2}");
            assert!(at3 < 5.0, "day {day}: 03:00 {at3}");
        }
        assert!(p.hour_of_day[2] > 55.0);
        assert!(p.level > 3.0 && p.level < 8.0);
        // The same with a start in the middle of the week.
        let q = fit_seasonal(&series[5..], 5);
        assert!((q.expected_per_hour(26) - p.expected_per_hour(26)).abs() < 3.0);
    }

    #[test]
    fn seasonal_ignores_one_odd_week_but_keeps_weekly_patterns() {
        let mut series = nightly_series(28);
        // Week 3, Wednesday 14:00: an incident.
        let slot = 2 * 24 + 14;
        series[2 * 168 + slot] = 500.0;
        // A weekly job: Monday 04:00, every week.
        for w in 0..4 {
            series[w * 168 + 4] = 40.0;
        }
        // Weekends are silent during business hours.
        for w in 0..4 {
            for d in 5..7 {
                for h in 8..18 {
                    series[w * 168 + d * 24 + h] = 0.0;
                }
            }
        }
        let p = fit_seasonal(&series, 0);
        let others = p.expected_per_hour(24 + 14);
        assert!(
            (p.expected_per_hour(slot) - others).abs() < 2.0,
            "{}",
            p.expected_per_hour(slot)
        );
        assert!(
            p.expected_per_hour(4) > 35.0,
            "weekly job {}",
            p.expected_per_hour(4)
        );
        assert!(p.expected_per_hour(24 + 4) < 5.0);
        assert!(
            p.expected_per_hour(5 * 24 + 12) < 0.5,
            "saturday {}",
            p.expected_per_hour(5 * 24 + 12)
        );
        assert!(p.expected_per_hour(12) > 3.0);
    }

    #[test]
    fn seasonal_short_history_falls_back() {
        // 7 days: the weekly profile is the daily one.
        let p = fit_seasonal(&nightly_series(7), 0);
        for s in 0..HOURS_PER_WEEK {
            assert_eq!(p.hour_of_week[s], p.hour_of_day[s % 24]);
            assert!(p.hour_of_week[s].is_finite());
        }
        assert!(p.expected_per_hour(2) > 55.0);
        assert!(p.expected_per_hour(3) < 5.0);
        // 12 hours: flat.
        let p = fit_seasonal(&nightly_series(1)[..12], 0);
        assert!(p.level > 0.0);
        assert!(p.hour_of_week.iter().all(|&x| x == p.level));
        assert!(p.hour_of_day.iter().all(|&x| x == p.level));
        // One call in 12 hours still gives a positive level.
        let mut sparse = vec![0.0; 12];
        sparse[7] = 1.0;
        let p = fit_seasonal(&sparse, 100);
        assert!(p.level > 0.0 && p.expected_per_hour(0) > 0.0);
        // Nothing at all.
        let p = fit_seasonal(&[], 0);
        p.validate().unwrap();
        assert_eq!(p.level, 0.0);
        assert_eq!(p.weeks, 0.0);
        assert!(p.hour_of_week.iter().all(|&x| x == 0.0));
        // Missing hours and garbage.
        let p = fit_seasonal(&[f64::NAN, -3.0, f64::INFINITY, 2.0], 0);
        p.validate().unwrap();
        assert!(p.level > 0.0);
    }

    #[test]
    fn seasonal_profile_serde_round_trip_and_validation() {
        let p = fit_seasonal(&nightly_series(14), 0);
        let json = serde_json::to_string(&p).unwrap();
        let back: SeasonalProfile = serde_json::from_str(&json).unwrap();
        // serde_json's default float parsing may differ in the last bit.
        for (a, b) in back.hour_of_week.iter().zip(&p.hour_of_week) {
            assert!((a - b).abs() <= 1e-12 * b.abs());
        }
        assert_eq!(back.hour_of_week.len(), HOURS_PER_WEEK);
        assert_eq!(back.weeks, p.weeks);
        let mut bad: serde_json::Value = serde_json::from_str(&json).unwrap();
        bad["hour_of_week"].as_array_mut().unwrap().pop();
        let err = serde_json::from_value::<SeasonalProfile>(bad).unwrap_err();
        assert!(err.to_string().contains("167"), "{err}");
        assert!(SeasonalProfile::new(vec![0.0; 168], [0.0; 24], -1.0, 1.0).is_err());
        let short = SeasonalProfile {
            hour_of_week: vec![],
            hour_of_day: [1.0; 24],
            level: 1.0,
            weeks: 0.0,
        };
        assert_eq!(short.expected_per_hour(5), 1.0);
        assert_eq!(short.validate(), Err(ProfileError::HourOfWeekLength(0)));
    }

    #[test]
    fn scores() {
        assert_eq!(score_from_p(1.0), 0.0);
        assert_eq!(score_from_p(f64::NAN), 0.0);
        assert_eq!(score_from_p(0.0), 100.0);
        assert!(score_from_p(0.05) > 0.0 && score_from_p(0.05) < 15.0);
        assert!(score_from_p(1e-12) >= 95.0);
        let mut prev = -1.0;
        let mut p = 0.099;
        while p > 1e-300 {
            let s = score_from_p(p);
            // Strictly increasing until the score rounds to 100 in f64 (p ~ 1e-50).
            if p > 1e-40 {
                assert!(s > prev, "p={p}");
            } else {
                assert!(s >= prev, "p={p}");
            }
            assert!((0.0..=100.0).contains(&s), "p={p}");
            prev = s;
            p /= 3.0;
        }
    }
}
