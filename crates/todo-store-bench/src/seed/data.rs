//! The synthetic data: which users a seed has, and what each one's tasks look
//! like. Every user is made from its own random stream, so user `i` is the
//! same whether or not users `0..i` are made in the same run.

use chrono::{DateTime, Duration, Utc};
use todo_store::{
    Error, Priority, TaskId, UserId,
    bulk::{TaskRecord, UserRecord},
};
use uuid::Uuid;

use crate::rng::Rng;

/// Data is dated as if seeded on this day; the clock is never read, so the
/// same seed gives the same rows.
const END_SECS: i64 = 1_793_491_200; // 2026-11-01T00:00:00Z
/// Tasks are created over the two years before [`END_SECS`].
const SPAN_SECS: i64 = 730 * 86_400;
/// Most tasks one user may be given: a user's tasks load in one transaction.
pub const MAX_TASKS_PER_USER: u32 = 100_000;

/// What a seed run makes: `users` ordinary users, then `heavy_users` with many
/// tasks (the deep lists). Users are numbered `0..total_users()`, heavy last.
///
/// Also the flags of `todo-store-bench seed` that choose the data (the field
/// docs are their `--help`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::Args)]
pub struct Plan {
    /// Ordinary users to create
    #[arg(long, value_name = "N")]
    pub users: u32,
    /// Tasks of each ordinary user
    #[arg(long, value_name = "M", default_value_t = 100)]
    pub tasks_per_user: u32,
    /// Additional users with many tasks (deep lists)
    #[arg(long, value_name = "K", default_value_t = 0)]
    pub heavy_users: u32,
    /// Tasks of each heavy user
    #[arg(long, value_name = "T", default_value_t = 10_000)]
    pub heavy_tasks: u32,
    /// Random seed: the same seed and counts give the same data
    #[arg(long, value_name = "S", default_value_t = 1)]
    pub seed: u64,
}

impl Plan {
    /// Checks the counts.
    ///
    /// # Errors
    /// [`Error::Validation`] if there are no users or a user would get more
    /// than [`MAX_TASKS_PER_USER`] tasks.
    pub fn validated(self) -> Result<Self, Error> {
        if self.total_users() == 0 {
            return Err(Error::validation("users", "must be at least 1"));
        }
        for (field, n) in [
            ("tasks_per_user", self.tasks_per_user),
            ("heavy_tasks", self.heavy_tasks),
        ] {
            if n > MAX_TASKS_PER_USER {
                return Err(Error::validation(
                    field,
                    format!("must be at most {MAX_TASKS_PER_USER} (got {n})"),
                ));
            }
        }
        Ok(self)
    }

    /// All users, ordinary and heavy.
    pub fn total_users(&self) -> u64 {
        u64::from(self.users) + u64::from(self.heavy_users)
    }

    /// All tasks.
    pub fn total_tasks(&self) -> u64 {
        u64::from(self.users) * u64::from(self.tasks_per_user)
            + u64::from(self.heavy_users) * u64::from(self.heavy_tasks)
    }

    /// How many tasks user `index` has.
    pub fn tasks_of(&self, index: u64) -> u32 {
        if index < u64::from(self.users) {
            self.tasks_per_user
        } else {
            self.heavy_tasks
        }
    }

    /// User `index`'s email address, under the reserved `.invalid` domain so
    /// that it can never be a real person's.
    pub fn email(&self, index: u64) -> String {
        let kind = if index < u64::from(self.users) {
            "user"
        } else {
            "heavy"
        };
        format!("{kind}{index}@seed{}.todo-store.invalid", self.seed)
    }

