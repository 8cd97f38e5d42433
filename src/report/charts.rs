//! PNG charts drawn with plotters into an RGB buffer. Text uses the embedded DejaVu Sans
//! (`fonts/`, Bitstream Vera licence) through ab_glyph, so rendering needs no system fonts.
//! Colours are the Okabe–Ito palette, which stays distinguishable with colour-blindness.

use std::sync::Once;

use chrono::{DateTime, Utc};
use plotters::prelude::*;
use plotters::style::FontStyle;

use super::data::{ChartSpec, Overview};

/// Width of every chart, pixels.
pub const WIDTH: u32 = 1000;
/// Height of a finding chart, pixels.
pub const HEIGHT: u32 = 380;

static FONT_REGULAR: &[u8] = include_bytes!("fonts/DejaVuSans.ttf");
static FONT_BOLD: &[u8] = include_bytes!("fonts/DejaVuSans-Bold.ttf");
static FONTS: Once = Once::new();
const FAMILY: &str = "sans-serif";

/// Okabe–Ito colours.
pub(crate) mod palette {
    use plotters::style::RGBColor;
    pub(crate) const ORANGE: RGBColor = RGBColor(0xE6, 0x9F, 0x00);
    pub(crate) const SKY: RGBColor = RGBColor(0x56, 0xB4, 0xE9);
    pub(crate) const GREEN: RGBColor = RGBColor(0x00, 0x9E, 0x73);
    pub(crate) const YELLOW: RGBColor = RGBColor(0xF0, 0xE4, 0x42);
    pub(crate) const BLUE: RGBColor = RGBColor(0x00, 0x72, 0xB2);
    pub(crate) const VERMILLION: RGBColor = RGBColor(0xD5, 0x5E, 0x00);
    pub(crate) const PURPLE: RGBColor = RGBColor(0xCC, 0x79, 0xA7);
    pub(crate) const GREY: RGBColor = RGBColor(0x55, 0x55, 0x55);
    /// One colour per finding kind, in `FindingKind::ALL` order.
    pub(crate) const KINDS: [RGBColor; 7] = [ORANGE, SKY, VERMILLION, GREEN, BLUE, YELLOW, PURPLE];
}

/// A chart that could not be drawn.
#[derive(Debug, thiserror::Error)]
#[error("drawing {what}: {reason}")]
pub struct ChartError {
    /// Which chart.
    pub what: String,
    /// Why.
    pub reason: String,
}

fn err<E: std::fmt::Display>(what: &str) -> impl Fn(E) -> ChartError + '_ {
    move |e| ChartError {
        what: what.to_string(),
        reason: e.to_string(),
    }
}

fn init_fonts() {
    FONTS.call_once(|| {
        // The bytes are a valid TTF shipped in the crate; a failure here is a build defect.
        let _ = plotters::style::register_font(FAMILY, FontStyle::Normal, FONT_REGULAR);
        let _ = plotters::style::register_font(FAMILY, FontStyle::Bold, FONT_BOLD);
    });
}

fn font(size: u32) -> TextStyle<'static> {
    TextStyle::from((FAMILY, size).into_font()).color(&BLACK)
}

fn bold(size: u32) -> TextStyle<'static> {
    TextStyle::from((FAMILY, size).into_font().style(FontStyle::Bold)).color(&BLACK)
}

