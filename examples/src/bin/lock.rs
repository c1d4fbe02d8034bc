//! asyncio.Lock → ringlet::sync::Mutex
use std::rc::Rc;
use std::time::Duration;

use ringlet::sync::Mutex;
use ringlet::time::sleep;

fn main() -> std::io::Result<()> {
    ringlet::run(async {
        // The Mutex owns the data it guards; tasks share it with Rc (one worker, no Send).
        let balance = Rc::new(Mutex::new(100));
        let withdrawals: Vec<_> = (0..5)
            .map(|_| {
                let balance = balance.clone();
                ringlet::spawn(async move {
                    // async with lock: — held across the await below
                    let mut money = balance.lock().await;
                    let current = *money;
                    sleep(Duration::from_millis(1)).await; // others wait, no lost update
                    *money = current - 10;
                })
            })
            .collect();
        for w in withdrawals {
            w.await.expect("withdrawal finished");
        }
        println!("balance: {}", *balance.lock().await);
    })
}
