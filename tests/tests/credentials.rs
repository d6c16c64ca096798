//! Stored credentials keep up with the library: a login whose hash was made
//! with weaker Argon2 parameters than today's stores a new one (as the
//! application role, under row-level security), and only then.

#![allow(clippy::unwrap_used)]

use diesel::{
    Connection, QueryableByName, RunQueryDsl, connection::SimpleConnection, sql_query,
    sql_types::Text,
};
use todo_store::{
    ARGON2_LANES, ARGON2_MEMORY_KIB, ARGON2_PASSES, Error, NewUser, Password, Store, UserRepo,
};
use todo_store_tests::TestDb;

const PASSWORD: &str = "correct horse battery staple";
/// `PASSWORD` hashed with Argon2id at m = 8 MiB, t = 1 (below today's),
/// made with argon2-cffi.
const WEAK_HASH: &str = "$argon2id$v=19$m=8192,t=1,p=1$vR12UoY5d2TVDuVM7uh5Ag$gwOvw1bZ3voZGAsdBW6SY3tXE7d6aRqxrpq3xw3Lj8c";

#[derive(QueryableByName)]
struct Hash {
    #[diesel(sql_type = Text)]
    password_hash: String,
}

fn stored_hash(db: &TestDb) -> String {
    sql_query("SELECT password_hash FROM users WHERE email = 'ada@example.com'")
        .get_result::<Hash>(&mut db.conn())
        .unwrap()
        .password_hash
}

/// Ada, whose stored hash is the weak one.
fn ada_with_a_weak_hash(db: &TestDb) {
    let password = Password::new(PASSWORD).unwrap();
    db.store()
        .create_user(NewUser::new("ada@example.com").password(password))
        .unwrap();
    db.conn()
        .batch_execute(&format!(
            "UPDATE users SET password_hash = '{WEAK_HASH}' WHERE email = 'ada@example.com'"
        ))
        .unwrap();
}

fn todays_prefix() -> String {
    format!("$argon2id$v=19$m={ARGON2_MEMORY_KIB},t={ARGON2_PASSES},p={ARGON2_LANES}$")
}

#[test]
fn a_login_with_an_outdated_hash_stores_one_with_todays_parameters() {
    let db = TestDb::new();
    ada_with_a_weak_hash(&db);
    let app = db.app_role();
    let mut store = Store::connect(&app.config()).unwrap();
    let password = Password::new(PASSWORD).unwrap();

    // A wrong password changes nothing.
    let wrong = Password::new("wrong horse battery staple").unwrap();
    assert_eq!(
        store.authenticate("ada@example.com", &wrong),
        Err(Error::InvalidCredentials)
    );
    assert_eq!(stored_hash(&db), WEAK_HASH);

    let owner = store.authenticate("ada@example.com", &password).unwrap();
    let upgraded = stored_hash(&db);
    assert!(upgraded.starts_with(&todays_prefix()), "{upgraded}");
    // The next login verifies the new hash and leaves it alone.
    assert_eq!(
        store.authenticate("ada@example.com", &password).unwrap(),
        owner
    );
    assert_eq!(stored_hash(&db), upgraded);
}

#[test]
fn a_rehash_inside_a_callers_transaction_leaves_it_usable() {
    let db = TestDb::new();
    ada_with_a_weak_hash(&db);
    let app = db.app_role();
    let mut conn = app.conn();
    let password = Password::new(PASSWORD).unwrap();
    conn.transaction(|conn| {
        conn.authenticate("ada@example.com", &password)?;
        conn.batch_execute("SELECT 1")?;
        Ok::<_, Error>(())
    })
    .unwrap();
    assert!(stored_hash(&db).starts_with(&todays_prefix()));
}

#[test]
fn a_hash_with_todays_parameters_is_not_rewritten() {
    let db = TestDb::new();
    let password = Password::new(PASSWORD).unwrap();
    let mut store = db.store();
    store
        .create_user(NewUser::new("ada@example.com").password(password.clone()))
        .unwrap();
    let before = stored_hash(&db);
    assert!(before.starts_with(&todays_prefix()), "{before}");
    store.authenticate("ada@example.com", &password).unwrap();
    assert_eq!(stored_hash(&db), before);
}
