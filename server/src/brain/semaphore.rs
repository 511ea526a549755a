//! The LOW / MEDIUM / CRITICAL semaphore, with hysteresis so it does not flap.
//!
//! A level is entered as soon as the probability reaches its threshold, but left only after the
//! probability has stayed below `threshold − hysteresis` for `calm_ticks` consecutive ticks.

use app::wire::RiskLevel;

/// Thresholds in percent of failure probability.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Thresholds {
    pub medium_pct: f64,
    pub critical_pct: f64,
    pub hysteresis_pct: f64,
    pub calm_ticks: u32,
}

impl Thresholds {
    /// Level whose *entry* threshold `p` reaches.
    fn entered(&self, p: f64) -> RiskLevel {
        if p >= self.critical_pct {
            RiskLevel::Critical
        } else if p >= self.medium_pct {
            RiskLevel::Medium
        } else {
            RiskLevel::Low
        }
    }

    /// Highest level whose *exit* threshold `p` still holds.
    fn held(&self, p: f64) -> RiskLevel {
        let h = self.hysteresis_pct.max(0.0);
        if p >= self.critical_pct - h {
            RiskLevel::Critical
        } else if p >= self.medium_pct - h {
            RiskLevel::Medium
        } else {
            RiskLevel::Low
        }
    }
}

/// Hysteretic level of one container.
#[derive(Clone, Debug, Default)]
pub struct Semaphore {
    level: RiskLevel,
    calm: u32,
}

impl Semaphore {
    pub fn level(&self) -> RiskLevel {
        self.level
    }

    /// Feeds one probability (percent) and returns the level. NaN counts as 0.
    pub fn update(&mut self, p: f64, th: &Thresholds) -> RiskLevel {
        let p = if p.is_nan() { 0.0 } else { p };
        let up = th.entered(p);
        if up > self.level {
            self.level = up;
            self.calm = 0;
            return self.level;
        }
        let held = th.held(p);
        if held >= self.level {
            self.calm = 0;
        } else {
            self.calm = self.calm.saturating_add(1);
            if self.calm >= th.calm_ticks.max(1) {
                // Step down to what the exit thresholds still hold (possibly two levels).
                self.level = held.max(up);
                self.calm = 0;
            }
        }
        self.level
    }

    /// Forces LOW (used while warming up).
    pub fn reset(&mut self) {
        self.level = RiskLevel::Low;
        self.calm = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TH: Thresholds = Thresholds {
        medium_pct: 40.0,
        critical_pct: 85.0,
        hysteresis_pct: 10.0,
        calm_ticks: 3,
    };

    #[test]
    fn enters_immediately_and_leaves_after_calm_ticks() {
        let mut s = Semaphore::default();
        assert_eq!(s.update(10.0, &TH), RiskLevel::Low);
        assert_eq!(s.update(90.0, &TH), RiskLevel::Critical);
        assert_eq!(s.update(70.0, &TH), RiskLevel::Critical);
        assert_eq!(s.update(70.0, &TH), RiskLevel::Critical);
        assert_eq!(s.update(70.0, &TH), RiskLevel::Medium);
        assert_eq!(s.update(5.0, &TH), RiskLevel::Medium);
        assert_eq!(s.update(5.0, &TH), RiskLevel::Medium);
        assert_eq!(s.update(5.0, &TH), RiskLevel::Low);
    }

    #[test]
    fn oscillation_inside_the_band_does_not_flap() {
        let mut s = Semaphore::default();
        s.update(86.0, &TH);
        for i in 0..100 {
            let p = if i % 2 == 0 { 84.0 } else { 76.0 };
            assert_eq!(s.update(p, &TH), RiskLevel::Critical);
        }
        // Dipping below the exit threshold every other tick is not calm for 3 ticks.
        for i in 0..100 {
            let p = if i % 2 == 0 { 60.0 } else { 80.0 };
            assert_eq!(s.update(p, &TH), RiskLevel::Critical);
        }
    }

    #[test]
    fn big_drop_goes_straight_to_low() {
        let mut s = Semaphore::default();
        s.update(99.0, &TH);
        for _ in 0..3 {
            s.update(0.0, &TH);
        }
        assert_eq!(s.level(), RiskLevel::Low);
        assert_eq!(s.update(f64::NAN, &TH), RiskLevel::Low);
    }
}
