//! Cancel-safe stream reads: a read dropped after the kernel received data for it (the
//! loser of a `select!`, a read under a `timeout` that fired) keeps that data for the
//! stream's next read; nothing is lost, reordered or read twice.
//!
//! The randomized test streams a seeded pattern from another thread in random pieces and
//! reads it with every read kind, dropping reads at random points; the bytes received must
//! be exactly the bytes sent. A failing seed is printed; rerun it alone with
//! `RINGLET_CANCEL_SEED=<seed> cargo test -p ringlet --test cancel_safe -- --nocapture`.

use std::future::Future;
use std::io::Write;
use std::pin::Pin;
use std::task::Poll;
use std::time::Duration;

use ringlet::net::{BufRing, OwnedReadHalf, TcpListener, TcpStream, UnixStream};
use ringlet::time::{sleep, timeout};

mod common;

use common::Rng;

/// Polls `fut` once.
async fn poll_once<F: Future + ?Sized>(fut: Pin<&mut F>) -> Poll<F::Output> {
    let mut fut = Some(fut);
    std::future::poll_fn(|cx| Poll::Ready(fut.take().unwrap().poll(cx))).await
}

/// A connected pair: a ringlet TCP stream and the std socket at the other end.
async fn tcp_pair() -> (TcpStream, std::net::TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let peer = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (stream, _) = listener.accept().await.unwrap();
    (stream, peer)
}

/// The race, made deterministic: the read is in the kernel, the peer writes, the
/// kernel completes the read, and only then is the read's future dropped (what `select!`
/// and `timeout` do to the loser). The next read returns the bytes.
#[test]
fn a_read_dropped_after_its_data_arrived_keeps_the_data() {
    ringlet::run(async {
        let (stream, mut peer) = tcp_pair().await;
        let mut read = Box::pin(stream.read(Vec::with_capacity(16)));
        assert!(poll_once(read.as_mut()).await.is_pending());
        peer.write_all(b"hello").unwrap();
        // The worker reaps the read's completion meanwhile; the read is not polled.
        sleep(Duration::from_millis(20)).await;
        drop(read);
        let (n, buf) = stream.read(Vec::with_capacity(16)).await;
        assert_eq!(n.unwrap(), 5);
        assert_eq!(buf, b"hello");
        // The stash is drained: the next bytes come from the socket, in order.
        peer.write_all(b" world").unwrap();
        let (n, buf) = stream.read(Vec::with_capacity(16)).await;
        assert_eq!(n.unwrap(), 6);
        assert_eq!(buf, b" world");
    })
    .unwrap();
}

/// The race as a user writes it: `select!` a read against a 5 ms sleep; the sleep wins;
/// the peer writes afterwards. The next read returns it.
#[test]
fn a_read_that_lost_a_select_to_a_sleep_loses_nothing() {
    ringlet::run(async {
        let (stream, mut peer) = tcp_pair().await;
        for round in 0..20u8 {
            ringlet::select! {
                _ = stream.read(Vec::with_capacity(64)) => panic!("nothing was sent yet"),
                _ = sleep(Duration::from_millis(5)) => {}
            }
            peer.write_all(&[round; 3]).unwrap();
            let (n, buf) = stream.read(Vec::with_capacity(64)).await;
            assert_eq!(n.unwrap(), 3);
            assert_eq!(buf, [round; 3]);
        }
    })
    .unwrap();
}

/// A smaller buffer than the dropped read received: the rest stays for the read after.
#[test]
fn kept_data_is_handed_out_across_several_reads() {
    ringlet::run(async {
        let (stream, mut peer) = tcp_pair().await;
        let mut read = Box::pin(stream.read(Vec::with_capacity(64)));
        assert!(poll_once(read.as_mut()).await.is_pending());
        peer.write_all(b"0123456789").unwrap();
        sleep(Duration::from_millis(20)).await;
        drop(read);
        let mut got = Vec::new();
        while got.len() < 10 {
            let (n, buf) = stream.read(Vec::with_capacity(3)).await;
            assert!(n.unwrap() <= 3);
            got.extend_from_slice(&buf);
        }
        assert_eq!(got, b"0123456789");
    })
    .unwrap();
}

