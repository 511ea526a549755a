//! The long drills of the healer's trust, in one test binary so that they run side by side
//! (each against its own DockerPulse process): a crash-looping healer (on the engine and on the
//! demo fleet) and container churn. `scripts/drill.sh` runs their long versions.

#[path = "../common/mod.rs"]
mod common;

mod churn;
mod crash_loop;
