//! Which forecast to publish: follow the leader among three experts, naive last-value first.
//!
//! "The value will not change" (naive last-value) is a strong forecast for bursty container
//! metrics: on a busy real service a fitted model that chases every burst loses to it. So the
//! published forecast is chosen per series, online, among three experts:
//!
//! 0. **naive** — the last value;
//! 1. **model** — the blend of candidates and the ramp gate;
//! 2. **held model** — the model, except for a horizon after a jump of many noise scales, when it
//!    says naive (whatever a jump turns into, a step or a burst, the last value is the safest bet).
//!
//! Each expert's forecast waits for its outcome (a horizon later: no lookahead), and the realised
//! absolute errors update an exponentially weighted mean per expert, over the same outcomes. The
//! published expert is the one with the lowest mean, but a model expert must beat naive's by
//! `margin` and its edge over naive must be clearly more than noise — its mean, over the same
//! outcomes, `confidence` standard errors above zero (naive is the default: it costs nothing to
//! be wrong with it, and on a series no model can forecast a lower mean is often luck, which
//! publishing would pay for) — and the published model expert is replaced by the other only when
//! that one is better by `margin` too, so the choice does not flap on noise.
//!
//! Why both model experts: every expert is scored on what it would actually publish. The held
//! model wins on bursts (the jump is over before the model could use it), the plain one on leaks
//! and ramps made of many jumps; which one holds on a given series is for its record to say.

/// Number of experts.
pub const EXPERTS: usize = 3;

/// Realised-error record of the experts and the current choice.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Selector {
    memory: f64,
    margin: f64,
    min_outcomes: usize,
    /// Exponentially weighted mean absolute error of each expert.
    mae: [f64; EXPERTS],
    /// Exponentially weighted mean and mean square, over the same outcomes, of each model
    /// expert's edge: naive's absolute error minus its own.
    edge: [(f64, f64); EXPERTS - 1],
    confidence: f64,
    outcomes: usize,
    /// Ticks left during which the held model says naive.
    held: usize,
    choice: usize,
}

impl Selector {
    /// `memory`: outcomes the means remember; `margin`: how much better (0.05 = 5 %) a challenger
    /// must be; `confidence`: how many standard errors above zero a model expert's edge over
    /// naive must be (0: any edge); `min_outcomes`: outcomes needed before a model expert may
    /// publish.
    pub fn new(memory: f64, margin: f64, confidence: f64, min_outcomes: usize) -> Self {
        Self {
            memory: if memory.is_finite() {
                memory.max(1.0)
            } else {
                100.0
            },
            margin: if margin.is_finite() {
                margin.clamp(0.0, 0.9)
            } else {
                0.05
            },
            min_outcomes,
            mae: [0.0; EXPERTS],
            edge: [(0.0, 0.0); EXPERTS - 1],
            confidence: if confidence.is_finite() {
                confidence.max(0.0)
            } else {
                0.0
            },
            outcomes: 0,
            held: 0,
            choice: 0,
        }
    }

    /// A jump: the held model says naive for the next `ticks` ticks (counting the current one).
    pub fn hold(&mut self, ticks: usize) {
        self.held = self.held.max(ticks + 1);
    }

    /// One tick has passed.
    pub fn tick(&mut self) {
        self.held = self.held.saturating_sub(1);
    }

    /// The experts' forecasts, given naive's (the last value) and the model's.
    pub fn forecasts(&self, naive: f64, model: f64) -> [f64; EXPERTS] {
        [naive, model, if self.held > 0 { naive } else { model }]
    }

    /// Learns one outcome: `errors[k]` is expert k's realised error on it.
    pub fn record(&mut self, errors: [f64; EXPERTS]) {
        if errors.iter().any(|e| !e.is_finite()) {
            return;
        }
        self.outcomes += 1;
        // A plain mean until the memory is full, exponential afterwards.
        let a = 1.0 / (self.outcomes as f64).min(self.memory);
        for (m, e) in self.mae.iter_mut().zip(errors) {
            *m += a * (e.abs() - *m);
        }
        for ((m, q), e) in self.edge.iter_mut().zip(&errors[1..]) {
            let d = errors[0].abs() - e.abs();
            *m += a * (d - *m);
            *q += a * (d * d - *q);
        }
        self.choice = self.next_choice();
    }

    fn next_choice(&self) -> usize {
        if self.outcomes < self.min_outcomes {
            return 0;
        }
        let keep = 1.0 - self.margin;
        // Between the two model experts: the published one stays unless clearly beaten.
        let model = match self.choice {
            c @ (1 | 2) => {
                let other = 3 - c;
                if self.mae[other] < keep * self.mae[c] {
                    other
                } else {
                    c
                }
            }
            _ => {
                if self.mae[2] <= self.mae[1] {
                    2
                } else {
                    1
                }
            }
        };
        if self.mae[model] < keep * self.mae[0] && self.clear_edge(model) {
            model
        } else {
            0
        }
    }

