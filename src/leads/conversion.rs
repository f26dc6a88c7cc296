//! Converting a lead: `/leads/{id}/convert` creates a contact (or links the one with the
//! lead's email), a company (or links the one with its web domain or name) and optionally a
//! deal, in one transaction. The lead's timeline moves onto the contact and company, its
//! first-contact task follows the contact, and the lead becomes converted with links to
//! what it became.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use actix_web_flash_messages::FlashMessage;
use askama::Template;
use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Deserialize;

use super::model::{Lead, Source, Status};
use super::queries;
use crate::audit::{self, Action, Actor};
use crate::auth::model::User;
use crate::auth::policy::{Permission, ViewCustomers, record_rights};
use crate::contacts::company::model::{CompanyInput, normalise_domain, sort_name};
use crate::contacts::contact::model::{ContactInput, Stage, full_name};
use crate::contacts::timeline::{self, Kind, NewEntry};
use crate::db::schema::{
    companies, contact_emails, contacts, lead_events, leads, tasks, timeline_entries,
};
use crate::db::{self, Conn};
use crate::error::{AppError, FieldErrors, OrNotFound};
use crate::pipeline::deal::model::{COMMON_CURRENCIES, DEFAULT_CURRENCY, DealForm, DealInput};
use crate::pipeline::model as pipeline_model;
use crate::search;
use crate::web::AppState;
use crate::web::extract::Authorized;
use crate::web::extract::denied;
use crate::web::page::{Page, redirect, render_with_status};

type Viewer = Authorized<ViewCustomers>;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/leads/{id}/convert", web::get().to(show))
        .route("/leads/{id}/convert", web::post().to(convert));
}

/// Mailbox providers: an address there says nothing about the person's company.
const FREE_MAIL_DOMAINS: [&str; 24] = [
    "gmail.com",
    "googlemail.com",
    "yahoo.com",
    "yahoo.co.uk",
    "yahoo.fr",
    "hotmail.com",
    "hotmail.co.uk",
    "hotmail.fr",
    "outlook.com",
    "live.com",
    "msn.com",
    "icloud.com",
    "me.com",
    "aol.com",
    "gmx.de",
    "gmx.net",
    "web.de",
    "proton.me",
    "protonmail.com",
    "yandex.ru",
    "mail.ru",
    "qq.com",
    "163.com",
    "orange.fr",
];

/// The web domains that say which company the lead works for: its website's, then its
/// email's unless that is a mailbox provider.
pub fn company_domains(lead: &Lead) -> Vec<String> {
    let mut domains = Vec::new();
    if let Some(website) = &lead.website
        && let Ok(Some(domain)) = normalise_domain(website)
    {
        domains.push(domain);
    }
    if let Some((_, domain)) = lead
        .email
        .as_deref()
        .and_then(|email| email.rsplit_once('@'))
        && let Ok(Some(domain)) = normalise_domain(domain)
        && !FREE_MAIL_DOMAINS.contains(&domain.as_str())
        && !domains.contains(&domain)
    {
        domains.push(domain);
    }
    domains
}

