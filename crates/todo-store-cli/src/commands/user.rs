//! `user add|list|show|delete|passwd`: account administration.

use diesel::Connection;
use serde::Serialize;
use todo_store::{
    DatabaseUrl, Entity, Error, MAX_PAGE_SIZE, NewUser, OperatorRepo, Page, TaskFilter, TaskRepo,
    User, UserId, UserRepo,
};

use todo_store_cmd::Failure;

use crate::{
    args::{UserAdd, UserCommand, UserPasswd},
    db, input,
    output::{Format, Headed, Report},
    owner::about_user,
    render::{fields, or_dash, safe, time},
    table::Table,
};

/// Runs a `user` command.
///
/// # Errors
/// Validation (bad email, name or password), not found, conflict (email or
/// auth subject taken), unavailable.
pub fn run(command: UserCommand, url: &DatabaseUrl, format: Format) -> Result<(), Failure> {
    match command {
        UserCommand::Add(args) => format.print(&add(args, url)?),
        UserCommand::List => format.print(&list(url)?),
        UserCommand::Show { email } => format.print(&show(&email, url)?),
        UserCommand::Delete { email } => format.print(&delete(&email, url)?),
        UserCommand::Passwd(args) => format.print(&passwd(&args, url)?),
    }
}

/// One account, every field (there is no password hash to show: the library
/// never reads it out).
impl Report for User {
    fn text(&self) -> String {
        fields(&[
            ("id", self.id.to_string()),
            ("email", self.email.clone()),
            ("name", or_dash(self.display_name.as_deref().map(safe))),
            (
                "password",
                if self.has_password { "set" } else { "not set" }.to_owned(),
            ),
            (
                "auth subject",
                or_dash(self.auth_subject.as_deref().map(safe)),
            ),
            ("time zone", or_dash(self.time_zone.clone())),
            ("created", time(self.created_at)),
            ("updated", time(self.updated_at)),
        ])
    }
}

/// Accounts as a table, one line each.
impl Report for Page<User> {
    fn text(&self) -> String {
        if self.items.is_empty() {
            return "No users.\n".to_owned();
        }
        let mut table = Table::new(["ID", "EMAIL", "NAME", "PASSWORD", "AUTH SUBJECT", "CREATED"]);
        for user in &self.items {
            table.row(vec![
                user.id.to_string(),
                user.email.clone(),
                or_dash(user.display_name.as_deref().map(safe)),
                if user.has_password { "set" } else { "-" }.to_owned(),
                or_dash(user.auth_subject.as_deref().map(safe)),
                time(user.created_at),
            ]);
        }
        table.render()
    }
}

/// `user delete`: the account is gone, and its tasks with it.
#[derive(Debug, Serialize)]
struct Deleted {
    deleted: bool,
    id: UserId,
    email: String,
    tasks_deleted: u64,
}

impl Report for Deleted {
    fn text(&self) -> String {
        format!(
            "Deleted user {} ({}) and {} task(s).\n",
            self.email, self.id, self.tasks_deleted
        )
    }
}

/// `user passwd`.
#[derive(Debug, Serialize)]
struct PasswordChanged {
    password_changed: bool,
    id: UserId,
    email: String,
}

impl Report for PasswordChanged {
    fn text(&self) -> String {
        format!("Password changed for {}.\n", self.email)
    }
}

fn add(args: UserAdd, url: &DatabaseUrl) -> Result<Headed<User>, Failure> {
    let mut new = NewUser::new(args.email);
    if let Some(name) = args.name {
        new = new.display_name(name);
    }
    if let Some(subject) = args.auth_subject {
        new = new.auth_subject(subject);
    }
    if args.password_stdin {
        new = new.password(input::password_from_stdin()?);
    }
    let mut conn = db::connect(url)?;
    let user = conn.create_user(new)?;
    Ok(Headed::new("Created user", user))
}

fn list(url: &DatabaseUrl) -> Result<Page<User>, Failure> {
    let mut conn = db::connect(url)?;
    let mut users: Vec<User> = Vec::new();
    // The library pages by id; an operator listing wants them all.
    loop {
        let page = conn.list_users(MAX_PAGE_SIZE, users.last().map(|user| user.id))?;
        let full = page.len() >= MAX_PAGE_SIZE as usize;
        users.extend(page);
        if !full {
            break;
        }
    }
    // Every account, so there is never a next page.
    Ok(Page {
        items: users,
        next_cursor: None,
    })
}

/// The account with this email, in any letter case.
fn show(email: &str, url: &DatabaseUrl) -> Result<User, Failure> {
    let mut conn = db::connect(url)?;
    conn.find_user_by_email(email)
        .and_then(|found| found.ok_or(Error::NotFound(Entity::User)))
        .map_err(|err| about_user(err, email))
}

fn delete(email: &str, url: &DatabaseUrl) -> Result<Deleted, Failure> {
    let mut conn = db::connect(url)?;
    // One transaction, so the task count is the number actually deleted.
    let (user, tasks_deleted) = conn
        .transaction(|conn| {
            let owner = conn.operator_owner(email)?;
            let user = conn.get_user(owner.user_id())?;
            let tasks = conn.count_tasks(&owner, &TaskFilter::default())?;
            conn.delete_user(&owner)?;
            Ok::<_, Error>((user, tasks))
        })
        .map_err(|err| about_user(err, email))?;
    Ok(Deleted {
        deleted: true,
        id: user.id,
        email: user.email,
        tasks_deleted,
    })
}

fn passwd(args: &UserPasswd, url: &DatabaseUrl) -> Result<PasswordChanged, Failure> {
    // Clap requires the flag: there is no other way to give a password.
    debug_assert!(args.password_stdin);
    let password = input::password_from_stdin()?;
    let mut conn = db::connect(url)?;
    // One transaction: the account cannot vanish between lookup and change.
    let user = conn
        .transaction(|conn| {
            let owner = conn.operator_owner(&args.email)?;
            conn.change_password(&owner, &password)?;
            conn.get_user(owner.user_id())
        })
        .map_err(|err| about_user(err, &args.email))?;
    Ok(PasswordChanged {
        password_changed: true,
        id: user.id,
        email: user.email,
    })
}
