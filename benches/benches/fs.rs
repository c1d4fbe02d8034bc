//! File micro-benchmark, ringlet against tokio: random 4 KiB reads from a 1 GiB file at
//! queue depth 1 and 32, one worker (ringlet) against the current-thread runtime and its
//! blocking pool (tokio).
//!
//! ```sh
//! cargo bench -p ringlet-benches --bench fs
//! ```
//!
//! The file is written once to the target directory and then read from the page cache:
//! the figures are the cost of each runtime's file path (an `IORING_OP_READ` against a
//! thread-pool hop per read), not of the disk. tokio is measured two ways: its
//! `tokio::fs::File` (`seek` then `read_exact`, as the API offers no positioned read) and
//! `spawn_blocking` around a positioned `read_exact_at`, which is what tokio::fs does
//! internally per call, minus the seek. Ratios are tokio time / ringlet time.

use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use ringlet_benches::adapter::{Files, Ringlet, Tokio, TokioPread};
use ringlet_benches::{Bench, full_run};

const BLOCK: usize = 4096;
/// Reads per measured batch.
const READS: u64 = 64_000;

/// The file's size: 1 GiB for the benchmark, 64 MiB for the quick check.
fn file_size() -> u64 {
    if full_run() { 1 << 30 } else { 64 << 20 }
}

/// The test file, written on first use (or reused if it already has the right size).
fn path() -> &'static Path {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        let target = std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"));
        let path = target.join(format!("bench-fs-{}M.bin", file_size() >> 20));
        if std::fs::metadata(&path).map(|m| m.len()).ok() != Some(file_size()) {
            let file = std::fs::File::create(&path).expect("create the benchmark file");
            let mut chunk = vec![0u8; 8 << 20];
            for offset in (0..file_size()).step_by(chunk.len()) {
                chunk
                    .iter_mut()
                    .enumerate()
                    .for_each(|(i, b)| *b = block_byte(offset + i as u64));
                file.write_all_at(&chunk, offset)
                    .expect("write the benchmark file");
            }
        }
        path
    })
}

/// The byte at `offset` of the file.
fn block_byte(offset: u64) -> u8 {
    ((offset / BLOCK as u64).wrapping_mul(31) ^ (offset % 251)) as u8
}

/// The offset of read `i` of reader `reader`: random, block-aligned, reproducible.
fn offset(reader: u64, i: u64) -> u64 {
    let mut x = (reader << 32 | i).wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^= x >> 31;
    (x % (file_size() / BLOCK as u64)) * BLOCK as u64
}

/// Checks a block that was read (its first and last byte), so no read can be skipped.
fn check(buf: &[u8], offset: u64) {
    assert_eq!(buf[0], block_byte(offset));
    assert_eq!(buf[BLOCK - 1], block_byte(offset + BLOCK as u64 - 1));
}

/// `reads` random reads spread over `depth` concurrent readers, on ringlet.
/// `reads` 4 KiB reads at random offsets, `depth` readers at once (each with its own
/// handle on the file), every block checked.
fn reads<R: Files>(reads: u64, depth: u64) -> Duration {
    R::block_on(async move {
        let mut files = Vec::new();
        for _ in 0..depth {
            files.push(R::open(path()).await);
        }
        let start = Instant::now();
        let readers: Vec<_> = files
            .into_iter()
            .zip(0..)
            .map(|(mut file, r)| {
                R::spawn(async move {
                    let mut buf = vec![0u8; BLOCK];
                    for i in 0..reads / depth {
                        let off = offset(r, i);
                        buf = R::read_exact_at(&mut file, buf, off).await;
                        check(&buf, off);
                    }
                })
            })
            .collect();
        for r in readers {
            r.await;
        }
        start.elapsed()
    })
}

/// As [`reads`], on ringlet with each reader's file registered (a direct descriptor: the
/// kernel skips looking the descriptor up per read).
fn registered_reads(reads: u64, depth: u64) -> Duration {
    let rt = ringlet::Runtime::builder().workers(1).build().unwrap();
    rt.block_on(async move {
        let mut files = Vec::new();
        for _ in 0..depth {
            let mut file = ringlet::fs::File::open(path()).await.unwrap();
            file.register().unwrap();
            files.push(file);
        }
        let start = Instant::now();
        let readers: Vec<_> = files
            .into_iter()
            .zip(0..)
            .map(|(file, r)| {
                ringlet::spawn(async move {
                    let mut buf = vec![0u8; BLOCK];
                    for i in 0..reads / depth {
                        let off = offset(r, i);
                        let (res, filled) = file.read_exact_at(buf, off).await;
                        res.unwrap();
                        check(&filled, off);
                        buf = filled;
                    }
                })
            })
            .collect();
        for r in readers {
            r.await.unwrap();
        }
        start.elapsed()
    })
}

/// As [`reads`], on ringlet with registered buffers: one per reader from a
/// `FixedBufPool`, read with `read_fixed_at` (the kernel skips mapping the buffer).
fn fixed_reads(reads: u64, depth: u64) -> Duration {
    let rt = ringlet::Runtime::builder().workers(1).build().unwrap();
    rt.block_on(async move {
        let pool = ringlet::buf::FixedBufPool::new(depth as u16, BLOCK).unwrap();
        let mut files = Vec::new();
        for _ in 0..depth {
            files.push(ringlet::fs::File::open(path()).await.unwrap());
        }
        let start = Instant::now();
        let readers: Vec<_> = files
            .into_iter()
            .zip(0..)
            .map(|(file, r)| {
                let mut buf = pool.try_get().unwrap();
                ringlet::spawn(async move {
                    for i in 0..reads / depth {
                        let off = offset(r, i);
                        buf.clear();
                        let (n, filled) = file.read_fixed_at(buf, off).await;
                        assert_eq!(n.unwrap(), BLOCK);
                        check(&filled, off);
                        buf = filled;
                    }
                })
            })
            .collect();
        for r in readers {
            r.await.unwrap();
        }
        start.elapsed()
    })
}

fn main() {
    println!(
        "{} MiB file (page cache), 4 KiB random reads",
        file_size() >> 20
    );
    path();
    let mut bench = Bench::new();
    bench.compare(
        "file_reads_qd1",
        READS,
        &[
            ("ringlet", |n| reads::<Ringlet>(n, 1)),
            ("ringlet-fixed", |n| fixed_reads(n, 1)),
            ("ringlet-registered", |n| registered_reads(n, 1)),
            ("tokio-fs", |n| reads::<Tokio>(n, 1)),
            ("tokio-spawn-blocking", |n| reads::<TokioPread>(n, 1)),
        ],
    );
    bench.compare(
        "file_reads_qd32",
        READS,
        &[
            ("ringlet", |n| reads::<Ringlet>(n, 32)),
            ("ringlet-fixed", |n| fixed_reads(n, 32)),
            ("ringlet-registered", |n| registered_reads(n, 32)),
            ("tokio-fs", |n| reads::<Tokio>(n, 32)),
            ("tokio-spawn-blocking", |n| reads::<TokioPread>(n, 32)),
        ],
    );
}
