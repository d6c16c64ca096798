//! `--async-vs-sync`: every read shape through the sync store and through
//! the async store, alternating, so that the two are measured under the
//! same load of the machine. Each async client has a connection and a
//! current-thread tokio runtime of its own, as each sync client has a
//! thread and a pooled connection.

use std::{sync::Mutex, time::Duration};

use todo_store::{AsyncStore, Error, Store, StoreConfig};
use tokio::runtime::{Builder, Runtime};

use super::{Sample, alternate_two, measure, report::AsyncSyncRow, sample_reads, shape::Read};
use crate::rng::Rng;

/// One async client: its runtime and its store (one connection).
type Client = (Runtime, AsyncStore);

/// The async clients for `clients` clients of `config`, connected.
///
/// # Errors
/// The library's error if a store cannot connect.
pub fn clients(config: &StoreConfig, clients: u32) -> Result<Vec<Mutex<Client>>, Error> {
    (0..clients)
        .map(|_| {
            let runtime = Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|err| Error::Database(format!("cannot start a tokio runtime: {err}")))?;
            let store =
                runtime.block_on(AsyncStore::connect(&config.clone().max_connections(1)))?;
            Ok(Mutex::new((runtime, store)))
        })
        .collect()
}

/// `reads` with `clients` clients through `sync` and through `async_clients`
/// (at least `clients` of them), `rounds` times each, alternating; `None`
/// without reads.
///
/// # Errors
/// The library's error if a call fails.
#[allow(clippy::too_many_arguments)]
pub fn measure_reads(
    sync: &Store,
    async_clients: &[Mutex<Client>],
    shape: super::shape::Shape,
    reads: &[Read],
    clients: u32,
    duration: Duration,
    seed: u64,
    rounds: u32,
) -> Result<Option<AsyncSyncRow>, Error> {
    if reads.is_empty() {
        return Ok(None);
    }
    let summaries = alternate_two(rounds, |i| match i {
        0 => sample_reads(sync, reads, clients, duration, seed),
        _ => sample_async(async_clients, reads, clients, duration, seed),
    })?;
    Ok(summaries.map(|(sync, not_sync)| AsyncSyncRow::new(shape, clients, sync, not_sync)))
}

/// Runs `reads` (one picked at random per call, the same streams as the
/// sync store's) from the first `clients` async clients.
fn sample_async(
    async_clients: &[Mutex<Client>],
    reads: &[Read],
    clients: u32,
    duration: Duration,
    seed: u64,
) -> Result<Sample, Error> {
    measure(clients, duration, |client| {
        let slot = &async_clients[client as usize];
        let mut rng = Rng::stream(seed, u64::from(client) + 1);
        move || {
            // Each client has its own slot: the lock is never contended.
            let guard = slot.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            let (runtime, store) = &*guard;
            runtime.block_on(rng.pick(reads).call_async(store))?;
            Ok(true)
        }
    })
}
