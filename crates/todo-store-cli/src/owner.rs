//! The account a command acts for, named by its email address.

use diesel::PgConnection;
use todo_store::{Entity, Error, OperatorRepo, Owner};

use todo_store_cmd::Failure;

/// The owner of the account `email`, by the library's operator path: this
/// tool is run by the operator, who may act on any account.
///
/// # Errors
/// "user not found: EMAIL" (exit 4), or the library's error.
pub fn operator_owner(conn: &mut PgConnection, email: &str) -> Result<Owner, Failure> {
    conn.operator_owner(email)
        .map_err(|err| about_user(err, email))
}

/// `err` as a [`Failure`], naming `email` if the account does not exist.
pub fn about_user(err: Error, email: &str) -> Failure {
    let missing = matches!(err, Error::NotFound(Entity::User));
    let failure = Failure::from(err);
    if missing {
        failure.with_message(format!("user not found: {email}"))
    } else {
        failure
    }
}
