//! The geometry of the report's two charts: where each bar, label and gridline goes, in SVG
//! user units. The templates `reports/pipeline/_funnel.svg.html` and `_bars.svg.html` draw
//! it (escaped like any other template), and the stylesheet colours it, so the charts
//! follow the light and dark themes.

/// A horizontal funnel: one centred bar per stage (its width the share of the deals that
/// reached the first stage), then one for the won deals.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunnelChart {
    pub width: i64,
    pub height: i64,
    pub label_x: i64,
    pub figure_x: i64,
    pub rows: Vec<FunnelBar>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunnelBar {
    pub label: String,
    pub x: i64,
    pub y: i64,
    pub width: i64,
    pub height: i64,
    /// The baseline of the row's texts.
    pub text_y: i64,
    /// "1,204"
    pub count: String,
    /// "62.5%" (moved on), or empty.
    pub note: String,
    /// "stage", "bottleneck" or "won": the class that colours the bar.
    pub kind: &'static str,
    /// The whole row in words, for the bar's tooltip.
    pub tooltip: String,
}

/// One stage (or the won row) as the funnel shows it.
pub struct FunnelInput {
    pub label: String,
    pub count: u64,
    pub count_text: String,
    pub note: String,
    pub kind: &'static str,
    pub tooltip: String,
}

const FUNNEL_WIDTH: i64 = 460;
const FUNNEL_LABEL_RIGHT: i64 = 122;
const FUNNEL_BAR_LEFT: i64 = 132;
const FUNNEL_BAR_SPAN: i64 = 200;
const FUNNEL_ROW: i64 = 40;
const FUNNEL_BAR_HEIGHT: i64 = 28;
/// Labels longer than this are cut with an ellipsis (the table beside has them whole).
const LABEL_CHARS: usize = 17;

pub fn funnel(rows: Vec<FunnelInput>) -> FunnelChart {
    let widest = rows.iter().map(|row| row.count).max().unwrap_or(0);
    let bars = rows
        .into_iter()
        .enumerate()
        .map(|(index, row)| {
            let width = if widest == 0 || row.count == 0 {
                0
            } else {
                (i128::from(FUNNEL_BAR_SPAN) * i128::from(row.count) / i128::from(widest)).max(2)
                    as i64
            };
            let y = 4 + index as i64 * FUNNEL_ROW;
            FunnelBar {
                label: shorten(&row.label, LABEL_CHARS),
                x: FUNNEL_BAR_LEFT + (FUNNEL_BAR_SPAN - width) / 2,
                y,
                width,
                height: FUNNEL_BAR_HEIGHT,
                text_y: y + FUNNEL_BAR_HEIGHT / 2 + 5,
                count: row.count_text,
                note: row.note,
                kind: row.kind,
                tooltip: row.tooltip,
            }
        })
        .collect::<Vec<_>>();
    FunnelChart {
        width: FUNNEL_WIDTH,
        height: 8 + bars.len() as i64 * FUNNEL_ROW,
        label_x: FUNNEL_LABEL_RIGHT,
        figure_x: FUNNEL_BAR_LEFT + FUNNEL_BAR_SPAN + 14,
        rows: bars,
    }
}

fn shorten(text: &str, chars: usize) -> String {
    if text.chars().count() <= chars {
        return text.to_owned();
    }
    let cut: String = text.chars().take(chars - 1).collect();
    format!("{}…", cut.trim_end())
}