/// A read dropped before anything arrived: the next read waits for it and gets what it
/// receives, then reads the socket again.
#[test]
fn the_next_read_waits_for_a_dropped_read_still_in_the_kernel() {
    ringlet::run(async {
        let (stream, mut peer) = tcp_pair().await;
        let read = timeout(Duration::from_millis(5), stream.read(Vec::with_capacity(8))).await;
        assert!(read.is_err(), "nothing was sent");
        let writer = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            peer.write_all(b"late").unwrap();
            peer
        });
        let (n, buf) = stream.read(Vec::with_capacity(8)).await;
        assert_eq!(n.unwrap(), 4);
        assert_eq!(buf, b"late");
        drop(writer.join().unwrap());
        // EOF, kept like data.
        let (n, _) = stream.read(Vec::with_capacity(8)).await;
        assert_eq!(n.unwrap(), 0);
    })
    .unwrap();
}

/// `read_exact` dropped halfway: the bytes it had are the next read's, first.
#[test]
fn a_dropped_read_exact_keeps_what_it_had_read() {
    ringlet::run(async {
        let (stream, mut peer) = tcp_pair().await;
        peer.write_all(b"abc").unwrap();
        let read = timeout(Duration::from_millis(20), stream.read_exact(vec![0u8; 8])).await;
        assert!(read.is_err(), "only 3 of 8 bytes were sent");
        peer.write_all(b"defgh").unwrap();
        let (done, buf) = stream.read_exact(vec![0u8; 8]).await;
        done.unwrap();
        assert_eq!(buf, b"abcdefgh");
    })
    .unwrap();
}

/// A receive stream dropped with buffers received and not handed out, and its multishot
/// still armed: the stream's next read returns them, then the rest.
#[test]
fn a_dropped_receive_stream_keeps_its_buffers_for_the_next_read() {
    ringlet::run(async {
        let pool = BufRing::new(8, 4).unwrap();
        let (stream, mut peer) = tcp_pair().await;
        let mut rx = stream.recv_stream(&pool);
        peer.write_all(b"0123456789ab").unwrap();
        let first = rx.next().await.unwrap().unwrap();
        assert_eq!(&first[..], b"0123");
        drop(first);
        sleep(Duration::from_millis(20)).await;
        drop(rx);
        peer.write_all(b"cdef").unwrap();
        let (done, buf) = stream.read_exact(vec![0u8; 12]).await;
        done.unwrap();
        assert_eq!(buf, b"456789abcdef");
        // And a new receive stream starts after a dropped plain read.
        let mut read = Box::pin(stream.read(Vec::with_capacity(16)));
        assert!(poll_once(read.as_mut()).await.is_pending());
        peer.write_all(b"xyz").unwrap();
        sleep(Duration::from_millis(20)).await;
        drop(read);
        let mut rx = stream.recv_stream(&pool);
        let kept = rx.next().await.unwrap().unwrap();
        assert_eq!(&kept[..], b"xyz");
        assert!(!kept.is_pooled());
        drop(peer);
        assert!(rx.next().await.is_none());
        // Every pool buffer is back.
        drop(kept);
        assert_eq!(pool.available(), 8);
    })
    .unwrap();
}

