//! The stall detector: a task poll that keeps its worker longer than a threshold is
//! reported, with the task's id, name and spawn location.
//!
//! Owns: [`Stall`], timing polls when the runtime was built to, and the default report.
//! Must not cost a syscall per poll: the clock is read through the vDSO, and nothing is
//! timed when the detector is off.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::task_info::TaskInfo;

/// One task poll that ran longer than the runtime's stall threshold
/// ([`Builder::detect_stalls`](crate::runtime::Builder::detect_stalls)): for that long,
/// every other task of its worker waited.
#[derive(Debug, Clone)]
pub struct Stall {
    worker: usize,
    task: TaskInfo,
    duration: Duration,
}

impl Stall {
    /// The worker the task ran on.
    pub fn worker(&self) -> usize {
        self.worker
    }

    /// The task: its id, spawn location and name.
    pub fn task(&self) -> &TaskInfo {
        &self.task
    }

    /// How long the poll ran.
    pub fn duration(&self) -> Duration {
        self.duration
    }
}

impl fmt::Display for Stall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "ringlet: worker {}: {} ran {:?} without yielding; the worker's other tasks waited",
            self.worker, self.task, self.duration
        )
    }
}

/// Where stall reports go.
#[derive(Clone)]
pub(crate) struct StallHook(pub(crate) Arc<dyn Fn(&Stall) + Send + Sync>);

impl fmt::Debug for StallHook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("StallHook(..)")
    }
}

/// The detector's settings, shared by every worker of a runtime.
#[derive(Clone)]
pub(crate) struct StallWatch {
    threshold: Duration,
    hook: Arc<dyn Fn(&Stall) + Send + Sync>,
}

impl StallWatch {
    pub(crate) fn new(threshold: Duration, hook: Option<StallHook>) -> StallWatch {
        StallWatch {
            threshold,
            hook: hook.map_or_else(|| Arc::new(report_to_stderr) as Arc<_>, |h| h.0),
        }
    }

    /// Reports `task`'s poll on `worker` if it ran `since` longer than the threshold.
    pub(crate) fn check(&self, worker: usize, task: &TaskInfo, since: Instant) {
        let duration = since.elapsed();
        if duration >= self.threshold {
            (self.hook)(&Stall {
                worker,
                task: task.clone(),
                duration,
            });
        }
    }
}

impl fmt::Debug for StallWatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StallWatch")
            .field("threshold", &self.threshold)
            .finish_non_exhaustive()
    }
}

/// The default report: one line on stderr, at most one a second in the process (a task
/// that stalls on every poll would otherwise flood the log); the next line says how many
/// were left out.
fn report_to_stderr(stall: &Stall) {
    static LAST: Mutex<Option<Instant>> = Mutex::new(None);
    static LEFT_OUT: AtomicU64 = AtomicU64::new(0);
    let mut last = LAST.lock().unwrap_or_else(|e| e.into_inner());
    if last.is_some_and(|at| at.elapsed() < Duration::from_secs(1)) {
        LEFT_OUT.fetch_add(1, Ordering::Relaxed);
        return;
    }
    *last = Some(Instant::now());
    match LEFT_OUT.swap(0, Ordering::Relaxed) {
        0 => eprintln!("{stall}"),
        n => eprintln!("{stall} ({n} more stalls in the last second not shown)"),
    }
}
