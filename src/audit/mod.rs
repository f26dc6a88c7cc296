//! The audit log: who did what, when and from where. Entries are written in the same
//! transaction as the change they describe.

pub mod routes;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::auth::model::User;
use crate::db::Conn;
use crate::db::schema::audit_log;

/// Whoever caused a change, as recorded in the log.
#[derive(Debug, Clone)]
pub struct Actor {
    pub user_id: Option<i64>,
    pub label: String,
    pub address: Option<String>,
}

impl Actor {
    pub fn user(user: &User, address: &str) -> Self {
        Self {
            user_id: Some(user.id),
            label: user.email.clone(),
            address: Some(address.to_owned()),
        }
    }

    pub fn anonymous(address: &str) -> Self {
        Self {
            user_id: None,
            label: "anonymous".to_owned(),
            address: Some(address.to_owned()),
        }
    }

    pub fn command_line() -> Self {
        Self {
            user_id: None,
            label: "command line".to_owned(),
            address: None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    FirstAdminCreated,
    Login,
    LoginFailed,
    Logout,
    AuthorizationDenied,
    UserCreated,
    UserInvited,
    RoleChanged,
    UserDeactivated,
    UserActivated,
    SecondFactorEnabled,
    SecondFactorDisabled,
    SecondFactorReset,
    RecoveryCodesRegenerated,
    SessionsEnded,
    ProfileUpdated,
    PasswordChanged,
    PasswordResetRequested,
    PasswordReset,
    InvitationAccepted,
    SettingsChanged,
    EmailRetried,
    RecordCreated,
    RecordUpdated,
    RecordArchived,
    RecordRestored,
    RecordDeleted,
    RecordMerged,
    RecordsExported,
    PipelineCreated,
    PipelineRenamed,
    PipelineDeleted,
    StageAdded,
    StageChanged,
    StageReordered,
    StageDeleted,
    DealMoved,
    DealWon,
    DealLost,
    DealReopened,
    LeadConverted,
}

impl Action {
    pub const ALL: [Action; 41] = [
        Action::FirstAdminCreated,
        Action::Login,
        Action::LoginFailed,
        Action::Logout,
        Action::AuthorizationDenied,
        Action::UserCreated,
        Action::UserInvited,
        Action::RoleChanged,
        Action::UserDeactivated,
        Action::UserActivated,
        Action::SecondFactorEnabled,
        Action::SecondFactorDisabled,
        Action::SecondFactorReset,
        Action::RecoveryCodesRegenerated,
        Action::SessionsEnded,
        Action::ProfileUpdated,
        Action::PasswordChanged,
        Action::PasswordResetRequested,
        Action::PasswordReset,
        Action::InvitationAccepted,
        Action::SettingsChanged,
        Action::EmailRetried,
        Action::RecordCreated,
        Action::RecordUpdated,
        Action::RecordArchived,
        Action::RecordRestored,
        Action::RecordDeleted,
        Action::RecordMerged,
        Action::RecordsExported,
        Action::PipelineCreated,
        Action::PipelineRenamed,
        Action::PipelineDeleted,
        Action::StageAdded,
        Action::StageChanged,
        Action::StageReordered,
        Action::StageDeleted,
        Action::DealMoved,
        Action::DealWon,
        Action::DealLost,
        Action::DealReopened,
        Action::LeadConverted,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Action::FirstAdminCreated => "first_admin_created",
            Action::Login => "login",
            Action::LoginFailed => "login_failed",
            Action::Logout => "logout",
            Action::AuthorizationDenied => "authorization_denied",
            Action::UserCreated => "user_created",
            Action::UserInvited => "user_invited",
            Action::RoleChanged => "role_changed",
            Action::UserDeactivated => "user_deactivated",
            Action::UserActivated => "user_activated",
            Action::SecondFactorEnabled => "second_factor_enabled",
            Action::SecondFactorDisabled => "second_factor_disabled",
            Action::SecondFactorReset => "second_factor_reset",
            Action::RecoveryCodesRegenerated => "recovery_codes_regenerated",
            Action::SessionsEnded => "sessions_ended",
            Action::ProfileUpdated => "profile_updated",
            Action::PasswordChanged => "password_changed",
            Action::PasswordResetRequested => "password_reset_requested",
            Action::PasswordReset => "password_reset",
            Action::InvitationAccepted => "invitation_accepted",
            Action::SettingsChanged => "settings_changed",
            Action::EmailRetried => "email_retried",
            Action::RecordCreated => "record_created",
            Action::RecordUpdated => "record_updated",
            Action::RecordArchived => "record_archived",
            Action::RecordRestored => "record_restored",
            Action::RecordDeleted => "record_deleted",
            Action::RecordMerged => "record_merged",
            Action::RecordsExported => "records_exported",
            Action::PipelineCreated => "pipeline_created",
            Action::PipelineRenamed => "pipeline_renamed",
            Action::PipelineDeleted => "pipeline_deleted",
            Action::StageAdded => "stage_added",
            Action::StageChanged => "stage_changed",
            Action::StageReordered => "stage_reordered",
            Action::StageDeleted => "stage_deleted",
            Action::DealMoved => "deal_moved",
            Action::DealWon => "deal_won",
            Action::DealLost => "deal_lost",
            Action::DealReopened => "deal_reopened",
            Action::LeadConverted => "lead_converted",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|action| action.as_str() == value)
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = audit_log, check_for_backend(diesel::sqlite::Sqlite))]
pub struct Entry {
    pub id: i64,
    pub occurred_at: NaiveDateTime,
    pub actor_label: String,
    pub action: String,
    pub target: Option<String>,
    pub details: Option<String>,
    pub client_address: Option<String>,
}

/// Appends an entry. `target` names the record acted on, `details` says what changed.
pub fn record(
    conn: &mut Conn,
    now: NaiveDateTime,
    actor: &Actor,
    action: Action,
    target: Option<&str>,
    details: Option<&str>,
) -> QueryResult<()> {
    tracing::info!(
        action = action.as_str(),
        actor = %actor.label,
        target,
        address = actor.address.as_deref(),
        "audit"
    );
    diesel::insert_into(audit_log::table)
        .values((
            audit_log::occurred_at.eq(now),
            audit_log::actor_user_id.eq(actor.user_id),
            audit_log::actor_label.eq(&actor.label),
            audit_log::action.eq(action.as_str()),
            audit_log::target.eq(target),
            audit_log::details.eq(details),
            audit_log::client_address.eq(actor.address.as_deref()),
        ))
        .execute(conn)
        .map(|_| ())
}

/// Newest first, `limit` entries older than the cursor `before` (an entry id).
pub fn page(
    conn: &mut Conn,
    action: Option<Action>,
    before: Option<i64>,
    limit: i64,
) -> QueryResult<Vec<Entry>> {
    let mut query = audit_log::table
        .select(Entry::as_select())
        .order(audit_log::id.desc())
        .limit(limit)
        .into_boxed();
    if let Some(action) = action {
        query = query.filter(audit_log::action.eq(action.as_str()));
    }
    if let Some(before) = before {
        query = query.filter(audit_log::id.lt(before));
    }
    query.load(conn)
}

/// A record's history: the entries whose target is exactly `target` (e.g. "contact 42"),
/// newest first.
pub fn history(conn: &mut Conn, target: &str, limit: i64) -> QueryResult<Vec<Entry>> {
    audit_log::table
        .filter(audit_log::target.eq(target))
        .select(Entry::as_select())
        .order(audit_log::id.desc())
        .limit(limit)
        .load(conn)
}
