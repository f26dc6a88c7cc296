//! Account rules: signing in and out, the first admin, invitations, password resets,
//! the second factor, profiles and the admin's user management. Every change is one
//! transaction with its audit entry and any email it causes.

use chrono::NaiveDateTime;
use diesel::result::{DatabaseErrorKind, Error as DieselError};

use super::model::{DisplayName, EmailAddress, Role, TimeZone, User};
use super::password::{self, NewPassword};
use super::queries::{self, NewUserRow, TokenPurpose};
use super::sessions::{self, Client, Session};
use super::totp;
use crate::app_settings;
use crate::audit::{self, Action, Actor};
use crate::db::{self, Conn};
use crate::email::{InvitationEmail, Mailer, PasswordResetEmail};
use crate::error::{AppError, FieldErrors, OrNotFound};

pub const PASSWORD_RESET_VALIDITY: chrono::Duration = chrono::Duration::hours(1);
pub const INVITATION_VALIDITY: chrono::Duration = chrono::Duration::days(7);

const WRONG_CREDENTIALS: &str = "Email or password is incorrect.";
const CONFLICT: &str = "Someone else changed this user while you were editing. \
    Review the current values and try again.";

/// A user to create, already validated. Without a password the user is invited by email.
#[derive(Debug)]
pub struct NewUser {
    pub email: EmailAddress,
    pub display_name: DisplayName,
    pub role: Role,
    pub password: Option<NewPassword>,
}

fn insert_user(conn: &mut Conn, now: NaiveDateTime, user: &NewUser) -> Result<User, AppError> {
    let hash = user.password.as_ref().map(NewPassword::hash).transpose()?;
    let row = NewUserRow {
        email: user.email.as_str(),
        display_name: user.display_name.as_str(),
        role: user.role,
        password_hash: hash.as_deref(),
    };
    queries::insert(conn, now, &row).map_err(|err| match err {
        DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _) => {
            AppError::invalid("email", "A user with this email already exists.")
        }
        other => other.into(),
    })
}

/// Whether the one-time "create the first admin" page still applies.
pub fn needs_first_admin(conn: &mut Conn) -> Result<bool, AppError> {
    Ok(queries::count(conn)? == 0)
}

/// Creates the first admin, only while no user exists. Two people racing for it: one wins,
/// the other gets `Forbidden`.
pub fn create_first_admin(
    conn: &mut Conn,
    now: NaiveDateTime,
    actor: &Actor,
    new: &NewUser,
) -> Result<User, AppError> {
    db::write(conn, |conn| {
        if queries::count(conn)? > 0
            || !app_settings::insert_if_absent(
                conn,
                app_settings::FIRST_ADMIN_CREATED,
                &now.to_string(),
            )?
        {
            return Err(AppError::Forbidden);
        }
        let user = insert_user(conn, now, new)?;
        audit::record(
            conn,
            now,
            actor,
            Action::FirstAdminCreated,
            Some(&user.email),
            None,
        )?;
        Ok(user)
    })
}

/// Creates a user. Without a password an invitation email with a single-use link is queued
/// in the same transaction.
pub fn create_user(
    conn: &mut Conn,
    now: NaiveDateTime,
    actor: &Actor,
    mailer: &Mailer,
    new: &NewUser,
) -> Result<User, AppError> {
    db::write(conn, |conn| {
        let user = insert_user(conn, now, new)?;
        let details = format!("role {}", user.role);
        if new.password.is_some() {
            audit::record(
                conn,
                now,
                actor,
                Action::UserCreated,
                Some(&user.email),
                Some(&details),
            )?;
        } else {
            let token = queries::issue_token(
                conn,
                user.id,
                TokenPurpose::Invitation,
                now,
                INVITATION_VALIDITY,
            )?;
            let link = mailer.link(&format!("/invitation/{token}"));
            let inviter = match actor.user_id {
                Some(id) => queries::find(conn, id)?.map(|inviter| inviter.display_name),
                None => None,
            };
            let message = InvitationEmail {
                name: &user.display_name,
                invited_by: inviter.as_deref().unwrap_or(&actor.label),
                link: &link,
                valid_days: INVITATION_VALIDITY.num_days(),
            };
            mailer.queue_message(conn, now, &user.email, &message)?;
            audit::record(
                conn,
                now,
                actor,
                Action::UserInvited,
                Some(&user.email),
                Some(&details),
            )?;
        }
        Ok(user)
    })
}

