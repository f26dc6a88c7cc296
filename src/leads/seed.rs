//! `rapport seed-demo --leads N --lead-events M`: realistic demo leads (over sources,
//! industries, countries and company sizes, spread over the sales reps), M website events
//! (page views of /pricing, /docs, /blog/… and form submissions) on their timelines, and —
//! when no scoring rules exist yet — about twenty scoring rules in a "Fit" and an
//! "Engagement" group, so that the scores mean something. The leads are then scored by the
//! product's own background rescoring (`scoring::rescore_pending`).
//!
//! Rows are written with multi-row inserts, `BATCH` leads with their tags, events and
//! timeline entries per immediate transaction, and indexed for search with one statement
//! per batch; for large loads the indexes that would take random inserts are dropped and
//! rebuilt at the end. Ids are assigned here, after the current maximum, which is safe because each
//! batch holds the write lock. The data is deterministic: the same demo every run.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use serde_json::json;

use crate::auth::model::Role;
use crate::db::schema::{lead_events, lead_tags, leads, scoring_rules, timeline_entries, users};
use crate::db::{self, Conn};
use crate::leads::scoring::{self, rules};
use crate::search;

/// Leads (with their tags, events and timeline entries) written per transaction.
pub const BATCH: usize = 5_000;

/// SQLite refuses statements with more bound parameters than this.
const MAX_PARAMETERS: usize = 32_766;

/// What was written.
#[derive(Debug, Clone, Default)]
pub struct SeededLeads {
    pub leads: u64,
    pub events: u64,
    /// Scoring rules added (0 when the database had rules already).
    pub rules: u64,
    /// Leads scored after the load, and how long that took.
    pub scored: u64,
    pub scoring_seconds: f64,
}

