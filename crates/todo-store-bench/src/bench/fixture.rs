//! Who the benchmark acts for, chosen once at the start: users at random,
//! the users with the deepest lists, and for each read shape a fixed set of
//! calls on them (on all of them, or on one [`Population`]).

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

/// Whose calls a read shape makes, for `--heavy-vs-light`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Population {
    /// The randomly chosen users that are not among the heavy ones.
    Light,
    /// The users with the most tasks.
    Heavy,
}

/// A user the reads act for, and what their calls need: one of their task
/// ids, a word of that task's title and the whole title (all from their
/// newest page).
#[derive(Debug, Clone)]
struct Pick {
    owner: Owner,
    task: TaskId,
    word: String,
    phrase: String,
}

impl Pick {
    /// A random task of `page` (which must not be empty).
    fn from(owner: Owner, page: &[todo_store::Task], rng: &mut Rng) -> Self {
        let task = rng.pick(page);
        Self {
            owner,
            task: task.id,
            word: search_word(&task.title),
            phrase: task.title.clone(),
        }
    }
}

/// One of the users with the most tasks.
#[derive(Debug, Clone)]
struct Heavy {
    pick: Pick,
    /// 90% of the way down their newest-first list.
    cursor: todo_store::Cursor,
    tasks: u64,
}

/// The users and calls a benchmark run uses, chosen once at the start.
#[derive(Debug)]
pub struct Fixture {
    /// Randomly chosen users (those with tasks), for the reads.
    picks: Vec<Pick>,
    /// Whose tasks the write shapes create, change and delete: seeded
    /// accounts only, never a real user's; a temporary account of the run's
    /// own when the sample holds no seeded one.
    pub writers: Vec<Owner>,
    /// The temporary account, deleted (with its tasks) at the end.
    temporary: Option<Owner>,
    /// Users with the most tasks, each with a cursor deep in their list.
    heavy: Vec<Heavy>,
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
            picks.push(Pick::from(owner, &page.items, rng));
        }
        if picks.is_empty() {
            return Err(Error::validation(
                "database",
                "holds no tasks to measure: run `todo-store-bench seed` first",
            ));
        }
        let heavy = heavy_users(conn, rng)?;
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
            picks,
            writers,
            temporary,
            heavy,
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
        reads_of(shape, &self.picks, &self.heavy)
    }

    /// The calls a read shape picks from when it acts for `population`
    /// only: the first page, open tasks, search, get and count of each of
    /// its users; `heavy_first_page` and `deep_page` are the heavy users'
    /// whatever the population.
    pub fn reads_for(&self, shape: Shape, population: Population) -> Vec<Read> {
        match population {
            Population::Light => reads_of(shape, &self.light(), &self.heavy),
            Population::Heavy => {
                let picks: Vec<Pick> = self.heavy.iter().map(|h| h.pick.clone()).collect();
                reads_of(shape, &picks, &self.heavy)
            }
        }
    }

    /// How many users `population` holds, and the fewest and most tasks
    /// one of them has (for the light ones: as counted by the library).
    ///
    /// # Errors
    /// The library's error.
    pub fn sizes(
        &self,
        conn: &mut PgConnection,
        population: Population,
    ) -> Result<(usize, u64, u64), Error> {
        let tasks = match population {
            Population::Heavy => self.heavy.iter().map(|h| h.tasks).collect(),
            Population::Light => self
                .light()
                .iter()
                .map(|pick| conn.count_tasks(&pick.owner, &TaskFilter::default()))
                .collect::<Result<Vec<u64>, _>>()?,
        };
        let least = tasks.iter().copied().min().unwrap_or(0);
        let most = tasks.iter().copied().max().unwrap_or(0);
        Ok((tasks.len(), least, most))
    }

    /// The randomly chosen users that are not heavy ones.
    fn light(&self) -> Vec<Pick> {
        self.picks
            .iter()
            .filter(|pick| {
                let id = pick.owner.user_id();
                !self.heavy.iter().any(|h| h.pick.owner.user_id() == id)
            })
            .cloned()
            .collect()
    }
}

/// The calls of `shape` on `picks` (and on `heavy`, for the shapes that
/// read the heavy users' lists).
fn reads_of(shape: Shape, picks: &[Pick], heavy: &[Heavy]) -> Vec<Read> {
    let each = |make: &dyn Fn(&Pick) -> Read| -> Vec<Read> { picks.iter().map(make).collect() };
    match shape {
        Shape::List(key) => each(&|pick| {
            Read::List(
                pick.owner.clone(),
                TaskQuery::new().sort(natural(key)).limit(PAGE),
            )
        }),
        Shape::HeavyFirstPage => heavy
            .iter()
            .map(|h| Read::List(h.pick.owner.clone(), newest_first()))
            .collect(),
        Shape::DeepPage => heavy
            .iter()
            .map(|h| Read::List(h.pick.owner.clone(), newest_first().after(h.cursor.clone())))
            .collect(),
        Shape::OpenByPriority => each(&|pick| {
            let query = TaskQuery::new()
                .filter(TaskFilter::default().status(StatusFilter::Open))
                .sort(natural(SortKey::Priority))
                .limit(PAGE);
            Read::List(pick.owner.clone(), query)
        }),
        Shape::Search => each(&|pick| {
            let query = newest_first().filter(TaskFilter::default().search(pick.word.clone()));
            Read::List(pick.owner.clone(), query)
        }),
        Shape::SearchPhrase => each(&|pick| {
            let query = newest_first().filter(TaskFilter::default().search(pick.phrase.clone()));
            Read::List(pick.owner.clone(), query)
        }),
        Shape::Get => each(&|pick| Read::Get(pick.owner.clone(), pick.task)),
        Shape::Count => each(&|pick| Read::Count(pick.owner.clone(), TaskFilter::default())),
        Shape::Create | Shape::Update | Shape::Complete | Shape::Delete | Shape::ChangesSince => {
            Vec::new()
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

/// Up to [`PARAM_SETS`] seeded accounts, drawn at random from the first
/// [`MAX_USERS_READ`] accounts of the database (none if it holds no seeded one).
///
/// # Errors
/// The library's error.
pub fn seeded_sample(conn: &mut PgConnection, rng: &mut Rng) -> Result<Vec<Owner>, Error> {
    let everyone = all_users(conn)?;
    let seeded: Vec<&(UserId, String)> = everyone
        .iter()
        .filter(|(_, email)| email.ends_with(SEEDED_DOMAIN))
        .collect();
    sample(&seeded, PARAM_SETS, rng)
        .into_iter()
        .map(|(_, email)| conn.operator_owner(email))
        .collect()
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

/// The users with the most tasks, each with a random task of their newest
/// page and a cursor 90% of the way down their newest-first list (found by
/// walking it, as a client would).
fn heavy_users(conn: &mut PgConnection, rng: &mut Rng) -> Result<Vec<Heavy>, Error> {
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
        let mut pick = None;
        while walked < depth {
            let page = conn.list_tasks(&owner, &query)?;
            if pick.is_none() && !page.items.is_empty() {
                pick = Some(Pick::from(owner.clone(), &page.items, rng));
            }
            walked += page.items.len() as u64;
            match page.next_cursor {
                Some(next) => {
                    cursor = Some(next.clone());
                    query = query.after(next);
                }
                None => break,
            }
        }
        if let (Some(cursor), Some(pick)) = (cursor, pick) {
            heavy.push(Heavy {
                pick,
                cursor,
                tasks: tasks.unsigned_abs(),
            });
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
