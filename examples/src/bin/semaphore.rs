//! asyncio.Semaphore → ringlet::sync::Semaphore, capping work in flight
use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use ringlet::sync::Semaphore;
use ringlet::task::gather;
use ringlet::time::sleep;

fn main() -> std::io::Result<()> {
    ringlet::run(async {
        let limit = Rc::new(Semaphore::new(3)); // at most 3 downloads at a time
        let in_flight = Rc::new(Cell::new(0));
        let peak = Rc::new(Cell::new(0));
        let downloads = (0..10).map(|i| {
            let (limit, in_flight, peak) = (limit.clone(), in_flight.clone(), peak.clone());
            async move {
                // async with sem:
                let _permit = limit.acquire().await.expect("never closed");
                in_flight.set(in_flight.get() + 1);
                peak.set(peak.get().max(in_flight.get()));
                sleep(Duration::from_millis(5)).await; // the "download"
                in_flight.set(in_flight.get() - 1);
                i
            } // the permit is released here, even if the task is cancelled
        });
        let done = gather(downloads).await;
        println!(
            "downloaded {} files, at most {} at once",
            done.len(),
            peak.get()
        );
    })
}
