//! `rapport seed-demo`: realistic demo data (companies, contacts with emails, phones, tags,
//! lifecycle stages, and notes, calls and meetings on their timelines), spread over the
//! existing users and indexed for search.
//!
//! Rows are written with multi-row inserts, `BATCH` contacts (and everything that belongs to
//! them) per transaction, and indexed with one bulk statement per batch, so a million
//! contacts take well under a minute. Ids are assigned here (after the current maximum),
//! which is safe because each batch runs in an immediate (write-locked) transaction.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

use crate::auth::model::Role;
use crate::db::schema::{
    companies, contact_emails, contact_phones, contact_tags, contacts, timeline_entries, users,
};
use crate::db::{self, Conn};
use crate::search;

/// Contacts (with their rows) written per transaction.
pub const BATCH: usize = 10_000;

/// SQLite refuses statements with more bound parameters than this.
const MAX_PARAMETERS: usize = 32_766;

/// Every `BUSY_EVERY`-th contact is a long-standing customer with `BUSY_ENTRIES` entries.
const BUSY_EVERY: usize = 1_000;
pub const BUSY_ENTRIES: usize = 50;

/// What was written.
#[derive(Debug, Clone, Default)]
pub struct Seeded {
    pub companies: u64,
    pub contacts: u64,
    pub timeline_entries: u64,
    /// A contact with `BUSY_ENTRIES` timeline entries, if any was seeded.
    pub busy_contact: Option<i64>,
    /// The first and last seeded contact ids.
    pub first_contact: Option<i64>,
    pub last_contact: Option<i64>,
}

