//! todo-store from a crate of its own: accounts and tasks through the
//! repositories, then a Diesel query of our own on `todo_store::schema`,
//! which row-level security holds to one owner's rows, and a second device
//! catching up from the change feed.
//!
//! It works in a database and a role of its own, dropped at the end.

use std::error::Error;

use diesel::{connection::SimpleConnection, dsl::count_star, prelude::*};
use todo_store::{
    DatabaseUrl, HistoryQuery, NewTask, NewUser, Password, Store, StoreConfig, Task, TaskPatch,
    TaskRepo, TaskStatus, UserRepo, VersionCheck,
    schema::{tasks, users},
};
use uuid::Uuid;

fn main() -> Result<(), Box<dyn Error>> {
    let server =
        std::env::var("DATABASE_URL").unwrap_or_else(|_| "postgres://localhost/todo_store".into());
    let scratch = Scratch::create(&DatabaseUrl::new(server))?;
    run(&scratch)
} // `scratch` is dropped here, after `run` returned, failed or panicked.

fn run(scratch: &Scratch) -> Result<(), Box<dyn Error>> {
    // As the tables' owner: the migrations and the application role.
    let owner = Store::connect(&config(&scratch.url)?)?;
    owner.run_migrations()?;
    let role = &scratch.role;
    let mut admin = owner.conn()?;
    todo_store::setup_app_role(&mut admin, role)?;
    // A password, for servers that ask for one (Neon does; trust auth ignores it).
    // `ALTER ROLE … PASSWORD` sends it in clear to a server that may log DDL:
    // for a real role, psql's `\password` sends a SCRAM verifier instead.
    let password = Uuid::new_v4().simple().to_string();
    admin.batch_execute(&format!("ALTER ROLE {role} PASSWORD '{password}'"))?;
    println!("migrated {}; application role {role}", scratch.database);

    // As the application role, as a web service runs: sign up, log in, add tasks.
    let app_url = scratch.url.with_user(role, Some(&password))?;
    let mut app = Store::connect(&config(&app_url)?)?;
    let secret = Password::new("correct horse battery staple")?;
    let mut log_in = |email: &str| -> todo_store::Result<_> {
        app.create_user(NewUser::new(email).password(secret.clone()))?;
        app.authenticate(email, &secret)
    };
    let (ada, bob) = (log_in("ada@example.com")?, log_in("bob@example.com")?);
    let report = app.create_task(&ada, NewTask::new("Write the report"))?;
    app.set_task_status(&ada, report.id, TaskStatus::Done, VersionCheck::Any)?;
    let mut ada_ids = vec![report.id];
    for title in ["Water the plants", "Book the train"] {
        ada_ids.push(app.create_task(&ada, NewTask::new(title))?.id);
    }
    for title in ["Fix the bike", "Call the bank"] {
        app.create_task(&bob, NewTask::new(title))?;
    }

    // Our own query, with no owner filter: on a pooled connection outside an
    // owner scope, the application role sees no task at all...
    let unscoped = open_tasks_per_user(&mut *app.conn()?)?;
    println!("as {role}, no owner scope: {unscoped:?}");
    assert!(unscoped.is_empty(), "RLS let it see {unscoped:?}");

    // ...and in Ada's scope exactly hers.
    let scoped = app.in_owner_scope(&ada, |conn| Ok(open_tasks_per_user(conn)?))?;
    println!("as {role}, in Ada's scope: {scoped:?}");
    assert_eq!(scoped, [("ada@example.com".to_owned(), 2)]);

    let mut loaded: Vec<Task> = app.in_owner_scope(&ada, |conn| {
        Ok(tasks::table.select(Task::as_select()).load(conn)?)
    })?;
    loaded.sort_by_key(|task| task.id);
    ada_ids.sort();
    println!("Ada's tasks, as Task::as_select() rows:");
    for task in &loaded {
        println!("  {:?} {}", task.status(), task.title);
    }
    let loaded_ids: Vec<_> = loaded.iter().map(|task| task.id).collect();
    assert_eq!(loaded_ids, ada_ids);

    // A second device of Ada's catches up from its sync token instead of
    // reading every task again; the history says what happened to a task.
    let token = app.sync_token(&ada)?;
    app.update_task(
        &ada,
        ada_ids[1],
        TaskPatch::default().title("Book the night train"),
        VersionCheck::Any,
    )?;
    app.delete_task(&ada, ada_ids[2], VersionCheck::Any)?;
    let changes = app.changes_since(&ada, &token, 100)?;
    println!(
        "since Ada's token: {} changed, {} deleted",
        changes.changed.len(),
        changes.deleted.len()
    );
    assert_eq!(changes.changed.len(), 1);
    assert_eq!(changes.deleted, [ada_ids[2]]);
    let history = app.task_history(&ada, ada_ids[1], &HistoryQuery::new())?;
    for change in &history.changes {
        println!(
            "  #{} {:?} by {} {:?}",
            change.seq,
            change.kind,
            change.actor.role,
            change.new.names()
        );
    }
    assert_eq!(history.changes.len(), 2);
    // Bob cannot read Ada's task's history: it does not exist for him.
    assert!(
        app.task_history(&bob, ada_ids[1], &HistoryQuery::new())
            .is_err()
    );

    // The tables' owner bypasses RLS (a superuser, or Neon's BYPASSRLS owner).
    let everyone = open_tasks_per_user(&mut admin)?;
    println!("as the tables' owner, no owner scope: {everyone:?}");
    Ok(())
}

/// The library's defaults for `url`, and what the environment says:
/// `TODO_STORE_STATEMENT_CACHE=off` behind a pooler without prepared
/// statements (PgBouncer before 1.21).
fn config(url: &DatabaseUrl) -> todo_store::Result<StoreConfig> {
    StoreConfig::new(url.expose()).settings_from_env()
}

/// Open tasks per account: a query of our own, with no owner filter.
fn open_tasks_per_user(conn: &mut PgConnection) -> QueryResult<Vec<(String, i64)>> {
    tasks::table
        .inner_join(users::table)
        .filter(tasks::completed.eq(false))
        .group_by(users::email)
        .select((users::email, count_star()))
        .order_by(users::email)
        .load(conn)
}

/// A database of our own on the server, and the name of our role in it:
/// both dropped when this is, whatever happened in between.
struct Scratch {
    admin: PgConnection,
    database: String,
    role: String,
    url: DatabaseUrl,
}

impl Scratch {
    fn create(server: &DatabaseUrl) -> Result<Self, Box<dyn Error>> {
        let database = format!("downstream_{}", Uuid::new_v4().simple());
        let admin_url = server.with_database("postgres")?;
        let mut admin = config(&admin_url)?.establish()?;
        admin.batch_execute(&format!("CREATE DATABASE {database}"))?;
        Ok(Self {
            admin,
            url: server.with_database(&database)?,
            role: format!("{database}_app"),
            database,
        })
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        // FORCE closes the pools' connections; the role's grants go with the database.
        for sql in [
            format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.database),
            format!("DROP ROLE IF EXISTS {}", self.role),
        ] {
            match self.admin.batch_execute(&sql) {
                Ok(()) => println!("{sql}"),
                Err(err) => eprintln!("{sql}: {err}"),
            }
        }
    }
}