/// A small, fast, deterministic generator (SplitMix64).
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..bound`.
    fn below(&mut self, bound: u64) -> u64 {
        self.next() % bound.max(1)
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    /// A time between `from` and `to`.
    fn between(&mut self, from: NaiveDateTime, to: NaiveDateTime) -> NaiveDateTime {
        let span = (to - from).num_seconds().max(1) as u64;
        from + Duration::seconds(self.below(span) as i64)
    }

    /// An item of `(item, weight)` pairs, likelier the heavier it is.
    fn weighted<'a, T>(&mut self, items: &'a [(T, u64)]) -> &'a T {
        let total: u64 = items.iter().map(|(_, weight)| weight).sum();
        let mut roll = self.below(total);
        for (item, weight) in items {
            if roll < *weight {
                return item;
            }
            roll -= weight;
        }
        &items[items.len() - 1].0
    }
}

const FIRST_NAMES: &[&str] = &[
    "Olivia", "Liam", "Emma", "Noah", "Amelia", "Oliver", "Sophia", "Elijah", "Mia", "Lucas",
    "Chloé", "Mateo", "Zoë", "Søren", "Aiko", "Ravi", "Fatima", "Jonas", "Lucía", "Mehmet",
    "Ingrid", "Pierre", "Ana", "Kwame", "Mei", "Diego", "Hannah", "Yusuf", "Élodie", "Tomás",
    "Priya", "Lars", "Sara", "Kenji", "Nadia", "Björn", "Grace", "Omar", "Leah", "Marco",
];

const LAST_NAMES: &[&str] = &[
    "Smith",
    "Johnson",
    "Müller",
    "García",
    "Rossi",
    "Dubois",
    "Kowalski",
    "Nguyen",
    "Tanaka",
    "Patel",
    "Okafor",
    "Jensen",
    "Novák",
    "Silva",
    "Andersson",
    "Brown",
    "Martin",
    "Bernard",
    "Fischer",
    "López",
    "Costa",
    "Ivanova",
    "Hughes",
    "Walsh",
    "O'Brien",
    "Schmidt",
    "Yılmaz",
    "Kim",
    "Chen",
    "Larsen",
    "Moreau",
    "Ferreira",
    "Cohen",
    "Wright",
    "Khan",
    "Ahmed",
];

const COMPANY_WORDS: &[&str] = &[
    "Northwind",
    "Bluebird",
    "Keystone",
    "Pioneer",
    "Summit",
    "Evergreen",
    "Atlas",
    "Brightline",
    "Cobalt",
    "Redwood",
    "Lumen",
    "Harbor",
    "Quartz",
    "Vertex",
    "Maple",
    "Orbit",
    "Granite",
    "Nimbus",
    "Juniper",
    "Falcon",
    "Helix",
    "Meridian",
    "Sable",
    "Tidal",
];

const COMPANY_SUFFIXES: &[&str] = &[
    "Labs", "Systems", "Group", "GmbH", "Inc.", "Ltd", "& Co.", "AG",
];

/// Industries and how common they are among the leads.
const INDUSTRIES: &[(&str, u64)] = &[
    ("software", 24),
    ("fintech", 10),
    ("saas", 10),
    ("manufacturing", 10),
    ("retail", 9),
    ("healthcare", 8),
    ("education", 7),
    ("logistics", 6),
    ("media", 5),
    ("hospitality", 5),
    ("non-profit", 3),
    ("government", 3),
];

const COUNTRIES: &[(&str, u64)] = &[
    ("United States", 34),
    ("United Kingdom", 12),
    ("Germany", 11),
    ("France", 8),
    ("Canada", 7),
    ("Netherlands", 5),
    ("Spain", 5),
    ("Australia", 5),
    ("India", 5),
    ("Brazil", 4),
    ("Japan", 2),
    ("Sweden", 2),
];

/// Sources of the leads (keys of `leads.source`).
const SOURCES: &[(&str, u64)] = &[
    ("web_form", 38),
    ("import", 18),
    ("api", 8),
    ("manual", 10),
    ("referral", 10),
    ("event", 12),
    ("other", 4),
];

const STATUSES: &[(&str, u64)] = &[
    ("new", 55),
    ("contacted", 25),
    ("qualified", 10),
    ("unqualified", 10),
];

/// Company sizes (employees, before a little noise) and how common they are.
const SIZES: &[(i32, u64)] = &[
    (3, 14),
    (12, 18),
    (45, 20),
    (150, 18),
    (400, 12),
    (1_200, 9),
    (5_000, 6),
    (20_000, 3),
];

const JOB_TITLES: &[(&str, u64)] = &[
    ("Software Engineer", 12),
    ("Head of Engineering", 6),
    ("VP of Sales", 5),
    ("Marketing Manager", 10),
    ("Chief Technology Officer", 4),
    ("Chief Executive Officer", 4),
    ("Director of Operations", 6),
    ("Product Manager", 10),
    ("Sales Director", 6),
    ("Customer Success Lead", 6),
    ("Founder", 5),
    ("Office Manager", 5),
    ("Student", 3),
    ("Marketing Intern", 3),
    ("Analyst", 8),
];

const PERSONAL_DOMAINS: &[&str] = &["gmail.com", "yahoo.com", "outlook.com", "proton.me"];

const TAGS: &[(&str, u64)] = &[
    ("newsletter", 25),
    ("webinar-2026", 10),
    ("trial", 12),
    ("partner-referral", 5),
    ("conference", 8),
];

const BLOG_POSTS: &[&str] = &[
    "/blog/lead-scoring-explained",
    "/blog/crm-migration-checklist",
    "/blog/why-sqlite",
    "/blog/pipeline-hygiene",
    "/blog/forecasting-101",
    "/blog/helpdesk-and-crm-in-one",
    "/blog/release-notes-december",
    "/blog/cold-email-that-works",
];

const DOCS: &[&str] = &[
    "/docs",
    "/docs/getting-started",
    "/docs/import",
    "/docs/api/events",
    "/docs/scoring",
    "/docs/self-hosting",
];

const OTHER_PAGES: &[&str] = &[
    "/",
    "/features",
    "/features/scoring",
    "/integrations",
    "/about",
    "/careers",
    "/case-studies/northwind",
    "/case-studies/atlas-retail",
];

/// The demo scoring rules: (kind, group, field or event, operator, value, filter key,
/// counting, cap, half-life in days, points), as the admin form would take them.
type DemoRule = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
);

const FIT: &str = "Fit";
const ENGAGEMENT: &str = "Engagement";

const DEMO_RULES: &[DemoRule] = &[
    // Fit: who they are.
    (
        "attribute",
        FIT,
        "industry",
        "one_of",
        "software, fintech, saas",
        "",
        "",
        "",
        "",
        "20",
    ),
    (
        "attribute",
        FIT,
        "company_size",
        "at_least",
        "200",
        "",
        "",
        "",
        "",
        "15",
    ),
    (
        "attribute",
        FIT,
        "company_size",
        "at_least",
        "1000",
        "",
        "",
        "",
        "",
        "10",
    ),
    (
        "attribute",
        FIT,
        "company_size",
        "at_most",
        "10",
        "",
        "",
        "",
        "",
        "-10",
    ),
    (
        "attribute",
        FIT,
        "job_title",
        "contains",
        "chief",
        "",
        "",
        "",
        "",
        "15",
    ),
    (
        "attribute",
        FIT,
        "job_title",
        "contains",
        "vp",
        "",
        "",
        "",
        "",
        "12",
    ),
    (
        "attribute",
        FIT,
        "job_title",
        "contains",
        "director",
        "",
        "",
        "",
        "",
        "10",
    ),
    (
        "attribute",
        FIT,
        "job_title",
        "contains",
        "intern",
        "",
        "",
        "",
        "",
        "-15",
    ),
    (
        "attribute",
        FIT,
        "country",
        "one_of",
        "united states, united kingdom, germany, canada",
        "",
        "",
        "",
        "",
        "8",
    ),
    (
        "attribute",
        FIT,
        "website",
        "is_set",
        "",
        "",
        "",
        "",
        "",
        "5",
    ),
    (
        "attribute",
        FIT,
        "email",
        "ends_with",
        "@gmail.com",
        "",
        "",
        "",
        "",
        "-5",
    ),
    (
        "attribute",
        "",
        "source",
        "equals",
        "referral",
        "",
        "",
        "",
        "",
        "10",
    ),
    (
        "attribute",
        "",
        "status",
        "equals",
        "unqualified",
        "",
        "",
        "",
        "",
        "-30",
    ),
    // Engagement: what they do on the website.
    (
        "behaviour",
        ENGAGEMENT,
        "page_view",
        "starts_with",
        "/pricing",
        "path",
        "each",
        "25",
        "14",
        "5",
    ),
    (
        "behaviour",
        ENGAGEMENT,
        "page_view",
        "starts_with",
        "/docs",
        "path",
        "each",
        "10",
        "30",
        "2",
    ),
    (
        "behaviour",
        ENGAGEMENT,
        "page_view",
        "starts_with",
        "/blog",
        "path",
        "each",
        "5",
        "14",
        "1",
    ),
    (
        "behaviour",
        ENGAGEMENT,
        "page_view",
        "starts_with",
        "/case-studies",
        "path",
        "each",
        "9",
        "30",
        "3",
    ),
    (
        "behaviour",
        ENGAGEMENT,
        "page_view",
        "starts_with",
        "/careers",
        "path",
        "once",
        "",
        "",
        "-5",
    ),
    (
        "behaviour",
        ENGAGEMENT,
        "form_submitted",
        "equals",
        "demo-request",
        "form",
        "once",
        "",
        "",
        "25",
    ),
    (
        "behaviour",
        ENGAGEMENT,
        "form_submitted",
        "equals",
        "newsletter",
        "form",
        "once",
        "",
        "",
        "5",
    ),
    (
        "behaviour",
        ENGAGEMENT,
        "form_submitted",
        "equals",
        "contact",
        "form",
        "once",
        "",
        "60",
        "10",
    ),
    (
        "behaviour",
        ENGAGEMENT,
        "page_view",
        "",
        "",
        "",
        "each",
        "10",
        "7",
        "0.5",
    ),
];

/// Adds the demo groups and rules when there are no rules yet; returns how many rules.
fn ensure_rules(conn: &mut Conn, now: NaiveDateTime) -> Result<u64, crate::error::AppError> {
    db::write(conn, |conn| {
        let existing: i64 = scoring_rules::table.count().get_result(conn)?;
        if existing > 0 {
            return Ok(0);
        }
        let mut groups = rules::groups(conn)?;
        for (name, cap) in [(FIT, "50"), (ENGAGEMENT, "60")] {
            if !groups
                .iter()
                .any(|group| group.name.eq_ignore_ascii_case(name))
            {
                let cap = scoring::engine::Points::parse(cap).ok();
                rules::insert_group(conn, name, cap, now)?;
            }
        }
        groups = rules::groups(conn)?;
        let mut added = 0;
        for &(
            kind,
            group,
            subject,
            operator,
            value,
            filter_key,
            counting,
            cap,
            half_life,
            points,
        ) in DEMO_RULES
        {
            let group_id = groups
                .iter()
                .find(|found| found.name.eq_ignore_ascii_case(group))
                .map(|found| found.id.to_string())
                .unwrap_or_default();
            let behaviour = kind == "behaviour";
            let form = rules::RuleForm {
                kind: kind.to_owned(),
                group_id,
                field: if behaviour { "" } else { subject }.to_owned(),
                operator: if behaviour { "" } else { operator }.to_owned(),
                value: if behaviour { "" } else { value }.to_owned(),
                event_name: if behaviour { subject } else { "" }.to_owned(),
                filter_key: filter_key.to_owned(),
                filter_operator: if behaviour { operator } else { "" }.to_owned(),
                filter_value: if behaviour { value } else { "" }.to_owned(),
                counting: counting.to_owned(),
                cap: cap.to_owned(),
                half_life_days: half_life.to_owned(),
                points: points.to_owned(),
                intent: String::new(),
            };
            let rule = form
                .parse(&groups)
                .map_err(crate::error::AppError::Invalid)?;
            rules::insert(conn, &rule, now)?;
            added += 1;
        }
        rules::bump_version(conn)?;
        Ok(added)
    })
}

#[derive(Insertable)]
#[diesel(table_name = leads, treat_none_as_default_value = false)]
struct NewLead {
    id: i64,
    first_name: &'static str,
    last_name: &'static str,
    email: Option<String>,
    phone: Option<String>,
    company_name: Option<String>,
    job_title: Option<&'static str>,
    company_size: Option<i32>,
    industry: Option<&'static str>,
    country: Option<&'static str>,
    website: Option<String>,
    source: &'static str,
    status: &'static str,
    owner_id: Option<i64>,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

#[derive(Insertable)]
#[diesel(table_name = lead_tags)]
struct NewLeadTag {
    lead_id: i64,
    tag_id: i64,
}

#[derive(Insertable)]
#[diesel(table_name = lead_events)]
struct NewEvent {
    lead_id: Option<i64>,
    visitor_id: Option<String>,
    name: &'static str,
    properties: String,
    occurred_at: NaiveDateTime,
    received_at: NaiveDateTime,
}

#[derive(Insertable)]
#[diesel(table_name = timeline_entries, treat_none_as_default_value = false)]
struct NewEntry {
    lead_id: Option<i64>,
    kind: &'static str,
    author_id: Option<i64>,
    occurred_at: NaiveDateTime,
    body: String,
    created_at: NaiveDateTime,
}

/// Inserts `rows` in statements that stay under SQLite's parameter limit.
macro_rules! insert_chunked {
    ($conn:expr, $table:expr, $rows:expr, $columns:expr) => {{
        for chunk in $rows.chunks(MAX_PARAMETERS / $columns) {
            diesel::insert_into($table).values(chunk).execute($conn)?;
        }
    }};
}

/// From this many leads on, the indexes below are dropped during the load (and the first
/// scoring) and rebuilt after it: sorting once is far faster than a million inserts at
/// random places.
const BULK: usize = 20_000;

/// Drops the secondary indexes of the tables the seed fills whose keys arrive in random
/// order (those led by `lead_id` grow in order and stay); returns their definitions.
fn drop_indexes(conn: &mut Conn) -> QueryResult<Vec<String>> {
    #[derive(QueryableByName)]
    struct Index {
        #[diesel(sql_type = diesel::sql_types::Text)]
        name: String,
        #[diesel(sql_type = diesel::sql_types::Text)]
        sql: String,
    }
    let found: Vec<Index> = diesel::sql_query(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL \
         AND tbl_name IN ('leads', 'lead_tags', 'lead_events', 'timeline_entries') \
         AND sql NOT LIKE '%(lead_id,%'",
    )
    .load(conn)?;
    for index in &found {
        diesel::sql_query(format!("DROP INDEX \"{}\"", index.name.replace('"', "")))
            .execute(conn)?;
    }
    Ok(found.into_iter().map(|index| index.sql).collect())
}

fn restore_indexes(conn: &mut Conn, definitions: &[String]) -> QueryResult<()> {
    for definition in definitions {
        diesel::sql_query(definition.as_str()).execute(conn)?;
    }
    Ok(())
}

fn next_id(conn: &mut Conn, table: &str) -> QueryResult<i64> {
    #[derive(QueryableByName)]
    struct Max {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        id: i64,
    }
    let found: Max = diesel::sql_query(format!("SELECT COALESCE(MAX(id), 0) AS id FROM {table}"))
        .get_result(conn)?;
    Ok(found.id + 1)
}

/// The active sales reps, who own the demo leads (else `fallback`).
fn sales_reps(conn: &mut Conn, fallback: &[i64]) -> QueryResult<Vec<i64>> {
    let reps: Vec<i64> = users::table
        .filter(users::active.eq(true))
        .filter(users::role.eq(Role::Sales.as_str()))
        .order(users::id.asc())
        .select(users::id)
        .load(conn)?;
    Ok(if reps.is_empty() {
        fallback.to_vec()
    } else {
        reps
    })
}

/// How many events each lead gets: most leads few or none, a few very many (as on a real
/// website), `total` in all.
fn event_counts(random: &mut Random, leads: usize, total: usize) -> Vec<usize> {
    if leads == 0 {
        return Vec::new();
    }
    // Relative engagement: 35 % of leads never visit, the busiest tenth does most.
    let weights: Vec<u64> = (0..leads)
        .map(|_| match random.below(100) {
            0..35 => 0,
            35..70 => 1 + random.below(2),
            70..90 => 3 + random.below(6),
            _ => 10 + random.below(30),
        })
        .collect();
    let sum: u64 = weights.iter().sum::<u64>().max(1);
    let mut counts: Vec<usize> = weights
        .iter()
        .map(|weight| (*weight as u128 * total as u128 / sum as u128) as usize)
        .collect();
    let mut assigned: usize = counts.iter().sum();
    // Hand out what rounding left over to engaged leads.
    while assigned < total {
        let index = random.below(leads as u64) as usize;
        if weights[index] > 0 || random.chance(5) {
            counts[index] += 1;
            assigned += 1;
        }
    }
    counts
}

fn one_of(random: &mut Random, pages: &[&'static str]) -> &'static str {
    pages[random.below(pages.len() as u64) as usize]
}

/// A page view's path and a form submission's form, biased towards buying signals for the
/// most engaged leads.
fn page(random: &mut Random, engaged: bool) -> &'static str {
    let roll = random.below(100);
    let pricing = if engaged { 22 } else { 8 };
    if roll < pricing {
        if random.below(100) < 70 {
            "/pricing"
        } else {
            "/pricing/enterprise"
        }
    } else if roll < pricing + 22 {
        one_of(random, DOCS)
    } else if roll < pricing + 52 {
        one_of(random, BLOG_POSTS)
    } else if roll < pricing + 55 {
        "/demo"
    } else {
        one_of(random, OTHER_PAGES)
    }
}

/// Writes `lead_count` leads with `event_count` events in all, owned by the sales reps (else
/// by `owners`), adds the demo scoring rules if there are none, and scores every lead the
/// current rules have not. `progress` hears the number of leads written after each batch.
pub fn seed(
    conn: &mut Conn,
    now: NaiveDateTime,
    owners: &[i64],
    lead_count: usize,
    event_count: usize,
    mut progress: impl FnMut(usize),
) -> Result<SeededLeads, crate::error::AppError> {
    diesel::connection::SimpleConnection::batch_execute(
        conn,
        "PRAGMA cache_size = -262144; PRAGMA temp_store = MEMORY;",
    )?;
    let mut seeded = SeededLeads {
        rules: ensure_rules(conn, now)?,
        ..SeededLeads::default()
    };
    let reps = sales_reps(conn, owners)?;
    let mut random = Random(0x1EAD_5EED ^ (lead_count as u64) ^ ((event_count as u64) << 20));
    let tag_ids: Vec<(i64, u64)> = db::write(conn, |conn| {
        let mut ids = Vec::with_capacity(TAGS.len());
        for (name, percent) in TAGS {
            if let Some(id) = crate::contacts::tags::ensure(conn, &[(*name).to_owned()])?
                .first()
                .copied()
            {
                ids.push((id, *percent));
            }
        }
        Ok::<_, diesel::result::Error>(ids)
    })?;
    let counts = event_counts(&mut random, lead_count, event_count);
    let a_year_ago = now - Duration::days(365);
    let first_lead = next_id(conn, "leads")?;
    let dropped = if lead_count >= BULK {
        drop_indexes(conn)?
    } else {
        Vec::new()
    };
    let mut load = |conn: &mut Conn| -> Result<(), crate::error::AppError> {
        let mut written = 0;
        while written < lead_count {
            let size = (lead_count - written).min(BATCH);
            let start = first_lead + written as i64;
            let mut people = Vec::with_capacity(size);
            let mut tagged = Vec::with_capacity(size);
            let mut events = Vec::new();
            let mut entries = Vec::new();
            for offset in 0..size {
                let index = written + offset;
                let id = start + offset as i64;
                let first = *random.pick(FIRST_NAMES);
                let last = *random.pick(LAST_NAMES);
                let created_at = random.between(a_year_ago, now);
                let company = random.chance(88).then(|| {
                    format!(
                        "{} {}",
                        random.pick(COMPANY_WORDS),
                        random.pick(COMPANY_SUFFIXES)
                    )
                });
                let slug = |text: &str| {
                    text.chars()
                        .filter_map(|c| match c {
                            'é' | 'è' | 'É' => Some('e'),
                            'ø' | 'ö' | 'ó' => Some('o'),
                            'ü' | 'ú' => Some('u'),
                            'á' | 'í' => Some(if c == 'á' { 'a' } else { 'i' }),
                            'ñ' => Some('n'),
                            'ı' => Some('i'),
                            c if c.is_ascii_alphanumeric() => Some(c.to_ascii_lowercase()),
                            _ => None,
                        })
                        .collect::<String>()
                };
                let domain = company
                    .as_deref()
                    .filter(|_| random.chance(85))
                    .map(|name| format!("{}{}.example", slug(name), id % 1000));
                let email = if random.chance(93) {
                    let at = domain
                        .clone()
                        .unwrap_or_else(|| (*random.pick(PERSONAL_DOMAINS)).to_owned());
                    Some(format!("{}.{}.{id}@{at}", slug(first), slug(last)))
                } else {
                    None
                };
                let source = *random.weighted(SOURCES);
                people.push(NewLead {
                    id,
                    first_name: first,
                    last_name: last,
                    email,
                    phone: random.chance(60).then(|| {
                        format!(
                            "+1 ({}) 555-{:04}",
                            200 + random.below(800),
                            random.below(10_000)
                        )
                    }),
                    website: domain.clone().filter(|_| random.chance(80)),
                    company_name: company,
                    job_title: random.chance(85).then(|| *random.weighted(JOB_TITLES)),
                    company_size: random
                        .chance(75)
                        .then(|| random.weighted(SIZES) + random.below(10) as i32),
                    industry: random.chance(85).then(|| *random.weighted(INDUSTRIES)),
                    country: random.chance(90).then(|| *random.weighted(COUNTRIES)),
                    source,
                    status: random.weighted::<&str>(STATUSES),
                    owner_id: random.chance(92).then(|| *random.pick(reps.as_slice())),
                    created_at,
                    updated_at: random.between(created_at, now),
                });
                for (tag_id, percent) in &tag_ids {
                    if random.chance(*percent) {
                        tagged.push(NewLeadTag {
                            lead_id: id,
                            tag_id: *tag_id,
                        });
                    }
                }
                entries.push(NewEntry {
                    lead_id: Some(id),
                    kind: "change",
                    author_id: None,
                    occurred_at: created_at,
                    body: "Lead created".to_owned(),
                    created_at,
                });
                let count = counts.get(index).copied().unwrap_or(0);
                let engaged = count >= 15;
                let visitor = format!("v-{:016x}", random.next());
                // Events start up to 30 days before the lead was known (stitched visits), and
                // never more than 120 days ago.
                let since = (created_at - Duration::days(30)).max(now - Duration::days(120));
                for _ in 0..count {
                    let occurred_at = random.between(since, now);
                    let (name, properties, body) = if random.chance(4) {
                        let form = *random.weighted(&[
                            ("newsletter", 50),
                            ("contact", 30),
                            ("demo-request", 20),
                        ]);
                        let path = if form == "demo-request" {
                            "/demo"
                        } else {
                            "/contact"
                        };
                        (
                            "form_submitted",
                            json!({ "form": form, "path": path }).to_string(),
                            format!("form_submitted {form}"),
                        )
                    } else {
                        let path = page(&mut random, engaged);
                        (
                            "page_view",
                            json!({ "path": path }).to_string(),
                            format!("page_view {path}"),
                        )
                    };
                    events.push(NewEvent {
                        lead_id: Some(id),
                        visitor_id: Some(visitor.clone()),
                        name,
                        properties,
                        occurred_at,
                        received_at: occurred_at,
                    });
                    entries.push(NewEntry {
                        lead_id: Some(id),
                        kind: "event",
                        author_id: None,
                        occurred_at,
                        body,
                        created_at: occurred_at,
                    });
                }
            }
            db::write(conn, |conn| {
                insert_chunked!(conn, leads::table, people, 16);
                insert_chunked!(conn, lead_tags::table, tagged, 2);
                insert_chunked!(conn, lead_events::table, events, 6);
                insert_chunked!(conn, timeline_entries::table, entries, 6);
                search::index_leads_range(conn, start, start + size as i64 - 1)
            })?;
            seeded.events += events.len() as u64;
            written += size;
            progress(written);
        }
        seeded.leads = lead_count as u64;
        // Score what the current rules have not scored: the product's background rescoring.
        // Today's decay is taken in first, so that a server started next does not rescore
        // every lead again for it.
        let started = std::time::Instant::now();
        scoring::daily_decay(conn, now)?;
        loop {
            let done = scoring::rescore_pending(conn, now)?;
            if done == 0 {
                break;
            }
            seeded.scored += done as u64;
        }
        seeded.scoring_seconds = started.elapsed().as_secs_f64();
        Ok(())
    };
    let loaded = load(conn);
    // Rebuild what was dropped even when the load failed half-way.
    let rebuilt = restore_indexes(conn, &dropped);
    loaded?;
    rebuilt?;
    Ok(seeded)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_spread_over_leads_to_the_exact_total() {
        let mut random = Random(7);
        let counts = event_counts(&mut random, 1_000, 10_000);
        assert_eq!(counts.len(), 1_000);
        assert_eq!(counts.iter().sum::<usize>(), 10_000);
        assert!(counts.iter().filter(|count| **count == 0).count() > 200);
        assert!(counts.iter().copied().max().unwrap_or(0) > 50);
    }

    #[test]
    fn the_demo_rules_are_about_twenty() {
        assert!((18..=24).contains(&DEMO_RULES.len()));
    }
}
