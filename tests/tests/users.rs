//! Accounts: creation, login, lookup, external subjects, profile and password
//! changes, deletion, listing, and keeping secrets out of debug output.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use diesel::{QueryableByName, RunQueryDsl, sql_query};
use todo_store::{
    DatabaseUrl, Entity, Error, MAX_PAGE_SIZE, NewProfile, NewTask, NewUser, OnMissingSubject,
    OperatorRepo, Password, Store, StoreConfig, TaskFilter, TaskRepo, UserId, UserPatch, UserRepo,
};
use todo_store_tests::TestDb;

use common::{count_rows, count_tasks_of, dump_db, exec, new_user, unique_email};

fn password(text: &str) -> Password {
    Password::new(text).unwrap()
}

#[derive(QueryableByName)]
struct HashRow {
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    password_hash: Option<String>,
}

fn stored_hash(db: &TestDb, id: UserId) -> Option<String> {
    sql_query("SELECT password_hash FROM users WHERE id = $1")
        .bind::<diesel::sql_types::Uuid, _>(id.as_uuid())
        .get_result::<HashRow>(&mut db.conn())
        .unwrap()
        .password_hash
}

#[test]
fn a_user_created_with_a_password_can_log_in_with_it() {
    let db = TestDb::new();
    let mut store = db.store();
    let email = unique_email("Ada");
    let secret = "correct horse battery staple";
    let user = store
        .create_user(
            NewUser::new(email.clone())
                .display_name("Ada")
                .time_zone("Europe/London")
                .password(password(secret)),
        )
        .unwrap();
    assert!(user.has_password);
    assert_eq!(user.email, email);
    assert_eq!(user.display_name.as_deref(), Some("Ada"));
    assert_eq!(user.time_zone.as_deref(), Some("Europe/London"));
    assert_eq!(user.auth_subject, None);

    // Stored only as an Argon2id hash.
    let hash = stored_hash(&db, user.id).unwrap();
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    assert!(!hash.contains(secret));
    // And never exposed by the read model.
    let json = serde_json::to_string(&user).unwrap();
    assert!(!json.contains("argon2"), "{json}");

    let owner = store.authenticate(&email, &password(secret)).unwrap();
    assert_eq!(owner.user_id(), user.id);
    // The email matches in any letter case, and surrounding spaces are ignored.
    let owner = store
        .authenticate(&format!("  {}  ", email.to_uppercase()), &password(secret))
        .unwrap();
    assert_eq!(owner.user_id(), user.id);
    // The owner it gives works for tasks.
    let task = store.create_task(&owner, NewTask::new("t")).unwrap();
    assert_eq!(store.get_task(&owner, task.id).unwrap(), task);
}

#[test]
fn wrong_password_unknown_email_and_passwordless_accounts_give_invalid_credentials() {
    let db = TestDb::new();
    let mut store = db.store();
    let email = unique_email("ada");
    let secret = password("correct horse battery staple");
    store
        .create_user(NewUser::new(email.clone()).password(secret.clone()))
        .unwrap();
    let (passwordless, _) = new_user(&mut store, "bob");
    assert!(!passwordless.has_password);
    let before = dump_db(&mut db.conn());

    let wrong = password("correct horse battery stapler");
    assert_eq!(
        store.authenticate(&email, &wrong),
        Err(Error::InvalidCredentials)
    );
    assert_eq!(
        store.authenticate(&unique_email("nobody"), &secret),
        Err(Error::InvalidCredentials)
    );
    assert_eq!(
        store.authenticate(&passwordless.email, &secret),
        Err(Error::InvalidCredentials)
    );
    // Not even an address: the same answer, not a validation error.
    assert_eq!(
        store.authenticate("not an email", &secret),
        Err(Error::InvalidCredentials)
    );
    assert_eq!(dump_db(&mut db.conn()), before);
}

