//! Files and path operations over io_uring.

use std::io::ErrorKind;
use std::path::PathBuf;

use ringlet::fs::{self, File, OpenOptions};

fn temp(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("ringlet-fs-{}-{name}", std::process::id()))
}

fn run<F: std::future::Future>(f: F) -> F::Output {
    ringlet::Runtime::builder()
        .workers(1)
        .build()
        .unwrap()
        .block_on(f)
}

/// The byte at `offset` of the test pattern: depends on the offset, so a misplaced
/// chunk is caught.
fn pattern(offset: u64) -> u8 {
    let x = offset.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    (x >> 56) as u8 ^ (offset as u8)
}

#[test]
fn sixty_four_mib_in_one_mib_writes_then_random_reads() {
    const MIB: u64 = 1 << 20;
    let path = temp("64mib");
    run(async {
        let file = File::create(&path).await.unwrap();
        for chunk in 0..64u64 {
            let data: Vec<u8> = (chunk * MIB..(chunk + 1) * MIB).map(pattern).collect();
            let (res, _) = file.write_all_at(data, chunk * MIB).await;
            res.unwrap();
        }
        file.sync_all().await.unwrap();
        assert_eq!(file.metadata().await.unwrap().len(), 64 * MIB);
        file.close().await.unwrap();

        let file = File::open(&path).await.unwrap();
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..256 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let len = 1 + (seed % 65_536);
            let offset = (seed >> 20) % (64 * MIB - len);
            let (res, buf) = file.read_exact_at(vec![0u8; len as usize], offset).await;
            res.unwrap();
            let expected: Vec<u8> = (offset..offset + len).map(pattern).collect();
            assert!(buf == expected, "mismatch reading {len} bytes at {offset}");
        }
        let (res, buf) = file.read_exact_at(vec![0u8; 10], 64 * MIB - 4).await;
        assert_eq!(res.unwrap_err().kind(), ErrorKind::UnexpectedEof);
        assert_eq!(
            buf[..4],
            (64 * MIB - 4..64 * MIB).map(pattern).collect::<Vec<_>>()[..]
        );
        file.sync_data().await.unwrap();
    });
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn path_operations_round_trip() {
    let dir = temp("dir");
    let _ = std::fs::remove_dir_all(&dir);
    run(async {
        fs::create_dir(&dir).await.unwrap();
        assert!(fs::metadata(&dir).await.unwrap().is_dir());
        let a = dir.join("a.txt");
        let b = dir.join("b.txt");
        fs::write(&a, "first version").await.unwrap();
        let meta = fs::metadata(&a).await.unwrap();
        assert!(meta.is_file());
        assert_eq!(meta.len(), 13);
        assert!(meta.modified() > std::time::SystemTime::UNIX_EPOCH);
        fs::rename(&a, &b).await.unwrap();
        assert_eq!(
            fs::metadata(&a).await.unwrap_err().kind(),
            ErrorKind::NotFound
        );
        assert_eq!(fs::read(&b).await.unwrap(), b"first version");
        assert_eq!(
            fs::remove_dir(&dir).await.unwrap_err().kind(),
            ErrorKind::DirectoryNotEmpty
        );
        fs::remove_file(&b).await.unwrap();
        fs::remove_dir(&dir).await.unwrap();
        assert_eq!(
            fs::metadata(&dir).await.unwrap_err().kind(),
            ErrorKind::NotFound
        );
    });
}

