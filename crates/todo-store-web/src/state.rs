//! What every handler shares, and who may in.

use std::{sync::Arc, time::Duration};

use todo_store::AsyncStore;

use crate::{KeyRing, owners::OwnerCache};

/// Who may in, and how long a caller's account is remembered.
#[derive(Debug, Clone, Copy)]
pub struct AuthPolicy {
    /// Refuse (403) tokens whose `emailVerified` claim is not `true`.
    pub require_verified_email: bool,
    /// How long the account of a token's subject is remembered, so that
    /// the task routes need not look it up on every request; zero looks it
    /// up every time. 10 s by default.
    pub owner_cache: Duration,
}

impl Default for AuthPolicy {
    fn default() -> Self {
        Self {
            require_verified_email: false,
            owner_cache: Duration::from_secs(10),
        }
    }
}

/// What every handler shares: the store, the token verifier and the
/// policy. Cheap to clone.
#[derive(Debug, Clone)]
pub struct AppState {
    pub(crate) store: AsyncStore,
    pub(crate) keys: Arc<KeyRing>,
    pub(crate) auth: AuthPolicy,
    pub(crate) owners: Arc<OwnerCache>,
}

impl AppState {
    /// The state of a service over `store`, checking tokens with `keys`.
    pub fn new(store: AsyncStore, keys: KeyRing, auth: AuthPolicy) -> Self {
        Self {
            store,
            keys: Arc::new(keys),
            auth,
            owners: Arc::new(OwnerCache::new(auth.owner_cache)),
        }
    }
}
