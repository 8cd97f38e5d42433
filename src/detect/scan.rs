//! Finding anomalous windows in a count series against its expectation: every window length
//! is tried at every start (prefix sums keep it linear), cheap ratio filters run before any
//! tail probability, and overlapping hits collapse into the best one, grown over adjacent
//! anomalous buckets so one incident gives one finding.

use crate::baseline::{stats, Bursts, Lulls};

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
    /// The entity's burst history ([`Bursts`]). Up: a window must exceed `burst_margin` times
    /// its recurring burst size ([`Bursts::ceiling`]); both tails: how often the size was
    /// reached feeds the score ([`super::calibrate`]). None: no history.
    pub(crate) history: Option<&'a Bursts>,
    /// Down: the series' quiet history ([`Lulls`]): how often it was this quiet feeds the
    /// score. None: no history.
    pub(crate) lulls: Option<&'a Lulls>,
    /// Multiplier on the ceiling.
    pub(crate) burst_margin: f64,
    /// Training days of the entity (0: never seen), the `n` of [`super::calibrate`].
    pub(crate) days: u32,
    /// When the scanned series' first bucket begins (Unix seconds), so that a burst can be
    /// matched with the same weekday's a week earlier ([`Bursts::precedent_days`]). None: no
    /// weekly matching.
    pub(crate) origin: Option<i64>,
}

/// Hits of one series at most this many buckets apart are one episode (15 minutes).
const MERGE_GAP: usize = 3;

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
            history: None,
            lulls: None,
            burst_margin,
            days: 0,
            origin: None,
        }
    }

    /// The same settings for an entity with this history (`None` and 0: never seen).
    pub(crate) fn with_history(&self, history: Option<&'a Bursts>, days: u32) -> Params<'a> {
        Params {
            history,
            days,
            ..self.clone()
        }
    }

    /// The same settings for a series whose first bucket begins at `origin` (Unix seconds).
    pub(crate) fn at(&self, origin: i64) -> Params<'a> {
        Params {
            origin: Some(origin),
            ..self.clone()
        }
    }

    /// Windows tried per day (288 starts × the window lengths): the `m` of
    /// [`super::calibrate`].
    pub(crate) fn tests_per_day(&self) -> f64 {
        (288 * self.lens.len()) as f64
    }

    /// The calibrated score of a window of `len` buckets from bucket `start` with `observed`
    /// calls against `expected` and model tail probability `p`: spikes count the days a window
    /// reached half the size (a week earlier at the same hour counting as a rhythm), drops the
    /// days one was within twice as quiet (or under a tenth of normal).
    fn score(&self, p: f64, start: usize, len: usize, observed: f64, expected: f64) -> f64 {
        let tests = self.tests_per_day();
        let k = match self.tail {
            Tail::Up => self.history.map_or(0.0, |b| {
                let at = self
                    .origin
                    .map(|o| o + start as i64 * crate::time::BUCKET_SECS);
                super::calibrate::precedent(b, len, observed, at)
            }),
            Tail::Down => self.lulls.map_or(0.0, |l| {
                let ratio = observed / expected.max(1e-9);
                super::calibrate::days_of_precedent(
                    l.days_below(len, (ratio / super::calibrate::SAME_ORDER).max(0.1)),
                )
            }),
        };
        super::calibrate::score(p, tests, k, self.days)
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

impl Hit {
    /// This spike's score against another entity's burst history `history` (the same role in
    /// another account), its window beginning at `at` (Unix seconds): what it would score had
    /// that history been its own.
    pub(crate) fn score_against(&self, params: &Params<'_>, history: &Bursts, at: i64) -> f64 {
        let k = super::calibrate::precedent(history, self.len, self.observed, Some(at));
        super::calibrate::score(self.p, params.tests_per_day(), k, history.days)
    }
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
                && p.history
                    .is_none_or(|b| o > p.burst_margin * b.ceiling(len))
        }
        Tail::Down => e >= p.min_expected && o * p.ratio <= e,
    }
}

