//! Thin wrappers of the few syscalls the runtime makes outside the ring: the wake-up
//! eventfd, CPU affinity, and a thread's id and CPU time (for metrics).
//!
//! Owns: nothing but the calls; each returns an `io::Error` from errno.

/// Creates the eventfd through which other threads wake a parked worker. It is blocking on
/// purpose: io_uring polls a blocking fd, but fails a read on an `O_NONBLOCK` one with EAGAIN.
pub(crate) fn eventfd() -> std::io::Result<std::os::fd::OwnedFd> {
    use std::os::fd::FromRawFd;
    // SAFETY: eventfd(2) takes no pointers.
    let fd = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC) };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: eventfd returned a new descriptor that nothing else owns.
    Ok(unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) })
}

/// The CPUs the calling thread may run on, in order.
pub(crate) fn allowed_cpus() -> std::io::Result<Vec<usize>> {
    // SAFETY: cpu_set_t is plain old data; all zeroes is the empty set.
    let mut allowed: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: `allowed` is a live cpu_set_t of the size passed; 0 is the calling thread.
    let rc =
        unsafe { libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut allowed) };
    if rc != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok((0..libc::CPU_SETSIZE as usize)
        // SAFETY: `i` is below CPU_SETSIZE, within the set.
        .filter(|&i| unsafe { libc::CPU_ISSET(i, &allowed) })
        .collect())
}

/// Pins the calling thread to CPU `cpu`.
pub(crate) fn pin_current_thread(cpu: usize) -> std::io::Result<()> {
    if cpu >= libc::CPU_SETSIZE as usize {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("cannot pin to CPU {cpu}: beyond CPU_SETSIZE"),
        ));
    }
    // SAFETY: as above, all zeroes is the empty set.
    let mut one: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: `cpu` is below CPU_SETSIZE (checked above).
    unsafe { libc::CPU_SET(cpu, &mut one) };
    // SAFETY: `one` is a live cpu_set_t of the size passed; 0 is the calling thread.
    let rc = unsafe { libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &one) };
    if rc != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// The calling thread's id (`gettid`).
pub(crate) fn thread_id() -> i32 {
    // SAFETY: `gettid` takes no argument and cannot fail.
    unsafe { libc::gettid() }
}

/// The CPU time thread `tid` of this process has used so far, user and kernel (including
/// the kernel's work for its ring while it waited in `io_uring_enter`): the first field
/// of `/proc/self/task/TID/schedstat`. `None` once the thread is gone, or without procfs.
pub(crate) fn thread_cpu_time(tid: i32) -> Option<std::time::Duration> {
    let stat = std::fs::read_to_string(format!("/proc/self/task/{tid}/schedstat")).ok()?;
    let ns = stat.split_whitespace().next()?.parse().ok()?;
    Some(std::time::Duration::from_nanos(ns))
}