pub enum LoginOutcome {
    /// Signed in; the session id for the cookie.
    SignedIn(String),
    /// Password right; the session may only visit the second-factor page until a code is given.
    SecondFactorRequired(String),
}

/// Checks an email and password. An unknown email, an inactive account and a wrong password
/// all get the same answer, in about the same time.
pub fn log_in(
    conn: &mut Conn,
    now: NaiveDateTime,
    email: &str,
    password: &str,
    client: &Client,
) -> Result<LoginOutcome, AppError> {
    let email = email.trim().to_lowercase();
    let user = queries::find_by_email(conn, &email)?;
    let credentials = match &user {
        Some(user) => Some(queries::credentials(conn, user.id)?),
        None => None,
    };
    let stored_hash = credentials
        .as_ref()
        .and_then(|c| c.password_hash.as_deref());
    let password_ok = password::verify(stored_hash, password);
    let actor = Actor::anonymous(&client.address);
    match user {
        Some(user) if password_ok && user.active => db::write(conn, |conn| {
            let has_second_factor = credentials.is_some_and(|c| c.totp_secret.is_some());
            let token = sessions::start(conn, now, user.id, has_second_factor, client)?;
            let actor = Actor::user(&user, &client.address);
            if has_second_factor {
                Ok(LoginOutcome::SecondFactorRequired(token))
            } else {
                audit::record(conn, now, &actor, Action::Login, Some(&user.email), None)?;
                Ok(LoginOutcome::SignedIn(token))
            }
        }),
        Some(user) => {
            let reason = if user.active {
                "wrong password"
            } else {
                "account deactivated"
            };
            audit::record(
                conn,
                now,
                &actor,
                Action::LoginFailed,
                Some(&email),
                Some(reason),
            )?;
            Err(AppError::invalid(FieldErrors::FORM, WRONG_CREDENTIALS))
        }
        None => {
            audit::record(
                conn,
                now,
                &actor,
                Action::LoginFailed,
                Some(&email),
                Some("unknown email"),
            )?;
            Err(AppError::invalid(FieldErrors::FORM, WRONG_CREDENTIALS))
        }
    }
}

/// Completes a login with an authenticator code or a recovery code. The pending session is
/// replaced by a new one, so the session id changes once more.
pub fn complete_second_factor(
    conn: &mut Conn,
    now: NaiveDateTime,
    session: &Session,
    user: &User,
    code: &str,
    client: &Client,
) -> Result<String, AppError> {
    let actor = Actor::user(user, &client.address);
    let accepted = db::write(conn, |conn| -> Result<bool, AppError> {
        let credentials = queries::credentials(conn, user.id)?;
        let Some(secret) = credentials.totp_secret else {
            return Ok(false);
        };
        if let Some(step) = totp::matching_step(&secret, code, now)? {
            return Ok(queries::claim_totp_step(conn, user.id, step)?);
        }
        Ok(queries::use_recovery_code(conn, user.id, code, now)?)
    })?;
    if !accepted {
        audit::record(
            conn,
            now,
            &actor,
            Action::LoginFailed,
            Some(&user.email),
            Some("wrong second-factor code"),
        )?;
        return Err(AppError::invalid(
            "code",
            "That code is not right. Try the newest code from your app.",
        ));
    }
    db::write(conn, |conn| {
        sessions::end(conn, session.id)?;
        let token = sessions::start(conn, now, user.id, false, client)?;
        audit::record(
            conn,
            now,
            &actor,
            Action::Login,
            Some(&user.email),
            Some("with second factor"),
        )?;
        Ok(token)
    })
}

