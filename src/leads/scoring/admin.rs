//! `/admin/scoring`: the rules, their groups, the grades and the total cap, each change
//! previewed before it is saved (how many leads a rule matches, how the grade counts would
//! move), and the progress of the rescoring that a saved change starts.

use std::collections::BTreeMap;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use actix_web_flash_messages::FlashMessage;
use askama::Template;
use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::engine::{self, Counting, Field, Operator, RuleSet};
use super::rules::{self, GradesForm, GroupForm, Rule, RuleForm};
use super::{Inputs, progress};
use crate::audit::{self, Action, Actor};
use crate::auth::policy::Administer;
use crate::db::schema::{leads, scoring_groups, scoring_rules};
use crate::db::{self, Conn};
use crate::error::{AppError, FieldErrors};
use crate::leads::model::Lead;
use crate::web::AppState;
use crate::web::extract::Authorized;
use crate::web::page::{Page, redirect, render_with_status};

type Admin = Authorized<Administer>;

/// Mounted under `/admin`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/scoring", web::get().to(index))
        .route("/scoring/rules", web::post().to(add_rule))
        .route("/scoring/rules/{id}/edit", web::get().to(edit_rule))
        .route("/scoring/rules/{id}", web::post().to(update_rule))
        .route("/scoring/rules/{id}/delete", web::post().to(delete_rule))
        .route("/scoring/groups", web::post().to(add_group))
        .route("/scoring/groups/{id}/delete", web::post().to(delete_group))
        .route("/scoring/grades", web::post().to(save_grades))
        .route("/scoring/progress", web::get().to(progress_fragment));
}

struct RuleRow {
    id: i64,
    kind: &'static str,
    description: String,
    points: String,
    details: String,
    group: String,
}

struct GroupRow {
    id: i64,
    name: String,
    cap: String,
}

struct Choice {
    value: String,
    label: String,
}

/// What a proposed change would do, over every lead.
pub struct Preview {
    pub matching: usize,
    pub leads: usize,
    /// (grade, leads now, leads after)
    pub grades: Vec<(String, usize, usize)>,
}

#[derive(Template)]
#[template(path = "leads/admin_scoring.html")]
struct IndexPage {
    page: Page,
    rules: Vec<RuleRow>,
    groups: Vec<GroupRow>,
    fields: Vec<Choice>,
    operators: Vec<Choice>,
    rule_form: RuleForm,
    rule_errors: FieldErrors,
    group_form: GroupForm,
    group_errors: FieldErrors,
    grades_form: GradesForm,
    grades_errors: FieldErrors,
    preview: Option<Preview>,
    preview_of: &'static str,
    /// The rule the rule forms edit (None: they add a rule).
    editing: Option<i64>,
    done: i64,
    total: i64,
}

impl IndexPage {
    /// Whether the form for rules of `kind` edits a stored rule.
    fn edits(&self, kind: &str) -> bool {
        self.editing.is_some() && self.rule_form.kind == kind
    }

    /// Where the form for rules of `kind` posts.
    fn rule_action(&self, kind: &str) -> String {
        match self.editing {
            Some(id) if self.rule_form.kind == kind => format!("/admin/scoring/rules/{id}"),
            _ => "/admin/scoring/rules".to_owned(),
        }
    }
}

