//! `rapport seed-demo --open-deals N --closed-deals M`: a demo pipeline of eight stages with
//! open deals spread over its stages and closed (won and lost) deals, each with the stage
//! history a real deal would leave in `deal_stage_moves`: created in the first stages,
//! moving forward (now and then skipping a stage or stepping back one), and ending won or
//! lost at some stage with a reason. One stage ("Proposal sent") is slow and loses many
//! deals, so the pipeline report has a bottleneck to show.
//!
//! Deals are generated in order of creation (ids grow with time, as in real use) and written
//! with multi-row inserts, `BATCH` deals with their moves and contacts per immediate
//! transaction. Ids are assigned here, after the current maximum, which is safe because each
//! batch holds the write lock. The data is deterministic: the same demo every run.

use std::collections::HashMap;

use chrono::{Duration, NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use crate::db::schema::{
    companies, contacts, deal_contacts, deal_stage_moves, deals, pipeline_stages, pipelines,
};
use crate::db::{self, Conn};

/// Deals (with their moves and contacts) written per transaction.
pub const BATCH: usize = 10_000;

const DEALS_PER_STATEMENT: usize = 100;

/// SQLite refuses statements with more bound parameters than this.
const MAX_PARAMETERS: usize = 32_766;

/// The name of the demo pipeline; a number is added when it is taken.
pub const PIPELINE_NAME: &str = "New business (demo)";

/// A stage of the demo pipeline and how demo deals behave in it.
struct DemoStage {
    name: &'static str,
    win_probability: i32,
    rotting_days: Option<i32>,
    /// The average stay, in days.
    mean_days: i64,
    /// The chance (percent) that a deal reaching this stage is lost in it.
    loss_percent: u64,
    /// The relative number of open deals sitting in this stage.
    open_weight: u64,
}

const STAGES: [DemoStage; 8] = [
    DemoStage {
        name: "Lead in",
        win_probability: 5,
        rotting_days: Some(7),
        mean_days: 3,
        loss_percent: 22,
        open_weight: 20,
    },
    DemoStage {
        name: "Qualified",
        win_probability: 10,
        rotting_days: Some(10),
        mean_days: 5,
        loss_percent: 12,
        open_weight: 17,
    },
    DemoStage {
        name: "Discovery call",
        win_probability: 20,
        rotting_days: Some(14),
        mean_days: 6,
        loss_percent: 10,
        open_weight: 15,
    },
    DemoStage {
        name: "Demo",
        win_probability: 35,
        rotting_days: Some(14),
        mean_days: 8,
        loss_percent: 12,
        open_weight: 13,
    },
    DemoStage {
        name: "Proposal sent",
        win_probability: 50,
        rotting_days: Some(21),
        mean_days: 19,
        loss_percent: 34,
        open_weight: 14,
    },
    DemoStage {
        name: "Negotiation",
        win_probability: 65,
        rotting_days: Some(21),
        mean_days: 10,
        loss_percent: 16,
        open_weight: 9,
    },
    DemoStage {
        name: "Contract sent",
        win_probability: 80,
        rotting_days: Some(10),
        mean_days: 6,
        loss_percent: 9,
        open_weight: 7,
    },
    DemoStage {
        name: "Verbal commit",
        win_probability: 90,
        rotting_days: Some(7),
        mean_days: 4,
        loss_percent: 4,
        open_weight: 5,
    },
];

/// What is sold, and for how much (whole units of the deal's currency).
const PRODUCTS: &[(&str, i64, i64)] = &[
    ("Starter plan", 1_500, 6_000),
    ("Team plan", 6_000, 25_000),
    ("Enterprise licence", 25_000, 150_000),
    ("Onboarding package", 2_000, 10_000),
    ("Annual renewal", 5_000, 60_000),
    ("Seat expansion", 3_000, 40_000),
    ("Support upgrade", 2_500, 15_000),
    ("Data migration", 4_000, 30_000),
];

/// Currencies and how often (percent) a deal is in each: mostly one.
const CURRENCIES: &[(&str, u64)] = &[("USD", 82), ("EUR", 12), ("GBP", 6)];

const SOURCES: &[&str] = &[
    "Website",
    "Referral",
    "Outbound",
    "Event",
    "Partner",
    "Inbound call",
    "Webinar",
];

const LOST_REASONS: &[&str] = &[
    "Price too high",
    "Went with a competitor",
    "No budget this year",
    "Went silent",
    "Timing: revisit next year",
    "Missing feature",
    "Chose to build in-house",
];

/// Customer names for titles when the database has no companies yet.
const FALLBACK_CUSTOMERS: &[&str] = &[
    "Northwind",
    "Blue Harbor",
    "Keystone Labs",
    "Pioneer Foods",
    "Summit Logistics",
    "Evergreen Health",
    "Atlas Retail",
    "Brightline Media",
    "Cobalt Systems",
    "Redwood Legal",
];

/// How many deals to write.
#[derive(Debug, Clone, Copy, Default)]
pub struct DealCounts {
    pub open: usize,
    pub closed: usize,
}

/// What was written.
#[derive(Debug, Clone, Default)]
pub struct SeededDeals {
    pub pipeline_id: i64,
    pub pipeline_name: String,
    pub open: u64,
    pub won: u64,
    pub lost: u64,
    pub moves: u64,
    pub deal_contacts: u64,
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

    /// Uniform in `0..bound` (`bound` > 0).
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

    /// A stay of `mean_days` on average (the sum of two uniform draws: rarely very short,
    /// never more than twice the mean), in seconds.
    fn stay(&mut self, mean_days: i64) -> i64 {
        let span = (mean_days * 86_400).max(1) as u64;
        (self.below(span) + self.below(span)) as i64
    }

    /// An index into `weights`, drawn in proportion to them.
    fn weighted(&mut self, weights: impl Iterator<Item = u64> + Clone) -> usize {
        let total: u64 = weights.clone().sum();
        let mut roll = self.below(total);
        for (index, weight) in weights.enumerate() {
            if roll < weight {
                return index;
            }
            roll -= weight;
        }
        0
    }
}

#[derive(Insertable)]
#[diesel(table_name = deals)]
struct NewDeal {
    id: i64,
    title: String,
    value_minor: i64,
    currency: &'static str,
    expected_close_on: Option<NaiveDate>,
    owner_id: Option<i64>,
    company_id: Option<i64>,
    pipeline_id: i64,
    stage_id: i64,
    status: &'static str,
    source: Option<&'static str>,
    lost_reason: Option<&'static str>,
    stage_entered_at: NaiveDateTime,
    closed_at: Option<NaiveDateTime>,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

#[derive(Insertable)]
#[diesel(table_name = deal_stage_moves)]
struct NewMove {
    deal_id: i64,
    from_stage_id: Option<i64>,
    to_stage_id: Option<i64>,
    from_status: Option<&'static str>,
    to_status: &'static str,
    moved_by: Option<i64>,
    moved_at: NaiveDateTime,
}

#[derive(Insertable)]
#[diesel(table_name = deal_contacts)]
struct NewDealContact {
    deal_id: i64,
    contact_id: i64,
}

/// Inserts `rows` in statements that stay under SQLite's parameter limit.
macro_rules! insert_chunked {
    ($conn:expr, $table:expr, $rows:expr, $columns:expr) => {{
        for chunk in $rows.chunks(MAX_PARAMETERS / $columns) {
            diesel::insert_into($table).values(chunk).execute($conn)?;
        }
    }};
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Open,
    Won,
    Lost,
}

impl Outcome {
    fn status(self) -> &'static str {
        match self {
            Outcome::Open => "open",
            Outcome::Won => "won",
            Outcome::Lost => "lost",
        }
    }
}

/// The stages (indexes into `STAGES`) a deal visits, in order, and how it ends.
fn path(random: &mut Random, outcome: Outcome, open_in: usize) -> (Vec<usize>, Outcome) {
    let last = STAGES.len() - 1;
    let start = match random.below(100) {
        0..=84 => 0,
        85..=94 => 1,
        _ => 2,
    };
    let mut stages = Vec::with_capacity(STAGES.len() + 1);
    let mut stepped_back = false;
    let mut at = if outcome == Outcome::Open {
        start.min(open_in)
    } else {
        start
    };
    loop {
        stages.push(at);
        match outcome {
            Outcome::Open => {
                if at == open_in {
                    return (stages, Outcome::Open);
                }
            }
            _ => {
                if random.chance(STAGES[at].loss_percent) {
                    return (stages, Outcome::Lost);
                }
                if at == last {
                    return (stages, Outcome::Won);
                }
            }
        }
        let limit = if outcome == Outcome::Open {
            open_in
        } else {
            last
        };
        if !stepped_back && at > 0 && random.chance(3) {
            stepped_back = true;
            at -= 1;
        } else if at + 2 <= limit && random.chance(7) {
            at += 2;
        } else {
            at += 1;
        }
    }
}

/// The users, companies and contacts the demo deals belong to.
struct Cast {
    owners: Vec<i64>,
    /// (id, name) of live companies.
    companies: Vec<(i64, String)>,
    /// A few live contacts of each company.
    contacts: HashMap<i64, Vec<i64>>,
}

/// Companies used for deals (the first ones by id) and contacts kept per company.
const COMPANY_SAMPLE: i64 = 20_000;
const CONTACTS_PER_COMPANY: usize = 3;

fn load_cast(conn: &mut Conn, owners: &[i64]) -> QueryResult<Cast> {
    let companies: Vec<(i64, String)> = companies::table
        .filter(companies::archived_at.is_null())
        .order(companies::id.asc())
        .limit(COMPANY_SAMPLE)
        .select((companies::id, companies::name))
        .load(conn)?;
    let mut contacts: HashMap<i64, Vec<i64>> = HashMap::new();
    if let (Some((first, _)), Some((last, _))) = (companies.first(), companies.last()) {
        let rows: Vec<(Option<i64>, i64)> = contacts::table
            .filter(contacts::archived_at.is_null())
            .filter(contacts::company_id.between(*first, *last))
            .order((contacts::company_id.asc(), contacts::id.asc()))
            .select((contacts::company_id, contacts::id))
            .load(conn)?;
        for (company_id, contact_id) in rows {
            if let Some(company_id) = company_id {
                let people = contacts.entry(company_id).or_default();
                if people.len() < CONTACTS_PER_COMPANY {
                    people.push(contact_id);
                }
            }
        }
    }
    Ok(Cast {
        owners: owners.to_vec(),
        companies,
        contacts,
    })
}

/// Creates the demo pipeline and its stages; returns its id, name and stage ids (in order).
fn create_pipeline(conn: &mut Conn, now: NaiveDateTime) -> QueryResult<(i64, String, Vec<i64>)> {
    db::write(conn, |conn| {
        let taken: Vec<String> = pipelines::table.select(pipelines::name).load(conn)?;
        let name = (1..)
            .map(|n| {
                if n == 1 {
                    PIPELINE_NAME.to_owned()
                } else {
                    format!("{PIPELINE_NAME} {n}")
                }
            })
            .find(|name| !taken.contains(name))
            .unwrap_or_else(|| PIPELINE_NAME.to_owned());
        let position: Option<i32> = pipelines::table
            .select(diesel::dsl::max(pipelines::position))
            .first(conn)?;
        let pipeline_id: i64 = diesel::insert_into(pipelines::table)
            .values((
                pipelines::name.eq(&name),
                pipelines::position.eq(position.map_or(0, |p| p + 1)),
                pipelines::created_at.eq(now),
                pipelines::updated_at.eq(now),
            ))
            .returning(pipelines::id)
            .get_result(conn)?;
        let mut stage_ids = Vec::with_capacity(STAGES.len());
        for (position, stage) in STAGES.iter().enumerate() {
            let id: i64 = diesel::insert_into(pipeline_stages::table)
                .values((
                    pipeline_stages::pipeline_id.eq(pipeline_id),
                    pipeline_stages::name.eq(stage.name),
                    pipeline_stages::position.eq(position as i32),
                    pipeline_stages::win_probability.eq(stage.win_probability),
                    pipeline_stages::rotting_days.eq(stage.rotting_days),
                    pipeline_stages::created_at.eq(now),
                    pipeline_stages::updated_at.eq(now),
                ))
                .returning(pipeline_stages::id)
                .get_result(conn)?;
            stage_ids.push(id);
        }
        Ok((pipeline_id, name, stage_ids))
    })
}

fn next_id(conn: &mut Conn) -> QueryResult<i64> {
    let max: Option<i64> = deals::table
        .select(diesel::dsl::max(deals::id))
        .first(conn)?;
    Ok(max.unwrap_or(0) + 1)
}

/// The rows of one deal: the deal, its moves and its contacts.
struct Generated {
    deal: NewDeal,
    moves: Vec<NewMove>,
    contacts: Vec<NewDealContact>,
}

/// What every generated deal shares.
struct Setting<'a> {
    cast: &'a Cast,
    stage_ids: &'a [i64],
    pipeline_id: i64,
    now: NaiveDateTime,
}

