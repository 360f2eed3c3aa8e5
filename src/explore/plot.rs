//! The exploration as an SVG picture, drawn with plotters: on the left the
//! metric against LUTs, on the right the latency against LUTs, and a key
//! below them. Colour is the latency in both panels; Pareto points are
//! ringed, the model as given is a red cross, and the left panel joins the
//! points that are best in metric and LUTs alone (the front of that
//! projection).
//!
//! plotters' SVG backend with its built-in text layout needs no fonts on
//! the machine and prints the same file for the same points.

use super::evaluate::Metric;
use super::{Exploration, pareto};
use plotters::coord::Shift;
use plotters::coord::ranged1d::{Ranged, ValueFormatter};
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;

const WIDTH: u32 = 1100;
/// Height of the two panels with the title; the key adds rows below.
const PANELS_HEIGHT: u32 = 470;
const KEY_ROW: u32 = 22;
const FONT: &str = "sans-serif";
/// The model as given stands out in red.
const BASELINE: RGBColor = RGBColor(200, 0, 0);
const REFERENCE: RGBColor = RGBColor(150, 150, 150);

/// One successfully compiled point, as the plot needs it.
struct Dot {
    luts: f64,
    quality: f64,
    latency_ns: f64,
    cycles: u32,
    pareto: bool,
    baseline: bool,
}