#[derive(Debug, Clone)]
pub struct ContactMatch {
    pub id: i64,
    pub name: String,
    pub company_id: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct CompanyMatch {
    pub id: i64,
    pub name: String,
    /// "web domain example.com" or "name".
    pub matched_by: String,
}

/// The existing contact with the lead's email, if any (not archived ones).
pub fn matching_contact(conn: &mut Conn, lead: &Lead) -> QueryResult<Option<ContactMatch>> {
    let Some(email) = &lead.email else {
        return Ok(None);
    };
    let found: Option<(i64, String, String, Option<i64>)> = contact_emails::table
        .inner_join(contacts::table.on(contacts::id.eq(contact_emails::contact_id)))
        .filter(contact_emails::email.eq(email.to_lowercase()))
        .filter(contacts::archived_at.is_null())
        .order(contacts::id.asc())
        .select((
            contacts::id,
            contacts::first_name,
            contacts::last_name,
            contacts::company_id,
        ))
        .first(conn)
        .optional()?;
    Ok(found.map(|(id, first, last, company_id)| ContactMatch {
        id,
        name: full_name(&first, &last),
        company_id,
    }))
}

/// The existing company with the lead's web domain, else with its company name.
pub fn matching_company(conn: &mut Conn, lead: &Lead) -> QueryResult<Option<CompanyMatch>> {
    for domain in company_domains(lead) {
        let found: Option<(i64, String)> = companies::table
            .filter(companies::domain.eq(&domain))
            .filter(companies::archived_at.is_null())
            .order(companies::id.asc())
            .select((companies::id, companies::name))
            .first(conn)
            .optional()?;
        if let Some((id, name)) = found {
            return Ok(Some(CompanyMatch {
                id,
                name,
                matched_by: format!("web domain {domain}"),
            }));
        }
    }
    if let Some(name) = lead.company_name.as_deref().filter(|name| !name.is_empty()) {
        let found: Option<(i64, String)> = companies::table
            .filter(companies::sort_name.eq(sort_name(name)))
            .filter(companies::archived_at.is_null())
            .order(companies::id.asc())
            .select((companies::id, companies::name))
            .first(conn)
            .optional()?;
        if let Some((id, name)) = found {
            return Ok(Some(CompanyMatch {
                id,
                name,
                matched_by: "name".to_owned(),
            }));
        }
    }
    Ok(None)
}

/// Sales owners of the lead and admins may convert it.
fn may_convert(user: &User, lead: &Lead) -> bool {
    user.role.can(Permission::CreateCustomers) && record_rights(user, lead.owner_id).edit
}

/// The conversion form as posted.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ConvertForm {
    #[serde(default)]
    pub contact: String,
    #[serde(default)]
    pub company: String,
    #[serde(default)]
    pub company_name: String,
    #[serde(default)]
    pub create_deal: String,
    #[serde(default)]
    pub deal_title: String,
    #[serde(default)]
    pub deal_value: String,
    #[serde(default)]
    pub deal_currency: String,
    #[serde(default)]
    pub pipeline: String,
    #[serde(default)]
    pub stage: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContactChoice {
    New,
    Existing,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompanyChoice {
    New,
    Existing,
    None,
}

/// A valid conversion form; the deal has no company or contact yet (they are made first).
#[derive(Debug, Clone)]
pub struct Conversion {
    pub contact: ContactChoice,
    pub company: CompanyChoice,
    pub company_name: Option<String>,
    pub deal: Option<DealInput>,
}

impl ConvertForm {
    /// What the form shows first: existing records where they match, the lead's company.
    fn initial(
        lead: &Lead,
        contact: Option<&ContactMatch>,
        company: Option<&CompanyMatch>,
    ) -> Self {
        let company_choice = if company.is_some() {
            "existing"
        } else if lead.company_name.is_some() {
            "new"
        } else {
            "none"
        };
        let title_base = company
            .map(|company| company.name.clone())
            .or_else(|| lead.company_name.clone())
            .unwrap_or_else(|| lead.name());
        Self {
            contact: if contact.is_some() { "existing" } else { "new" }.to_owned(),
            company: company_choice.to_owned(),
            company_name: lead.company_name.clone().unwrap_or_default(),
            create_deal: String::new(),
            deal_title: format!("{title_base} deal"),
            deal_value: String::new(),
            deal_currency: DEFAULT_CURRENCY.to_owned(),
            pipeline: String::new(),
            stage: String::new(),
        }
    }

    /// Checks the form's shape; `owner_id` becomes the deal's owner.
    pub fn parse(&self, lead: &Lead, owner_id: i64) -> Result<Conversion, FieldErrors> {
        let mut errors = FieldErrors::new();
        let contact = match self.contact.trim() {
            "existing" => ContactChoice::Existing,
            "new" | "" => ContactChoice::New,
            _ => {
                errors.add("contact", "Choose a new or the existing contact.");
                ContactChoice::New
            }
        };
        let company = match self.company.trim() {
            "existing" => CompanyChoice::Existing,
            "new" => CompanyChoice::New,
            "none" | "" => CompanyChoice::None,
            _ => {
                errors.add("company", "Choose a new, the existing or no company.");
                CompanyChoice::None
            }
        };
        let company_name = self.company_name.trim();
        if company == CompanyChoice::New {
            if company_name.is_empty() {
                errors.add("company_name", "Enter the new company's name.");
            } else if company_name.chars().count()
                > crate::contacts::company::model::MAX_NAME_LENGTH
                || company_name.chars().any(char::is_control)
            {
                errors.add(
                    "company_name",
                    "Enter the company's name on one short line.",
                );
            }
        }
        let deal = if self.create_deal.trim().is_empty() {
            None
        } else {
            let form = DealForm {
                title: self.deal_title.clone(),
                value: self.deal_value.clone(),
                currency: self.deal_currency.clone(),
                expected_close_on: String::new(),
                owner: owner_id.to_string(),
                company: String::new(),
                contacts: Vec::new(),
                pipeline: self.pipeline.clone(),
                stage: self.stage.clone(),
                source: Source::label_of(&lead.source).to_owned(),
            };
            match form.validate() {
                Ok(input) => Some(input),
                Err(deal_errors) => {
                    for (field, form_field) in [
                        ("title", "deal_title"),
                        ("value", "deal_value"),
                        ("currency", "deal_currency"),
                        ("pipeline", "pipeline"),
                        ("stage", "stage"),
                        ("owner", "deal_title"),
                        ("source", "deal_title"),
                    ] {
                        if let Some(message) = deal_errors.get(field) {
                            errors.add(form_field, message.to_owned());
                        }
                    }
                    if errors.is_empty() {
                        errors.add("deal_title", "Check the deal's fields.");
                    }
                    None
                }
            }
        };
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(Conversion {
            contact,
            company,
            company_name: (!company_name.is_empty()).then(|| company_name.to_owned()),
            deal,
        })
    }
}

/// What a conversion made: (contact, company, deal) ids.
#[derive(Debug, Clone, Copy)]
pub struct Converted {
    pub contact_id: i64,
    pub company_id: Option<i64>,
    pub deal_id: Option<i64>,
}

fn lead_target(id: i64) -> String {
    format!("lead {id}")
}

/// Converts lead `id`: all of it or nothing, in one transaction.
pub fn convert_lead(
    conn: &mut Conn,
    now: NaiveDateTime,
    actor: &Actor,
    user: &User,
    id: i64,
    form: &ConvertForm,
) -> Result<Converted, AppError> {
    db::write(conn, |conn| {
        let lead = queries::find(conn, id)?.or_not_found()?;
        if !may_convert(user, &lead) {
            return Err(AppError::Forbidden);
        }
        if lead.status == Status::Converted.as_str() || lead.converted_at.is_some() {
            return Err(AppError::Conflict(
                "This lead has already been converted.".to_owned(),
            ));
        }
        let owner_id = lead.owner_id.unwrap_or(user.id);
        let conversion = form.parse(&lead, owner_id).map_err(AppError::Invalid)?;
        let contact_match = matching_contact(conn, &lead)?;
        let company_match = matching_company(conn, &lead)?;
        let mut errors = FieldErrors::new();
        if conversion.contact == ContactChoice::Existing && contact_match.is_none() {
            errors.add(
                "contact",
                "No contact has this lead's email (any more): create a new one.",
            );
        }
        if conversion.company == CompanyChoice::Existing && company_match.is_none() {
            errors.add(
                "company",
                "No company matches this lead (any more): create a new one or choose none.",
            );
        }
        errors.into_result()?;

        let company_id = match conversion.company {
            CompanyChoice::None => None,
            CompanyChoice::Existing => company_match.as_ref().map(|company| company.id),
            CompanyChoice::New => {
                let input = CompanyInput {
                    name: conversion
                        .company_name
                        .clone()
                        .or_else(|| lead.company_name.clone())
                        .unwrap_or_else(|| lead.name()),
                    domain: company_domains(&lead).into_iter().next(),
                    industry: lead.industry.clone(),
                    employee_count: lead.company_size,
                    phone: None,
                    address: None,
                    owner_id: Some(owner_id),
                    tags: Vec::new(),
                };
                Some(crate::contacts::company::service::insert(
                    conn, now, actor, &input,
                )?)
            }
        };

        let contact_id = match (conversion.contact, &contact_match) {
            (ContactChoice::Existing, Some(found)) => {
                if found.company_id.is_none() && company_id.is_some() {
                    diesel::update(contacts::table.find(found.id))
                        .set((
                            contacts::company_id.eq(company_id),
                            contacts::updated_at.eq(now),
                            contacts::version.eq(contacts::version + 1),
                        ))
                        .execute(conn)?;
                    search::index_contact(conn, found.id)?;
                }
                found.id
            }
            _ => {
                let tags = queries::tags_of(conn, &[id])?
                    .remove(&id)
                    .unwrap_or_default();
                let (first_name, last_name) =
                    if lead.first_name.is_empty() && lead.last_name.is_empty() {
                        (lead.name(), String::new())
                    } else {
                        (lead.first_name.clone(), lead.last_name.clone())
                    };
                let input = ContactInput {
                    first_name,
                    last_name,
                    emails: lead.email.iter().cloned().collect(),
                    phones: lead.phone.iter().cloned().collect(),
                    job_title: lead.job_title.clone(),
                    company_id,
                    owner_id: Some(owner_id),
                    tags,
                    stage: Stage::Lead,
                    address: None,
                    description: None,
                };
                crate::contacts::contact::service::insert(conn, now, actor, &input)?
            }
        };

        let deal_id = match &conversion.deal {
            Some(deal) => {
                let input = DealInput {
                    company_id,
                    contact_ids: vec![contact_id],
                    ..deal.clone()
                };
                Some(insert_deal(conn, now, actor, &input)?)
            }
            None => None,
        };

        // The lead's history shows on the contact (and company) from now on.
        diesel::update(timeline_entries::table.filter(timeline_entries::lead_id.eq(id)))
            .set(timeline_entries::contact_id.eq(contact_id))
            .execute(conn)?;
        diesel::update(lead_events::table.filter(lead_events::lead_id.eq(id)))
            .set(lead_events::contact_id.eq(contact_id))
            .execute(conn)?;
        // The lead's website visitors are the contact from now on: their later events land
        // on the contact's timeline.
        super::events::visitors_become_contact(conn, id, contact_id, now)?;
        if company_id.is_some() {
            diesel::update(
                timeline_entries::table
                    .filter(timeline_entries::lead_id.eq(id))
                    .filter(timeline_entries::company_id.is_null()),
            )
            .set(timeline_entries::company_id.eq(company_id))
            .execute(conn)?;
        }
        // Open tasks for the lead (its first-contact task) follow the contact.
        diesel::update(
            tasks::table
                .filter(tasks::lead_id.eq(id))
                .filter(tasks::contact_id.is_null())
                .filter(tasks::company_id.is_null())
                .filter(tasks::deal_id.is_null()),
        )
        .set(tasks::contact_id.eq(contact_id))
        .execute(conn)?;

        diesel::update(leads::table.find(id))
            .set((
                leads::status.eq(Status::Converted.as_str()),
                leads::converted_contact_id.eq(Some(contact_id)),
                leads::converted_company_id.eq(company_id),
                leads::converted_deal_id.eq(deal_id),
                leads::converted_at.eq(Some(now)),
                leads::updated_at.eq(now),
                leads::version.eq(lead.version + 1),
            ))
            .execute(conn)?;
        search::index_lead(conn, id)?;
        // The status is one of the facts the rules may look at.
        super::scoring::rescore(conn, id, now, "lead converted")?;

        let made = describe(conn, contact_id, &conversion, company_id, deal_id)?;
        let body = format!("Converted from lead {}: {made}.", lead.name());
        timeline::add(
            conn,
            &NewEntry {
                lead_id: Some(id),
                contact_id: Some(contact_id),
                company_id,
                deal_id,
                author_id: actor.user_id,
                ..NewEntry::system(Kind::Change, now, &body)
            },
        )?;
        audit::record(
            conn,
            now,
            actor,
            Action::LeadConverted,
            Some(&lead_target(id)),
            Some(&format!("converted: {made}")),
        )?;
        Ok(Converted {
            contact_id,
            company_id,
            deal_id,
        })
    })
}

fn describe(
    conn: &mut Conn,
    contact_id: i64,
    conversion: &Conversion,
    company_id: Option<i64>,
    deal_id: Option<i64>,
) -> QueryResult<String> {
    let how = |new: bool| if new { "new" } else { "existing" };
    let mut parts = vec![format!(
        "contact {contact_id} ({})",
        how(conversion.contact == ContactChoice::New)
    )];
    if let Some(company_id) = company_id {
        let name: String = companies::table
            .find(company_id)
            .select(companies::name)
            .first(conn)?;
        parts.push(format!(
            "company {name} ({})",
            how(conversion.company == CompanyChoice::New)
        ));
    }
    if let (Some(deal_id), Some(deal)) = (deal_id, &conversion.deal) {
        parts.push(format!("deal {deal_id} {}", deal.title));
    }
    Ok(parts.join(", "))
}

/// The conversion's deal, made by the pipeline's own code inside the conversion's
/// transaction; a reference that no longer holds is reported next to the conversion
/// form's fields.
fn insert_deal(
    conn: &mut Conn,
    now: NaiveDateTime,
    actor: &Actor,
    input: &DealInput,
) -> Result<i64, AppError> {
    crate::pipeline::deal::service::create_in(
        conn,
        now,
        actor,
        input,
        Some("converted from a lead"),
    )
    .map_err(|err| match err {
        AppError::Invalid(deal_errors) => {
            let mut errors = FieldErrors::new();
            for (field, form_field) in [
                ("pipeline", "pipeline"),
                ("stage", "stage"),
                ("owner", "deal_title"),
            ] {
                if let Some(message) = deal_errors.get(field) {
                    errors.add(form_field, message.to_owned());
                }
            }
            if errors.is_empty() {
                errors.add("deal_title", "The deal could not be created.");
            }
            AppError::Invalid(errors)
        }
        other => other,
    })
}

// ---------------------------------------------------------------------------------------
// Pages

pub struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

pub struct StageGroup {
    pub pipeline: String,
    pub stages: Vec<Choice>,
}

#[derive(Template)]
#[template(path = "leads/convert.html")]
struct ConvertPage {
    page: Page,
    lead_id: i64,
    lead_name: String,
    lead_email: String,
    lead_company: String,
    domains: String,
    contact_match: Option<ContactMatch>,
    company_match: Option<CompanyMatch>,
    form: ConvertForm,
    errors: FieldErrors,
    pipelines: Vec<Choice>,
    stage_groups: Vec<StageGroup>,
    currencies: Vec<Choice>,
    /// (kind, path, name) of what the lead became, once converted.
    converted_into: Vec<(&'static str, String, String)>,
    converted: bool,
}

struct Loaded {
    lead: Lead,
    contact_match: Option<ContactMatch>,
    company_match: Option<CompanyMatch>,
    pipelines: Vec<(i64, String)>,
    stages: Vec<(i64, i64, String)>,
    converted_into: Vec<(&'static str, String, String)>,
}

fn load(conn: &mut Conn, id: i64) -> Result<Loaded, AppError> {
    let lead = queries::find(conn, id)?.or_not_found()?;
    let contact_match = matching_contact(conn, &lead)?;
    let company_match = matching_company(conn, &lead)?;
    let pipelines: Vec<(i64, String)> = pipeline_model::pipelines(conn)?
        .into_iter()
        .map(|pipeline| (pipeline.id, pipeline.name))
        .collect();
    let mut stages = Vec::new();
    for (pipeline_id, _) in &pipelines {
        for stage in pipeline_model::stages(conn, *pipeline_id)? {
            stages.push((*pipeline_id, stage.id, stage.name));
        }
    }
    let converted_into = queries::converted_into(conn, &lead)?;
    Ok(Loaded {
        lead,
        contact_match,
        company_match,
        pipelines,
        stages,
        converted_into,
    })
}

fn render_page(
    viewer: &Viewer,
    loaded: Loaded,
    form: Option<ConvertForm>,
    errors: FieldErrors,
) -> Result<HttpResponse, AppError> {
    let lead = &loaded.lead;
    let form = form.unwrap_or_else(|| {
        ConvertForm::initial(
            lead,
            loaded.contact_match.as_ref(),
            loaded.company_match.as_ref(),
        )
    });
    let pipelines = loaded
        .pipelines
        .iter()
        .map(|(id, name)| Choice {
            value: id.to_string(),
            label: name.clone(),
            selected: form.pipeline == id.to_string(),
        })
        .collect();
    let stage_groups = loaded
        .pipelines
        .iter()
        .map(|(pipeline_id, name)| StageGroup {
            pipeline: name.clone(),
            stages: loaded
                .stages
                .iter()
                .filter(|(of, _, _)| of == pipeline_id)
                .map(|(_, id, name)| Choice {
                    value: id.to_string(),
                    label: name.clone(),
                    selected: form.stage == id.to_string(),
                })
                .collect(),
        })
        .collect();
    let currencies = COMMON_CURRENCIES
        .iter()
        .map(|code| Choice {
            value: (*code).to_owned(),
            label: (*code).to_owned(),
            selected: form.deal_currency.eq_ignore_ascii_case(code),
        })
        .collect();
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let converted = lead.converted_at.is_some() || lead.status == Status::Converted.as_str();
    render_with_status(
        status,
        &ConvertPage {
            page: viewer.page(&format!("Convert {}", lead.name())),
            lead_id: lead.id,
            lead_name: lead.name(),
            lead_email: lead.email.clone().unwrap_or_default(),
            lead_company: lead.company_name.clone().unwrap_or_default(),
            domains: company_domains(lead).join(", "),
            contact_match: loaded.contact_match,
            company_match: loaded.company_match,
            form,
            errors,
            pipelines,
            stage_groups,
            currencies,
            converted_into: loaded.converted_into,
            converted,
        },
    )
}

async fn show(
    state: web::Data<AppState>,
    viewer: Viewer,
    req: HttpRequest,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let loaded = db::run(&state.pool, move |conn| load(conn, id)).await?;
    if !may_convert(&viewer.user, &loaded.lead) {
        return denied(&state, &viewer, &req).await;
    }
    render_page(&viewer, loaded, None, FieldErrors::new())
}

async fn convert(
    state: web::Data<AppState>,
    viewer: Viewer,
    req: HttpRequest,
    path: web::Path<i64>,
    form: web::Form<ConvertForm>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let form = form.into_inner();
    let loaded = db::run(&state.pool, move |conn| load(conn, id)).await?;
    if !may_convert(&viewer.user, &loaded.lead) {
        return denied(&state, &viewer, &req).await;
    }
    if loaded.lead.converted_at.is_some() {
        FlashMessage::info("This lead has already been converted.").send();
        return Ok(redirect(&format!("/leads/{id}/convert")));
    }
    let (now, actor, user) = (state.now(), viewer.actor(), viewer.user.clone());
    let posted = form.clone();
    let outcome = db::run(&state.pool, move |conn| {
        convert_lead(conn, now, &actor, &user, id, &posted)
    })
    .await;
    match outcome {
        Ok(converted) => {
            FlashMessage::success(format!(
                "{} is converted{}.",
                loaded.lead.name(),
                if converted.deal_id.is_some() {
                    ", with a new deal"
                } else {
                    ""
                }
            ))
            .send();
            Ok(redirect(&format!("/contacts/{}", converted.contact_id)))
        }
        Err(AppError::Invalid(errors)) => {
            let loaded = db::run(&state.pool, move |conn| load(conn, id)).await?;
            render_page(&viewer, loaded, Some(form), errors)
        }
        Err(AppError::Conflict(message)) => {
            FlashMessage::info(message).send();
            Ok(redirect(&format!("/leads/{id}/convert")))
        }
        Err(other) => Err(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lead(email: Option<&str>, website: Option<&str>) -> Lead {
        let at = chrono::DateTime::from_timestamp(0, 0)
            .map(|at| at.naive_utc())
            .unwrap_or_default();
        Lead {
            id: 1,
            first_name: "Ada".into(),
            last_name: "Lovelace".into(),
            email: email.map(Into::into),
            phone: None,
            company_name: None,
            job_title: None,
            company_size: None,
            industry: None,
            country: None,
            website: website.map(Into::into),
            source: "manual".into(),
            status: "new".into(),
            owner_id: None,
            score: 0,
            grade: "cold".into(),
            scored_version: 0,
            converted_contact_id: None,
            converted_company_id: None,
            converted_deal_id: None,
            converted_at: None,
            created_at: at,
            updated_at: at,
            version: 1,
        }
    }

    #[test]
    fn the_company_domain_comes_from_the_website_then_a_work_email() {
        assert_eq!(
            company_domains(&lead(
                Some("ada@engines.example"),
                Some("https://www.Analytical.example/about")
            )),
            vec!["analytical.example", "engines.example"]
        );
        assert_eq!(
            company_domains(&lead(Some("ada@engines.example"), None)),
            vec!["engines.example"]
        );
    }

    #[test]
    fn a_mailbox_providers_domain_names_no_company() {
        assert!(company_domains(&lead(Some("ada@gmail.com"), None)).is_empty());
        assert!(company_domains(&lead(None, None)).is_empty());
    }
}
