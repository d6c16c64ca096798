//! [`RetryPolicy`]: running a whole transaction again after PostgreSQL
//! aborted it for a serialization failure or a deadlock.
//!
//! Those two are the only errors after which a repeat is both safe and
//! likely to succeed: PostgreSQL rolled the whole transaction back, and the
//! transaction it collided with has usually finished by the time the repeat
//! runs. Everything else is returned at once: a lost connection may have
//! committed (only the caller can tell, e.g. by re-sending a create with its
//! client-chosen id), and a validation or constraint error would fail again.

use std::{
    collections::hash_map::RandomState,
    hash::{BuildHasher, Hasher},
    thread,
    time::Duration,
};

use crate::{ConflictKind, Error, Result};

/// How often, and after what pause, a transaction that PostgreSQL aborted
/// for a serialization failure (`40001`) or a deadlock (`40P01`) is run
/// again. [`Store`](crate::Store) applies it to each of its calls; code that
/// runs its own transaction on a connection can use [`RetryPolicy::run`].
///
/// The pause before repeat *n* (1-based) is drawn at random between half and
/// all of `base_delay × 2ⁿ⁻¹`, capped at `max_delay`, so that the colliding
/// transactions do not collide again in step.
///
/// ```
/// use std::time::Duration;
/// use todo_store::{ConflictKind, Error, RetryPolicy};
///
/// let policy = RetryPolicy::default();
/// assert_eq!(policy.max_attempts, 3);
/// let mut attempts = 0;
/// let answer: Result<(), Error> = policy.run(|| {
///     attempts += 1;
///     Err(Error::Conflict(ConflictKind::ConcurrentUpdate))
/// });
/// assert_eq!(answer, Err(Error::Conflict(ConflictKind::ConcurrentUpdate)));
/// assert_eq!(attempts, 3);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct RetryPolicy {
    /// Attempts in all, the first included (default 3; 1 never repeats).
    pub max_attempts: u32,
    /// The pause before the first repeat, before jitter (default 10 ms).
    pub base_delay: Duration,
    /// The longest pause (default 200 ms).
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 3,
            base_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(200),
        }
    }
}

impl RetryPolicy {
    /// A policy that never repeats: every error reaches the caller.
    pub fn never() -> Self {
        Self {
            max_attempts: 1,
            ..Self::default()
        }
    }

    /// `max_attempts` attempts in all, with the default pauses.
    pub fn attempts(max_attempts: u32) -> Self {
        Self {
            max_attempts,
            ..Self::default()
        }
    }

    /// Runs `transaction` until it returns anything but
    /// [`ConflictKind::ConcurrentUpdate`], or `max_attempts` have been made.
    ///
    /// `transaction` must be the *whole* transaction: PostgreSQL aborts a
    /// transaction it picks as a deadlock victim or for a serialization
    /// failure, so repeating a part of it inside an outer transaction cannot
    /// help (a library call inside a caller's transaction does not repeat
    /// itself for that reason).
    ///
    /// # Errors
    /// The last attempt's error.
    pub fn run<T>(&self, mut transaction: impl FnMut() -> Result<T>) -> Result<T> {
        let mut attempt = 1;
        loop {
            match transaction() {
                Err(Error::Conflict(ConflictKind::ConcurrentUpdate))
                    if attempt < self.max_attempts =>
                {
                    thread::sleep(self.pause_before_repeat(attempt));
                    attempt += 1;
                }
                answer => return answer,
            }
        }
    }

    /// The jittered pause after attempt `attempt` (1-based) failed.
    pub(crate) fn pause_before_repeat(&self, attempt: u32) -> Duration {
        let doubling = 2u32.saturating_pow(attempt.saturating_sub(1));
        let ceiling = self.base_delay.saturating_mul(doubling).min(self.max_delay);
        let half = ceiling / 2;
        half + half.mul_f64(unit_random())
    }

    pub(crate) fn validate(&self) -> Result<()> {
        if self.max_attempts == 0 {
            return Err(Error::validation(
                "retry.max_attempts",
                "must be at least 1 (the first attempt)",
            ));
        }
        if self.base_delay > self.max_delay {
            return Err(Error::validation(
                "retry.base_delay",
                "must not exceed retry.max_delay",
            ));
        }
        Ok(())
    }
}

/// A number in `[0, 1)`, different on every call: jitter needs no more than
/// this, so no random-number crate is pulled in. `RandomState` is seeded
/// randomly per thread and advanced on every `new()`.
fn unit_random() -> f64 {
    let bits = RandomState::new().build_hasher().finish() >> 11;
    // 53 random bits: every value exactly representable as an f64.
    bits as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pauses_grow_stay_jittered_and_capped() {
        let policy = RetryPolicy {
            max_attempts: 10,
            base_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(50),
        };
        for attempt in 1..=8 {
            let ceiling =
                (Duration::from_millis(10) * 2u32.pow(attempt - 1)).min(Duration::from_millis(50));
            for _ in 0..50 {
                let pause = policy.pause_before_repeat(attempt);
                assert!(
                    pause >= ceiling / 2 && pause <= ceiling,
                    "{attempt}: {pause:?}"
                );
            }
        }
        let pauses: std::collections::HashSet<_> =
            (0..20).map(|_| policy.pause_before_repeat(3)).collect();
        assert!(pauses.len() > 1, "no jitter: {pauses:?}");
    }

    #[test]
    fn only_concurrent_updates_are_repeated() {
        let policy = RetryPolicy {
            base_delay: Duration::ZERO,
            ..RetryPolicy::attempts(5)
        };
        let others = [
            Error::Unavailable("lost".into()),
            Error::StorageFull("disk".into()),
            Error::Conflict(ConflictKind::DuplicateTaskId),
            Error::validation("title", "empty"),
        ];
        for error in others {
            let mut attempts = 0;
            let answer: Result<()> = policy.run(|| {
                attempts += 1;
                Err(error.clone())
            });
            assert_eq!((answer, attempts), (Err(error), 1));
        }
        let mut attempts = 0;
        let answer = policy.run(|| {
            attempts += 1;
            if attempts < 4 {
                Err(Error::Conflict(ConflictKind::ConcurrentUpdate))
            } else {
                Ok(attempts)
            }
        });
        assert_eq!(answer, Ok(4));
    }

    #[test]
    fn zero_attempts_or_inverted_delays_are_rejected() {
        assert!(RetryPolicy::attempts(0).validate().is_err());
        let inverted = RetryPolicy {
            base_delay: Duration::from_secs(1),
            ..RetryPolicy::default()
        };
        assert!(inverted.validate().is_err());
        assert!(RetryPolicy::never().validate().is_ok());
    }
}
