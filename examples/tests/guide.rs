//! docs/guide.md's examples: each runs and prints what the guide says, and the guide shows
//! each file exactly as it is.

use std::process::Command;

fn run(bin: &str) -> String {
    let out = Command::new(bin).output().unwrap();
    assert!(out.status.success(), "{bin} failed: {out:?}");
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn hello_prints_its_greeting() {
    assert_eq!(run(env!("CARGO_BIN_EXE_hello")), "hello, ringlet\n");
}

#[test]
fn tasks_gathers_results_and_errors_in_order() {
    assert_eq!(
        run(env!("CARGO_BIN_EXE_tasks")),
        "gather: [Ok(30), Err(\"fetch 2 failed\")]\ntask: Ok(10)\noverlapped: true\n"
    );
}

#[test]
fn cancel_runs_the_clean_up_before_reporting() {
    assert_eq!(
        run(env!("CARGO_BIN_EXE_cancel")),
        "clean-up: closed database\nthe task was cancelled\n"
    );
}

#[test]
fn wait_for_times_out_and_passes_through() {
    assert_eq!(
        run(env!("CARGO_BIN_EXE_wait_for")),
        "timed out: deadline has elapsed\nquick: Ok(42)\n"
    );
}

#[test]
fn lock_serializes_withdrawals() {
    assert_eq!(run(env!("CARGO_BIN_EXE_lock")), "balance: 50\n");
}

#[test]
fn semaphore_caps_downloads_in_flight() {
    assert_eq!(
        run(env!("CARGO_BIN_EXE_semaphore")),
        "downloaded 10 files, at most 3 at once\n"
    );
}

#[test]
fn the_guide_shows_each_example_file_verbatim() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let guide = std::fs::read_to_string(format!("{root}/docs/guide.md")).unwrap();
    for name in ["hello", "tasks", "cancel", "wait_for", "lock", "semaphore"] {
        let path = format!("examples/src/bin/{name}.rs");
        let file = std::fs::read_to_string(format!("{root}/{path}")).unwrap();
        let marker = format!("(`{path}`):\n\n```rust\n");
        let start = guide
            .find(&marker)
            .unwrap_or_else(|| panic!("the guide does not show {path}"))
            + marker.len();
        let len = guide[start..].find("```").unwrap();
        assert_eq!(
            &guide[start..start + len],
            file,
            "docs/guide.md differs from {path}"
        );
    }
}
