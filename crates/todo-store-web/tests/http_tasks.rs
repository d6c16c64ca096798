//! The task routes over real HTTP against real PostgreSQL: isolation
//! between two users on every route, conditional writes, pagination,
//! and bad input answered as problem+json, never a 500.

#![allow(clippy::unwrap_used)]

mod support;

use reqwest::{Method, StatusCode, header};
use serde_json::{Value, json};
use support::{Service, email, token_for};

async fn json_of(response: reqwest::Response) -> Value {
    response.json::<Value>().await.unwrap()
}

async fn create(service: &Service, token: &str, body: Value) -> Value {
    let response = service
        .call(Method::POST, "/v1/tasks", token)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    json_of(response).await
}

fn is_problem(response: &reqwest::Response) -> bool {
    response.headers()[header::CONTENT_TYPE] == "application/problem+json"
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_users_task_is_not_found_on_every_route_and_stays_unchanged() {
    let service = Service::start().await;
    let alice = token_for("alice-sub", &email("alice"));
    let bob = token_for("bob-sub", &email("bob"));
    let task = create(&service, &alice, json!({"title": "Alice's", "priority": 2})).await;
    let id = task["id"].as_str().unwrap();

    let path = format!("/v1/tasks/{id}");
    let attempts = [
        (Method::GET, path.clone(), None),
        (
            Method::PATCH,
            path.clone(),
            Some(json!({"title": "Bob's now"})),
        ),
        (Method::DELETE, path.clone(), None),
        (Method::POST, format!("{path}/complete"), None),
        (Method::POST, format!("{path}/reopen"), None),
        (Method::GET, format!("{path}/history"), None),
    ];
    let unknown = format!("/v1/tasks/{}", uuid::Uuid::now_v7());
    let unknown_answer = service
        .call(Method::GET, &unknown, &bob)
        .send()
        .await
        .unwrap();
    assert_eq!(unknown_answer.status(), StatusCode::NOT_FOUND);
    let unknown_body = json_of(unknown_answer).await;
    for (method, path, body) in attempts {
        let mut request = service.call(method.clone(), &path, &bob);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{method} {path}");
        assert!(is_problem(&response));
        // Indistinguishable from a task that does not exist.
        assert_eq!(json_of(response).await, unknown_body, "{method} {path}");
    }
    let bulk = service
        .call(Method::POST, "/v1/tasks/bulk-delete", &bob)
        .json(&json!({"ids": [id]}))
        .send()
        .await
        .unwrap();
    assert_eq!(json_of(bulk).await, json!({"deleted": 0}));
    let bobs_list = service.get_json("/v1/tasks", &bob).await;
    assert_eq!(bobs_list["items"], json!([]));

    let after = service.get_json(&path, &alice).await;
    assert_eq!(after, task, "Alice's task is exactly as she left it");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn if_match_makes_writes_conditional() {
    let service = Service::start().await;
    let token = token_for("sub-etag", &email("etag"));
    let task = create(&service, &token, json!({"title": "Draft"})).await;
    let path = format!("/v1/tasks/{}", task["id"].as_str().unwrap());

    let read = service
        .call(Method::GET, &path, &token)
        .send()
        .await
        .unwrap();
    assert_eq!(read.headers()[header::ETAG], "\"1\"");

    let changed = service
        .call(Method::PATCH, &path, &token)
        .header(header::IF_MATCH, "\"1\"")
        .json(&json!({"title": "Final", "description": "now with words"}))
        .send()
        .await
        .unwrap();
    assert_eq!(changed.status(), StatusCode::OK);
    assert_eq!(changed.headers()[header::ETAG], "\"2\"");

    for (method, suffix, body) in [
        (Method::PATCH, "", Some(json!({"title": "Lost update"}))),
        (Method::POST, "/complete", None),
        (Method::DELETE, "", None),
    ] {
        let mut request = service
            .call(method.clone(), &format!("{path}{suffix}"), &token)
            .header(header::IF_MATCH, "\"1\"");
        if let Some(body) = body {
            request = request.json(&body);
        }
        let stale = request.send().await.unwrap();
        assert_eq!(
            stale.status(),
            StatusCode::PRECONDITION_FAILED,
            "{method} {suffix}"
        );
        assert!(is_problem(&stale));
        assert_eq!(json_of(stale).await["current_version"], 2);
    }
    let now = service.get_json(&path, &token).await;
    assert_eq!(
        (now["title"].as_str(), now["version"].as_i64()),
        (Some("Final"), Some(2))
    );

    let cleared = service
        .call(Method::PATCH, &path, &token)
        .header(header::IF_MATCH, "*")
        .json(&json!({"description": null}))
        .send()
        .await
        .unwrap();
    assert_eq!(json_of(cleared).await["description"], Value::Null);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_list_walks_page_by_page_and_a_tampered_cursor_is_refused() {
    let service = Service::start().await;
    let token = token_for("sub-pages", &email("pages"));
    let mut made = Vec::new();
    for n in 0..7 {
        let task = create(
            &service,
            &token,
            json!({"title": format!("Task {n}"), "priority": 1 + n % 5}),
        )
        .await;
        made.push(task["id"].as_str().unwrap().to_owned());
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    for _page in 0..10 {
        let mut path = "/v1/tasks?limit=3&sort=priority&order=desc".to_owned();
        if let Some(cursor) = &cursor {
            path.push_str(&format!("&cursor={cursor}"));
        }
        let page = service.get_json(&path, &token).await;
        seen.extend(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t["id"].as_str().unwrap().to_owned()),
        );
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    let mut sorted = seen.clone();
    sorted.sort();
    sorted.dedup();
    made.sort();
    assert_eq!(sorted, made, "every task once: {seen:?}");

    let first = service.get_json("/v1/tasks?limit=3", &token).await;
    let cursor = first["next_cursor"].as_str().unwrap();
    // A cursor carries a position in the caller's own list, nothing more:
    // one edited into another well-formed position reads that position of
    // the same list (still only the caller's tasks); one cut or garbled is
    // refused.
    let mut moved = cursor.to_owned();
    let last = moved.pop().unwrap();
    moved.push(if last == 'A' { 'B' } else { 'A' });
    let page = service
        .call(Method::GET, &format!("/v1/tasks?cursor={moved}"), &token)
        .send()
        .await
        .unwrap();
    if page.status().is_success() {
        for task in json_of(page).await["items"].as_array().unwrap() {
            assert!(made.contains(&task["id"].as_str().unwrap().to_owned()));
        }
    } else {
        assert_eq!(page.status(), StatusCode::UNPROCESSABLE_ENTITY);
    }
    let cut = &cursor[..cursor.len() - 5];
    for bad in [cut, "not-a-cursor", "%00", "AQEB"] {
        let response = service
            .call(Method::GET, &format!("/v1/tasks?cursor={bad}"), &token)
            .send()
            .await
            .unwrap();
        assert!(
            response.status().is_client_error(),
            "{bad}: {}",
            response.status()
        );
        assert!(is_problem(&response));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_a_clear_4xx_and_changes_nothing() {
    let service = Service::start().await;
    let token = token_for("sub-bad", &email("bad"));
    let cases: [(Method, &str, Option<&str>, StatusCode); 9] = [
        (
            Method::POST,
            "/v1/tasks",
            Some("{not json"),
            StatusCode::BAD_REQUEST,
        ),
        (
            Method::POST,
            "/v1/tasks",
            Some(r#"{"title": "x", "user_id": "someone"}"#),
            StatusCode::BAD_REQUEST,
        ),
        (
            Method::POST,
            "/v1/tasks",
            Some(r#"{"title": ""}"#),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            Method::POST,
            "/v1/tasks",
            Some(r#"{"title": "x", "priority": 9}"#),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            Method::POST,
            "/v1/tasks",
            Some(r#"{"title": "x", "priority": 99999}"#),
            StatusCode::BAD_REQUEST,
        ),
        (
            Method::GET,
            "/v1/tasks?sort=sideways",
            None,
            StatusCode::BAD_REQUEST,
        ),
        (
            Method::GET,
            "/v1/tasks?limit=-1",
            None,
            StatusCode::BAD_REQUEST,
        ),
        (
            Method::GET,
            "/v1/tasks/not-a-uuid",
            None,
            StatusCode::BAD_REQUEST,
        ),
        (Method::GET, "/v1/nothing-here", None, StatusCode::NOT_FOUND),
    ];
    for (method, path, body, expected) in cases {
        let mut request = service.call(method.clone(), path, &token);
        if let Some(body) = body {
            request = request
                .header(header::CONTENT_TYPE, "application/json")
                .body(body);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), expected, "{method} {path} {body:?}");
        assert!(is_problem(&response), "{method} {path}");
    }
    let no_type = service
        .call(Method::POST, "/v1/tasks", &token)
        .body(r#"{"title": "x"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(no_type.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);

    let huge = json!({"title": "x", "description": "y".repeat(300 * 1024)});
    let too_large = service
        .call(Method::POST, "/v1/tasks", &token)
        .json(&huge)
        .send()
        .await
        .unwrap();
    assert_eq!(too_large.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert!(is_problem(&too_large));

    // A refused query parameter is named as the client sent it.
    for (query, field) in [
        ("priority_min=0", "priority_min"),
        ("priority_max=6", "priority_max"),
        ("q=%01", "q"),
    ] {
        let response = service
            .call(Method::GET, &format!("/v1/tasks?{query}"), &token)
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{query}"
        );
        assert_eq!(json_of(response).await["field"], field, "{query}");
    }
    let since = service
        .call(Method::GET, "/v1/changes?since=garbage", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(json_of(since).await["field"], "since");

    let list = service.get_json("/v1/tasks", &token).await;
    assert_eq!(list["items"], json!([]), "nothing was stored");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_configured_body_limit_is_the_one_enforced_and_named() {
    let service = Service::start_with(support::Options {
        limits: todo_store_web::Limits {
            body_bytes: 1000,
            ..todo_store_web::Limits::default()
        },
        ..support::Options::default()
    })
    .await;
    let token = token_for("sub-limit", &email("limit"));
    let body = json!({"title": "x", "description": "y".repeat(2000)});
    let response = service
        .call(Method::POST, "/v1/tasks", &token)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let problem = json_of(response).await;
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("at most 1000 bytes"),
        "{problem}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retried_create_with_a_client_id_stores_one_task() {
    let service = Service::start().await;
    let token = token_for("sub-retry", &email("retry"));
    let id = uuid::Uuid::now_v7();
    let body = json!({"id": id, "title": "Once"});
    let first = create(&service, &token, body.clone()).await;
    let again = create(&service, &token, body).await;
    assert_eq!(first, again);
    let list = service.get_json("/v1/tasks", &token).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_is_3_1_and_lists_every_route() {
    let service = Service::start().await;
    let document = json_of(service.get_plain("/openapi.json").await).await;
    assert!(document["openapi"].as_str().unwrap().starts_with("3.1"));
    for path in [
        "/v1/tasks",
        "/v1/tasks/{id}",
        "/v1/tasks/{id}/complete",
        "/v1/tasks/{id}/reopen",
        "/v1/tasks/bulk-delete",
        "/v1/tasks/{id}/history",
        "/v1/sync-token",
        "/v1/changes",
        "/v1/account",
        "/healthz",
        "/readyz",
    ] {
        assert!(document["paths"].get(path).is_some(), "{path} missing");
    }
    let health = service.get_plain("/healthz").await;
    assert_eq!(health.status(), StatusCode::NO_CONTENT);
    let ready = service.get_plain("/readyz").await;
    assert_eq!(ready.status(), StatusCode::NO_CONTENT);
}