    /// User `index` and their tasks.
    pub fn user(&self, index: u64) -> (UserRecord, Vec<TaskRecord>) {
        let mut rng = Rng::stream(self.seed, index);
        let start = at(END_SECS - SPAN_SECS);
        // Accounts open in the first month; their tasks follow until the end.
        let joined = start + seconds(&mut rng, 30 * 86_400);
        let mut user = UserRecord::new(id_at(&mut rng, joined), self.email(index), joined);
        user.display_name = Some(format!(
            "{} {}",
            rng.pick(FIRST_NAMES),
            rng.pick(LAST_NAMES)
        ));
        user.time_zone = Some((*rng.pick(TIME_ZONES)).to_owned());
        let mut tasks: Vec<TaskRecord> = (0..self.tasks_of(index))
            .map(|_| task(&mut rng, joined))
            .collect();
        // Stored in the order they were created, as a live database's rows
        // arrive; the planner sees the same physical order it would there.
        tasks.sort_by_key(|task| task.created_at);
        (user, tasks)
    }
}

/// One task created after `joined`, with a realistic life: about 30% done,
/// 40% with a due date, 25% with a description, some edited a few times.
fn task(rng: &mut Rng, joined: DateTime<Utc>) -> TaskRecord {
    let end = at(END_SECS);
    let created = joined + seconds(rng, (end - joined).num_seconds());
    let mut task = TaskRecord::new(
        TaskId::from_uuid(uuid_at(rng, created)),
        title(rng),
        created,
    );
    task.priority = priority(rng);
    if rng.percent(40) {
        task.due_at = Some(created + Duration::hours(1) + seconds(rng, 60 * 86_400));
    }
    if rng.percent(25) {
        task.description = Some(description(rng));
    }
    let edits = match rng.below(100) {
        0..60 => 0,
        60..85 => 1,
        85..95 => 2,
        _ => 3,
    };
    let mut last = created;
    for _ in 0..edits {
        last = (last + seconds(rng, 7 * 86_400)).min(end);
    }
    task.version = 1 + edits;
    if rng.percent(30) {
        let done = (created + Duration::minutes(10) + seconds(rng, 30 * 86_400)).min(end);
        task.completed_at = Some(done);
        task.version += 1;
        last = last.max(done);
    }
    task.updated_at = last;
    task
}

fn title(rng: &mut Rng) -> String {
    let verb = rng.pick(VERBS);
    let object = rng.pick(OBJECTS);
    match rng.below(10) {
        0..6 => format!("{verb} {object}"),
        6..9 => format!("{verb} {object} {}", rng.pick(QUALIFIERS)),
        _ => format!("{verb} {object} (#{})", 1 + rng.below(999)),
    }
}

fn description(rng: &mut Rng) -> String {
    let sentences = 1 + rng.below(3);
    (0..sentences)
        .map(|_| *rng.pick(SENTENCES))
        .collect::<Vec<_>>()
        .join(" ")
}

/// 1 (10%), 2 (20%), 3 (40%), 4 (20%), 5 (10%).
fn priority(rng: &mut Rng) -> Priority {
    let value = match rng.below(10) {
        0 => 1,
        1..3 => 2,
        3..7 => 3,
        7..9 => 4,
        _ => 5,
    };
    Priority::new(value).unwrap_or_default()
}

fn at(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(secs, 0).unwrap_or_default()
}

/// A random duration below `max_secs` seconds, to the microsecond (as stored).
fn seconds(rng: &mut Rng, max_secs: i64) -> Duration {
    let micros = rng.below(max_secs.max(1).unsigned_abs() * 1_000_000);
    Duration::microseconds(i64::try_from(micros).unwrap_or(i64::MAX))
}

/// A UUIDv7 for `time`: ids sort as their rows were created, as the library's own do.
fn uuid_at(rng: &mut Rng, time: DateTime<Utc>) -> Uuid {
    let millis = u64::try_from(time.timestamp_millis()).unwrap_or_default();
    uuid::Builder::from_unix_timestamp_millis(millis, &rng.bytes10()).into_uuid()
}

fn id_at(rng: &mut Rng, time: DateTime<Utc>) -> UserId {
    UserId::from_uuid(uuid_at(rng, time))
}

const VERBS: &[&str] = &[
    "Call", "Email", "Buy", "Fix", "Review", "Write", "Plan", "Book", "Pay", "Clean", "Update",
    "Prepare", "Schedule", "Read", "Send", "Finish", "Check", "Organize", "Renew", "Cancel",
];