/// Vertical bars, one column per month, stacked by series (owners).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BarChart {
    pub width: i64,
    pub height: i64,
    pub plot_left: i64,
    pub plot_right: i64,
    pub plot_bottom: i64,
    pub gridlines: Vec<Gridline>,
    pub columns: Vec<BarColumn>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gridline {
    pub y: i64,
    pub label: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BarColumn {
    pub label: String,
    /// The centre of the column.
    pub x: i64,
    pub label_y: i64,
    pub segments: Vec<Segment>,
    /// The column's total above its bar (empty when zero).
    pub total: String,
    pub total_y: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    pub x: i64,
    pub y: i64,
    pub width: i64,
    pub height: i64,
    /// Which series (colour) this is, 0-based.
    pub series: usize,
    pub tooltip: String,
}

/// One column of the bar chart: its label and each series' value (≥ 0), with the words
/// for each segment's tooltip.
pub struct ColumnInput {
    pub label: String,
    pub values: Vec<(i64, String)>,
}

const BARS_WIDTH: i64 = 520;
const BARS_HEIGHT: i64 = 270;
const PLOT_LEFT: i64 = 64;
const PLOT_RIGHT: i64 = 512;
const PLOT_TOP: i64 = 24;
const PLOT_BOTTOM: i64 = 236;
const GRIDLINES: i64 = 4;

/// `format` writes a value (an axis label or a column total).
pub fn bars(columns: Vec<ColumnInput>, format: impl Fn(i64) -> String) -> BarChart {
    let tallest = columns
        .iter()
        .map(|column| {
            column
                .values
                .iter()
                .map(|(value, _)| (*value).max(0))
                .sum::<i64>()
        })
        .max()
        .unwrap_or(0);
    let top = nice_ceiling(tallest, GRIDLINES);
    let plot_height = PLOT_BOTTOM - PLOT_TOP;
    let scale = |value: i64| -> i64 {
        if top == 0 {
            0
        } else {
            (i128::from(value) * i128::from(plot_height) / i128::from(top)) as i64
        }
    };
    let gridlines = (0..=GRIDLINES)
        .map(|step| {
            let value = top / GRIDLINES * step;
            Gridline {
                y: PLOT_BOTTOM - scale(value),
                label: format(value),
            }
        })
        .collect();
    let slot = if columns.is_empty() {
        0
    } else {
        (PLOT_RIGHT - PLOT_LEFT) / columns.len() as i64
    };
    let bar_width = (slot * 3 / 5).clamp(4, 56);
    let columns = columns
        .into_iter()
        .enumerate()
        .map(|(index, column)| {
            let centre = PLOT_LEFT + slot * index as i64 + slot / 2;
            let mut base = 0_i64;
            let mut segments = Vec::new();
            for (series, (value, tooltip)) in column.values.into_iter().enumerate() {
                let value = value.max(0);
                if value == 0 {
                    continue;
                }
                let bottom = PLOT_BOTTOM - scale(base);
                base += value;
                let top_y = PLOT_BOTTOM - scale(base);
                segments.push(Segment {
                    x: centre - bar_width / 2,
                    y: top_y,
                    width: bar_width,
                    height: (bottom - top_y).max(1),
                    series,
                    tooltip,
                });
            }
            BarColumn {
                label: column.label,
                x: centre,
                label_y: PLOT_BOTTOM + 20,
                segments,
                total: if base == 0 {
                    String::new()
                } else {
                    format(base)
                },
                total_y: PLOT_BOTTOM - scale(base) - 6,
            }
        })
        .collect();
    BarChart {
        width: BARS_WIDTH,
        height: BARS_HEIGHT,
        plot_left: PLOT_LEFT,
        plot_right: PLOT_RIGHT,
        plot_bottom: PLOT_BOTTOM,
        gridlines,
        columns,
    }
}

/// The smallest "round" top for an axis of `steps` equal steps that holds `value`: each
/// step is 1, 2, 2.5 or 5 times a power of ten (0 for 0).
pub fn nice_ceiling(value: i64, steps: i64) -> i64 {
    if value <= 0 || steps <= 0 {
        return 0;
    }
    let value = i128::from(value);
    let steps = i128::from(steps);
    let mut power: i128 = 1;
    loop {
        for (numerator, denominator) in [(1, 1), (2, 1), (5, 2), (5, 1)] {
            // 2.5 is no step at the scale of one unit.
            if (power * numerator) % denominator != 0 {
                continue;
            }
            let step = power * numerator / denominator;
            if step * steps >= value {
                return (step * steps).min(i128::from(i64::MAX)) as i64;
            }
        }
        power *= 10;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axis_tops_are_round_numbers() {
        assert_eq!(nice_ceiling(0, 4), 0);
        assert_eq!(nice_ceiling(1, 4), 4);
        assert_eq!(nice_ceiling(9, 4), 20);
        assert_eq!(nice_ceiling(95, 4), 100);
        assert_eq!(nice_ceiling(37, 4), 40);
        assert_eq!(nice_ceiling(41, 4), 80);
        assert_eq!(nice_ceiling(1_234_567, 4), 2_000_000);
        assert_eq!(nice_ceiling(i64::MAX, 4), i64::MAX);
    }

    #[test]
    fn funnel_bars_are_centred_and_scaled_to_the_widest() {
        let input = |count: u64| FunnelInput {
            label: "A very long stage name indeed".to_owned(),
            count,
            count_text: count.to_string(),
            note: String::new(),
            kind: "stage",
            tooltip: String::new(),
        };
        let chart = funnel(vec![input(100), input(50), input(0)]);
        assert_eq!(chart.rows[0].width, FUNNEL_BAR_SPAN);
        assert_eq!(chart.rows[1].width, FUNNEL_BAR_SPAN / 2);
        assert_eq!(chart.rows[1].x, FUNNEL_BAR_LEFT + FUNNEL_BAR_SPAN / 4);
        assert_eq!(chart.rows[2].width, 0);
        assert_eq!(chart.rows[0].label, "A very long stag…");
    }

    #[test]
    fn stacked_segments_sit_on_each_other() {
        let chart = bars(
            vec![
                ColumnInput {
                    label: "Dec".to_owned(),
                    values: vec![(30, String::new()), (0, String::new()), (10, String::new())],
                },
                ColumnInput {
                    label: "Jan".to_owned(),
                    values: vec![],
                },
            ],
            |value| value.to_string(),
        );
        let column = &chart.columns[0];
        assert_eq!(column.segments.len(), 2, "empty segments are left out");
        assert_eq!(
            column.segments[0].y,
            column.segments[1].y + column.segments[1].height
        );
        assert_eq!(column.segments[1].series, 2);
        assert_eq!(column.total, "40");
        assert_eq!(
            chart.gridlines.last().map(|line| line.label.as_str()),
            Some("40")
        );
        assert!(chart.columns[1].total.is_empty());
    }
}
