//! What the runtime shows of itself through the example servers: `http-server`'s
//! `GET /metrics`, scraped with curl and parsed as Prometheus text, and `echo-server
//! --stats`'s lines.

mod common;

use std::collections::BTreeMap;
use std::io::{BufRead, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::ServerProcess;

fn curl(args: &[&str]) -> std::process::Output {
    Command::new("curl")
        .args(["--silent", "--show-error", "--max-time", "10"])
        .args(args)
        .output()
        .expect("curl is not installed (apt-get install curl; .ci/run installs it)")
}

/// One sample of a Prometheus text exposition: its name, labels and value.
#[derive(Debug)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

/// Parses the Prometheus text format (0.0.4) strictly: HELP and TYPE lines, a family's
/// TYPE before its samples, each family's samples together, valid metric and label
/// names, quoted and escaped label values, numeric values, no sample given twice.
/// Returns the samples and each family's type.
fn parse_prometheus(text: &str) -> (Vec<Sample>, BTreeMap<String, String>) {
    fn is_name(s: &str, colons: bool) -> bool {
        let mut chars = s.chars();
        let ok = |c: char| c.is_ascii_alphabetic() || c == '_' || (colons && c == ':');
        chars.next().is_some_and(ok) && chars.all(|c| ok(c) || c.is_ascii_digit())
    }
    let mut types = BTreeMap::new();
    let mut samples: Vec<Sample> = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    let mut finished_families = std::collections::BTreeSet::new();
    let mut current: Option<String> = None;
    assert!(text.ends_with('\n'), "the exposition ends with a newline");
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# ") {
            let mut parts = rest.splitn(3, ' ');
            let (keyword, name) = (parts.next().unwrap(), parts.next().unwrap());
            assert!(is_name(name, true), "bad metric name in {line:?}");
            match keyword {
                "HELP" => assert!(parts.next().is_some_and(|h| !h.is_empty()), "{line:?}"),
                "TYPE" => {
                    let kind = parts.next().unwrap();
                    assert!(
                        ["counter", "gauge", "histogram", "summary", "untyped"].contains(&kind),
                        "{line:?}"
                    );
                    assert!(
                        types.insert(name.to_string(), kind.to_string()).is_none(),
                        "two TYPE lines for {name}"
                    );
                    if kind == "counter" {
                        assert!(
                            name.ends_with("_total"),
                            "a counter's name ends in _total: {name}"
                        );
                    }
                }
                _ => panic!("unknown comment {line:?}"),
            }
            continue;
        }
        assert!(!line.is_empty(), "no blank lines");
        let (name, rest) = line.split_at(line.find(['{', ' ']).expect("a value"));
        assert!(is_name(name, true), "bad metric name in {line:?}");
        assert!(
            types.contains_key(name),
            "{name}: sample before its TYPE line"
        );
        if current.as_deref() != Some(name) {
            assert!(
                finished_families.insert(name.to_string()),
                "{name}: samples not together"
            );
            current = Some(name.to_string());
        }
        let mut labels = BTreeMap::new();
        let value_text = match rest.strip_prefix('{') {
            Some(mut rest) => loop {
                let eq = rest.find('=').expect("label=value");
                let key = &rest[..eq];
                assert!(is_name(key, false), "bad label name {key:?} in {line:?}");
                rest = rest[eq + 1..]
                    .strip_prefix('"')
                    .expect("a quoted label value");
                let mut value = String::new();
                let mut chars = rest.char_indices();
                let end = loop {
                    match chars.next().expect("a closing quote") {
                        (i, '"') => break i,
                        (_, '\\') => match chars.next().unwrap().1 {
                            'n' => value.push('\n'),
                            c @ ('\\' | '"') => value.push(c),
                            c => panic!("bad escape \\{c} in {line:?}"),
                        },
                        (_, c) => value.push(c),
                    }
                };
                assert!(labels.insert(key.to_string(), value).is_none(), "{line:?}");
                rest = &rest[end + 1..];
                match rest.as_bytes()[0] {
                    b',' => rest = &rest[1..],
                    b'}' => {
                        break rest[1..]
                            .strip_prefix(' ')
                            .expect("a space, then the value");
                    }
                    _ => panic!("bad label list in {line:?}"),
                }
            },
            None => rest.strip_prefix(' ').unwrap(),
        };
        let value: f64 = value_text
            .parse()
            .unwrap_or_else(|_| panic!("bad value in {line:?}"));
        assert!(value.is_finite() && value >= 0.0, "{line:?}");
        assert!(
            seen.insert(format!("{name}{labels:?}")),
            "sample given twice: {line:?}"
        );
        samples.push(Sample {
            name: name.to_string(),
            labels,
            value,
        });
    }
    (samples, types)
}

