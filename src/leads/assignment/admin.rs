//! `/admin/assignment`: round-robin on or off, the reps of the default rotation, rotations
//! for the leads of one source or grade, and when the first-contact task falls due.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use actix_web_flash_messages::FlashMessage;
use askama::Template;
use diesel::prelude::*;

use super::{MAX_FIRST_CONTACT_HOURS, Scope, Settings};
use crate::audit::{self, Action};
use crate::auth::policy::Administer;
use crate::db::schema::{lead_rotations, scoring_grades, users};
use crate::db::{self, Conn};
use crate::error::{AppError, FieldErrors};
use crate::leads::model::Source;
use crate::web::AppState;
use crate::web::extract::Authorized;
use crate::web::page::{Page, redirect, render_with_status};

type Admin = Authorized<Administer>;

/// Mounted under `/admin`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/assignment", web::get().to(index))
        .route("/assignment", web::post().to(save_settings))
        .route("/assignment/rules", web::post().to(add_rule))
        .route("/assignment/rules/{id}/delete", web::post().to(delete_rule));
}

/// A posted form with repeated fields (the ticked reps), as name/value pairs.
type Pairs = Vec<(String, String)>;

fn first<'a>(pairs: &'a Pairs, name: &str) -> &'a str {
    pairs
        .iter()
        .find(|(key, _)| key == name)
        .map_or("", |(_, value)| value.trim())
}

