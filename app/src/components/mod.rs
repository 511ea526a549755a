//! Dashboard components.

pub mod actions;
pub mod card;
pub mod chart;
pub mod detail;
pub mod fleet;
pub mod header;
pub mod incidents;
pub mod sparkline;
