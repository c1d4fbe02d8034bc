//! The charts (SVG, drawn with plotters): throughput and server CPU per message against
//! connections, one panel per message size, one line per server through the median of
//! its runs, with a bar from the fastest to the slowest run at each point. The legend sits
//! in a strip under the panels, never over the lines.

use std::collections::BTreeMap;

use plotters::prelude::*;

use crate::load::{Key, Sample, median};
use crate::report::size_name;
use crate::server::Server;

/// What a chart plots from each run.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Metric {
    /// Echoed messages per second.
    Throughput,
    /// Server CPU time per echoed message, µs (the figure a saturated load generator
    /// cannot cap).
    CpuPerMessage,
}

impl Metric {
    fn of(self, s: &Sample) -> f64 {
        match self {
            Metric::Throughput => s.rate / 1000.0,
            Metric::CpuPerMessage => s.server_cpu_secs / s.total * 1e6,
        }
    }

    fn axis(self) -> &'static str {
        match self {
            Metric::Throughput => "thousand messages / s",
            Metric::CpuPerMessage => "server CPU µs / message",
        }
    }

    fn title(self) -> &'static str {
        match self {
            Metric::Throughput => "Echo throughput",
            Metric::CpuPerMessage => "Echo server CPU per message",
        }
    }
}

const COLORS: [RGBColor; 6] = [
    RGBColor(0xd6, 0x27, 0x28),
    RGBColor(0x2c, 0xa0, 0x2c),
    RGBColor(0x1f, 0x77, 0xb4),
    RGBColor(0x7f, 0x7f, 0x7f),
    RGBColor(0xff, 0x7f, 0x0e),
    RGBColor(0x94, 0x67, 0xbd),
];

/// `metric` against connections at `workers`, as an SVG document.
///
/// # Panics
///
/// If a cell of the matrix has no sample, or plotters fails to draw into a string.
pub(crate) fn chart(
    samples: &BTreeMap<Key, Vec<Sample>>,
    metric: Metric,
    workers: usize,
    sizes: &[usize],
    conns: &[usize],
) -> String {
    let (panel_w, panel_h, entry_w, row_h) = (460u32, 380u32, 220u32, 22u32);
    let width = panel_w * sizes.len().max(1) as u32;
    // As many legend entries a row as fit; more rows when the chart is narrow.
    let per_row = (width / entry_w).max(1) as usize;
    let servers = Server::at(workers);
    let legend_h = row_h * servers.len().div_ceil(per_row) as u32 + 6;
    let mut svg = String::new();
    {
        let root =
            SVGBackend::with_string(&mut svg, (width, panel_h + legend_h)).into_drawing_area();
        root.fill(&WHITE).expect("draw");
        let (plots, legend) = root.split_vertically(panel_h);
        let panels = plots.split_evenly((1, sizes.len().max(1)));
        let values = |server: Server, size: usize, c: usize| -> Vec<f64> {
            samples[&(workers, size, c, server)]
                .iter()
                .map(|s| metric.of(s))
                .collect()
        };
        for (panel, &size) in panels.iter().zip(sizes) {
            let top = servers
                .iter()
                .flat_map(|&s| conns.iter().flat_map(move |&c| values(s, size, c)))
                .fold(1e-9, f64::max)
                * 1.1;
            let mut chart = ChartBuilder::on(panel)
                .caption(
                    format!(
                        "{}, {} messages, {workers} worker(s)",
                        metric.title(),
                        size_name(size)
                    ),
                    ("sans-serif", 14),
                )
                .margin(10)
                .x_label_area_size(34)
                .y_label_area_size(48)
                .build_cartesian_2d(-0.3..(conns.len() as f64 - 0.7), 0.0..top)
                .expect("draw");
            let label = |x: &f64| {
                let i = x.round();
                match conns.get(i as usize) {
                    Some(c) if (x - i).abs() < 1e-6 && i >= 0.0 => c.to_string(),
                    _ => String::new(),
                }
            };
            chart
                .configure_mesh()
                .x_labels(conns.len() * 2 + 1)
                .x_label_formatter(&label)
                .x_desc("connections")
                .y_desc(metric.axis())
                .disable_x_mesh()
                .draw()
                .expect("draw");
            for (n, (server, color)) in servers.iter().zip(COLORS).enumerate() {
                // Each server's points a little apart, so that the bars do not overlap.
                let at = |i: usize| i as f64 + 0.06 * (n as f64 - 1.0);
                let points: Vec<(f64, f64)> = conns
                    .iter()
                    .enumerate()
                    .map(|(i, &c)| (at(i), median(values(*server, size, c))))
                    .collect();
                chart
                    .draw_series(LineSeries::new(points.clone(), color.stroke_width(2)))
                    .expect("draw");
                chart
                    .draw_series(conns.iter().enumerate().map(|(i, &c)| {
                        let v = values(*server, size, c);
                        let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
                        let hi = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                        ErrorBar::new_vertical(at(i), lo, points[i].1, hi, color.filled(), 6)
                    }))
                    .expect("draw");
            }
        }
        for (n, (server, color)) in servers.iter().zip(COLORS).enumerate() {
            let x = 20 + (entry_w as usize * (n % per_row)) as i32;
            let y = 14 + (row_h as usize * (n / per_row)) as i32;
            legend
                .draw(&PathElement::new(
                    vec![(x, y), (x + 24, y)],
                    color.stroke_width(3),
                ))
                .expect("draw");
            legend
                .draw(&Text::new(
                    server.name().to_string(),
                    (x + 30, y - 6),
                    ("sans-serif", 13).into_font(),
                ))
                .expect("draw");
        }
        root.present().expect("draw");
    }
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(rate: f64, cpu_secs: f64) -> Sample {
        Sample {
            rate,
            total: rate * 2.0,
            server_cpu_secs: cpu_secs,
            ..Sample::default()
        }
    }

    #[test]
    fn both_charts_draw_every_server_with_its_spread_and_a_legend_below() {
        let (sizes, conns) = ([64, 4096], [1, 50, 500]);
        let mut samples = BTreeMap::new();
        for &size in &sizes {
            for (i, &c) in conns.iter().enumerate() {
                for (n, server) in Server::ALL.into_iter().enumerate() {
                    let base = 50_000.0 + 10_000.0 * (i + n) as f64;
                    samples.insert(
                        (1, size, c, server),
                        vec![
                            sample(base * 0.9, 1.0),
                            sample(base, 1.1),
                            sample(base * 1.1, 0.9),
                        ],
                    );
                }
            }
        }
        for metric in [Metric::Throughput, Metric::CpuPerMessage] {
            let svg = chart(&samples, metric, 1, &sizes, &conns);
            assert!(svg.starts_with("<svg"), "{metric:?}");
            for server in Server::ALL {
                assert!(
                    svg.contains(server.name()),
                    "{metric:?}: {} missing",
                    server.name()
                );
            }
            assert!(svg.contains(metric.axis()), "{metric:?}");
            // One line per server per panel, and the error bars beside them.
            assert!(svg.matches("<polyline").count() >= Server::ALL.len() * sizes.len());
            if let Ok(dir) = std::env::var("CHART_OUT") {
                std::fs::write(format!("{dir}/{metric:?}.svg"), &svg).unwrap();
            }
        }
    }
}