/// Colours from dark blue to yellow (viridis stops), by rank of latency.
fn latency_colour(rank: usize, n: usize) -> RGBColor {
    const STOPS: [(f64, f64, f64); 5] = [
        (68.0, 1.0, 84.0),
        (59.0, 82.0, 139.0),
        (33.0, 145.0, 140.0),
        (94.0, 201.0, 98.0),
        (253.0, 231.0, 37.0),
    ];
    let t = if n <= 1 {
        0.0
    } else {
        rank as f64 / (n - 1) as f64
    };
    let x = t * (STOPS.len() - 1) as f64;
    let i = (x.floor() as usize).min(STOPS.len() - 2);
    let f = x - i as f64;
    let mix = |a: f64, b: f64| (a + (b - a) * f).round() as u8;
    let (a, b) = (STOPS[i], STOPS[i + 1]);
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

/// `[lo, hi]` widened by a margin, and never empty.
fn padded(lo: f64, hi: f64) -> (f64, f64) {
    let span = if hi > lo { hi - lo } else { hi.abs().max(1.0) };
    (lo - 0.06 * span, hi + 0.06 * span)
}

type PlotResult = Result<(), String>;

fn err<E: std::fmt::Display>(e: E) -> String {
    format!("drawing the plot: {e}")
}

/// Render the plot to SVG text.
pub fn svg(x: &Exploration) -> Result<String, String> {
    let dots: Vec<Dot> = x
        .points
        .iter()
        .filter_map(|p| {
            let m = p.result.as_ref().ok()?;
            let quality = match x.metric {
                Metric::Accuracy => m.accuracy?.percent(),
                Metric::MeanAbsError => m.mean_abs_error?,
            };
            Some(Dot {
                luts: m.estimate.luts as f64,
                quality,
                latency_ns: m.estimate.latency_ns,
                cycles: m.estimate.latency_cycles,
                pareto: p.pareto,
                baseline: p.baseline,
            })
        })
        .collect();
    let mut latencies: Vec<(u32, f64)> = dots.iter().map(|d| (d.cycles, d.latency_ns)).collect();
    latencies.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
    latencies.dedup();
    let colour = |d: &Dot| {
        let rank = latencies
            .iter()
            .position(|l| *l == (d.cycles, d.latency_ns))
            .unwrap_or(0);
        latency_colour(rank, latencies.len())
    };

    let mut text = String::new();
    {
        let key = key_items(x, &latencies);
        let key_rows = layout_key(&key).last().map_or(0, |k| k.1 + 1);
        let height = PANELS_HEIGHT + KEY_ROW * key_rows + 10;
        let root = SVGBackend::with_string(&mut text, (WIDTH, height)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let failed = x.points.len() - dots.len();
        let title = format!(
            "{}: {} points{}, {} on the Pareto front; estimates at {} MHz",
            x.model,
            x.points.len(),
            if failed > 0 {
                format!(" ({failed} did not compile)")
            } else {
                String::new()
            },
            dots.iter().filter(|d| d.pareto).count(),
            x.clock_mhz
        );
        let root = root.titled(&title, (FONT, 18)).map_err(err)?;
        let (panels, key_area) = root.split_vertically(PANELS_HEIGHT - 30);
        draw_key(&key_area, &key)?;
        let (left, right) = panels.split_horizontally(WIDTH / 2);

        let luts = dots.iter().map(|d| d.luts);
        let (x0, x1) = padded(
            luts.clone().fold(f64::INFINITY, f64::min),
            luts.fold(0.0, f64::max),
        );
        let (x0, x1) = if dots.is_empty() {
            (0.0, 1.0)
        } else {
            (x0.max(0.0), x1)
        };

        let q = dots.iter().map(|d| d.quality);
        let (qlo, qhi) = (
            q.clone().fold(f64::INFINITY, f64::min),
            q.fold(f64::NEG_INFINITY, f64::max),
        );
        match x.metric {
            Metric::Accuracy => {
                let reference = x.float_accuracy.map(|a| a.percent());
                let lo = reference.map_or(qlo, |r| r.min(qlo));
                let hi = reference.map_or(qhi, |r| r.max(qhi));
                let (y0, y1) = if dots.is_empty() {
                    (0.0, 100.0)
                } else {
                    padded(lo, hi)
                };
                let y: RangedCoordf64 = (y0.max(0.0)..y1.min(100.0)).into();
                quality_panel(
                    &left,
                    &dots,
                    &colour,
                    (x0..x1).into(),
                    y,
                    Metric::Accuracy,
                    reference,
                    &|v| format!("{v:.1}"),
                )?;
            }
            Metric::MeanAbsError => {
                // Errors span decades as bits are removed: a log axis.
                let positive = dots
                    .iter()
                    .map(|d| d.quality)
                    .filter(|&v| v > 0.0)
                    .fold(f64::INFINITY, f64::min);
                let floor = if positive.is_finite() { positive } else { 1e-6 };
                let (y0, y1) = if dots.is_empty() {
                    (1e-6, 1.0)
                } else {
                    (floor / 1.5, qhi.max(floor) * 1.5)
                };
                let y: LogCoord<f64> = (y0..y1).log_scale().into();
                quality_panel(
                    &left,
                    &dots,
                    &colour,
                    (x0..x1).into(),
                    y,
                    Metric::MeanAbsError,
                    None,
                    &|v| format!("{v:.1e}"),
                )?;
            }
        }

        // From zero: a combinational design has latency 0.
        let lat = dots.iter().map(|d| d.latency_ns).fold(0.0, f64::max);
        let y1 = if lat > 0.0 { lat * 1.08 } else { 1.0 };
        let mut chart = ChartBuilder::on(&right)
            .caption("latency vs LUTs", (FONT, 16))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .build_cartesian_2d(x0..x1, 0.0..y1)
            .map_err(err)?;
        chart
            .configure_mesh()
            .x_desc("LUTs (estimate)")
            .y_desc("latency (ns)")
            .x_label_formatter(&|v| format!("{v:.0}"))
            .y_label_formatter(&|v| format!("{v:.1}"))
            .light_line_style(WHITE)
            .draw()
            .map_err(err)?;
        draw_dots(&mut chart, &dots, &colour, |d| d.latency_ns)?;
        root.present().map_err(err)?;
    }
    Ok(text)
}

/// The left panel: quality against LUTs.
#[allow(clippy::too_many_arguments)]
fn quality_panel<Y>(
    area: &DrawingArea<SVGBackend<'_>, Shift>,
    dots: &[Dot],
    colour: &dyn Fn(&Dot) -> RGBColor,
    x: RangedCoordf64,
    y: Y,
    metric: Metric,
    reference: Option<f64>,
    y_fmt: &dyn Fn(&f64) -> String,
) -> PlotResult
where
    Y: Ranged<ValueType = f64> + ValueFormatter<f64>,
{
    let (caption, y_desc, sign) = match metric {
        Metric::Accuracy => ("accuracy vs LUTs", "accuracy (%)", -1.0),
        Metric::MeanAbsError => ("error vs LUTs", "mean |golden - float|", 1.0),
    };
    let (x0, x1) = (x.range().start, x.range().end);
    let mut chart = ChartBuilder::on(area)
        .caption(caption, (FONT, 16))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(x, y)
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_desc("LUTs (estimate)")
        .y_desc(y_desc)
        // A log axis otherwise labels every step inside a decade.
        .y_labels(8)
        .x_label_formatter(&|v| format!("{v:.0}"))
        .y_label_formatter(y_fmt)
        .light_line_style(WHITE)
        .draw()
        .map_err(err)?;
    if let Some(r) = reference {
        chart
            .draw_series(LineSeries::new(
                [(x0, r), (x1, r)],
                REFERENCE.stroke_width(1),
            ))
            .map_err(err)?;
    }
    // The front of this projection, left to right.
    let on_front: Vec<&Dot> = dots.iter().filter(|d| d.pareto).collect();
    let objs: Vec<[f64; 2]> = on_front
        .iter()
        .map(|d| [sign * d.quality, d.luts])
        .collect();
    let mut line: Vec<(f64, f64)> = on_front
        .iter()
        .zip(pareto::front(&objs))
        .filter(|(_, on)| *on)
        .map(|(d, _)| (d.luts, d.quality))
        .collect();
    line.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
    line.dedup();
    chart
        .draw_series(LineSeries::new(line, BLACK.stroke_width(1)))
        .map_err(err)?;
    draw_dots(&mut chart, dots, colour, |d| d.quality)
}

/// One entry of the key.
enum Mark {
    Dot(RGBColor),
    Ring,
    Cross,
    Line(RGBColor),
    /// Text alone.
    Heading,
}

fn key_items(x: &Exploration, latencies: &[(u32, f64)]) -> Vec<(Mark, String)> {
    let what = match x.metric {
        Metric::Accuracy => "accuracy",
        Metric::MeanAbsError => "error",
    };
    let mut items = vec![
        (Mark::Ring, "on the Pareto front (3 objectives)".to_string()),
        (Mark::Cross, "the model as given".to_string()),
        (Mark::Line(BLACK), format!("front of {what} and LUTs alone")),
    ];
    if let Some(a) = x.float_accuracy {
        items.push((
            Mark::Line(REFERENCE),
            format!("float reference {:.2} %", a.percent()),
        ));
    }
    items.push((Mark::Heading, "colour: latency".to_string()));
    for (rank, &(cycles, ns)) in latencies.iter().enumerate() {
        items.push((
            Mark::Dot(latency_colour(rank, latencies.len())),
            format!("{cycles} cycles ({ns:.1} ns)"),
        ));
    }
    items
}

/// Pixel x and row of each key item, wrapping at the picture's width.
fn layout_key(items: &[(Mark, String)]) -> Vec<(i32, u32)> {
    let mut out = vec![];
    let (mut x, mut row) = (20i32, 0u32);
    for (mark, label) in items {
        let heading = matches!(mark, Mark::Heading);
        let text = FontDesc::from((FONT, 12.0))
            .box_size(label)
            .map_or(0, |b| b.0);
        let w = if heading { 0 } else { 22 } + text as i32;
        // The latency colours start a row of their own.
        if (x + w > WIDTH as i32 - 10 || heading) && x > 20 {
            x = 20;
            row += 1;
        }
        out.push((x, row));
        x += w + 14;
    }
    out
}

fn draw_key(area: &DrawingArea<SVGBackend<'_>, Shift>, items: &[(Mark, String)]) -> PlotResult {
    for ((mark, label), (x, row)) in items.iter().zip(layout_key(items)) {
        let y = (row * KEY_ROW) as i32 + 12;
        let c = (x + 8, y);
        match mark {
            Mark::Dot(colour) => area.draw(&Circle::new(c, 4, colour.filled())),
            Mark::Ring => area.draw(&Circle::new(c, 7, BLACK.stroke_width(2))),
            Mark::Cross => area.draw(&Cross::new(c, 5, BASELINE.stroke_width(2))),
            Mark::Line(colour) => area.draw(&PathElement::new(
                [(x, y), (x + 16, y)],
                colour.stroke_width(1),
            )),
            Mark::Heading => Ok(()),
        }
        .map_err(err)?;
        let indent = if matches!(mark, Mark::Heading) { 0 } else { 22 };
        area.draw(&Text::new(label.as_str(), (x + indent, y - 6), (FONT, 12)))
            .map_err(err)?;
    }
    Ok(())
}

/// Every dot at (LUTs, `y`): coloured by latency, ringed on the front,
/// crossed for the model as given.
fn draw_dots<Y>(
    chart: &mut ChartContext<'_, SVGBackend<'_>, Cartesian2d<RangedCoordf64, Y>>,
    dots: &[Dot],
    colour: &dyn Fn(&Dot) -> RGBColor,
    y: impl Fn(&Dot) -> f64,
) -> PlotResult
where
    Y: Ranged<ValueType = f64>,
{
    // Slowest first, so where points coincide the fastest shows.
    let mut order: Vec<&Dot> = dots.iter().collect();
    order.sort_by(|a, b| b.latency_ns.total_cmp(&a.latency_ns));
    chart
        .draw_series(
            order
                .iter()
                .map(|d| Circle::new((d.luts, y(d)), 4, colour(d).filled())),
        )
        .map_err(err)?;
    chart
        .draw_series(
            dots.iter()
                .filter(|d| d.pareto)
                .map(|d| Circle::new((d.luts, y(d)), 7, BLACK.stroke_width(2))),
        )
        .map_err(err)?;
    chart
        .draw_series(
            dots.iter()
                .filter(|d| d.baseline)
                .map(|d| Cross::new((d.luts, y(d)), 6, BASELINE.stroke_width(2))),
        )
        .map_err(err)?;
    Ok(())
}
