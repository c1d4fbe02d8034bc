//! asyncio.create_task and asyncio.gather(..., return_exceptions=True)
use std::time::{Duration, Instant};

use ringlet::task::gather;
use ringlet::time::sleep;

async fn fetch(id: u64) -> Result<u64, String> {
    sleep(Duration::from_millis(100 * id)).await;
    if id == 2 {
        Err(format!("fetch {id} failed")) // `raise` → return an Err
    } else {
        Ok(id * 10)
    }
}

fn main() -> std::io::Result<()> {
    ringlet::run(async {
        let started = Instant::now();
        // asyncio.create_task(coro): starts running now, concurrently.
        let task = ringlet::spawn(fetch(1));
        // asyncio.gather(*aws, return_exceptions=True): every result, errors included,
        // in the order given, while all run concurrently.
        let results = gather([fetch(3), fetch(2)]).await;
        println!("gather: {results:?}");
        // await task
        println!(
            "task: {:?}",
            task.await.expect("the task ran to completion")
        );
        // 300 ms in all, not 100 + 300 + 200: they overlapped.
        println!(
            "overlapped: {}",
            started.elapsed() < Duration::from_millis(550)
        );
    })
}
