//! asyncio.run(main()) → ringlet::run(main())
use std::time::Duration;

// `async def greet(...)` → `async fn greet(...)`: calling it makes a future (a coroutine
// object); nothing runs until it is awaited or spawned.
async fn greet(name: &str, delay_ms: u64) -> String {
    ringlet::time::sleep(Duration::from_millis(delay_ms)).await; // await asyncio.sleep(...)
    format!("hello, {name}")
}

fn main() -> std::io::Result<()> {
    // asyncio.run(coro): start the event loop, run the coroutine, return its result.
    let greeting = ringlet::run(greet("ringlet", 10))?;
    println!("{greeting}");
    Ok(())
}
