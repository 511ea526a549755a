//! The crash-looping healer drills, in one test binary so that they run side by side (each
//! against its own DockerPulse process): on the engine and on the demo fleet.
//! `scripts/drill.sh crash-loop` runs their long version. Not run by a plain `cargo test`
//! (`test = false`): `scripts/test.sh` runs it beside the other tests, as it mostly waits.

#[path = "../common/mod.rs"]
mod common;

mod crash_loop;
