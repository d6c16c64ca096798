//! `limit show`, `limit set` and `limit reset`: how many tasks a user may
//! have (see the library's `limits` module).

use serde::Serialize;
use todo_store::{
    DatabaseUrl, UserRepo,
    limits::{self, TaskLimit},
};

use todo_store_cmd::Failure;

use crate::{
    args::{LimitCommand, LimitReset, LimitSet, LimitShow},
    db, input,
    output::{Format, Report},
    owner::about_user,
};

/// Runs a `limit` command.
///
/// # Errors
/// Validation (`MAX_TASKS`), user not found, a database error if the role
/// may not change limits, unavailable.
pub fn run(command: LimitCommand, url: &DatabaseUrl, format: Format) -> Result<(), Failure> {
    match command {
        LimitCommand::Show(args) => show(&args, url, format),
        LimitCommand::Set(args) => set(&args, url, format),
        LimitCommand::Reset(args) => reset(&args, url, format),
    }
}

fn show(args: &LimitShow, url: &DatabaseUrl, format: Format) -> Result<(), Failure> {
    let mut conn = db::connect(url)?;
    match &args.user {
        None => format.print(&DefaultLimit {
            max_tasks_per_user: limits::default_task_limit(&mut conn)?,
        }),
        Some(email) => format.print(&UserLimit {
            email: email.clone(),
            limit: user_limit(&mut conn, email)?,
        }),
    }
}

fn set(args: &LimitSet, url: &DatabaseUrl, format: Format) -> Result<(), Failure> {
    let max_tasks = input::max_tasks(&args.max_tasks)?;
    let mut conn = db::connect(url)?;
    match &args.user {
        None => {
            limits::set_default_task_limit(&mut conn, max_tasks)?;
            format.print(&DefaultLimit {
                max_tasks_per_user: limits::default_task_limit(&mut conn)?,
            })
        }
        Some(email) => {
            let user = user_id(&mut conn, email)?;
            limits::set_task_limit(&mut conn, user, Some(max_tasks))
                .map_err(|err| about_user(err, email))?;
            format.print(&UserLimit {
                email: email.clone(),
                limit: user_limit(&mut conn, email)?,
            })
        }
    }
}

fn reset(args: &LimitReset, url: &DatabaseUrl, format: Format) -> Result<(), Failure> {
    let mut conn = db::connect(url)?;
    let user = user_id(&mut conn, &args.user)?;
    limits::set_task_limit(&mut conn, user, None).map_err(|err| about_user(err, &args.user))?;
    format.print(&UserLimit {
        email: args.user.clone(),
        limit: user_limit(&mut conn, &args.user)?,
    })
}

fn user_id(conn: &mut diesel::PgConnection, email: &str) -> Result<todo_store::UserId, Failure> {
    match conn.find_user_by_email(email) {
        Ok(Some(user)) => Ok(user.id),
        Ok(None) => Err(about_user(
            todo_store::Error::NotFound(todo_store::Entity::User),
            email,
        )),
        Err(err) => Err(err.into()),
    }
}

fn user_limit(conn: &mut diesel::PgConnection, email: &str) -> Result<TaskLimit, Failure> {
    let user = user_id(conn, email)?;
    limits::task_limit(conn, user).map_err(|err| about_user(err, email))
}

/// The deployment's limit.
#[derive(Debug, Serialize)]
struct DefaultLimit {
    max_tasks_per_user: u32,
}

impl Report for DefaultLimit {
    fn text(&self) -> String {
        format!(
            "A user may have at most {} tasks, unless they have a limit of their own.\n",
            self.max_tasks_per_user
        )
    }
}

/// One user's tasks and limit. The JSON document is the library's
/// [`TaskLimit`] with the email.
#[derive(Debug, Serialize)]
struct UserLimit {
    email: String,
    #[serde(flatten)]
    limit: TaskLimit,
}

impl Report for UserLimit {
    fn text(&self) -> String {
        let whose = match self.limit.own_limit {
            Some(_) => "their own limit",
            None => "the deployment's limit",
        };
        format!(
            "{} has {} of at most {} tasks ({whose}).\n",
            self.email, self.limit.tasks, self.limit.limit
        )
    }
}
