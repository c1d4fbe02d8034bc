//! Signals: [`ctrl_c`] for graceful shutdown.
//!
//! Owns: the SIGINT handler (async-signal-safe: an atomic add and a `write(2)`) and the
//! `CtrlC` future. Must not do anything else in the handler.

use std::fs::File;
use std::future::Future;
use std::io;
use std::os::fd::OwnedFd;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, OnceLock};
use std::task::{Context, Poll, Waker};

use uring_driver::op::Read;
use uring_driver::{Op, SharedFd};

use crate::executor::context;
use crate::sys::eventfd;

/// The eventfd the SIGINT handler writes; created, and the handler installed, once.
fn signal_fd() -> io::Result<&'static File> {
    static FD: OnceLock<Result<File, (io::ErrorKind, String)>> = OnceLock::new();
    let fd = FD.get_or_init(|| {
        let setup = || -> io::Result<File> {
            let file = File::from(eventfd()?);
            sigint::install(std::os::fd::AsRawFd::as_raw_fd(&file))?;
            Ok(file)
        };
        setup().map_err(|e| (e.kind(), e.to_string()))
    });
    fd.as_ref()
        .map_err(|(kind, msg)| io::Error::new(*kind, format!("cannot listen for Ctrl-C: {msg}")))
}

/// Whether some `CtrlC` holds the read on the eventfd.
static READING: AtomicBool = AtomicBool::new(false);
/// Every `CtrlC` waiting, on any worker.
static WAITERS: Mutex<Vec<Waker>> = Mutex::new(Vec::new());

fn wake_waiters() {
    let wakers = std::mem::take(&mut *WAITERS.lock().unwrap_or_else(|e| e.into_inner()));
    for waker in wakers {
        waker.wake();
    }
}

/// Completes when the process receives SIGINT (Ctrl-C) after this call.
///
/// The first call installs a SIGINT handler for the whole process: from then on Ctrl-C no
/// longer terminates the program, it completes these futures. Any number may wait, on any
/// worker; one of them keeps a read on the handler's eventfd in the ring, and wakes the
/// others.
///
/// ```no_run
/// ringlet::run(async {
///     ringlet::signal::ctrl_c().await?;
///     println!("shutting down");
///     Ok::<(), std::io::Error>(())
/// })??;
/// # Ok::<(), std::io::Error>(())
/// ```
///
/// # Errors
///
/// If the handler or its eventfd cannot be set up, or outside a runtime.
pub fn ctrl_c() -> CtrlC {
    let setup = signal_fd().map(|_| ());
    CtrlC {
        seen: sigint::COUNT.load(Ordering::SeqCst),
        setup: Some(setup),
        read: None,
    }
}

/// The future of [`ctrl_c`].
#[must_use = "ctrl_c does nothing unless awaited"]
pub struct CtrlC {
    seen: u64,
    setup: Option<io::Result<()>>,
    /// Set while this future is the one reading the eventfd.
    read: Option<Op<Read<Box<[u8; 8]>>>>,
}

impl CtrlC {
    fn start_read(&mut self) -> io::Result<()> {
        let driver = context::driver()?;
        let fd = OwnedFd::from(signal_fd()?.try_clone()?);
        self.read = Some(Op::read(&driver, &SharedFd::new(fd), Box::new([0u8; 8])));
        Ok(())
    }
}

impl Future for CtrlC {
    type Output = io::Result<()>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        if let Some(Err(e)) = this.setup.take() {
            return Poll::Ready(Err(e));
        }
        loop {
            if sigint::COUNT.load(Ordering::SeqCst) > this.seen {
                return Poll::Ready(Ok(()));
            }
            if let Some(read) = this.read.as_mut() {
                let Poll::Ready((result, _)) = Pin::new(read).poll(cx) else {
                    break;
                };
                this.read = None;
                READING.store(false, Ordering::SeqCst);
                wake_waiters();
                if let Err(e) = result {
                    return Poll::Ready(Err(e));
                }
                continue; // the count has moved: checked at the top
            }
            if READING.swap(true, Ordering::SeqCst) {
                break; // another CtrlC reads; it will wake us
            }
            if let Err(e) = this.start_read() {
                READING.store(false, Ordering::SeqCst);
                return Poll::Ready(Err(e));
            }
        }
        let mut waiters = WAITERS.lock().unwrap_or_else(|e| e.into_inner());
        if !waiters.iter().any(|w| w.will_wake(cx.waker())) {
            waiters.push(cx.waker().clone());
        }
        drop(waiters);
        // A signal may have arrived between the check and registering.
        if sigint::COUNT.load(Ordering::SeqCst) > this.seen {
            cx.waker().wake_by_ref();
        }
        Poll::Pending
    }
}

impl Drop for CtrlC {
    fn drop(&mut self) {
        if self.read.take().is_some() {
            // Hand the reading role to another waiter.
            READING.store(false, Ordering::SeqCst);
            wake_waiters();
        }
    }
}

impl std::fmt::Debug for CtrlC {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CtrlC")
            .field("reading", &self.read.is_some())
            .finish()
    }
}

/// Where the SIGINT handler reports: a signal count and the eventfd it writes.
mod sigint {
    use std::sync::atomic::{AtomicI32, AtomicU64, Ordering};

    /// Signals received since the handler was installed.
    pub(crate) static COUNT: AtomicU64 = AtomicU64::new(0);
    /// The eventfd the handler writes (never closed once set).
    static EVENTFD: AtomicI32 = AtomicI32::new(-1);

    extern "C" fn on_sigint(_signal: libc::c_int) {
        // Only async-signal-safe work: an atomic add and write(2).
        COUNT.fetch_add(1, Ordering::SeqCst);
        let fd = EVENTFD.load(Ordering::SeqCst);
        if fd >= 0 {
            let one = 1u64;
            // SAFETY: `one` is a live u64 for the duration of the call; a failed write
            // (counter overflow) leaves the counter non-zero, which is all that matters.
            let _ = unsafe { libc::write(fd, (&raw const one).cast(), 8) };
        }
    }

    /// Installs the SIGINT handler writing to `eventfd`, which must stay open for the life
    /// of the process. Call once.
    pub(crate) fn install(eventfd: std::os::fd::RawFd) -> std::io::Result<()> {
        EVENTFD.store(eventfd, Ordering::SeqCst);
        // SAFETY: sigaction is plain old data; all zeroes is a valid empty action.
        let mut action: libc::sigaction = unsafe { std::mem::zeroed() };
        action.sa_sigaction = on_sigint as *const () as libc::sighandler_t;
        action.sa_flags = libc::SA_RESTART;
        // SAFETY: `action.sa_mask` is a live sigset_t owned by `action`.
        unsafe { libc::sigemptyset(&mut action.sa_mask) };
        // SAFETY: `action` is a fully initialized sigaction; the handler only does
        // async-signal-safe work; no old action is requested.
        if unsafe { libc::sigaction(libc::SIGINT, &action, std::ptr::null_mut()) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(())
    }
}
