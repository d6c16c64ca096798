// @generated automatically by Diesel CLI.

diesel::table! {
    tasks (user_id, id) {
        user_id -> Uuid,
        id -> Uuid,
        title -> Text,
        description -> Nullable<Text>,
        completed -> Bool,
        completed_at -> Nullable<Timestamptz>,
        priority -> Int2,
        due_at -> Nullable<Timestamptz>,
        version -> Int4,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    users (id) {
        id -> Uuid,
        email -> Text,
        password_hash -> Nullable<Text>,
        auth_subject -> Nullable<Text>,
        display_name -> Nullable<Text>,
        time_zone -> Nullable<Text>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::joinable!(tasks -> users (user_id));

diesel::allow_tables_to_appear_in_same_query!(tasks, users,);