/// Where a read writes: `read` from the buffer's start, `read_buf` after its initialized
/// bytes; no room is an error, not an EOF.
#[test]
fn reads_write_where_documented_and_refuse_a_buffer_without_room() {
    ringlet::run(async {
        let (a, b) = UnixStream::pair().unwrap();
        a.write_all(b"abc".to_vec()).await.0.unwrap();
        let (n, buf) = b.read(b"0123456789".to_vec()).await;
        assert_eq!(n.unwrap(), 3);
        assert_eq!(buf, b"abc3456789");

        let (n, buf) = b.read(Vec::new()).await;
        assert_eq!(n.unwrap_err().kind(), std::io::ErrorKind::InvalidInput);
        assert!(buf.is_empty());

        a.write_all(b"def".to_vec()).await.0.unwrap();
        let mut buf = Vec::with_capacity(8);
        buf.extend_from_slice(b"abc");
        let (n, buf) = b.read_buf(buf).await;
        assert_eq!(n.unwrap(), 3);
        assert_eq!(buf, b"abcdef");

        let full = vec![1u8; 4];
        let (n, _) = b.read_buf(full).await;
        assert_eq!(n.unwrap_err().kind(), std::io::ErrorKind::InvalidInput);

        // An empty read_exact has nothing to do.
        let (done, _) = b.read_exact(Vec::new()).await;
        done.unwrap();

        // A file read likewise refuses a buffer with no room.
        let path = std::env::temp_dir().join(format!("ringlet-no-room-{}", std::process::id()));
        std::fs::write(&path, b"data").unwrap();
        let file = ringlet::fs::File::open(&path).await.unwrap();
        let (n, _) = file.read_at(Vec::new(), 0).await;
        assert_eq!(n.unwrap_err().kind(), std::io::ErrorKind::InvalidInput);
        let (n, buf) = file.read_at(Vec::with_capacity(8), 0).await;
        assert_eq!(n.unwrap(), 4);
        assert_eq!(buf, b"data");
        std::fs::remove_file(&path).unwrap();
    })
    .unwrap();
}

/// The reading end, by kind.
enum Reader {
    Tcp(TcpStream),
    Half(OwnedReadHalf),
    Unix(UnixStream),
}

/// One read step's outcome: bytes (empty at EOF).
type Step = std::io::Result<Vec<u8>>;

impl Reader {
    async fn read(&self, cap: usize) -> Step {
        let buf = Vec::with_capacity(cap);
        let (n, buf) = match self {
            Reader::Tcp(s) => s.read(buf).await,
            Reader::Half(s) => s.read(buf).await,
            Reader::Unix(s) => s.read(buf).await,
        };
        n.map(|n| buf[..n].to_vec())
    }

    async fn read_buf(&self, cap: usize) -> Step {
        let mut buf = Vec::with_capacity(cap + 3);
        buf.extend_from_slice(b"pre");
        let (n, buf) = match self {
            Reader::Tcp(s) => s.read_buf(buf).await,
            Reader::Half(s) => s.read_buf(buf).await,
            Reader::Unix(s) => s.read_buf(buf).await,
        };
        let n = n?;
        assert_eq!(
            &buf[..3],
            b"pre",
            "read_buf wrote over the initialized bytes"
        );
        Ok(buf[3..3 + n].to_vec())
    }

    async fn read_exact(&self, len: usize) -> Step {
        let buf = vec![0u8; len];
        let (done, buf) = match self {
            Reader::Tcp(s) => s.read_exact(buf).await,
            Reader::Half(s) => s.read_exact(buf).await,
            Reader::Unix(s) => s.read_exact(buf).await,
        };
        done.map(|()| buf)
    }

    async fn readv(&self, caps: [usize; 3]) -> Step {
        let bufs: Vec<Vec<u8>> = caps.iter().map(|&c| Vec::with_capacity(c)).collect();
        let (n, bufs) = match self {
            Reader::Tcp(s) => s.readv(bufs).await,
            Reader::Half(s) => s.readv(bufs).await,
            Reader::Unix(_) => return self.read(caps.iter().sum()).await,
        };
        let n = n?;
        let data: Vec<u8> = bufs.concat();
        assert_eq!(data.len(), n);
        Ok(data)
    }

