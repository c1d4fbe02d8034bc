//! `gather`, `try_gather` and `select`: running futures concurrently inside one task.
//!
//! Owns: `gather`, `try_gather`, `select`. Must not spawn: the futures run inside the
//! calling task.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use super::set::FutureSet;

/// Runs all `futures` concurrently and returns every output, in the order given — errors
/// included, like asyncio's `gather(..., return_exceptions=True)`.
///
/// The futures run inside the calling task (no spawning, no `'static` needed). Pass
/// [`JoinHandle`](crate::JoinHandle)s to gather spawned tasks: each output is then a
/// `Result<T, JoinError>`.
///
/// ```
/// use std::time::Duration;
/// use ringlet::task::gather;
/// use ringlet::time::sleep;
///
/// let results = ringlet::run(gather([1u64, 2, 3].map(|i| async move {
///     sleep(Duration::from_millis(10 * i)).await;
///     if i == 2 { Err(format!("task {i} failed")) } else { Ok(i) }
/// })))?;
/// assert_eq!(results, [Ok(1), Err("task 2 failed".to_string()), Ok(3)]);
/// # Ok::<(), std::io::Error>(())
/// ```
///
/// # Cancel safety
///
/// Dropping it drops every future not finished yet (each with its own cancel safety), and
/// the outputs of those that finished.
pub async fn gather<I>(futures: I) -> Vec<<I::Item as Future>::Output>
where
    I: IntoIterator,
    I::Item: Future,
{
    let mut set = FutureSet::new();
    for future in futures {
        set.push(future);
    }
    let mut outputs: Vec<Option<_>> = (0..set.running()).map(|_| None).collect();
    while let Some((index, output)) = set.next().await {
        outputs[index] = Some(output);
    }
    outputs
        .into_iter()
        .map(|o| o.expect("every gathered future finished"))
        .collect()
}

/// Runs all `futures` concurrently; returns all their values in order, or the first error.
/// The first error drops the futures still running — cancelling them: their destructors
/// run and their in-flight I/O is cancelled.
///
/// ```
/// use ringlet::task::try_gather;
///
/// let all: Result<Vec<u32>, String> =
///     ringlet::run(try_gather([1, 2].map(|i| async move { Ok(i) })))?;
/// assert_eq!(all, Ok(vec![1, 2]));
/// # Ok::<(), std::io::Error>(())
/// ```
///
/// # Errors
///
/// The first error any future returns (first in completion order).
///
/// # Cancel safety
///
/// As [`gather`]: the futures not finished yet are dropped.
pub async fn try_gather<I, T, E>(futures: I) -> Result<Vec<T>, E>
where
    I: IntoIterator,
    I::Item: Future<Output = Result<T, E>>,
{
    let mut set = FutureSet::new();
    for future in futures {
        set.push(future);
    }
    let mut outputs: Vec<Option<T>> = (0..set.running()).map(|_| None).collect();
    while let Some((index, output)) = set.next().await {
        outputs[index] = Some(output?);
    }
    Ok(outputs
        .into_iter()
        .map(|o| o.expect("every gathered future finished"))
        .collect())
}

/// The output of [`select`]: which future finished first, and its output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Either<A, B> {
    /// The first future finished first.
    Left(A),
    /// The second future finished first.
    Right(B),
}

pin_project_lite::pin_project! {
    /// The future of [`select`].
    #[must_use = "select does nothing unless awaited"]
    #[derive(Debug)]
    pub struct Select<A, B> {
        #[pin]
        a: A,
        #[pin]
        b: B,
    }
}

/// Races two futures: the output of whichever finishes first; the other is dropped
/// (cancelled) when the `Select` is. `a` is polled first when both are ready.
///
/// ```
/// use std::time::Duration;
/// use ringlet::task::{Either, select};
/// use ringlet::time::sleep;
///
/// let winner = ringlet::run(select(
///     async { sleep(Duration::from_millis(1)).await; "fast" },
///     async { sleep(Duration::from_secs(60)).await; "slow" },
/// ))?;
/// assert_eq!(winner, Either::Left("fast"));
/// # Ok::<(), std::io::Error>(())
/// ```
///
/// # Cancel safety
///
/// Dropping it drops both futures, each with its own cancel safety; when one finishes, the
/// other is dropped the same way.
pub fn select<A: Future, B: Future>(a: A, b: B) -> Select<A, B> {
    Select { a, b }
}

impl<A: Future, B: Future> Future for Select<A, B> {
    type Output = Either<A::Output, B::Output>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        if let Poll::Ready(a) = this.a.poll(cx) {
            return Poll::Ready(Either::Left(a));
        }
        this.b.poll(cx).map(Either::Right)
    }
}
