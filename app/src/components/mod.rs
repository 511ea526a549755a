//! Dashboard components.

pub mod actions;
pub mod card;
pub mod chart;
pub mod cluster;
pub mod detail;
pub mod fleet;
pub mod header;
pub mod hints;
pub mod incidents;
pub mod sparkline;
pub mod virtual_grid;

use leptos::prelude::*;
use leptos_router::hooks::use_navigate;
use leptos_router::params::ParamsMap;
use leptos_router::NavigateOptions;

/// Sets one query parameter of `path` (removes it when `value` is empty) and moves there in
/// place: filters and ranges live in the URL, so a reload or a shared link keeps them.
pub fn set_query_param(path: &str, query: Memo<ParamsMap>, key: &'static str, value: String) {
    let mut q = query.get_untracked();
    if value.is_empty() {
        q.remove(key);
    } else {
        q.replace(key, value);
    }
    use_navigate()(
        &format!("{path}{}", q.to_query_string()),
        NavigateOptions {
            replace: true,
            scroll: false,
            ..NavigateOptions::default()
        },
    );
}
