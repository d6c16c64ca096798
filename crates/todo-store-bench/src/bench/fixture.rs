//! Who the benchmark acts for, chosen once at the start: users at random,
//! the users with the deepest lists, and for each read shape a fixed set of
//! calls on them.

use diesel::{OptionalExtension, PgConnection, QueryableByName, RunQueryDsl, sql_query, sql_types};
use todo_store::{
    Error, NewUser, OperatorRepo, Owner, SortKey, SortOrder, StatusFilter, TaskFilter, TaskId,
    TaskQuery, TaskRepo, TaskSort, UserId, UserRepo,
};

use super::shape::{Read, Shape};
use crate::rng::Rng;

/// Calls each read shape picks from. `pgbench` takes at most 128 scripts.
pub const PARAM_SETS: usize = 100;
/// Users with the most tasks, for the deep-list shapes.
const HEAVY_USERS: i64 = 10;
/// Tasks on a page, as the library's default.
const PAGE: u32 = todo_store::DEFAULT_PAGE_SIZE;
/// Users read to sample from.
const MAX_USERS_READ: usize = 100_000;

/// The domain of the accounts [`crate::seed`] makes.
const SEEDED_DOMAIN: &str = ".todo-store.invalid";

/// The users and calls a benchmark run uses, chosen once at the start.
#[derive(Debug)]
pub struct Fixture {
    /// Randomly chosen users, for the reads.
    pub owners: Vec<Owner>,
    /// Whose tasks the write shapes create, change and delete: seeded
    /// accounts only, never a real user's; a temporary account of the run's
    /// own when the sample holds no seeded one.
    pub writers: Vec<Owner>,
    /// The temporary account, deleted (with its tasks) at the end.
    temporary: Option<Owner>,
    /// Users with the most tasks, each with a cursor deep in their list.
    heavy: Vec<(Owner, todo_store::Cursor)>,
    /// For each chosen user: one of their task ids and a word of one title.
    picks: Vec<(TaskId, String)>,
    /// Accounts in the database.
    pub users: u64,
}

impl Fixture {
    /// Chooses up to [`PARAM_SETS`] users at random, and the heavy users.
    ///
    /// # Errors
    /// A validation failure if the database holds no tasks; the library's error.
    pub fn prepare(conn: &mut PgConnection, rng: &mut Rng) -> Result<Fixture, Error> {
        let everyone = all_users(conn)?;
        let mut owners = Vec::new();
        let mut writers = Vec::new();
        let mut picks = Vec::new();
        for (_, email) in sample(&everyone, PARAM_SETS, rng) {
            let owner = conn.operator_owner(email)?;
            if email.ends_with(SEEDED_DOMAIN) {
                writers.push(owner.clone());
            }
            let page = conn.list_tasks(&owner, &newest_first())?;
            if page.items.is_empty() {
                continue;
            }
            let task = rng.pick(&page.items);
            picks.push((task.id, search_word(&task.title)));
            owners.push(owner);
        }
        if owners.is_empty() {
            return Err(Error::validation(
                "database",
                "holds no tasks to measure: run `todo-store-bench seed` first",
            ));
        }
        let heavy = heavy_users(conn)?;
        let temporary = if writers.is_empty() {
            let email = format!("bench{}@run.todo-store.invalid", std::process::id());
            conn.create_user(NewUser::new(email.as_str()))?;
            let owner = conn.operator_owner(&email)?;
            writers.push(owner.clone());
            Some(owner)
        } else {
            None
        };
        Ok(Fixture {
            owners,
            writers,
            temporary,
            heavy,
            picks,
            users: user_count(conn)?,
        })
    }

    /// Deletes the temporary account, if the run made one.
    ///
    /// # Errors
    /// The library's error.
    pub fn clean_up(&self, conn: &mut PgConnection) -> Result<(), Error> {
        match &self.temporary {
            Some(owner) => conn.delete_user(owner),
            None => Ok(()),
        }
    }

    /// The calls a read shape picks from (empty for a write shape).
    pub fn reads(&self, shape: Shape) -> Vec<Read> {
        let each = |make: &dyn Fn(&Owner, &(TaskId, String)) -> Read| -> Vec<Read> {
            self.owners
                .iter()
                .zip(&self.picks)
                .map(|(owner, pick)| make(owner, pick))
                .collect()
        };
        match shape {
            Shape::List(key) => each(&|owner, _| {
                Read::List(
                    owner.clone(),
                    TaskQuery::new().sort(natural(key)).limit(PAGE),
                )
            }),
            Shape::HeavyFirstPage => self
                .heavy
                .iter()
                .map(|(owner, _)| Read::List(owner.clone(), newest_first()))
                .collect(),
            Shape::DeepPage => self
                .heavy
                .iter()
                .map(|(owner, cursor)| {
                    Read::List(owner.clone(), newest_first().after(cursor.clone()))
                })
                .collect(),
            Shape::OpenByPriority => each(&|owner, _| {
                let query = TaskQuery::new()
                    .filter(TaskFilter::default().status(StatusFilter::Open))
                    .sort(natural(SortKey::Priority))
                    .limit(PAGE);
                Read::List(owner.clone(), query)
            }),
            Shape::Search => each(&|owner, (_, word)| {
                let query = newest_first().filter(TaskFilter::default().search(word.clone()));
                Read::List(owner.clone(), query)
            }),
            Shape::Get => each(&|owner, (id, _)| Read::Get(owner.clone(), *id)),
            Shape::Count => each(&|owner, _| Read::Count(owner.clone(), TaskFilter::default())),
            Shape::Create
            | Shape::Update
            | Shape::Complete
            | Shape::Delete
            | Shape::ChangesSince => Vec::new(),
        }
    }
}

