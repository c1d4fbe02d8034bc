//! The counters in the Prometheus text exposition format (version 0.0.4), for a
//! `/metrics` endpoint.
//!
//! Owns: the metric names, their help texts and types. Must not read counters itself: it
//! formats a [`RuntimeMetrics`] snapshot.

use std::fmt::Write;

use super::{OpStats, RuntimeMetrics, WorkerMetrics};

/// A counter or gauge with one value per worker.
struct PerWorker {
    name: &'static str,
    kind: &'static str,
    help: &'static str,
    value: fn(&WorkerMetrics) -> f64,
}

const PER_WORKER: &[PerWorker] = &[
    PerWorker {
        name: "ringlet_uptime_seconds",
        kind: "gauge",
        help: "Time since the worker started.",
        value: |w| w.uptime.as_secs_f64(),
    },
    PerWorker {
        name: "ringlet_cpu_seconds_total",
        kind: "counter",
        help: "CPU time of the worker's thread, user and kernel (its ring's kernel work included).",
        value: |w| w.cpu.as_secs_f64(),
    },
    PerWorker {
        name: "ringlet_parked_seconds_total",
        kind: "counter",
        help: "Time the worker slept in the kernel with nothing to run.",
        value: |w| w.parked.as_secs_f64(),
    },
    PerWorker {
        name: "ringlet_parks_total",
        kind: "counter",
        help: "Times the worker slept in the kernel.",
        value: |w| w.parks as f64,
    },
    PerWorker {
        name: "ringlet_tasks_spawned_total",
        kind: "counter",
        help: "Tasks spawned on the worker.",
        value: |w| w.tasks_spawned as f64,
    },
    PerWorker {
        name: "ringlet_tasks_completed_total",
        kind: "counter",
        help: "Tasks that ran to completion.",
        value: |w| w.tasks_completed as f64,
    },
    PerWorker {
        name: "ringlet_tasks_cancelled_total",
        kind: "counter",
        help: "Tasks cancelled.",
        value: |w| w.tasks_cancelled as f64,
    },
    PerWorker {
        name: "ringlet_tasks_panicked_total",
        kind: "counter",
        help: "Tasks that panicked.",
        value: |w| w.tasks_panicked as f64,
    },
    PerWorker {
        name: "ringlet_tasks_alive",
        kind: "gauge",
        help: "Tasks spawned and not yet ended.",
        value: |w| w.tasks_alive as f64,
    },
    PerWorker {
        name: "ringlet_polls_total",
        kind: "counter",
        help: "Task polls.",
        value: |w| w.polls as f64,
    },
    PerWorker {
        name: "ringlet_ready_depth",
        kind: "gauge",
        help: "Tasks ready to run, as of the worker's last trip into the kernel.",
        value: |w| w.ready_depth as f64,
    },
    PerWorker {
        name: "ringlet_timers_pending",
        kind: "gauge",
        help: "Sleeps and timeouts pending, as of the worker's last trip into the kernel.",
        value: |w| w.timers_pending as f64,
    },
    PerWorker {
        name: "ringlet_remote_wakes_total",
        kind: "counter",
        help: "Wake-ups other threads sent to the worker.",
        value: |w| w.remote_wakes as f64,
    },
    PerWorker {
        name: "ringlet_remote_jobs_total",
        kind: "counter",
        help: "Jobs other threads sent the worker (remote spawns).",
        value: |w| w.remote_jobs as f64,
    },
    PerWorker {
        name: "ringlet_multishot_rearms_total",
        kind: "counter",
        help: "Multishot receives armed again after they ended.",
        value: |w| w.multishot_rearms as f64,
    },
    PerWorker {
        name: "ringlet_sq_full_total",
        kind: "counter",
        help: "Times an SQE found the submission queue full.",
        value: |w| w.io.sq_full as f64,
    },
    PerWorker {
        name: "ringlet_cq_overflow_total",
        kind: "counter",
        help: "Times the completion queue was found overflowed.",
        value: |w| w.io.cq_overflow as f64,
    },
    PerWorker {
        name: "ringlet_buffer_pool_dry_total",
        kind: "counter",
        help: "Times a buffer-ring receive found its pool empty (ENOBUFS).",
        value: |w| w.io.enobufs as f64,
    },
    PerWorker {
        name: "ringlet_cqes_total",
        kind: "counter",
        help: "Completions reaped.",
        value: |w| w.io.cqes as f64,
    },
    PerWorker {
        name: "ringlet_cancels_total",
        kind: "counter",
        help: "Cancel requests sent for ops dropped in flight.",
        value: |w| w.io.cancels as f64,
    },
];