#[derive(Default)]
struct Forms {
    rule: Option<(RuleForm, FieldErrors)>,
    group: Option<(GroupForm, FieldErrors)>,
    grades: Option<(GradesForm, FieldErrors)>,
    preview: Option<(Preview, &'static str)>,
    editing: Option<i64>,
}

async fn page(state: &AppState, admin: &Admin, forms: Forms) -> Result<HttpResponse, AppError> {
    let (rows, groups, scale, cap, (done, total)) = db::run(&state.pool, |conn| {
        Ok((
            rules::rows(conn)?,
            rules::groups(conn)?,
            rules::grades(conn)?,
            rules::total_cap(conn)?,
            progress(conn)?,
        ))
    })
    .await?;
    let group_names: BTreeMap<i64, String> = groups
        .iter()
        .map(|group| (group.id, group.name.clone()))
        .collect();
    let rule_rows = rows
        .iter()
        .filter_map(|row| {
            let group = row
                .group_id
                .and_then(|id| group_names.get(&id).cloned())
                .unwrap_or_default();
            Some(match row.to_rule()? {
                Rule::Attribute(rule) => RuleRow {
                    id: row.id,
                    kind: "Attribute",
                    description: rule.describe(),
                    points: rule.points.to_string(),
                    details: String::new(),
                    group,
                },
                Rule::Behaviour(rule) => RuleRow {
                    id: row.id,
                    kind: "Behaviour",
                    description: event_and_filter(&rule.describe()),
                    points: rule.points.to_string(),
                    details: [
                        Some(match rule.counting {
                            Counting::Once => "once".to_owned(),
                            Counting::EachOccurrence => "each occurrence".to_owned(),
                        }),
                        rule.cap
                            .map(|cap| format!("at most {}", cap.unsigned_label())),
                        rule.half_life_days
                            .map(|days| format!("half-life {days} days")),
                    ]
                    .into_iter()
                    .flatten()
                    .collect::<Vec<_>>()
                    .join(", "),
                    group,
                },
            })
        })
        .collect();
    let failed = forms.rule.as_ref().is_some_and(|(_, e)| !e.is_empty())
        || forms.group.as_ref().is_some_and(|(_, e)| !e.is_empty())
        || forms.grades.as_ref().is_some_and(|(_, e)| !e.is_empty());
    let (rule_form, rule_errors) = forms.rule.unwrap_or_default();
    let (group_form, group_errors) = forms.group.unwrap_or_default();
    let (grades_form, grades_errors) = forms
        .grades
        .unwrap_or_else(|| (GradesForm::of(&scale, cap), FieldErrors::new()));
    let (preview, preview_of) = match forms.preview {
        Some((preview, of)) => (Some(preview), of),
        None => (None, ""),
    };
    render_with_status(
        if failed {
            StatusCode::UNPROCESSABLE_ENTITY
        } else {
            StatusCode::OK
        },
        &IndexPage {
            page: admin.page("Lead scoring"),
            rules: rule_rows,
            groups: groups
                .iter()
                .map(|group| GroupRow {
                    id: group.id,
                    name: group.name.clone(),
                    cap: group
                        .cap
                        .map(|cap| cap.unsigned_label())
                        .unwrap_or_default(),
                })
                .collect(),
            fields: Field::ALL
                .iter()
                .map(|field| Choice {
                    value: field.key().to_owned(),
                    label: field.label().to_owned(),
                })
                .collect(),
            operators: Operator::ALL
                .iter()
                .map(|operator| Choice {
                    value: operator.key().to_owned(),
                    label: operator.label().to_owned(),
                })
                .collect(),
            rule_form,
            rule_errors,
            group_form,
            group_errors,
            grades_form,
            grades_errors,
            preview,
            preview_of,
            editing: forms.editing,
            done,
            total,
        },
    )
}

/// "page_view where path starts with /pricing" out of a behaviour rule's full description:
/// the table shows how it counts (once or each time, cap, half-life) in a column of its own.
fn event_and_filter(description: &str) -> String {
    let end = [", once", ", each time"]
        .iter()
        .filter_map(|marker| description.rfind(marker))
        .max()
        .unwrap_or(description.len());
    description[..end].to_owned()
}

async fn index(state: web::Data<AppState>, admin: Admin) -> Result<HttpResponse, AppError> {
    page(&state, &admin, Forms::default()).await
}

#[derive(Template)]
#[template(path = "leads/_scoring_progress.html")]
struct ProgressFragment {
    done: i64,
    total: i64,
}

/// The progress bar alone, polled by the admin page while a rescoring runs.
async fn progress_fragment(
    state: web::Data<AppState>,
    _admin: Admin,
) -> Result<HttpResponse, AppError> {
    let (done, total) = db::run(&state.pool, |conn| Ok(progress(conn)?)).await?;
    render_with_status(StatusCode::OK, &ProgressFragment { done, total })
}

/// Scores every lead under `current` and under `proposed`, in batches; `matches` says
/// whether the proposed breakdown counts the rule being previewed.
fn preview(
    conn: &mut Conn,
    current: &RuleSet,
    proposed: &RuleSet,
    now: NaiveDateTime,
    matches: impl Fn(&engine::Breakdown) -> bool,
) -> QueryResult<Preview> {
    let mut grade_counts: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for grade in proposed
        .grades
        .grades()
        .iter()
        .chain(current.grades.grades())
    {
        grade_counts.entry(grade.name.clone()).or_default();
    }
    grade_counts
        .entry(proposed.grades.lowest().to_owned())
        .or_default();
    grade_counts
        .entry(current.grades.lowest().to_owned())
        .or_default();
    let (mut matching, mut count, mut after_id) = (0, 0, 0_i64);
    loop {
        let batch: Vec<Lead> = leads::table
            .filter(leads::id.gt(after_id))
            .order(leads::id)
            .limit(super::RESCORE_BATCH)
            .select(Lead::as_select())
            .load(conn)?;
        let Some(last) = batch.last() else { break };
        after_id = last.id;
        let ids: Vec<i64> = batch.iter().map(|lead| lead.id).collect();
        // Events of both rule sets: the proposed one may score an event the current ignores.
        let mut union = proposed.clone();
        union.behaviour.extend(current.behaviour.iter().cloned());
        let inputs = Inputs::load(conn, &ids, &union)?;
        for lead in &batch {
            let before = inputs.breakdown(current, lead, now);
            let after = inputs.breakdown(proposed, lead, now);
            grade_counts.entry(before.grade.clone()).or_default().0 += 1;
            grade_counts.entry(after.grade.clone()).or_default().1 += 1;
            if matches(&after) {
                matching += 1;
            }
            count += 1;
        }
    }
    let mut grades: Vec<(String, usize, usize)> = grade_counts
        .into_iter()
        .map(|(name, (before, after))| (name, before, after))
        .collect();
    let order = |name: &str| {
        proposed
            .grades
            .grades()
            .iter()
            .position(|grade| grade.name == name)
            .unwrap_or(usize::MAX)
    };
    grades.sort_by_key(|(name, _, _)| order(name));
    Ok(Preview {
        matching,
        leads: count,
        grades,
    })
}

fn record(conn: &mut Conn, now: NaiveDateTime, actor: &Actor, details: &str) -> QueryResult<()> {
    audit::record(
        conn,
        now,
        actor,
        Action::SettingsChanged,
        Some("lead scoring"),
        Some(details),
    )
}

/// After a saved change: rescoring starts in the background.
fn saved(state: &AppState, message: &str) -> HttpResponse {
    state.email_worker.wake();
    FlashMessage::success(format!("{message} Every lead is being rescored.")).send();
    redirect("/admin/scoring")
}

async fn add_rule(
    state: web::Data<AppState>,
    admin: Admin,
    form: web::Form<RuleForm>,
) -> Result<HttpResponse, AppError> {
    let form = form.into_inner();
    let groups = db::run(&state.pool, |conn| Ok(rules::groups(conn)?)).await?;
    let rule = match form.parse(&groups) {
        Ok(rule) => rule,
        Err(errors) => {
            let forms = Forms {
                rule: Some((form, errors)),
                ..Forms::default()
            };
            return page(&state, &admin, forms).await;
        }
    };
    let (now, actor) = (state.now(), admin.actor());
    if form.intent == "preview" {
        let shown = db::run(&state.pool, move |conn| {
            Ok(preview_rule(conn, rule, None, now)?)
        })
        .await?;
        let forms = Forms {
            rule: Some((form, FieldErrors::new())),
            preview: Some((shown, "rule")),
            ..Forms::default()
        };
        return page(&state, &admin, forms).await;
    }
    db::run(&state.pool, move |conn| {
        db::write(conn, |conn| {
            let id = rules::insert(conn, &rule, now)?;
            let description = match &rule {
                Rule::Attribute(rule) => rule.describe(),
                Rule::Behaviour(rule) => rule.describe(),
            };
            rules::bump_version(conn)?;
            record(
                conn,
                now,
                &actor,
                &format!("rule {id} added: {description}"),
            )?;
            Ok::<_, AppError>(())
        })
    })
    .await?;
    Ok(saved(&state, "Rule added."))
}

/// What saving `rule` would do, in place of the stored rule `replacing` or as a new one.
fn preview_rule(
    conn: &mut Conn,
    rule: Rule,
    replacing: Option<i64>,
    now: NaiveDateTime,
) -> QueryResult<Preview> {
    let current = rules::load(conn)?;
    let mut proposed = current.clone();
    if let Some(id) = replacing {
        proposed.attribute.retain(|rule| rule.id != id);
        proposed.behaviour.retain(|rule| rule.id != id);
    }
    // The previewed rule has id 0: its line in a breakdown is the one with that id.
    let kind = match rule {
        Rule::Attribute(rule) => {
            proposed.attribute.push(rule);
            engine::LineKind::Attribute
        }
        Rule::Behaviour(rule) => {
            proposed.behaviour.push(rule);
            engine::LineKind::Behaviour
        }
    };
    preview(conn, &current, &proposed, now, |breakdown| {
        breakdown
            .lines
            .iter()
            .any(|line| line.kind == kind && line.rule_id == Some(0))
    })
}

async fn edit_rule(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let row = db::run(&state.pool, move |conn| Ok(rules::row(conn, id)?))
        .await?
        .ok_or(AppError::NotFound)?;
    let forms = Forms {
        rule: Some((RuleForm::of(&row), FieldErrors::new())),
        editing: Some(id),
        ..Forms::default()
    };
    page(&state, &admin, forms).await
}

async fn update_rule(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<i64>,
    form: web::Form<RuleForm>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let form = form.into_inner();
    let (groups, exists) = db::run(&state.pool, move |conn| {
        Ok((rules::groups(conn)?, rules::row(conn, id)?.is_some()))
    })
    .await?;
    if !exists {
        return Err(AppError::NotFound);
    }
    let rule = match form.parse(&groups) {
        Ok(rule) => rule,
        Err(errors) => {
            let forms = Forms {
                rule: Some((form, errors)),
                editing: Some(id),
                ..Forms::default()
            };
            return page(&state, &admin, forms).await;
        }
    };
    let (now, actor) = (state.now(), admin.actor());
    if form.intent == "preview" {
        let shown = db::run(&state.pool, move |conn| {
            Ok(preview_rule(conn, rule, Some(id), now)?)
        })
        .await?;
        let forms = Forms {
            rule: Some((form, FieldErrors::new())),
            preview: Some((shown, "rule")),
            editing: Some(id),
            ..Forms::default()
        };
        return page(&state, &admin, forms).await;
    }
    db::run(&state.pool, move |conn| {
        db::write(conn, |conn| {
            if rules::update(conn, id, &rule, now)? == 0 {
                return Err(AppError::NotFound);
            }
            let description = match &rule {
                Rule::Attribute(rule) => rule.describe(),
                Rule::Behaviour(rule) => rule.describe(),
            };
            rules::bump_version(conn)?;
            record(
                conn,
                now,
                &actor,
                &format!("rule {id} changed: {description}"),
            )?;
            Ok(())
        })
    })
    .await?;
    Ok(saved(&state, "Rule saved."))
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
            let deleted = diesel::delete(scoring_rules::table.find(id)).execute(conn)?;
            if deleted == 0 {
                return Err(AppError::NotFound);
            }
            rules::bump_version(conn)?;
            record(conn, now, &actor, &format!("rule {id} deleted"))?;
            Ok(())
        })
    })
    .await?;
    Ok(saved(&state, "Rule deleted."))
}

