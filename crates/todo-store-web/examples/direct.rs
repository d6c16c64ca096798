//! The library called directly, as the web service calls it, for a
//! side-by-side measurement with a load generator against the service
//! (`scripts/web-bench.sh`): `clients` tokio tasks on a multi-thread
//! runtime, each making one call after another for `seconds`, then the
//! median, 95th percentile and calls per second on one line.
//!
//! ```sh
//! cargo run --release -p todo-store-web --example direct -- \
//!   DATABASE_URL SUBJECT list|create|owner|verify CLIENTS SECONDS [JWKS_FILE ISSUER TOKEN]
//! ```
//!
//! `owner` times the look-up of the subject's account that every request
//! makes; `verify` only the token check (no database), with the key set of
//! `JWKS_FILE` and a token from it.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use todo_store::{
    AsyncStore, NewTask, OnMissingSubject, StoreConfig, TaskQuery,
    jwt::{Keys, Verifier, VerifierConfig},
};

type Failure = Box<dyn std::error::Error + Send + Sync>;

#[tokio::main]
async fn main() -> Result<(), Failure> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [url, subject, shape, clients, seconds, rest @ ..] = args.as_slice() else {
        return Err("usage: direct DATABASE_URL SUBJECT list|create|owner|verify CLIENTS SECONDS [JWKS_FILE ISSUER TOKEN]".into());
    };
    let clients: usize = clients.parse()?;
    let duration = Duration::from_secs(seconds.parse()?);
    let store = AsyncStore::connect(&StoreConfig::new(url.as_str()).settings_from_env()?).await?;
    let (_, owner) = store
        .owner_for_subject(subject, OnMissingSubject::Reject)
        .await?;
    let verifier = match rest {
        [jwks, issuer, token] => Some((
            Arc::new(Verifier::new(VerifierConfig::new(
                issuer.clone(),
                issuer.clone(),
                Keys::jwks_json(&std::fs::read_to_string(jwks)?)?,
            ))?),
            token.clone(),
        )),
        _ => None,
    };
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..clients {
        let (store, owner, shape, subject) =
            (store.clone(), owner.clone(), shape.clone(), subject.clone());
        let verifier = verifier.clone();
        workers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut created = Vec::new();
            while started.elapsed() < duration {
                let call = Instant::now();
                match shape.as_str() {
                    "list" => drop(store.list_tasks(&owner, &TaskQuery::new()).await?),
                    "owner" => drop(
                        store
                            .owner_for_subject(&subject, OnMissingSubject::Reject)
                            .await?,
                    ),
                    "create" => {
                        created.push(store.create_task(&owner, NewTask::new("Bench")).await?.id)
                    }
                    "verify" => {
                        let (verifier, token) = verifier
                            .as_ref()
                            .ok_or("verify needs JWKS_FILE ISSUER TOKEN")?;
                        drop(verifier.verify(token)?);
                    }
                    other => return Err(format!("unknown shape {other}").into()),
                }
                latencies.push(call.elapsed());
            }
            // The created tasks go again, so the data is left as found.
            for chunk in created.chunks(1000) {
                store.delete_tasks(&owner, chunk).await?;
            }
            Ok::<_, Failure>(latencies)
        }));
    }
    let mut latencies = Vec::new();
    for worker in workers {
        latencies.extend(worker.await??);
    }
    let wall = started.elapsed();
    latencies.sort();
    let at = |q: f64| latencies[((latencies.len() as f64 - 1.0) * q).round() as usize];
    println!(
        "{shape}: {} calls, p50 {:.3} ms, p95 {:.3} ms, {:.0} calls/s",
        latencies.len(),
        at(0.50).as_secs_f64() * 1000.0,
        at(0.95).as_secs_f64() * 1000.0,
        latencies.len() as f64 / wall.as_secs_f64()
    );
    Ok(())
}