    /// Up to `items` buffers through a receive stream, which is dropped after.
    async fn pooled(
        &self,
        pool: &BufRing,
        items: usize,
        got: &mut Vec<u8>,
    ) -> std::io::Result<bool> {
        let mut rx = match self {
            Reader::Tcp(s) => s.recv_stream(pool),
            Reader::Half(s) => s.recv_stream(pool),
            Reader::Unix(s) => s.recv_stream(pool),
        };
        for _ in 0..items {
            match rx.next().await {
                Some(buf) => got.extend_from_slice(&buf?),
                None => return Ok(false),
            }
        }
        Ok(true)
    }
}

/// Reads `reader` to EOF with random read kinds, dropping reads at random points; returns
/// every byte read.
async fn read_all_with_drops(
    reader: &Reader,
    pool: &BufRing,
    rng: &mut Rng,
    total: usize,
    pooled: bool,
) -> Vec<u8> {
    let mut got = Vec::new();
    loop {
        let left = total.saturating_sub(got.len());
        let kind = if pooled { rng.index(7) } else { rng.index(5) };
        // How the step may be dropped: not at all, after a random short time, or after a
        // random number of polls.
        let deadline = match rng.index(3) {
            0 => None,
            1 => Some(Duration::from_micros(rng.below(400))),
            _ => Some(Duration::ZERO),
        };
        // What a receive stream handed out, kept even if the step is dropped.
        let mut pooled_got = Vec::new();
        // `Some(bytes)`, or `None` at EOF.
        let step = async {
            let bytes = match kind {
                0 | 1 => reader.read(1 + rng_size(kind, left)).await?,
                2 => reader.read_buf(1 + rng_size(kind, left)).await?,
                3 if left > 0 => reader.read_exact(1 + (left.min(700) / 2)).await?,
                3 => reader.read(64).await?,
                4 => {
                    reader
                        .readv([1 + left % 97, 1 + left % 13, 1 + left % 1500])
                        .await?
                }
                _ => {
                    let more = reader.pooled(pool, 1 + left % 4, &mut pooled_got).await?;
                    return Ok::<_, std::io::Error>(more.then(Vec::new));
                }
            };
            Ok((!bytes.is_empty()).then_some(bytes))
        };
        let outcome = match deadline {
            None => Some(step.await),
            Some(limit) => timeout(limit, step).await.ok(),
        };
        got.extend_from_slice(&pooled_got);
        match outcome {
            Some(Ok(None)) => {
                assert_eq!(got.len(), total, "EOF before the end of the pattern");
                // Confirm EOF with a plain read.
                let last = reader.read(16).await.unwrap();
                assert!(last.is_empty(), "bytes after EOF");
                return got;
            }
            Some(Ok(Some(bytes))) => got.extend_from_slice(&bytes),
            Some(Err(e)) => panic!("read failed: {e}"),
            None => {}
        }
    }
}

/// A read size from 0 up to a few KiB, sometimes tiny.
fn rng_size(kind: usize, left: usize) -> usize {
    match kind {
        0 => left % 4096,
        _ => left % 7,
    }
}

fn run_seed(seed: u64, socket: usize, pooled: bool) {
    let mut rng = Rng::new(seed);
    let total = 64 * 1024 + rng.index(96 * 1024);
    let pattern: Vec<u8> = (0..total).map(|_| rng.next() as u8).collect();
    let writer_seed = rng.next();
    ringlet::run(async move {
        let pool = BufRing::new(16, 512).unwrap();
        let mut keep_open = None;
        let (reader, mut peer): (Reader, Box<dyn Write + Send>) = match socket {
            0 | 1 => {
                let (stream, peer) = tcp_pair().await;
                let reader = if socket == 0 {
                    Reader::Tcp(stream)
                } else {
                    let (read, write) = stream.into_split();
                    keep_open = Some(write); // the write side stays open
                    Reader::Half(read)
                };
                (reader, Box::new(peer))
            }
            _ => {
                let (a, b) = std::os::unix::net::UnixStream::pair().unwrap();
                (Reader::Unix(UnixStream::from(a)), Box::new(b))
            }
        };
        let sent = pattern.clone();
        let writer = std::thread::spawn(move || {
            let mut rng = Rng::new(writer_seed);
            let mut at = 0;
            while at < sent.len() {
                let n = (1 + rng.index(6000)).min(sent.len() - at);
                peer.write_all(&sent[at..at + n]).unwrap();
                at += n;
                if rng.below(3) == 0 {
                    std::thread::sleep(Duration::from_micros(rng.below(300)));
                }
            }
        });
        let got = read_all_with_drops(&reader, &pool, &mut rng, total, pooled).await;
        writer.join().unwrap();
        assert_eq!(got.len(), pattern.len(), "seed {seed}: byte count");
        if let Some(at) = got.iter().zip(&pattern).position(|(a, b)| a != b) {
            panic!("seed {seed}: first wrong byte at {at} of {total}");
        }
        drop(reader);
        drop(keep_open);
        assert_eq!(pool.available(), 16, "seed {seed}: every pool buffer back");
    })
    .unwrap();
}