#[test]
fn find_user_by_email_matches_in_any_letter_case() {
    let db = TestDb::new();
    let mut store = db.store();
    let user = store
        .create_user(NewUser::new("Ada.Lovelace@Example.com"))
        .unwrap();
    for query in [
        "Ada.Lovelace@Example.com",
        "ada.lovelace@example.com",
        "ADA.LOVELACE@EXAMPLE.COM",
        "  ada.LOVELACE@example.COM ",
    ] {
        assert_eq!(
            store.find_user_by_email(query).unwrap(),
            Some(user.clone()),
            "{query}"
        );
        assert_eq!(store.operator_owner(query).unwrap().user_id(), user.id);
    }
    assert_eq!(store.find_user_by_email("ada@example.com").unwrap(), None);
    assert_eq!(
        store.operator_owner("ada@example.com"),
        Err(Error::NotFound(Entity::User))
    );
}

#[test]
fn get_user_returns_the_account_or_not_found() {
    let db = TestDb::new();
    let mut store = db.store();
    let (user, _) = new_user(&mut store, "ada");
    assert_eq!(store.get_user(user.id).unwrap(), user);
    assert_eq!(
        store.get_user(UserId::new_v7()),
        Err(Error::NotFound(Entity::User))
    );
}

#[test]
fn owner_for_an_unknown_subject_with_reject_is_not_found() {
    let db = TestDb::new();
    let mut store = db.store();
    new_user(&mut store, "ada");
    let before = dump_db(&mut db.conn());
    assert_eq!(
        store.owner_for_subject("auth0|unknown", OnMissingSubject::Reject),
        Err(Error::NotFound(Entity::User))
    );
    assert_eq!(dump_db(&mut db.conn()), before);
}

#[test]
fn owner_for_a_new_subject_with_create_creates_the_account_once() {
    let db = TestDb::new();
    let mut store = db.store();
    let email = unique_email("sam");
    let profile = NewProfile::new(email.clone()).display_name("Sam");
    // Subjects are identities, compared exactly: never trimmed.
    assert!(matches!(
        store.owner_for_subject(" auth0|sam ", OnMissingSubject::Create(profile.clone())),
        Err(Error::Validation { ref field, .. }) if field == "auth_subject"
    ));
    assert_eq!(count_rows(&mut db.conn(), "users"), 0);
    let (user, owner) = store
        .owner_for_subject("auth0|sam", OnMissingSubject::Create(profile))
        .unwrap();
    assert_eq!(owner.user_id(), user.id);
    assert_eq!(user.email, email);
    assert_eq!(user.display_name.as_deref(), Some("Sam"));
    assert_eq!(user.auth_subject.as_deref(), Some("auth0|sam"));
    assert!(!user.has_password);
    assert_eq!(stored_hash(&db, user.id), None);
    assert_eq!(count_rows(&mut db.conn(), "users"), 1);

    // Second sight: the same account, whatever the profile says now.
    let other_profile = NewProfile::new(unique_email("someone-else"));
    let (again, owner_again) = store
        .owner_for_subject("auth0|sam", OnMissingSubject::Create(other_profile))
        .unwrap();
    assert_eq!(again, user);
    assert_eq!(owner_again, owner);
    let (rejected, _) = store
        .owner_for_subject("auth0|sam", OnMissingSubject::Reject)
        .unwrap();
    assert_eq!(rejected, user);
    assert_eq!(count_rows(&mut db.conn(), "users"), 1);
    // Without a password, it cannot log in with one.
    assert_eq!(
        store.authenticate(&email, &password("any password at all")),
        Err(Error::InvalidCredentials)
    );
}

#[test]
fn owner_for_a_subject_finds_accounts_created_with_that_subject() {
    let db = TestDb::new();
    let mut store = db.store();
    let user = store
        .create_user(NewUser::new(unique_email("gh")).auth_subject("github|7"))
        .unwrap();
    let (found, owner) = store
        .owner_for_subject("github|7", OnMissingSubject::Reject)
        .unwrap();
    assert_eq!(found, user);
    assert_eq!(owner.user_id(), user.id);
    // Subjects are compared exactly.
    assert_eq!(
        store.owner_for_subject("GITHUB|7", OnMissingSubject::Reject),
        Err(Error::NotFound(Entity::User))
    );
}

