//! DockerPulse's dashboard (leptos components, rendered on the server and hydrated in the
//! browser) and the wire types both sides share.

pub mod wire;