/// The order a person expects for each key: newest or most urgent first.
fn natural(key: SortKey) -> TaskSort {
    let order = match key {
        SortKey::Created | SortKey::Updated => SortOrder::Desc,
        SortKey::Priority | SortKey::Due | SortKey::Title => SortOrder::Asc,
    };
    TaskSort::new(key, order)
}

fn newest_first() -> TaskQuery {
    TaskQuery::new().sort(natural(SortKey::Created)).limit(PAGE)
}

/// The longest word of a title: what a person might search for.
fn search_word(title: &str) -> String {
    title
        .split(|c: char| !c.is_alphanumeric())
        .max_by_key(|word| word.chars().count())
        .unwrap_or(title)
        .to_owned()
}

#[derive(QueryableByName)]
struct UserCount {
    #[diesel(sql_type = sql_types::BigInt)]
    users: i64,
}

/// How many accounts the database holds (an operator's query, for the report).
fn user_count(conn: &mut PgConnection) -> Result<u64, Error> {
    let count: UserCount = sql_query("SELECT count(*) AS users FROM users").get_result(conn)?;
    Ok(count.users.unsigned_abs())
}

/// Ids and emails of accounts, in id order, up to [`MAX_USERS_READ`]: the
/// sample is drawn from these.
fn all_users(conn: &mut PgConnection) -> Result<Vec<(UserId, String)>, Error> {
    let mut users = Vec::new();
    let mut after = None;
    while users.len() < MAX_USERS_READ {
        let page = conn.list_users(todo_store::MAX_PAGE_SIZE, after)?;
        let Some(last) = page.last() else { break };
        after = Some(last.id);
        users.extend(page.into_iter().map(|user| (user.id, user.email)));
    }
    Ok(users)
}

/// Up to `n` distinct elements of `items`, at random.
fn sample<'a, T>(items: &'a [T], n: usize, rng: &mut Rng) -> Vec<&'a T> {
    let mut indexes: Vec<usize> = (0..items.len()).collect();
    let n = n.min(items.len());
    for i in 0..n {
        let j = i + rng.below((indexes.len() - i) as u64) as usize;
        indexes.swap(i, j);
    }
    indexes[..n].iter().map(|&i| &items[i]).collect()
}

#[derive(QueryableByName)]
struct TaskCount {
    #[diesel(sql_type = sql_types::Uuid)]
    user_id: UserId,
    #[diesel(sql_type = sql_types::BigInt)]
    tasks: i64,
}

/// The users with the most tasks, each with a cursor 90% of the way down
/// their newest-first list (found by walking it, as a client would).
fn heavy_users(conn: &mut PgConnection) -> Result<Vec<(Owner, todo_store::Cursor)>, Error> {
    // An operator's whole-table query: the one place the benchmark reads
    // across users, to find the deepest lists.
    let counts: Vec<TaskCount> = sql_query(
        "SELECT user_id, count(*) AS tasks FROM tasks GROUP BY user_id ORDER BY tasks DESC LIMIT $1",
    )
    .bind::<sql_types::BigInt, _>(HEAVY_USERS)
    .load(conn)
    .map_err(Error::from)?;
    let mut heavy = Vec::new();
    for TaskCount { user_id, tasks } in counts {
        let email = conn.get_user(user_id)?.email;
        let owner = conn.operator_owner(&email)?;
        let depth = (tasks as u64 * 9 / 10).max(1);
        let mut walked = 0;
        let mut query = newest_first();
        let mut cursor = None;
        while walked < depth {
            let page = conn.list_tasks(&owner, &query)?;
            walked += page.items.len() as u64;
            match page.next_cursor {
                Some(next) => {
                    cursor = Some(next.clone());
                    query = query.after(next);
                }
                None => break,
            }
        }
        if let Some(cursor) = cursor {
            heavy.push((owner, cursor));
        }
    }
    Ok(heavy)
}

/// The seeded account with the most tasks (the first by id among equals),
/// and how many it has: the account whose change feed the `changes_since`
/// shape measures. A seeded one only, as for the writes: the shape creates
/// tasks there.
///
/// # Errors
/// A validation failure if no seeded account has tasks; the library's error.
pub fn largest_seeded(conn: &mut PgConnection) -> Result<(Owner, u64), Error> {
    // An operator's whole-table query, like the one for the heavy users.
    let largest: Option<TaskCount> = sql_query(
        "SELECT t.user_id, count(*) AS tasks
           FROM tasks t JOIN users u ON u.id = t.user_id
          WHERE u.email LIKE '%' || $1
          GROUP BY t.user_id
          ORDER BY tasks DESC, t.user_id
          LIMIT 1",
    )
    .bind::<sql_types::Text, _>(SEEDED_DOMAIN)
    .get_result(conn)
    .optional()?;
    let Some(TaskCount { user_id, tasks }) = largest else {
        return Err(Error::validation(
            "database",
            "holds no seeded account with tasks: run `todo-store-bench seed` first",
        ));
    };
    let email = conn.get_user(user_id)?.email;
    Ok((conn.operator_owner(&email)?, tasks.unsigned_abs()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_words_are_the_longest() {
        assert_eq!(search_word("Pay the electricity bill"), "electricity");
        assert_eq!(search_word("x"), "x");
    }

    #[test]
    fn samples_are_distinct() {
        let items: Vec<u32> = (0..50).collect();
        let mut rng = Rng::stream(1, 2);
        let mut picked: Vec<u32> = sample(&items, 20, &mut rng).into_iter().copied().collect();
        picked.sort_unstable();
        picked.dedup();
        assert_eq!(picked.len(), 20);
        assert_eq!(sample(&items, 80, &mut rng).len(), 50);
    }
}
