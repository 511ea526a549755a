//! Dashboard components.

pub mod card;
pub mod fleet;
pub mod header;
pub mod sparkline;