#[test]
fn read_of_a_file_larger_than_its_first_buffer() {
    let path = temp("large-read");
    let data: Vec<u8> = (0..300_000u64).map(pattern).collect();
    std::fs::write(&path, &data).unwrap();
    let read = run(async { fs::read(&path).await.unwrap() });
    assert!(read == data);
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn open_options_and_their_errors() {
    let path = temp("options");
    let _ = std::fs::remove_file(&path);
    run(async {
        assert_eq!(
            File::open(&path).await.unwrap_err().kind(),
            ErrorKind::NotFound
        );
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .await
            .unwrap();
        file.write_all_at(b"one ".to_vec(), 0).await.0.unwrap();
        drop(file);
        let again = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .await;
        assert_eq!(again.unwrap_err().kind(), ErrorKind::AlreadyExists);
        let append = OpenOptions::new().append(true).open(&path).await.unwrap();
        append.write_all_at(b"two".to_vec(), 0).await.0.unwrap(); // offset ignored
        append.close().await.unwrap();
        assert_eq!(fs::read(&path).await.unwrap(), b"one two");
        let none = OpenOptions::new().open(&path).await.unwrap_err();
        assert_eq!(none.kind(), ErrorKind::InvalidInput);
        let nul = File::open("bad\0path").await.unwrap_err();
        assert_eq!(nul.kind(), ErrorKind::InvalidInput);
        let read_only = File::open(&path).await.unwrap();
        let (res, buf) = read_only.write_at(b"x".to_vec(), 0).await;
        let err = res.unwrap_err();
        assert_eq!(ringlet::error::raw_os_error(&err), Some(libc::EBADF));
        assert!(err.to_string().starts_with("write: "), "{err}");
        assert_eq!(buf, b"x", "the buffer comes back on error");
        fs::remove_file(&path).await.unwrap();
    });
}

#[test]
fn path_operation_errors_name_the_operation_and_path() {
    let dir = temp("errors");
    let _ = std::fs::remove_dir_all(&dir);
    run(async {
        fs::create_dir(&dir).await.unwrap();
        let again = fs::create_dir(&dir).await.unwrap_err();
        assert_eq!(again.kind(), ErrorKind::AlreadyExists);
        assert!(again.to_string().starts_with("create_dir "), "{again}");
        let missing = dir.join("missing");
        let err = fs::rename(&missing, dir.join("x")).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound);
        assert!(err.to_string().starts_with("rename "), "{err}");
        let err = fs::remove_file(&missing).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound);
        assert!(err.to_string().contains("missing"), "{err}");
        let err = fs::create_dir(missing.join("deeper")).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound, "missing parent");
        fs::remove_dir(&dir).await.unwrap();
    });
}

/// A fresh directory under the temp dir for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = temp(name);
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

