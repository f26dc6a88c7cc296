//! The scoring rules as admins store them: rows of `scoring_rules`, `scoring_groups` and
//! `scoring_grades`, turned into the engine's `RuleSet`, and the forms that add them.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Deserialize;

use super::engine::{
    AttributeRule, BehaviourRule, Condition, Counting, Field, Grade, GradeScale, Group, Operator,
    Points, PropertyFilter, RuleSet,
};
use crate::app_settings;
use crate::db::Conn;
use crate::db::schema::{scoring_grades, scoring_groups, scoring_rules};
use crate::error::FieldErrors;

const RULES_VERSION: &str = "scoring_rules_version";
const TOTAL_CAP: &str = "scoring_total_cap";
const RESCORE_REASON: &str = "scoring_rescore_reason";
pub const MAX_HALF_LIFE_DAYS: i32 = 3650;
const MAX_NAME: usize = 80;

/// The version of the rules: every change bumps it, and leads scored with an older one are
/// rescored in the background.
pub fn version(conn: &mut Conn) -> QueryResult<i64> {
    Ok(app_settings::get(conn, RULES_VERSION)?
        .and_then(|value| value.parse().ok())
        .unwrap_or(1))
}

/// Marks every lead for rescoring after a change of the rules, in the caller's transaction.
pub fn bump_version(conn: &mut Conn) -> QueryResult<i64> {
    bump_version_because(conn, RULES_CHANGED)
}

/// The reason the score history gives for the background rescoring by default.
pub const RULES_CHANGED: &str = "scoring rules changed";

/// Marks every lead for rescoring; `reason` is what their score history will say.
pub fn bump_version_because(conn: &mut Conn, reason: &str) -> QueryResult<i64> {
    let next = version(conn)? + 1;
    app_settings::set(conn, RULES_VERSION, &next.to_string())?;
    app_settings::set(conn, RESCORE_REASON, reason)?;
    Ok(next)
}

/// Why the leads behind the current version are being rescored.
pub fn rescore_reason(conn: &mut Conn) -> QueryResult<String> {
    Ok(app_settings::get(conn, RESCORE_REASON)?.unwrap_or_else(|| RULES_CHANGED.to_owned()))
}

/// Whether any behaviour rule decays (has a half-life), so scores move with time alone.
pub fn any_decaying(conn: &mut Conn) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        scoring_rules::table
            .filter(scoring_rules::kind.eq("behaviour"))
            .filter(scoring_rules::half_life_days.is_not_null()),
    ))
    .get_result(conn)
}

pub fn total_cap(conn: &mut Conn) -> QueryResult<Option<Points>> {
    Ok(app_settings::get(conn, TOTAL_CAP)?
        .and_then(|value| value.parse().ok())
        .map(Points))
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = scoring_rules, check_for_backend(diesel::sqlite::Sqlite))]
pub struct RuleRow {
    pub id: i64,
    pub kind: String,
    pub group_id: Option<i64>,
    pub field: Option<String>,
    pub operator: Option<String>,
    pub value: Option<String>,
    pub event_name: Option<String>,
    pub filter_key: Option<String>,
    pub filter_operator: Option<String>,
    pub filter_value: Option<String>,
    pub counting: Option<String>,
    pub rule_cap: Option<i64>,
    pub half_life_days: Option<i32>,
    pub points: i64,
    pub position: i32,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub version: i32,
}

/// A stored rule in the engine's terms (rows the engine cannot read are skipped: the
/// database only holds what the forms below wrote).
pub enum Rule {
    Attribute(AttributeRule),
    Behaviour(BehaviourRule),
}

