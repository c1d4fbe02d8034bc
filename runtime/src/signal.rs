//! Signals: [`ctrl_c`] and [`shutdown`] for a graceful stop, and [`signal`] for any
//! catchable signal (SIGTERM, SIGHUP, SIGUSR1, ...), on every worker, with any number of
//! listeners per signal.
//!
//! A handler per signal (installed on first use, for the whole process) counts the signal
//! and writes one eventfd; one listener at a time keeps a read on it in its ring and wakes
//! the others, and each listener compares its signal's count with the count it has seen.
//!
//! Owns: the handlers (async-signal-safe: an atomic add and a `write(2)`) and the
//! listening futures. Must not do anything else in a handler.

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

/// A catchable signal to listen for with [`signal`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SignalKind(libc::c_int);

impl SignalKind {
    /// SIGINT: Ctrl-C in a terminal.
    pub const fn interrupt() -> SignalKind {
        SignalKind(libc::SIGINT)
    }

    /// SIGTERM: how systemd, Docker and Kubernetes ask a service to stop.
    pub const fn terminate() -> SignalKind {
        SignalKind(libc::SIGTERM)
    }

    /// SIGHUP: the terminal went away; by convention, "reload your configuration".
    pub const fn hangup() -> SignalKind {
        SignalKind(libc::SIGHUP)
    }

    /// SIGUSR1.
    pub const fn user_defined1() -> SignalKind {
        SignalKind(libc::SIGUSR1)
    }

    /// SIGUSR2.
    pub const fn user_defined2() -> SignalKind {
        SignalKind(libc::SIGUSR2)
    }

    /// SIGQUIT.
    pub const fn quit() -> SignalKind {
        SignalKind(libc::SIGQUIT)
    }

    /// Any signal by number; [`signal`] refuses those that cannot be caught (SIGKILL,
    /// SIGSTOP) and those a handler must not swallow (SIGSEGV, SIGBUS, SIGILL, SIGFPE).
    pub const fn from_raw(signal: i32) -> SignalKind {
        SignalKind(signal)
    }

    /// The signal's number.
    pub const fn as_raw(self) -> i32 {
        self.0
    }
}

/// Listens for `kind`: the first call for a signal installs a handler for the whole
/// process, after which the signal no longer has its default effect (SIGTERM no longer
/// terminates the process): it completes [`Signal::recv`] instead. Any number of
/// listeners, on any worker, each see every delivery.
///
/// ```no_run
/// use ringlet::signal::{SignalKind, signal};
///
/// async fn reload_on_hangup() -> std::io::Result<()> {
///     let mut hangups = signal(SignalKind::hangup())?;
///     loop {
///         hangups.recv().await?;
///         println!("reloading the configuration");
///     }
/// }
///
/// ringlet::run(reload_on_hangup())??;
/// # Ok::<(), std::io::Error>(())
/// ```
///
/// # Errors
///
/// `InvalidInput` for a signal that cannot or must not be caught; if the handler or its
/// eventfd cannot be set up.
pub fn signal(kind: SignalKind) -> io::Result<Signal> {
    let number = kind.0;
    let forbidden = [
        libc::SIGKILL,
        libc::SIGSTOP,
        libc::SIGSEGV,
        libc::SIGBUS,
        libc::SIGILL,
        libc::SIGFPE,
    ];
    if !(1..handlers::SIGNALS as i32).contains(&number) || forbidden.contains(&number) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("signal {number} cannot be listened for"),
        ));
    }
    listen(number)?;
    Ok(Signal {
        listener: Listener::new(number),
    })
}

/// A stream of deliveries of one signal, from [`signal`].
#[derive(Debug)]
pub struct Signal {
    listener: Listener,
}

