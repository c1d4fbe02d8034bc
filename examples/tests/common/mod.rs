//! What the example tests share: an example server run as a child process, and a seeded
//! random generator (a failure can be replayed).
#![allow(dead_code, unreachable_pub)]

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, ChildStdout, Command, Stdio};

/// An example server binary, killed when dropped.
pub struct ServerProcess {
    pub child: Child,
    pub addr: SocketAddr,
    /// The rest of its stdout, after the `listening on` line.
    pub stdout: BufReader<ChildStdout>,
}

impl ServerProcess {
    /// Starts `bin` with `--addr 127.0.0.1:0` and `args`, its stderr going to `stderr`,
    /// and waits for its `listening on ADDR` line.
    pub fn start(bin: &str, args: &[&str], stderr: Stdio) -> ServerProcess {
        let mut child = Command::new(bin)
            .args(["--addr", "127.0.0.1:0"])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {bin}: {e}"));
        let mut line = String::new();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        stdout.read_line(&mut line).unwrap();
        let addr = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("{bin}: unexpected first line {line:?}"))
            .parse()
            .unwrap();
        ServerProcess {
            child,
            addr,
            stdout,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// xorshift64*.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    pub fn below(&mut self, n: u64) -> usize {
        (self.next() % n) as usize
    }

    pub fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next() as u8).collect()
    }
}

/// Raises the soft descriptor limit to the hard one (a server child inherits it) and
/// checks that it allows `want` descriptors.
pub fn raise_fd_limit(want: u64) {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `lim` is a live rlimit struct for the kernel to fill.
    assert_eq!(unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) }, 0);
    lim.rlim_cur = lim.rlim_max;
    // SAFETY: `lim` is a valid rlimit struct.
    assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) }, 0);
    assert!(
        lim.rlim_cur >= want,
        "the hard fd limit {} is below {want}",
        lim.rlim_max
    );
}

/// Checks that the page `doc` (a path from the repository root) shows each file of `paths`
/// exactly as it is, in a block introduced by "(`PATH`):" and a blank line.
pub fn assert_shows_verbatim(doc: &str, paths: &[String]) {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let page = std::fs::read_to_string(format!("{root}/{doc}")).unwrap();
    for path in paths {
        let file = std::fs::read_to_string(format!("{root}/{path}")).unwrap();
        let marker = format!("(`{path}`):\n\n```rust\n");
        let start = page
            .find(&marker)
            .unwrap_or_else(|| panic!("{doc} does not show {path}"))
            + marker.len();
        // The block ends at a fence on a line of its own (a doc comment may hold one).
        let len = page[start..].find("\n```\n").unwrap() + 1;
        assert_eq!(&page[start..start + len], file, "{doc} differs from {path}");
    }
}