impl RuleRow {
    pub fn to_rule(&self) -> Option<Rule> {
        let condition = |operator: &Option<String>, value: &Option<String>| {
            Some(Condition {
                operator: Operator::parse(operator.as_deref()?)?,
                value: value.clone().unwrap_or_default(),
            })
        };
        match self.kind.as_str() {
            "attribute" => Some(Rule::Attribute(AttributeRule {
                id: self.id,
                group_id: self.group_id,
                field: Field::parse(self.field.as_deref()?)?,
                condition: condition(&self.operator, &self.value)?,
                points: Points(self.points),
            })),
            "behaviour" => Some(Rule::Behaviour(BehaviourRule {
                id: self.id,
                group_id: self.group_id,
                event_name: self.event_name.clone()?,
                filter: match &self.filter_key {
                    Some(key) => Some(PropertyFilter {
                        key: key.clone(),
                        condition: condition(&self.filter_operator, &self.filter_value)?,
                    }),
                    None => None,
                },
                points: Points(self.points),
                counting: if self.counting.as_deref() == Some("each") {
                    Counting::EachOccurrence
                } else {
                    Counting::Once
                },
                cap: self.rule_cap.map(Points),
                half_life_days: self
                    .half_life_days
                    .and_then(|days| u32::try_from(days).ok()),
            })),
            _ => None,
        }
    }
}

pub fn rows(conn: &mut Conn) -> QueryResult<Vec<RuleRow>> {
    scoring_rules::table
        .order((scoring_rules::position, scoring_rules::id))
        .select(RuleRow::as_select())
        .load(conn)
}

pub fn groups(conn: &mut Conn) -> QueryResult<Vec<Group>> {
    let rows: Vec<(i64, String, Option<i64>)> = scoring_groups::table
        .order((scoring_groups::position, scoring_groups::id))
        .select((
            scoring_groups::id,
            scoring_groups::name,
            scoring_groups::cap,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(id, name, cap)| Group {
            id,
            name,
            cap: cap.map(Points),
        })
        .collect())
}

pub fn grades(conn: &mut Conn) -> QueryResult<GradeScale> {
    let rows: Vec<(String, Option<i64>)> = scoring_grades::table
        .order(scoring_grades::id)
        .select((scoring_grades::name, scoring_grades::min_points))
        .load(conn)?;
    let lowest = rows
        .iter()
        .find(|(_, min)| min.is_none())
        .map(|(name, _)| name.clone());
    let limits = rows
        .iter()
        .filter_map(|(name, min)| {
            min.map(|min| Grade {
                name: name.clone(),
                min: Points(min),
            })
        })
        .collect();
    Ok(lowest
        .and_then(|lowest| GradeScale::new(limits, lowest).ok())
        .unwrap_or_default())
}

/// Every rule, group, cap and grade, as the engine takes them.
pub fn load(conn: &mut Conn) -> QueryResult<RuleSet> {
    let mut set = RuleSet {
        attribute: Vec::new(),
        behaviour: Vec::new(),
        groups: groups(conn)?,
        total_cap: total_cap(conn)?,
        grades: grades(conn)?,
    };
    for row in rows(conn)? {
        match row.to_rule() {
            Some(Rule::Attribute(rule)) => set.attribute.push(rule),
            Some(Rule::Behaviour(rule)) => set.behaviour.push(rule),
            None => tracing::warn!(rule_id = row.id, "unreadable scoring rule skipped"),
        }
    }
    Ok(set)
}

/// The rule form: one form for both kinds, `kind` tells which fields count.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct RuleForm {
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub group_id: String,
    #[serde(default)]
    pub field: String,
    #[serde(default)]
    pub operator: String,
    #[serde(default)]
    pub value: String,
    #[serde(default)]
    pub event_name: String,
    #[serde(default)]
    pub filter_key: String,
    #[serde(default)]
    pub filter_operator: String,
    #[serde(default)]
    pub filter_value: String,
    #[serde(default)]
    pub counting: String,
    #[serde(default)]
    pub cap: String,
    #[serde(default)]
    pub half_life_days: String,
    #[serde(default)]
    pub points: String,
    /// "preview" shows what the rule would change; anything else saves it.
    #[serde(default)]
    pub intent: String,
}

fn text(raw: &str, what: &str, max: usize) -> Result<String, String> {
    let value = raw.trim();
    if value.is_empty() {
        return Err(format!("Enter {what}."));
    }
    if value.chars().count() > max || value.chars().any(char::is_control) {
        return Err(format!(
            "{what} must be one line of at most {max} characters."
        ));
    }
    Ok(value.to_owned())
}

fn optional_points(raw: &str) -> Result<Option<Points>, String> {
    match raw.trim() {
        "" => Ok(None),
        raw => match Points::parse(raw)? {
            points if points.0 > 0 => Ok(Some(points)),
            _ => Err("A cap must be more than 0 points.".to_owned()),
        },
    }
}