fn seeds() -> Vec<u64> {
    match std::env::var("RINGLET_CANCEL_SEED") {
        Ok(seed) => vec![seed.parse().expect("RINGLET_CANCEL_SEED is a number")],
        Err(_) => (1..=16).collect(),
    }
}

/// Owned-buffer reads only (read, read_buf, read_exact, readv), dropped at random.
#[test]
fn randomized_drops_of_owned_buffer_reads_lose_nothing() {
    for seed in seeds() {
        for socket in 0..3 {
            eprintln!("seed {seed} socket {socket} owned");
            run_seed(seed, socket, false);
        }
    }
}

/// The same with receive streams through a buffer ring among the reads.
#[test]
fn randomized_drops_with_buffer_ring_reads_lose_nothing() {
    for seed in seeds() {
        for socket in 0..3 {
            eprintln!("seed {seed} socket {socket} pooled");
            run_seed(seed, socket, true);
        }
    }
}

/// `BufReader::read_line` dropped with half a line buffered: the next call returns the
/// whole line.
#[test]
fn a_dropped_read_line_keeps_the_partial_line() {
    ringlet::run(async {
        let (a, b) = UnixStream::pair().unwrap();
        let mut reader = ringlet::io::BufReader::new(b);
        a.write_all(b"hel".to_vec()).await.0.unwrap();
        let mut line = String::new();
        let read = timeout(Duration::from_millis(20), reader.read_line(&mut line)).await;
        assert!(read.is_err(), "no line end was sent");
        assert!(
            line.is_empty(),
            "nothing is appended before the line is whole"
        );
        a.write_all(b"lo\nnext\n".to_vec()).await.0.unwrap();
        assert_eq!(reader.read_line(&mut line).await.unwrap(), 6);
        assert_eq!(line, "hello\n");
    })
    .unwrap();
}

/// A `Compat` unwrapped with received bytes not yet read: the stream's next read returns
/// them; and a `Compat` made after a dropped read reads the kept bytes first.
#[cfg(feature = "compat")]
#[test]
fn compat_hands_kept_bytes_on_in_both_directions() {
    use tokio::io::AsyncReadExt;
    ringlet::run(async {
        let (stream, mut peer) = tcp_pair().await;
        let mut read = Box::pin(stream.read(Vec::with_capacity(16)));
        assert!(poll_once(read.as_mut()).await.is_pending());
        peer.write_all(b"kept").unwrap();
        sleep(Duration::from_millis(20)).await;
        drop(read);
        let mut io = ringlet::compat::Compat::new(stream);
        let mut four = [0u8; 4];
        io.read_exact(&mut four).await.unwrap();
        assert_eq!(&four, b"kept");

        peer.write_all(b"0123456789").unwrap();
        let mut two = [0u8; 2];
        io.read_exact(&mut two).await.unwrap();
        assert_eq!(&two, b"01");
        let stream = io.into_inner();
        let (done, rest) = stream.read_exact(vec![0u8; 8]).await;
        done.unwrap();
        assert_eq!(rest, b"23456789");
    })
    .unwrap();
}