/// Cuts `s` (with an ellipsis) so it fits `width` pixels in `style`.
fn fit<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    s: &str,
    style: &TextStyle<'_>,
    width: u32,
) -> String {
    let fits = |t: &str| {
        area.estimate_text_size(t, style)
            .map(|(w, _)| w <= width)
            .unwrap_or(true)
    };
    if fits(s) {
        return s.to_string();
    }
    let chars: Vec<char> = s.chars().collect();
    let (mut lo, mut hi) = (0usize, chars.len());
    while lo < hi {
        let mid = (lo + hi).div_ceil(2);
        let t: String = chars[..mid].iter().collect::<String>() + "…";
        if fits(&t) {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    chars[..lo].iter().collect::<String>() + "…"
}

fn utc(t: i64, f: &str) -> String {
    DateTime::<Utc>::from_timestamp(t, 0)
        .map(|d| d.format(f).to_string())
        .unwrap_or_default()
}

/// Encodes an RGB buffer as an 8-bit indexed PNG. Charts are flat colours plus anti-aliased
/// text edges: the 256 most frequent colours cover them, and the rare edge shades map to their
/// nearest kept colour (invisible at this size). Indexed + deflate keeps a chart near 15 kB,
/// which is what keeps a 500-finding report well under 20 MB.
fn encode_png(buf: &[u8], w: u32, h: u32) -> Result<Vec<u8>, ChartError> {
    use std::collections::HashMap;
    // Counted by runs: most of a chart is long runs of one colour.
    let mut counts: HashMap<[u8; 3], u32> = HashMap::new();
    let mut run: Option<([u8; 3], u32)> = None;
    for c in buf.chunks_exact(3) {
        let px = [c[0], c[1], c[2]];
        match &mut run {
            Some((p, n)) if *p == px => *n += 1,
            _ => {
                if let Some((p, n)) = run.replace((px, 1)) {
                    *counts.entry(p).or_default() += n;
                }
            }
        }
    }
    if let Some((p, n)) = run {
        *counts.entry(p).or_default() += n;
    }
    let mut by_freq: Vec<([u8; 3], u32)> = counts.into_iter().collect();
    by_freq.sort_unstable_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let kept: Vec<[u8; 3]> = by_freq.iter().take(256).map(|c| c.0).collect();
    let dist = |a: [u8; 3], b: [u8; 3]| {
        a.iter()
            .zip(b)
            .map(|(&x, y)| (i32::from(x) - i32::from(y)).pow(2))
            .sum::<i32>()
    };
    let index: HashMap<[u8; 3], u8> = by_freq
        .iter()
        .map(|(c, _)| {
            let i = kept
                .iter()
                .enumerate()
                .min_by_key(|(_, k)| dist(*c, **k))
                .map_or(0, |(i, _)| i);
            (*c, i as u8)
        })
        .collect();
    let mut last = ([0u8; 3], None::<u8>);
    let pixels: Vec<u8> = buf
        .chunks_exact(3)
        .map(|c| {
            let px = [c[0], c[1], c[2]];
            match last {
                (p, Some(i)) if p == px => i,
                _ => {
                    let i = index.get(&px).copied().unwrap_or(0);
                    last = (px, Some(i));
                    i
                }
            }
        })
        .collect();
    Ok(super::png::encode_indexed(&pixels, w, h, &kept))
}

/// Key points for a time axis: whole days, or 12/6/3-hour steps, at most ~8 labels.
fn time_ticks(start: i64, end: i64) -> (Vec<i64>, &'static str) {
    let span = end - start;
    let step = [
        3600 * 3,
        3600 * 6,
        3600 * 12,
        86_400,
        2 * 86_400,
        7 * 86_400,
    ]
    .into_iter()
    .find(|s| span / s <= 8)
    .unwrap_or(14 * 86_400);
    let first = (start + step - 1).div_euclid(step) * step;
    let ticks = (0..)
        .map(|i| first + i * step)
        .take_while(|&t| t <= end)
        .collect();
    let fmt = if step >= 86_400 {
        "%a %m-%d"
    } else {
        "%m-%d %H:%M"
    };
    (ticks, fmt)
}

/// Draws one legend entry at `(x, y)`; returns the x after it.
fn legend_item<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    x: i32,
    y: i32,
    color: ShapeStyle,
    label: &str,
    max_w: u32,
) -> Result<i32, DrawingAreaErrorKind<DB::ErrorType>> {
    area.draw(&Rectangle::new([(x, y + 3), (x + 18, y + 11)], color))?;
    let style = font(12);
    let label = fit(area, label, &style, max_w);
    area.draw_text(&label, &style, (x + 23, y))?;
    let w = area
        .estimate_text_size(&label, &style)
        .map(|s| s.0)
        .unwrap_or(60);
    Ok(x + 23 + w as i32 + 18)
}

/// Draws a `w`×`h` chart with `draw` into a white RGB buffer and encodes it as PNG.
fn render(
    what: &str,
    (w, h): (u32, u32),
    draw: impl FnOnce(&mut [u8], u32, u32) -> Result<(), Box<dyn std::error::Error>>,
) -> Result<Vec<u8>, ChartError> {
    init_fonts();
    let mut buf = vec![255u8; (w * h * 3) as usize];
    draw(&mut buf, w, h).map_err(err(what))?;
    encode_png(&buf, w, h)
}

/// Renders a finding's chart as PNG bytes.
pub fn finding_chart(spec: &ChartSpec) -> Result<Vec<u8>, ChartError> {
    render("finding chart", (WIDTH, HEIGHT), |b, w, h| {
        draw_finding(spec, b, w, h)
    })
}

fn draw_finding(
    spec: &ChartSpec,
    buf: &mut [u8],
    w: u32,
    h: u32,
) -> Result<(), Box<dyn std::error::Error>> {
    let root = BitMapBackend::with_buffer(buf, (w, h)).into_drawing_area();
    root.fill(&WHITE)?;
    let (header, body) = root.split_vertically(78);
    let t = fit(&header, &spec.title, &bold(16), w - 24);
    header.draw_text(&t, &bold(16), (12, 8))?;
    let s = fit(&header, &spec.subtitle, &font(13), w - 24);
    header.draw_text(&s, &font(13).color(&palette::GREY), (12, 31))?;
    // Legend row.
    let mut x = 12;
    let ly = 54;
    x = legend_item(
        &header,
        x,
        ly,
        palette::BLUE.filled(),
        &spec.observed_label,
        260,
    )?;
    if let Some((label, _)) = &spec.highlight {
        x = legend_item(&header, x, ly, palette::VERMILLION.filled(), label, 260)?;
    }
    if spec.expected.is_some() {
        let label = if spec.band.is_some() {
            "expected (baseline)"
        } else {
            "baseline hourly average"
        };
        x = legend_item(&header, x, ly, palette::ORANGE.filled(), label, 200)?;
    }
    if spec.band.is_some() {
        x = legend_item(
            &header,
            x,
            ly,
            palette::SKY.mix(0.35).filled(),
            "≈95 % band",
            120,
        )?;
    }
    if !spec.markers.is_empty() {
        x = legend_item(&header, x, ly, palette::GREEN.filled(), "expected run", 120)?;
        x = legend_item(
            &header,
            x,
            ly,
            palette::VERMILLION.filled(),
            "missed run",
            120,
        )?;
    }
    let _ = legend_item(
        &header,
        x,
        ly,
        palette::VERMILLION.mix(0.18).filled(),
        "finding window",
        140,
    )?;

    let n = spec.observed.len() as i64;
    let (x0, x1) = (spec.start, spec.start + n.max(1) * spec.step);
    let mut ymax = spec.observed.iter().copied().fold(0.0, f64::max);
    if let Some(e) = &spec.expected {
        ymax = e.iter().copied().fold(ymax, f64::max);
    }
    if let Some((_, hi)) = &spec.band {
        ymax = hi.iter().copied().fold(ymax, f64::max);
    }
    // Headroom for the note box inside the plot.
    let ymax = (ymax * 1.25).max(1.0);
    let (ticks, fmt) = time_ticks(x0, x1);
    let mut chart = ChartBuilder::on(&body)
        .margin_left(8)
        .margin_right(44)
        .margin_top(4)
        .margin_bottom(4)
        .x_label_area_size(34)
        .y_label_area_size(64)
        .build_cartesian_2d((x0..x1).with_key_points(ticks), 0f64..ymax)?;
    chart
        .configure_mesh()
        .x_label_formatter(&|t| utc(*t, fmt))
        .y_label_formatter(&|v| {
            if ymax < 10.0 {
                format!("{v:.1}")
            } else {
                format!("{v:.0}")
            }
        })
        .y_labels(6)
        .y_desc(spec.y_label.as_str())
        .axis_desc_style(font(12))
        .label_style(font(12))
        .light_line_style(RGBColor(246, 246, 246))
        .bold_line_style(RGBColor(215, 215, 215))
        .draw()?;
    // Finding window (at least a visible sliver).
    let (ws, we) = spec.window;
    let we = we.max(ws + spec.step / 6);
    chart.draw_series(std::iter::once(Rectangle::new(
        [(ws.max(x0), 0.0), (we.min(x1), ymax)],
        palette::VERMILLION.mix(0.18).filled(),
    )))?;
    if let Some((lo, hi)) = &spec.band {
        let mut pts: Vec<(i64, f64)> = Vec::with_capacity(lo.len() * 4);
        for (i, v) in hi.iter().enumerate() {
            let t = x0 + i as i64 * spec.step;
            pts.push((t, *v));
            pts.push((t + spec.step, *v));
        }
        for (i, v) in lo.iter().enumerate().rev() {
            let t = x0 + i as i64 * spec.step;
            pts.push((t + spec.step, *v));
            pts.push((t, *v));
        }
        chart.draw_series(std::iter::once(Polygon::new(
            pts,
            palette::SKY.mix(0.35).filled(),
        )))?;
    }
    let steps = |v: &[f64]| -> Vec<(i64, f64)> {
        v.iter()
            .enumerate()
            .flat_map(|(i, &y)| {
                let t = x0 + i as i64 * spec.step;
                [(t, y), (t + spec.step, y)]
            })
            .collect()
    };
    if let Some(e) = &spec.expected {
        chart.draw_series(DashedLineSeries::new(
            steps(e),
            8,
            4,
            palette::ORANGE.stroke_width(2),
        ))?;
    }
    chart.draw_series(LineSeries::new(
        steps(&spec.observed),
        palette::BLUE.stroke_width(2),
    ))?;
    if let Some((_, hl)) = &spec.highlight {
        chart.draw_series(
            hl.iter()
                .enumerate()
                .filter(|(_, v)| **v > 0.0)
                .map(|(i, &v)| {
                    let t = x0 + i as i64 * spec.step;
                    Rectangle::new([(t, 0.0), (t + spec.step, v)], palette::VERMILLION.filled())
                }),
        )?;
    }
    for m in &spec.markers {
        let (c, wd) = if m.missing {
            (palette::VERMILLION, 3)
        } else {
            (palette::GREEN, 1)
        };
        chart.draw_series(std::iter::once(PathElement::new(
            vec![(m.t, 0.0), (m.t, ymax)],
            c.stroke_width(wd),
        )))?;
    }
    // The exact numbers, in a box at the top left of the plot.
    let (px, py) = chart.backend_coord(&(x0, ymax));
    let style = font(13);
    let note = fit(&root, &spec.note, &style, w - 120);
    let (tw, th) = root.estimate_text_size(&note, &style)?;
    let (bx, by) = (px + 8, py + 6);
    root.draw(&Rectangle::new(
        [(bx, by), (bx + tw as i32 + 12, by + th as i32 + 10)],
        WHITE.mix(0.92).filled(),
    ))?;
    root.draw(&Rectangle::new(
        [(bx, by), (bx + tw as i32 + 12, by + th as i32 + 10)],
        palette::GREY.stroke_width(1),
    ))?;
    root.draw_text(&note, &style, (bx + 6, by + 5))?;
    root.present()?;
    Ok(())
}

/// Findings per day, stacked by kind.
pub fn findings_over_time(o: &Overview) -> Result<Vec<u8>, ChartError> {
    render("findings over time", (WIDTH, 320), |b, w, h| {
        draw_findings_over_time(o, b, w, h)
    })
}

fn draw_findings_over_time(
    o: &Overview,
    buf: &mut [u8],
    w: u32,
    h: u32,
) -> Result<(), Box<dyn std::error::Error>> {
    use crate::finding::FindingKind;
    let root = BitMapBackend::with_buffer(buf, (w, h)).into_drawing_area();
    root.fill(&WHITE)?;
    let (header, body) = root.split_vertically(56);
    header.draw_text("Findings per day, by kind (UTC days)", &bold(16), (12, 8))?;
    let mut x = 12;
    for (k, c) in FindingKind::ALL.iter().zip(palette::KINDS) {
        if o.findings_by_day.contains_key(k.as_str()) {
            x = legend_item(&header, x, 34, c.filled(), k.as_str(), 200)?;
        }
    }
    let nd = o.days.len().max(1) as i64;
    let x0 = o.days.first().copied().unwrap_or(0);
    let x1 = x0 + nd * 86_400;
    let mut totals = vec![0u32; nd as usize];
    for v in o.findings_by_day.values() {
        for (t, c) in totals.iter_mut().zip(v) {
            *t += c;
        }
    }
    let ymax = totals.iter().copied().max().unwrap_or(0).max(1) + 1;
    // One label per day at noon (under its bar), thinned to at most ~10.
    let every = (nd as usize).div_ceil(10).max(1);
    let ticks: Vec<i64> = (0..nd)
        .step_by(every)
        .map(|d| x0 + d * 86_400 + 43_200)
        .collect();
    let mut chart = ChartBuilder::on(&body)
        .margin_left(8)
        .margin_right(44)
        .margin_bottom(4)
        .x_label_area_size(30)
        .y_label_area_size(56)
        .build_cartesian_2d((x0..x1).with_key_points(ticks), 0u32..ymax)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_label_formatter(&|t| utc(*t, "%a %m-%d"))
        .y_labels((ymax as usize + 1).min(8))
        .y_desc("findings")
        .axis_desc_style(font(12))
        .label_style(font(12))
        .light_line_style(RGBColor(246, 246, 246))
        .bold_line_style(RGBColor(215, 215, 215))
        .draw()?;
    let mut base = vec![0u32; nd as usize];
    for (k, c) in FindingKind::ALL.iter().zip(palette::KINDS) {
        let Some(v) = o.findings_by_day.get(k.as_str()) else {
            continue;
        };
        let rects: Vec<_> = v
            .iter()
            .enumerate()
            .filter(|(_, n)| **n > 0)
            .map(|(i, &n)| {
                let t = x0 + i as i64 * 86_400;
                let y0 = base[i];
                base[i] += n;
                Rectangle::new(
                    [(t + 86_400 / 10, y0), (t + 86_400 * 9 / 10, base[i])],
                    c.filled(),
                )
            })
            .collect();
        chart.draw_series(rects)?;
    }
    root.present()?;
    Ok(())
}

/// The busiest APIs of the period against their baselines.
pub fn top_apis(o: &Overview) -> Result<Vec<u8>, ChartError> {
    let n = o.top_apis.len().max(1) as u32;
    render("top APIs", (WIDTH, 90 + 30 * n), |b, w, h| {
        draw_top_apis(o, b, w, h)
    })
}

fn draw_top_apis(
    o: &Overview,
    buf: &mut [u8],
    w: u32,
    h: u32,
) -> Result<(), Box<dyn std::error::Error>> {
    let root = BitMapBackend::with_buffer(buf, (w, h)).into_drawing_area();
    root.fill(&WHITE)?;
    let (header, body) = root.split_vertically(56);
    header.draw_text(
        "Busiest APIs in the period: calls observed vs expected by the baseline",
        &bold(16),
        (12, 8),
    )?;
    let x = legend_item(
        &header,
        12,
        34,
        palette::BLUE.filled(),
        "observed calls",
        200,
    )?;
    legend_item(
        &header,
        x,
        34,
        palette::ORANGE.filled(),
        "expected (baseline)",
        200,
    )?;
    let n = o.top_apis.len().max(1);
    let xmax = o
        .top_apis
        .iter()
        .map(|(_, c, e)| (*c as f64).max(e.unwrap_or(0.0)))
        .fold(1.0, f64::max)
        * 1.08;
    let label_w = 330;
    let mut chart = ChartBuilder::on(&body)
        .margin_left(8)
        .margin_right(40)
        .margin_bottom(4)
        .x_label_area_size(28)
        .y_label_area_size(label_w)
        .build_cartesian_2d(0f64..xmax, 0f64..n as f64)?;
    chart
        .configure_mesh()
        .disable_y_mesh()
        .y_labels(0)
        .x_labels(6)
        .x_label_formatter(&|v| human(*v))
        .label_style(font(12))
        .light_line_style(RGBColor(240, 240, 240))
        .bold_line_style(RGBColor(215, 215, 215))
        .draw()?;
    for (i, (name, calls, exp)) in o.top_apis.iter().enumerate() {
        // Busiest at the top.
        let y = (n - 1 - i) as f64;
        chart.draw_series(std::iter::once(Rectangle::new(
            [(0.0, y + 0.18), (*calls as f64, y + 0.82)],
            palette::BLUE.filled(),
        )))?;
        if let Some(e) = exp {
            chart.draw_series(std::iter::once(Rectangle::new(
                [(*e, y + 0.08), (*e + xmax / 300.0, y + 0.92)],
                palette::ORANGE.filled(),
            )))?;
        }
        let (_, py) = chart.backend_coord(&(0.0, y + 0.5));
        let style = font(12);
        let label = fit(&root, name, &style, label_w - 20);
        let (tw, th) = root.estimate_text_size(&label, &style)?;
        root.draw_text(
            &label,
            &style,
            (8 + label_w as i32 - 10 - tw as i32, py - th as i32 / 2),
        )?;
    }
    root.present()?;
    Ok(())
}

fn human(v: f64) -> String {
    if v >= 1e6 {
        format!("{:.1}M", v / 1e6)
    } else if v >= 1e3 {
        format!("{:.0}k", v / 1e3)
    } else {
        format!("{v:.0}")
    }
}

/// Viridis (colour-blind safe, monotone in lightness) at `x` in `[0, 1]`.
fn viridis(x: f64) -> RGBColor {
    const STOPS: [(u8, u8, u8); 6] = [
        (68, 1, 84),
        (65, 68, 135),
        (42, 120, 142),
        (34, 168, 132),
        (122, 209, 81),
        (253, 231, 37),
    ];
    let x = x.clamp(0.0, 1.0) * (STOPS.len() - 1) as f64;
    let i = (x.floor() as usize).min(STOPS.len() - 2);
    let f = x - i as f64;
    let (a, b) = (STOPS[i], STOPS[i + 1]);
    let mix = |p: u8, q: u8| (f64::from(p) + (f64::from(q) - f64::from(p)) * f).round() as u8;
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

/// Average calls per hour of the week, as a heat map.
pub fn heatmap(o: &Overview) -> Result<Vec<u8>, ChartError> {
    render("heat map", (WIDTH, 330), |b, w, h| draw_heatmap(o, b, w, h))
}

fn draw_heatmap(
    o: &Overview,
    buf: &mut [u8],
    w: u32,
    h: u32,
) -> Result<(), Box<dyn std::error::Error>> {
    let root = BitMapBackend::with_buffer(buf, (w, h)).into_drawing_area();
    root.fill(&WHITE)?;
    root.draw_text(
        "Call volume by hour of week (UTC), average calls per hour",
        &bold(16),
        (12, 8),
    )?;
    let max = o.hour_of_week.iter().copied().fold(0.0, f64::max).max(1.0);
    let (left, top, cw, ch) = (60i32, 44i32, 36i32, 30i32);
    const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    for (d, name) in DAYS.iter().enumerate() {
        let y = top + d as i32 * ch;
        root.draw_text(name, &font(12), (14, y + ch / 2 - 7))?;
        for hr in 0..24 {
            let v = o.hour_of_week.get(d * 24 + hr).copied().unwrap_or(0.0);
            let x = left + hr as i32 * cw;
            root.draw(&Rectangle::new(
                [(x, y), (x + cw - 2, y + ch - 2)],
                viridis(v / max).filled(),
            ))?;
        }
    }
    let ly = top + 7 * ch + 4;
    for hr in (0..24).step_by(3) {
        root.draw_text(&format!("{hr:02}:00"), &font(12), (left + hr * cw, ly))?;
    }
    // Colour scale.
    let sy = ly + 28;
    let sx = left;
    for i in 0..300 {
        root.draw(&Rectangle::new(
            [(sx + i, sy), (sx + i + 1, sy + 12)],
            viridis(f64::from(i) / 299.0).filled(),
        ))?;
    }
    root.draw_text("0", &font(12), (sx - 14, sy))?;
    root.draw_text(&human(max), &font(12), (sx + 306, sy))?;
    root.present()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_stay_few_and_aligned() {
        let (t, f) = time_ticks(0, 4 * 86_400);
        assert!(t.len() <= 9 && t.len() >= 4, "{t:?}");
        assert!(t.iter().all(|x| x % (12 * 3600) == 0));
        assert_eq!(f, "%m-%d %H:%M");
        let (t, f) = time_ticks(0, 90 * 86_400);
        assert!(t.len() <= 9);
        assert_eq!(f, "%a %m-%d");
    }

    #[test]
    fn viridis_ends() {
        assert_eq!(viridis(0.0), RGBColor(68, 1, 84));
        assert_eq!(viridis(1.0), RGBColor(253, 231, 37));
        assert_eq!(viridis(7.0), RGBColor(253, 231, 37));
    }
}

/// One threshold of a `tune` replay, as the tuning chart plots it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TunePoint {
    /// The threshold tried.
    pub threshold: f64,
    /// Findings per replayed day.
    pub per_day: f64,
    /// Precision, with labels.
    pub precision: Option<f64>,
    /// Recall, with labels.
    pub recall: Option<f64>,
}

/// `tune`'s chart: findings per day against the threshold (left axis), precision and recall
/// when labels were given (right axis), and the configured value marked.
pub fn tune_chart(
    detector: &str,
    points: &[TunePoint],
    current: f64,
) -> Result<Vec<u8>, ChartError> {
    render("tuning chart", (WIDTH, HEIGHT), |b, w, h| {
        draw_tune(detector, points, current, b, w, h)
    })
}

fn draw_tune(
    detector: &str,
    points: &[TunePoint],
    current: f64,
    buf: &mut [u8],
    w: u32,
    h: u32,
) -> Result<(), Box<dyn std::error::Error>> {
    let root = BitMapBackend::with_buffer(buf, (w, h)).into_drawing_area();
    root.fill(&WHITE)?;
    let (header, body) = root.split_vertically(56);
    let title = format!("{detector}: findings per day against min_score");
    header.draw_text(&fit(&header, &title, &bold(16), w - 24), &bold(16), (12, 8))?;
    let labelled = points.iter().any(|p| p.precision.is_some());
    let mut x = 12;
    x = legend_item(
        &header,
        x,
        34,
        palette::BLUE.filled(),
        "findings / day",
        200,
    )?;
    if labelled {
        x = legend_item(
            &header,
            x,
            34,
            palette::VERMILLION.filled(),
            "precision",
            200,
        )?;
        x = legend_item(&header, x, 34, palette::GREEN.filled(), "recall", 200)?;
    }
    legend_item(
        &header,
        x,
        34,
        palette::GREY.filled(),
        &format!("configured ({current})"),
        240,
    )?;
    let lo = points.iter().map(|p| p.threshold).fold(current, f64::min);
    let hi = points.iter().map(|p| p.threshold).fold(current, f64::max);
    let pad = ((hi - lo) * 0.05).max(1.0);
    let (x0, x1) = ((lo - pad).max(0.0), (hi + pad).min(100.0));
    let ymax = points
        .iter()
        .map(|p| p.per_day)
        .fold(0.0, f64::max)
        .max(0.1)
        * 1.15;
    let mut chart = ChartBuilder::on(&body)
        .margin_left(8)
        .margin_right(8)
        .margin_bottom(4)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .right_y_label_area_size(if labelled { 60 } else { 10 })
        .build_cartesian_2d(x0..x1, 0.0..ymax)?
        .set_secondary_coord(x0..x1, 0.0..1.05);
    chart
        .configure_mesh()
        .x_desc("min_score")
        .y_desc("findings per day")
        .axis_desc_style(font(12))
        .label_style(font(12))
        .light_line_style(RGBColor(246, 246, 246))
        .bold_line_style(RGBColor(215, 215, 215))
        .draw()?;
    if labelled {
        chart
            .configure_secondary_axes()
            .y_desc("precision / recall")
            .axis_desc_style(font(12))
            .label_style(font(12))
            .draw()?;
    }
    chart.draw_series(LineSeries::new(
        [(current, 0.0), (current, ymax)],
        palette::GREY.stroke_width(2),
    ))?;
    let line =
        |v: Vec<(f64, f64)>, c: RGBColor| (LineSeries::new(v.clone(), c.stroke_width(3)), v, c);
    let (series, pts, c) = line(
        points.iter().map(|p| (p.threshold, p.per_day)).collect(),
        palette::BLUE,
    );
    chart.draw_series(series)?;
    chart.draw_series(pts.iter().map(|&p| Circle::new(p, 5, c.filled())))?;
    chart.draw_series(
        pts.iter()
            .map(|&(x, y)| Text::new(format!("{y:.2}"), (x, y + ymax * 0.04), font(12))),
    )?;
    if labelled {
        for (get, c) in [
            (
                &(|p: &TunePoint| p.precision) as &dyn Fn(&TunePoint) -> Option<f64>,
                palette::VERMILLION,
            ),
            (&|p: &TunePoint| p.recall, palette::GREEN),
        ] {
            let v: Vec<(f64, f64)> = points
                .iter()
                .filter_map(|p| get(p).map(|y| (p.threshold, y)))
                .collect();
            chart.draw_secondary_series(LineSeries::new(v.clone(), c.stroke_width(2)))?;
            chart.draw_secondary_series(v.iter().map(|&p| Circle::new(p, 4, c.filled())))?;
        }
    }
    root.present()?;
    Ok(())
}