impl RuleForm {
    /// A rule (id 0) ready to preview or store, or the reasons it is not.
    pub fn parse(&self, groups: &[Group]) -> Result<Rule, FieldErrors> {
        let mut errors = FieldErrors::new();
        let group_id = match self.group_id.trim() {
            "" => None,
            raw => match raw.parse::<i64>() {
                Ok(id) if groups.iter().any(|group| group.id == id) => Some(id),
                _ => {
                    errors.add("group_id", "Choose a group from the list.");
                    None
                }
            },
        };
        let points = errors.take("points", Points::parse(&self.points));
        let condition = |field: &'static str,
                         operator: &str,
                         value: &str,
                         numeric: bool,
                         errors: &mut FieldErrors|
         -> Option<Condition> {
            let Some(operator) = Operator::parse(operator.trim()) else {
                errors.add(field, "Choose an operator from the list.");
                return None;
            };
            let condition = Condition {
                operator,
                value: value.trim().to_owned(),
            };
            errors.take(field, condition.validate(numeric).map(|()| condition))
        };
        let rule = match self.kind.as_str() {
            "attribute" => {
                let field = Field::parse(self.field.trim());
                if field.is_none() {
                    errors.add("field", "Choose a lead field from the list.");
                }
                let condition = condition(
                    "value",
                    &self.operator,
                    &self.value,
                    field.is_some_and(Field::is_numeric),
                    &mut errors,
                );
                match (field, condition, points) {
                    (Some(field), Some(condition), Some(points)) => {
                        Some(Rule::Attribute(AttributeRule {
                            id: 0,
                            group_id,
                            field,
                            condition,
                            points,
                        }))
                    }
                    _ => None,
                }
            }
            "behaviour" => {
                let event_name = errors.take(
                    "event_name",
                    text(&self.event_name, "an event name", MAX_NAME),
                );
                let filter = match self.filter_key.trim() {
                    "" => None,
                    key => condition(
                        "filter_value",
                        &self.filter_operator,
                        &self.filter_value,
                        false,
                        &mut errors,
                    )
                    .map(|condition| PropertyFilter {
                        key: key.to_owned(),
                        condition,
                    }),
                };
                let counting = match self.counting.as_str() {
                    "each" => Counting::EachOccurrence,
                    _ => Counting::Once,
                };
                let cap = errors.take("cap", optional_points(&self.cap)).flatten();
                let half_life_days = errors
                    .take(
                        "half_life_days",
                        match self.half_life_days.trim() {
                            "" => Ok(None),
                            raw => match raw.parse::<u32>() {
                                Ok(days) if (1..=MAX_HALF_LIFE_DAYS as u32).contains(&days) => {
                                    Ok(Some(days))
                                }
                                _ => Err(format!(
                                    "Enter a half-life of 1 to {MAX_HALF_LIFE_DAYS} days, or leave it empty for none."
                                )),
                            },
                        },
                    )
                    .flatten();
                match (event_name, points) {
                    (Some(event_name), Some(points)) if errors.is_empty() => {
                        Some(Rule::Behaviour(BehaviourRule {
                            id: 0,
                            group_id,
                            event_name,
                            filter,
                            points,
                            counting,
                            cap,
                            half_life_days,
                        }))
                    }
                    _ => None,
                }
            }
            _ => {
                errors.add(
                    FieldErrors::FORM,
                    "Choose an attribute or a behaviour rule.",
                );
                None
            }
        };
        match rule {
            Some(rule) if errors.is_empty() => Ok(rule),
            _ => Err(errors),
        }
    }
}

impl RuleForm {
    /// A stored rule as its edit form shows it.
    pub fn of(row: &RuleRow) -> Self {
        let text = |value: &Option<String>| value.clone().unwrap_or_default();
        let points = |value: Option<i64>| value.map(|p| Points(p).unsigned_label());
        Self {
            kind: row.kind.clone(),
            group_id: row.group_id.map(|id| id.to_string()).unwrap_or_default(),
            field: text(&row.field),
            operator: text(&row.operator),
            value: text(&row.value),
            event_name: text(&row.event_name),
            filter_key: text(&row.filter_key),
            filter_operator: text(&row.filter_operator),
            filter_value: text(&row.filter_value),
            counting: text(&row.counting),
            cap: points(row.rule_cap).unwrap_or_default(),
            half_life_days: row
                .half_life_days
                .map(|days| days.to_string())
                .unwrap_or_default(),
            points: Points(row.points).unsigned_label(),
            intent: String::new(),
        }
    }
}

