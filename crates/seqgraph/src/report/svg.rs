//! Figures as SVG, drawn with `plotters` (text stays text, so the files need no fonts).

use super::{Figure, Plot, Series};
use anyhow::{anyhow, Result};
use plotters::prelude::*;

const SIZE: (u32, u32) = (800, 500);

/// Renders `fig` to an SVG document.
pub fn render(fig: &Figure) -> Result<String> {
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        match &fig.plot {
            Plot::Lines { series } => lines(&root, fig, series)?,
            Plot::Bars { categories, series } => bars(&root, fig, categories, series)?,
        }
        root.present().map_err(err)?;
    }
    Ok(out)
}

fn err<E: std::fmt::Debug>(e: E) -> anyhow::Error {
    anyhow!("plotters: {e:?}")
}

fn colour(i: usize) -> RGBColor {
    // Okabe-Ito, readable by colour-blind readers; then plotters' palette.
    const OKABE_ITO: [(u8, u8, u8); 8] = [
        (0, 114, 178),
        (213, 94, 0),
        (0, 158, 115),
        (204, 121, 167),
        (230, 159, 0),
        (86, 180, 233),
        (0, 0, 0),
        (240, 228, 66),
    ];
    match OKABE_ITO.get(i) {
        Some(&(r, g, b)) => RGBColor(r, g, b),
        None => {
            let c = Palette99::pick(i).to_rgba();
            RGBColor(c.0, c.1, c.2)
        }
    }
}

/// The range of `values` widened by a margin, never empty.
fn span(values: impl Iterator<Item = f64>, log: bool) -> (f64, f64) {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for v in values.filter(|v| v.is_finite() && (!log || *v > 0.0)) {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if !lo.is_finite() {
        return if log { (0.1, 10.0) } else { (0.0, 1.0) };
    }
    if log {
        (lo / 2.0, hi * 2.0)
    } else if hi > lo {
        let m = (hi - lo) * 0.05;
        (lo - m, hi + m)
    } else {
        (lo - 0.5, hi + 0.5)
    }
}

type Area<'a> = DrawingArea<SVGBackend<'a>, plotters::coord::Shift>;

fn lines(root: &Area<'_>, fig: &Figure, series: &[Series]) -> Result<()> {
    let pts = || series.iter().flat_map(|s| s.points.iter());
    let (x0, x1) = span(pts().map(|p| p.0), false);
    let (y0, y1) = span(pts().map(|p| p.1), fig.log_y);
    let keep = |p: &&(f64, f64)| p.0.is_finite() && p.1.is_finite() && (!fig.log_y || p.1 > 0.0);
    let mut builder = ChartBuilder::on(root);
    builder
        .caption(&fig.title, ("sans-serif", 22))
        .margin(15)
        .x_label_area_size(45)
        .y_label_area_size(75);
    macro_rules! draw {
        ($chart:expr) => {{
            let mut chart = $chart;
            chart
                .configure_mesh()
                .x_desc(fig.x_label.as_str())
                .y_desc(fig.y_label.as_str())
                .draw()
                .map_err(err)?;
            for (i, s) in series.iter().enumerate() {
                let c = colour(i);
                let points: Vec<(f64, f64)> = s.points.iter().filter(keep).copied().collect();
                chart
                    .draw_series(LineSeries::new(points, c.stroke_width(2)))
                    .map_err(err)?
                    .label(s.name.as_str())
                    .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], c.stroke_width(2)));
            }
            if !series.is_empty() {
                chart
                    .configure_series_labels()
                    .background_style(WHITE.mix(0.85))
                    .border_style(BLACK)
                    .position(SeriesLabelPosition::UpperRight)
                    .draw()
                    .map_err(err)?;
            }
        }};
    }
    if fig.log_y {
        draw!(builder
            .build_cartesian_2d(x0..x1, (y0..y1).log_scale())
            .map_err(err)?);
    } else {
        draw!(builder.build_cartesian_2d(x0..x1, y0..y1).map_err(err)?);
    }
    Ok(())
}

fn bars(root: &Area<'_>, fig: &Figure, categories: &[String], series: &[super::BarSeries]) -> Result<()> {
    let values = || series.iter().flat_map(|s| s.values.iter().copied());
    let (mut y0, y1) = span(values(), fig.log_y);
    if !fig.log_y {
        y0 = y0.min(0.0);
    }
    let n = categories.len().max(1);
    let width = 0.8 / series.len().max(1) as f64;
    let label = |x: &f64| {
        let i = x.round();
        if (x - i).abs() < 1e-9 && i >= 0.0 {
            categories.get(i as usize).cloned().unwrap_or_default()
        } else {
            String::new()
        }
    };
    let mut builder = ChartBuilder::on(root);
    builder
        .caption(&fig.title, ("sans-serif", 22))
        .margin(15)
        .x_label_area_size(45)
        .y_label_area_size(75);
    macro_rules! draw {
        ($chart:expr, $base:expr) => {{
            let mut chart = $chart;
            chart
                .configure_mesh()
                .disable_x_mesh()
                .x_labels(n + 1)
                .x_label_formatter(&label)
                .x_desc(fig.x_label.as_str())
                .y_desc(fig.y_label.as_str())
                .draw()
                .map_err(err)?;
            for (k, s) in series.iter().enumerate() {
                let c = colour(k);
                let rects = s
                    .values
                    .iter()
                    .enumerate()
                    .filter(|(_, v)| v.is_finite())
                    .map(|(i, &v)| {
                        let left = i as f64 - 0.4 + k as f64 * width;
                        Rectangle::new([(left, $base), (left + width, v)], c.filled())
                    });
                chart
                    .draw_series(rects)
                    .map_err(err)?
                    .label(s.name.as_str())
                    .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], c.filled()));
            }
            if !series.is_empty() {
                chart
                    .configure_series_labels()
                    .background_style(WHITE.mix(0.85))
                    .border_style(BLACK)
                    .draw()
                    .map_err(err)?;
            }
        }};
    }
    let (x0, x1) = (-0.6, n as f64 - 0.4);
    if fig.log_y {
        draw!(
            builder
                .build_cartesian_2d(x0..x1, (y0..y1).log_scale())
                .map_err(err)?,
            y0
        );
    } else {
        draw!(builder.build_cartesian_2d(x0..x1, y0..y1).map_err(err)?, 0.0);
    }
    Ok(())
}