/// The sum of a metric's samples whose labels include `with`.
fn total(samples: &[Sample], name: &str, with: &[(&str, &str)]) -> f64 {
    samples
        .iter()
        .filter(|s| {
            s.name == name
                && with
                    .iter()
                    .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
        })
        .map(|s| s.value)
        .sum()
}

#[test]
fn curl_scrapes_metrics_from_the_http_server_in_prometheus_format() {
    let server = ServerProcess::start(
        env!("CARGO_BIN_EXE_http-server"),
        &["--workers", "2"],
        Stdio::null(),
    );
    let url = format!("http://{}/metrics", server.addr);
    let scrape = || {
        let out = curl(&["--include", &url]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8(out.stdout).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 200 OK"), "{head}");
        assert!(
            head.to_ascii_lowercase()
                .contains("content-type: text/plain; version=0.0.4; charset=utf-8"),
            "{head}"
        );
        parse_prometheus(body)
    };
    let (first, types) = scrape();
    for _ in 0..5 {
        let out = curl(&[&format!("http://{}/", server.addr)]);
        assert_eq!(String::from_utf8_lossy(&out.stdout), "Hello, World!");
    }
    let (second, _) = scrape();

    // Every family the runtime keeps is there, for both workers.
    for name in [
        "ringlet_tasks_spawned_total",
        "ringlet_tasks_alive",
        "ringlet_polls_total",
        "ringlet_parked_seconds_total",
        "ringlet_uptime_seconds",
        "ringlet_remote_wakes_total",
        "ringlet_remote_jobs_total",
        "ringlet_buffer_pool_dry_total",
        "ringlet_multishot_rearms_total",
        "ringlet_sq_full_total",
        "ringlet_cq_overflow_total",
    ] {
        for worker in ["0", "1"] {
            assert!(
                second
                    .iter()
                    .any(|s| s.name == name && s.labels["worker"] == worker),
                "{name} for worker {worker}"
            );
        }
    }
    assert_eq!(types["ringlet_tasks_alive"], "gauge");
    assert_eq!(types["ringlet_tasks_spawned_total"], "counter");
    assert_eq!(types["ringlet_ops_in_flight"], "gauge");
    // Counters only grow between scrapes.
    for s in &first {
        if types[&s.name] == "counter" {
            let later = total(
                &second,
                &s.name,
                &s.labels
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str()))
                    .collect::<Vec<_>>(),
            );
            assert!(later >= s.value, "{} {:?} went down", s.name, s.labels);
        }
    }
    // The five requests in between: a connection (a task) each, accepted, answered.
    let spawned = |samples: &[Sample]| total(samples, "ringlet_tasks_spawned_total", &[]);
    assert!(
        spawned(&second) - spawned(&first) >= 6.0,
        "5 requests and a scrape"
    );
    let sent = |samples: &[Sample]| {
        total(samples, "ringlet_ops_completed_total", &[("op", "send")])
            + total(samples, "ringlet_ops_completed_total", &[("op", "write")])
            + total(samples, "ringlet_ops_completed_total", &[("op", "sendmsg")])
    };
    assert!(
        sent(&second) - sent(&first) >= 5.0,
        "a response sent per request"
    );
    let waits = |samples: &[Sample]| {
        total(
            samples,
            "ringlet_io_uring_enter_total",
            &[("purpose", "wait")],
        )
    };
    assert!(
        waits(&second) > waits(&first),
        "the workers slept between requests"
    );
}

