//! The listener: answers on every port a host must receive, before the real service is installed.
//!
//! TCP: accepts, then answers by what the client sends first — a STUN Binding request (A/V Edge
//! 443), a TLS ClientHello (with `tls` on, using a throwaway self-signed certificate), or an HTTP
//! request; anything else is read and dropped. UDP: a STUN Binding request gets a Binding response,
//! anything else is echoed — never more bytes than were received, so the listener cannot amplify.
//! Connections are capped per peer and dropped when idle; UDP answers are rate-limited per peer.

use super::stun;
use super::targets::{Kind, ListenSpec};
use crate::catalog::Transport;
use serde::Serialize;
use socket2::{Domain, Protocol, Socket, Type};
use std::collections::HashMap;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};

/// How the listener behaves.
#[derive(Debug, Clone)]
pub struct Options {
    /// Bind the wildcard address per port instead of each planned address.
    pub bind_all: bool,
    /// Answer TLS handshakes on TLS ports with a self-signed certificate.
    pub tls: Option<Arc<rustls::ServerConfig>>,
    pub max_connections_per_peer: usize,
    pub idle: Duration,
    /// UDP answers per peer per second.
    pub udp_rate_per_peer: u32,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            bind_all: false,
            tls: None,
            max_connections_per_peer: 16,
            idle: Duration::from_secs(10),
            udp_rate_per_peer: 50,
        }
    }
}

/// What happened when a socket was opened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum BindState {
    Listening,
    /// The port is taken: a real service (or another listener) already answers there.
    ServedByAnotherProcess,
    /// The address is not configured on this host (a VIP that lives on the load balancer).
    AddressNotHere,
    Failed(String),
}

#[derive(Debug, Clone, Serialize)]
pub struct Bound {
    pub spec: ListenSpec,
    pub socket: SocketAddr,
    pub state: BindState,
}

/// Counters of a listening run.
#[derive(Debug, Default, Serialize)]
pub struct Stats {
    pub connections: AtomicU64,
    pub connections_refused_by_cap: AtomicU64,
    pub stun_answers: AtomicU64,
    pub http_answers: AtomicU64,
    pub tls_handshakes: AtomicU64,
    pub udp_echoes: AtomicU64,
    pub udp_not_answered: AtomicU64,
}

enum Open {
    Tcp(ListenSpec, TcpListener),
    Udp(UdpSocket),
}

pub struct Listener {
    sockets: Vec<Open>,
    options: Options,
    pub stats: Arc<Stats>,
}

fn bind_state(e: &std::io::Error) -> BindState {
    match e.kind() {
        std::io::ErrorKind::AddrInUse => BindState::ServedByAnotherProcess,
        std::io::ErrorKind::AddrNotAvailable => BindState::AddressNotHere,
        _ => BindState::Failed(e.to_string()),
    }
}

fn open_socket(addr: SocketAddr, transport: Transport) -> std::io::Result<Socket> {
    let domain = if addr.is_ipv4() {
        Domain::IPV4
    } else {
        Domain::IPV6
    };
    let (ty, proto) = match transport {
        Transport::Tcp => (Type::STREAM, Protocol::TCP),
        Transport::Udp => (Type::DGRAM, Protocol::UDP),
    };
    let socket = Socket::new(domain, ty, Some(proto))?;
    if addr.is_ipv6() {
        socket.set_only_v6(true)?;
    }
    if transport == Transport::Tcp {
        socket.set_reuse_address(true)?;
    }
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    if transport == Transport::Tcp {
        socket.listen(256)?;
    }
    Ok(socket)
}

impl Listener {
    /// Opens every socket it can; the list says what happened to each.
    pub fn bind(specs: &[ListenSpec], options: Options) -> (Listener, Vec<Bound>) {
        let mut sockets = Vec::new();
        let mut bound: Vec<Bound> = Vec::new();
        for spec in specs {
            let ip = if options.bind_all {
                if spec.address.is_ipv4() {
                    IpAddr::from([0u8; 4])
                } else {
                    IpAddr::from([0u16; 8])
                }
            } else {
                spec.address
            };
            let addr = SocketAddr::new(ip, spec.port);
            if bound
                .iter()
                .any(|b| b.socket == addr && b.spec.transport == spec.transport)
            {
                continue; // with bind_all, several planned addresses share one socket
            }
            let state = match open_socket(addr, spec.transport) {
                Ok(socket) => {
                    let opened = match spec.transport {
                        Transport::Tcp => {
                            TcpListener::from_std(socket.into()).map(|l| Open::Tcp(spec.clone(), l))
                        }
                        Transport::Udp => UdpSocket::from_std(socket.into()).map(Open::Udp),
                    };
                    match opened {
                        Ok(o) => {
                            sockets.push(o);
                            BindState::Listening
                        }
                        Err(e) => BindState::Failed(e.to_string()),
                    }
                }
                Err(e) => bind_state(&e),
            };
            bound.push(Bound {
                spec: spec.clone(),
                socket: addr,
                state,
            });
        }
        (
            Listener {
                sockets,
                options,
                stats: Arc::new(Stats::default()),
            },
            bound,
        )
    }

