//! `user add|list|show|delete|passwd`: account administration.

use diesel::{Connection, PgConnection};
use todo_store::{
    DatabaseUrl, Entity, Error, MAX_PAGE_SIZE, NewUser, OperatorRepo, TaskFilter, TaskRepo, User,
    UserRepo,
};

use crate::{
    args::{UserAdd, UserCommand, UserPasswd},
    db,
    exit::Failure,
    input,
    output::{Report, UserEvent},
    owner::about_user,
};

/// Runs a `user` command.
///
/// # Errors
/// Validation (bad email, name or password), not found, conflict (email or
/// auth subject taken), unavailable.
pub fn run(command: UserCommand, url: &DatabaseUrl) -> Result<Report, Failure> {
    match command {
        UserCommand::Add(args) => add(args, url),
        UserCommand::List => list(url),
        UserCommand::Show { email } => show(&email, url),
        UserCommand::Delete { email } => delete(&email, url),
        UserCommand::Passwd(args) => passwd(&args, url),
    }
}

fn add(args: UserAdd, url: &DatabaseUrl) -> Result<Report, Failure> {
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
    Ok(Report::User(UserEvent::Created, user))
}

fn list(url: &DatabaseUrl) -> Result<Report, Failure> {
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
    Ok(Report::Users(users))
}

fn show(email: &str, url: &DatabaseUrl) -> Result<Report, Failure> {
    let mut conn = db::connect(url)?;
    let user = find(&mut conn, email)?;
    Ok(Report::User(UserEvent::Shown, user))
}

fn delete(email: &str, url: &DatabaseUrl) -> Result<Report, Failure> {
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
    Ok(Report::UserDeleted {
        user,
        tasks_deleted,
    })
}

fn passwd(args: &UserPasswd, url: &DatabaseUrl) -> Result<Report, Failure> {
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
    Ok(Report::PasswordChanged(user))
}

/// The account with this email, in any letter case.
fn find(conn: &mut PgConnection, email: &str) -> Result<User, Failure> {
    conn.find_user_by_email(email)
        .and_then(|found| found.ok_or(Error::NotFound(Entity::User)))
        .map_err(|err| about_user(err, email))
}
