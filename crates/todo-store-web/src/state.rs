//! What every handler shares, and who may in.

use std::sync::Arc;

use todo_store::AsyncStore;

use crate::KeyRing;

/// Who may in.
#[derive(Debug, Clone, Copy, Default)]
pub struct AuthPolicy {
    /// Refuse (403) tokens whose `emailVerified` claim is not `true`.
    pub require_verified_email: bool,
}

/// What every handler shares: the store, the token verifier and the
/// policy. Cheap to clone.
#[derive(Debug, Clone)]
pub struct AppState {
    pub(crate) store: AsyncStore,
    pub(crate) keys: Arc<KeyRing>,
    pub(crate) auth: AuthPolicy,
}

impl AppState {
    /// The state of a service over `store`, checking tokens with `keys`.
    pub fn new(store: AsyncStore, keys: KeyRing, auth: AuthPolicy) -> Self {
        Self {
            store,
            keys: Arc::new(keys),
            auth,
        }
    }
}
