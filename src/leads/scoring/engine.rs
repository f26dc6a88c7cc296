//! The scoring engine: pure rules that turn a lead's facts, its behavioural events and any
//! manual adjustments into a score explained line by line. No database and no clock here:
//! the caller passes "now", so decay is testable.
//!
//! Points are integer hundredths (7.5 points are `Points(750)`). Caps appear as lines of
//! their own, so the total is always the sum of the lines.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashSet};
use std::fmt;

use chrono::NaiveDateTime;
use serde_json::{Map, Value};

/// Points in hundredths of a point.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Points(pub i64);

/// The largest number of points one rule, cap or adjustment may carry.
pub const MAX_POINTS: i64 = 1_000_000;

impl Points {
    /// Reads "10", "-5", "+7.5" or "2.25" (at most two decimals).
    pub fn parse(raw: &str) -> Result<Points, String> {
        const HINT: &str = "Enter points as a number such as 10, -5 or 7.5.";
        let raw = raw.trim().replace('\u{2212}', "-");
        let (negative, digits) = match raw.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, raw.strip_prefix('+').unwrap_or(&raw)),
        };
        let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
        let all_digits = |part: &str| part.chars().all(|c| c.is_ascii_digit());
        if whole.is_empty() || !all_digits(whole) || !all_digits(fraction) || fraction.len() > 2 {
            return Err(HINT.to_owned());
        }
        if whole.len() > 7 {
            return Err(format!(
                "Points must lie between -{MAX_POINTS} and {MAX_POINTS}."
            ));
        }
        let whole: i64 = whole.parse().map_err(|_| HINT.to_owned())?;
        let fraction: i64 = format!("{fraction:0<2}")
            .parse()
            .map_err(|_| HINT.to_owned())?;
        let hundredths = whole * 100 + fraction;
        if hundredths > MAX_POINTS * 100 {
            return Err(format!(
                "Points must lie between -{MAX_POINTS} and {MAX_POINTS}."
            ));
        }
        Ok(Points(if negative { -hundredths } else { hundredths }))
    }

    /// "7.5", "-5", "0": the form a number field takes back.
    pub fn unsigned_label(self) -> String {
        let sign = if self.0 < 0 { "-" } else { "" };
        format!("{sign}{}", Self::magnitude(self.0))
    }

    fn magnitude(hundredths: i64) -> String {
        let abs = hundredths.unsigned_abs();
        let (whole, fraction) = (abs / 100, abs % 100);
        match fraction {
            0 => whole.to_string(),
            f if f % 10 == 0 => format!("{whole}.{}", f / 10),
            f => format!("{whole}.{f:02}"),
        }
    }
}

/// "+7.5", "−5" (a true minus sign), "0": points as a breakdown shows them.
impl fmt::Display for Points {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = match self.0.signum() {
            1 => "+",
            -1 => "\u{2212}",
            _ => "",
        };
        write!(f, "{sign}{}", Self::magnitude(self.0))
    }
}

/// The lead fields an attribute rule can test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Field {
    Name,
    Email,
    Phone,
    CompanyName,
    JobTitle,
    CompanySize,
    Industry,
    Country,
    Website,
    Source,
    Status,
    Tags,
}

impl Field {
    pub const ALL: [Field; 12] = [
        Field::Name,
        Field::Email,
        Field::Phone,
        Field::CompanyName,
        Field::JobTitle,
        Field::CompanySize,
        Field::Industry,
        Field::Country,
        Field::Website,
        Field::Source,
        Field::Status,
        Field::Tags,
    ];

    pub fn key(self) -> &'static str {
        match self {
            Field::Name => "name",
            Field::Email => "email",
            Field::Phone => "phone",
            Field::CompanyName => "company_name",
            Field::JobTitle => "job_title",
            Field::CompanySize => "company_size",
            Field::Industry => "industry",
            Field::Country => "country",
            Field::Website => "website",
            Field::Source => "source",
            Field::Status => "status",
            Field::Tags => "tags",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Field::Name => "name",
            Field::Email => "email",
            Field::Phone => "phone",
            Field::CompanyName => "company name",
            Field::JobTitle => "job title",
            Field::CompanySize => "company size",
            Field::Industry => "industry",
            Field::Country => "country",
            Field::Website => "website",
            Field::Source => "source",
            Field::Status => "status",
            Field::Tags => "tags",
        }
    }

    pub fn parse(key: &str) -> Option<Field> {
        Self::ALL.into_iter().find(|field| field.key() == key)
    }

    pub fn is_numeric(self) -> bool {
        self == Field::CompanySize
    }
}

/// How a rule compares a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operator {
    Equals,
    NotEquals,
    Contains,
    StartsWith,
    EndsWith,
    OneOf,
    AtLeast,
    AtMost,
    IsSet,
    IsEmpty,
}

impl Operator {
    pub const ALL: [Operator; 10] = [
        Operator::Equals,
        Operator::NotEquals,
        Operator::Contains,
        Operator::StartsWith,
        Operator::EndsWith,
        Operator::OneOf,
        Operator::AtLeast,
        Operator::AtMost,
        Operator::IsSet,
        Operator::IsEmpty,
    ];