async fn add_group(
    state: web::Data<AppState>,
    admin: Admin,
    form: web::Form<GroupForm>,
) -> Result<HttpResponse, AppError> {
    let form = form.into_inner();
    let groups = db::run(&state.pool, |conn| Ok(rules::groups(conn)?)).await?;
    let (name, cap) = match form.parse(&groups) {
        Ok(parsed) => parsed,
        Err(errors) => {
            let forms = Forms {
                group: Some((form, errors)),
                ..Forms::default()
            };
            return page(&state, &admin, forms).await;
        }
    };
    let (now, actor) = (state.now(), admin.actor());
    db::run(&state.pool, move |conn| {
        db::write(conn, |conn| {
            rules::insert_group(conn, &name, cap, now)?;
            rules::bump_version(conn)?;
            record(conn, now, &actor, &format!("group {name} added"))?;
            Ok::<_, AppError>(())
        })
    })
    .await?;
    Ok(saved(&state, "Group added."))
}

async fn delete_group(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let (now, actor) = (state.now(), admin.actor());
    db::run(&state.pool, move |conn| {
        db::write(conn, |conn| {
            // Its rules stay, ungrouped (the foreign key sets their group to NULL).
            let deleted = diesel::delete(scoring_groups::table.find(id)).execute(conn)?;
            if deleted == 0 {
                return Err(AppError::NotFound);
            }
            rules::bump_version(conn)?;
            record(conn, now, &actor, &format!("group {id} deleted"))?;
            Ok(())
        })
    })
    .await?;
    Ok(saved(
        &state,
        "Group deleted; its rules are kept without a group.",
    ))
}

