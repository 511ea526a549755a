//! Browser entry point: hydrates the server-rendered dashboard.
#![recursion_limit = "256"]
// Nothing outside tests may unwrap: a bad input or a lost engine is an error, never a crash.
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(app::App);
}