    pub fn key(self) -> &'static str {
        match self {
            Operator::Equals => "equals",
            Operator::NotEquals => "not_equals",
            Operator::Contains => "contains",
            Operator::StartsWith => "starts_with",
            Operator::EndsWith => "ends_with",
            Operator::OneOf => "one_of",
            Operator::AtLeast => "at_least",
            Operator::AtMost => "at_most",
            Operator::IsSet => "is_set",
            Operator::IsEmpty => "is_empty",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Operator::Equals => "equals",
            Operator::NotEquals => "does not equal",
            Operator::Contains => "contains",
            Operator::StartsWith => "starts with",
            Operator::EndsWith => "ends with",
            Operator::OneOf => "is one of",
            Operator::AtLeast => "is at least",
            Operator::AtMost => "is at most",
            Operator::IsSet => "is set",
            Operator::IsEmpty => "is empty",
        }
    }

    pub fn parse(key: &str) -> Option<Operator> {
        Self::ALL.into_iter().find(|operator| operator.key() == key)
    }

    fn takes_value(self) -> bool {
        !matches!(self, Operator::IsSet | Operator::IsEmpty)
    }
}

/// An operator with the value it compares against. Text comparisons ignore case;
/// "one of" takes a comma-separated list.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    pub operator: Operator,
    pub value: String,
}

impl Condition {
    pub fn validate(&self, numeric: bool) -> Result<(), String> {
        let value = self.value.trim();
        match self.operator {
            Operator::IsSet | Operator::IsEmpty => Ok(()),
            _ if value.is_empty() => Err("Enter the value to compare with.".to_owned()),
            _ if value.chars().count() > 500 => {
                Err("The value must be at most 500 characters.".to_owned())
            }
            Operator::AtLeast | Operator::AtMost if value.parse::<f64>().is_err() => {
                Err("“at least” and “at most” compare with a number.".to_owned())
            }
            Operator::Contains | Operator::StartsWith | Operator::EndsWith if numeric => Err(
                "Company size is a number: compare it with equals, at least or at most.".to_owned(),
            ),
            _ => Ok(()),
        }
    }

    /// Whether a fact (None when the lead has no value) meets the condition.
    pub fn matches(&self, fact: Option<&str>) -> bool {
        let fact = fact.map(str::trim).filter(|fact| !fact.is_empty());
        let Some(fact) = fact else {
            return matches!(self.operator, Operator::IsEmpty | Operator::NotEquals);
        };
        let value = self.value.trim();
        let number = |text: &str| text.trim().parse::<f64>().ok();
        match self.operator {
            Operator::IsSet => true,
            Operator::IsEmpty => false,
            Operator::Equals => folded(fact, value, |fact, value| fact == value),
            Operator::NotEquals => !folded(fact, value, |fact, value| fact == value),
            Operator::Contains => folded(fact, value, |fact, value| {
                value.is_empty() || fact.windows(value.len()).any(|part| part == value)
            }),
            Operator::StartsWith => folded(fact, value, <[u8]>::starts_with),
            Operator::EndsWith => folded(fact, value, <[u8]>::ends_with),
            Operator::OneOf => value
                .split(',')
                .map(str::trim)
                .filter(|choice| !choice.is_empty())
                .any(|choice| folded(fact, choice, |fact, choice| fact == choice)),
            Operator::AtLeast => {
                matches!((number(fact), number(value)), (Some(f), Some(v)) if f >= v)
            }
            Operator::AtMost => {
                matches!((number(fact), number(value)), (Some(f), Some(v)) if f <= v)
            }
        }
    }