impl Signal {
    /// Completes on the next delivery of the signal since this listener was made or last
    /// completed (several deliveries in between complete it once).
    ///
    /// # Errors
    ///
    /// If the eventfd cannot be read; outside a runtime.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future loses nothing: a delivery that came meanwhile completes the
    /// next call.
    pub async fn recv(&mut self) -> io::Result<()> {
        std::future::poll_fn(|cx| self.listener.poll(cx)).await?;
        self.listener.seen = handlers::count(self.listener.signal);
        Ok(())
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
///
/// # Cancel safety
///
/// Dropping the future stops this call's listening only. Each call counts deliveries from
/// when it is made, so a Ctrl-C that arrives between a dropped `ctrl_c()` and the next
/// call is not seen by the next (and, the handler being installed, no longer ends the
/// process by itself). To see every delivery, keep one [`signal`] listener and call
/// [`Signal::recv`] in a loop.
pub fn ctrl_c() -> CtrlC {
    CtrlC {
        setup: Some(listen(libc::SIGINT)),
        listeners: vec![Listener::new(libc::SIGINT)],
    }
}

/// Completes once the process has received SIGINT (Ctrl-C) or SIGTERM (what systemd,
/// Docker and Kubernetes send to stop a service): the signal for a graceful stop.
/// Installs both handlers, as [`ctrl_c`] does for SIGINT.
///
/// Unlike [`ctrl_c`], which waits for a delivery after the call, a request to stop is a
/// state: once one of the two signals has been caught, every `shutdown()` completes,
/// made before or after it. So the servers of several workers all stop, however late
/// each started listening. (A signal that arrives before any handler is installed ends
/// the process, as it would without ringlet.)
///
/// # Errors
///
/// As [`ctrl_c`].
pub fn shutdown() -> CtrlC {
    CtrlC {
        setup: Some(listen(libc::SIGINT).and_then(|()| listen(libc::SIGTERM))),
        listeners: vec![
            Listener::since_start(libc::SIGINT),
            Listener::since_start(libc::SIGTERM),
        ],
    }
}

/// The future of [`ctrl_c`] and [`shutdown`].
#[must_use = "ctrl_c does nothing unless awaited"]
#[derive(Debug)]
pub struct CtrlC {
    setup: Option<io::Result<()>>,
    listeners: Vec<Listener>,
}

impl Future for CtrlC {
    type Output = io::Result<()>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        if let Some(Err(e)) = this.setup.take() {
            return Poll::Ready(Err(e));
        }
        for listener in &mut this.listeners {
            if listener.poll(cx)?.is_ready() {
                return Poll::Ready(Ok(()));
            }
        }
        Poll::Pending
    }
}

/// The eventfd every handler writes; made once.
fn signal_fd() -> io::Result<&'static File> {
    static FD: OnceLock<Result<File, (io::ErrorKind, String)>> = OnceLock::new();
    let fd = FD.get_or_init(|| {
        let setup = || -> io::Result<File> {
            let file = File::from(eventfd()?);
            handlers::set_eventfd(std::os::fd::AsRawFd::as_raw_fd(&file));
            Ok(file)
        };
        setup().map_err(|e| (e.kind(), e.to_string()))
    });
    fd.as_ref()
        .map_err(|(kind, msg)| io::Error::new(*kind, format!("cannot listen for signals: {msg}")))
}

/// Makes sure the eventfd exists and `signal`'s handler is installed.
fn listen(signal: libc::c_int) -> io::Result<()> {
    signal_fd()?;
    static INSTALL: Mutex<()> = Mutex::new(());
    let _once = INSTALL.lock().unwrap_or_else(|e| e.into_inner());
    handlers::install(signal)
        .map_err(|e| io::Error::new(e.kind(), format!("cannot listen for signal {signal}: {e}")))
}

/// Whether some listener holds the read on the eventfd.
static READING: AtomicBool = AtomicBool::new(false);
/// Every listener waiting, on any worker.
static WAITERS: Mutex<Vec<Waker>> = Mutex::new(Vec::new());

fn wake_waiters() {
    let wakers = std::mem::take(&mut *WAITERS.lock().unwrap_or_else(|e| e.into_inner()));
    for waker in wakers {
        waker.wake();
    }
}

/// One listener's view of one signal: the deliveries it has seen, and the eventfd read it
/// holds while it is the reader.
struct Listener {
    signal: libc::c_int,
    seen: u64,
    read: Option<Op<Read<Box<[u8; 8]>>>>,
}

impl Listener {
    fn new(signal: libc::c_int) -> Listener {
        Listener {
            signal,
            seen: handlers::count(signal),
            read: None,
        }
    }

    /// A listener that counts every delivery since the handler was installed, however
    /// long before this.
    fn since_start(signal: libc::c_int) -> Listener {
        Listener {
            signal,
            seen: 0,
            read: None,
        }
    }

