//! The report as the page shows it: every figure already written for people, and the two
//! charts laid out.

use super::figures::{self, CurrencyForecast, DASH, Ratio, StageFigures};
use super::svg::{self, BarChart, ColumnInput, FunnelChart, FunnelInput};
use super::{Report, bucket_label};
use crate::pipeline::money::{self, Currency};

/// A headline figure.
#[derive(Debug, Clone)]
pub struct Kpi {
    pub label: &'static str,
    pub value: String,
    pub detail: String,
    /// "" or "warning": how the card is coloured.
    pub tone: &'static str,
}

#[derive(Debug, Clone)]
pub struct StageLine {
    pub name: String,
    pub reached: String,
    pub advanced: String,
    pub conversion: String,
    pub lost: String,
    pub open: String,
    pub average: String,
    pub median: String,
    pub bottleneck: bool,
}

#[derive(Debug, Clone)]
pub struct Bottleneck {
    pub stage: String,
    pub conversion: String,
    pub dropped: String,
    pub lost: String,
    pub open: String,
    pub average: String,
}

#[derive(Debug, Clone)]
pub struct LegendItem {
    pub series: usize,
    pub label: String,
}

#[derive(Debug, Clone)]
pub struct ForecastLine {
    pub label: String,
    pub cells: Vec<String>,
    pub total: String,
    pub deals: String,
}

/// The forecast of one currency.
#[derive(Debug, Clone)]
pub struct ForecastView {
    pub currency: String,
    pub chart: BarChart,
    pub description: String,
    pub legend: Vec<LegendItem>,
    /// Column headings: the owners.
    pub owners: Vec<String>,
    /// One line per bucket (month), then none: the totals are in `totals`.
    pub lines: Vec<ForecastLine>,
    pub totals: ForecastLine,
    pub open_value: String,
}

#[derive(Debug, Clone)]
pub struct ReportView {
    pub kpis: Vec<Kpi>,
    pub stages: Vec<StageLine>,
    pub won: String,
    pub funnel: FunnelChart,
    pub funnel_description: String,
    pub bottleneck: Option<Bottleneck>,
    pub forecasts: Vec<ForecastView>,
    pub created: u64,
}

/// The colours the charts cycle through (`.series-0` … in the stylesheet).
pub const SERIES_COLOURS: usize = 8;

/// "1,234".
pub fn count_text(count: u64) -> String {
    let digits = count.to_string();
    let mut grouped = String::with_capacity(digits.len() + digits.len() / 3);
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    grouped
}

/// "€12,500.00"; a code Rapport does not know is written after the bare number.
pub fn money_text(minor: i64, code: &str) -> String {
    Currency::parse(code).map_or_else(|| format!("{minor} {code}"), |c| money::format(minor, c))
}

/// "€24,850": rounded half up to whole units, for headline figures and wide tables.
pub fn money_whole(minor: i64, code: &str) -> String {
    let Some(currency) = Currency::parse(code) else {
        return format!("{minor} {code}");
    };
    let exponent = currency.exponent();
    if exponent == 0 {
        return money::format(minor, currency);
    }
    let per_major = 10_i64.pow(exponent);
    let rounded = minor.saturating_add(per_major / 2) / per_major * per_major;
    money::format(rounded, currency).replacen(&format!(".{}", "0".repeat(exponent as usize)), "", 1)
}

/// "€12.5k".
pub fn money_short(minor: i64, code: &str) -> String {
    Currency::parse(code).map_or_else(
        || format!("{minor} {code}"),
        |c| money::format_short(minor, c),
    )
}

/// "12500.00", for the CSV.
pub fn money_plain(minor: i64, code: &str) -> String {
    Currency::parse(code).map_or_else(|| minor.to_string(), |c| money::plain_amount(minor, c))
}

fn plural(count: u64, one: &str, many: &str) -> String {
    format!(
        "{} {}",
        count_text(count),
        if count == 1 { one } else { many }
    )
}

pub fn build(report: &Report) -> ReportView {
    let funnel = &report.funnel;
    let stages: Vec<StageLine> = report
        .stages
        .iter()
        .zip(&funnel.stages)
        .enumerate()
        .map(|(index, (stage, figures))| {
            stage_line(&stage.name, figures, funnel.bottleneck == Some(index))
        })
        .collect();
    let bottleneck = funnel.bottleneck.and_then(|index| {
        let stage = report.stages.get(index)?;
        let figures = funnel.stages.get(index)?;
        Some(Bottleneck {
            stage: stage.name.clone(),
            conversion: figures.conversion.percent_text(),
            dropped: count_text(figures.dropped()),
            lost: count_text(figures.lost),
            open: count_text(figures.open),
            average: figures::days_text(figures.time.average),
        })
    });
    ReportView {
        kpis: kpis(report, bottleneck.as_ref()),
        funnel: funnel_chart(report),
        funnel_description: funnel_description(report),
        stages,
        won: count_text(funnel.won),
        bottleneck,
        forecasts: report
            .forecast
            .iter()
            .map(|forecast| forecast_view(report, forecast))
            .collect(),
        created: funnel.deals,
    }
}

