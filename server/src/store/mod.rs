//! Stores: the in-memory live view of the fleet.

pub mod live;
