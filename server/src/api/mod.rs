//! The HTTP surface: REST endpoints under `/api`, the websocket at `/ws`, and the dashboard
//! pages rendered by leptos.

pub mod actions;
pub mod admin;
pub mod containers;
pub mod error;
pub mod guard;
pub mod hints;
pub mod incidents;
pub mod metrics;
pub mod nodes;
pub mod reports;
pub mod ws;

use crate::state::AppState;
use axum::routing::{get, post};
use axum::Router;
use leptos_axum::{generate_route_list, LeptosRoutes};

/// The REST and websocket routes.
pub fn api_routes() -> Router<AppState> {
    Router::new()
        .route("/api/health", get(containers::health))
        .route("/metrics", get(metrics::metrics))
        .route("/api/notify", get(metrics::deliveries))
        .route("/api/containers", get(containers::list))
        .route("/api/containers/{id}", get(containers::detail))
        .route("/api/containers/{id}/history", get(containers::history))
        .route(
            "/api/containers/{id}/breaker/reset",
            post(actions::reset_breaker),
        )
        .route("/api/containers/{id}/{action}", post(actions::act))
        .route(
            "/api/services/{service}/restart",
            post(actions::restart_service),
        )
        .route(
            "/api/healing",
            get(actions::get_healing).put(actions::put_healing),
        )
        .route("/api/incidents", get(incidents::list))
        .route("/api/incidents/{id}", get(incidents::detail))
        .route("/api/incidents/{id}/report.html", get(reports::html))
        .route("/api/incidents/{id}/report.json", get(reports::json))
        .route("/api/reports", get(reports::list))
        .route("/api/interventions", get(incidents::interventions))
        .route("/api/hints", get(hints::list))
        .route(
            "/api/{*rest}",
            get(error::unknown_route).fallback(error::unknown_route),
        )
        .route("/ws", get(ws::upgrade))
        .route("/agent", get(crate::cluster::ingest::upgrade))
        .route("/api/nodes", get(nodes::list))
        .route("/api/swarm", get(nodes::swarm))
        .route("/api/nodes/{node}/incidents", get(nodes::incidents))
        .route("/api/nodes/{node}/interventions", get(nodes::interventions))
        // A known path with the wrong method (GET on an action) answers in JSON too.
        .method_not_allowed_fallback(error::method_not_allowed)
}

/// The whole application: API, websocket, dashboard pages and static files.
pub fn router(state: AppState) -> Router {
    let routes = generate_route_list(app::App);
    let leptos = state.leptos.clone();
    Router::new()
        .merge(api_routes())
        .leptos_routes(&state, routes, {
            let leptos = leptos.clone();
            move || app::shell(leptos.clone())
        })
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(
            app::shell,
        ))
        // The bundle is 1.2 MB of WASM (~0.45 MB compressed), and
        // the API's JSON compresses well too: worth it for a NOC screen across a network.
        .layer(tower_http::compression::CompressionLayer::new())
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            guard::loopback_hosts_only,
        ))
        .with_state(state)
}