const OBJECTS: &[&str] = &[
    "the invoice",
    "groceries",
    "the dentist appointment",
    "the quarterly report",
    "car insurance",
    "a birthday gift for Sam",
    "the garage",
    "the tax return",
    "slides for Monday",
    "the plumber",
    "flights to Lisbon",
    "the gym membership",
    "the project budget",
    "the kitchen shelves",
    "library books",
    "the team retrospective",
    "passport photos",
    "the electricity bill",
    "the landlord",
    "the onboarding checklist",
    "running shoes",
    "the release notes",
    "the school form",
    "the conference talk",
    "the bike tyres",
    "winter clothes",
    "the design review",
    "the vet appointment",
    "the newsletter",
    "the backup drive",
];

const QUALIFIERS: &[&str] = &[
    "before Friday",
    "this week",
    "tomorrow morning",
    "again",
    "for the family",
    "after lunch",
    "(urgent)",
    "once more",
];

const SENTENCES: &[&str] = &[
    "Ask about the discount first.",
    "The reference number is in last month's email.",
    "Bring the printed copy.",
    "Check with Alex before confirming.",
    "Needs a second pair of eyes.",
    "Only weekdays between 9 and 5.",
    "Keep the receipt for the expense report.",
    "Blocked until the contract is signed.",
    "Try the shop on the corner first.",
    "Use the shared calendar.",
];

const FIRST_NAMES: &[&str] = &[
    "Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "Ken", "Margaret", "Dennis",
];

const LAST_NAMES: &[&str] = &[
    "Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Allen", "Thompson", "Hamilton",
    "Ritchie",
];

const TIME_ZONES: &[&str] = &[
    "Europe/Paris",
    "Europe/London",
    "America/New_York",
    "America/Los_Angeles",
    "Asia/Tokyo",
    "Australia/Sydney",
    "UTC",
];

#[cfg(test)]
mod tests {
    use super::*;

    fn plan() -> Plan {
        Plan {
            seed: 42,
            users: 3,
            tasks_per_user: 200,
            heavy_users: 1,
            heavy_tasks: 1_000,
        }
    }

    #[test]
    fn same_seed_same_user() {
        assert_eq!(plan().user(2), plan().user(2));
        assert_ne!(plan().user(1).0.id, plan().user(2).0.id);
        let other = Plan { seed: 43, ..plan() };
        assert_ne!(plan().user(2).0.id, other.user(2).0.id);
    }

    #[test]
    fn counts_and_emails() {
        let plan = plan();
        assert_eq!((plan.total_users(), plan.total_tasks()), (4, 1_600));
        assert_eq!(plan.user(3).1.len(), 1_000);
        assert_eq!(plan.email(0), "user0@seed42.todo-store.invalid");
        assert_eq!(plan.email(3), "heavy3@seed42.todo-store.invalid");
    }

    #[test]
    fn tasks_are_consistent_and_spread() {
        let (user, tasks) = plan().user(3);
        let end = at(END_SECS);
        for task in &tasks {
            assert!(task.created_at >= user.created_at && task.created_at <= end);
            assert!(task.updated_at >= task.created_at && task.updated_at <= end);
            assert!(task.completed_at.is_none_or(|done| done <= task.updated_at));
            assert!(task.version >= 1);
            assert!(!task.title.is_empty() && task.title == task.title.trim());
        }
        let done = tasks.iter().filter(|t| t.completed_at.is_some()).count();
        assert!((200..400).contains(&done), "about 30% done, got {done}");
        let due = tasks.iter().filter(|t| t.due_at.is_some()).count();
        assert!((300..500).contains(&due), "about 40% due, got {due}");
        for p in 1..=5 {
            assert!(tasks.iter().any(|t| t.priority.get() == p));
        }
    }

    #[test]
    fn plans_are_checked() {
        assert!(
            Plan {
                users: 0,
                heavy_users: 0,
                ..plan()
            }
            .validated()
            .is_err()
        );
        assert!(
            Plan {
                heavy_tasks: MAX_TASKS_PER_USER + 1,
                ..plan()
            }
            .validated()
            .is_err()
        );
        assert!(plan().validated().is_ok());
    }
}
