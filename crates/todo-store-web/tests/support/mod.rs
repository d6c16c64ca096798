//! A running service for HTTP tests: its own database (as the application
//! role), a key set served over HTTP by a stand-in for Better Auth's
//! `/api/auth/jwks` that a test can change or take down, and the router on
//! a real port.

#![allow(dead_code, clippy::unwrap_used)]

use std::{
    path::Path,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use axum::{Router, extract::State, http::StatusCode, routing::get};
use base64::{
    Engine,
    engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD},
};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use todo_store::AsyncStore;
use todo_store_tests::{AppRoleLogin, TestDb};
use todo_store_web::{AppState, AuthPolicy, KeyRing, KeyRingConfig, KeySource, Limits};

pub const ISSUER: &str = "http://auth.test";
pub const AUDIENCE: &str = "http://auth.test";

/// The stand-in for Better Auth's key endpoint.
#[derive(Debug, Default)]
pub struct Jwks {
    pub document: Mutex<String>,
    pub down: AtomicBool,
    pub fetches: AtomicUsize,
}

async fn serve_jwks(State(jwks): State<Arc<Jwks>>) -> (StatusCode, String) {
    jwks.fetches.fetch_add(1, Ordering::SeqCst);
    if jwks.down.load(Ordering::SeqCst) {
        return (StatusCode::SERVICE_UNAVAILABLE, String::new());
    }
    (StatusCode::OK, jwks.document.lock().unwrap().clone())
}

/// Options of a test service.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    pub min_refetch: Duration,
    pub limits: Limits,
    pub auth: AuthPolicy,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            min_refetch: Duration::from_secs(3600),
            limits: Limits::default(),
            auth: AuthPolicy::default(),
        }
    }
}

/// A service on a real port, over a database of its own.
pub struct Service {
    pub base: String,
    pub jwks: Arc<Jwks>,
    pub http: reqwest::Client,
    /// The test database and its application role (the role declared
    /// first: dropped before the database); `None` over another server.
    database: Option<(AppRoleLogin, TestDb)>,
}

impl Service {
    /// Trusts `ed25519_a` as kid `key-a`.
    pub async fn start() -> Self {
        Self::start_with(Options::default()).await
    }

    pub async fn start_with(options: Options) -> Self {
        let db = TestDb::new();
        let role = db.app_role();
        let store = AsyncStore::connect(&role.config()).await.unwrap();
        let mut service = Self::over(store, options).await;
        service.database = Some((role, db));
        service
    }

    /// A service over `store`, wherever its database is.
    pub async fn over(store: AsyncStore, options: Options) -> Self {
        let (keys, jwks) = key_ring(options.min_refetch).await;
        let state = AppState::new(store, keys, options.auth);
        let base = listen(todo_store_web::router(state, options.limits)).await;
        Self {
            base,
            jwks,
            http: reqwest::Client::new(),
            database: None,
        }
    }

    /// The test database (services from [`start`](Self::start)).
    pub fn db(&self) -> &TestDb {
        &self.database.as_ref().unwrap().1
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// `GET path` without a token (the probes, the document).
    pub async fn get_plain(&self, path: &str) -> reqwest::Response {
        self.http.get(self.url(path)).send().await.unwrap()
    }

    /// `GET path` with `token` as its bearer, answered with JSON.
    pub async fn get_json(&self, path: &str, token: &str) -> Value {
        let response = self
            .call(reqwest::Method::GET, path, token)
            .send()
            .await
            .unwrap();
        response.json().await.unwrap()
    }

    /// A request with `token` as its bearer.
    pub fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &str,
    ) -> reqwest::RequestBuilder {
        self.http.request(method, self.url(path)).bearer_auth(token)
    }
}

/// Serves `app` on a free local port; returns its base URL.
async fn listen(app: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    format!("http://{address}")
}

/// A key ring over a stand-in key endpoint that trusts `ed25519_a` as
/// `key-a`, and that endpoint's state.
async fn key_ring(min_refetch: Duration) -> (KeyRing, Arc<Jwks>) {
    let jwks = Arc::new(Jwks::default());
    *jwks.document.lock().unwrap() = jwks_of(&[ed_jwk("ed25519_a", "key-a")]);
    let jwks_base = listen(
        Router::new()
            .route("/api/auth/jwks", get(serve_jwks))
            .with_state(Arc::clone(&jwks)),
    )
    .await;
    let keys = KeyRing::load(KeyRingConfig {
        source: KeySource::Url(format!("{jwks_base}/api/auth/jwks").parse().unwrap()),
        issuer: ISSUER.to_owned(),
        audience: AUDIENCE.to_owned(),
        min_refetch_interval: min_refetch,
        fetch_timeout: Duration::from_secs(5),
    })
    .await
    .unwrap();
    (keys, jwks)
}

/// The router of a service over this test's database, without serving it.
pub async fn router_over(role: &AppRoleLogin) -> (Router, Arc<Jwks>) {
    let (keys, jwks) = key_ring(Duration::from_secs(3600)).await;
    let store = AsyncStore::connect(&role.config()).await.unwrap();
    let state = AppState::new(store, keys, AuthPolicy::default());
    (todo_store_web::router(state, Limits::default()), jwks)
}

fn fixture(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/jwt")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("{}: {err}", path.display()))
}

pub fn now() -> i64 {
    i64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs(),
    )
    .unwrap()
}

/// An Ed25519 public key fixture as the JWK Better Auth serves.
pub fn ed_jwk(name: &str, kid: &str) -> Value {
    let pem = fixture(&format!("{name}.pub.pem"));
    let base64: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    let der = STANDARD.decode(base64).unwrap();
    json!({"crv": "Ed25519", "x": URL_SAFE_NO_PAD.encode(&der[12..]), "kty": "OKP", "kid": kid, "alg": "EdDSA"})
}

pub fn jwks_of(keys: &[Value]) -> String {
    json!({ "keys": keys }).to_string()
}

/// Claims as Better Auth's JWT plugin issues them.
pub fn claims(sub: &str, email: &str) -> Value {
    json!({
        "id": sub, "email": email, "emailVerified": true, "name": "Sam",
        "iat": now(), "iss": ISSUER, "aud": AUDIENCE, "exp": now() + 900, "sub": sub,
    })
}

/// `claims` signed with the Ed25519 fixture `key` under `kid`.
pub fn sign(claims: &Value, key: &str, kid: &str) -> String {
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = Some(kid.to_owned());
    let key = EncodingKey::from_ed_pem(fixture(&format!("{key}.pem")).as_bytes()).unwrap();
    jsonwebtoken::encode(&header, claims, &key).unwrap()
}

/// A valid token for a new subject with this email, under `key-a`.
pub fn token_for(sub: &str, email: &str) -> String {
    sign(&claims(sub, email), "ed25519_a", "key-a")
}

/// A fresh, unique email address.
pub fn email(name: &str) -> String {
    todo_store_tests::unique_email(name)
}
