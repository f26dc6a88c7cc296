//! A deal's journey read from its stage moves: what each step was, how long the deal then
//! stayed in the stage it entered, and the time spent in each stage overall.

use std::collections::HashMap;

use chrono::{Duration, NaiveDateTime};

use super::deal::queries::MoveRow;
use super::model::Status;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepKind {
    Created,
    Moved,
    Won,
    Lost,
    Reopened,
}

impl StepKind {
    pub fn of(row: &MoveRow) -> Self {
        let from = row.from_status.as_deref().map(Status::of);
        match (from, Status::of(&row.to_status)) {
            (None, _) => StepKind::Created,
            (_, Status::Won) => StepKind::Won,
            (_, Status::Lost) => StepKind::Lost,
            (Some(Status::Won | Status::Lost), Status::Open) => StepKind::Reopened,
            (Some(Status::Open), Status::Open) => StepKind::Moved,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            StepKind::Created => "Created",
            StepKind::Moved => "Moved",
            StepKind::Won => "Won",
            StepKind::Lost => "Lost",
            StepKind::Reopened => "Reopened",
        }
    }

    pub fn css(self) -> &'static str {
        match self {
            StepKind::Created => "created",
            StepKind::Moved => "moved",
            StepKind::Won => "won",
            StepKind::Lost => "lost",
            StepKind::Reopened => "reopened",
        }
    }
}

/// One step of the journey and the stay it began.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub kind: StepKind,
    /// How long the deal then stayed open in the stage it entered; `None` for a win or a
    /// loss (the deal left the board).
    pub stayed: Option<Duration>,
    /// The deal is still in that stay.
    pub current: bool,
}

/// The steps of a journey given oldest first, each with the stay it began: until the next
/// step, or until `now` for the last one.
pub fn steps(moves: &[MoveRow], now: NaiveDateTime) -> Vec<Step> {
    moves
        .iter()
        .enumerate()
        .map(|(index, row)| {
            let kind = StepKind::of(row);
            let open = Status::of(&row.to_status) == Status::Open;
            let next = moves.get(index + 1);
            let stayed = open.then(|| {
                let until = next.map_or(now, |next| next.moved_at);
                (until - row.moved_at).max(Duration::zero())
            });
            Step {
                kind,
                stayed,
                current: open && next.is_none(),
            }
        })
        .collect()
}

/// Total time spent open in each stage (by stage id; `None` collects stages since deleted).
pub fn time_per_stage(moves: &[MoveRow], now: NaiveDateTime) -> HashMap<Option<i64>, Duration> {
    let mut totals: HashMap<Option<i64>, Duration> = HashMap::new();
    for (row, step) in moves.iter().zip(steps(moves, now)) {
        if let Some(stayed) = step.stayed {
            let total = totals.entry(row.to_stage_id).or_insert_with(Duration::zero);
            *total += stayed;
        }
    }
    totals
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn at(day: u32, hour: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2026, 11, day)
            .and_then(|date| date.and_hms_opt(hour, 0, 0))
            .expect("a valid time")
    }

    fn row(
        id: i64,
        from: Option<(i64, &str)>,
        to: (i64, &str),
        moved_at: NaiveDateTime,
    ) -> MoveRow {
        MoveRow {
            id,
            from_stage_id: from.map(|(stage, _)| stage),
            to_stage_id: Some(to.0),
            from_status: from.map(|(_, status)| status.to_owned()),
            to_status: to.1.to_owned(),
            moved_by: None,
            moved_at,
        }
    }

    fn journey() -> Vec<MoveRow> {
        vec![
            row(1, None, (10, "open"), at(1, 9)),
            row(2, Some((10, "open")), (20, "open"), at(3, 9)),
            row(3, Some((20, "open")), (10, "open"), at(3, 21)),
            row(4, Some((10, "open")), (10, "lost"), at(5, 9)),
            row(5, Some((10, "lost")), (10, "open"), at(6, 9)),
        ]
    }

    #[test]
    fn each_step_knows_what_it_was_and_how_long_the_stay_it_began_lasted() {
        let steps = steps(&journey(), at(7, 9));
        let kinds: Vec<StepKind> = steps.iter().map(|step| step.kind).collect();
        assert_eq!(
            kinds,
            vec![
                StepKind::Created,
                StepKind::Moved,
                StepKind::Moved,
                StepKind::Lost,
                StepKind::Reopened
            ]
        );
        assert_eq!(steps[0].stayed, Some(Duration::days(2)));
        assert_eq!(steps[1].stayed, Some(Duration::hours(12)));
        assert_eq!(steps[2].stayed, Some(Duration::hours(36)));
        assert_eq!(steps[3].stayed, None, "a lost deal is off the board");
        assert_eq!(steps[4].stayed, Some(Duration::days(1)));
        assert!(steps[4].current && !steps[2].current);
    }

    #[test]
    fn time_in_a_stage_adds_up_every_stay_in_it() {
        let totals = time_per_stage(&journey(), at(7, 9));
        assert_eq!(
            totals.get(&Some(10)),
            Some(&(Duration::days(2) + Duration::hours(36) + Duration::days(1)))
        );
        assert_eq!(totals.get(&Some(20)), Some(&Duration::hours(12)));
    }

    #[test]
    fn a_won_deal_stops_counting() {
        let moves = vec![
            row(1, None, (10, "open"), at(1, 9)),
            row(2, Some((10, "open")), (10, "won"), at(2, 9)),
        ];
        let totals = time_per_stage(&moves, at(20, 9));
        assert_eq!(totals.get(&Some(10)), Some(&Duration::days(1)));
        assert!(!steps(&moves, at(20, 9))[1].current);
    }
}