/// One part of a `--stats` line (the totals, or one worker's), by key.
fn stats_part(part: &str) -> std::collections::BTreeMap<String, f64> {
    part.split_whitespace()
        .map(|kv| {
            let (k, v) = kv
                .split_once('=')
                .unwrap_or_else(|| panic!("{kv:?} in {part:?}"));
            let v: f64 = v
                .trim_end_matches('%')
                .parse()
                .unwrap_or_else(|_| panic!("{kv:?}"));
            (k.to_string(), v)
        })
        .collect()
}

/// A `--stats` line: the totals and each worker's part, checked for shape (every key,
/// the workers' connections adding up to the total, a share parked from 0 to 100).
fn parse_stats(
    line: &str,
    workers: usize,
) -> (
    std::collections::BTreeMap<String, f64>,
    Vec<std::collections::BTreeMap<String, f64>>,
) {
    let mut parts = line
        .strip_prefix("stats: ")
        .unwrap_or_else(|| panic!("{line:?}"))
        .split(" | ");
    let total = stats_part(parts.next().unwrap());
    let per_worker: Vec<_> = parts
        .enumerate()
        .map(|(i, p)| {
            stats_part(
                p.strip_prefix(&format!("w{i}: "))
                    .unwrap_or_else(|| panic!("{line:?}")),
            )
        })
        .collect();
    assert_eq!(per_worker.len(), workers, "{line:?}");
    for part in per_worker.iter().chain([&total]) {
        for key in [
            "conns",
            "msgs/s",
            "in_flight",
            "enters/msg",
            "parked",
            "dry/s",
        ] {
            assert!(part.contains_key(key), "{key} missing in {line:?}");
        }
        assert!((0.0..=100.0).contains(&part["parked"]), "{line:?}");
        assert!((0.0..=100.0).contains(&part["cpu"]), "{line:?}");
    }
    let conns: f64 = per_worker.iter().map(|w| w["conns"]).sum();
    assert_eq!(conns, total["conns"], "{line:?}");
    (total, per_worker)
}

#[test]
fn stats_lines_show_connections_messages_and_each_worker() {
    let mut server = ServerProcess::start(
        env!("CARGO_BIN_EXE_echo-server"),
        &["--workers", "2", "--stats", "0.1"],
        Stdio::null(),
    );
    let mut next_line = || {
        let mut line = String::new();
        assert!(
            server.stdout.read_line(&mut line).unwrap() > 0,
            "stdout closed"
        );
        line.trim_end().to_string()
    };
    // Idle: nothing open, nothing sent.
    let (idle, _) = parse_stats(&next_line(), 2);
    assert_eq!((idle["conns"], idle["msgs/s"]), (0.0, 0.0));
    // Four connections, 300 round trips each, then left open.
    let mut clients: Vec<TcpStream> = (0..4)
        .map(|_| TcpStream::connect(server.addr).unwrap())
        .collect();
    for _ in 0..300 {
        for c in &mut clients {
            c.write_all(&[42u8; 32]).unwrap();
            let mut back = [0u8; 32];
            c.read_exact(&mut back).unwrap();
        }
    }
    // A line from while they are open shows all four and the messages they sent.
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut messages = 0.0;
    loop {
        assert!(
            Instant::now() < deadline,
            "no line with 4 connections and traffic"
        );
        let (total, _) = parse_stats(&next_line(), 2);
        messages += total["msgs/s"] * 0.1;
        if total["conns"] == 4.0 && messages > 0.0 {
            assert!(total["in_flight"] >= 4.0, "a receive armed per connection");
            break;
        }
    }
    drop(clients);
    loop {
        assert!(
            Instant::now() < deadline,
            "connections never closed in the stats"
        );
        let (total, _) = parse_stats(&next_line(), 2);
        if total["conns"] == 0.0 {
            break;
        }
    }
}