fn stage_line(name: &str, figures: &StageFigures, bottleneck: bool) -> StageLine {
    StageLine {
        name: name.to_owned(),
        reached: count_text(figures.reached),
        advanced: count_text(figures.advanced),
        conversion: figures.conversion.percent_text(),
        lost: count_text(figures.lost),
        open: count_text(figures.open),
        average: figures::days_text(figures.time.average),
        median: figures::days_text(figures.time.median),
        bottleneck,
    }
}

fn kpis(report: &Report, bottleneck: Option<&Bottleneck>) -> Vec<Kpi> {
    let closed = &report.closed;
    let funnel = &report.funnel;
    let mut kpis = vec![
        Kpi {
            label: "Win rate",
            value: closed.win_rate.percent_text(),
            detail: format!(
                "{} of {} closed in the range",
                plural(closed.won, "deal won", "deals won"),
                count_text(closed.won + closed.lost)
            ),
            tone: "",
        },
        Kpi {
            label: "Average deal size",
            value: closed.won_value.first().map_or_else(
                || DASH.to_owned(),
                |total| money_whole(total.average, &total.currency),
            ),
            detail: average_size_detail(report),
            tone: "",
        },
        Kpi {
            label: "Sales cycle",
            value: figures::days_text(closed.cycle),
            detail: "average from creation to won".to_owned(),
            tone: "",
        },
        Kpi {
            label: "Deals created",
            value: count_text(funnel.deals),
            detail: format!(
                "{} open · {} won · {} lost",
                count_text(funnel.open),
                count_text(funnel.won),
                count_text(funnel.lost)
            ),
            tone: "",
        },
    ];
    kpis.push(match bottleneck {
        Some(bottleneck) => Kpi {
            label: "Bottleneck",
            value: bottleneck.stage.clone(),
            detail: format!("only {} move on", bottleneck.conversion),
            tone: "warning",
        },
        None => Kpi {
            label: "Bottleneck",
            value: DASH.to_owned(),
            detail: format!(
                "none yet: a stage needs {} deals",
                figures::MIN_DEALS_FOR_BOTTLENECK
            ),
            tone: "",
        },
    });
    kpis.push(match report.forecast.first() {
        Some(forecast) => {
            let total = forecast.total();
            Kpi {
                label: "Weighted forecast",
                value: money_short(total.weighted, &forecast.currency),
                detail: format!(
                    "{} open worth {}",
                    plural(total.deals, "deal", "deals"),
                    money_short(total.value, &forecast.currency)
                ),
                tone: "",
            }
        }
        None => Kpi {
            label: "Weighted forecast",
            value: DASH.to_owned(),
            detail: "no open deals".to_owned(),
            tone: "",
        },
    });
    kpis
}

/// Won deals in the main currency, and the averages in the others.
fn average_size_detail(report: &Report) -> String {
    let mut totals = report.closed.won_value.iter();
    let Some(first) = totals.next() else {
        return "no deals won in the range".to_owned();
    };
    let mut detail = format!(
        "of {} in {}",
        plural(first.deals, "won deal", "won deals"),
        first.currency
    );
    for other in totals {
        detail.push_str(&format!(
            "; {} in {}",
            money_whole(other.average, &other.currency),
            other.currency
        ));
    }
    detail
}

fn funnel_chart(report: &Report) -> FunnelChart {
    let funnel = &report.funnel;
    let mut rows: Vec<FunnelInput> = report
        .stages
        .iter()
        .zip(&funnel.stages)
        .enumerate()
        .map(|(index, (stage, figures))| {
            let bottleneck = funnel.bottleneck == Some(index);
            let note = match figures.conversion.percent_number() {
                Some(percent) => format!("{percent}%"),
                None => String::new(),
            };
            FunnelInput {
                label: stage.name.clone(),
                count: figures.reached,
                count_text: count_text(figures.reached),
                tooltip: format!(
                    "{}: {} reached, {} moved on ({}){}",
                    stage.name,
                    count_text(figures.reached),
                    count_text(figures.advanced),
                    figures.conversion.percent_text(),
                    if bottleneck {
                        " — the bottleneck"
                    } else {
                        ""
                    }
                ),
                note,
                kind: if bottleneck { "bottleneck" } else { "stage" },
            }
        })
        .collect();
    let won_share = Ratio::new(
        funnel.won,
        funnel.stages.first().map_or(0, |stage| stage.reached),
    );
    rows.push(FunnelInput {
        label: "Won".to_owned(),
        count: funnel.won,
        count_text: count_text(funnel.won),
        note: won_share
            .percent_number()
            .map(|percent| format!("{percent}% of all"))
            .unwrap_or_default(),
        kind: "won",
        tooltip: format!("Won: {}", count_text(funnel.won)),
    });
    svg::funnel(rows)
}