    fn describe(&self) -> String {
        if self.operator.takes_value() {
            let value = match self.operator {
                Operator::OneOf => format!(
                    "[{}]",
                    self.value
                        .split(',')
                        .map(str::trim)
                        .filter(|choice| !choice.is_empty())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                _ => self.value.trim().to_owned(),
            };
            format!("{} {value}", self.operator.label())
        } else {
            self.operator.label().to_owned()
        }
    }
}

/// Compares `fact` with `value` ignoring case. Rescoring runs this millions of times, so
/// ASCII text (nearly all of it) is folded byte by byte without allocating; other text is
/// lowercased the Unicode way.
fn folded(fact: &str, value: &str, compare: impl Fn(&[u8], &[u8]) -> bool) -> bool {
    if fact.is_ascii() && value.is_ascii() {
        if fact
            .bytes()
            .chain(value.bytes())
            .any(|byte| byte.is_ascii_uppercase())
        {
            compare(
                fact.to_ascii_lowercase().as_bytes(),
                value.to_ascii_lowercase().as_bytes(),
            )
        } else {
            compare(fact.as_bytes(), value.as_bytes())
        }
    } else {
        compare(
            fact.to_lowercase().as_bytes(),
            value.to_lowercase().as_bytes(),
        )
    }
}

/// `field operator value → points`.
#[derive(Debug, Clone, PartialEq)]
pub struct AttributeRule {
    pub id: i64,
    pub group_id: Option<i64>,
    pub field: Field,
    pub condition: Condition,
    pub points: Points,
}

impl AttributeRule {
    pub fn describe(&self) -> String {
        format!("{} {}", self.field.label(), self.condition.describe())
    }
}

/// A condition on one property of an event, e.g. `path starts with /pricing`.
#[derive(Debug, Clone, PartialEq)]
pub struct PropertyFilter {
    pub key: String,
    pub condition: Condition,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counting {
    /// The rule's points once, however many events match (the newest counts for decay).
    Once,
    /// The rule's points for every matching event.
    EachOccurrence,
}

/// `event where property … → points`, once or per occurrence, with an optional cap and
/// decay half-life.
#[derive(Debug, Clone, PartialEq)]
pub struct BehaviourRule {
    pub id: i64,
    pub group_id: Option<i64>,
    pub event_name: String,
    pub filter: Option<PropertyFilter>,
    pub points: Points,
    pub counting: Counting,
    pub cap: Option<Points>,
    pub half_life_days: Option<u32>,
}

impl BehaviourRule {
    pub fn describe(&self) -> String {
        let mut text = self.event_name.clone();
        if let Some(filter) = &self.filter {
            text.push_str(&format!(
                " where {} {}",
                filter.key,
                filter.condition.describe()
            ));
        }
        text.push_str(match self.counting {
            Counting::Once => ", once",
            Counting::EachOccurrence => ", each time",
        });
        if let Some(cap) = self.cap {
            text.push_str(&format!(", at most {}", cap.unsigned_label()));
        }
        if let Some(days) = self.half_life_days {
            text.push_str(&format!(", half-life {days} days"));
        }
        text
    }

    fn matches(&self, event: &Event) -> bool {
        if !event.name.eq_ignore_ascii_case(&self.event_name) {
            return false;
        }
        let Some(filter) = &self.filter else {
            return true;
        };
        let property = event
            .properties
            .get(&filter.key)
            .and_then(|value| match value {
                Value::String(text) => Some(Cow::Borrowed(text.as_str())),
                Value::Number(number) => Some(Cow::Owned(number.to_string())),
                Value::Bool(flag) => Some(Cow::Owned(flag.to_string())),
                _ => None,
            });
        filter.condition.matches(property.as_deref())
    }

    /// What one event is worth: the rule's points, halved for every half-life of its age.
    fn weight(&self, event: &Event, now: NaiveDateTime) -> f64 {
        match self.half_life_days {
            Some(days) if days > 0 => {
                let age_days = (now - event.occurred_at).num_seconds().max(0) as f64 / 86_400.0;
                0.5_f64.powf(age_days / f64::from(days))
            }
            _ => 1.0,
        }
    }
}

/// A named group of rules, with an optional cap on what its rules add up to.
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    pub id: i64,
    pub name: String,
    pub cap: Option<Points>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Grade {
    pub name: String,
    pub min: Points,
}

/// Grades from the highest lower limit down, and the name of the grade below them all.
#[derive(Debug, Clone, PartialEq)]
pub struct GradeScale {
    grades: Vec<Grade>,
    lowest: String,
}

impl Default for GradeScale {
    fn default() -> Self {
        Self {
            grades: vec![
                Grade {
                    name: "hot".to_owned(),
                    min: Points(6000),
                },
                Grade {
                    name: "warm".to_owned(),
                    min: Points(3000),
                },
            ],
            lowest: "cold".to_owned(),
        }
    }
}

impl GradeScale {
    pub fn new(mut grades: Vec<Grade>, lowest: String) -> Result<Self, String> {
        grades.sort_by_key(|grade| std::cmp::Reverse(grade.min));
        let mut names = HashSet::new();
        for name in grades.iter().map(|grade| &grade.name).chain([&lowest]) {
            let name = name.trim().to_lowercase();
            if name.is_empty() {
                return Err("Every grade needs a name.".to_owned());
            }
            if !names.insert(name) {
                return Err("Give every grade a different name.".to_owned());
            }
        }
        if grades.windows(2).any(|pair| pair[0].min == pair[1].min) {
            return Err("Give every grade a different lower limit.".to_owned());
        }
        Ok(Self { grades, lowest })
    }

    /// The graded limits, highest first.
    pub fn grades(&self) -> &[Grade] {
        &self.grades
    }

    pub fn lowest(&self) -> &str {
        &self.lowest
    }

    pub fn grade_for(&self, total: Points) -> &str {
        self.grades
            .iter()
            .find(|grade| total >= grade.min)
            .map_or(&self.lowest, |grade| &grade.name)
    }
}

/// Everything that scores leads.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RuleSet {
    pub attribute: Vec<AttributeRule>,
    pub behaviour: Vec<BehaviourRule>,
    pub groups: Vec<Group>,
    pub total_cap: Option<Points>,
    pub grades: GradeScale,
}

/// The event names any behaviour rule looks at, in lower case.
pub fn event_names(rules: &RuleSet) -> HashSet<String> {
    rules
        .behaviour
        .iter()
        .map(|rule| rule.event_name.to_lowercase())
        .collect()
}

/// A lead's field values as text; fields without a value are absent.
#[derive(Debug, Clone, Default)]
pub struct LeadFacts {
    values: BTreeMap<Field, String>,
}

impl LeadFacts {
    pub fn set(&mut self, field: Field, value: String) {
        self.values.insert(field, value);
    }

