//! The pure rules of the pipeline: how long a deal has been in its stage and when it rots.

use chrono::NaiveDateTime;

/// Whole days since the deal entered its stage (0 on the day it moved).
pub fn days_in_stage(entered_at: NaiveDateTime, now: NaiveDateTime) -> i64 {
    (now - entered_at).num_days().max(0)
}

/// A deal rots when it has been in its stage longer than the stage's threshold, counted
/// from entering the stage: with a 14-day threshold it rots on day 15.
pub fn is_rotting(
    entered_at: NaiveDateTime,
    rotting_days: Option<i32>,
    now: NaiveDateTime,
) -> bool {
    rotting_days.is_some_and(|days| days_in_stage(entered_at, now) > i64::from(days))
}

/// The value a stage's win probability makes of a deal, in the deal's minor units, rounded
/// half up.
pub fn weighted_value(value_minor: i64, win_probability: i32) -> i64 {
    let probability = i64::from(win_probability.clamp(0, 100));
    (value_minor.saturating_mul(probability) + 50) / 100
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, NaiveDate};

    fn at(day: u32, hour: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2026, 11, day)
            .and_then(|date| date.and_hms_opt(hour, 0, 0))
            .expect("a valid time")
    }

    #[test]
    fn days_count_from_entering_the_stage() {
        assert_eq!(days_in_stage(at(1, 9), at(1, 18)), 0);
        assert_eq!(days_in_stage(at(1, 9), at(2, 9)), 1);
        assert_eq!(days_in_stage(at(1, 9), at(2, 8)), 0);
        assert_eq!(
            days_in_stage(at(2, 9), at(1, 9)),
            0,
            "a clock behind never goes negative"
        );
    }

    #[test]
    fn a_deal_rots_after_the_threshold_not_on_it() {
        let entered = at(1, 9);
        assert!(!is_rotting(entered, Some(14), entered + Duration::days(14)));
        assert!(is_rotting(entered, Some(14), entered + Duration::days(15)));
        assert!(!is_rotting(entered, None, entered + Duration::days(1000)));
    }

    #[test]
    fn weighting_rounds_half_up_in_minor_units() {
        assert_eq!(weighted_value(1_000_000, 40), 400_000);
        assert_eq!(weighted_value(5, 50), 3);
        assert_eq!(weighted_value(5, 0), 0);
        assert_eq!(weighted_value(5, 100), 5);
    }
}
