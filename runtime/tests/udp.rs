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