    fn start_read(&mut self) -> io::Result<()> {
        let driver = context::driver()?;
        let fd = OwnedFd::from(signal_fd()?.try_clone()?);
        self.read = Some(Op::read(&driver, &SharedFd::new(fd), Box::new([0u8; 8])));
        Ok(())
    }

    /// Ready once the signal's count has passed `seen`.
    fn poll(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        loop {
            if handlers::count(self.signal) > self.seen {
                return Poll::Ready(Ok(()));
            }
            if let Some(read) = self.read.as_mut() {
                let Poll::Ready((result, _)) = Pin::new(read).poll(cx) else {
                    break;
                };
                self.read = None;
                READING.store(false, Ordering::SeqCst);
                wake_waiters();
                if let Err(e) = result {
                    return Poll::Ready(Err(e));
                }
                continue; // a count has moved: checked at the top
            }
            if READING.swap(true, Ordering::SeqCst) {
                break; // another listener reads; it will wake us
            }
            if let Err(e) = self.start_read() {
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
        if handlers::count(self.signal) > self.seen {
            cx.waker().wake_by_ref();
        }
        Poll::Pending
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        if self.read.take().is_some() {
            // Hand the reading role to another waiter.
            READING.store(false, Ordering::SeqCst);
            wake_waiters();
        }
    }
}

impl std::fmt::Debug for Listener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Listener")
            .field("signal", &self.signal)
            .field("reading", &self.read.is_some())
            .finish()
    }
}

/// Where the handlers report: a count per signal and the eventfd they write.
mod handlers {
    use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, Ordering};

    /// Signal numbers below this one can be listened for.
    pub(crate) const SIGNALS: usize = 65;

    /// Deliveries of each signal since its handler was installed.
    static COUNTS: [AtomicU64; SIGNALS] = [const { AtomicU64::new(0) }; SIGNALS];
    /// Whether each signal's handler is installed.
    static INSTALLED: [AtomicBool; SIGNALS] = [const { AtomicBool::new(false) }; SIGNALS];
    /// The eventfd the handlers write (never closed once set).
    static EVENTFD: AtomicI32 = AtomicI32::new(-1);

    pub(crate) fn count(signal: libc::c_int) -> u64 {
        COUNTS[signal as usize].load(Ordering::SeqCst)
    }

    pub(crate) fn set_eventfd(fd: std::os::fd::RawFd) {
        EVENTFD.store(fd, Ordering::SeqCst);
    }

    extern "C" fn on_signal(signal: libc::c_int) {
        // Only async-signal-safe work: an atomic add and write(2).
        if let Some(count) = COUNTS.get(signal as usize) {
            count.fetch_add(1, Ordering::SeqCst);
        }
        let fd = EVENTFD.load(Ordering::SeqCst);
        if fd >= 0 {
            let one = 1u64;
            // SAFETY: `one` is a live u64 for the duration of the call; a failed write
            // (counter overflow) leaves the counter non-zero, which is all that matters.
            let _ = unsafe { libc::write(fd, (&raw const one).cast(), 8) };
        }
    }

    /// Installs the handler of `signal` (below [`SIGNALS`]) unless it is already; the
    /// eventfd must be set first. The caller serializes installs.
    pub(crate) fn install(signal: libc::c_int) -> std::io::Result<()> {
        let installed = &INSTALLED[signal as usize];
        if installed.load(Ordering::SeqCst) {
            return Ok(());
        }
        // SAFETY: sigaction is plain old data; all zeroes is a valid empty action.
        let mut action: libc::sigaction = unsafe { std::mem::zeroed() };
        action.sa_sigaction = on_signal as *const () as libc::sighandler_t;
        action.sa_flags = libc::SA_RESTART;
        // SAFETY: `action.sa_mask` is a live sigset_t owned by `action`.
        unsafe { libc::sigemptyset(&mut action.sa_mask) };
        // SAFETY: `action` is a fully initialized sigaction; the handler only does
        // async-signal-safe work; no old action is requested.
        if unsafe { libc::sigaction(signal, &action, std::ptr::null_mut()) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
        installed.store(true, Ordering::SeqCst);
        Ok(())
    }
}
