//! BufReader: lines and delimited records out of a stream, however the bytes arrive.

use std::time::Duration;

use ringlet::io::BufReader;
use ringlet::net::UnixStream;

/// Writes `chunks` one by one with a pause, so the reader sees them arrive in pieces.
fn trickle(writer: UnixStream, chunks: Vec<Vec<u8>>) -> ringlet::JoinHandle<()> {
    ringlet::spawn(async move {
        for chunk in chunks {
            if writer.write_all(chunk).await.0.is_err() {
                return; // the reader is gone
            }
            ringlet::time::sleep(Duration::from_millis(1)).await;
        }
    })
}

#[ringlet::test]
async fn lines_come_whole_whatever_the_pieces_and_the_capacity() {
    let text = "alpha\r\nbeta\n\nγάμμα\nlast without end";
    for capacity in [1, 3, 7, 8192] {
        let (a, b) = UnixStream::pair().unwrap();
        let chunks: Vec<Vec<u8>> = text.as_bytes().chunks(2).map(<[u8]>::to_vec).collect();
        let writer = trickle(a, chunks);
        let mut lines = BufReader::with_capacity(capacity, b).lines();
        let mut got = Vec::new();
        while let Some(line) = lines.next_line().await.unwrap() {
            got.push(line);
        }
        assert_eq!(
            got,
            ["alpha", "beta", "", "γάμμα", "last without end"],
            "capacity {capacity}"
        );
        assert_eq!(lines.next_line().await.unwrap(), None, "stays at EOF");
        writer.await.unwrap();
    }
}

#[ringlet::test]
async fn read_until_read_line_fill_buf_and_into_parts() {
    let (a, b) = UnixStream::pair().unwrap();
    a.write_all(b"key=value;next=1;rest".to_vec())
        .await
        .0
        .unwrap();
    drop(a);
    let mut reader = BufReader::with_capacity(4, b);
    let mut record = Vec::new();
    assert_eq!(reader.read_until(b';', &mut record).await.unwrap(), 10);
    assert_eq!(record, b"key=value;");
    assert_eq!(reader.fill_buf().await.unwrap()[0], b'n');
    reader.consume(1);
    let mut line = String::from("> ");
    assert_eq!(reader.read_line(&mut line).await.unwrap(), 10);
    assert_eq!(line, "> ext=1;rest");
    assert_eq!(reader.read_line(&mut line).await.unwrap(), 0, "EOF");

    let (a, b) = UnixStream::pair().unwrap();
    a.write_all(b"one\ntwo and more".to_vec()).await.0.unwrap();
    let mut reader = BufReader::new(b);
    let mut first = String::new();
    reader.read_line(&mut first).await.unwrap();
    assert_eq!(first, "one\n");
    let (_stream, rest) = reader.into_parts();
    assert_eq!(rest, b"two and more", "the buffered bytes come back");
    drop(a);
}

#[ringlet::test]
async fn bad_lines_are_errors_that_say_why() {
    let (a, b) = UnixStream::pair().unwrap();
    a.write_all(b"ok\n\xff\xfe\nshort\nthis one is far too long\nfine\n".to_vec())
        .await
        .0
        .unwrap();
    drop(a);
    let mut lines = BufReader::new(b).lines().max_length(10);
    assert_eq!(lines.next_line().await.unwrap().as_deref(), Some("ok"));
    let err = lines.next_line().await.unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidData);
    assert!(err.to_string().contains("UTF-8"), "{err}");
    assert_eq!(lines.next_line().await.unwrap().as_deref(), Some("short"));
    let err = lines.next_line().await.unwrap_err();
    assert!(err.to_string().contains("longer than 10 bytes"), "{err}");
    assert_eq!(
        lines.next_line().await.unwrap().as_deref(),
        Some("fine"),
        "the long line was skipped"
    );

    // A peer that never ends its line cannot make the reader buffer without bound.
    let (a, b) = UnixStream::pair().unwrap();
    let writer = trickle(a, vec![vec![b'x'; 4096]; 8]);
    let mut lines = BufReader::with_capacity(1024, b).lines().max_length(5000);
    let err = lines.next_line().await.unwrap_err();
    assert!(err.to_string().contains("longer than 5000 bytes"), "{err}");
    assert!(lines.into_inner().buffer().len() <= 5000 + 1024);
    drop(writer);
}

