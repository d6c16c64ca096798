//! `--async-vs-sync`: every read and write shape through the sync store and
//! through the async store, alternating, so that the two are measured under
//! the same load of the machine. Each async client has a connection and a
//! current-thread tokio runtime of its own, as each sync client has a
//! thread and a pooled connection.

use std::{sync::Mutex, time::Duration};

use todo_store::{AsyncStore, Error, Owner, Store, StoreConfig};
use tokio::runtime::{Builder, Runtime};

use super::{
    Sample, alternate_two, measure, report::AsyncSyncRow, sample_reads, shape::Read, writer::Writer,
};
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
            let guard = lock(slot);
            let (runtime, store) = &*guard;
            runtime.block_on(rng.pick(reads).call_async(store))?;
            Ok(true)
        }
    })
}

/// The write shape `shape` with `clients` clients through the sync store
/// (the writers of `side`) and through the async store (`async_writers`,
/// one per async client), `rounds` times each, alternating; both write in
/// the same seeded accounts, each to tasks of its own.
///
/// # Errors
/// The library's error if a call fails.
#[allow(clippy::too_many_arguments)]
pub(super) fn measure_writes(
    side: &mut super::Side,
    async_clients: &[Mutex<Client>],
    async_writers: &mut [Writer],
    shape: super::shape::Shape,
    clients: u32,
    duration: Duration,
    seed: u64,
    rounds: u32,
) -> Result<Option<AsyncSyncRow>, Error> {
    let summaries = alternate_two(rounds, |i| match i {
        0 => super::measure_writes(side, shape, duration, seed),
        _ => sample_async_writes(
            async_clients,
            &mut async_writers[..clients as usize],
            &side.owners,
            shape,
            duration,
            seed,
        ),
    })?;
    Ok(summaries.map(|(sync, not_sync)| AsyncSyncRow::new(shape, clients, sync, not_sync)))
}

/// One write shape from one async client per writer, as the sync store's
/// `measure_writes` does it (stocked first, unmeasured, but for creates).
fn sample_async_writes(
    async_clients: &[Mutex<Client>],
    writers: &mut [Writer],
    owners: &[Owner],
    shape: super::shape::Shape,
    duration: Duration,
    seed: u64,
) -> Result<Sample, Error> {
    if shape != super::shape::Shape::Create {
        for (client, writer) in writers.iter_mut().enumerate() {
            let mut rng = Rng::stream(seed, 3_000 + client as u64);
            let mut target = lock(&async_clients[client]);
            writer.stock(super::STOCK, &mut *target, owners, &mut rng)?;
        }
    }
    let slots: Vec<Mutex<&mut Writer>> = writers.iter_mut().map(Mutex::new).collect();
    let clients = u32::try_from(slots.len()).unwrap_or(u32::MAX);
    measure(clients, duration, |client| {
        let (slot, target) = (&slots[client as usize], &async_clients[client as usize]);
        let mut rng = Rng::stream(seed, 4_000 + u64::from(client));
        move || lock(slot).call(shape, &mut *lock(target), owners, &mut rng)
    })
}

/// Deletes every task the async writers still have.
///
/// # Errors
/// The library's error if a delete fails.
pub(super) fn clean_up(
    async_clients: &[Mutex<Client>],
    writers: &mut [Writer],
) -> Result<(), Error> {
    writers
        .iter_mut()
        .zip(async_clients)
        .try_for_each(|(writer, target)| writer.clean_up(&mut *lock(target)))
}

/// A client's own slot: never contended, so a poisoned lock only means an
/// earlier call panicked, and its state is still the client's.
fn lock<T>(slot: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    slot.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}