fn ticked(pairs: &Pairs, name: &str) -> Result<Vec<i64>, String> {
    let mut ids = Vec::new();
    for (key, value) in pairs {
        if key == name {
            let id = value
                .trim()
                .parse::<i64>()
                .map_err(|_| "Choose reps from the list.".to_owned())?;
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
    }
    Ok(ids)
}

pub struct RepChoice {
    pub id: i64,
    pub name: String,
    pub role: String,
    pub checked: bool,
}

pub struct RuleRow {
    pub id: i64,
    pub scope: String,
    pub reps: String,
}

pub struct MatchChoice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

#[derive(Default)]
pub struct SettingsForm {
    pub enabled: bool,
    pub first_contact_hours: String,
    pub reps: Vec<i64>,
}

#[derive(Default)]
pub struct RuleForm {
    pub matching: String,
    pub reps: Vec<i64>,
}

#[derive(Template)]
#[template(path = "leads/admin_assignment.html")]
struct IndexPage {
    page: Page,
    settings_form: SettingsForm,
    settings_errors: FieldErrors,
    default_reps: Vec<RepChoice>,
    rules: Vec<RuleRow>,
    rule_errors: FieldErrors,
    rule_reps: Vec<RepChoice>,
    matches: Vec<MatchChoice>,
    eligible_count: usize,
}

struct Loaded {
    settings: Settings,
    default_members: Vec<i64>,
    rules: Vec<RuleRow>,
    eligible: Vec<(i64, String, String)>,
    grades: Vec<String>,
}

fn load(conn: &mut Conn, now: chrono::NaiveDateTime) -> Result<Loaded, AppError> {
    let settings = super::settings(conn)?;
    let default_id = super::default_rotation(conn, now)?;
    let default_members = super::members(conn, default_id)?;
    let mut rules = Vec::new();
    for rotation in super::rotations(conn)? {
        if rotation.scope == Scope::Default {
            continue;
        }
        let member_ids = super::members(conn, rotation.id)?;
        let names: Vec<(String, bool)> = users::table
            .filter(users::id.eq_any(&member_ids))
            .order((users::display_name.asc(), users::id.asc()))
            .select((users::display_name, users::active))
            .load(conn)?;
        rules.push(RuleRow {
            id: rotation.id,
            scope: rotation.scope.describe(),
            reps: names
                .into_iter()
                .map(|(name, active)| {
                    if active {
                        name
                    } else {
                        format!("{name} (deactivated)")
                    }
                })
                .collect::<Vec<_>>()
                .join(", "),
        });
    }
    let grades = scoring_grades::table
        .order((scoring_grades::min_points.desc(), scoring_grades::id.asc()))
        .select(scoring_grades::name)
        .load(conn)?;
    Ok(Loaded {
        settings,
        default_members,
        rules,
        eligible: super::eligible_users(conn)?,
        grades,
    })
}

fn rep_choices(eligible: &[(i64, String, String)], checked: &[i64]) -> Vec<RepChoice> {
    eligible
        .iter()
        .map(|(id, name, role)| RepChoice {
            id: *id,
            name: name.clone(),
            role: if role == "admin" { "Admin" } else { "Sales" }.to_owned(),
            checked: checked.contains(id),
        })
        .collect()
}

fn match_choices(grades: &[String], selected: &str) -> Vec<MatchChoice> {
    Source::ALL
        .iter()
        .map(|source| {
            (
                format!("source:{}", source.as_str()),
                format!("Source is {}", source.label()),
            )
        })
        .chain(
            grades
                .iter()
                .map(|grade| (format!("grade:{grade}"), format!("Grade is {grade}"))),
        )
        .map(|(value, label)| MatchChoice {
            selected: value == selected,
            value,
            label,
        })
        .collect()
}

async fn page(
    state: &AppState,
    admin: &Admin,
    settings: Option<(SettingsForm, FieldErrors)>,
    rule: Option<(RuleForm, FieldErrors)>,
) -> Result<HttpResponse, AppError> {
    let now = state.now();
    let loaded = db::run(&state.pool, move |conn| load(conn, now)).await?;
    let failed = settings.as_ref().is_some_and(|(_, e)| !e.is_empty())
        || rule.as_ref().is_some_and(|(_, e)| !e.is_empty());
    let (settings_form, settings_errors) = settings.unwrap_or_else(|| {
        (
            SettingsForm {
                enabled: loaded.settings.enabled,
                first_contact_hours: loaded.settings.first_contact_hours.to_string(),
                reps: loaded.default_members.clone(),
            },
            FieldErrors::new(),
        )
    });
    let (rule_form, rule_errors) = rule.unwrap_or_default();
    render_with_status(
        if failed {
            StatusCode::UNPROCESSABLE_ENTITY
        } else {
            StatusCode::OK
        },
        &IndexPage {
            page: admin.page("Lead assignment"),
            default_reps: rep_choices(&loaded.eligible, &settings_form.reps),
            rule_reps: rep_choices(&loaded.eligible, &rule_form.reps),
            matches: match_choices(&loaded.grades, &rule_form.matching),
            eligible_count: loaded.eligible.len(),
            settings_form,
            settings_errors,
            rules: loaded.rules,
            rule_errors,
        },
    )
}

async fn index(state: web::Data<AppState>, admin: Admin) -> Result<HttpResponse, AppError> {
    page(&state, &admin, None, None).await
}

/// The reps must be active sales reps or admins.
fn check_reps(conn: &mut Conn, reps: &[i64]) -> QueryResult<bool> {
    let eligible: Vec<i64> = super::eligible_users(conn)?
        .into_iter()
        .map(|(id, _, _)| id)
        .collect();
    Ok(reps.iter().all(|id| eligible.contains(id)))
}

async fn save_settings(
    state: web::Data<AppState>,
    admin: Admin,
    form: web::Form<Pairs>,
) -> Result<HttpResponse, AppError> {
    let pairs = form.into_inner();
    let mut errors = FieldErrors::new();
    let enabled = !first(&pairs, "enabled").is_empty();
    let hours_text = first(&pairs, "first_contact_hours").to_owned();
    let hours = errors.take(
        "first_contact_hours",
        match hours_text.parse::<i32>() {
            Ok(hours) if (0..=MAX_FIRST_CONTACT_HOURS).contains(&hours) => Ok(hours),
            _ => Err(format!(
                "Enter a whole number of hours from 0 to {MAX_FIRST_CONTACT_HOURS}, like 4."
            )),
        },
    );
    let reps = errors.take("reps", ticked(&pairs, "reps"));
    let form = SettingsForm {
        enabled,
        first_contact_hours: hours_text,
        reps: reps.clone().unwrap_or_default(),
    };
    let (Some(hours), Some(reps)) = (hours, reps) else {
        return page(&state, &admin, Some((form, errors)), None).await;
    };
    let (now, actor) = (state.now(), admin.actor());
    let saved = db::run(&state.pool, move |conn| {
        db::write(conn, |conn| {
            if !check_reps(conn, &reps)? {
                return Ok(Err(FieldErrors::single(
                    "reps",
                    "Choose active sales reps or admins.",
                )));
            }
            if enabled && reps.is_empty() && super::rotations(conn)?.len() <= 1 {
                return Ok(Err(FieldErrors::single(
                    "reps",
                    "Choose at least one rep to turn round-robin on.",
                )));
            }
            super::save_settings(
                conn,
                Settings {
                    enabled,
                    first_contact_hours: hours,
                },
                now,
            )?;
            let default_id = super::default_rotation(conn, now)?;
            super::set_members(conn, default_id, &reps)?;
            audit::record(
                conn,
                now,
                &actor,
                Action::SettingsChanged,
                Some("lead assignment"),
                Some(&format!(
                    "round-robin {}; first contact within {hours} hours; default rotation: {}",
                    if enabled { "on" } else { "off" },
                    reps.iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(", ")
                )),
            )?;
            Ok::<_, AppError>(Ok(()))
        })
    })
    .await?;
    match saved {
        Ok(()) => {
            FlashMessage::success("Assignment settings saved.").send();
            Ok(redirect("/admin/assignment"))
        }
        Err(errors) => page(&state, &admin, Some((form, errors)), None).await,
    }
}

fn parse_match(raw: &str) -> Result<Scope, String> {
    match raw.split_once(':') {
        Some(("source", value)) => Source::parse(value).map(Scope::Source),
        Some(("grade", value)) if !value.trim().is_empty() => {
            Ok(Scope::Grade(value.trim().to_owned()))
        }
        _ => Err("Choose which leads this rotation is for.".to_owned()),
    }
}

async fn add_rule(
    state: web::Data<AppState>,
    admin: Admin,
    form: web::Form<Pairs>,
) -> Result<HttpResponse, AppError> {
    let pairs = form.into_inner();
    let mut errors = FieldErrors::new();
    let matching = first(&pairs, "match").to_owned();
    let scope = errors.take("match", parse_match(&matching));
    let reps = errors.take(
        "reps",
        ticked(&pairs, "reps").and_then(|reps| {
            if reps.is_empty() {
                Err("Choose at least one rep for this rotation.".to_owned())
            } else {
                Ok(reps)
            }
        }),
    );
    let form = RuleForm {
        matching,
        reps: reps.clone().unwrap_or_default(),
    };
    let (Some(scope), Some(reps)) = (scope, reps) else {
        return page(&state, &admin, None, Some((form, errors))).await;
    };
    let (now, actor) = (state.now(), admin.actor());
    let saved = db::run(&state.pool, move |conn| {
        db::write(conn, |conn| {
            if !check_reps(conn, &reps)? {
                return Ok(Err(FieldErrors::single(
                    "reps",
                    "Choose active sales reps or admins.",
                )));
            }
            let (field, value) = scope.columns();
            let exists: i64 = lead_rotations::table
                .filter(lead_rotations::match_field.eq(field))
                .filter(lead_rotations::match_value.eq(&value))
                .count()
                .get_result(conn)?;
            if exists > 0 {
                return Ok(Err(FieldErrors::single(
                    "match",
                    "There is already a rotation for these leads: delete it first.",
                )));
            }
            let position: Option<i32> = lead_rotations::table
                .select(diesel::dsl::max(lead_rotations::position))
                .first(conn)?;
            let id: i64 = diesel::insert_into(lead_rotations::table)
                .values((
                    lead_rotations::match_field.eq(field),
                    lead_rotations::match_value.eq(&value),
                    lead_rotations::position.eq(position.unwrap_or(0) + 1),
                    lead_rotations::created_at.eq(now),
                    lead_rotations::updated_at.eq(now),
                ))
                .returning(lead_rotations::id)
                .get_result(conn)?;
            super::set_members(conn, id, &reps)?;
            audit::record(
                conn,
                now,
                &actor,
                Action::SettingsChanged,
                Some("lead assignment"),
                Some(&format!("rotation added: {}", scope.describe())),
            )?;
            Ok::<_, AppError>(Ok(()))
        })
    })
    .await?;
    match saved {
        Ok(()) => {
            FlashMessage::success("Rotation added.").send();
            Ok(redirect("/admin/assignment"))
        }
        Err(errors) => page(&state, &admin, None, Some((form, errors))).await,
    }
}

async fn delete_rule(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let (now, actor) = (state.now(), admin.actor());
    db::run(&state.pool, move |conn| {
        db::write(conn, |conn| {
            let deleted = diesel::delete(
                lead_rotations::table
                    .filter(lead_rotations::id.eq(id))
                    .filter(lead_rotations::match_field.is_not_null()),
            )
            .execute(conn)?;
            if deleted == 0 {
                return Err(AppError::NotFound);
            }
            audit::record(
                conn,
                now,
                &actor,
                Action::SettingsChanged,
                Some("lead assignment"),
                Some(&format!("rotation {id} deleted")),
            )?;
            Ok(())
        })
    })
    .await?;
    FlashMessage::success("Rotation deleted.").send();
    Ok(redirect("/admin/assignment"))
}
