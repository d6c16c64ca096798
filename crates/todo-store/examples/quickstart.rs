//! The crate docs' example, runnable against a real database:
//!
//! ```sh
//! DATABASE_URL=postgres://localhost/todo_store cargo run -p todo-store --example quickstart
//! ```
//!
//! It migrates the database, signs a user up, logs in, adds and lists tasks,
//! shows that another user cannot see them, and deletes both accounts again.

use todo_store::{
    Error, NewTask, NewUser, Password, Priority, SortKey, SortOrder, StatusFilter, Store,
    StoreConfig, TaskFilter, TaskQuery, TaskRepo, TaskSort, TaskStatus, UserRepo, VersionCheck,
};

fn main() -> Result<(), Error> {
    let url =
        std::env::var("DATABASE_URL").unwrap_or_else(|_| "postgres://localhost/todo_store".into());
    let mut store = Store::connect(&StoreConfig::new(url).max_connections(2))?;
    store.run_migrations()?;

    // Unique addresses, so the example can run on a database with real users.
    let tag = uuid::Uuid::now_v7().simple().to_string();
    let (ada_email, bob_email) = (
        format!("ada-{tag}@example.com"),
        format!("bob-{tag}@example.com"),
    );
    let password = Password::new("correct horse battery staple")?;
    store.create_user(NewUser::new(&ada_email).password(password.clone()))?;
    store.create_user(NewUser::new(&bob_email).password(password.clone()))?;
    let ada = store.authenticate(&ada_email, &password)?;
    let bob = store.authenticate(&bob_email, &password)?;

    let report = store.create_task(
        &ada,
        NewTask::new("Write the report").priority(Priority::HIGHEST),
    )?;
    store.create_task(&ada, NewTask::new("Water the plants"))?;
    store.set_task_status(
        &ada,
        report.id,
        TaskStatus::Done,
        VersionCheck::Exactly(report.version),
    )?;

    let open_by_urgency = TaskQuery::new()
        .filter(TaskFilter::default().status(StatusFilter::Open))
        .sort(TaskSort::new(SortKey::Priority, SortOrder::Asc));
    for task in store.list_tasks(&ada, &open_by_urgency)?.items {
        println!("ada, open: [{}] {}", task.priority, task.title);
    }
    // Bob cannot tell Ada's task from one that does not exist.
    println!(
        "bob gets ada's task: {:?}",
        store.get_task(&bob, report.id).err()
    );

    store.delete_user(&ada)?;
    store.delete_user(&bob)?;
    Ok(())
}