    /// Whether model expert `model`'s mean edge over naive is `confidence` standard errors above
    /// zero (the outcomes it is averaged over counted as the mean's memory).
    fn clear_edge(&self, model: usize) -> bool {
        let Some(&(mean, square)) = self.edge.get(model.wrapping_sub(1)) else {
            return false;
        };
        if self.confidence == 0.0 {
            return true;
        }
        let n = (self.outcomes as f64).min(self.memory);
        let variance = (square - mean * mean).max(0.0);
        mean > 0.0 && mean * mean * n > self.confidence * self.confidence * variance
    }

    /// Forgets the record (after a change of regime the old one no longer tells): naive again.
    pub fn reset(&mut self) {
        self.mae = [0.0; EXPERTS];
        self.edge = [(0.0, 0.0); EXPERTS - 1];
        self.outcomes = 0;
        self.choice = 0;
    }

    /// The expert to publish now.
    pub fn choice(&self) -> usize {
        self.choice
    }

    /// Mean absolute error of each expert.
    pub fn errors(&self) -> [f64; EXPERTS] {
        self.mae
    }
}

/// The running account of the published forecast against naive on one series: a model's
/// forecast may move away from naive's only by what the account can cover, so the published
/// cumulative absolute error never exceeds naive's by more than `allowance` of naive's own plus
/// the credit extended (a conservative-learning rule: the baseline's performance is the budget).
///
/// The realised regret `R` (published minus naive absolute error, summed over outcomes) is known
/// a horizon late; the forecasts still waiting for their outcome are charged in full meanwhile:
/// by the triangle inequality a published `v` can cost at most `|v − naive|` more than naive on
/// its outcome. So a deviation `d` is allowed only while `R + at_risk + |d| ≤ allowance · N + c`,
/// `N` naive's summed error and `c` the credit the caller extends now: the bound holds at every
/// moment, whatever the data (no lookahead, no distributional assumption). A model that beats
/// naive earns room to deviate further; one that loses spends the room and is pulled back to
/// naive. With no credit a model would start from no room at all and earn it slowly, a horizon
/// at a time; the forecaster lends in proportion to the model's recent edge over naive.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Account {
    allowance: f64,
    regret: f64,
    naive_sum: f64,
    at_risk: f64,
}

impl Account {
    pub fn new(allowance: f64) -> Self {
        Self {
            allowance: if allowance.is_finite() {
                allowance.clamp(0.0, 1.0)
            } else {
                0.0
            },
            ..Self::default()
        }
    }

    /// The forecast to publish for a model's `value` (naive's is `naive`): `value` moved toward
    /// naive as far as needed to stay within the account. Returns it and its charge.
    pub fn publish(&mut self, naive: f64, value: f64, credit: f64) -> (f64, f64) {
        let credit = if credit.is_finite() {
            credit.max(0.0)
        } else {
            0.0
        };
        let room = (self.allowance * self.naive_sum + credit - self.regret - self.at_risk).max(0.0);
        let d = (value - naive).clamp(-room, room);
        let d = if d.is_finite() { d } else { 0.0 };
        self.at_risk += d.abs();
        (naive + d, d.abs())
    }

    /// An outcome `y` for a forecast published as `published` with charge `risk`.
    pub fn settle(&mut self, y: f64, published: f64, naive: f64, risk: f64) {
        self.release(risk);
        let (p, n) = ((y - published).abs(), (y - naive).abs());
        if p.is_finite() && n.is_finite() {
            self.regret += p - n;
            self.naive_sum += n;
        }
    }

    /// A forecast whose outcome will never be seen (a gap) no longer risks anything.
    pub fn release(&mut self, risk: f64) {
        self.at_risk = (self.at_risk - risk).max(0.0);
    }