    /// Serves until `shutdown` completes.
    pub async fn serve(self, shutdown: impl Future<Output = ()>) -> Arc<Stats> {
        let stats = self.stats.clone();
        let peers: Arc<Mutex<HashMap<IpAddr, usize>>> = Arc::default();
        let mut tasks = tokio::task::JoinSet::new();
        for open in self.sockets {
            let options = self.options.clone();
            let stats = stats.clone();
            let peers = peers.clone();
            match open {
                Open::Tcp(spec, listener) => {
                    tasks.spawn(serve_tcp(spec, listener, options, stats, peers));
                }
                Open::Udp(socket) => {
                    tasks.spawn(serve_udp(socket, options, stats));
                }
            }
        }
        shutdown.await;
        tasks.abort_all();
        while tasks.join_next().await.is_some() {}
        stats
    }
}

async fn serve_tcp(
    spec: ListenSpec,
    listener: TcpListener,
    options: Options,
    stats: Arc<Stats>,
    peers: Arc<Mutex<HashMap<IpAddr, usize>>>,
) {
    let tls = if matches!(spec.kind, Kind::Tls | Kind::Https) {
        options.tls.clone().map(tokio_rustls::TlsAcceptor::from)
    } else {
        None
    };
    let mut conns = tokio::task::JoinSet::new();
    loop {
        let Ok((stream, peer)) = listener.accept().await else {
            continue;
        };
        while conns.try_join_next().is_some() {}
        let admitted = {
            let mut map = peers.lock().unwrap_or_else(|e| e.into_inner());
            let n = map.entry(peer.ip()).or_insert(0);
            if *n >= options.max_connections_per_peer {
                false
            } else {
                *n += 1;
                true
            }
        };
        if !admitted {
            stats
                .connections_refused_by_cap
                .fetch_add(1, Ordering::Relaxed);
            drop(stream);
            continue;
        }
        stats.connections.fetch_add(1, Ordering::Relaxed);
        let (stats, peers, tls, spec) = (stats.clone(), peers.clone(), tls.clone(), spec.clone());
        let idle = options.idle;
        conns.spawn(async move {
            let _ =
                tokio::time::timeout(idle * 3, handle_tcp(stream, peer, &spec, tls, idle, &stats))
                    .await;
            let mut map = peers.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(n) = map.get_mut(&peer.ip()) {
                *n = n.saturating_sub(1);
            }
        });
    }
}

fn http_answer(spec: &ListenSpec) -> String {
    let body = format!(
        "portplan listener: {} {}/{}\n",
        spec.service, spec.transport, spec.port
    );
    format!(
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\nServer: portplan-listen\r\n\r\n{body}",
        body.len()
    )
}

fn is_http(bytes: &[u8]) -> bool {
    ["GET ", "HEAD ", "POST ", "OPTIONS "]
        .iter()
        .any(|m| bytes.starts_with(m.as_bytes()))
}

