//! The caller's own account, history and change feed over real HTTP.

#![allow(clippy::unwrap_used)]

mod support;

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use support::{Service, claims, email, sign, token_for};

async fn json_of(response: reqwest::Response) -> Value {
    response.json::<Value>().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_account_is_made_on_first_sight_changed_and_deleted_with_its_tasks() {
    let service = Service::start().await;
    let address = email("account");
    let token = token_for("sub-account", &address);
    let account = service.get_json("/v1/account", &token).await;
    assert_eq!(account["email"].as_str(), Some(address.as_str()));

    let changed = service
        .call(Method::PATCH, "/v1/account", &token)
        .json(&json!({"display_name": "Sam Doe", "time_zone": "Europe/Paris"}))
        .send()
        .await
        .unwrap();
    assert_eq!(changed.status(), StatusCode::OK);
    let changed = json_of(changed).await;
    assert_eq!(
        (
            changed["display_name"].as_str(),
            changed["time_zone"].as_str()
        ),
        (Some("Sam Doe"), Some("Europe/Paris"))
    );

    let refused = service
        .call(Method::PATCH, "/v1/account", &token)
        .json(&json!({"time_zone": "x".repeat(1000)}))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(json_of(refused).await["field"], "time_zone");
    let email_change = service
        .call(Method::PATCH, "/v1/account", &token)
        .json(&json!({"email": "other@example.com"}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        email_change.status(),
        StatusCode::BAD_REQUEST,
        "the email is Better Auth's"
    );

    for n in 0..3 {
        service
            .call(Method::POST, "/v1/tasks", &token)
            .json(&json!({"title": format!("T{n}")}))
            .send()
            .await
            .unwrap();
    }
    let deleted = service
        .call(Method::DELETE, "/v1/account", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    let mut conn = service.db().conn();
    assert_eq!(
        todo_store_tests::count(&mut conn, "tasks"),
        0,
        "the tasks went with the account"
    );

    // The Better Auth account still exists: its next request starts afresh.
    let fresh = service.get_json("/v1/account", &token).await;
    assert_ne!(fresh["id"], account["id"]);
    let list = service.get_json("/v1/tasks", &token).await;
    assert_eq!(list["items"], json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn names_better_auth_accepts_never_lock_a_user_out() {
    let service = Service::start().await;
    for (n, name) in [
        "",
        "   ",
        &"N".repeat(150),
        &"é".repeat(400),
        "Tab\there\u{0}",
    ]
    .into_iter()
    .enumerate()
    {
        let mut claims = claims(&format!("sub-name-{n}"), &email("name"));
        claims["name"] = json!(name);
        let token = sign(&claims, "ed25519_a", "key-a");
        let response = service
            .call(Method::GET, "/v1/account", &token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "name {name:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_and_changes_follow_a_task() {
    let service = Service::start().await;
    let token = token_for("sub-history", &email("history"));
    let sync = service.get_json("/v1/sync-token", &token).await;
    let since = sync["token"].as_str().unwrap().to_owned();

    let task = json_of(
        service
            .call(Method::POST, "/v1/tasks", &token)
            .json(&json!({"title": "Tracked"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let id = task["id"].as_str().unwrap();
    service
        .call(Method::POST, &format!("/v1/tasks/{id}/complete"), &token)
        .send()
        .await
        .unwrap();

    let history = service
        .get_json(&format!("/v1/tasks/{id}/history"), &token)
        .await;
    let kinds: Vec<&str> = history["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["complete", "create"]);

    let changes = json_of(
        service
            .call(
                Method::GET,
                &format!("/v1/changes?since={since}&limit=10"),
                &token,
            )
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(changes["changed"][0]["id"].as_str(), Some(id));
    assert_eq!(changes["changed"][0]["status"], "done");
    assert_eq!(changes["more"], false);

    let bad = service
        .call(Method::GET, "/v1/changes?since=garbage", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_account_deleted_elsewhere_is_remembered_for_a_while_and_shows_nothing() {
    for remembered in [Duration::from_secs(3600), Duration::ZERO] {
        let service = support::Service::start_with(support::Options {
            auth: todo_store_web::AuthPolicy {
                owner_cache: remembered,
                ..todo_store_web::AuthPolicy::default()
            },
            ..support::Options::default()
        })
        .await;
        let token = token_for("sub-gone", &email("gone"));
        let created = service
            .call(Method::POST, "/v1/tasks", &token)
            .json(&json!({"title": "Mine"}))
            .send()
            .await
            .unwrap();
        assert_eq!(created.status(), StatusCode::CREATED);
        // Deleted behind the service's back (another instance, or Better
        // Auth's cascade), tasks and all.
        let mut admin = service.db().conn();
        diesel::RunQueryDsl::execute(diesel::sql_query("DELETE FROM users"), &mut admin).unwrap();

        let list = service.get_json("/v1/tasks", &token).await;
        assert_eq!(list["items"], json!([]), "nothing of the deleted account");
        let create = service
            .call(Method::POST, "/v1/tasks", &token)
            .json(&json!({"title": "Again"}))
            .send()
            .await
            .unwrap();
        if remembered.is_zero() {
            // Looked up afresh: a new, empty account takes the write.
            assert_eq!(create.status(), StatusCode::CREATED);
        } else {
            // The remembered owner is gone: refused as for a deleted account.
            assert_eq!(create.status(), StatusCode::NOT_FOUND);
            // The account routes look it up afresh (a new account), and the
            // task routes then follow.
            assert_eq!(
                service
                    .call(Method::GET, "/v1/account", &token)
                    .send()
                    .await
                    .unwrap()
                    .status(),
                StatusCode::OK
            );
            let again = service
                .call(Method::POST, "/v1/tasks", &token)
                .json(&json!({"title": "Again"}))
                .send()
                .await
                .unwrap();
            assert_eq!(again.status(), StatusCode::CREATED);
        }
    }
}
