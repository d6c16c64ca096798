//! `limit show`, `limit set` and `limit reset`: how many tasks a user may
//! have (see the library's `limits` module).

use diesel::PgConnection;
use serde::Serialize;
use todo_store::{
    DatabaseUrl, UserId,
    limits::{self, TaskLimit},
};

use todo_store_cmd::Failure;

use crate::{
    args::{LimitCommand, LimitReset, LimitSet, LimitShow},
    db, input,
    output::{Format, Report},
    owner::{about_user, operator_owner},
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
        None => format.print(&DefaultLimit::of(&mut conn)?),
        Some(email) => {
            let user = operator_owner(&mut conn, email)?.user_id();
            format.print(&UserLimit::of(&mut conn, email, user)?)
        }
    }
}

fn set(args: &LimitSet, url: &DatabaseUrl, format: Format) -> Result<(), Failure> {
    let max_tasks = input::max_tasks(&args.max_tasks)?;
    let mut conn = db::connect(url)?;
    match &args.user {
        None => {
            limits::set_default_task_limit(&mut conn, max_tasks)?;
            format.print(&DefaultLimit::of(&mut conn)?)
        }
        Some(email) => {
            let user = operator_owner(&mut conn, email)?.user_id();
            limits::set_task_limit(&mut conn, user, Some(max_tasks))
                .map_err(|err| about_user(err, email))?;
            format.print(&UserLimit::of(&mut conn, email, user)?)
        }
    }
}

fn reset(args: &LimitReset, url: &DatabaseUrl, format: Format) -> Result<(), Failure> {
    let mut conn = db::connect(url)?;
    let user = operator_owner(&mut conn, &args.user)?.user_id();
    limits::set_task_limit(&mut conn, user, None).map_err(|err| about_user(err, &args.user))?;
    format.print(&UserLimit::of(&mut conn, &args.user, user)?)
}

/// The deployment's limit.
#[derive(Debug, Serialize)]
struct DefaultLimit {
    max_tasks_per_user: u32,
}

impl DefaultLimit {
    fn of(conn: &mut PgConnection) -> Result<Self, Failure> {
        Ok(Self {
            max_tasks_per_user: limits::default_task_limit(conn)?,
        })
    }
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

impl UserLimit {
    fn of(conn: &mut PgConnection, email: &str, user: UserId) -> Result<Self, Failure> {
        Ok(Self {
            email: email.to_owned(),
            limit: limits::task_limit(conn, user).map_err(|err| about_user(err, email))?,
        })
    }
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
