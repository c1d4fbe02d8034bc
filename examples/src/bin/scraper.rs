//! Fetches many URLs concurrently, at most N at a time: the asyncio scraping pattern
//! (`async with semaphore: await fetch(url)`).
//!
//! ```text
//! scraper [--max-in-flight N] URL...
//! ```
//!
//! Prints one line per URL (`STATUS BYTES URL`, or `error URL: why`) in the order given,
//! then a summary; exits 1 if any fetch failed.

use std::process::ExitCode;
use std::rc::Rc;

use clap::Parser;
use ringlet_examples::cli::positive;

use ringlet::sync::Semaphore;
use ringlet::task::gather;
use ringlet_examples::http::{self, Url};

/// Fetches many URLs concurrently, at most N at a time.
#[derive(Parser, Debug)]
#[command(name = "scraper", version)]
struct Args {
    /// Fetches in flight at most.
    #[arg(long, value_name = "N", default_value_t = 8, value_parser = positive)]
    max_in_flight: usize,
    /// The URLs to fetch.
    #[arg(value_name = "URL", required = true)]
    urls: Vec<String>,
}

fn main() -> ExitCode {
    let Args {
        max_in_flight,
        urls,
    } = Args::parse();
    let results = match ringlet::run(scrape(urls.clone(), max_in_flight)) {
        Ok(results) => results,
        Err(e) => {
            eprintln!("scraper: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut failed = 0;
    for (url, result) in urls.iter().zip(results) {
        match result {
            Ok(response) => println!("{} {} {url}", response.status, response.body.len()),
            Err(e) => {
                failed += 1;
                println!("error {url}: {e}");
            }
        }
    }
    println!("fetched {} of {} URLs", urls.len() - failed, urls.len());
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// Fetches every URL, at most `max_in_flight` at once; results in the order given.
async fn scrape(urls: Vec<String>, max_in_flight: usize) -> Vec<std::io::Result<http::Response>> {
    let limit = Rc::new(Semaphore::new(max_in_flight));
    gather(urls.into_iter().map(|url| {
        let limit = limit.clone();
        async move {
            let url = Url::parse(&url)?;
            let _permit = limit.acquire().await.expect("never closed");
            http::get(&url).await
        }
    }))
    .await
}