async fn handle_tcp(
    mut stream: TcpStream,
    peer: SocketAddr,
    spec: &ListenSpec,
    tls: Option<tokio_rustls::TlsAcceptor>,
    idle: Duration,
    stats: &Stats,
) {
    let mut first = [0u8; 64];
    let Ok(Ok(n)) = tokio::time::timeout(idle, stream.peek(&mut first)).await else {
        return;
    };
    if n == 0 {
        return;
    }
    if stun::looks_like_stun(&first[..n])
        || (n >= 2 && first[0] & 0xC0 == 0 && spec.kind == Kind::Stun)
    {
        // STUN over TCP: framed by the length in each header
        let mut buf = vec![0u8; 2048];
        let mut have = 0;
        loop {
            match tokio::time::timeout(idle, stream.read(&mut buf[have..])).await {
                Ok(Ok(0)) | Err(_) | Ok(Err(_)) => return,
                Ok(Ok(m)) => have += m,
            }
            while let Some(len) = stun::framed_len(&buf[..have]) {
                if len > buf.len() {
                    return;
                }
                if have < len {
                    break;
                }
                if let Ok(msg) = stun::decode(&buf[..len])
                    && msg.kind == stun::BINDING_REQUEST
                {
                    let answer = stun::binding_response(&msg.transaction, peer);
                    if stream.write_all(&answer).await.is_err() {
                        return;
                    }
                    stats.stun_answers.fetch_add(1, Ordering::Relaxed);
                }
                buf.copy_within(len..have, 0);
                have -= len;
            }
        }
    }
    if first[0] == 0x16
        && let Some(acceptor) = tls
    {
        let Ok(Ok(mut tls_stream)) = tokio::time::timeout(idle, acceptor.accept(stream)).await
        else {
            return;
        };
        stats.tls_handshakes.fetch_add(1, Ordering::Relaxed);
        let mut req = [0u8; 1024];
        if let Ok(Ok(m)) = tokio::time::timeout(idle, tls_stream.read(&mut req)).await
            && is_http(&req[..m])
        {
            let _ = tls_stream.write_all(http_answer(spec).as_bytes()).await;
            let _ = tls_stream.shutdown().await;
            stats.http_answers.fetch_add(1, Ordering::Relaxed);
        }
        return;
    }
    if is_http(&first[..n]) {
        let mut req = [0u8; 2048];
        let _ = stream.read(&mut req).await;
        let _ = stream.write_all(http_answer(spec).as_bytes()).await;
        let _ = stream.shutdown().await;
        stats.http_answers.fetch_add(1, Ordering::Relaxed);
        return;
    }
    // anything else: read and drop until the peer closes or goes quiet
    let mut sink = [0u8; 4096];
    while let Ok(Ok(m)) = tokio::time::timeout(idle, stream.read(&mut sink)).await {
        if m == 0 {
            break;
        }
    }
}

