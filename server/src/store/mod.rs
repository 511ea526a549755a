//! Stores: the in-memory live view of the fleet, and the durable incident log (SQLite).

pub mod db;
pub mod history;
pub mod live;
pub mod nodes;
pub mod records;
pub mod writer;
