//! task.cancel(), CancelledError and clean-up
use std::time::Duration;

use ringlet::JoinError;
use ringlet::time::sleep;

struct Connection(&'static str);

// Clean-up that asyncio code writes in `finally:` (or `except CancelledError:`) lives in
// Drop: it runs when the cancelled task's future is dropped at its await point.
impl Drop for Connection {
    fn drop(&mut self) {
        println!("clean-up: closed {}", self.0);
    }
}

async fn worker() -> &'static str {
    let _connection = Connection("database");
    sleep(Duration::from_secs(3600)).await; // cancelled here; the timer is cancelled too
    "finished"
}

fn main() -> std::io::Result<()> {
    ringlet::run(async {
        let task = ringlet::spawn(worker());
        sleep(Duration::from_millis(10)).await;
        task.cancel(); // task.cancel()
        match task.await {
            // await task → raises CancelledError
            Err(JoinError::Cancelled) => println!("the task was cancelled"),
            other => println!("unexpected: {other:?}"),
        }
    })
}
