//! The token verifier and where its keys come from: Better Auth's JWKS
//! fetched at start-up and again when a token names a key the service has
//! not seen (Better Auth rotated its keys), at most once per interval, so a
//! stream of forged `kid`s cannot turn into a stream of fetches. A failed
//! refetch keeps the keys the service already has.

use std::{
    path::PathBuf,
    sync::{Arc, Mutex, RwLock},
    time::{Duration, Instant},
};

use todo_store::jwt::{
    ConfigError, Hs256Secret, Keys, TokenError, VerifiedSubject, Verifier, VerifierConfig,
};

/// Where the verifier's keys come from.
#[derive(Debug, Clone)]
pub enum KeySource {
    /// A JWKS document served over HTTP(S), e.g. Better Auth's
    /// `https://app.example.com/api/auth/jwks`.
    Url(reqwest::Url),
    /// A JWKS document in a file, read at start-up and again on an unknown
    /// key (for deployments that ship the key set with the service).
    File(PathBuf),
    /// A shared HS256 secret (development only); never refetched.
    Hs256(Hs256Secret),
}

/// How the verifier checks tokens and refreshes its keys.
#[derive(Debug, Clone)]
pub struct KeyRingConfig {
    /// Where the keys come from.
    pub source: KeySource,
    /// The `iss` every token must carry (Better Auth: its base URL).
    pub issuer: String,
    /// The `aud` every token must carry (Better Auth: its base URL).
    pub audience: String,
    /// The shortest time between two fetches of the key set.
    pub min_refetch_interval: Duration,
    /// How long one fetch may take.
    pub fetch_timeout: Duration,
}

/// Why the keys could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum KeyLoadError {
    /// The key set could not be fetched or read.
    #[error("cannot fetch the key set: {0}")]
    Fetch(String),
    /// The key set is not one the verifier can use.
    #[error("unusable key set: {0}")]
    Keys(#[from] ConfigError),
}

/// The verifier in use, swapped whole when the keys change.
#[derive(Debug)]
pub struct KeyRing {
    config: KeyRingConfig,
    client: reqwest::Client,
    verifier: RwLock<Arc<Verifier>>,
    /// When the key set was last fetched (successfully or not).
    last_fetch: Mutex<Instant>,
}

impl KeyRing {
    /// Loads the keys once, so a service does not start without them.
    ///
    /// # Errors
    /// [`KeyLoadError`] if the key set cannot be fetched, read or used.
    pub async fn load(config: KeyRingConfig) -> Result<Self, KeyLoadError> {
        let client = reqwest::Client::builder()
            .timeout(config.fetch_timeout)
            .build()
            .map_err(|err| KeyLoadError::Fetch(err.to_string()))?;
        let keys = fetch(&client, &config.source).await?;
        let verifier = build(&config, keys)?;
        Ok(Self {
            config,
            client,
            verifier: RwLock::new(Arc::new(verifier)),
            last_fetch: Mutex::new(Instant::now()),
        })
    }

    /// Verifies `token`; a token under an unknown key makes the ring fetch
    /// the key set again (unless it did so less than the configured
    /// interval ago) and try once more.
    ///
    /// # Errors
    /// [`TokenError`] if the token is refused.
    pub async fn verify(&self, token: &str) -> Result<VerifiedSubject, TokenError> {
        match self.current().verify(token) {
            Err(TokenError::UnknownKey) if self.may_refetch() => {
                self.refetch().await;
                self.current().verify(token)
            }
            answer => answer,
        }
    }

    fn current(&self) -> Arc<Verifier> {
        // A panic while holding the lock cannot leave a half-swapped
        // verifier: the swap is one assignment.
        match self.verifier.read() {
            Ok(verifier) => Arc::clone(&verifier),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    /// Whether a refetch is allowed now; if so, counts it as done, so that
    /// concurrent requests with unknown keys fetch once between them.
    fn may_refetch(&self) -> bool {
        if matches!(self.config.source, KeySource::Hs256(_)) {
            return false;
        }
        let mut last = match self.last_fetch.lock() {
            Ok(last) => last,
            Err(poisoned) => poisoned.into_inner(),
        };
        if last.elapsed() < self.config.min_refetch_interval {
            return false;
        }
        *last = Instant::now();
        true
    }

    async fn refetch(&self) {
        let fresh = fetch(&self.client, &self.config.source)
            .await
            .and_then(|keys| Ok(build(&self.config, keys)?));
        match fresh {
            Ok(verifier) => {
                tracing::info!("key set refetched");
                let mut current = match self.verifier.write() {
                    Ok(current) => current,
                    Err(poisoned) => poisoned.into_inner(),
                };
                *current = Arc::new(verifier);
            }
            // The keys in hand stay: tokens under them keep working.
            Err(err) => tracing::warn!(%err, "key set refetch failed; keeping the current keys"),
        }
    }
}

async fn fetch(client: &reqwest::Client, source: &KeySource) -> Result<Keys, KeyLoadError> {
    let document = match source {
        KeySource::Hs256(secret) => return Ok(Keys::hs256(secret.clone())),
        KeySource::File(path) => tokio::fs::read_to_string(path)
            .await
            .map_err(|err| KeyLoadError::Fetch(format!("{}: {err}", path.display())))?,
        KeySource::Url(url) => {
            let response = client
                .get(url.clone())
                .send()
                .await
                .and_then(reqwest::Response::error_for_status)
                .map_err(|err| KeyLoadError::Fetch(err.without_url().to_string()))?;
            read_capped(response).await?
        }
    };
    Ok(Keys::jwks_json(&document)?)
}

/// The largest key set read: Better Auth's holds a few keys of a few hundred
/// bytes each; more is not a key set.
const MAX_JWKS_BYTES: usize = 1024 * 1024;

async fn read_capped(mut response: reqwest::Response) -> Result<String, KeyLoadError> {
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|err| KeyLoadError::Fetch(err.without_url().to_string()))?
    {
        if body.len() + chunk.len() > MAX_JWKS_BYTES {
            return Err(KeyLoadError::Fetch(format!(
                "the key set is larger than {MAX_JWKS_BYTES} bytes"
            )));
        }
        body.extend_from_slice(&chunk);
    }
    String::from_utf8(body).map_err(|_| KeyLoadError::Fetch("the key set is not UTF-8".to_owned()))
}

fn build(config: &KeyRingConfig, keys: Keys) -> Result<Verifier, ConfigError> {
    Verifier::new(VerifierConfig::new(
        config.issuer.clone(),
        config.audience.clone(),
        keys,
    ))
}