/// A counter or gauge with one value per worker and opcode.
struct PerOp {
    name: &'static str,
    kind: &'static str,
    help: &'static str,
    value: fn(&OpStats) -> u64,
}

const PER_OP: &[PerOp] = &[
    PerOp {
        name: "ringlet_ops_submitted_total",
        kind: "counter",
        help: "io_uring ops submitted, by opcode.",
        value: |op| op.submitted,
    },
    PerOp {
        name: "ringlet_ops_completed_total",
        kind: "counter",
        help: "io_uring ops whose final completion was reaped, by opcode.",
        value: |op| op.completed,
    },
    PerOp {
        name: "ringlet_ops_in_flight",
        kind: "gauge",
        help: "io_uring ops submitted and not completed, by opcode.",
        value: OpStats::in_flight,
    },
];

impl RuntimeMetrics {
    /// The snapshot in the Prometheus text format (what a `GET /metrics` answers with,
    /// `Content-Type: text/plain; version=0.0.4`): every counter and gauge, labelled by
    /// `worker`; ops by `op` (the opcode's name, lower case), kernel entries by `purpose`.
    ///
    /// ```
    /// let rt = ringlet::Runtime::builder().workers(1).build()?;
    /// rt.block_on(async { ringlet::spawn(async {}).await.unwrap() });
    /// let text = rt.metrics().prometheus();
    /// assert!(text.contains("# TYPE ringlet_tasks_spawned_total counter\n"));
    /// assert!(text.contains("ringlet_tasks_spawned_total{worker=\"0\"} 1\n"));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn prometheus(&self) -> String {
        let mut out = String::with_capacity(8192);
        for metric in PER_WORKER {
            header(&mut out, metric.name, metric.kind, metric.help);
            for w in &self.workers {
                sample(
                    &mut out,
                    metric.name,
                    &[("worker", &w.worker.to_string())],
                    (metric.value)(w),
                );
            }
        }
        header(
            &mut out,
            "ringlet_io_uring_enter_total",
            "counter",
            "io_uring_enter calls, by purpose: submit (no wait), wait, flush (CQ overflow).",
        );
        for w in &self.workers {
            let worker = w.worker.to_string();
            for (purpose, n) in [
                ("submit", w.io.enter_submit),
                ("wait", w.io.enter_wait),
                ("flush", w.io.enter_flush),
            ] {
                sample(
                    &mut out,
                    "ringlet_io_uring_enter_total",
                    &[("worker", &worker), ("purpose", purpose)],
                    n as f64,
                );
            }
        }
        for metric in PER_OP {
            let (name, value) = (metric.name, metric.value);
            header(&mut out, name, metric.kind, metric.help);
            for w in &self.workers {
                let worker = w.worker.to_string();
                for op in &w.io.ops {
                    let label = op.name.to_ascii_lowercase();
                    sample(
                        &mut out,
                        name,
                        &[("worker", &worker), ("op", &label)],
                        value(op) as f64,
                    );
                }
            }
        }
        out
    }
}

fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

/// One sample line. Label values here are worker numbers and opcode names: nothing to
/// escape, but escaped all the same as the format asks (`\`, `"`, newline).
fn sample(out: &mut String, name: &str, labels: &[(&str, &str)], value: f64) {
    out.push_str(name);
    out.push('{');
    for (i, (key, value)) in labels.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let _ = write!(out, "{key}=\"");
        for c in value.chars() {
            match c {
                '\\' => out.push_str("\\\\"),
                '"' => out.push_str("\\\""),
                '\n' => out.push_str("\\n"),
                c => out.push(c),
            }
        }
        out.push('"');
    }
    let _ = writeln!(out, "}} {value}");
}
