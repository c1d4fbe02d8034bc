//! Fetches many URLs concurrently, at most N at a time, each with a deadline and retries:
//! the asyncio scraping pattern (`async with semaphore:` around `wait_for(fetch(url))`,
//! then `gather(..., return_exceptions=True)`).
//!
//! ```text
//! scraper [--max-in-flight N] [--timeout-ms MS] [--retries N] URL...
//! ```
//!
//! Prints one line per URL (`STATUS BYTES URL`, or `error URL: why`) in the order given,
//! then a summary; exits 1 if any fetch failed.

use std::io;
use std::process::ExitCode;
use std::rc::Rc;
use std::time::Duration;

use clap::Parser;
use ringlet::sync::Semaphore;
use ringlet::task::gather;
use ringlet::time::{sleep, timeout};
use ringlet_examples::cli::positive;
use ringlet_examples::http::{self, Response, Url};

/// Fetches many URLs concurrently, at most N at a time.
#[derive(Parser, Debug)]
#[command(name = "scraper", version)]
struct Args {
    /// Fetches in flight at most.
    #[arg(long, value_name = "N", default_value_t = 8, value_parser = positive)]
    max_in_flight: usize,
    /// Each attempt's deadline, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 5000, value_parser = positive)]
    timeout_ms: usize,
    /// Attempts after the first for a URL that timed out, failed to connect or answered
    /// 5xx.
    #[arg(long, value_name = "N", default_value_t = 2)]
    retries: u32,
    /// The URLs to fetch.
    #[arg(value_name = "URL", required = true)]
    urls: Vec<String>,
}

#[ringlet::main(workers = 1)]
async fn main() -> ExitCode {
    let args = Args::parse();
    let deadline = Duration::from_millis(args.timeout_ms as u64);
    let limit = Rc::new(Semaphore::new(args.max_in_flight));
    // gather: every URL at once (the semaphore lets N through), every result kept, in
    // the order given — asyncio's gather(..., return_exceptions=True).
    let results = gather(args.urls.iter().map(|url| {
        let limit = limit.clone();
        async move { fetch(url, &limit, deadline, args.retries).await }
    }))
    .await;
    let mut failed = 0;
    for (url, result) in args.urls.iter().zip(results) {
        match result {
            Ok(response) => println!("{} {} {url}", response.status, response.body.len()),
            Err(e) => {
                failed += 1;
                println!("error {url}: {e}");
            }
        }
    }
    println!(
        "fetched {} of {} URLs",
        args.urls.len() - failed,
        args.urls.len()
    );
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// Fetches one URL: each attempt holds a permit and has `deadline` to finish; a timeout,
/// a connection error or a 5xx answer is retried after a growing pause (without the
/// permit, so a waiting URL can use it meanwhile).
async fn fetch(
    url: &str,
    limit: &Semaphore,
    deadline: Duration,
    retries: u32,
) -> io::Result<Response> {
    let url = Url::parse(url)?; // a malformed URL is not worth retrying
    let mut attempt = 0;
    loop {
        let permit = limit
            .acquire()
            .await
            .expect("the semaphore is never closed");
        let error = match timeout(deadline, http::get(&url)).await {
            Ok(Ok(response)) if response.status < 500 => return Ok(response),
            Ok(Ok(response)) => io::Error::other(format!("status {}", response.status)),
            Ok(Err(e)) => e,
            Err(_) => io::Error::new(
                io::ErrorKind::TimedOut,
                format!("no answer within {deadline:?}"),
            ),
        };
        drop(permit);
        attempt += 1;
        if attempt > retries {
            return Err(io::Error::new(
                error.kind(),
                format!("{error} ({attempt} attempts)"),
            ));
        }
        sleep(Duration::from_millis(50 << attempt)).await;
    }
}