pub fn log_out(
    conn: &mut Conn,
    now: NaiveDateTime,
    session_id: i64,
    actor: &Actor,
) -> Result<(), AppError> {
    db::write(conn, |conn| {
        sessions::end(conn, session_id)?;
        audit::record(conn, now, actor, Action::Logout, None, None)?;
        Ok(())
    })
}

/// Queues a reset link if the address belongs to an active account; otherwise does nothing
/// visible. The caller answers the same either way.
pub fn request_password_reset(
    conn: &mut Conn,
    now: NaiveDateTime,
    mailer: &Mailer,
    email: &str,
    actor: &Actor,
) -> Result<(), AppError> {
    let email = email.trim().to_lowercase();
    db::write(conn, |conn| {
        let user = queries::find_by_email(conn, &email)?.filter(|user| user.active);
        let details = if user.is_some() {
            "link sent"
        } else {
            "no such active account"
        };
        audit::record(
            conn,
            now,
            actor,
            Action::PasswordResetRequested,
            Some(&email),
            Some(details),
        )?;
        if let Some(user) = user {
            let token = queries::issue_token(
                conn,
                user.id,
                TokenPurpose::PasswordReset,
                now,
                PASSWORD_RESET_VALIDITY,
            )?;
            let link = mailer.link(&format!("/reset-password/{token}"));
            let message = PasswordResetEmail {
                name: &user.display_name,
                link: &link,
                valid_minutes: PASSWORD_RESET_VALIDITY.num_minutes(),
            };
            mailer.queue_message(conn, now, &user.email, &message)?;
        }
        Ok(())
    })
}

/// The user a reset or invitation link is for, if the link still works.
pub fn user_for_link(
    conn: &mut Conn,
    now: NaiveDateTime,
    token: &str,
    purpose: TokenPurpose,
) -> Result<User, AppError> {
    queries::find_token_user(conn, token, purpose, now)?
        .map(|(_, user)| user)
        .or_not_found()
}

/// Sets a password through a reset or invitation link. The link is used up, and every
/// session of the account ends.
pub fn set_password_with_link(
    conn: &mut Conn,
    now: NaiveDateTime,
    token: &str,
    purpose: TokenPurpose,
    password: &NewPassword,
    client_address: &str,
) -> Result<User, AppError> {
    let hash = password.hash()?;
    db::write(conn, |conn| {
        let (token_id, user) =
            queries::find_token_user(conn, token, purpose, now)?.or_not_found()?;
        if !queries::use_token(conn, token_id, now)? {
            return Err(AppError::NotFound);
        }
        queries::set_password_hash(conn, user.id, &hash, now)?;
        sessions::end_all_for_user(conn, user.id, None)?;
        let action = match purpose {
            TokenPurpose::PasswordReset => Action::PasswordReset,
            TokenPurpose::Invitation => Action::InvitationAccepted,
        };
        audit::record(
            conn,
            now,
            &Actor::user(&user, client_address),
            action,
            Some(&user.email),
            None,
        )?;
        Ok(user)
    })
}

/// Changes one's own password; needs the current one and ends every other session.
pub fn change_password(
    conn: &mut Conn,
    now: NaiveDateTime,
    user: &User,
    current_session: i64,
    current_password: &str,
    new_password: &NewPassword,
    actor: &Actor,
) -> Result<(), AppError> {
    let credentials = queries::credentials(conn, user.id)?;
    if !password::verify(credentials.password_hash.as_deref(), current_password) {
        return Err(AppError::invalid(
            "current_password",
            "Your current password is not right.",
        ));
    }
    let hash = new_password.hash()?;
    db::write(conn, |conn| {
        queries::set_password_hash(conn, user.id, &hash, now)?;
        let ended = sessions::end_all_for_user(conn, user.id, Some(current_session))?;
        audit::record(
            conn,
            now,
            actor,
            Action::PasswordChanged,
            Some(&user.email),
            Some(&format!("{ended} other sessions ended")),
        )?;
        Ok(())
    })
}

