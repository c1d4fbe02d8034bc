//! `select!`, `join!` and `try_join!`, and the hidden support their expansions call.
//!
//! The parsing lives in the `ringlet-macros` crate; these wrappers hand it `$crate`, so
//! an expansion names ringlet however the calling crate refers to it.
//!
//! Owns: the macros' public faces and `__private`. Must not be used by name outside the
//! expansions (`__private` is not API).

/// Waits on several futures at once and runs the handler of the first one to complete,
/// dropping (cancelling) the others — Go's `select`, or asyncio's
/// `wait(..., return_when=FIRST_COMPLETED)` followed by cancelling the rest.
///
/// ```text
/// ringlet::select! {
///     [biased;]
///     PATTERN = FUTURE [, if CONDITION] => HANDLER,
///     ...
///     [else => HANDLER,]
/// }
/// ```
///
/// - Every `FUTURE` is evaluated first, then all are polled together inside the calling
///   task (nothing is spawned, nothing needs `'static` or `Send`).
/// - The first to complete has its output matched against its `PATTERN`: on a match the
///   other futures are dropped and `HANDLER` runs with the pattern's bindings; otherwise
///   that branch is disabled and the wait goes on.
/// - `, if CONDITION` disables a branch up front (its future is still evaluated, never
///   polled): for an optional branch in a loop.
/// - `else` runs when every branch is disabled; without it, that case panics.
/// - Branches are polled from a random one each time, so a future that is always ready
///   cannot starve the others; `biased;` polls them in order, top first.
///
/// The value of `select!` is the value of the handler that ran.
///
/// ```
/// use std::time::Duration;
/// use ringlet::time::sleep;
///
/// ringlet::run(async {
///     let (tx, mut rx) = ringlet::sync::mpsc::channel::<u32>(1);
///     ringlet::spawn(async move { tx.send(7).await.unwrap() });
///     let got = ringlet::select! {
///         Some(n) = rx.recv() => format!("got {n}"),
///         _ = sleep(Duration::from_secs(5)) => "timed out".to_string(),
///     };
///     assert_eq!(got, "got 7");
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
///
/// Cancel safety: a future that lost is dropped, exactly as [`timeout`](crate::time::timeout)
/// drops one; what that loses, if anything, is stated on each method that made it.
#[macro_export]
macro_rules! select {
    ($($tokens:tt)*) => {
        $crate::__private::select_inner!(($crate) $($tokens)*)
    };
}

/// Runs a fixed set of futures concurrently inside the calling task and returns all their
/// outputs as a tuple, in the order written (asyncio's `gather` for a fixed set of
/// awaitables of different types). For a list of futures of one type, see
/// [`task::gather`](crate::task::gather).
///
/// ```
/// use std::time::Duration;
/// use ringlet::time::sleep;
///
/// let (a, b) = ringlet::run(async {
///     ringlet::join!(
///         async { sleep(Duration::from_millis(20)).await; 1 },
///         async { sleep(Duration::from_millis(10)).await; "two" },
///     )
/// })?;
/// assert_eq!((a, b), (1, "two"));
/// # Ok::<(), std::io::Error>(())
/// ```
#[macro_export]
macro_rules! join {
    ($($tokens:tt)*) => {
        $crate::__private::join_inner!(($crate) $($tokens)*)
    };
}

/// As [`join!`] for futures that return `Result`s with one error type: `Ok` with a tuple
/// of every value, or the first error — at which point the futures still running are
/// dropped (cancelled), like [`task::try_gather`](crate::task::try_gather).
///
/// ```
/// let result: Result<(u8, &str), String> = ringlet::run(async {
///     ringlet::try_join!(async { Ok(1) }, async { Ok("two") })
/// })?;
/// assert_eq!(result, Ok((1, "two")));
///
/// let failed: Result<(u8, u8), String> = ringlet::run(async {
///     ringlet::try_join!(async { Ok(1) }, async { Err("no".to_string()) })
/// })?;
/// assert_eq!(failed, Err("no".to_string()));
/// # Ok::<(), std::io::Error>(())
/// ```
#[macro_export]
macro_rules! try_join {
    ($($tokens:tt)*) => {
        $crate::__private::try_join_inner!(($crate) $($tokens)*)
    };
}

#[doc(hidden)]
pub mod __private {
    use std::cell::Cell;
    use std::future::Future;
    use std::pin::Pin;
    use std::task::{Context, Poll};

    pub use ringlet_macros::{join_inner, select_inner, try_join_inner};

    /// The branch `select!` polls first: spread over `count` branches, so none is
    /// always first (xorshift on a per-thread state).
    pub fn select_start(count: u32) -> u32 {
        thread_local! {
            static STATE: Cell<u32> = const { Cell::new(0x9e37_79b9) };
        }
        STATE.with(|state| {
            let mut x = state.get();
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            state.set(x);
            x % count.max(1)
        })
    }

    pin_project_lite::pin_project! {
        /// A future of `join!`/`try_join!`: running, finished with its output kept, or
        /// emptied.
        #[project = MaybeDoneProj]
        #[project_replace = MaybeDoneReplace]
        pub enum MaybeDone<F: Future> {
            Running { #[pin] future: F },
            Done { output: F::Output },
            Taken,
        }
    }

    impl<F: Future> MaybeDone<F> {
        pub fn new(future: F) -> Self {
            MaybeDone::Running { future }
        }

        /// Polls the future if it still runs; `true` once it has finished.
        pub fn poll_done(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> bool {
            let output = match self.as_mut().project() {
                MaybeDoneProj::Running { future } => match future.poll(cx) {
                    Poll::Ready(output) => output,
                    Poll::Pending => return false,
                },
                _ => return true,
            };
            self.set(MaybeDone::Done { output });
            true
        }

        /// The output, once finished.
        pub fn take_output(self: Pin<&mut Self>) -> F::Output {
            match self.project_replace(MaybeDone::Taken) {
                MaybeDoneReplace::Done { output } => output,
                _ => unreachable!("join!: an output taken twice, or before its future finished"),
            }
        }
    }

    impl<F, T, E> MaybeDone<F>
    where
        F: Future<Output = Result<T, E>>,
    {
        /// Polls the future if it still runs: `Ready(Ok)` once it has finished with a
        /// value (kept), `Ready(Err)` with its error (taken).
        pub fn poll_try(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), E>> {
            let output = match self.as_mut().project() {
                MaybeDoneProj::Running { future } => match future.poll(cx) {
                    Poll::Ready(output) => output,
                    Poll::Pending => return Poll::Pending,
                },
                _ => return Poll::Ready(Ok(())),
            };
            match output {
                Ok(value) => {
                    self.set(MaybeDone::Done { output: Ok(value) });
                    Poll::Ready(Ok(()))
                }
                Err(error) => {
                    self.set(MaybeDone::Taken);
                    Poll::Ready(Err(error))
                }
            }
        }

        /// The value, once finished with one.
        pub fn take_ok(self: Pin<&mut Self>) -> T {
            match self.take_output() {
                Ok(value) => value,
                Err(_) => unreachable!("try_join!: an error is returned, never kept"),
            }
        }
    }
}
