//! A process where io_uring is unavailable gets a clear error from `Runtime::new`, not a
//! panic: each case runs in a child process (this test binary again) whose thread has a
//! seccomp filter making `io_uring_setup` fail with the errno under test. EPERM is what
//! Docker's default profile and `sysctl kernel.io_uring_disabled=2` both give; ENOSYS is a
//! kernel without io_uring.

use std::process::Command;

const CHILD_ENV: &str = "RINGLET_TEST_BLOCK_IO_URING_ERRNO";

/// Installs a seccomp filter on this thread: `io_uring_setup` fails with `errno`, every
/// other syscall is allowed.
fn forbid_io_uring_setup(errno: u16) {
    const LD_W_ABS: u16 = (libc::BPF_LD | libc::BPF_W | libc::BPF_ABS) as u16;
    const JEQ_K: u16 = (libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K) as u16;
    const RET_K: u16 = (libc::BPF_RET | libc::BPF_K) as u16;
    let stmt = |code, k| libc::sock_filter {
        code,
        jt: 0,
        jf: 0,
        k,
    };
    let filter = [
        // seccomp_data.nr is at offset 0.
        stmt(LD_W_ABS, 0),
        libc::sock_filter {
            code: JEQ_K,
            jt: 0,
            jf: 1,
            k: libc::SYS_io_uring_setup as u32,
        },
        stmt(RET_K, libc::SECCOMP_RET_ERRNO | u32::from(errno)),
        stmt(RET_K, libc::SECCOMP_RET_ALLOW),
    ];
    let prog = libc::sock_fprog {
        len: filter.len() as u16,
        filter: filter.as_ptr().cast_mut(),
    };
    // SAFETY: prctl with integer arguments only.
    let rc = unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) };
    assert_eq!(rc, 0);
    // SAFETY: `prog` points to a valid filter program that outlives the call (the kernel
    // copies it).
    let rc = unsafe {
        libc::prctl(
            libc::PR_SET_SECCOMP,
            libc::SECCOMP_MODE_FILTER,
            &raw const prog,
            0,
            0,
        )
    };
    assert_eq!(rc, 0, "seccomp: {}", std::io::Error::last_os_error());
}

/// The child's half: runs only with the environment variable set.
#[test]
fn child_builds_a_runtime_without_io_uring() {
    let Ok(errno) = std::env::var(CHILD_ENV) else {
        return;
    };
    forbid_io_uring_setup(errno.parse().unwrap());
    let error = match ringlet::Runtime::new() {
        Ok(_) => panic!("the runtime started although io_uring_setup is forbidden"),
        Err(e) => e,
    };
    println!("RUNTIME ERROR: {error}");
    println!("RAW OS ERROR: {:?}", ringlet::error::raw_os_error(&error));
}

fn run_child(errno: i32) -> String {
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_builds_a_runtime_without_io_uring",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, errno.to_string())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "child failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

#[test]
fn forbidden_io_uring_is_a_clear_error() {
    let out = run_child(libc::EPERM);
    assert!(
        out.contains("RUNTIME ERROR: io_uring_setup failed"),
        "{out}"
    );
    assert!(out.contains("kernel.io_uring_disabled"), "{out}");
    assert!(out.contains("seccomp"), "{out}");
    assert!(
        out.contains(&format!("RAW OS ERROR: Some({})", libc::EPERM)),
        "{out}"
    );
}

#[test]
fn kernel_without_io_uring_is_a_clear_error() {
    let out = run_child(libc::ENOSYS);
    assert!(
        out.contains("RUNTIME ERROR: io_uring_setup failed"),
        "{out}"
    );
    assert!(out.contains("the kernel has no io_uring"), "{out}");
    assert!(
        out.contains(&format!("RAW OS ERROR: Some({})", libc::ENOSYS)),
        "{out}"
    );
}
