//! The database goes away under a running service: requests get 503 with
//! `Retry-After` (never a 500, never a hang), `/readyz` says not ready, and
//! once the database is back the same process answers again.

#![allow(clippy::unwrap_used)]

mod support;

use reqwest::{Method, StatusCode, header};
use serde_json::json;
use support::{Options, Service, email, token_for};
use todo_store::{AsyncStore, StoreConfig};
use todo_store_tests::cluster::Cluster;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_database_is_503_then_heals_without_a_restart() {
    let cluster = std::sync::Arc::new(Cluster::start());
    let url = cluster.url("web_down");
    let config = StoreConfig::new(url.as_str()).connect_timeout(std::time::Duration::from_secs(2));
    let store = AsyncStore::connect(&config).await.unwrap();
    let service = Service::over(store, Options::default()).await;
    let token = token_for("sub-down", &email("down"));
    let created = service
        .call(Method::POST, "/v1/tasks", &token)
        .json(&json!({"title": "Kept"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);

    tokio::task::spawn_blocking({
        let cluster = std::sync::Arc::clone(&cluster);
        move || cluster.stop_immediate()
    })
    .await
    .unwrap();
    for path in ["/v1/tasks", "/v1/account"] {
        let response = service
            .call(Method::GET, path, &token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE, "{path}");
        assert_eq!(response.headers()[header::RETRY_AFTER], "1");
        assert_eq!(
            response.headers()[header::CONTENT_TYPE],
            "application/problem+json"
        );
    }
    let ready = service.get_plain("/readyz").await;
    assert_eq!(ready.status(), StatusCode::SERVICE_UNAVAILABLE);
    let alive = service.get_plain("/healthz").await;
    assert_eq!(
        alive.status(),
        StatusCode::NO_CONTENT,
        "the process itself is fine"
    );

    tokio::task::spawn_blocking({
        let cluster = std::sync::Arc::clone(&cluster);
        move || cluster.start_again()
    })
    .await
    .unwrap();
    let ready = service.get_plain("/readyz").await;
    assert_eq!(ready.status(), StatusCode::NO_CONTENT);
    let list: serde_json::Value = service
        .call(Method::GET, "/v1/tasks", &token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        list["items"][0]["title"], "Kept",
        "nothing acknowledged was lost"
    );
}
