//! Tokens over real HTTP: every way a token can be wrong is the same 401
//! with `WWW-Authenticate: Bearer`; a key rotation is followed; forged key
//! ids cannot make the service hammer the key endpoint; a key endpoint that
//! is down at refresh time leaves the known keys working.

#![allow(clippy::unwrap_used)]

mod support;

use std::{sync::atomic::Ordering, time::Duration};

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use reqwest::{Method, StatusCode, header};
use serde_json::{Value, json};
use support::{Options, Service, claims, ed_jwk, email, jwks_of, now, sign, token_for};

fn with(mut claims: Value, name: &str, value: Value) -> Value {
    let map = claims.as_object_mut().unwrap();
    if value.is_null() {
        map.remove(name);
    } else {
        map.insert(name.to_owned(), value);
    }
    claims
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_bad_token_is_the_same_401() {
    let service = Service::start().await;
    let good = claims("sub-401", &email("auth"));
    let unsigned = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(r#"{"alg":"none","kid":"key-a"}"#),
        URL_SAFE_NO_PAD.encode(good.to_string())
    );
    let cases: Vec<(&str, Option<String>)> = vec![
        ("no header", None),
        ("malformed", Some("not.a.token".to_owned())),
        (
            "expired",
            Some(sign(
                &with(good.clone(), "exp", json!(now() - 3600)),
                "ed25519_a",
                "key-a",
            )),
        ),
        (
            "not yet valid",
            Some(sign(
                &with(good.clone(), "nbf", json!(now() + 3600)),
                "ed25519_a",
                "key-a",
            )),
        ),
        (
            "wrong issuer",
            Some(sign(
                &with(good.clone(), "iss", json!("http://evil.test")),
                "ed25519_a",
                "key-a",
            )),
        ),
        (
            "wrong audience",
            Some(sign(
                &with(good.clone(), "aud", json!("http://other.test")),
                "ed25519_a",
                "key-a",
            )),
        ),
        ("wrong key", Some(sign(&good, "ed25519_wrong", "key-a"))),
        ("unknown kid", Some(sign(&good, "ed25519_b", "key-unknown"))),
        ("alg none", Some(unsigned)),
        (
            "no sub",
            Some(sign(
                &with(good.clone(), "sub", Value::Null),
                "ed25519_a",
                "key-a",
            )),
        ),
        // Signed and valid, but subjects the library refuses.
        (
            "over-long sub",
            Some(sign(
                &with(good.clone(), "sub", json!("s".repeat(5000))),
                "ed25519_a",
                "key-a",
            )),
        ),
        (
            "sub with NUL",
            Some(sign(
                &with(good.clone(), "sub", json!("a\u{0}b")),
                "ed25519_a",
                "key-a",
            )),
        ),
    ];
    let mut bodies = Vec::new();
    for (case, token) in cases {
        let mut request = service.http.get(service.url("/v1/tasks"));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{case}");
        assert_eq!(
            response.headers()[header::WWW_AUTHENTICATE],
            "Bearer",
            "{case}"
        );
        assert_eq!(
            response.headers()[header::CONTENT_TYPE],
            "application/problem+json"
        );
        bodies.push(response.text().await.unwrap());
    }
    bodies.dedup();
    assert_eq!(bodies.len(), 1, "one body for every case: {bodies:?}");
    let ok = service
        .call(Method::GET, "/v1/tasks", &sign(&good, "ed25519_a", "key-a"))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotated_key_is_fetched_and_forged_kids_fetch_at_most_once_per_interval() {
    let service = Service::start_with(Options {
        min_refetch: Duration::from_millis(300),
        ..Options::default()
    })
    .await;
    let fetches = || service.jwks.fetches.load(Ordering::SeqCst);
    assert_eq!(fetches(), 1, "fetched once at start-up");
    tokio::time::sleep(Duration::from_millis(350)).await;

    // Better Auth rotates: its key set now also holds key-b.
    *service.jwks.document.lock().unwrap() =
        jwks_of(&[ed_jwk("ed25519_a", "key-a"), ed_jwk("ed25519_b", "key-b")]);
    let rotated = sign(
        &claims("sub-rotated", &email("rotated")),
        "ed25519_b",
        "key-b",
    );
    let response = service
        .call(Method::GET, "/v1/tasks", &rotated)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(fetches(), 2);

    // A storm of forged key ids within the interval: no fetch at all.
    for n in 0..50 {
        let forged = sign(
            &claims("sub-forged", &email("forged")),
            "ed25519_b",
            &format!("forged-{n}"),
        );
        let response = service
            .call(Method::GET, "/v1/tasks", &forged)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    assert_eq!(fetches(), 2, "no refetch within the interval");
    tokio::time::sleep(Duration::from_millis(350)).await;
    for n in 0..20 {
        let forged = sign(
            &claims("sub-forged", &email("forged")),
            "ed25519_b",
            &format!("again-{n}"),
        );
        service
            .call(Method::GET, "/v1/tasks", &forged)
            .send()
            .await
            .unwrap();
    }
    assert_eq!(fetches(), 3, "one refetch per interval");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_endpoint_down_at_refresh_time_leaves_the_known_keys_working() {
    let service = Service::start_with(Options {
        min_refetch: Duration::ZERO,
        ..Options::default()
    })
    .await;
    service.jwks.down.store(true, Ordering::SeqCst);
    let unknown = sign(&claims("sub-down", &email("down")), "ed25519_b", "key-b");
    let refused = service
        .call(Method::GET, "/v1/tasks", &unknown)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(service.jwks.fetches.load(Ordering::SeqCst), 2, "it tried");

    let known = token_for("sub-known", &email("known"));
    let answered = service
        .call(Method::GET, "/v1/tasks", &known)
        .send()
        .await
        .unwrap();
    assert_eq!(answered.status(), StatusCode::OK);

    // Back up, with the new key: the next token under it gets in.
    *service.jwks.document.lock().unwrap() =
        jwks_of(&[ed_jwk("ed25519_a", "key-a"), ed_jwk("ed25519_b", "key-b")]);
    service.jwks.down.store(false, Ordering::SeqCst);
    let healed = service
        .call(Method::GET, "/v1/tasks", &unknown)
        .send()
        .await
        .unwrap();
    assert_eq!(healed.status(), StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_email_linked_to_another_subject_is_a_409_that_says_so() {
    let service = Service::start().await;
    let shared = email("shared");
    let first = token_for("sub-first", &shared);
    assert_eq!(
        service
            .call(Method::GET, "/v1/account", &first)
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    let second = token_for("sub-second", &shared);
    let response = service
        .call(Method::GET, "/v1/account", &second)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CONFLICT);
    let body: Value = response.json().await.unwrap();
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("already linked to another account"),
        "{body}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_verified_email_can_be_required() {
    let service = Service::start_with(Options {
        auth: todo_store_web::AuthPolicy {
            require_verified_email: true,
            ..todo_store_web::AuthPolicy::default()
        },
        ..Options::default()
    })
    .await;
    let verified = claims("sub-verified", &email("verified"));
    let ok = service
        .call(
            Method::GET,
            "/v1/account",
            &sign(&verified, "ed25519_a", "key-a"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    for value in [json!(false), Value::Null, json!("true")] {
        let unverified = with(
            claims("sub-unverified", &email("unverified")),
            "emailVerified",
            value.clone(),
        );
        let response = service
            .call(
                Method::GET,
                "/v1/account",
                &sign(&unverified, "ed25519_a", "key-a"),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status(),
            StatusCode::FORBIDDEN,
            "emailVerified {value}"
        );
    }
    let mut conn = service.db().conn();
    assert_eq!(
        todo_store_tests::count(&mut conn, "users"),
        1,
        "no account for the unverified"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_account_follows_the_email_changed_at_better_auth() {
    let service = Service::start().await;
    let (old, new, held) = (email("old"), email("new"), email("held"));
    let before = sign(&claims("sub-mover", &old), "ed25519_a", "key-a");
    assert_eq!(
        service.get_json("/v1/account", &before).await["email"].as_str(),
        Some(old.as_str())
    );

    // Changed at Better Auth: the next token carries the new address.
    let after = sign(&claims("sub-mover", &new), "ed25519_a", "key-a");
    assert_eq!(
        service.get_json("/v1/account", &after).await["email"].as_str(),
        Some(new.as_str())
    );
    // The old address is free for someone else.
    let newcomer = sign(&claims("sub-newcomer", &old), "ed25519_a", "key-a");
    let response = service
        .call(Method::GET, "/v1/account", &newcomer)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);

    // A new address another account holds here: the account keeps its own,
    // and the request is answered.
    let holder = sign(&claims("sub-holder", &held), "ed25519_a", "key-a");
    assert_eq!(
        service
            .call(Method::GET, "/v1/account", &holder)
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    let clash = sign(&claims("sub-mover", &held), "ed25519_a", "key-a");
    let response = service
        .call(Method::GET, "/v1/account", &clash)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["email"].as_str(), Some(new.as_str()));
}
