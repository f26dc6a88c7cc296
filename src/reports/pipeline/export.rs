//! The report as CSV: one figure per line, in a fixed set of columns, so that a spreadsheet
//! can filter and pivot it: `figure,stage,month,owner,currency,value`. Numbers are plain
//! (`62.5`, `4.2`, `12500.00`); a figure of an empty set (an average of nothing) has an
//! empty value. Money is in the deal's currency, in major units.

use super::figures;
use super::view::money_plain;
use super::{Report, bucket_key};
use crate::contacts::export::safe_cell;

pub const COLUMNS: [&str; 6] = ["figure", "stage", "month", "owner", "currency", "value"];

/// One line of the CSV.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Line {
    pub figure: &'static str,
    pub stage: String,
    pub month: String,
    pub owner: String,
    pub currency: String,
    pub value: String,
}

impl Line {
    fn new(figure: &'static str, value: impl Into<String>) -> Self {
        Self {
            figure,
            value: value.into(),
            ..Self::default()
        }
    }

    fn stage(figure: &'static str, stage: &str, value: impl Into<String>) -> Self {
        Self {
            stage: stage.to_owned(),
            ..Self::new(figure, value)
        }
    }
}

/// Every figure of the report, in the page's order.
pub fn lines(report: &Report) -> Vec<Line> {
    let funnel = &report.funnel;
    let closed = &report.closed;
    let mut lines = vec![
        Line::new("pipeline", report.pipeline.name.clone()),
        Line::new("from", report.range.from.to_string()),
        Line::new("to", report.range.to.to_string()),
        Line::new("deals created", funnel.deals.to_string()),
        Line::new("created deals open", funnel.open.to_string()),
        Line::new("created deals won", funnel.won.to_string()),
        Line::new("created deals lost", funnel.lost.to_string()),
    ];
    for (stage, figures) in report.stages.iter().zip(&funnel.stages) {
        let name = stage.name.as_str();
        lines.extend([
            Line::stage("reached stage", name, figures.reached.to_string()),
            Line::stage("moved on from stage", name, figures.advanced.to_string()),
            Line::stage(
                "conversion to next stage (%)",
                name,
                figures.conversion.percent_number().unwrap_or_default(),
            ),
            Line::stage("lost in stage", name, figures.lost.to_string()),
            Line::stage("open in stage", name, figures.open.to_string()),
            Line::stage(
                "average days in stage",
                name,
                figures::days_number(figures.time.average).unwrap_or_default(),
            ),
            Line::stage(
                "median days in stage",
                name,
                figures::days_number(figures.time.median).unwrap_or_default(),
            ),
        ]);
    }
    if let Some(stage) = funnel.bottleneck.and_then(|index| report.stages.get(index)) {
        lines.push(Line::stage("bottleneck stage", &stage.name, "yes"));
    }
    lines.extend([
        Line::new("deals won in range", closed.won.to_string()),
        Line::new("deals lost in range", closed.lost.to_string()),
        Line::new(
            "win rate (%)",
            closed.win_rate.percent_number().unwrap_or_default(),
        ),
    ]);
    for total in &closed.won_value {
        let currency = total.currency.as_str();
        lines.push(Line {
            currency: currency.to_owned(),
            ..Line::new("won value", money_plain(total.total, currency))
        });
        lines.push(Line {
            currency: currency.to_owned(),
            ..Line::new(
                "average won deal size",
                money_plain(total.average, currency),
            )
        });
    }
    lines.push(Line::new(
        "average sales cycle (days)",
        figures::days_number(closed.cycle).unwrap_or_default(),
    ));
    for forecast in &report.forecast {
        let currency = forecast.currency.as_str();
        let owners = report.owners_by_name(forecast);
        for bucket in &forecast.buckets {
            for (owner, name) in &owners {
                let cell = forecast.cell(*owner, *bucket);
                if cell.deals == 0 {
                    continue;
                }
                let line = |figure, value| Line {
                    figure,
                    stage: String::new(),
                    month: bucket_key(*bucket),
                    owner: name.clone(),
                    currency: currency.to_owned(),
                    value,
                };
                lines.push(line("forecast open deals", cell.deals.to_string()));
                lines.push(line("forecast value", money_plain(cell.value, currency)));
                lines.push(line(
                    "forecast weighted value",
                    money_plain(cell.weighted, currency),
                ));
            }
        }
    }
    lines
}

/// The CSV file: the header, then `lines`, every cell safe to open in a spreadsheet.
pub fn write(report: &Report) -> Result<Vec<u8>, csv::Error> {
    let mut out = csv::Writer::from_writer(Vec::new());
    out.write_record(COLUMNS)?;
    for line in lines(report) {
        let cells = [
            safe_cell(line.figure),
            safe_cell(&line.stage),
            safe_cell(&line.month),
            safe_cell(&line.owner),
            safe_cell(&line.currency),
            safe_cell(&line.value),
        ];
        out.write_record(cells.iter().map(|cell| cell.as_bytes()))?;
    }
    out.into_inner().map_err(|err| err.into_error().into())
}

/// The file name: `pipeline-report-<pipeline>-<from>-<to>.csv`, the pipeline's name as a
/// plain ASCII slug.
pub fn file_name(report: &Report) -> String {
    let mut slug = String::new();
    for c in report.pipeline.name.chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c.to_ascii_lowercase());
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
    }
    let slug = slug.trim_end_matches('-');
    let slug = if slug.is_empty() { "pipeline" } else { slug };
    format!(
        "pipeline-report-{slug}-{}-{}.csv",
        report.range.from, report.range.to
    )
}
