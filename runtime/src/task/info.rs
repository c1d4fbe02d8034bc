//! [`Builder`]: spawning a task with a name.
//!
//! Owns: `Builder`. Must not keep task identities itself: `executor/task_info.rs` does.

use std::future::Future;
use std::panic::Location;
use std::sync::Arc;

use crate::executor::context;
use crate::executor::join::JoinHandle;
use crate::executor::task_info::TaskInfo;

/// Spawns a task with a name, which stall reports show beside its id and spawn location.
///
/// ```
/// ringlet::run(async {
///     let task = ringlet::task::Builder::new().name("greeter").spawn(async { "hi" });
///     assert_eq!(task.info().name(), Some("greeter"));
///     assert_eq!(task.await.unwrap(), "hi");
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct Builder {
    name: Option<Arc<str>>,
}

impl Builder {
    /// A builder for an unnamed task.
    pub fn new() -> Builder {
        Builder::default()
    }

    /// Names the task.
    pub fn name(mut self, name: &str) -> Builder {
        self.name = Some(Arc::from(name));
        self
    }

    /// Spawns `future` on the current worker, as [`spawn`](crate::spawn).
    ///
    /// # Panics
    ///
    /// Outside a ringlet runtime.
    ///
    /// # Cancel safety
    ///
    /// As [`spawn`](crate::spawn): dropping the handle detaches the task.
    #[track_caller]
    pub fn spawn<F>(self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        let info = TaskInfo::new(Location::caller(), self.name);
        context::spawn(future, info)
            .expect("ringlet::task::Builder::spawn called outside a ringlet runtime")
    }
}
