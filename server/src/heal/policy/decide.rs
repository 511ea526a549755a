//! The decision for one container at one tick: a streak above the threshold, then each guard
//! rail in the order the policy's module documents, and an action only if none stops it.

use super::{Block, Policy, Situation, State, Subject, Verdict, STALE_QUEUE_MS};
use crate::heal::guard::FLEET_KEY;
use crate::util::ms;
use app::wire::{HealAction, HealMode};

impl Policy {
    /// Decides for one container at one tick.
    pub fn decide(&mut self, s: &Subject, now: &Situation) -> Verdict {
        let opt_in = self.opt_in(s);
        let mode = self.mode_for(s);
        let t = now.ts_ms;
        self.now_ms = self.now_ms.max(t);
        let states = &self.states;
        self.fleet_queue.retain(|q| {
            q == s.id
                || states
                    .get(q)
                    .is_some_and(|st| t - st.last_seen_ms <= STALE_QUEUE_MS)
        });
        let cfg = &self.cfg;
        let st = self.states.entry(s.id.to_string()).or_default();
        st.last_seen_ms = t;
        st.guard.expire(t);
        self.fleet.expire(t);

        let hot = !now.warming_up && now.failure_probability >= cfg.threshold_pct;
        if !hot {
            self.fleet_queue.retain(|q| q != s.id);
            st.streak = 0;
            st.last_block = None;
            let calm_since = *st.calm_since_ms.get_or_insert(t);
            if t - calm_since >= ms(cfg.backoff_reset) && st.guard.restarts > 0 {
                st.guard.restarts = 0;
                self.dirty.insert(s.id.to_string());
            }
            return Verdict::Nothing;
        }
        st.calm_since_ms = None;
        st.streak += 1;
        if st.streak < cfg.streak.max(1) {
            return Verdict::Nothing;
        }

        let action = match opt_in {
            Ok(Some(a)) => a,
            Ok(None) => cfg.default_action,
            Err(why) => return report_once(st, cfg.default_action, Block::Excluded(why)),
        };
        if st.guard.breaker_open {
            return report_once(st, action, Block::BreakerOpen);
        }
        // A relapse soon after an enforced action means the action did not help.
        if let Some(at) = st.guard.last_enforced_ms {
            if t - at <= ms(cfg.breaker_window) {
                st.guard.relapses += 1;
                st.guard.last_enforced_ms = None;
                self.dirty.insert(s.id.to_string());
                if st.guard.relapses >= cfg.breaker_failures.max(1) {
                    st.guard.breaker_open = true;
                    st.last_block = Some(Block::BreakerOpen.kind());
                    return Verdict::Escalate {
                        reason: format!(
                            "{} relapses within {} s of being healed: stopped acting, needs a human",
                            st.guard.relapses,
                            cfg.breaker_window.as_secs()
                        ),
                    };
                }
            }
        }
        if mode == HealMode::Enforce && opt_in == Ok(None) {
            return report_once(st, action, Block::NotOptedIn);
        }
        if !s.running {
            return report_once(st, action, Block::NotRunning);
        }
        if let Some(started) = s.started_at_ms {
            let remaining = s.start_period_ms - (t - started);
            if remaining > 0 {
                return report_once(
                    st,
                    action,
                    Block::StartPeriod {
                        remaining_ms: remaining,
                    },
                );
            }
        }
        let g = &st.guard;
        if let Some(last) = g.last_action_ms {
            let remaining = ms(cfg.cooldown) - (t - last);
            if remaining > 0 {
                return report_once(
                    st,
                    action,
                    Block::Cooldown {
                        remaining_ms: remaining,
                    },
                );
            }
        }
        if action == HealAction::Restart && g.restarts > 0 {
            let exp = g.restarts.saturating_sub(1).min(20);
            let wait = ms(cfg.backoff_initial)
                .saturating_mul(1i64 << exp)
                .min(ms(cfg.backoff_max));
            let since = t - g.last_restart_ms.unwrap_or(i64::MIN / 2);
            if since < wait {
                let restarts = g.restarts;
                return report_once(
                    st,
                    action,
                    Block::Backoff {
                        remaining_ms: wait - since,
                        restarts,
                    },
                );
            }
        }
        if let Some(service) = s.service {
            if action != HealAction::Restart {
                return report_once(st, action, Block::SwarmTask);
            }
            let (share, window) = (cfg.service_max_share, ms(cfg.service_window));
            if !self.services.admits(service, share, t, window) {
                let allowed = self.services.allowed(service, share);
                let block = Block::ServiceCap {
                    service: service.to_string(),
                    allowed,
                };
                return report_once(st, action, block);
            }
        }
        let g = &st.guard;
        if g.recent.len() >= cfg.max_per_hour as usize {
            return report_once(
                st,
                action,
                Block::HourlyCap {
                    max: cfg.max_per_hour,
                },
            );
        }
        let full = self.fleet.recent.len() >= cfg.fleet_max_per_minute as usize;
        let someone_waited_longer = self.fleet_queue.front().is_some_and(|q| q != s.id);
        if full || someone_waited_longer {
            if !self.fleet_queue.iter().any(|q| q == s.id) {
                self.fleet_queue.push_back(s.id.to_string());
            }
            return report_once(
                st,
                action,
                Block::FleetCap {
                    max: cfg.fleet_max_per_minute,
                },
            );
        }

        self.fleet_queue.retain(|q| q != s.id);
        st.streak = 0;
        st.last_block = None;
        let g = &mut st.guard;
        g.last_action_ms = Some(t);
        g.recent.push_back(t);
        self.fleet.recent.push_back(t);
        if action == HealAction::Restart {
            g.restarts += 1;
            g.last_restart_ms = Some(t);
        }
        if let Some(service) = s.service {
            // Not taken back if the record then fails: the cap errs on the side of acting less.
            self.services.acted(service, t);
        }
        self.dirty.insert(s.id.to_string());
        self.dirty.insert(FLEET_KEY.to_string());
        let reason = format!(
            "failure probability {:.0} % ≥ {:.0} % for {} ticks ({})",
            now.failure_probability,
            cfg.threshold_pct,
            cfg.streak.max(1),
            now.level.as_str()
        );
        Verdict::Act {
            action,
            mode,
            reason,
        }
    }
}

/// Reports a block once per streak and kind, so a container stuck at 100 % does not flood the
/// decision log with the same reason every second.
fn report_once(st: &mut State, action: HealAction, block: Block) -> Verdict {
    if st.last_block == Some(block.kind()) {
        return Verdict::Nothing;
    }
    st.last_block = Some(block.kind());
    Verdict::Blocked { action, block }
}