#[ringlet::test]
async fn create_dir_all_makes_every_parent_and_accepts_an_existing_tree() {
    let dir = scratch("mkdir-p");
    let deep = dir.join("a/b/c");
    ringlet::fs::create_dir_all(&deep).await.unwrap();
    assert!(std::fs::metadata(&deep).unwrap().is_dir());
    ringlet::fs::create_dir_all(&deep).await.unwrap(); // exists: fine
    ringlet::fs::create_dir_all(dir.join("a")).await.unwrap();
    std::fs::write(dir.join("a/file"), b"x").unwrap();
    let err = ringlet::fs::create_dir_all(dir.join("a/file/d"))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("a/file"), "{err}");
    let err = ringlet::fs::create_dir_all(dir.join("a/file"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::AlreadyExists, "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[ringlet::test]
async fn read_dir_lists_every_entry_across_batches() {
    let dir = scratch("read-dir");
    std::fs::create_dir_all(dir.join("sub")).unwrap();
    for i in 0..200 {
        std::fs::write(dir.join(format!("f{i:03}")), b"").unwrap();
    }
    let mut entries = ringlet::fs::read_dir(&dir).await.unwrap();
    let mut names = Vec::new();
    while let Some(entry) = entries.next_entry().await.unwrap() {
        assert_eq!(entry.path(), dir.join(entry.file_name()));
        let is_dir = entry.file_type().is_dir();
        assert_eq!(is_dir, entry.file_name() == "sub");
        assert_eq!(entry.metadata().await.unwrap().is_dir(), is_dir);
        names.push(entry.file_name().into_string().unwrap());
    }
    assert!(entries.next_entry().await.unwrap().is_none(), "stays ended");
    names.sort();
    let mut expected: Vec<String> = (0..200).map(|i| format!("f{i:03}")).collect();
    expected.push("sub".into());
    assert_eq!(names, expected);
    let err = ringlet::fs::read_dir(dir.join("missing"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
    assert!(err.to_string().contains("missing"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[ringlet::test]
async fn copy_moves_the_bytes_and_the_permission_bits() {
    use std::os::unix::fs::PermissionsExt;
    let dir = scratch("copy");
    std::fs::create_dir_all(&dir).unwrap();
    let from = dir.join("from");
    let data: Vec<u8> = (0..1_000_003u32).map(|i| (i % 251) as u8).collect(); // 4 chunks
    std::fs::write(&from, &data).unwrap();
    std::fs::set_permissions(&from, std::fs::Permissions::from_mode(0o640)).unwrap();
    let to = dir.join("to");
    std::fs::write(&to, b"an older, longer file that must be truncated ...").unwrap();
    std::fs::set_permissions(&to, std::fs::Permissions::from_mode(0o600)).unwrap();
    let n = ringlet::fs::copy(&from, &to).await.unwrap();
    assert_eq!(n, data.len() as u64);
    assert!(std::fs::read(&to).unwrap() == data);
    let mode = std::fs::metadata(&to).unwrap().permissions().mode() & 0o7777;
    assert_eq!(mode, 0o640);
    let err = ringlet::fs::copy(&dir, dir.join("x")).await.unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput, "{err}");
    assert!(err.to_string().contains("not a regular file"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[ringlet::test]
async fn hard_and_symbolic_links() {
    let dir = scratch("links");
    std::fs::create_dir_all(&dir).unwrap();
    let original = dir.join("original");
    std::fs::write(&original, b"linked").unwrap();
    let hard = dir.join("hard");
    ringlet::fs::hard_link(&original, &hard).await.unwrap();
    let (a, b) = (
        ringlet::fs::metadata(&original).await.unwrap(),
        ringlet::fs::metadata(&hard).await.unwrap(),
    );
    assert_eq!(a.ino(), b.ino(), "one inode, two names");
    let err = ringlet::fs::hard_link(&original, &hard).await.unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::AlreadyExists, "{err}");

    let soft = dir.join("soft");
    ringlet::fs::symlink("original", &soft).await.unwrap();
    assert_eq!(
        std::fs::read_link(&soft).unwrap(),
        std::path::Path::new("original")
    );
    assert_eq!(ringlet::fs::read(&soft).await.unwrap(), b"linked");
    ringlet::fs::symlink(dir.join("nowhere"), dir.join("dangling"))
        .await
        .unwrap();
    assert!(
        std::fs::symlink_metadata(dir.join("dangling"))
            .unwrap()
            .is_symlink()
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[ringlet::test]
async fn a_registered_file_reads_and_writes_by_its_slot_and_frees_it() {
    let dir = scratch("registered");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("data");
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(&path)
        .await
        .unwrap();
    assert!(!file.is_registered());
    file.register().unwrap();
    file.register().unwrap(); // a second call does nothing
    assert!(file.is_registered());
    file.write_all_at(b"by slot".to_vec(), 3).await.0.unwrap();
    let (res, buf) = file.read_exact_at(vec![0u8; 7], 3).await;
    res.unwrap();
    assert_eq!(buf, b"by slot");
    // Closing a registered file closes its descriptor (the slot's clone goes first).
    let fd = std::os::fd::AsRawFd::as_raw_fd(&file);
    let names = |fd| std::fs::read_link(format!("/proc/self/fd/{fd}")).ok();
    assert_eq!(names(fd).as_deref(), Some(path.as_path()));
    file.close().await.unwrap();
    // Closed: the number is free, or (other tests run in this process) names another file.
    assert_ne!(names(fd).as_deref(), Some(path.as_path()), "closed");
    // More files than the table has slots, one after another: each frees its slot.
    for _ in 0..5000 {
        let mut file = File::open(&path).await.unwrap();
        file.register().unwrap();
        let (n, _) = file.read_at(vec![0u8; 4], 0).await;
        assert_eq!(n.unwrap(), 4);
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