/// Frames of both codecs arrive whole however the bytes are cut; bad frames end the
/// stream with an error.
#[ringlet::test]
async fn framed_reads_lines_and_length_delimited_frames() {
    use ringlet::io::{FramedRead, LengthDelimitedCodec, LinesCodec};
    let mut bytes = Vec::new();
    let frames: Vec<Vec<u8>> = (0..300u32)
        .map(|i| vec![(i % 251) as u8; (i % 37) as usize])
        .collect();
    for frame in &frames {
        bytes.extend_from_slice(&(frame.len() as u32).to_be_bytes());
        bytes.extend_from_slice(frame);
    }
    let (a, b) = UnixStream::pair().unwrap();
    let writer = trickle(a, bytes.chunks(13).map(<[u8]>::to_vec).collect());
    let mut framed =
        FramedRead::with_reader(BufReader::with_capacity(16, b), LengthDelimitedCodec::new());
    let mut got = Vec::new();
    while let Some(frame) = framed.next().await {
        got.push(frame.unwrap());
    }
    assert_eq!(got, frames);
    writer.await.unwrap();

    let (a, b) = UnixStream::pair().unwrap();
    a.write_all(b"one\r\ntwo\nthree".to_vec()).await.0.unwrap();
    drop(a);
    let mut lines = FramedRead::new(b, LinesCodec::with_max_length(10));
    let mut got = Vec::new();
    while let Some(line) = lines.next().await {
        got.push(line.unwrap());
    }
    assert_eq!(got, ["one", "two", "three"]);

    // A frame cut short by EOF, and a header announcing too much.
    let (a, b) = UnixStream::pair().unwrap();
    a.write_all(vec![0, 0, 0, 9, 1, 2]).await.0.unwrap();
    drop(a);
    let mut framed = FramedRead::new(b, LengthDelimitedCodec::new());
    let err = framed.next().await.unwrap().unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::UnexpectedEof, "{err}");
    assert!(
        framed.next().await.is_none(),
        "the stream ends after an error"
    );
    let (a, b) = UnixStream::pair().unwrap();
    a.write_all(vec![0xff, 0, 0, 0]).await.0.unwrap();
    let mut framed = FramedRead::new(b, LengthDelimitedCodec::with_max_frame(1024));
    let err = framed.next().await.unwrap().unwrap_err();
    assert!(
        err.to_string().contains("more than the 1024 allowed"),
        "{err}"
    );
    drop(a);
}

/// `FramedRecv` decodes out of the pool's buffers: frames whole or split across buffers
/// of several sizes, arriving in pieces, come out whole and in order; every pool buffer
/// goes back; a frame cut short by EOF is an error.
#[ringlet::test]
async fn framed_recv_decodes_frames_out_of_pool_buffers() {
    use ringlet::io::{FramedRecv, LengthDelimitedCodec, LinesCodec};
    use ringlet::net::BufRing;

    let frames: Vec<Vec<u8>> = (0..400u32)
        .map(|i| vec![(i % 251) as u8; (i * 7 % 61) as usize])
        .collect();
    let mut bytes = Vec::new();
    for frame in &frames {
        bytes.extend_from_slice(&(frame.len() as u32).to_be_bytes());
        bytes.extend_from_slice(frame);
    }
    for (buf_size, piece) in [(16, 13), (64, 5), (4096, 1000)] {
        let pool = BufRing::new(8, buf_size).unwrap();
        let (a, b) = UnixStream::pair().unwrap();
        let writer = trickle(a, bytes.chunks(piece).map(<[u8]>::to_vec).collect());
        let mut framed = FramedRecv::new(b.recv_stream(&pool), LengthDelimitedCodec::new());
        let mut got = Vec::new();
        while let Some(frame) = framed.next().await {
            got.push(frame.unwrap());
        }
        assert_eq!(got, frames, "{buf_size}-byte buffers, {piece}-byte pieces");
        writer.await.unwrap();
        drop(framed);
        assert_eq!(pool.available(), 8, "every pool buffer back");
    }

    let pool = BufRing::new(8, 4).unwrap();
    let (a, b) = UnixStream::pair().unwrap();
    a.write_all(b"one\r\ntwo\nthree and more\nend".to_vec())
        .await
        .0
        .unwrap();
    drop(a);
    let mut lines = FramedRecv::new(b.recv_stream(&pool), LinesCodec::new());
    let mut got = Vec::new();
    while let Some(line) = lines.next().await {
        got.push(line.unwrap());
    }
    assert_eq!(got, ["one", "two", "three and more", "end"]);

    let (a, b) = UnixStream::pair().unwrap();
    a.write_all(vec![0, 0, 0, 9, 1, 2]).await.0.unwrap();
    drop(a);
    let mut framed = FramedRecv::new(b.recv_stream(&pool), LengthDelimitedCodec::new());
    let cut = framed.next().await.unwrap().unwrap_err();
    assert_eq!(cut.kind(), std::io::ErrorKind::UnexpectedEof);
    assert!(framed.next().await.is_none());
}