pub fn update_profile(
    conn: &mut Conn,
    now: NaiveDateTime,
    user: &User,
    display_name: &DisplayName,
    time_zone: &TimeZone,
    version: i32,
    actor: &Actor,
) -> Result<(), AppError> {
    db::write(conn, |conn| {
        let updated = queries::update_profile(
            conn,
            user.id,
            display_name.as_str(),
            time_zone.name(),
            version,
            now,
        )?;
        if updated == 0 {
            return Err(AppError::Conflict(
                "Your profile was changed in another window. The form now shows the saved values."
                    .to_owned(),
            ));
        }
        audit::record(
            conn,
            now,
            actor,
            Action::ProfileUpdated,
            Some(&user.email),
            None,
        )?;
        Ok(())
    })
}

/// Keeps an enrolment secret on the session until the user confirms it with a code.
pub fn begin_enrolment(conn: &mut Conn, session: &Session) -> Result<String, AppError> {
    if let Some(secret) = &session.totp_enrolment_secret {
        return Ok(secret.clone());
    }
    let secret = totp::new_secret();
    sessions::set_enrolment_secret(conn, session.id, Some(&secret))?;
    Ok(secret)
}

/// Turns the second factor on once a code from the app proves the secret was scanned.
/// Returns the ten recovery codes, to be shown once.
pub fn confirm_enrolment(
    conn: &mut Conn,
    now: NaiveDateTime,
    session: &Session,
    user: &User,
    code: &str,
    actor: &Actor,
) -> Result<Vec<String>, AppError> {
    let secret = session.totp_enrolment_secret.as_deref().ok_or_else(|| {
        AppError::BadRequest("The enrolment expired. Scan the new code.".to_owned())
    })?;
    let Some(step) = totp::matching_step(secret, code, now)? else {
        return Err(AppError::invalid(
            "code",
            "That code is not right. Check the time on your phone and try the newest code.",
        ));
    };
    db::write(conn, |conn| {
        queries::set_totp(conn, user.id, Some((secret, step)), now)?;
        sessions::set_enrolment_secret(conn, session.id, None)?;
        let codes = queries::replace_recovery_codes(conn, user.id)?;
        audit::record(
            conn,
            now,
            actor,
            Action::SecondFactorEnabled,
            Some(&user.email),
            None,
        )?;
        Ok(codes)
    })
}

pub fn regenerate_recovery_codes(
    conn: &mut Conn,
    now: NaiveDateTime,
    user: &User,
    current_password: &str,
    actor: &Actor,
) -> Result<Vec<String>, AppError> {
    let credentials = queries::credentials(conn, user.id)?;
    if credentials.totp_secret.is_none() {
        return Err(AppError::BadRequest(
            "Turn on the second factor first.".to_owned(),
        ));
    }
    if !password::verify(credentials.password_hash.as_deref(), current_password) {
        return Err(AppError::invalid(
            "current_password",
            "Your current password is not right.",
        ));
    }
    db::write(conn, |conn| {
        let codes = queries::replace_recovery_codes(conn, user.id)?;
        audit::record(
            conn,
            now,
            actor,
            Action::RecoveryCodesRegenerated,
            Some(&user.email),
            None,
        )?;
        Ok(codes)
    })
}

/// Turns one's own second factor off (needs the password; not while admins require it).
pub fn disable_second_factor(
    conn: &mut Conn,
    now: NaiveDateTime,
    user: &User,
    current_password: &str,
    actor: &Actor,
) -> Result<(), AppError> {
    if app_settings::require_second_factor(conn)? {
        return Err(AppError::BadRequest(
            "Your organisation requires a second factor, so it cannot be turned off.".to_owned(),
        ));
    }
    let credentials = queries::credentials(conn, user.id)?;
    if !password::verify(credentials.password_hash.as_deref(), current_password) {
        return Err(AppError::invalid(
            "current_password",
            "Your current password is not right.",
        ));
    }
    db::write(conn, |conn| {
        queries::set_totp(conn, user.id, None, now)?;
        audit::record(
            conn,
            now,
            actor,
            Action::SecondFactorDisabled,
            Some(&user.email),
            None,
        )?;
        Ok(())
    })
}

