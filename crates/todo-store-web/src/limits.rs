//! What a request may take: its body's size and its time.

use std::time::Duration;

/// The largest request body accepted by default, in bytes: a task's longest
/// fields (10,000 characters of description, up to 4 bytes each) with room
/// to spare, or a bulk delete of about 6,000 ids.
pub const BODY_LIMIT_BYTES: usize = 256 * 1024;

/// What a request may take.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// The largest request body, in bytes; larger is 413.
    pub body_bytes: usize,
    /// The longest a request may run; longer is 503 with `Retry-After`.
    pub request_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            body_bytes: BODY_LIMIT_BYTES,
            request_timeout: Duration::from_secs(30),
        }
    }
}