async fn save_grades(
    state: web::Data<AppState>,
    admin: Admin,
    form: web::Form<GradesForm>,
) -> Result<HttpResponse, AppError> {
    let form = form.into_inner();
    let (scale, cap) = match form.parse() {
        Ok(parsed) => parsed,
        Err(errors) => {
            let forms = Forms {
                grades: Some((form, errors)),
                ..Forms::default()
            };
            return page(&state, &admin, forms).await;
        }
    };
    let (now, actor) = (state.now(), admin.actor());
    if form.intent == "preview" {
        let shown = db::run(&state.pool, move |conn| {
            let current = rules::load(conn)?;
            let proposed = RuleSet {
                grades: scale,
                total_cap: cap,
                ..current.clone()
            };
            let capped = |breakdown: &engine::Breakdown| {
                breakdown
                    .lines
                    .iter()
                    .any(|line| line.kind == engine::LineKind::TotalCap)
            };
            Ok(preview(conn, &current, &proposed, now, capped)?)
        })
        .await?;
        let forms = Forms {
            grades: Some((form, FieldErrors::new())),
            preview: Some((shown, "grades")),
            ..Forms::default()
        };
        return page(&state, &admin, forms).await;
    }
    db::run(&state.pool, move |conn| {
        db::write(conn, |conn| {
            rules::store_grades(conn, &scale, cap)?;
            rules::bump_version(conn)?;
            record(conn, now, &actor, "grades and total cap changed")?;
            Ok::<_, AppError>(())
        })
    })
    .await?;
    Ok(saved(&state, "Grades saved."))
}

#[cfg(test)]
mod tests {
    use super::event_and_filter;

    #[test]
    fn the_rules_table_shows_a_behaviour_rule_without_its_counting() {
        assert_eq!(
            event_and_filter(
                "page_view where path starts with /pricing, each time, at most 12, half-life 7 days"
            ),
            "page_view where path starts with /pricing"
        );
        assert_eq!(event_and_filter("demo_requested, once"), "demo_requested");
        assert_eq!(event_and_filter("no counting"), "no counting");
    }
}