pub fn row(conn: &mut Conn, id: i64) -> QueryResult<Option<RuleRow>> {
    scoring_rules::table
        .find(id)
        .select(RuleRow::as_select())
        .first(conn)
        .optional()
}

/// Replaces a stored rule's settings (it keeps its place in the list); how many rows changed.
pub fn update(conn: &mut Conn, id: i64, rule: &Rule, now: NaiveDateTime) -> QueryResult<usize> {
    let target = scoring_rules::table.find(id);
    match rule {
        Rule::Attribute(rule) => diesel::update(target)
            .set((
                scoring_rules::kind.eq("attribute"),
                scoring_rules::group_id.eq(rule.group_id),
                scoring_rules::field.eq(Some(rule.field.key())),
                scoring_rules::operator.eq(Some(rule.condition.operator.key())),
                scoring_rules::value.eq(Some(&rule.condition.value)),
                scoring_rules::event_name.eq(None::<String>),
                scoring_rules::filter_key.eq(None::<String>),
                scoring_rules::filter_operator.eq(None::<String>),
                scoring_rules::filter_value.eq(None::<String>),
                scoring_rules::counting.eq(None::<String>),
                scoring_rules::rule_cap.eq(None::<i64>),
                scoring_rules::half_life_days.eq(None::<i32>),
                scoring_rules::points.eq(rule.points.0),
                scoring_rules::updated_at.eq(now),
                scoring_rules::version.eq(scoring_rules::version + 1),
            ))
            .execute(conn),
        Rule::Behaviour(rule) => diesel::update(target)
            .set((
                scoring_rules::kind.eq("behaviour"),
                scoring_rules::group_id.eq(rule.group_id),
                scoring_rules::field.eq(None::<String>),
                scoring_rules::operator.eq(None::<String>),
                scoring_rules::value.eq(None::<String>),
                scoring_rules::event_name.eq(Some(&rule.event_name)),
                scoring_rules::filter_key.eq(rule.filter.as_ref().map(|filter| &filter.key)),
                scoring_rules::filter_operator.eq(rule
                    .filter
                    .as_ref()
                    .map(|filter| filter.condition.operator.key())),
                scoring_rules::filter_value
                    .eq(rule.filter.as_ref().map(|filter| &filter.condition.value)),
                scoring_rules::counting.eq(Some(match rule.counting {
                    Counting::Once => "once",
                    Counting::EachOccurrence => "each",
                })),
                scoring_rules::rule_cap.eq(rule.cap.map(|cap| cap.0)),
                scoring_rules::half_life_days.eq(rule
                    .half_life_days
                    .and_then(|days| i32::try_from(days).ok())),
                scoring_rules::points.eq(rule.points.0),
                scoring_rules::updated_at.eq(now),
                scoring_rules::version.eq(scoring_rules::version + 1),
            ))
            .execute(conn),
    }
}

