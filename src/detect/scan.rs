//! Finding anomalous windows in a count series against its expectation: every window length
//! is tried at every start (prefix sums keep it linear), cheap ratio filters run before any
//! tail probability, and overlapping hits collapse into the best one, grown over adjacent
//! anomalous buckets so one incident gives one finding.

use crate::baseline::stats;

/// Which tail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tail {
    /// More than expected.
    Up,
    /// Less than expected.
    Down,
}

/// Scan settings.
#[derive(Debug, Clone)]
pub(crate) struct Params<'a> {
    pub(crate) tail: Tail,
    /// Window lengths in buckets.
    pub(crate) lens: &'a [usize],
    pub(crate) min_score: f64,
    /// Up: at least this many observed in the window.
    pub(crate) min_observed: f64,
    /// Up: observed ≥ ratio × expected. Down: observed ≤ expected / ratio.
    pub(crate) ratio: f64,
    /// Down: at least this many expected in the window.
    pub(crate) min_expected: f64,
    /// Up: recurring burst sizes learned from the baseline (see
    /// [`crate::baseline::burst_ceiling`]); a window must exceed `burst_margin` times the
    /// ceiling for its length. Empty: no ceiling.
    pub(crate) ceiling: &'a [f64],
    /// Multiplier on the ceiling.
    pub(crate) burst_margin: f64,
}

/// Window lengths in 5-minute buckets from the config's minutes.
pub(crate) fn lens(minutes: &[u32]) -> Vec<usize> {
    minutes.iter().map(|m| (*m as usize / 5).max(1)).collect()
}

impl<'a> Params<'a> {
    /// Settings for an upper-tail (spike or burst) scan.
    pub(crate) fn spike(
        lens: &'a [usize],
        min_score: f64,
        min_observed: f64,
        ratio: f64,
        burst_margin: f64,
    ) -> Params<'a> {
        Params {
            tail: Tail::Up,
            lens,
            min_score,
            min_observed,
            ratio,
            min_expected: 0.0,
            ceiling: &[],
            burst_margin,
        }
    }

    /// The same settings with another burst ceiling.
    pub(crate) fn with_ceiling(&self, ceiling: &'a [f64]) -> Params<'a> {
        Params {
            ceiling,
            ..self.clone()
        }
    }
}

/// One anomalous window.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Hit {
    pub(crate) start: usize,
    pub(crate) len: usize,
    pub(crate) observed: f64,
    pub(crate) expected: f64,
    pub(crate) p: f64,
    pub(crate) score: f64,
}

fn prefix(v: &[f64]) -> Vec<f64> {
    let mut p = Vec::with_capacity(v.len() + 1);
    let mut acc = 0.0;
    p.push(0.0);
    for x in v {
        acc += x;
        p.push(acc);
    }
    p
}

fn tail_p(tail: Tail, o: f64, e: f64, alpha: f64) -> f64 {
    let e = e.max(1e-9);
    match tail {
        Tail::Up => stats::nb_sf(o.round() as u64, e, alpha),
        Tail::Down => stats::nb_cdf(o.round() as u64, e, alpha),
    }
}

fn passes(p: &Params<'_>, o: f64, e: f64, len: usize) -> bool {
    match p.tail {
        Tail::Up => {
            o >= p.min_observed
                && o >= p.ratio * e
                && (p.ceiling.is_empty()
                    || o > p.burst_margin * crate::baseline::ceiling_for(p.ceiling, len))
        }
        Tail::Down => e >= p.min_expected && o * p.ratio <= e,
    }
}

