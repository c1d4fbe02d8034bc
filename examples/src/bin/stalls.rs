//! One task blocks its worker; the stall detector names it (docs/diagnosing.md).
//! `stalls --fixed` moves the blocking call to a thread of the blocking pool.

use std::time::{Duration, Instant};

fn main() -> std::io::Result<()> {
    let fixed = std::env::args().any(|a| a == "--fixed");
    let runtime = ringlet::Runtime::builder()
        .workers(1)
        .detect_stalls(Duration::from_millis(10))
        .build()?;
    runtime.block_on(async {
        // Should wake every millisecond; it shares the worker with the report.
        let ticker = ringlet::spawn(async {
            let mut worst = Duration::ZERO;
            for _ in 0..100 {
                let start = Instant::now();
                ringlet::time::sleep(Duration::from_millis(1)).await;
                worst = worst.max(start.elapsed());
            }
            worst
        });
        let report = ringlet::task::Builder::new().name("report");
        let report = report.spawn(async move {
            ringlet::time::sleep(Duration::from_millis(20)).await;
            let render = || std::thread::sleep(Duration::from_millis(50)); // std I/O, a lock...
            match fixed {
                false => render(),
                true => ringlet::task::spawn_blocking(render).await.unwrap(),
            }
        });
        report.await.unwrap();
        let worst = ticker.await.unwrap();
        println!("worst 1 ms tick: {} ms", worst.as_millis());
    });
    Ok(())
}
