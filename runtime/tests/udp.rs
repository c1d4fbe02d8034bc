//! UDP datagrams over io_uring.

use std::io::ErrorKind;

use ringlet::net::UdpSocket;

#[test]
fn datagrams_both_ways_with_their_senders() {
    ringlet::run(async {
        let a = UdpSocket::bind("127.0.0.1:0").unwrap();
        let b = UdpSocket::bind("127.0.0.1:0").unwrap();
        let (a_addr, b_addr) = (a.local_addr().unwrap(), b.local_addr().unwrap());
        for i in 0..100u32 {
            let (res, _) = a.send_to(i.to_le_bytes().to_vec(), b_addr).await;
            assert_eq!(res.unwrap(), 4);
            let (res, buf) = b.recv_from(vec![0u8; 16]).await;
            let (n, from) = res.unwrap();
            assert_eq!((n, from), (4, a_addr));
            assert_eq!(u32::from_le_bytes(buf[..4].try_into().unwrap()), i);
            let (res, _) = b.send_to(buf[..4].to_vec(), from).await;
            res.unwrap();
            let (res, back) = a.recv_from(Vec::with_capacity(4)).await;
            assert_eq!(res.unwrap(), (4, b_addr));
            assert_eq!(back, i.to_le_bytes());
        }
    })
    .unwrap();
}

#[test]
fn connected_sockets_and_truncation_and_refusal() {
    ringlet::run(async {
        let a = UdpSocket::bind("127.0.0.1:0").unwrap();
        let b = UdpSocket::bind("127.0.0.1:0").unwrap();
        a.connect(b.local_addr().unwrap()).await.unwrap();
        b.connect(a.local_addr().unwrap()).await.unwrap();
        assert_eq!(a.peer_addr().unwrap(), b.local_addr().unwrap());
        a.send(b"a longer datagram".to_vec()).await.0.unwrap();
        let (n, buf) = b.recv(vec![0u8; 8]).await;
        assert_eq!(n.unwrap(), 8, "truncated to the buffer");
        assert_eq!(buf, b"a longer");

        // A connected socket learns that the peer's port is closed.
        let gone = {
            let s = UdpSocket::bind("127.0.0.1:0").unwrap();
            s.local_addr().unwrap()
        };
        let c = UdpSocket::bind("127.0.0.1:0").unwrap();
        c.connect(gone).await.unwrap();
        c.send(b"anyone?".to_vec()).await.0.unwrap();
        let (res, _) = c.recv(vec![0u8; 8]).await;
        assert_eq!(res.unwrap_err().kind(), ErrorKind::ConnectionRefused);
    })
    .unwrap();
}

/// Clients send numbered datagrams to a server that receives them through a pool smaller
/// than the traffic (it runs dry and re-arms) and echoes each from its pool buffer.
#[ringlet::test]
async fn a_datagram_stream_receives_through_a_pool_and_echoes_without_a_copy() {
    use ringlet::net::BufRing;
    let server = std::rc::Rc::new(UdpSocket::bind("127.0.0.1:0").unwrap());
    let addr = server.local_addr().unwrap();
    let pool = BufRing::new(8, 256).unwrap();
    let echo = {
        let (server, pool) = (server.clone(), pool.clone());
        ringlet::spawn(async move {
            let mut datagrams = server.recv_stream(&pool);
            loop {
                let datagram = datagrams.next().await.unwrap();
                if &datagram[..] == b"stop" {
                    return;
                }
                let to = datagram.source();
                server.send_to(datagram, to).await.0.unwrap();
            }
        })
    };
    let clients: Vec<_> = (0..4u8)
        .map(|c| {
            ringlet::spawn(async move {
                let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
                for i in 0..250u16 {
                    let mut msg = vec![c];
                    msg.extend_from_slice(&i.to_le_bytes());
                    socket.send_to(msg.clone(), addr).await.0.unwrap();
                    let (got, buf) = socket.recv_from(vec![0u8; 16]).await;
                    let (n, from) = got.unwrap();
                    assert_eq!((&buf[..n], from), (&msg[..], addr));
                }
            })
        })
        .collect();
    for client in clients {
        client.await.unwrap();
    }
    // An empty datagram (which ends the kernel's multishot) and an oversized one.
    let probe = UdpSocket::bind("127.0.0.1:0").unwrap();
    probe.send_to(Vec::new(), addr).await.0.unwrap();
    let (got, _) = probe.recv_from(vec![0u8; 16]).await;
    assert_eq!(got.unwrap().0, 0, "the empty datagram came back");
    probe.send_to(vec![7u8; 300], addr).await.0.unwrap();
    let (got, _) = probe.recv_from(vec![0u8; 512]).await;
    assert_eq!(got.unwrap().0, 256 - 144, "cut to the pool buffer's room");
    probe.send_to(b"stop".to_vec(), addr).await.0.unwrap();
    echo.await.unwrap();
    assert_eq!(pool.available(), 8);
}
