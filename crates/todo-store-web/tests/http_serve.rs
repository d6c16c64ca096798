//! The service's own accept loop (`todo_store_web::serve`): a client that
//! sends its headers too slowly is cut off, and a shutdown lets a request in
//! flight finish before `serve` returns.

#![allow(clippy::unwrap_used)]

mod support;

use std::time::Duration;

use diesel::{Connection, RunQueryDsl};
use reqwest::{Method, StatusCode, header};
use serde_json::{Value, json};
use support::{email, token_for};
use todo_store_tests::TestDb;
use todo_store_web::{ServeOptions, Stopped, serve};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_slow_to_send_its_headers_is_cut_off() {
    let db = TestDb::new();
    let role = db.app_role();
    let (app, _jwks) = support::router_over(&role).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let options = ServeOptions {
        header_read_timeout: Duration::from_secs(1),
        ..ServeOptions::default()
    };
    tokio::spawn(serve(listener, app, options, std::future::pending()));

    let mut slow = tokio::net::TcpStream::connect(address).await.unwrap();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    // One more header line a second, for up to 30 s (the test's guard, not a
    // measurement): the server closes the connection first.
    let mut closed = false;
    for _ in 0..30 {
        if slow.write_all(b"X-Slow: yes\r\n").await.is_err() {
            closed = true;
            break;
        }
        let mut byte = [0u8; 1];
        match tokio::time::timeout(Duration::from_secs(1), slow.read(&mut byte)).await {
            Ok(Ok(_)) | Ok(Err(_)) => {
                closed = true;
                break;
            }
            Err(_) => {}
        }
    }
    assert!(
        closed,
        "the connection stayed open while its headers trickled in"
    );
    // Others are served meanwhile.
    let status = reqwest::get(format!("http://{address}/healthz"))
        .await
        .unwrap()
        .status();
    assert_eq!(status, StatusCode::NO_CONTENT);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shutdown_lets_the_request_in_flight_finish() {
    let db = TestDb::new();
    let role = db.app_role();
    let (app, _jwks) = support::router_over(&role).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve(listener, app, ServeOptions::default(), async {
        let _ = stopped.await;
    }));
    let http = reqwest::Client::new();
    let token = token_for("sub-drain", &email("drain"));
    let task: Value = http
        .post(format!("{base}/v1/tasks"))
        .bearer_auth(&token)
        .json(&json!({"title": "Draft"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let path = format!("{base}/v1/tasks/{}", task["id"].as_str().unwrap());

    // Hold the task's row, so that the PATCH below waits in the database.
    let (locked, release) = (std::sync::mpsc::channel(), std::sync::mpsc::channel::<()>());
    let (locked_tx, locked_rx) = locked;
    let (release_tx, release_rx) = release;
    let admin_url = db.url().expose().to_owned();
    let holder = std::thread::spawn(move || {
        let mut conn = diesel::PgConnection::establish(&admin_url).unwrap();
        conn.transaction::<_, diesel::result::Error, _>(|conn| {
            diesel::sql_query("SELECT 1 FROM tasks FOR UPDATE").execute(conn)?;
            locked_tx.send(()).unwrap();
            release_rx.recv().unwrap();
            Ok(())
        })
        .unwrap();
    });
    locked_rx.recv().unwrap();
    let patch = tokio::spawn({
        let (http, path, token) = (http.clone(), path.clone(), token.clone());
        async move {
            http.request(Method::PATCH, path)
                .bearer_auth(token)
                .header(header::CONTENT_TYPE, "application/json")
                .body(r#"{"title": "Final"}"#)
                .send()
                .await
                .unwrap()
        }
    });
    // The PATCH is in flight (waiting on the row) when the shutdown comes.
    while !waiting_on_a_lock(&db) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stop.send(()).unwrap();
    // New connections are refused from now on.
    let refused = loop {
        match reqwest::Client::new()
            .get(format!("{base}/healthz"))
            .send()
            .await
        {
            Err(err) => break err.is_connect(),
            Ok(_) => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    };
    assert!(refused);
    release_tx.send(()).unwrap();
    holder.join().unwrap();
    let answer = patch.await.unwrap();
    assert_eq!(
        answer.status(),
        StatusCode::OK,
        "the request in flight finished"
    );
    assert_eq!(server.await.unwrap().unwrap(), Stopped::Drained);
}

fn waiting_on_a_lock(db: &TestDb) -> bool {
    let mut conn = db.conn();
    todo_store_tests::count(&mut conn, "pg_stat_activity WHERE wait_event_type = 'Lock'") > 0
}
