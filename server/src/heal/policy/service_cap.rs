//! The Swarm service-wide cap (at most a share of a service's replicas acted on within the
//! window) as the policy's callers use it: the tasks counted each tick, a manual action on a
//! task, and the leases a hub grants its agents. Automatic actions meet it in `decide`.

use super::{Block, Policy, Subject};
use crate::util::ms;
use app::wire::HealAction;
use std::collections::BTreeMap;

impl Policy {
    /// Counts each Swarm service's tasks among this tick's containers (their labels).
    pub fn observe_services<'a>(
        &mut self,
        fleet: impl Iterator<Item = &'a BTreeMap<String, String>>,
    ) {
        self.services.observe(fleet);
    }

    /// Checks a manual action on a Swarm task against the same rules as an automatic one (only
    /// a restart; the service-wide cap), and counts it when allowed.
    pub fn admit_manual(
        &mut self,
        s: &Subject,
        action: HealAction,
        now_ms: i64,
    ) -> Result<(), Block> {
        let Some(service) = s.service else {
            return Ok(());
        };
        if !matches!(action, HealAction::Restart) {
            return Err(Block::SwarmTask);
        }
        self.lease(service, now_ms)
    }

    /// One more action on one of `service`'s tasks, if the service-wide cap allows it now
    /// (counted when it does). On a hub this is also the lease its agents ask for: its guard
    /// counts every node's tasks, so the cap holds across nodes.
    pub fn lease(&mut self, service: &str, now_ms: i64) -> Result<(), Block> {
        let (share, window) = (self.cfg.service_max_share, ms(self.cfg.service_window));
        if !self.services.admits(service, share, now_ms, window) {
            return Err(Block::ServiceCap {
                service: service.to_string(),
                allowed: self.services.allowed(service, share),
            });
        }
        self.services.acted(service, now_ms);
        Ok(())
    }
}
