//! Per-worker counters: known work gives exact counts.

use std::time::Duration;

use ringlet::Runtime;
use ringlet::net::{BufRing, TcpListener, TcpStream};
use ringlet::time::sleep;

#[test]
fn known_work_gives_exact_task_and_poll_counts() {
    let rt = Runtime::builder().workers(1).build().unwrap();
    let before = rt.metrics();
    rt.block_on(async {
        let tasks: Vec<_> = (0..10)
            .map(|_| {
                ringlet::spawn(async {
                    for _ in 0..3 {
                        ringlet::yield_now().await;
                    }
                })
            })
            .collect();
        // Cancelled before its first poll: dropped without being polled.
        let cancelled = ringlet::spawn(async {});
        cancelled.cancel();
        let panics = ringlet::spawn(async { panic!("counted") });
        for task in tasks {
            task.await.unwrap();
        }
        assert!(cancelled.await.unwrap_err().is_cancelled());
        assert!(panics.await.unwrap_err().is_panic());
    });
    let delta = rt.metrics().since(&before);
    let w = &delta.workers[0];
    assert_eq!(w.tasks_spawned, 12, "{w:?}");
    assert_eq!(w.tasks_completed, 10, "{w:?}");
    assert_eq!(w.tasks_cancelled, 1, "{w:?}");
    assert_eq!(w.tasks_panicked, 1, "{w:?}");
    assert_eq!(w.tasks_alive, 0, "{w:?}");
    // Each yielding task: 4 polls; the panicking one: 1; the cancelled one: none.
    assert_eq!(w.polls, 41, "{w:?}");
}

#[test]
fn parking_remote_work_and_gauges_are_counted_per_worker() {
    let rt = Runtime::builder().workers(2).build().unwrap();
    let before = rt.metrics();
    assert_eq!(before.workers.len(), 2);
    rt.block_on(async {
        sleep(Duration::from_millis(30)).await;
        // Worker 1 has been asleep all along, and still is: its sleep in progress counts.
        let idle = ringlet::metrics::snapshot().unwrap().workers[1].clone();
        assert!(idle.parked >= Duration::from_millis(25), "{idle:?}");
        assert!(idle.busy_ratio() < 0.5, "{idle:?}");
        let on_one = ringlet::spawn_on(1, || async {
            let me = ringlet::metrics::this_worker().unwrap();
            assert_eq!(me.worker, 1);
            me.tasks_alive
        });
        assert!(on_one.await.unwrap() >= 1, "the task itself is alive");

        // A pending sleep shows once the worker has been into the kernel.
        let sleeper = ringlet::spawn(sleep(Duration::from_secs(10)));
        sleep(Duration::from_millis(5)).await;
        let now = ringlet::metrics::snapshot().unwrap();
        assert!(now.workers[0].timers_pending >= 1, "{now:?}");
        sleeper.cancel();
    });
    // Busy on the CPU for 50 ms: the thread's CPU time grows, worker 1's does not much.
    let busy = rt.metrics();
    let start = std::time::Instant::now();
    while start.elapsed() < Duration::from_millis(50) {
        std::hint::spin_loop();
    }
    let spun = rt.metrics().since(&busy);
    assert!(spun.workers[0].cpu >= Duration::from_millis(5), "{spun:?}");
    assert!(
        spun.workers[0].cpu_ratio() > spun.workers[1].cpu_ratio(),
        "{spun:?}"
    );
    let delta = rt.metrics().since(&before);
    let (zero, one) = (&delta.workers[0], &delta.workers[1]);
    assert!(zero.parks >= 1, "{zero:?}");
    assert!(zero.parked >= Duration::from_millis(20), "{zero:?}");
    assert!(zero.busy_ratio() < 1.0);
    assert_eq!(one.tasks_spawned, 1, "{one:?}");
    assert_eq!(one.tasks_completed, 1, "{one:?}");
    assert!(one.remote_wakes >= 1, "the job woke worker 1: {one:?}");
    assert_eq!(one.remote_jobs, 1, "spawn_on sends one job: {one:?}");
    assert_eq!(delta.total(|w| w.tasks_spawned), 2);
    assert!(ringlet::metrics::snapshot().is_none(), "outside a runtime");
}

#[test]
fn ops_are_counted_by_kind_on_the_worker_that_ran_them() {
    let rt = Runtime::builder().workers(1).build().unwrap();
    rt.block_on(async {
        let (client, server) = connected_pair().await;
        let before = ringlet::metrics::this_worker().unwrap();
        for i in 0..8u8 {
            let (res, _) = client.write_all(vec![i; 16]).await;
            res.unwrap();
            let (res, buf) = server.read_exact(vec![0u8; 16]).await;
            res.unwrap();
            assert_eq!(buf, vec![i; 16]);
        }
        let d = ringlet::metrics::this_worker().unwrap().since(&before);
        let (send, recv) = (d.io.op_named("SEND"), d.io.op_named("RECV"));
        assert_eq!((send.submitted, send.completed), (8, 8), "{:?}", d.io);
        assert_eq!((recv.submitted, recv.completed), (8, 8), "{:?}", d.io);
        assert_eq!(d.io.in_flight(), 0, "{:?}", d.io);
        assert!(d.io.enters() >= 1 && d.io.cqes >= 16, "{:?}", d.io);
        assert_eq!((d.io.sq_full, d.io.cq_overflow, d.io.enobufs), (0, 0, 0));
    });
    // The runtime's own view sums the workers.
    let io = rt.metrics().io();
    assert!(io.op_named("SEND").submitted >= 8, "{io:?}");
}

#[test]
fn an_exhausted_buffer_pool_counts_enobufs_and_rearms() {
    let rt = Runtime::builder().workers(1).build().unwrap();
    rt.block_on(async {
        let (client, server) = connected_pair().await;
        let payload: Vec<u8> = (0..4096u32).map(|i| i as u8).collect();
        let (res, _) = client.write_all(payload.clone()).await;
        res.unwrap();
        // Let it all arrive, so a 2-buffer pool of 16 bytes runs dry at once.
        sleep(Duration::from_millis(20)).await;
        let before = ringlet::metrics::this_worker().unwrap();
        let pool = BufRing::new(2, 16).unwrap();
        let mut stream = server.recv_stream(&pool);
        let mut got = Vec::new();
        while got.len() < payload.len() {
            let buf = stream.next().await.unwrap().unwrap();
            got.extend_from_slice(&buf);
        }
        assert_eq!(got, payload);
        let d = ringlet::metrics::this_worker().unwrap().since(&before);
        assert!(d.io.enobufs >= 1, "the pool ran dry: {:?}", d.io);
        assert!(
            d.multishot_rearms >= d.io.enobufs,
            "each dry pool is followed by a re-arm: {d:?}"
        );
        let recv = d.io.op_named("RECV");
        assert_eq!(recv.submitted, d.multishot_rearms + 1, "{d:?}");
    });
}

/// Both ends of a loopback TCP connection.
async fn connected_pair() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let (client, accepted) = ringlet::join!(TcpStream::connect(addr), listener.accept());
    (client.unwrap(), accepted.unwrap().0)
}