    /// `(regret, naive's summed error)` so far.
    #[cfg(test)]
    fn totals(&self) -> (f64, f64) {
        (self.regret, self.naive_sum)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::brain::test_noise::noise;

    #[test]
    fn a_model_publishes_only_while_clearly_better_than_naive() {
        let mut s = Selector::new(50.0, 0.05, 0.0, 10);
        for _ in 0..9 {
            s.record([10.0, 1.0, 1.0]);
        }
        assert_eq!(s.choice(), 0, "too few outcomes");
        s.record([10.0, 1.0, 1.0]);
        assert_ne!(s.choice(), 0);
        for _ in 0..200 {
            s.record([9.8, 10.0, 10.0]);
        }
        assert_eq!(s.choice(), 0, "{:?}", s.errors());
        s.record([0.0, f64::NAN, 0.0]);
        assert!(s.errors().iter().all(|e| e.is_finite()));
        // Within the margin of naive: naive stays.
        for _ in 0..300 {
            s.record([10.0, 9.7, 9.7]);
        }
        assert_eq!(s.choice(), 0, "{:?}", s.errors());
    }

    #[test]
    fn a_lower_mean_error_that_is_within_its_noise_does_not_publish_the_model() {
        // The model's error is naive's plus or minus a large amount at random: over 100
        // outcomes its mean ends lower than naive's on some stretches by luck alone.
        let (mut plain, mut careful) = (
            Selector::new(100.0, 0.0, 0.0, 20),
            Selector::new(100.0, 0.0, 2.0, 20),
        );
        let mut seed = 7u64;
        let (mut plain_picks, mut careful_picks) = (0, 0);
        for _ in 0..3000 {
            let model = 10.0 + 8.0 * noise(&mut seed);
            for s in [&mut plain, &mut careful] {
                s.record([10.0, model, model]);
            }
            plain_picks += usize::from(plain.choice() != 0);
            careful_picks += usize::from(careful.choice() != 0);
        }
        assert!(
            plain_picks > 100,
            "follow-the-leader picks it by luck: {plain_picks}"
        );
        assert!(
            careful_picks < plain_picks / 10,
            "{careful_picks} vs {plain_picks}"
        );

        // A clear edge, with the same noise: published within a few dozen outcomes.
        let mut s = Selector::new(100.0, 0.0, 2.0, 20);
        let mut at = None;
        for t in 0..200 {
            let model = 7.0 + 8.0 * noise(&mut seed);
            s.record([10.0, model, model]);
            if s.choice() != 0 && at.is_none() {
                at = Some(t);
            }
        }
        assert!(at.is_some_and(|t| t < 40), "{at:?}");
        assert_ne!(s.choice(), 0);
    }

    #[test]
    fn the_model_experts_switch_only_on_a_clear_difference() {
        let mut s = Selector::new(20.0, 0.05, 0.0, 1);
        for _ in 0..50 {
            s.record([10.0, 2.0, 3.0]);
        }
        assert_eq!(s.choice(), 1);
        // The held model becomes slightly better: no switch...
        for _ in 0..100 {
            s.record([10.0, 2.0, 1.95]);
        }
        assert_eq!(s.choice(), 1);
        // ...clearly better: switch.
        for _ in 0..100 {
            s.record([10.0, 2.0, 1.0]);
        }
        assert_eq!(s.choice(), 2);
        s.reset();
        assert_eq!(s.choice(), 0);
    }

    /// Outcomes made to hurt the model as much as possible (always on the far side of naive):
    /// the published summed error stays within the allowance of naive's.
    #[test]
    fn the_account_bounds_the_loss_against_naive_whatever_the_outcomes() {
        let mut a = Account::new(0.01);
        let h = 10;
        let mut queue = std::collections::VecDeque::new();
        let (mut published_sum, mut naive_sum) = (0.0, 0.0);
        let mut s = 3u64;
        for i in 0..5_000 {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1);
            let naive = (s >> 40) as f64 / (1u64 << 24) as f64 * 10.0;
            let model = naive + if i % 2 == 0 { 3.0 } else { -3.0 };
            // Some credit now and then, as a clearly winning model would get.
            let credit = if i % 500 == 0 { 5.0 } else { 0.0 };
            let (v, risk) = a.publish(naive, model, credit);
            assert!((v - naive).abs() <= 3.0 + 1e-12);
            queue.push_back((v, naive, risk));
            if queue.len() > h {
                let Some((v, n, r)) = queue.pop_front() else {
                    unreachable!()
                };
                // The worst outcome for the published forecast: beyond naive, away from it.
                let y = if v >= n { n - 1.0 } else { n + 1.0 };
                a.settle(y, v, n, r);
                published_sum += (y - v).abs();
                naive_sum += (y - n).abs();
            }
        }
        let credits = 10.0 * 5.0;
        assert!(
            published_sum <= 1.01 * naive_sum + credits + 1e-6,
            "{published_sum} vs {naive_sum}"
        );
        assert!(published_sum > naive_sum, "the adversary did make it pay");
        let (regret, n) = a.totals();
        assert!(
            (regret - (published_sum - naive_sum)).abs() < 1e-6 && (n - naive_sum).abs() < 1e-6
        );
    }

    /// A model that is right earns room: its deviations grow to the full forecast.
    #[test]
    fn a_winning_model_earns_room_to_deviate() {
        let mut a = Account::new(0.01);
        let mut queue = std::collections::VecDeque::new();
        let mut last = 0.0;
        for i in 0..400 {
            // A steady climb: naive lags by 10 per horizon; the model is exact.
            let y = f64::from(i);
            let (v, risk) = a.publish(y, y + 10.0, 0.0);
            last = v - y;
            queue.push_back((v, y, risk));
            if queue.len() > 10 {
                let Some((v, n, r)) = queue.pop_front() else {
                    unreachable!()
                };
                a.settle(y, v, n, r);
            }
        }
        assert!((last - 10.0).abs() < 1e-9, "deviation {last}");
        assert!(a.totals().0 < 0.0);
    }

    #[test]
    fn the_held_model_says_naive_for_the_hold() {
        let mut s = Selector::new(20.0, 0.05, 0.0, 1);
        assert_eq!(s.forecasts(1.0, 5.0), [1.0, 5.0, 5.0]);
        s.hold(2);
        for _ in 0..2 {
            s.tick();
            assert_eq!(s.forecasts(1.0, 5.0), [1.0, 5.0, 1.0]);
        }
        s.tick();
        assert_eq!(s.forecasts(1.0, 5.0), [1.0, 5.0, 5.0]);
    }
}