#[test]
fn update_profile_sets_and_clears_fields() {
    let db = TestDb::new();
    let mut store = db.store();
    let (user, owner) = new_user(&mut store, "ada");
    let set = store
        .update_profile(
            &owner,
            UserPatch {
                display_name: Some(Some("  Ada  ".into())),
                time_zone: Some(Some("Europe/Paris".into())),
                ..UserPatch::default()
            },
        )
        .unwrap();
    assert_eq!(set.display_name.as_deref(), Some("Ada"));
    assert_eq!(set.time_zone.as_deref(), Some("Europe/Paris"));
    assert_eq!(set.email, user.email);
    assert_eq!(set.created_at, user.created_at);
    assert!(set.updated_at >= user.updated_at);

    let kept = store
        .update_profile(
            &owner,
            UserPatch {
                time_zone: Some(None),
                ..UserPatch::default()
            },
        )
        .unwrap();
    assert_eq!(kept.display_name.as_deref(), Some("Ada"));
    assert_eq!(kept.time_zone, None);
    assert_eq!(store.get_user(user.id).unwrap(), kept);

    // An empty patch changes nothing at all.
    let before = dump_db(&mut db.conn());
    assert_eq!(
        store.update_profile(&owner, UserPatch::default()).unwrap(),
        kept
    );
    assert_eq!(dump_db(&mut db.conn()), before);

    // JSON null clears, an absent field keeps.
    let patch: UserPatch = serde_json::from_str(r#"{"display_name": null}"#).unwrap();
    let cleared = store.update_profile(&owner, patch).unwrap();
    assert_eq!(cleared.display_name, None);
}

#[test]
fn update_profile_changes_the_email_used_to_find_the_account() {
    let db = TestDb::new();
    let mut store = db.store();
    let (user, owner) = new_user(&mut store, "ada");
    let new_email = unique_email("ada-new");
    let updated = store
        .update_profile(
            &owner,
            UserPatch {
                email: Some(format!(" {new_email} ")),
                ..UserPatch::default()
            },
        )
        .unwrap();
    assert_eq!(updated.email, new_email);
    assert_eq!(store.find_user_by_email(&user.email).unwrap(), None);
    assert_eq!(
        store.find_user_by_email(&new_email).unwrap(),
        Some(updated.clone())
    );
    // Changing only the letter case of one's own email is allowed.
    let upper = store
        .update_profile(
            &owner,
            UserPatch {
                email: Some(new_email.to_uppercase()),
                ..UserPatch::default()
            },
        )
        .unwrap();
    assert_eq!(upper.email, new_email.to_uppercase());
    assert_eq!(store.operator_owner(&new_email).unwrap(), owner);
}

#[test]
fn change_password_replaces_the_old_password() {
    let db = TestDb::new();
    let mut store = db.store();
    let email = unique_email("ada");
    let old = password("old password 1");
    let new = password("new password 2");
    let user = store
        .create_user(NewUser::new(email.clone()).password(old.clone()))
        .unwrap();
    let owner = store.operator_owner(&email).unwrap();
    let old_hash = stored_hash(&db, user.id).unwrap();
    store.change_password(&owner, &new).unwrap();
    let new_hash = stored_hash(&db, user.id).unwrap();
    assert_ne!(new_hash, old_hash);
    assert!(new_hash.starts_with("$argon2id$"));
    assert_eq!(
        store.authenticate(&email, &old),
        Err(Error::InvalidCredentials)
    );
    assert_eq!(store.authenticate(&email, &new).unwrap().user_id(), user.id);
}

#[test]
fn change_password_gives_a_passwordless_account_a_password() {
    let db = TestDb::new();
    let mut store = db.store();
    let (user, owner) = new_user(&mut store, "ada");
    let secret = password("brand new password");
    store.change_password(&owner, &secret).unwrap();
    assert!(store.get_user(user.id).unwrap().has_password);
    assert_eq!(store.authenticate(&user.email, &secret).unwrap(), owner);
}

#[test]
fn delete_user_deletes_the_account_and_all_its_tasks() {
    let db = TestDb::new();
    let mut store = db.store();
    let (ada, ada_owner) = new_user(&mut store, "ada");
    let (bob, bob_owner) = new_user(&mut store, "bob");
    let ada_tasks = store
        .create_tasks(
            &ada_owner,
            (0..3).map(|i| NewTask::new(format!("a{i}"))).collect(),
        )
        .unwrap();
    store.create_task(&bob_owner, NewTask::new("b")).unwrap();

    store.delete_user(&ada_owner).unwrap();
    let mut conn = db.conn();
    assert_eq!(store.get_user(ada.id), Err(Error::NotFound(Entity::User)));
    assert_eq!(store.find_user_by_email(&ada.email).unwrap(), None);
    assert_eq!(count_tasks_of(&mut conn, ada.id.as_uuid()), 0);
    assert_eq!(count_tasks_of(&mut conn, bob.id.as_uuid()), 1);
    assert_eq!(store.get_user(bob.id).unwrap(), bob);

    // The stale owner reaches nothing any more.
    assert_eq!(
        store.delete_user(&ada_owner),
        Err(Error::NotFound(Entity::User))
    );
    assert_eq!(
        store.get_task(&ada_owner, ada_tasks[0].id),
        Err(Error::NotFound(Entity::Task))
    );
    assert_eq!(
        store
            .count_tasks(&ada_owner, &TaskFilter::default())
            .unwrap(),
        0
    );
    assert_eq!(
        store.create_task(&ada_owner, NewTask::new("late")),
        Err(Error::NotFound(Entity::User))
    );
    assert_eq!(
        store.update_profile(
            &ada_owner,
            UserPatch {
                display_name: Some(Some("ghost".into())),
                ..UserPatch::default()
            }
        ),
        Err(Error::NotFound(Entity::User))
    );
    assert_eq!(
        store.update_profile(&ada_owner, UserPatch::default()),
        Err(Error::NotFound(Entity::User))
    );
    assert_eq!(count_rows(&mut conn, "users"), 1);
}

#[test]
fn change_password_of_a_deleted_account_is_not_found() {
    let db = TestDb::new();
    let mut store = db.store();
    let (_, owner) = new_user(&mut store, "ada");
    store.delete_user(&owner).unwrap();
    assert_eq!(
        store.change_password(&owner, &password("whatever pw")),
        Err(Error::NotFound(Entity::User))
    );
}

#[test]
fn the_email_of_a_deleted_account_can_be_used_again() {
    let db = TestDb::new();
    let mut store = db.store();
    let (user, owner) = new_user(&mut store, "ada");
    store.delete_user(&owner).unwrap();
    let again = store.create_user(NewUser::new(user.email.clone())).unwrap();
    assert_ne!(again.id, user.id);
}

#[test]
fn list_users_pages_through_every_account_in_id_order() {
    let db = TestDb::new();
    let mut store = db.store();
    let mut ids: Vec<UserId> = (0..7)
        .map(|i| new_user(&mut store, &format!("u{i}")).0.id)
        .collect();
    ids.sort_unstable();
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = store.list_users(3, after).unwrap();
        assert!(page.len() <= 3);
        let Some(last) = page.last() else { break };
        after = Some(last.id);
        seen.extend(page.iter().map(|u| u.id));
    }
    assert_eq!(seen, ids);
    let all = store.list_users(100, None).unwrap();
    assert_eq!(all.iter().map(|u| u.id).collect::<Vec<_>>(), ids);
    assert_eq!(store.list_users(100, Some(ids[6])).unwrap(), Vec::new());
}

