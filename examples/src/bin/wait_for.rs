//! asyncio.wait_for(aw, timeout) → ringlet::time::timeout(duration, future)
use std::time::Duration;

use ringlet::time::{sleep, timeout};

fn main() -> std::io::Result<()> {
    ringlet::run(async {
        // On timeout the inner future is dropped (cancelled), like wait_for cancels its
        // awaitable, and the result is Err(Elapsed) instead of a TimeoutError.
        match timeout(Duration::from_millis(50), sleep(Duration::from_secs(10))).await {
            Ok(()) => println!("finished in time"),
            Err(elapsed) => println!("timed out: {elapsed}"),
        }
        let quick = timeout(Duration::from_secs(1), async { 42 }).await;
        println!("quick: {quick:?}");
    })
}