/// Anomalous, non-overlapping windows of `obs` against `exp` (same length), best first.
pub(crate) fn scan(obs: &[f64], exp: &[f64], alpha: f64, p: &Params<'_>) -> Vec<Hit> {
    let n = obs.len().min(exp.len());
    let (po, pe) = (prefix(&obs[..n]), prefix(&exp[..n]));
    let mut cands = Vec::new();
    for &len in p.lens {
        if len == 0 || len > n {
            continue;
        }
        for i in 0..=n - len {
            let (o, e) = (po[i + len] - po[i], pe[i + len] - pe[i]);
            if !passes(p, o, e, len) {
                continue;
            }
            let pv = tail_p(p.tail, o, e, alpha);
            let score = stats::score_from_p(pv);
            if score >= p.min_score {
                cands.push(Hit {
                    start: i,
                    len,
                    observed: o,
                    expected: e,
                    p: pv,
                    score,
                });
            }
        }
    }
    cands.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then(b.len.cmp(&a.len))
            .then(a.start.cmp(&b.start))
    });
    let mut chosen: Vec<Hit> = Vec::new();
    let overlaps = |h: &Hit, chosen: &[Hit]| {
        chosen
            .iter()
            .any(|c| h.start < c.start + c.len && c.start < h.start + h.len)
    };
    for c in cands {
        if overlaps(&c, &chosen) {
            continue;
        }
        // Grow over adjacent buckets that are anomalous on their own, while that does not
        // make the window less surprising.
        let mut best = c.clone();
        let single = |j: usize| match p.tail {
            Tail::Up => obs[j] >= 1.0 && obs[j] >= p.ratio * exp[j],
            Tail::Down => exp[j] > 0.0 && obs[j] * p.ratio <= exp[j],
        };
        loop {
            let mut grown = false;
            for (s, l) in [
                (best.start.wrapping_sub(1), best.len + 1),
                (best.start, best.len + 1),
            ] {
                if s >= n || s + l > n {
                    continue;
                }
                let edge = if s < best.start { s } else { s + l - 1 };
                if !single(edge) {
                    continue;
                }
                let (o, e) = (po[s + l] - po[s], pe[s + l] - pe[s]);
                let pv = tail_p(p.tail, o, e, alpha);
                if pv <= best.p * 1e3 && stats::score_from_p(pv) >= p.min_score {
                    let h = Hit {
                        start: s,
                        len: l,
                        observed: o,
                        expected: e,
                        p: pv,
                        score: stats::score_from_p(pv),
                    };
                    if !overlaps(&h, &chosen) {
                        best = h;
                        grown = true;
                        break;
                    }
                }
            }
            if !grown {
                break;
            }
        }
        chosen.push(best);
    }
    chosen.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.start.cmp(&b.start)));
    chosen
}

#[cfg(test)]
mod tests {
    use super::*;

    fn up(lens: &[usize]) -> Params<'_> {
        Params {
            tail: Tail::Up,
            lens,
            min_score: 50.0,
            min_observed: 10.0,
            ratio: 3.0,
            min_expected: 0.0,
            ceiling: &[],
            burst_margin: 1.5,
        }
    }

    #[test]
    fn finds_one_spike_and_grows_it() {
        let mut obs = vec![2.0; 288];
        let exp = vec![2.0; 288];
        for o in &mut obs[100..106] {
            *o = 40.0;
        }
        let hits = scan(&obs, &exp, 0.1, &up(&[1, 3]));
        assert_eq!(hits.len(), 1, "{hits:?}");
        assert_eq!((hits[0].start, hits[0].len), (100, 6));
        assert_eq!(hits[0].observed, 240.0);
        assert!(hits[0].score > 90.0);
    }

    #[test]
    fn quiet_noise_and_small_counts_are_not_hits() {
        // Poisson-ish noise around its expectation.
        let obs: Vec<f64> = (0..2016)
            .map(|i| [1.0, 3.0, 2.0, 0.0, 4.0, 2.0][i % 6])
            .collect();
        let exp = vec![2.0; 2016];
        assert!(scan(&obs, &exp, 0.2, &up(&[1, 3, 6, 12])).is_empty());
        // A jump from 0.01 to 3 is large in ratio but below min_observed.
        let mut obs = vec![0.0; 100];
        obs[50] = 3.0;
        assert!(scan(&obs, &[0.01; 100], 0.2, &up(&[1])).is_empty());
    }

    #[test]
    fn recurring_bursts_below_the_ceiling_are_routine() {
        let mut obs = vec![2.0; 288];
        let exp = vec![2.0; 288];
        for o in &mut obs[100..106] {
            *o = 40.0;
        }
        // Bursts of 240 in 30 minutes happen on most days: 240 is not above 1.5 × 200.
        let ceiling = [60.0, 120.0, 200.0, 260.0, 300.0, 320.0];
        let mut p = up(&[1, 3, 6]);
        p.ceiling = &ceiling;
        assert!(scan(&obs, &exp, 0.1, &p).is_empty());
        // Twice the usual burst is not.
        for o in &mut obs[100..106] {
            *o = 80.0;
        }
        assert_eq!(scan(&obs, &exp, 0.1, &p).len(), 1);
    }

    #[test]
    fn drops_need_enough_expected() {
        let mut obs = vec![50.0; 288];
        for o in &mut obs[120..156] {
            *o = 0.0;
        }
        let p = Params {
            tail: Tail::Down,
            lens: &[12, 24],
            min_score: 50.0,
            min_observed: 0.0,
            ratio: 5.0,
            min_expected: 30.0,
            ceiling: &[],
            burst_margin: 1.5,
        };
        let hits = scan(&obs, &[50.0; 288], 0.05, &p);
        assert_eq!(hits.len(), 1);
        assert_eq!((hits[0].start, hits[0].len), (120, 36));
        // A low-rate series going quiet is not a drop.
        assert!(scan(&vec![0.0; 288], &[0.05; 288], 0.05, &p).is_empty());
    }
}
