//! Fetches URLs with hyper on ringlet, at most N requests in flight (a `Semaphore`), each
//! in-flight slot on a keep-alive connection of its own.
//!
//! ```text
//! http-client [--concurrency N] [--repeat N] URL...
//! ```
//!
//! Every URL is fetched `--repeat` times (default 1). Prints `STATUS BYTES URL` per fetch
//! in the order given, then a summary with the request rate; exits 1 if any failed.

use std::process::ExitCode;
use std::rc::Rc;
use std::time::Instant;

use bytes::Bytes;
use clap::Parser;
use hyper::Method;
use ringlet::sync::Semaphore;
use ringlet::task::gather;
use ringlet_examples::cli::positive;
use ringlet_examples::http::Url;
use ringlet_examples::hyper_app::Client;

/// Fetches URLs with hyper on ringlet, at most N requests in flight.
#[derive(Parser, Debug)]
#[command(name = "http-client", version)]
struct Args {
    /// Requests in flight at most, each on a keep-alive connection of its own.
    #[arg(long, value_name = "N", default_value_t = 8, value_parser = positive)]
    concurrency: usize,
    /// How many times each URL is fetched.
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = positive)]
    repeat: usize,
    /// The URLs (`http://HOST[:PORT]/PATH`).
    #[arg(value_name = "URL", required = true, value_parser = url)]
    urls: Vec<Url>,
}

fn url(v: &str) -> Result<Url, String> {
    Url::parse(v).map_err(|e| e.to_string())
}

fn main() -> ExitCode {
    let Args {
        concurrency,
        repeat,
        urls,
    } = Args::parse();
    let jobs: Vec<Url> = urls.iter().flat_map(|u| vec![u.clone(); repeat]).collect();
    let started = Instant::now();
    let results = match ringlet::run(fetch_all(jobs.clone(), concurrency)) {
        Ok(results) => results,
        Err(e) => {
            eprintln!("http-client: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let elapsed = started.elapsed();
    let mut failed = 0;
    for (url, result) in jobs.iter().zip(&results) {
        let shown = format!("http://{}:{}{}", url.host, url.port, url.path);
        match result {
            Ok((status, len)) => println!("{} {len} {shown}", status.as_u16()),
            Err(e) => {
                failed += 1;
                println!("error {shown}: {e}");
            }
        }
    }
    eprintln!(
        "http-client: {} fetched, {failed} failed, in {:.3} s ({:.0} requests/s, at most \
         {concurrency} in flight)",
        results.len() - failed,
        elapsed.as_secs_f64(),
        results.len() as f64 / elapsed.as_secs_f64()
    );
    if failed > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// Fetches every URL, `concurrency` at a time. A permit's holder reuses the connection
/// the previous holder of a free connection left, so connections are kept alive.
async fn fetch_all(
    jobs: Vec<Url>,
    concurrency: usize,
) -> Vec<std::io::Result<(hyper::StatusCode, usize)>> {
    let permits = Rc::new(Semaphore::new(concurrency));
    let idle: Rc<std::cell::RefCell<Vec<(String, Client)>>> = Rc::default();
    let fetches = jobs.into_iter().map(|url| {
        let (permits, idle) = (permits.clone(), idle.clone());
        async move {
            let _permit = permits.acquire().await;
            let key = format!("{}:{}", url.host, url.port);
            let reused = {
                let mut idle = idle.borrow_mut();
                let i = idle.iter().position(|(k, _)| *k == key);
                i.map(|i| idle.swap_remove(i).1)
            };
            let mut client = match reused {
                Some(client) => client,
                None => Client::connect(url.resolve().await?, &url.host).await?,
            };
            let (status, body) = client.request(Method::GET, &url.path, Bytes::new()).await?;
            idle.borrow_mut().push((key, client));
            Ok((status, body.len()))
        }
    });
    gather(fetches).await
}