fn funnel_description(report: &Report) -> String {
    let parts: Vec<String> = report
        .stages
        .iter()
        .zip(&report.funnel.stages)
        .map(|(stage, figures)| format!("{} {}", stage.name, count_text(figures.reached)))
        .collect();
    format!(
        "Deals reaching each stage: {}; won {}.",
        parts.join(", "),
        count_text(report.funnel.won)
    )
}

fn forecast_view(report: &Report, forecast: &CurrencyForecast) -> ForecastView {
    let currency = forecast.currency.as_str();
    let owners = report.owners_by_name(forecast);
    let columns: Vec<ColumnInput> = forecast
        .buckets
        .iter()
        .map(|bucket| ColumnInput {
            label: chart_label(*bucket),
            values: owners
                .iter()
                .map(|(owner, name)| {
                    let cell = forecast.cell(*owner, *bucket);
                    (
                        cell.weighted,
                        format!(
                            "{name}, {}: {} weighted ({})",
                            bucket_label(*bucket),
                            money_text(cell.weighted, currency),
                            plural(cell.deals, "deal", "deals")
                        ),
                    )
                })
                .collect(),
        })
        .collect();
    let chart = svg::bars(columns, |value| money_short(value, currency));
    let lines = forecast
        .buckets
        .iter()
        .map(|bucket| {
            let total = forecast.bucket_total(*bucket);
            ForecastLine {
                label: bucket_label(*bucket),
                cells: owners
                    .iter()
                    .map(|(owner, _)| {
                        let cell = forecast.cell(*owner, *bucket);
                        if cell.deals == 0 {
                            DASH.to_owned()
                        } else {
                            money_whole(cell.weighted, currency)
                        }
                    })
                    .collect(),
                total: money_whole(total.weighted, currency),
                deals: plural(total.deals, "deal", "deals"),
            }
        })
        .collect();
    let total = forecast.total();
    let totals = ForecastLine {
        label: "Total".to_owned(),
        cells: owners
            .iter()
            .map(|(owner, _)| money_whole(forecast.owner_total(*owner).weighted, currency))
            .collect(),
        total: money_whole(total.weighted, currency),
        deals: plural(total.deals, "deal", "deals"),
    };
    let description = forecast
        .buckets
        .iter()
        .map(|bucket| {
            format!(
                "{} {}",
                bucket_label(*bucket),
                money_short(forecast.bucket_total(*bucket).weighted, currency)
            )
        })
        .collect::<Vec<_>>()
        .join(", ");
    ForecastView {
        currency: forecast.currency.clone(),
        chart,
        description: format!(
            "Weighted forecast in {currency} by expected close month: {description}."
        ),
        legend: owners
            .iter()
            .enumerate()
            .map(|(series, (_, name))| LegendItem {
                series: series % SERIES_COLOURS,
                label: name.clone(),
            })
            .collect(),
        owners: owners.into_iter().map(|(_, name)| name).collect(),
        lines,
        totals,
        open_value: money_whole(total.value, currency),
    }
}

/// Month columns are short on the chart: "Jan 27".
fn chart_label(bucket: figures::Bucket) -> String {
    match bucket {
        figures::Bucket::Month(month) => month.format("%b %y").to_string(),
        other => bucket_label(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_grouped_by_thousands() {
        assert_eq!(count_text(0), "0");
        assert_eq!(count_text(999), "999");
        assert_eq!(count_text(1_000), "1,000");
        assert_eq!(count_text(1_234_567), "1,234,567");
    }

    #[test]
    fn unknown_currencies_still_show_their_amount() {
        assert_eq!(money_text(1_250_050, "EUR"), "€12,500.50");
        assert_eq!(money_text(15, "XYZ"), "15 XYZ");
        assert_eq!(money_plain(1_250_050, "EUR"), "12500.50");
        assert_eq!(money_whole(2_485_050, "USD"), "$24,851");
        assert_eq!(money_whole(2_485_049, "USD"), "$24,850");
        assert_eq!(money_whole(1_200, "JPY"), "¥1,200");
    }
}
