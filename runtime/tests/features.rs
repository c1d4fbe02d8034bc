//! `ringlet::features()`: the kernel's offer as ringlet sees it, and fallbacks in force.

use ringlet::{Builder, KernelFeature};

#[test]
fn outside_a_runtime_it_probes_a_default_ring() {
    let features = ringlet::features().unwrap();
    // Every opcode ringlet submits is listed, and the basics are there on any kernel
    // ringlet runs on.
    assert_eq!(
        features
            .iter()
            .filter(|f| f.name.starts_with("IORING_OP_"))
            .count(),
        uring_driver::OPCODES.len()
    );
    for basic in ["IORING_OP_READ", "IORING_OP_SEND", "IORING_FEAT_EXT_ARG"] {
        assert!(features.in_use(basic), "{basic}:\n{features}");
    }
    assert!(!features.in_use("IORING_SETUP_SQPOLL"), "SQPOLL is opt-in");
    assert!(!features.kernel_release().is_empty());
    let report = features.to_string();
    assert!(report.starts_with("io_uring on Linux "), "{report}");
    assert!(report.contains("IORING_SETUP_SQPOLL") && report.contains("Builder::sqpoll"));
}

#[test]
fn on_a_worker_it_reports_the_fallbacks_its_runtime_was_built_with() {
    let rt = Builder::default()
        .workers(1)
        .without(KernelFeature::MsgRing)
        .without(KernelFeature::NoSqArray)
        .without(KernelFeature::RecvBundle)
        .build()
        .unwrap();
    let features = rt.block_on(async { ringlet::features().unwrap() });
    for off in [
        "IORING_OP_MSG_RING",
        "IORING_SETUP_NO_SQARRAY",
        "IORING_RECVSEND_BUNDLE",
    ] {
        assert!(!features.in_use(off), "{off}:\n{features}");
    }
    let msg_ring = features.get("IORING_OP_MSG_RING").unwrap();
    assert!(msg_ring.otherwise.contains("eventfd"), "{msg_ring:?}");
    assert!(features.to_string().contains("IORING_OP_MSG_RING"));
    assert!(features.get("IORING_OP_NO_SUCH_THING").is_none());
}
