// Kept by hand in step with `migrations/`: ids are BigInt so the same code serves every backend.

diesel::table! {
    users (id) {
        id -> BigInt,
        email -> Text,
        display_name -> Text,
        role -> Text,
        password_hash -> Nullable<Text>,
        active -> Bool,
        time_zone -> Text,
        totp_secret -> Nullable<Text>,
        totp_last_step -> Nullable<BigInt>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> Integer,
    }
}

diesel::table! {
    recovery_codes (id) {
        id -> BigInt,
        user_id -> BigInt,
        code_hash -> Text,
        used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    sessions (id) {
        id -> BigInt,
        token_hash -> Text,
        user_id -> BigInt,
        csrf_token -> Text,
        second_factor_pending -> Bool,
        totp_enrolment_secret -> Nullable<Text>,
        created_at -> Timestamp,
        last_seen_at -> Timestamp,
        client_address -> Text,
        user_agent -> Text,
    }
}

diesel::table! {
    user_tokens (id) {
        id -> BigInt,
        user_id -> BigInt,
        purpose -> Text,
        token_hash -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    app_settings (name) {
        name -> Text,
        value -> Text,
    }
}

diesel::table! {
    email_outbox (id) {
        id -> BigInt,
        message_id -> Text,
        idempotency_key -> Nullable<Text>,
        recipient -> Text,
        subject -> Text,
        body_text -> Text,
        status -> Text,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        locked_until -> Nullable<Timestamp>,
        last_error -> Nullable<Text>,
        created_at -> Timestamp,
        sent_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    audit_log (id) {
        id -> BigInt,
        occurred_at -> Timestamp,
        actor_user_id -> Nullable<BigInt>,
        actor_label -> Text,
        action -> Text,
        target -> Nullable<Text>,
        details -> Nullable<Text>,
        client_address -> Nullable<Text>,
    }
}

diesel::table! {
    companies (id) {
        id -> BigInt,
        name -> Text,
        sort_name -> Text,
        domain -> Nullable<Text>,
        industry -> Nullable<Text>,
        employee_count -> Nullable<Integer>,
        phone -> Nullable<Text>,
        address -> Nullable<Text>,
        owner_id -> Nullable<BigInt>,
        archived_at -> Nullable<Timestamp>,
        last_activity_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> Integer,
    }
}

diesel::table! {
    contacts (id) {
        id -> BigInt,
        first_name -> Text,
        last_name -> Text,
        sort_name -> Text,
        job_title -> Nullable<Text>,
        company_id -> Nullable<BigInt>,
        owner_id -> Nullable<BigInt>,
        lifecycle_stage -> Text,
        address -> Nullable<Text>,
        description -> Nullable<Text>,
        archived_at -> Nullable<Timestamp>,
        last_activity_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> Integer,
    }
}

diesel::table! {
    contact_emails (id) {
        id -> BigInt,
        contact_id -> BigInt,
        email -> Text,
        is_primary -> Bool,
    }
}

diesel::table! {
    contact_phones (id) {
        id -> BigInt,
        contact_id -> BigInt,
        phone -> Text,
        is_primary -> Bool,
    }
}

diesel::table! {
    tags (id) {
        id -> BigInt,
        name -> Text,
    }
}

diesel::table! {
    contact_tags (contact_id, tag_id) {
        contact_id -> BigInt,
        tag_id -> BigInt,
    }
}

diesel::table! {
    company_tags (company_id, tag_id) {
        company_id -> BigInt,
        tag_id -> BigInt,
    }
}

diesel::table! {
    timeline_entries (id) {
        id -> BigInt,
        contact_id -> Nullable<BigInt>,
        company_id -> Nullable<BigInt>,
        kind -> Text,
        author_id -> Nullable<BigInt>,
        occurred_at -> Timestamp,
        body -> Text,
        outcome -> Nullable<Text>,
        duration_minutes -> Nullable<Integer>,
        created_at -> Timestamp,
    }
}

diesel::joinable!(recovery_codes -> users (user_id));
diesel::joinable!(sessions -> users (user_id));
diesel::joinable!(user_tokens -> users (user_id));
diesel::joinable!(audit_log -> users (actor_user_id));
diesel::joinable!(companies -> users (owner_id));
diesel::joinable!(contacts -> companies (company_id));
diesel::joinable!(contact_emails -> contacts (contact_id));
diesel::joinable!(contact_phones -> contacts (contact_id));
diesel::joinable!(contact_tags -> contacts (contact_id));
diesel::joinable!(contact_tags -> tags (tag_id));
diesel::joinable!(company_tags -> companies (company_id));
diesel::joinable!(company_tags -> tags (tag_id));
diesel::joinable!(timeline_entries -> contacts (contact_id));
diesel::joinable!(timeline_entries -> companies (company_id));

diesel::allow_tables_to_appear_in_same_query!(
    users,
    recovery_codes,
    sessions,
    user_tokens,
    app_settings,
    email_outbox,
    audit_log,
    companies,
    contacts,
    contact_emails,
    contact_phones,
    tags,
    contact_tags,
    company_tags,
    timeline_entries,
);

diesel::table! {
    import_jobs (id) {
        id -> BigInt,
        token -> Text,
        user_id -> BigInt,
        kind -> Text,
        file_name -> Text,
        content -> Nullable<Binary>,
        status -> Text,
        total_rows -> Integer,
        processed_rows -> Integer,
        created_count -> Integer,
        updated_count -> Integer,
        skipped_count -> Integer,
        failed_count -> Integer,
        report -> Text,
        created_at -> Timestamp,
        finished_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    saved_views (id) {
        id -> BigInt,
        owner_id -> BigInt,
        list -> Text,
        name -> Text,
        query -> Text,
        shared -> Bool,
        created_at -> Timestamp,
    }
}

diesel::joinable!(saved_views -> users (owner_id));
diesel::allow_tables_to_appear_in_same_query!(saved_views, users);