async fn serve_udp(socket: UdpSocket, options: Options, stats: Arc<Stats>) {
    let mut buf = vec![0u8; 2048];
    // per-peer token buckets: (tokens, last refill)
    let mut buckets: HashMap<IpAddr, (f64, Instant)> = HashMap::new();
    let rate = f64::from(options.udp_rate_per_peer.max(1));
    loop {
        let Ok((n, peer)) = socket.recv_from(&mut buf).await else {
            continue;
        };
        let now = Instant::now();
        if buckets.len() > 10_000 {
            buckets.retain(|_, (_, t)| now.duration_since(*t) < Duration::from_secs(60));
        }
        let (tokens, last) = buckets.entry(peer.ip()).or_insert((rate, now));
        *tokens = (*tokens + now.duration_since(*last).as_secs_f64() * rate).min(rate);
        *last = now;
        if *tokens < 1.0 {
            stats.udp_not_answered.fetch_add(1, Ordering::Relaxed);
            continue;
        }
        *tokens -= 1.0;
        let request = &buf[..n];
        let answer: Vec<u8> = match stun::decode(request) {
            Ok(msg) if msg.kind == stun::BINDING_REQUEST => {
                stun::binding_response(&msg.transaction, peer)
            }
            Ok(_) => continue,
            Err(_) => request.to_vec(),
        };
        if answer.len() > n {
            // would send more than was received: no amplification
            stats.udp_not_answered.fetch_add(1, Ordering::Relaxed);
            continue;
        }
        if socket.send_to(&answer, peer).await.is_ok() {
            if stun::looks_like_stun(&answer) {
                stats.stun_answers.fetch_add(1, Ordering::Relaxed);
            } else {
                stats.udp_echoes.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::prober::{self, Settings};
    use crate::probe::targets::Target;

    fn spec(transport: Transport, port: u16, kind: Kind) -> ListenSpec {
        ListenSpec {
            address: "127.0.0.1".parse().unwrap(),
            transport,
            port,
            kind,
            service: "test".into(),
            sampled_from: None,
        }
    }

    fn free_port(transport: Transport) -> u16 {
        match transport {
            Transport::Tcp => std::net::TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port(),
            Transport::Udp => std::net::UdpSocket::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port(),
        }
    }

    fn target(s: &ListenSpec) -> Target {
        Target {
            flow: 1,
            rules: Vec::new(),
            rows: "t".into(),
            service: s.service.clone(),
            reason: String::new(),
            transport: s.transport,
            port: s.port,
            range: None,
            source: None,
            destination: s.address,
            destination_host: "localhost".into(),
            nat_of: None,
            kind: s.kind,
        }
    }

    #[tokio::test]
    async fn listener_and_prober_agree_on_every_kind() {
        let tls =
            super::super::tls::self_signed_server("lab", &["127.0.0.1".parse().unwrap()]).unwrap();
        let specs = vec![
            spec(Transport::Tcp, free_port(Transport::Tcp), Kind::Plain),
            spec(Transport::Tcp, free_port(Transport::Tcp), Kind::Http),
            spec(Transport::Tcp, free_port(Transport::Tcp), Kind::Https),
            spec(Transport::Tcp, free_port(Transport::Tcp), Kind::Stun),
            spec(Transport::Udp, free_port(Transport::Udp), Kind::Stun),
            spec(Transport::Udp, free_port(Transport::Udp), Kind::Plain),
        ];
        let (listener, bound) = Listener::bind(
            &specs,
            Options {
                tls: Some(tls),
                ..Options::default()
            },
        );
        assert!(
            bound.iter().all(|b| b.state == BindState::Listening),
            "{bound:?}"
        );
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(listener.serve(async move {
            let _ = stopped.await;
        }));
        let settings = Settings {
            timeout: Duration::from_millis(800),
            concurrency: 4,
            rate: 1000,
        };
        let outcomes = prober::run(specs.iter().map(target).collect(), settings, |_, _| {}).await;
        for o in &outcomes {
            assert!(o.verdict.passed(), "{o:?}");
        }
        let detail = |i: usize| outcomes[i].detail.clone().unwrap_or_default();
        assert!(detail(1).starts_with("HTTP/1.1 200"), "{}", detail(1));
        assert!(detail(2).starts_with("HTTP/1.1 200"), "{}", detail(2));
        assert!(
            outcomes[2]
                .certificate
                .as_ref()
                .unwrap()
                .sans
                .contains(&"127.0.0.1".to_string())
        );
        assert!(
            detail(3).contains("stun: binding ok, mapped 127.0.0.1"),
            "{}",
            detail(3)
        );
        assert!(
            detail(4).contains("stun: binding ok, mapped 127.0.0.1"),
            "{}",
            detail(4)
        );
        assert_eq!(detail(5), "echo");
        let _ = stop.send(());
        let stats = server.await.unwrap();
        assert!(stats.stun_answers.load(Ordering::Relaxed) >= 2);
    }

    #[tokio::test]
    async fn a_taken_port_is_reported_as_served_by_another_process() {
        let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = taken.local_addr().unwrap().port();
        let (_, bound) = Listener::bind(
            &[spec(Transport::Tcp, port, Kind::Plain)],
            Options::default(),
        );
        assert_eq!(bound[0].state, BindState::ServedByAnotherProcess);
        let mut elsewhere = spec(Transport::Tcp, port, Kind::Plain);
        elsewhere.address = "192.0.2.55".parse().unwrap();
        let (_, bound) = Listener::bind(&[elsewhere], Options::default());
        assert_eq!(bound[0].state, BindState::AddressNotHere);
    }

    #[tokio::test]
    async fn udp_never_answers_with_more_than_it_received() {
        let s = spec(Transport::Udp, free_port(Transport::Udp), Kind::Stun);
        let (listener, _) = Listener::bind(std::slice::from_ref(&s), Options::default());
        let stats = listener.stats.clone();
        let server = tokio::spawn(listener.serve(std::future::pending()));
        let client = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        // a bare 20-byte Binding request: the answer (40 bytes) would be an amplification
        let mut bare = stun::binding_request(&[7u8; 12], "");
        bare.truncate(20);
        bare[2] = 0;
        bare[3] = 0;
        client.send_to(&bare, (s.address, s.port)).await.unwrap();
        let mut buf = [0u8; 128];
        let got =
            tokio::time::timeout(Duration::from_millis(300), client.recv_from(&mut buf)).await;
        assert!(
            got.is_err(),
            "no answer to a request smaller than the answer"
        );
        assert_eq!(stats.udp_not_answered.load(Ordering::Relaxed), 1);
        server.abort();
    }

    #[tokio::test]
    async fn connections_per_peer_are_capped() {
        let s = spec(Transport::Tcp, free_port(Transport::Tcp), Kind::Plain);
        let (listener, _) = Listener::bind(
            std::slice::from_ref(&s),
            Options {
                max_connections_per_peer: 2,
                ..Options::default()
            },
        );
        let stats = listener.stats.clone();
        let server = tokio::spawn(listener.serve(std::future::pending()));
        let mut held = Vec::new();
        for _ in 0..5 {
            held.push(TcpStream::connect((s.address, s.port)).await.unwrap());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(stats.connections.load(Ordering::Relaxed), 2);
        assert_eq!(stats.connections_refused_by_cap.load(Ordering::Relaxed), 3);
        server.abort();
    }
}
