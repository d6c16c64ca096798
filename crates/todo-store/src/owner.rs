//! [`Owner`]: the proof of an authenticated identity, and the only key to tasks.

use crate::ids::UserId;

/// The authenticated owner of the tasks an operation may touch.
///
/// Only this library can create an `Owner`, and only from a verified identity:
/// [`UserRepo::authenticate`](crate::UserRepo::authenticate) (email and password),
/// [`UserRepo::owner_for_subject`](crate::UserRepo::owner_for_subject) (an external
/// auth service's subject), or the explicitly named
/// `OperatorRepo::operator_owner` for trusted operator tools (behind the
/// `operator` cargo feature). It cannot be deserialized or built from a client-supplied id,
/// so a request cannot choose whose tasks it touches.
///
/// ```compile_fail
/// // There is no public constructor:
/// let owner = todo_store::Owner { user_id: todo_store::UserId::new_v7() };
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Owner {
    user_id: UserId,
}

impl Owner {
    /// Mints an owner. Callers must have verified the identity first.
    pub(crate) fn verified(user_id: UserId) -> Self {
        Self { user_id }
    }

    /// The owner's user id (for display and logging; it grants nothing by itself).
    pub fn user_id(&self) -> UserId {
        self.user_id
    }
}