/// A small, fast, deterministic generator (SplitMix64): the same demo data every run.
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..bound` (`bound` > 0).
    fn below(&mut self, bound: u64) -> u64 {
        self.next() % bound
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
}

const FIRST_NAMES: &[&str] = &[
    "James",
    "Mary",
    "John",
    "Patricia",
    "Robert",
    "Jennifer",
    "Michael",
    "Linda",
    "William",
    "Elizabeth",
    "David",
    "Barbara",
    "Richard",
    "Susan",
    "Joseph",
    "Jessica",
    "Thomas",
    "Sarah",
    "Charles",
    "Karen",
    "Daniel",
    "Nancy",
    "Matthew",
    "Lisa",
    "Anthony",
    "Betty",
    "Mark",
    "Margaret",
    "Paul",
    "Sandra",
    "Steven",
    "Ashley",
    "Andrew",
    "Emily",
    "Joshua",
    "Donna",
    "Kevin",
    "Michelle",
    "Brian",
    "Carol",
    "George",
    "Amanda",
    "Timothy",
    "Melissa",
    "Ronald",
    "Deborah",
    "Jason",
    "Stephanie",
    "Ryan",
    "Rebecca",
    "Jacob",
    "Laura",
    "Gary",
    "Sharon",
    "Nicholas",
    "Cynthia",
    "Eric",
    "Kathleen",
    "Jonathan",
    "Amy",
    "Ada",
    "Grace",
    "Alan",
    "Hedy",
    "Chloé",
    "José",
    "Zoë",
    "Björn",
    "Amélie",
    "Søren",
    "Mateo",
    "Sofia",
    "Liam",
    "Olivia",
    "Noah",
    "Emma",
    "Lucas",
    "Mia",
    "Hugo",
    "Léa",
    "Aisha",
    "Omar",
    "Priya",
    "Arjun",
    "Mei",
    "Hiroshi",
    "Yuki",
    "Ines",
    "Tomás",
    "Anouk",
    "Lars",
    "Freya",
    "Niamh",
    "Ciarán",
    "Kofi",
    "Amara",
    "Dmitri",
    "Katya",
    "Fatima",
    "Mohammed",
];

const LAST_NAMES: &[&str] = &[
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Garcia",
    "Miller",
    "Davis",
    "Rodriguez",
    "Martinez",
    "Hernandez",
    "Lopez",
    "Gonzalez",
    "Wilson",
    "Anderson",
    "Thomas",
    "Taylor",
    "Moore",
    "Jackson",
    "Martin",
    "Lee",
    "Perez",
    "Thompson",
    "White",
    "Harris",
    "Sanchez",
    "Clark",
    "Ramirez",
    "Lewis",
    "Robinson",
    "Walker",
    "Young",
    "Allen",
    "King",
    "Wright",
    "Scott",
    "Torres",
    "Nguyen",
    "Hill",
    "Flores",
    "Green",
    "Adams",
    "Nelson",
    "Baker",
    "Hall",
    "Rivera",
    "Campbell",
    "Mitchell",
    "Carter",
    "Roberts",
    "Lovelace",
    "Hopper",
    "Turing",
    "Lamarr",
    "Müller",
    "Schmidt",
    "Dubois",
    "Lefèvre",
    "Rossi",
    "Bianchi",
    "Novak",
    "Kowalski",
    "Nowak",
    "Jensen",
    "Hansen",
    "Larsen",
    "Andersson",
    "Johansson",
    "O'Brien",
    "Murphy",
    "Kelly",
    "Byrne",
    "Tanaka",
    "Suzuki",
    "Sato",
    "Kim",
    "Park",
    "Chen",
    "Wang",
    "Li",
    "Zhang",
    "Patel",
    "Sharma",
    "Singh",
    "Khan",
    "Ali",
    "Okafor",
    "Mensah",
    "Silva",
    "Santos",
    "Costa",
    "Oliveira",
    "Fernández",
    "García-Márquez",
    "Ivanova",
    "Petrov",
    "Haddad",
    "Cohen",
    "Levi",
    "Yilmaz",
];

const COMPANY_WORDS: &[&str] = &[
    "Northwind",
    "Contoso",
    "Globex",
    "Initech",
    "Umbrella",
    "Acme",
    "Stark",
    "Wayne",
    "Hooli",
    "Vandelay",
    "Soylent",
    "Cyberdyne",
    "Tyrell",
    "Wonka",
    "Gringotts",
    "Oscorp",
    "Aperture",
    "Black Mesa",
    "Blue Sun",
    "Dunder",
    "Pied Piper",
    "Massive Dynamic",
    "Nakatomi",
    "Sirius",
    "Monarch",
    "Bluth",
    "Prestige",
    "Virtucon",
    "Zorg",
    "Abstergo",
    "Aurora",
    "Summit",
    "Harbor",
    "Pinecrest",
    "Redwood",
    "Silverline",
    "Brightside",
    "Evergreen",
    "Ironbridge",
    "Lakeside",
    "Meridian",
    "Orchard",
    "Quantum",
    "Riverside",
    "Sterling",
    "Keystone",
    "Granite",
    "Horizon",
    "Cobalt",
    "Juniper",
];

const COMPANY_KINDS: &[(&str, &str)] = &[
    ("Logistics", "Transport and logistics"),
    ("Software", "Software"),
    ("Analytics", "Software"),
    ("Foods", "Food and beverage"),
    ("Bakery", "Food and beverage"),
    ("Health", "Healthcare"),
    ("Clinics", "Healthcare"),
    ("Energy", "Energy"),
    ("Solar", "Energy"),
    ("Bank", "Financial services"),
    ("Capital", "Financial services"),
    ("Insurance", "Financial services"),
    ("Retail", "Retail"),
    ("Outfitters", "Retail"),
    ("Manufacturing", "Manufacturing"),
    ("Robotics", "Manufacturing"),
    ("Consulting", "Professional services"),
    ("Legal", "Professional services"),
    ("Media", "Media"),
    ("Studios", "Media"),
    ("Hotels", "Hospitality"),
    ("Travel", "Hospitality"),
    ("Construction", "Construction"),
    ("Properties", "Real estate"),
    ("Education", "Education"),
];

const COMPANY_SUFFIXES: &[&str] = &[
    "Inc.", "Ltd", "GmbH", "LLC", "S.A.", "B.V.", "Group", "& Co.",
];

const JOB_TITLES: &[&str] = &[
    "CEO",
    "CTO",
    "CFO",
    "COO",
    "Head of Sales",
    "Sales Manager",
    "Account Executive",
    "Marketing Director",
    "Marketing Manager",
    "Product Manager",
    "Engineering Manager",
    "Software Engineer",
    "Office Manager",
    "Procurement Lead",
    "Operations Manager",
    "Customer Success Manager",
    "HR Director",
    "Finance Manager",
    "IT Manager",
    "Founder",
];

const CITIES: &[&str] = &[
    "Springfield",
    "Riverton",
    "Fairview",
    "Madison",
    "Georgetown",
    "Arlington",
    "Salem",
    "Franklin",
    "Clinton",
    "Greenville",
    "Bristol",
    "Dover",
    "Oxford",
    "Ashland",
    "Milton",
];

const STREETS: &[&str] = &[
    "Main St",
    "Oak Ave",
    "Maple Rd",
    "Cedar Ln",
    "Elm St",
    "Park Ave",
    "Lake Dr",
    "Hill Rd",
    "Church St",
    "Mill Ln",
    "Station Rd",
    "High St",
];

/// (tag, percent of contacts that carry it)
const TAGS: &[(&str, u64)] = &[
    ("newsletter", 30),
    ("vip", 5),
    ("partner", 4),
    ("trade-show", 10),
    ("referral", 8),
    ("enterprise", 6),
    ("smb", 15),
    ("churn-risk", 3),
];

/// (stage, cumulative percent)
const STAGES: &[(&str, u64)] = &[
    ("subscriber", 20),
    ("lead", 55),
    ("customer", 90),
    ("churned", 100),
];

const NOTES: &[&str] = &[
    "Asked for a quote for the annual plan; sending it by Friday.",
    "Interested in the enterprise tier, wants SSO and an audit log.",
    "Budget approved for next quarter. Follow up in three weeks.",
    "Met at the trade show, keen on a demo for their team.",
    "Complained about slow support answers last month; things are better now.",
    "Renewal coming up; happy with the product, wants a multi-year discount.",
    "Introduced us to their procurement lead.",
    "Evaluating two competitors as well. Decision expected end of month.",
    "Sent the case study they asked for. See https://example.com/case-study",
    "Moving offices in spring, update the billing address then.",
    "Wants training for five new colleagues.",
    "Prefers email over phone; best reached in the morning.",
];

const CALLS: &[(&str, &str)] = &[
    ("Discovery call about their current process.", "connected"),
    ("Followed up on the quote.", "connected"),
    ("Tried to reach them about the renewal.", "left voicemail"),
    ("Called to schedule the onboarding.", "connected"),
    ("Checked in after the first month.", "connected"),
    ("Called back about the invoice question.", "no answer"),
    ("Pricing negotiation.", "connected"),
];

const MEETINGS: &[&str] = &[
    "Product demo with the team.",
    "Quarterly business review.",
    "Onboarding workshop.",
    "Contract walkthrough with legal.",
];

#[derive(Insertable)]
#[diesel(table_name = companies, treat_none_as_default_value = false)]
struct NewCompany {
    id: i64,
    name: String,
    sort_name: String,
    domain: Option<String>,
    industry: Option<String>,
    employee_count: Option<i32>,
    phone: Option<String>,
    address: Option<String>,
    owner_id: Option<i64>,
    last_activity_at: Option<NaiveDateTime>,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

#[derive(Insertable)]
#[diesel(table_name = contacts, treat_none_as_default_value = false)]
struct NewContact {
    id: i64,
    first_name: &'static str,
    last_name: &'static str,
    sort_name: String,
    job_title: Option<&'static str>,
    company_id: Option<i64>,
    owner_id: Option<i64>,
    lifecycle_stage: &'static str,
    address: Option<String>,
    last_activity_at: Option<NaiveDateTime>,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

#[derive(Insertable)]
#[diesel(table_name = contact_emails)]
struct NewEmail {
    contact_id: i64,
    email: String,
    is_primary: bool,
}

#[derive(Insertable)]
#[diesel(table_name = contact_phones)]
struct NewPhone {
    contact_id: i64,
    phone: String,
    is_primary: bool,
}

#[derive(Insertable)]
#[diesel(table_name = contact_tags)]
struct NewContactTag {
    contact_id: i64,
    tag_id: i64,
    owner_id: Option<i64>,
    sort_name: String,
}

#[derive(Insertable)]
#[diesel(table_name = timeline_entries, treat_none_as_default_value = false)]
struct NewEntry {
    contact_id: Option<i64>,
    company_id: Option<i64>,
    kind: &'static str,
    author_id: Option<i64>,
    occurred_at: NaiveDateTime,
    body: &'static str,
    outcome: Option<&'static str>,
    duration_minutes: Option<i32>,
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

fn ascii_slug(text: &str) -> String {
    let mut slug = String::with_capacity(text.len());
    for c in text.chars() {
        let c = match c {
            'à' | 'á' | 'â' | 'ä' => 'a',
            'é' | 'è' | 'ê' | 'ë' => 'e',
            'í' | 'ï' => 'i',
            'ó' | 'ö' | 'ø' => 'o',
            'ú' | 'ü' => 'u',
            'ñ' => 'n',
            other => other.to_ascii_lowercase(),
        };
        if c.is_ascii_alphanumeric() {
            slug.push(c);
        } else if !slug.ends_with('-') && !slug.is_empty() {
            slug.push('-');
        }
    }
    slug.trim_end_matches('-').to_owned()
}

fn phone(random: &mut Random) -> String {
    format!(
        "+1 ({}) 555-{:04}",
        200 + random.below(800),
        random.below(10_000)
    )
}

fn address(random: &mut Random) -> String {
    format!(
        "{} {}, {}",
        1 + random.below(999),
        random.pick(STREETS),
        random.pick(CITIES)
    )
}

/// From this many contacts on, the indexes below are dropped during the load and rebuilt
/// after it: sorting once is far faster than a million inserts at random places.
const BULK: usize = 50_000;

/// Drops the secondary indexes of the tables a seed fills whose keys arrive in random order
/// (those led by `contact_id` grow in order and stay); returns their definitions.
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
         AND tbl_name IN ('contacts', 'contact_emails', 'contact_tags', 'timeline_entries') \
         AND sql NOT LIKE '%(contact_id,%'",
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

/// Users who own the seeded records: active admins and sales reps (else any active user).
pub fn owners(conn: &mut Conn) -> QueryResult<Vec<i64>> {
    let sellers: Vec<i64> = users::table
        .filter(users::active.eq(true))
        .filter(users::role.eq_any([Role::Admin.as_str(), Role::Sales.as_str()]))
        .order(users::id.asc())
        .select(users::id)
        .load(conn)?;
    if !sellers.is_empty() {
        return Ok(sellers);
    }
    users::table
        .filter(users::active.eq(true))
        .order(users::id.asc())
        .select(users::id)
        .load(conn)
}

/// Writes `contact_count` contacts and about a tenth as many companies, owned by `owners`
/// (which must not be empty), with times up to `now`. The connection keeps a 256 MB page
/// cache afterwards (meant for the command line). `progress` is called after each batch
/// with the number of contacts written so far.
pub fn seed(
    conn: &mut Conn,
    now: NaiveDateTime,
    owners: &[i64],
    contact_count: usize,
    mut progress: impl FnMut(usize),
) -> QueryResult<Seeded> {
    // A large page cache keeps the indexes' random inserts in memory (the default is 2 MB).
    diesel::connection::SimpleConnection::batch_execute(
        conn,
        "PRAGMA cache_size = -262144; PRAGMA temp_store = MEMORY; PRAGMA threads = 2;",
    )?;
    let mut random = Random(0x5EED_DE30 ^ contact_count as u64);
    let mut seeded = Seeded::default();
    let owner = |random: &mut Random| *random.pick(owners);
    let two_years_ago = now - Duration::days(730);
    let a_year_ago = now - Duration::days(365);

    let tag_ids: Vec<(i64, u64)> = db::write(conn, |conn| {
        let names: Vec<String> = TAGS.iter().map(|(name, _)| (*name).to_owned()).collect();
        crate::contacts::tags::ensure(conn, &names)?;
        // `ensure` does not keep the order of the names: look each one up.
        let mut ids = Vec::with_capacity(TAGS.len());
        for (name, percent) in TAGS {
            if let Some(id) = crate::contacts::tags::find_id(conn, name)? {
                ids.push((id, *percent));
            }
        }
        Ok::<_, diesel::result::Error>(ids)
    })?;

    // Companies first, so that contacts can work there.
    let company_count = if contact_count == 0 {
        0
    } else {
        (contact_count / 10).max(1)
    };
    let first_company = next_id(conn, "companies")?;
    let mut companies_info: Vec<(String, String)> = Vec::with_capacity(company_count); // (name, domain)
    // A company's last activity is its people's latest interaction.
    let mut company_activity: Vec<Option<NaiveDateTime>> = vec![None; company_count];
    let mut written = 0;
    while written < company_count {
        let size = (company_count - written).min(BATCH);
        let start = first_company + written as i64;
        let mut rows = Vec::with_capacity(size);
        for offset in 0..size {
            let id = start + offset as i64;
            let (kind, industry) = *random.pick(COMPANY_KINDS);
            let name = format!(
                "{} {} {}",
                random.pick(COMPANY_WORDS),
                kind,
                random.pick(COMPANY_SUFFIXES)
            );
            let domain = format!("{}-{id}.example", ascii_slug(&name));
            let created_at = random.between(two_years_ago, now);
            companies_info.push((name.clone(), domain.clone()));
            rows.push(NewCompany {
                id,
                sort_name: name.to_lowercase(),
                name,
                domain: Some(domain),
                industry: Some(industry.to_owned()),
                employee_count: Some(
                    [5, 12, 40, 150, 600, 2_500, 12_000][random.below(7) as usize]
                        + random.below(10) as i32,
                ),
                phone: random.chance(80).then(|| phone(&mut random)),
                address: random.chance(70).then(|| address(&mut random)),
                owner_id: Some(owner(&mut random)),
                last_activity_at: None,
                created_at,
                updated_at: random.between(created_at, now),
            });
        }
        db::write(conn, |conn| {
            insert_chunked!(conn, companies::table, rows, 12);
            search::index_companies_range(conn, start, start + size as i64 - 1)
        })?;
        written += size;
    }
    seeded.companies = company_count as u64;

    // Contacts, with their emails, phones, tags and timeline, BATCH per transaction.
    let first_contact = next_id(conn, "contacts")?;
    let dropped = if contact_count >= BULK {
        drop_indexes(conn)?
    } else {
        Vec::new()
    };
    let mut load = |conn: &mut Conn| -> QueryResult<()> {
        let mut written = 0;
        while written < contact_count {
            let size = (contact_count - written).min(BATCH);
            let start = first_contact + written as i64;
            let mut people = Vec::with_capacity(size);
            let mut emails = Vec::with_capacity(size + size / 5);
            let mut phones = Vec::with_capacity(size);
            let mut tagged = Vec::with_capacity(size);
            let mut entries = Vec::with_capacity(size * 2);
            for offset in 0..size {
                let id = start + offset as i64;
                let first = *random.pick(FIRST_NAMES);
                let last = *random.pick(LAST_NAMES);
                let works_at = (company_count > 0 && random.chance(85)).then(|| {
                    let index = random.below(company_count as u64) as usize;
                    (first_company + index as i64, index)
                });
                let stage_roll = random.below(100);
                let stage = STAGES
                    .iter()
                    .find(|(_, upto)| stage_roll < *upto)
                    .map_or("lead", |(stage, _)| *stage);
                let owner_id = owner(&mut random);
                let sort_name = format!("{last} {first}").to_lowercase();
                let created_at = random.between(two_years_ago, now);
                let person = format!("{}.{}", ascii_slug(first), ascii_slug(last));
                let domain = match works_at {
                    Some((_, index)) => companies_info[index].1.clone(),
                    None => format!("mail{}.example", random.below(20)),
                };
                emails.push(NewEmail {
                    contact_id: id,
                    email: format!("{person}.{id}@{domain}"),
                    is_primary: true,
                });
                if random.chance(15) {
                    emails.push(NewEmail {
                        contact_id: id,
                        email: format!("{person}{}@home{}.example", id % 97, random.below(9)),
                        is_primary: false,
                    });
                }
                if random.chance(70) {
                    phones.push(NewPhone {
                        contact_id: id,
                        phone: phone(&mut random),
                        is_primary: true,
                    });
                }
                for (tag_id, percent) in &tag_ids {
                    if random.chance(*percent) {
                        tagged.push(NewContactTag {
                            contact_id: id,
                            tag_id: *tag_id,
                            owner_id: Some(owner_id),
                            sort_name: sort_name.clone(),
                        });
                    }
                }
                let busy = offset % BUSY_EVERY == BUSY_EVERY - 1;
                let entry_count = if busy {
                    seeded.busy_contact.get_or_insert(id);
                    BUSY_ENTRIES
                } else {
                    [0, 1, 1, 2, 2, 3][random.below(6) as usize]
                };
                let since = created_at.max(a_year_ago);
                let mut last_activity: Option<NaiveDateTime> = None;
                for _ in 0..entry_count {
                    let occurred_at = random.between(since, now);
                    last_activity = last_activity.max(Some(occurred_at));
                    let roll = random.below(10);
                    let (kind, body, outcome, duration) = if roll < 5 {
                        ("note", *random.pick(NOTES), None, None)
                    } else if roll < 9 {
                        let (body, outcome) = *random.pick(CALLS);
                        let minutes = 2 + random.below(40) as i32;
                        ("call", body, Some(outcome), Some(minutes))
                    } else {
                        ("meeting", *random.pick(MEETINGS), None, Some(30))
                    };
                    entries.push(NewEntry {
                        contact_id: Some(id),
                        company_id: works_at.map(|(company_id, _)| company_id),
                        kind,
                        author_id: Some(owner_id),
                        occurred_at,
                        body,
                        outcome,
                        duration_minutes: duration,
                        created_at: occurred_at,
                    });
                }
                people.push(NewContact {
                    id,
                    first_name: first,
                    last_name: last,
                    sort_name,
                    job_title: random.chance(80).then(|| *random.pick(JOB_TITLES)),
                    company_id: works_at.map(|(company_id, _)| company_id),
                    owner_id: Some(owner_id),
                    lifecycle_stage: stage,
                    address: random.chance(40).then(|| address(&mut random)),
                    last_activity_at: last_activity,
                    created_at,
                    updated_at: random.between(created_at, now),
                });
                if let Some((_, index)) = works_at {
                    company_activity[index] = company_activity[index].max(last_activity);
                }
            }
            db::write(conn, |conn| {
                insert_chunked!(conn, contacts::table, people, 12);
                insert_chunked!(conn, contact_emails::table, emails, 3);
                insert_chunked!(conn, contact_phones::table, phones, 3);
                insert_chunked!(conn, contact_tags::table, tagged, 4);
                insert_chunked!(conn, timeline_entries::table, entries, 9);
                search::index_contacts_range(conn, start, start + size as i64 - 1)
            })?;
            seeded.timeline_entries += entries.len() as u64;
            written += size;
            progress(written);
        }
        Ok(())
    };
    let loaded = load(conn);
    // Rebuild what was dropped even when the load failed half-way.
    let rebuilt = restore_indexes(conn, &dropped);
    loaded?;
    rebuilt?;
    db::write(conn, |conn| {
        for (index, at) in company_activity.iter().enumerate() {
            if let Some(at) = at {
                diesel::update(companies::table.find(first_company + index as i64))
                    .set(companies::last_activity_at.eq(at))
                    .execute(conn)?;
            }
        }
        Ok::<_, diesel::result::Error>(())
    })?;
    seeded.contacts = contact_count as u64;
    if contact_count > 0 {
        seeded.first_contact = Some(first_contact);
        seeded.last_contact = Some(first_contact + contact_count as i64 - 1);
    }
    Ok(seeded)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_plain_ascii_words_joined_by_dashes() {
        assert_eq!(ascii_slug("Chloé"), "chloe");
        assert_eq!(ascii_slug("O'Brien"), "o-brien");
        assert_eq!(ascii_slug("Acme Foods & Co."), "acme-foods-co");
    }

    #[test]
    fn the_generator_stays_in_bounds() {
        let mut random = Random(1);
        assert!((0..1_000).all(|_| random.below(7) < 7));
    }
}