#[test]
fn list_users_caps_the_page_at_200() {
    let db = TestDb::new();
    let mut store = db.store();
    exec(
        &mut db.conn(),
        "INSERT INTO users (id, email) \
         SELECT gen_random_uuid(), 'user' || g || '@example.com' FROM generate_series(1, 205) g",
    )
    .unwrap();
    let limit = usize::try_from(MAX_PAGE_SIZE).unwrap();
    assert_eq!(store.list_users(1_000, None).unwrap().len(), limit);
    assert_eq!(store.list_users(u32::MAX, None).unwrap().len(), limit);
    let first = store.list_users(1_000, None).unwrap();
    let rest = store.list_users(1_000, Some(first[limit - 1].id)).unwrap();
    assert_eq!(rest.len(), 5);
}

// ---------------------------------------------------------------------------
// Secrets in debug output.
// ---------------------------------------------------------------------------

#[test]
fn debug_output_of_password_and_new_user_never_contains_the_password() {
    let secret = "hunter2-very-secret";
    let pw = password(secret);
    assert!(!format!("{pw:?}").contains(secret));
    assert!(!format!("{pw:#?}").contains("hunter2"));
    let new = NewUser::new("ada@example.com").password(pw);
    assert!(!format!("{new:?}").contains("hunter2"));
}

