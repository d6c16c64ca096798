//! `todo-store-web`: serves the todo-store API over HTTP for Better Auth
//! tokens. Configuration by flags or environment (`.env` read too); see
//! `--help`.

use std::{io::IsTerminal, net::SocketAddr, path::PathBuf, process::ExitCode, time::Duration};

use clap::Parser;
use todo_store::{AsyncStore, StoreConfig, jwt::Hs256Secret};
use todo_store_web::{
    AppState, AuthPolicy, KeyRing, KeyRingConfig, KeySource, Limits, ServeOptions, Stopped, serve,
};

/// Serve a user's tasks over HTTP, for Better Auth tokens.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// PostgreSQL URL (the application role's, so row-level security applies)
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    database_url: String,
    /// Address to listen on
    #[arg(long, env = "LISTEN", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Better Auth's base URL: the default issuer and audience, and
    /// `<URL>/api/auth/jwks` the default key set
    #[arg(long, env = "BETTER_AUTH_URL")]
    better_auth_url: Option<String>,
    /// The key set's URL (default: <better-auth-url>/api/auth/jwks)
    #[arg(long, env = "JWKS_URL", conflicts_with = "jwks_file")]
    jwks_url: Option<String>,
    /// A file holding the key set, instead of fetching it
    #[arg(long, env = "JWKS_FILE")]
    jwks_file: Option<PathBuf>,
    /// The `iss` tokens must carry (default: the Better Auth URL)
    #[arg(long, env = "JWT_ISSUER")]
    issuer: Option<String>,
    /// The `aud` tokens must carry (default: the Better Auth URL)
    #[arg(long, env = "JWT_AUDIENCE")]
    audience: Option<String>,
    /// Refuse tokens whose `emailVerified` claim is not true
    #[arg(long, env = "REQUIRE_VERIFIED_EMAIL")]
    require_verified_email: bool,
    /// How long a caller's account is remembered (seconds; 0: looked up on
    /// every request)
    #[arg(long, env = "OWNER_CACHE_SECONDS", default_value_t = 10)]
    owner_cache_seconds: u64,
    /// Shortest time between two fetches of the key set (seconds, at least
    /// 1), however many tokens name unknown keys
    #[arg(long, env = "JWKS_MIN_REFETCH_SECONDS", default_value_t = 60,
          value_parser = clap::value_parser!(u64).range(1..))]
    jwks_min_refetch_seconds: u64,
    /// Longest a request may take (seconds)
    #[arg(long, env = "REQUEST_TIMEOUT_SECONDS", default_value_t = 30)]
    request_timeout_seconds: u64,
    /// Longest a client may take to send a request's headers (seconds)
    #[arg(long, env = "HEADER_READ_TIMEOUT_SECONDS", default_value_t = 10,
          value_parser = clap::value_parser!(u64).range(1..))]
    header_read_timeout_seconds: u64,
    /// How long requests in flight may take to finish after SIGTERM
    /// (seconds); the process exits then, whatever is left
    #[arg(long, env = "SHUTDOWN_GRACE_SECONDS", default_value_t = 30)]
    shutdown_grace_seconds: u64,
    /// Largest request body (bytes)
    #[arg(long, env = "BODY_LIMIT_BYTES", default_value_t = todo_store_web::BODY_LIMIT_BYTES)]
    body_limit_bytes: usize,
}

/// The environment variable holding an HS256 secret, for development
/// against tokens signed with a shared secret instead of a key set.
const HS256_SECRET_ENV: &str = "JWT_HS256_SECRET";

#[tokio::main]
async fn main() -> ExitCode {
    // A missing .env is fine; the environment may hold everything.
    let _ = dotenvy::dotenv();
    tracing_subscriber::fmt()
        .with_ansi(std::io::stdout().is_terminal())
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    match run(Args::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            tracing::error!("{message}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<(), String> {
    let keys = KeyRing::load(key_ring_config(&args)?)
        .await
        .map_err(|err| err.to_string())?;
    let config = StoreConfig::new(&args.database_url)
        .settings_from_env()
        .map_err(|err| err.to_string())?;
    let store = AsyncStore::connect(&config)
        .await
        .map_err(|err| format!("cannot set up the database pool: {err}"))?;
    let state = AppState::new(
        store,
        keys,
        AuthPolicy {
            require_verified_email: args.require_verified_email,
            owner_cache: Duration::from_secs(args.owner_cache_seconds),
        },
    );
    let limits = Limits {
        body_bytes: args.body_limit_bytes,
        request_timeout: Duration::from_secs(args.request_timeout_seconds),
    };
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .map_err(|err| format!("cannot listen on {}: {err}", args.listen))?;
    tracing::info!(address = %args.listen, "listening");
    let options = ServeOptions {
        header_read_timeout: Duration::from_secs(args.header_read_timeout_seconds),
        shutdown_grace: Duration::from_secs(args.shutdown_grace_seconds),
    };
    let stopped = serve(
        listener,
        todo_store_web::router(state, limits),
        options,
        shutdown_signal(),
    )
    .await
    .map_err(|err| format!("server failed: {err}"))?;
    match stopped {
        Stopped::Drained => tracing::info!("stopped: every request in flight has finished"),
        Stopped::GraceExpired => tracing::warn!(
            seconds = args.shutdown_grace_seconds,
            "stopped: connections still open after the grace period were dropped"
        ),
    }
    Ok(())
}

fn key_ring_config(args: &Args) -> Result<KeyRingConfig, String> {
    let base = args
        .better_auth_url
        .as_deref()
        .map(|url| url.trim_end_matches('/'));
    let issuer = args
        .issuer
        .clone()
        .or_else(|| base.map(str::to_owned))
        .ok_or("give --issuer or --better-auth-url")?;
    let audience = args
        .audience
        .clone()
        .or_else(|| base.map(str::to_owned))
        .ok_or("give --audience or --better-auth-url")?;
    let source = if let Some(path) = &args.jwks_file {
        KeySource::File(path.clone())
    } else if let Some(url) = args
        .jwks_url
        .clone()
        .or_else(|| base.map(|base| format!("{base}/api/auth/jwks")))
    {
        KeySource::Url(
            url.parse()
                .map_err(|err| format!("invalid JWKS URL: {err}"))?,
        )
    } else if let Ok(secret) = std::env::var(HS256_SECRET_ENV) {
        tracing::warn!("verifying tokens with a shared HS256 secret: for development only");
        KeySource::Hs256(Hs256Secret::new(secret).map_err(|err| err.to_string())?)
    } else {
        return Err(format!(
            "give --better-auth-url, --jwks-url or --jwks-file (or {HS256_SECRET_ENV} for development)"
        ));
    };
    Ok(KeyRingConfig {
        source,
        issuer,
        audience,
        min_refetch_interval: Duration::from_secs(args.jwks_min_refetch_seconds),
        fetch_timeout: Duration::from_secs(5),
    })
}

/// Resolves on SIGTERM or Ctrl-C; the server then stops accepting and lets
/// the requests in flight finish.
async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
    tracing::info!("shutting down");
}
