//! The owners of recently seen subjects, so that a known caller's request
//! waits one round trip (its call) instead of two (the account look-up,
//! then the call): on Neon each is a network hop.
//!
//! An entry lives a few seconds ([`AuthPolicy::owner_cache`]). Within that
//! time an account deleted elsewhere (by another instance, or by Better
//! Auth's cascade) still gives its old owner: the caller then sees no tasks
//! and their writes are refused as for a deleted account (404), never
//! another user's data, and the entry ages out. The account routes always
//! look the account up afresh, and deleting it here forgets it at once.
//!
//! [`AuthPolicy::owner_cache`]: crate::AuthPolicy::owner_cache

use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant},
};

use todo_store::{Owner, User};

/// Subjects held at most; past it, expired entries go, then all.
const CAPACITY: usize = 10_000;

/// A verified subject's account, as last looked up.
#[derive(Debug)]
pub(crate) struct OwnerCache {
    ttl: Duration,
    entries: Mutex<HashMap<String, (User, Owner, Instant)>>,
}

impl OwnerCache {
    pub(crate) fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// The account of `subject`, if looked up less than the time to live
    /// ago.
    pub(crate) fn get(&self, subject: &str) -> Option<(User, Owner)> {
        let entries = self
            .entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let (user, owner, at) = entries.get(subject)?;
        (at.elapsed() < self.ttl).then(|| (user.clone(), owner.clone()))
    }

    pub(crate) fn put(&self, subject: &str, user: &User, owner: &Owner) {
        if self.ttl.is_zero() {
            return;
        }
        let mut entries = self
            .entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if entries.len() >= CAPACITY && !entries.contains_key(subject) {
            entries.retain(|_, (_, _, at)| at.elapsed() < self.ttl);
            if entries.len() >= CAPACITY {
                entries.clear();
            }
        }
        entries.insert(
            subject.to_owned(),
            (user.clone(), owner.clone(), Instant::now()),
        );
    }

    pub(crate) fn forget(&self, subject: &str) {
        let mut entries = self
            .entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        entries.remove(subject);
    }
}