#[test]
fn debug_output_of_database_url_and_store_config_never_contains_the_secret() {
    let urls = [
        "postgres://ada:s3cr3t-pw@db.example.com:5432/app?sslmode=require",
        "postgresql://ada:s3cr3t-pw@db.example.com/app",
        "postgres://db.example.com/app?sslmode=require&password=s3cr3t-pw",
        "postgres://ada@db.example.com/app?PASSWORD=s3cr3t-pw",
        "host=db.example.com password=s3cr3t-pw",
    ];
    for raw in urls {
        let url = DatabaseUrl::new(raw);
        for shown in [format!("{url:?}"), format!("{url}"), format!("{url:#?}")] {
            assert!(!shown.contains("s3cr3t"), "{shown}");
        }
        assert_eq!(url.expose(), raw);
        let config = StoreConfig::new(raw);
        for shown in [format!("{config:?}"), format!("{config:#?}")] {
            assert!(!shown.contains("s3cr3t"), "{shown}");
        }
    }
    let with_user = DatabaseUrl::new("postgres://ada:s3cr3t-pw@db.example.com/app");
    assert!(format!("{with_user}").contains("ada"));
    assert!(format!("{with_user}").contains("db.example.com/app"));
}

// libpq accepts an unencoded `?` in the password of a URL
// (`psql "postgres://root:pa?ss@localhost/postgres"` connects), so the
// redaction must not take it for the start of the query string.
#[test]
fn debug_output_hides_a_password_containing_a_question_mark() {
    for raw in [
        "postgres://ada:s3cr?3t@db.example.com/app",
        "postgres://ada:s3cr?3t@db.example.com/app?sslmode=require",
    ] {
        let url = DatabaseUrl::new(raw);
        for shown in [format!("{url:?}"), format!("{url}")] {
            assert!(!shown.contains("s3cr"), "{shown}");
        }
        let config = StoreConfig::new(raw);
        assert!(!format!("{config:?}").contains("s3cr"), "{config:?}");
    }
}

#[test]
fn a_failed_connection_does_not_reveal_the_password() {
    // Port 1 on the loopback refuses at once.
    let config = StoreConfig::new("postgres://ada:s3cr3t-pw@127.0.0.1:1/todo_store")
        .connect_timeout(Duration::from_secs(1));
    let err = Store::connect(&config).unwrap_err();
    assert!(matches!(err, Error::Unavailable(_)), "{err:?}");
    assert!(err.is_retryable());
    assert!(!format!("{err}").contains("s3cr3t"), "{err}");
    assert!(!format!("{err:?}").contains("s3cr3t"), "{err:?}");
}

#[test]
fn store_debug_output_shows_no_connection_details() {
    let db = TestDb::new();
    let store = db.store();
    let shown = format!("{store:?}");
    assert!(!shown.contains(db.name()), "{shown}");
    assert!(!shown.contains("postgres://"), "{shown}");
}

#[test]
fn list_users_rejects_a_zero_limit() {
    let db = TestDb::new();
    let mut store = db.store();
    assert!(matches!(
        store.list_users(0, None),
        Err(Error::Validation { ref field, .. }) if field == "limit"
    ));
}

#[test]
fn connection_errors_never_quote_the_password_even_for_a_malformed_url() {
    for url in [
        "postgres://ada:p%zzsecret@localhost/x",
        "postgres://ada:pa?ss%zzsecret@localhost/x",
        "postgres://ada:p@sssecret@localhost:1/x",
    ] {
        let config = StoreConfig::new(url).connect_timeout(std::time::Duration::from_secs(2));
        let Err(err) = config.establish() else {
            panic!("{url} should not connect");
        };
        assert!(!err.to_string().contains("secret"), "{url}: {err}");
        let err = Store::connect(&config).unwrap_err();
        assert!(!err.to_string().contains("secret"), "{url}: {err}");
    }
}