/// Stores a new rule at the end of the list.
pub fn insert(conn: &mut Conn, rule: &Rule, now: NaiveDateTime) -> QueryResult<i64> {
    let position: i32 = scoring_rules::table
        .select(diesel::dsl::max(scoring_rules::position))
        .first::<Option<i32>>(conn)?
        .map_or(0, |last| last + 1);
    let common = (
        scoring_rules::position.eq(position),
        scoring_rules::created_at.eq(now),
        scoring_rules::updated_at.eq(now),
    );
    match rule {
        Rule::Attribute(rule) => diesel::insert_into(scoring_rules::table)
            .values((
                common,
                scoring_rules::kind.eq("attribute"),
                scoring_rules::group_id.eq(rule.group_id),
                scoring_rules::field.eq(rule.field.key()),
                scoring_rules::operator.eq(rule.condition.operator.key()),
                scoring_rules::value.eq(&rule.condition.value),
                scoring_rules::points.eq(rule.points.0),
            ))
            .returning(scoring_rules::id)
            .get_result(conn),
        Rule::Behaviour(rule) => diesel::insert_into(scoring_rules::table)
            .values((
                common,
                scoring_rules::kind.eq("behaviour"),
                scoring_rules::group_id.eq(rule.group_id),
                scoring_rules::event_name.eq(&rule.event_name),
                scoring_rules::filter_key.eq(rule.filter.as_ref().map(|filter| &filter.key)),
                scoring_rules::filter_operator.eq(rule
                    .filter
                    .as_ref()
                    .map(|filter| filter.condition.operator.key())),
                scoring_rules::filter_value
                    .eq(rule.filter.as_ref().map(|filter| &filter.condition.value)),
                scoring_rules::counting.eq(match rule.counting {
                    Counting::Once => "once",
                    Counting::EachOccurrence => "each",
                }),
                scoring_rules::rule_cap.eq(rule.cap.map(|cap| cap.0)),
                scoring_rules::half_life_days.eq(rule
                    .half_life_days
                    .and_then(|days| i32::try_from(days).ok())),
                scoring_rules::points.eq(rule.points.0),
            ))
            .returning(scoring_rules::id)
            .get_result(conn),
    }
}

/// The group form (its inputs are named after the error keys they share a page with).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct GroupForm {
    #[serde(default, rename = "group_name")]
    pub name: String,
    #[serde(default, rename = "group_cap")]
    pub cap: String,
}

impl GroupForm {
    pub fn parse(&self, existing: &[Group]) -> Result<(String, Option<Points>), FieldErrors> {
        let mut errors = FieldErrors::new();
        let name = errors.take("group_name", text(&self.name, "a group name", MAX_NAME));
        if let Some(name) = &name
            && existing
                .iter()
                .any(|group| group.name.eq_ignore_ascii_case(name))
        {
            errors.add("group_name", "A group of that name exists already.");
        }
        let cap = errors.take("group_cap", optional_points(&self.cap));
        match (name, cap) {
            (Some(name), Some(cap)) if errors.is_empty() => Ok((name, cap)),
            _ => Err(errors),
        }
    }
}

pub fn insert_group(
    conn: &mut Conn,
    name: &str,
    cap: Option<Points>,
    now: NaiveDateTime,
) -> QueryResult<i64> {
    let position: i32 = scoring_groups::table
        .select(diesel::dsl::max(scoring_groups::position))
        .first::<Option<i32>>(conn)?
        .map_or(0, |last| last + 1);
    diesel::insert_into(scoring_groups::table)
        .values((
            scoring_groups::name.eq(name),
            scoring_groups::cap.eq(cap.map(|cap| cap.0)),
            scoring_groups::position.eq(position),
            scoring_groups::created_at.eq(now),
            scoring_groups::updated_at.eq(now),
        ))
        .returning(scoring_groups::id)
        .get_result(conn)
}

/// The grades and total cap form: up to three named limits (highest first), the lowest
/// grade's name and the cap on the total.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct GradesForm {
    #[serde(default)]
    pub grade1_name: String,
    #[serde(default)]
    pub grade1_min: String,
    #[serde(default)]
    pub grade2_name: String,
    #[serde(default)]
    pub grade2_min: String,
    #[serde(default)]
    pub grade3_name: String,
    #[serde(default)]
    pub grade3_min: String,
    #[serde(default)]
    pub lowest_name: String,
    #[serde(default)]
    pub total_cap: String,
    #[serde(default)]
    pub intent: String,
}

impl GradesForm {
    pub fn of(scale: &GradeScale, total_cap: Option<Points>) -> Self {
        let grades = scale.grades();
        let pick = |index: usize| {
            grades
                .get(index)
                .map(|grade| (grade.name.clone(), grade.min.unsigned_label()))
                .unwrap_or_default()
        };
        let ((grade1_name, grade1_min), (grade2_name, grade2_min), (grade3_name, grade3_min)) =
            (pick(0), pick(1), pick(2));
        Self {
            grade1_name,
            grade1_min,
            grade2_name,
            grade2_min,
            grade3_name,
            grade3_min,
            lowest_name: scale.lowest().to_owned(),
            total_cap: total_cap.map(Points::unsigned_label).unwrap_or_default(),
            intent: String::new(),
        }
    }