/// Anomalous, non-overlapping windows of `obs` against `exp` (same length), best first.
pub(crate) fn scan(obs: &[f64], exp: &[f64], alpha: f64, p: &Params<'_>) -> Vec<Hit> {
    let n = obs.len().min(exp.len());
    let (po, pe) = (stats::prefix_sums(&obs[..n]), stats::prefix_sums(&exp[..n]));
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
            let score = p.score(pv, i, len, o, e);
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
    // Most surprising first by the model's p: calibrated scores stop at the ceiling of the
    // entity's history and would not tell a window from a longer one that only adds quiet
    // buckets.
    cands.sort_by(|a, b| {
        a.p.total_cmp(&b.p)
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
                let score = p.score(pv, s, l, o, e);
                if pv <= best.p * 1e3 && score >= p.min_score {
                    let h = Hit {
                        start: s,
                        len: l,
                        observed: o,
                        expected: e,
                        p: pv,
                        score,
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
    // One episode, one finding: hits of the series a short pause apart become one window,
    // as surprising as its strongest part at least.
    chosen.sort_by_key(|h| h.start);
    let mut merged: Vec<Hit> = Vec::with_capacity(chosen.len());
    for h in chosen {
        match merged.last_mut() {
            Some(last) if h.start <= last.start + last.len + MERGE_GAP => {
                let start = last.start;
                let end = (h.start + h.len).max(last.start + last.len);
                let (o, e) = (po[end] - po[start], pe[end] - pe[start]);
                let pv = tail_p(p.tail, o, e, alpha).min(last.p).min(h.p);
                *last = Hit {
                    start,
                    len: end - start,
                    observed: o,
                    expected: e,
                    p: pv,
                    score: p
                        .score(pv, start, end - start, o, e)
                        .max(last.score)
                        .max(h.score),
                };
            }
            _ => merged.push(h),
        }
    }
    merged.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then(a.p.total_cmp(&b.p))
            .then(a.start.cmp(&b.start))
    });
    merged
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
            history: None,
            lulls: None,
            burst_margin: 1.5,
            days: 0,
            origin: None,
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
        // No history: the ceiling of the model's seven pseudo-days (700 days).
        assert!(hits[0].score > 76.0, "{}", hits[0].score);
    }

    #[test]
    fn bursts_a_short_pause_apart_are_one_episode() {
        // Three bursts with 10-minute pauses (a real traffic episode), then one an hour later.
        let mut obs = vec![2.0; 288];
        let exp = vec![2.0; 288];
        for i in [100, 101, 104, 105, 108, 109, 130, 131] {
            obs[i] = 40.0;
        }
        let hits = scan(&obs, &exp, 0.1, &up(&[1, 2]));
        assert_eq!(hits.len(), 2, "{hits:?}");
        let mut spans: Vec<(usize, usize)> = hits.iter().map(|h| (h.start, h.len)).collect();
        spans.sort();
        assert_eq!(spans, vec![(100, 10), (130, 2)]);
        let episode = hits.iter().find(|h| h.start == 100).unwrap();
        assert_eq!(episode.observed, 6.0 * 40.0 + 4.0 * 2.0);
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
        let history = Bursts {
            peaks: Vec::new(),
            days: 28,
            daily_max: [60.0, 120.0, 200.0, 260.0, 300.0, 320.0]
                .iter()
                .map(|m| vec![*m; 5])
                .collect(),
        };
        let p = up(&[1, 3, 6]).with_history(Some(&history), 28);
        assert!(scan(&obs, &exp, 0.1, &p).is_empty());
        // Twice the usual burst passes the ceiling, but lies in the series' own tail of
        // bursts (about every three weeks, [`super::calibrate::precedent`]): under 50.
        for o in &mut obs[100..106] {
            *o = 80.0;
        }
        assert!(scan(&obs, &exp, 0.1, &p).is_empty());
        // Five times is rarer than that.
        for o in &mut obs[100..106] {
            *o = 170.0;
        }
        assert_eq!(scan(&obs, &exp, 0.1, &p).len(), 1);
    }

    #[test]
    fn a_size_reached_in_history_scores_lower_than_a_new_one() {
        let mut obs = vec![2.0; 288];
        let exp = vec![2.0; 288];
        for o in &mut obs[100..106] {
            *o = 40.0;
        }
        let never = Bursts {
            peaks: Vec::new(),
            days: 28,
            daily_max: vec![Vec::new(); 6],
        };
        // Bursts of 10 on ten days: 240 is 24 times that, far out in the series' tail.
        let small = Bursts {
            daily_max: vec![vec![10.0; 10]; 6],
            ..never.clone()
        };
        // The same 240-call window was reached on 4 of the 28 days (ceiling margin 1.0 lets
        // it through the routine filter, so only the score tells them apart).
        let mut sometimes = small.clone();
        for v in &mut sometimes.daily_max {
            v[..4].fill(300.0);
            v.sort_by(|a, b| b.total_cmp(a));
        }
        let mut p = up(&[6]);
        p.burst_margin = 0.0;
        p.min_score = 0.0;
        let top = |b: &Bursts| scan(&obs, &exp, 0.1, &p.with_history(Some(b), 28))[0].score;
        let (new, far, seen) = (top(&never), top(&small), top(&sometimes));
        // Never reached in 28 days: the ceiling of size alone (3,500 days).
        assert!(new > 88.0, "{new}");
        // 24 times the series' bursts: 2 · (10/120)^1.5 days in 35, about every two years.
        assert!((75.0..80.0).contains(&far), "{far}");
        // 4 days in 28 (+7 model pseudo-days): about weekly, score ~ 20·log10(35/4) + 20.
        assert!((35.0..45.0).contains(&seen), "{seen}");
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
            history: None,
            lulls: None,
            burst_margin: 1.5,
            days: 0,
            origin: None,
        };
        let hits = scan(&obs, &[50.0; 288], 0.05, &p);
        assert_eq!(hits.len(), 1);
        assert_eq!((hits[0].start, hits[0].len), (120, 36));
        // A low-rate series going quiet is not a drop.
        assert!(scan(&vec![0.0; 288], &[0.05; 288], 0.05, &p).is_empty());
    }
}