/// One demo deal created at `created_at`, open (in a stage drawn by the open weights) or
/// closed, with a history that ends before now.
fn generate(
    random: &mut Random,
    setting: &Setting<'_>,
    id: i64,
    created_at: NaiveDateTime,
    closed: bool,
) -> Generated {
    let Setting {
        cast,
        stage_ids,
        pipeline_id,
        now,
    } = *setting;
    let open_in = random.weighted(STAGES.iter().map(|stage| stage.open_weight));
    let outcome = if closed { Outcome::Won } else { Outcome::Open };
    let (visited, outcome) = path(random, outcome, open_in);

    // How long each visit lasts. An open deal's last visit is still going on.
    let mut stays: Vec<i64> = visited
        .iter()
        .map(|&stage| random.stay(STAGES[stage].mean_days))
        .collect();
    if outcome == Outcome::Open {
        stays.pop();
    }
    // The history must end before now: squeeze it into the time there is.
    let room = (now - created_at).num_seconds() - 3_600;
    let total: i64 = stays.iter().sum();
    if total > room && total > 0 {
        let room = room.max(0);
        for stay in &mut stays {
            *stay = (i128::from(*stay) * i128::from(room) / i128::from(total)) as i64;
        }
    }

    let owner_id = Some(*random.pick(&cast.owners));
    let company = (!cast.companies.is_empty() && random.chance(88))
        .then(|| random.pick(&cast.companies).clone());
    let (product, low, high) = *random.pick(PRODUCTS);
    let whole = low + random.below((high - low) as u64) as i64;
    let currency = CURRENCIES[random.weighted(CURRENCIES.iter().map(|(_, weight)| *weight))].0;
    let value_minor = (whole / 50 * 50) * 100;
    let customer = match &company {
        Some((_, name)) => name.clone(),
        None => (*random.pick(FALLBACK_CUSTOMERS)).to_owned(),
    };
    let title = format!("{customer}: {product}");

    let mut moves = Vec::with_capacity(visited.len() + 1);
    let mut at = created_at;
    let mut entered_at = created_at;
    for (index, &stage) in visited.iter().enumerate() {
        if index == 0 {
            moves.push(NewMove {
                deal_id: id,
                from_stage_id: None,
                to_stage_id: Some(stage_ids[stage]),
                from_status: None,
                to_status: "open",
                moved_by: owner_id,
                moved_at: at,
            });
        } else {
            at += Duration::seconds(stays[index - 1]);
            entered_at = at;
            moves.push(NewMove {
                deal_id: id,
                from_stage_id: Some(stage_ids[visited[index - 1]]),
                to_stage_id: Some(stage_ids[stage]),
                from_status: Some("open"),
                to_status: "open",
                moved_by: owner_id,
                moved_at: at,
            });
        }
    }
    let final_stage = visited.last().copied().unwrap_or(0);
    let closed_at = (outcome != Outcome::Open).then(|| {
        at += Duration::seconds(stays.last().copied().unwrap_or(0));
        moves.push(NewMove {
            deal_id: id,
            from_stage_id: Some(stage_ids[final_stage]),
            to_stage_id: Some(stage_ids[final_stage]),
            from_status: Some("open"),
            to_status: outcome.status(),
            moved_by: owner_id,
            moved_at: at,
        });
        at
    });

    let expected_close_on = match closed_at {
        Some(closed_at) => Some((closed_at + Duration::days(random.below(30) as i64 - 15)).date()),
        // Later stages are expected to close sooner; some dates have already slipped.
        None => {
            let remaining = (STAGES.len() - final_stage) as i64 * 12;
            let days = remaining + random.below(50) as i64 - 20;
            random
                .chance(94)
                .then(|| (now + Duration::days(days)).date())
        }
    };

    let mut people = Vec::new();
    if let Some((company_id, _)) = &company
        && let Some(known) = cast.contacts.get(company_id)
    {
        let wanted = match random.below(10) {
            0 => 0,
            1..=7 => 1,
            _ => 2,
        };
        for contact_id in known.iter().take(wanted) {
            people.push(NewDealContact {
                deal_id: id,
                contact_id: *contact_id,
            });
        }
    }

    Generated {
        deal: NewDeal {
            id,
            title,
            value_minor,
            currency,
            expected_close_on,
            owner_id,
            company_id: company.map(|(id, _)| id),
            pipeline_id,
            stage_id: stage_ids[final_stage],
            status: outcome.status(),
            source: random.chance(90).then(|| *random.pick(SOURCES)),
            lost_reason: (outcome == Outcome::Lost).then(|| *random.pick(LOST_REASONS)),
            stage_entered_at: entered_at,
            closed_at,
            created_at,
            updated_at: at.max(entered_at),
        },
        moves,
        contacts: people,
    }
}

