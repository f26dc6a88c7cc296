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
        owner_id -> Nullable<BigInt>,
        archived_at -> Nullable<Timestamp>,
        sort_name -> Text,
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
        deal_id -> Nullable<BigInt>,
        lead_id -> Nullable<BigInt>,
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
    pipelines,
    pipeline_stages,
    deals,
    deal_contacts,
    deal_stage_moves,
    tasks,
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
        heartbeat_at -> Nullable<Timestamp>,
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

diesel::table! {
    pipelines (id) {
        id -> BigInt,
        name -> Text,
        position -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> Integer,
    }
}

diesel::table! {
    pipeline_stages (id) {
        id -> BigInt,
        pipeline_id -> BigInt,
        name -> Text,
        position -> Integer,
        win_probability -> Integer,
        rotting_days -> Nullable<Integer>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    deals (id) {
        id -> BigInt,
        title -> Text,
        value_minor -> BigInt,
        currency -> Text,
        expected_close_on -> Nullable<Date>,
        owner_id -> Nullable<BigInt>,
        company_id -> Nullable<BigInt>,
        pipeline_id -> BigInt,
        stage_id -> BigInt,
        status -> Text,
        source -> Nullable<Text>,
        lost_reason -> Nullable<Text>,
        stage_entered_at -> Timestamp,
        closed_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> Integer,
    }
}

diesel::table! {
    deal_contacts (deal_id, contact_id) {
        deal_id -> BigInt,
        contact_id -> BigInt,
    }
}

diesel::table! {
    deal_stage_moves (id) {
        id -> BigInt,
        deal_id -> BigInt,
        from_stage_id -> Nullable<BigInt>,
        to_stage_id -> Nullable<BigInt>,
        from_status -> Nullable<Text>,
        to_status -> Text,
        moved_by -> Nullable<BigInt>,
        moved_at -> Timestamp,
    }
}

diesel::table! {
    tasks (id) {
        id -> BigInt,
        title -> Text,
        due_at -> Timestamp,
        assignee_id -> BigInt,
        created_by -> Nullable<BigInt>,
        contact_id -> Nullable<BigInt>,
        company_id -> Nullable<BigInt>,
        deal_id -> Nullable<BigInt>,
        lead_id -> Nullable<BigInt>,
        completed_at -> Nullable<Timestamp>,
        reminder_queued_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> Integer,
    }
}

diesel::joinable!(pipeline_stages -> pipelines (pipeline_id));
diesel::joinable!(deals -> pipelines (pipeline_id));
diesel::joinable!(deals -> pipeline_stages (stage_id));
diesel::joinable!(deals -> companies (company_id));
diesel::joinable!(deals -> users (owner_id));
diesel::joinable!(deal_contacts -> deals (deal_id));
diesel::joinable!(deal_contacts -> contacts (contact_id));
diesel::joinable!(deal_stage_moves -> deals (deal_id));
diesel::joinable!(tasks -> deals (deal_id));
diesel::joinable!(tasks -> contacts (contact_id));
diesel::joinable!(tasks -> companies (company_id));
diesel::joinable!(timeline_entries -> deals (deal_id));

diesel::table! {
    leads (id) {
        id -> BigInt,
        first_name -> Text,
        last_name -> Text,
        email -> Nullable<Text>,
        phone -> Nullable<Text>,
        company_name -> Nullable<Text>,
        job_title -> Nullable<Text>,
        company_size -> Nullable<Integer>,
        industry -> Nullable<Text>,
        country -> Nullable<Text>,
        website -> Nullable<Text>,
        source -> Text,
        status -> Text,
        owner_id -> Nullable<BigInt>,
        score -> BigInt,
        grade -> Text,
        scored_version -> BigInt,
        converted_contact_id -> Nullable<BigInt>,
        converted_company_id -> Nullable<BigInt>,
        converted_deal_id -> Nullable<BigInt>,
        converted_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> Integer,
        scored_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    lead_tags (lead_id, tag_id) {
        lead_id -> BigInt,
        tag_id -> BigInt,
    }
}

diesel::table! {
    lead_events (id) {
        id -> BigInt,
        lead_id -> Nullable<BigInt>,
        contact_id -> Nullable<BigInt>,
        visitor_id -> Nullable<Text>,
        name -> Text,
        properties -> Text,
        occurred_at -> Timestamp,
        received_at -> Timestamp,
    }
}

diesel::table! {
    lead_adjustments (id) {
        id -> BigInt,
        lead_id -> BigInt,
        points -> BigInt,
        reason -> Text,
        author_id -> Nullable<BigInt>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    lead_score_changes (id) {
        id -> BigInt,
        lead_id -> BigInt,
        score -> BigInt,
        grade -> Text,
        previous_score -> BigInt,
        previous_grade -> Text,
        reason -> Text,
        recorded_at -> Timestamp,
    }
}

diesel::table! {
    scoring_groups (id) {
        id -> BigInt,
        name -> Text,
        cap -> Nullable<BigInt>,
        position -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    scoring_rules (id) {
        id -> BigInt,
        kind -> Text,
        group_id -> Nullable<BigInt>,
        field -> Nullable<Text>,
        operator -> Nullable<Text>,
        value -> Nullable<Text>,
        event_name -> Nullable<Text>,
        filter_key -> Nullable<Text>,
        filter_operator -> Nullable<Text>,
        filter_value -> Nullable<Text>,
        counting -> Nullable<Text>,
        rule_cap -> Nullable<BigInt>,
        half_life_days -> Nullable<Integer>,
        points -> BigInt,
        position -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> Integer,
    }
}

diesel::table! {
    scoring_grades (id) {
        id -> BigInt,
        name -> Text,
        min_points -> Nullable<BigInt>,
    }
}

diesel::joinable!(leads -> users (owner_id));
diesel::joinable!(lead_tags -> leads (lead_id));
diesel::joinable!(lead_tags -> tags (tag_id));
diesel::joinable!(lead_events -> leads (lead_id));
diesel::joinable!(lead_adjustments -> leads (lead_id));
diesel::joinable!(lead_score_changes -> leads (lead_id));
diesel::joinable!(scoring_rules -> scoring_groups (group_id));
diesel::joinable!(timeline_entries -> leads (lead_id));
diesel::allow_tables_to_appear_in_same_query!(
    leads,
    lead_tags,
    lead_events,
    lead_adjustments,
    lead_score_changes,
    tags,
);
diesel::allow_tables_to_appear_in_same_query!(leads, users);
diesel::allow_tables_to_appear_in_same_query!(leads, timeline_entries);
diesel::allow_tables_to_appear_in_same_query!(lead_adjustments, users);
diesel::allow_tables_to_appear_in_same_query!(scoring_rules, scoring_groups);

diesel::table! {
    lead_forms (id) {
        id -> BigInt,
        form_key -> Text,
        name -> Text,
        fields -> Text,
        required_fields -> Text,
        source_label -> Text,
        thank_you_message -> Text,
        redirect_url -> Nullable<Text>,
        allowed_origins -> Text,
        double_opt_in -> Bool,
        active -> Bool,
        submissions -> BigInt,
        last_submission_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    lead_form_confirmations (id) {
        id -> BigInt,
        form_id -> BigInt,
        token_hash -> Text,
        email -> Text,
        submission -> Text,
        visitor_id -> Nullable<Text>,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        confirmed_at -> Nullable<Timestamp>,
    }
}

diesel::joinable!(lead_form_confirmations -> lead_forms (form_id));
diesel::allow_tables_to_appear_in_same_query!(lead_forms, lead_form_confirmations);

diesel::table! {
    lead_assignment_settings (id) {
        id -> BigInt,
        enabled -> Bool,
        first_contact_hours -> Integer,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    lead_rotations (id) {
        id -> BigInt,
        match_field -> Nullable<Text>,
        match_value -> Nullable<Text>,
        position -> Integer,
        last_user_id -> Nullable<BigInt>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    lead_rotation_members (rotation_id, user_id) {
        rotation_id -> BigInt,
        user_id -> BigInt,
    }
}

diesel::table! {
    lead_assignments (lead_id) {
        lead_id -> BigInt,
        user_id -> BigInt,
        rotation_id -> Nullable<BigInt>,
        task_id -> Nullable<BigInt>,
        assigned_at -> Timestamp,
        email_queued_at -> Nullable<Timestamp>,
    }
}

diesel::joinable!(lead_rotation_members -> lead_rotations (rotation_id));
diesel::joinable!(lead_rotation_members -> users (user_id));
diesel::allow_tables_to_appear_in_same_query!(lead_rotations, lead_rotation_members);
diesel::allow_tables_to_appear_in_same_query!(lead_rotations, users);
diesel::allow_tables_to_appear_in_same_query!(lead_rotation_members, users);
diesel::allow_tables_to_appear_in_same_query!(lead_assignments, users);
diesel::allow_tables_to_appear_in_same_query!(lead_assignments, leads);

// Website behaviour (migration 2026-12-04-000017_site_keys).
diesel::table! {
    site_keys (id) {
        id -> BigInt,
        name -> Text,
        key_hash -> Text,
        key_hint -> Text,
        allowed_origins -> Text,
        created_by -> Nullable<BigInt>,
        created_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    lead_visitors (visitor_id) {
        visitor_id -> Text,
        lead_id -> Nullable<BigInt>,
        contact_id -> Nullable<BigInt>,
        stitched_at -> Timestamp,
    }
}

diesel::joinable!(lead_visitors -> leads (lead_id));
diesel::allow_tables_to_appear_in_same_query!(lead_visitors, leads);
diesel::allow_tables_to_appear_in_same_query!(site_keys, users);
diesel::joinable!(tasks -> leads (lead_id));
diesel::allow_tables_to_appear_in_same_query!(tasks, leads);
diesel::allow_tables_to_appear_in_same_query!(leads, contacts);
diesel::allow_tables_to_appear_in_same_query!(leads, companies);
diesel::allow_tables_to_appear_in_same_query!(leads, deals);

diesel::table! {
    deal_board_totals (pipeline_id, owner_key, stage_id, currency) {
        pipeline_id -> BigInt,
        stage_id -> BigInt,
        owner_key -> BigInt,
        currency -> Text,
        deals -> BigInt,
        total_minor -> BigInt,
    }
}

// Personal API tokens (migration 2026-12-04-000020_api_tokens).
diesel::table! {
    api_tokens (id) {
        id -> BigInt,
        user_id -> BigInt,
        name -> Text,
        token_hash -> Text,
        token_prefix -> Text,
        created_at -> Timestamp,
        last_used_at -> Nullable<Timestamp>,
        expires_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
        created_by -> Nullable<BigInt>,
    }
}

diesel::joinable!(api_tokens -> users (user_id));
diesel::allow_tables_to_appear_in_same_query!(api_tokens, users);
