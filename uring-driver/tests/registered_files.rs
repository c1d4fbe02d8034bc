//! Registered files: ops by table slot, slot reuse, one table per ring, and a slot kept
//! registered while a dropped op is still in the kernel.

mod common;

use std::io::Write;
use std::os::unix::net::UnixStream;

use common::{drain, open_fds, pipe, poll_once, run, serial};
use uring_driver::{Driver, FileTable, Op};

#[test]
fn read_write_send_recv_by_slot() {
    let _g = serial();
    let driver = Driver::new().unwrap();
    let table = FileTable::new(&driver, 8).unwrap();
    let (r, w) = pipe();
    let (r, w) = (table.register(r).unwrap(), table.register(w).unwrap());
    assert_ne!(r.index(), w.index());
    assert_eq!(table.available(), 6);
    let (res, _) = run(&driver, Op::write_registered(&driver, &w, "by slot"));
    assert_eq!(res.unwrap(), 7);
    // Zero-filled buffers: valgrind cannot see the kernel fill one (CI runs this under it).
    let (res, buf) = run(
        &driver,
        Op::read_at_registered(&driver, &r, vec![0u8; 16], u64::MAX),
    );
    assert_eq!(res.unwrap(), 7);
    assert_eq!(&buf[..7], b"by slot");

    let (a, b) = UnixStream::pair().unwrap();
    let (a, b) = (
        table.register(a.into()).unwrap(),
        table.register(b.into()).unwrap(),
    );
    let (res, _) = run(
        &driver,
        Op::send_registered(&driver, &a, b"ping".to_vec(), 0),
    );
    assert_eq!(res.unwrap(), 4);
    let (res, buf) = run(&driver, Op::recv_registered(&driver, &b, vec![0u8; 8], 0));
    assert_eq!(res.unwrap(), 4);
    assert_eq!(&buf[..4], b"ping");
    drop((a, b));
    assert_eq!(table.available(), 6, "slots freed on drop");
}

#[test]
fn full_table_and_one_table_per_ring() {
    let _g = serial();
    let driver = Driver::new().unwrap();
    let table = FileTable::new(&driver, 1).unwrap();
    let (r, w) = pipe();
    let held = table.register(r).unwrap();
    let full = table.register(w).unwrap_err();
    assert!(full.to_string().contains("every slot is in use"), "{full}");
    drop(held);
    let (r2, _w2) = pipe();
    assert_eq!(
        table.register(r2).unwrap().index(),
        0,
        "the freed slot is reused"
    );
    let again = FileTable::new(&driver, 4).unwrap_err();
    assert_eq!(again.kind(), std::io::ErrorKind::ResourceBusy, "{again}");
}

#[test]
fn a_dropped_op_keeps_its_slot_registered_until_the_final_cqe() {
    let _g = serial();
    let fds = open_fds();
    {
        let driver = Driver::new().unwrap();
        let table = FileTable::new(&driver, 2).unwrap();
        let (r, w) = pipe();
        let r = table.register(r).unwrap();
        let mut op = Op::read_at_registered(&driver, &r, vec![0u8; 8], u64::MAX);
        assert!(poll_once(&mut op).is_pending());
        driver.submit().unwrap();
        drop(op);
        drop(r);
        assert_eq!(table.available(), 1, "the parked op still holds the slot");
        std::fs::File::from(w).write_all(b"late").unwrap();
        drain(&driver);
        assert_eq!(table.available(), 2, "released after the final CQE");
        assert_eq!(driver.slots(), 0);
    }
    assert_eq!(open_fds(), fds, "no fd leaked");
}
