//! The throughput chart (SVG).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::load::{Key, Sample, median};
use crate::report::size_name;
use crate::server::Server;

/// Throughput against connections at `workers`, one panel per message size, one line per
/// server.
pub(crate) fn chart(
    samples: &BTreeMap<Key, Vec<Sample>>,
    workers: usize,
    sizes: &[usize],
    conns: &[usize],
) -> String {
    let (pw, h, left, bottom) = (420.0, 400.0, 70.0, 50.0);
    let w = pw * sizes.len() as f64;
    let rate = |s: Server, size: usize, c: usize| {
        median(
            samples[&(workers, size, c, s)]
                .iter()
                .map(|x| x.rate)
                .collect(),
        )
    };
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" font-family=\"sans-serif\" font-size=\"12\">\n\
         <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
    );
    for (panel, &size) in sizes.iter().enumerate() {
        let x0 = pw * panel as f64;
        let max = Server::ALL
            .iter()
            .flat_map(|&s| conns.iter().map(move |&c| rate(s, size, c)))
            .fold(1.0, f64::max)
            * 1.15;
        let x =
            |i: usize| x0 + left + (pw - left - 20.0) * i as f64 / (conns.len().max(2) - 1) as f64;
        let y = |v: f64| h - bottom - (h - bottom - 30.0) * v / max;
        let _ = write!(
            svg,
            "<text x=\"{}\" y=\"16\" text-anchor=\"middle\">Echo, {} messages, {workers} server worker(s)</text>\n\
             <line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"black\"/>\n\
             <line x1=\"{}\" y1=\"30\" x2=\"{}\" y2=\"{}\" stroke=\"black\"/>\n",
            x0 + pw / 2.0,
            size_name(size),
            x0 + left,
            h - bottom,
            x0 + pw - 20.0,
            h - bottom,
            x0 + left,
            x0 + left,
            h - bottom
        );
        for (i, c) in conns.iter().enumerate() {
            let _ = writeln!(
                svg,
                "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{c}</text>",
                x(i),
                h - bottom + 16.0
            );
        }
        let _ = writeln!(
            svg,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">connections</text>",
            x0 + pw / 2.0,
            h - 14.0
        );
        for t in 0..=4 {
            let v = max * t as f64 / 4.0;
            let _ = writeln!(
                svg,
                "<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{:.0}k/s</text>",
                x0 + left - 6.0,
                y(v) + 4.0,
                v / 1000.0
            );
        }
        for (n, (server, color)) in Server::ALL
            .iter()
            .zip(["#d62728", "#1f77b4", "#7f7f7f"])
            .enumerate()
        {
            let points: Vec<String> = conns
                .iter()
                .enumerate()
                .map(|(i, &c)| format!("{:.1},{:.1}", x(i), y(rate(*server, size, c))))
                .collect();
            let _ = writeln!(
                svg,
                "<polyline fill=\"none\" stroke=\"{color}\" stroke-width=\"2\" points=\"{}\"/>\n\
                 <text x=\"{}\" y=\"{}\" fill=\"{color}\">{}</text>",
                points.join(" "),
                x0 + left + 10.0,
                46.0 + 16.0 * n as f64,
                server.name()
            );
        }
    }
    svg + "</svg>\n"
}