    pub fn parse(&self) -> Result<(GradeScale, Option<Points>), FieldErrors> {
        let mut errors = FieldErrors::new();
        let mut grades = Vec::new();
        for (index, (name, min)) in [
            (&self.grade1_name, &self.grade1_min),
            (&self.grade2_name, &self.grade2_min),
            (&self.grade3_name, &self.grade3_min),
        ]
        .into_iter()
        .enumerate()
        {
            let field: &'static str = ["grade1_min", "grade2_min", "grade3_min"][index];
            match (name.trim(), min.trim()) {
                ("", "") => {}
                ("", _) | (_, "") => {
                    errors.add(field, "Give this grade both a name and a lower limit.");
                }
                (name, min) => {
                    let name = errors.take(field, text(name, "a grade name", 40));
                    let min = errors.take(field, Points::parse(min));
                    if let (Some(name), Some(min)) = (name, min) {
                        // Grade names are kept in lower case: the list filters by them and
                        // the badges are styled by them.
                        grades.push(Grade {
                            name: name.to_lowercase(),
                            min,
                        });
                    }
                }
            }
        }
        let lowest = errors.take(
            "lowest_name",
            text(&self.lowest_name, "a name for the lowest grade", 40)
                .map(|name| name.to_lowercase()),
        );
        let total_cap = errors.take("total_cap", optional_points(&self.total_cap));
        if !errors.is_empty() {
            return Err(errors);
        }
        let (Some(lowest), Some(total_cap)) = (lowest, total_cap) else {
            return Err(errors);
        };
        GradeScale::new(grades, lowest)
            .map(|scale| (scale, total_cap))
            .map_err(|message| FieldErrors::single(FieldErrors::FORM, message))
    }
}

/// Replaces the grades and the total cap, in the caller's transaction.
pub fn store_grades(
    conn: &mut Conn,
    scale: &GradeScale,
    total_cap: Option<Points>,
) -> QueryResult<()> {
    diesel::delete(scoring_grades::table).execute(conn)?;
    for grade in scale.grades() {
        diesel::insert_into(scoring_grades::table)
            .values((
                scoring_grades::name.eq(&grade.name),
                scoring_grades::min_points.eq(Some(grade.min.0)),
            ))
            .execute(conn)?;
    }
    diesel::insert_into(scoring_grades::table)
        .values((
            scoring_grades::name.eq(scale.lowest()),
            scoring_grades::min_points.eq(None::<i64>),
        ))
        .execute(conn)?;
    match total_cap {
        Some(cap) => app_settings::set(conn, TOTAL_CAP, &cap.0.to_string()),
        None => diesel::delete(
            crate::db::schema::app_settings::table
                .filter(crate::db::schema::app_settings::name.eq(TOTAL_CAP)),
        )
        .execute(conn)
        .map(|_| ()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grades_form(top: (&str, &str), lowest: &str) -> GradesForm {
        GradesForm {
            grade1_name: top.0.to_owned(),
            grade1_min: top.1.to_owned(),
            lowest_name: lowest.to_owned(),
            ..GradesForm::default()
        }
    }

    #[test]
    fn grade_names_are_kept_in_lower_case() {
        let (scale, cap) = grades_form(("Hot", "50"), "Cold").parse().expect("valid");
        assert_eq!(scale.grades()[0].name, "hot");
        assert_eq!(scale.lowest(), "cold");
        assert_eq!(cap, None);
    }

    #[test]
    fn a_grade_needs_a_short_one_line_name_and_a_number() {
        let long = "x".repeat(41);
        for (name, min) in [(long.as_str(), "50"), ("hot\nter", "50"), ("hot", "lots")] {
            let errors = grades_form((name, min), "cold")
                .parse()
                .expect_err("invalid");
            assert!(errors.get("grade1_min").is_some(), "{name} {min}");
        }
        let errors = grades_form(("hot", ""), "cold")
            .parse()
            .expect_err("invalid");
        assert!(errors.get("grade1_min").is_some());
    }
}