    fn get(&self, field: Field) -> Option<&str> {
        self.values.get(&field).map(String::as_str)
    }

    /// Tags are tested one by one: `tags equals vip` holds when any tag is vip.
    fn matches(&self, field: Field, condition: &Condition) -> bool {
        match (field, self.get(field)) {
            (Field::Tags, Some(tags)) if condition.operator != Operator::IsEmpty => {
                let mut tags = tags.split(',').map(str::trim).filter(|tag| !tag.is_empty());
                if condition.operator == Operator::NotEquals {
                    tags.all(|tag| condition.matches(Some(tag)))
                } else {
                    tags.any(|tag| condition.matches(Some(tag)))
                }
            }
            (_, fact) => condition.matches(fact),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Event {
    pub name: String,
    pub properties: Map<String, Value>,
    pub occurred_at: NaiveDateTime,
}

#[derive(Debug, Clone)]
pub struct Adjustment {
    pub points: Points,
    pub reason: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineKind {
    Attribute,
    Behaviour,
    RuleCap,
    GroupCap,
    TotalCap,
    Adjustment,
}

/// One line of a breakdown: "+20 industry is one of [software, fintech]".
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    pub kind: LineKind,
    /// The rule the line comes from (rule and rule-cap lines).
    pub rule_id: Option<i64>,
    pub points: Points,
    pub label: String,
    pub group: Option<String>,
}

/// A score explained: the total is the sum of the lines.
#[derive(Debug, Clone, PartialEq)]
pub struct Breakdown {
    pub lines: Vec<Line>,
    pub total: Points,
    pub grade: String,
}

fn capped(sum: i64, cap: Option<Points>) -> i64 {
    match cap {
        Some(Points(cap)) => sum.clamp(-cap.abs(), cap.abs()),
        None => sum,
    }
}

fn hundredths(value: f64) -> i64 {
    // Points are bounded far below i64's range, so the cast cannot saturate in practice.
    value.round() as i64
}

/// What one behaviour rule earns from a lead's events, before any label is written.
struct Earned {
    /// How many events matched.
    matched: usize,
    /// Whether a half-life lowered what they count for.
    decayed: bool,
    /// The rule's points times the events' weights, in hundredths.
    earned: i64,
}

impl BehaviourRule {
    /// One pass over the events: the sum of the weights (or the largest, for a rule that
    /// counts once) times the rule's points; `None` when no event matches.
    fn earn(&self, events: &[Event], now: NaiveDateTime) -> Option<Earned> {
        let mut matched = 0;
        let mut sum = 0.0_f64;
        let mut best: Option<f64> = None;
        let mut any_decayed = false;
        for event in events.iter().filter(|event| self.matches(event)) {
            let weight = self.weight(event, now);
            matched += 1;
            sum += weight;
            any_decayed |= weight < 1.0;
            best = Some(best.map_or(weight, |best| best.max(weight)));
        }
        let best = best?;
        let (weights, decayed) = match self.counting {
            Counting::Once => (best, best < 1.0),
            Counting::EachOccurrence => (sum, any_decayed),
        };
        Some(Earned {
            matched,
            decayed,
            earned: hundredths(weights * self.points.0 as f64),
        })
    }
}

/// The lead's total without its explanation, for background rescoring: the same sums as
/// `score` (a property test holds them equal) without writing a line.
pub fn total(
    rules: &RuleSet,
    facts: &LeadFacts,
    events: &[Event],
    adjustments: &[Adjustment],
    now: NaiveDateTime,
) -> Points {
    let mut group_sums = vec![0_i64; rules.groups.len()];
    let mut ungrouped = 0_i64;
    let mut add = |group_id: Option<i64>, points: i64| match group_id
        .and_then(|id| rules.groups.iter().position(|group| group.id == id))
    {
        Some(index) => group_sums[index] += points,
        None => ungrouped += points,
    };
    for rule in &rules.attribute {
        if facts.matches(rule.field, &rule.condition) {
            add(rule.group_id, rule.points.0);
        }
    }
    for rule in &rules.behaviour {
        if let Some(earned) = rule.earn(events, now) {
            add(rule.group_id, capped(earned.earned, rule.cap));
        }
    }
    let grouped: i64 = rules
        .groups
        .iter()
        .zip(&group_sums)
        .map(|(group, sum)| capped(*sum, group.cap))
        .sum();
    let mut rules_sum = grouped + ungrouped;
    if let Some(cap) = rules.total_cap {
        rules_sum = rules_sum.min(cap.0);
    }
    Points(
        rules_sum
            + adjustments
                .iter()
                .map(|adjustment| adjustment.points.0)
                .sum::<i64>(),
    )
}

/// Scores one lead. Rules and rule caps first, then group caps, then the cap on the total;
/// manual adjustments come last and are never capped.
pub fn score(
    rules: &RuleSet,
    facts: &LeadFacts,
    events: &[Event],
    adjustments: &[Adjustment],
    now: NaiveDateTime,
) -> Breakdown {
    let group_name = |id: Option<i64>| {
        id.and_then(|id| rules.groups.iter().find(|group| group.id == id))
            .map(|group| group.name.clone())
    };
    // (group id, lines) in rule order, so group caps follow their group's last rule.
    let mut lines: Vec<(Option<i64>, Line)> = Vec::new();
    for rule in &rules.attribute {
        if facts.matches(rule.field, &rule.condition) {
            lines.push((
                rule.group_id,
                Line {
                    kind: LineKind::Attribute,
                    rule_id: Some(rule.id),
                    points: rule.points,
                    label: rule.describe(),
                    group: group_name(rule.group_id),
                },
            ));
        }
    }
    for rule in &rules.behaviour {
        let Some(Earned {
            matched,
            decayed,
            earned,
        }) = rule.earn(events, now)
        else {
            continue;
        };
        let mut label = rule.event_name.clone();
        if let Some(filter) = &rule.filter {
            label.push_str(&format!(" {} {}", filter.key, filter.condition.describe()));
        }
        if rule.counting == Counting::EachOccurrence || matched > 1 {
            label.push_str(&format!(" ×{matched}"));
        }
        if decayed {
            label.push_str(", decayed");
        }
        let group = group_name(rule.group_id);
        lines.push((
            rule.group_id,
            Line {
                kind: LineKind::Behaviour,
                rule_id: Some(rule.id),
                points: Points(earned),
                label,
                group: group.clone(),
            },
        ));
        let limited = capped(earned, rule.cap);
        if limited != earned {
            lines.push((
                rule.group_id,
                Line {
                    kind: LineKind::RuleCap,
                    rule_id: Some(rule.id),
                    points: Points(limited - earned),
                    label: format!(
                        "{} capped at {}",
                        rule.event_name,
                        rule.cap.map(Points::unsigned_label).unwrap_or_default()
                    ),
                    group,
                },
            ));
        }
    }
    let mut ordered: Vec<Line> = Vec::with_capacity(lines.len() + rules.groups.len() + 1);
    for group in &rules.groups {
        let members: Vec<Line> = lines
            .iter()
            .filter(|(id, _)| *id == Some(group.id))
            .map(|(_, line)| line.clone())
            .collect();
        let sum: i64 = members.iter().map(|line| line.points.0).sum();
        ordered.extend(members);
        let limited = capped(sum, group.cap);
        if limited != sum {
            ordered.push(Line {
                kind: LineKind::GroupCap,
                rule_id: None,
                points: Points(limited - sum),
                label: format!(
                    "group {} capped at {}",
                    group.name,
                    group.cap.map(Points::unsigned_label).unwrap_or_default()
                ),
                group: Some(group.name.clone()),
            });
        }
    }
    let known_group =
        |id: &Option<i64>| id.is_some_and(|id| rules.groups.iter().any(|g| g.id == id));
    ordered.extend(
        lines
            .into_iter()
            .filter(|(id, _)| !known_group(id))
            .map(|(_, line)| line),
    );
    let rules_sum: i64 = ordered.iter().map(|line| line.points.0).sum();
    if let Some(cap) = rules.total_cap
        && rules_sum > cap.0
    {
        ordered.push(Line {
            kind: LineKind::TotalCap,
            rule_id: None,
            points: Points(cap.0 - rules_sum),
            label: format!("total capped at {}", cap.unsigned_label()),
            group: None,
        });
    }
    ordered.extend(adjustments.iter().map(|adjustment| Line {
        kind: LineKind::Adjustment,
        rule_id: None,
        points: adjustment.points,
        label: format!("adjusted: {}", adjustment.reason),
        group: None,
    }));
    let total = Points(ordered.iter().map(|line| line.points.0).sum());
    Breakdown {
        grade: rules.grades.grade_for(total).to_owned(),
        lines: ordered,
        total,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, NaiveDate};
    use proptest::prelude::*;

    fn now() -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2026, 12, 1)
            .and_then(|day| day.and_hms_opt(12, 0, 0))
            .expect("a valid time")
    }

    fn condition(operator: Operator, value: &str) -> Condition {
        Condition {
            operator,
            value: value.to_owned(),
        }
    }

    fn attribute(
        id: i64,
        field: Field,
        operator: Operator,
        value: &str,
        points: i64,
    ) -> AttributeRule {
        AttributeRule {
            id,
            group_id: None,
            field,
            condition: condition(operator, value),
            points: Points(points * 100),
        }
    }

    fn page_views(points: i64, counting: Counting) -> BehaviourRule {
        BehaviourRule {
            id: 9,
            group_id: None,
            event_name: "page_view".to_owned(),
            filter: Some(PropertyFilter {
                key: "path".to_owned(),
                condition: condition(Operator::StartsWith, "/pricing"),
            }),
            points: Points(points * 100),
            counting,
            cap: None,
            half_life_days: None,
        }
    }

    fn view(path: &str, days_ago: i64) -> Event {
        let mut properties = Map::new();
        properties.insert("path".to_owned(), Value::String(path.to_owned()));
        Event {
            name: "page_view".to_owned(),
            properties,
            occurred_at: now() - Duration::days(days_ago),
        }
    }

    fn facts(pairs: &[(Field, &str)]) -> LeadFacts {
        let mut facts = LeadFacts::default();
        for (field, value) in pairs {
            facts.set(*field, (*value).to_owned());
        }
        facts
    }

    fn total(rules: &RuleSet, facts: &LeadFacts, events: &[Event]) -> Points {
        score(rules, facts, events, &[], now()).total
    }

    fn with_attribute(rule: AttributeRule) -> RuleSet {
        RuleSet {
            attribute: vec![rule],
            ..RuleSet::default()
        }
    }

    #[test]
    fn points_read_and_print_decimals_and_signs() {
        assert_eq!(Points::parse("7.5"), Ok(Points(750)));
        assert_eq!(Points::parse("-5"), Ok(Points(-500)));
        assert_eq!(Points::parse("\u{2212}2.25"), Ok(Points(-225)));
        assert_eq!(Points::parse("+10"), Ok(Points(1000)));
        assert!(Points::parse("ten").is_err());
        assert!(Points::parse("1.234").is_err());
        assert!(Points::parse("").is_err());
        assert!(Points::parse("99999999").is_err());
        assert_eq!(Points(750).to_string(), "+7.5");
        assert_eq!(Points(-500).to_string(), "\u{2212}5");
        assert_eq!(Points(-525).unsigned_label(), "-5.25");
        assert_eq!(Points(0).to_string(), "0");
    }

    #[test]
    fn every_operator_compares_as_its_label_says() {
        let cases: &[(Operator, &str, Option<&str>, bool)] = &[
            (Operator::Equals, "Software", Some("software"), true),
            (Operator::Equals, "software", Some("fintech"), false),
            (Operator::NotEquals, "software", Some("fintech"), true),
            (Operator::NotEquals, "software", None, true),
            (Operator::Contains, "soft", Some("Software"), true),
            (Operator::Contains, "hard", Some("Software"), false),
            (
                Operator::StartsWith,
                "/pricing",
                Some("/pricing/teams"),
                true,
            ),
            (
                Operator::StartsWith,
                "/pricing",
                Some("/blog/pricing"),
                false,
            ),
            (
                Operator::EndsWith,
                "@gmail.com",
                Some("Ann@Gmail.com"),
                true,
            ),
            (
                Operator::EndsWith,
                "@gmail.com",
                Some("ann@acme.com"),
                false,
            ),
            (Operator::OneOf, "software, fintech", Some("Fintech"), true),
            (Operator::OneOf, "software, fintech", Some("retail"), false),
            (Operator::AtLeast, "50", Some("50"), true),
            (Operator::AtLeast, "50", Some("49"), false),
            (Operator::AtMost, "50", Some("50"), true),
            (Operator::AtMost, "50", Some("51"), false),
            (Operator::AtLeast, "50", Some("many"), false),
            (Operator::IsSet, "", Some("acme.com"), true),
            (Operator::IsSet, "", None, false),
            (Operator::IsSet, "", Some("  "), false),
            (Operator::IsEmpty, "", None, true),
            (Operator::IsEmpty, "", Some("acme.com"), false),
            (Operator::Equals, "x", None, false),
        ];
        for (operator, value, fact, expected) in cases {
            assert_eq!(
                condition(*operator, value).matches(*fact),
                *expected,
                "{operator:?} {value:?} on {fact:?}"
            );
        }
    }

    #[test]
    fn an_attribute_rule_adds_its_points_and_explains_them() {
        let rules = RuleSet {
            attribute: vec![
                attribute(1, Field::Industry, Operator::OneOf, "software, fintech", 20),
                attribute(2, Field::Email, Operator::EndsWith, "@gmail.com", -5),
                attribute(3, Field::Website, Operator::IsSet, "", 10),
            ],
            ..RuleSet::default()
        };
        let lead = facts(&[
            (Field::Industry, "software"),
            (Field::Email, "ann@gmail.com"),
        ]);
        let breakdown = score(&rules, &lead, &[], &[], now());
        assert_eq!(breakdown.total, Points(1500));
        let labels: Vec<String> = breakdown
            .lines
            .iter()
            .map(|line| format!("{} {}", line.points, line.label))
            .collect();
        assert_eq!(
            labels,
            [
                "+20 industry is one of [software, fintech]",
                "\u{2212}5 email ends with @gmail.com"
            ]
        );
    }

    #[test]
    fn tags_match_when_any_tag_does() {
        let rules = with_attribute(attribute(1, Field::Tags, Operator::Equals, "vip", 15));
        assert_eq!(
            total(&rules, &facts(&[(Field::Tags, "trial,vip")]), &[]),
            Points(1500)
        );
        assert_eq!(
            total(&rules, &facts(&[(Field::Tags, "trial")]), &[]),
            Points(0)
        );
    }

    #[test]
    fn company_size_compares_as_a_number() {
        let rules = with_attribute(attribute(
            1,
            Field::CompanySize,
            Operator::AtLeast,
            "100",
            10,
        ));
        assert_eq!(
            total(&rules, &facts(&[(Field::CompanySize, "250")]), &[]),
            Points(1000)
        );
        assert_eq!(
            total(&rules, &facts(&[(Field::CompanySize, "99")]), &[]),
            Points(0)
        );
        assert!(condition(Operator::Contains, "1").validate(true).is_err());
        assert!(condition(Operator::AtLeast, "lots").validate(true).is_err());
        assert!(condition(Operator::Equals, "").validate(false).is_err());
        assert!(condition(Operator::IsSet, "").validate(false).is_ok());
    }

    #[test]
    fn a_behaviour_rule_counts_once_or_for_each_occurrence() {
        let events = [
            view("/pricing", 0),
            view("/pricing/teams", 0),
            view("/blog", 0),
        ];
        let once = RuleSet {
            behaviour: vec![page_views(5, Counting::Once)],
            ..RuleSet::default()
        };
        assert_eq!(total(&once, &LeadFacts::default(), &events), Points(500));
        let each = RuleSet {
            behaviour: vec![page_views(5, Counting::EachOccurrence)],
            ..RuleSet::default()
        };
        let breakdown = score(&each, &LeadFacts::default(), &events, &[], now());
        assert_eq!(breakdown.total, Points(1000));
        assert_eq!(
            breakdown.lines[0].label,
            "page_view path starts with /pricing ×2"
        );
    }

    #[test]
    fn decay_halves_an_event_per_half_life() {
        let rule = BehaviourRule {
            half_life_days: Some(10),
            ..page_views(10, Counting::EachOccurrence)
        };
        let rules = RuleSet {
            behaviour: vec![rule],
            ..RuleSet::default()
        };
        let at = |days| total(&rules, &LeadFacts::default(), &[view("/pricing", days)]);
        assert_eq!(at(0), Points(1000));
        assert_eq!(at(10), Points(500));
        assert_eq!(at(30), Points(125));
        let breakdown = score(
            &rules,
            &LeadFacts::default(),
            &[view("/pricing", 10)],
            &[],
            now(),
        );
        assert!(breakdown.lines[0].label.ends_with(", decayed"));
    }

    #[test]
    fn an_event_in_the_future_does_not_grow() {
        let rules = RuleSet {
            behaviour: vec![BehaviourRule {
                half_life_days: Some(1),
                ..page_views(10, Counting::Once)
            }],
            ..RuleSet::default()
        };
        assert_eq!(
            total(&rules, &LeadFacts::default(), &[view("/pricing", -5)]),
            Points(1000)
        );
    }

    #[test]
    fn a_rule_cap_limits_what_one_rule_adds() {
        let rules = RuleSet {
            behaviour: vec![BehaviourRule {
                cap: Some(Points(1200)),
                ..page_views(5, Counting::EachOccurrence)
            }],
            ..RuleSet::default()
        };
        let events: Vec<Event> = (0..4).map(|_| view("/pricing", 0)).collect();
        let breakdown = score(&rules, &LeadFacts::default(), &events, &[], now());
        assert_eq!(breakdown.total, Points(1200));
        assert_eq!(breakdown.lines[1].kind, LineKind::RuleCap);
        assert_eq!(breakdown.lines[1].points, Points(-800));
    }

    #[test]
    fn a_group_cap_limits_the_group_and_leaves_other_rules_alone() {
        let fit = Group {
            id: 1,
            name: "fit".to_owned(),
            cap: Some(Points(2500)),
        };
        let in_fit = |rule: AttributeRule| AttributeRule {
            group_id: Some(1),
            ..rule
        };
        let rules = RuleSet {
            attribute: vec![
                in_fit(attribute(
                    1,
                    Field::Industry,
                    Operator::Equals,
                    "software",
                    20,
                )),
                in_fit(attribute(2, Field::Website, Operator::IsSet, "", 10)),
                attribute(3, Field::Country, Operator::Equals, "de", 5),
            ],
            groups: vec![fit],
            ..RuleSet::default()
        };
        let lead = facts(&[
            (Field::Industry, "software"),
            (Field::Website, "acme.com"),
            (Field::Country, "DE"),
        ]);
        let breakdown = score(&rules, &lead, &[], &[], now());
        assert_eq!(breakdown.total, Points(3000));
        let cap = breakdown
            .lines
            .iter()
            .find(|line| line.kind == LineKind::GroupCap)
            .expect("a group cap line");
        assert_eq!(cap.points, Points(-500));
        assert_eq!(breakdown.lines[0].group.as_deref(), Some("fit"));
    }

    #[test]
    fn the_total_cap_applies_before_manual_adjustments() {
        let rules = RuleSet {
            attribute: vec![attribute(1, Field::Website, Operator::IsSet, "", 80)],
            total_cap: Some(Points(5000)),
            ..RuleSet::default()
        };
        let adjustment = Adjustment {
            points: Points(1000),
            reason: "met at the fair".to_owned(),
        };
        let breakdown = score(
            &rules,
            &facts(&[(Field::Website, "a.io")]),
            &[],
            &[adjustment],
            now(),
        );
        assert_eq!(breakdown.total, Points(6000));
        assert_eq!(breakdown.lines[1].kind, LineKind::TotalCap);
        assert_eq!(breakdown.lines[2].label, "adjusted: met at the fair");
    }

    #[test]
    fn grades_start_at_their_lower_limit() {
        let scale = GradeScale::default();
        assert_eq!(scale.grade_for(Points(6000)), "hot");
        assert_eq!(scale.grade_for(Points(5999)), "warm");
        assert_eq!(scale.grade_for(Points(3000)), "warm");
        assert_eq!(scale.grade_for(Points(2999)), "cold");
        assert_eq!(scale.grade_for(Points(-100)), "cold");
    }

    #[test]
    fn a_grade_scale_needs_distinct_names_and_limits() {
        let grade = |name: &str, min| Grade {
            name: name.to_owned(),
            min: Points(min),
        };
        assert!(GradeScale::new(vec![grade("hot", 10), grade("Hot", 5)], "cold".into()).is_err());
        assert!(GradeScale::new(vec![grade("a", 10), grade("b", 10)], "c".into()).is_err());
        assert!(GradeScale::new(vec![grade("a", 10)], " ".into()).is_err());
        let scale = GradeScale::new(vec![grade("b", 10), grade("a", 20)], "c".into())
            .expect("a valid scale");
        assert_eq!(scale.grades()[0].name, "a");
    }

    fn any_rule_set() -> impl Strategy<Value = RuleSet> {
        let attributes = prop::collection::vec(
            (0..3_i64, -5000..5000_i64, prop::option::of(0..2_i64)),
            0..6,
        );
        let behaviours = prop::collection::vec(
            (
                -3000..3000_i64,
                any::<bool>(),
                prop::option::of(1..5000_i64),
                prop::option::of(1..30_u32),
                prop::option::of(0..2_i64),
            ),
            0..4,
        );
        let caps = (
            prop::option::of(1..8000_i64),
            prop::option::of(1..8000_i64),
            prop::option::of(1..20000_i64),
        );
        (attributes, behaviours, caps).prop_map(|(attributes, behaviours, (cap1, cap2, total))| {
            let fields = [Field::Industry, Field::Website, Field::Country];
            RuleSet {
                attribute: attributes
                    .into_iter()
                    .enumerate()
                    .map(|(index, (field, points, group))| AttributeRule {
                        id: index as i64,
                        group_id: group,
                        field: fields[field as usize],
                        condition: condition(Operator::IsSet, ""),
                        points: Points(points),
                    })
                    .collect(),
                behaviour: behaviours
                    .into_iter()
                    .enumerate()
                    .map(
                        |(index, (points, each, cap, half_life, group))| BehaviourRule {
                            id: 100 + index as i64,
                            group_id: group,
                            cap: cap.map(Points),
                            half_life_days: half_life,
                            points: Points(points),
                            ..page_views(
                                0,
                                if each {
                                    Counting::EachOccurrence
                                } else {
                                    Counting::Once
                                },
                            )
                        },
                    )
                    .collect(),
                groups: vec![
                    Group {
                        id: 0,
                        name: "fit".into(),
                        cap: cap1.map(Points),
                    },
                    Group {
                        id: 1,
                        name: "engagement".into(),
                        cap: cap2.map(Points),
                    },
                ],
                total_cap: total.map(Points),
                grades: GradeScale::default(),
            }
        })
    }

    proptest! {
        #[test]
        fn the_score_always_equals_the_sum_of_its_breakdown_and_the_unexplained_total(
            rules in any_rule_set(),
            ages in prop::collection::vec(0..100_i64, 0..8),
            adjustment in prop::option::of(-5000..5000_i64),
            has_website in any::<bool>(),
        ) {
            let lead = if has_website { facts(&[(Field::Website, "a.io"), (Field::Industry, "x")]) } else { facts(&[(Field::Country, "de")]) };
            let events: Vec<Event> = ages.iter().map(|age| view("/pricing", *age)).collect();
            let adjustments: Vec<Adjustment> = adjustment
                .map(|points| Adjustment { points: Points(points), reason: "r".into() })
                .into_iter()
                .collect();
            let breakdown = score(&rules, &lead, &events, &adjustments, now());
            let sum: i64 = breakdown.lines.iter().map(|line| line.points.0).sum();
            prop_assert_eq!(breakdown.total.0, sum);
            prop_assert_eq!(super::total(&rules, &lead, &events, &adjustments, now()), breakdown.total);
            prop_assert_eq!(breakdown.grade.as_str(), rules.grades.grade_for(breakdown.total));
            if let Some(cap) = rules.total_cap {
                let adjusted: i64 = adjustments.iter().map(|a| a.points.0).sum();
                prop_assert!(breakdown.total.0 - adjusted <= cap.0);
            }
        }
    }
}