/// Creates the demo pipeline and writes `counts.open` open and `counts.closed` closed deals
/// in it, owned by `owners` (which must not be empty), with times up to `now`: closed deals
/// were created over the last two years, open ones over the last five months. Companies and
/// contacts already in the database are used when there are some. `progress` is called
/// after each batch with the number of deals written so far.
pub fn seed_deals(
    conn: &mut Conn,
    now: NaiveDateTime,
    owners: &[i64],
    counts: DealCounts,
    mut progress: impl FnMut(usize),
) -> QueryResult<SeededDeals> {
    let cast = load_cast(conn, owners)?;
    let (pipeline_id, pipeline_name, stage_ids) = create_pipeline(conn, now)?;
    let mut seeded = SeededDeals {
        pipeline_id,
        pipeline_name,
        ..SeededDeals::default()
    };
    if cast.owners.is_empty() {
        return Ok(seeded);
    }
    let mut random = Random(0xDEA1_5EED ^ ((counts.open as u64) << 32) ^ counts.closed as u64);

    // When each deal was created, oldest first, so that ids grow with time.
    let mut creations: Vec<(NaiveDateTime, bool)> = Vec::with_capacity(counts.open + counts.closed);
    let two_years_ago = now - Duration::days(730);
    let five_months_ago = now - Duration::days(150);
    for _ in 0..counts.closed {
        creations.push((random.between(two_years_ago, now - Duration::days(1)), true));
    }
    for _ in 0..counts.open {
        creations.push((
            random.between(five_months_ago, now - Duration::hours(1)),
            false,
        ));
    }
    creations.sort_unstable_by_key(|(at, _)| *at);

    let setting = Setting {
        cast: &cast,
        stage_ids: &stage_ids,
        pipeline_id,
        now,
    };
    let first_id = next_id(conn)?;
    for (batch_number, batch) in creations.chunks(BATCH).enumerate() {
        let start = first_id + (batch_number * BATCH) as i64;
        let mut new_deals = Vec::with_capacity(batch.len());
        let mut new_moves = Vec::with_capacity(batch.len() * 6);
        let mut new_contacts = Vec::with_capacity(batch.len());
        for (offset, (created_at, closed)) in batch.iter().enumerate() {
            let generated = generate(
                &mut random,
                &setting,
                start + offset as i64,
                *created_at,
                *closed,
            );
            match generated.deal.status {
                "won" => seeded.won += 1,
                "lost" => seeded.lost += 1,
                _ => seeded.open += 1,
            }
            new_deals.push(generated.deal);
            new_moves.extend(generated.moves);
            new_contacts.extend(generated.contacts);
        }
        db::write(conn, |conn| {
            // Deals go in short statements: every open one fires the trigger that keeps the
            // board's totals, and each firing walks the statement's undo journal, so the cost
            // of a statement grows with the square of its rows.
            for deals_chunk in new_deals.chunks(DEALS_PER_STATEMENT) {
                diesel::insert_into(deals::table)
                    .values(deals_chunk)
                    .execute(conn)?;
            }
            insert_chunked!(conn, deal_stage_moves::table, new_moves, 7);
            insert_chunked!(conn, deal_contacts::table, new_contacts, 2);
            Ok::<_, diesel::result::Error>(())
        })?;
        seeded.moves += new_moves.len() as u64;
        seeded.deal_contacts += new_contacts.len() as u64;
        progress(batch_number * BATCH + batch.len());
    }
    Ok(seeded)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closed_paths_move_forward_and_end_won_or_lost() {
        let mut random = Random(7);
        for _ in 0..2_000 {
            let (visited, outcome) = path(&mut random, Outcome::Won, 0);
            assert!(!visited.is_empty());
            assert_ne!(outcome, Outcome::Open);
            if outcome == Outcome::Won {
                assert_eq!(visited.last(), Some(&(STAGES.len() - 1)));
            }
            let backs = visited.windows(2).filter(|pair| pair[1] < pair[0]).count();
            assert!(backs <= 1, "at most one step back: {visited:?}");
        }
    }

    #[test]
    fn open_paths_end_in_their_stage() {
        let mut random = Random(11);
        for open_in in 0..STAGES.len() {
            for _ in 0..200 {
                let (visited, outcome) = path(&mut random, Outcome::Open, open_in);
                assert_eq!(outcome, Outcome::Open);
                assert_eq!(visited.last(), Some(&open_in));
                assert!(visited.iter().all(|&stage| stage <= open_in));
            }
        }
    }

    #[test]
    fn weighted_draws_stay_in_bounds() {
        let mut random = Random(3);
        for _ in 0..1_000 {
            assert!(random.weighted([1_u64, 0, 5].into_iter()) != 1);
        }
    }
}