/// What an admin does to another account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdminChange {
    Role { role: Role, version: i32 },
    Deactivate,
    Activate,
    ResetSecondFactor,
    EndSessions,
}

/// Applies an admin's change to a user, keeping at least one active admin and recording
/// what was done. Deactivation ends the user's sessions at once.
pub fn administer_user(
    conn: &mut Conn,
    now: NaiveDateTime,
    actor: &Actor,
    target_id: i64,
    change: AdminChange,
) -> Result<User, AppError> {
    db::write(conn, |conn| {
        let target = queries::find(conn, target_id)?.or_not_found()?;
        let is_last_admin =
            target.role == Role::Admin && target.active && queries::count_active_admins(conn)? <= 1;
        let (action, details) = match change {
            AdminChange::Role { role, version } => {
                if role != Role::Admin && is_last_admin {
                    return Err(AppError::invalid(
                        "role",
                        "Rapport needs at least one active admin.",
                    ));
                }
                if queries::set_role(conn, target.id, role, version, now)? == 0 {
                    return Err(AppError::Conflict(CONFLICT.to_owned()));
                }
                (Action::RoleChanged, format!("{} → {}", target.role, role))
            }
            AdminChange::Deactivate => {
                if is_last_admin {
                    return Err(AppError::invalid(
                        FieldErrors::FORM,
                        "Rapport needs at least one active admin.",
                    ));
                }
                if actor.user_id == Some(target.id) {
                    return Err(AppError::invalid(
                        FieldErrors::FORM,
                        "You cannot deactivate your own account.",
                    ));
                }
                queries::set_active(conn, target.id, false, now)?;
                let ended = sessions::end_all_for_user(conn, target.id, None)?;
                (Action::UserDeactivated, format!("{ended} sessions ended"))
            }
            AdminChange::Activate => {
                queries::set_active(conn, target.id, true, now)?;
                (Action::UserActivated, String::new())
            }
            AdminChange::ResetSecondFactor => {
                queries::set_totp(conn, target.id, None, now)?;
                (Action::SecondFactorReset, String::new())
            }
            AdminChange::EndSessions => {
                let ended = sessions::end_all_for_user(conn, target.id, None)?;
                (Action::SessionsEnded, format!("{ended} sessions ended"))
            }
        };
        let details = (!details.is_empty()).then_some(details.as_str());
        audit::record(conn, now, actor, action, Some(&target.email), details)?;
        queries::find(conn, target.id)?.or_not_found()
    })
}

pub fn set_require_second_factor(
    conn: &mut Conn,
    now: NaiveDateTime,
    actor: &Actor,
    required: bool,
) -> Result<(), AppError> {
    db::write(conn, |conn| {
        app_settings::set(
            conn,
            app_settings::REQUIRE_SECOND_FACTOR,
            if required { "true" } else { "false" },
        )?;
        let details = format!(
            "require second factor: {}",
            if required { "on" } else { "off" }
        );
        audit::record(
            conn,
            now,
            actor,
            Action::SettingsChanged,
            None,
            Some(&details),
        )?;
        Ok(())
    })
}

/// Sets a password from the command line (`rapport user set-password`).
pub fn set_password(
    conn: &mut Conn,
    now: NaiveDateTime,
    actor: &Actor,
    email: &EmailAddress,
    password: &NewPassword,
) -> Result<User, AppError> {
    let hash = password.hash()?;
    db::write(conn, |conn| {
        let user = queries::find_by_email(conn, email.as_str())?.or_not_found()?;
        queries::set_password_hash(conn, user.id, &hash, now)?;
        sessions::end_all_for_user(conn, user.id, None)?;
        audit::record(
            conn,
            now,
            actor,
            Action::PasswordChanged,
            Some(&user.email),
            Some("set from the command line"),
        )?;
        Ok(user)
    })
}
