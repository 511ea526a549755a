//! Whether a container opted in to healing (and to which action) or out of it, and which mode
//! applies to it: its labels first, else the config.

use super::{Policy, Subject, HEAL_LABEL, MODE_LABEL};
use app::wire::{HealAction, HealMode};

impl Policy {
    /// The action a container opted in to, if any (`Err` when it opted out).
    pub fn opt_in(&self, s: &Subject) -> Result<Option<HealAction>, &'static str> {
        if s.is_self {
            return Err("this is DockerPulse's own container");
        }
        match s
            .labels
            .get(HEAL_LABEL)
            .map(|v| v.trim().to_ascii_lowercase())
        {
            Some(v) if v == "off" || v == "false" || v == "none" => {
                Err("the container opted out (label dockerpulse.heal=off)")
            }
            Some(v) => Ok(HealAction::parse(&v)
                .filter(|a| !matches!(a, HealAction::Escalate | HealAction::Unpause))),
            None => Ok(self.cfg.containers.get(s.name).copied()),
        }
    }

    /// The mode that applies to a container: its `dockerpulse.mode` label, else the global one.
    pub fn mode_for(&self, s: &Subject) -> HealMode {
        match s
            .labels
            .get(MODE_LABEL)
            .map(|v| v.trim().to_ascii_lowercase())
        {
            Some(v) if v == "enforce" => HealMode::Enforce,
            Some(v) if v == "dry-run" || v == "dry_run" || v == "dryrun" => HealMode::DryRun,
            _ => self.cfg.mode,
        }
    }
}
