//! The listener: answers on every port a host must receive, before the real service is installed.
//!
//! TCP: accepts, then answers by what the client sends first — a STUN Binding request (A/V Edge
//! 443), a TLS ClientHello (with `tls` on, using a throwaway self-signed certificate), or an HTTP
//! request; anything else is read and dropped. UDP: a STUN Binding request gets a Binding response,
//! anything else is echoed — never more bytes than were received, so the listener cannot amplify.
//! Connections are capped per peer and in total and dropped when idle; UDP answers are rate-limited
//! per peer.
//!
//! Descriptors: [`raise_descriptor_limit`] lifts the soft open-file limit to the hard one; `bind`
//! reports every socket it could not open ([`BindReport`], with the descriptor limit named when
//! that was the cause), and derives the total connection cap from the descriptors left, so the
//! accept loops never run the process out of them. If they run out anyway (another part of the
//! process, a lower limit than measured), an accept loop pauses until a connection closes or a
//! back-off passes instead of retrying at once.

use super::stun;
use super::targets::{Kind, ListenSpec};
use crate::catalog::Transport;
use serde::Serialize;
use socket2::{Domain, Protocol, Socket, Type};
use std::collections::HashMap;
use std::fmt;
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
    /// At most this many connections at once over all sockets; `bind` lowers it to what the
    /// descriptors left allow.
    pub max_connections: usize,
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
            max_connections: 8192,
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
    /// The process had no file descriptor left (its open-file limit, RLIMIT_NOFILE, or the
    /// system's table).
    OutOfDescriptors,
    Failed(String),
}

impl BindState {
    /// Whether the socket is one the listener owns but could not open (a failure of this run,
    /// unlike a port another process serves or an address that lives elsewhere).
    pub fn is_failure(&self) -> bool {
        matches!(self, BindState::OutOfDescriptors | BindState::Failed(_))
    }
}

impl fmt::Display for BindState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BindState::Listening => f.write_str("listening"),
            BindState::ServedByAnotherProcess => f.write_str("served by another process"),
            BindState::AddressNotHere => {
                f.write_str("address not on this host (a VIP on the load balancer?)")
            }
            BindState::OutOfDescriptors => {
                f.write_str("failed: no file descriptor left (open-file limit)")
            }
            BindState::Failed(e) => write!(f, "failed: {e}"),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Bound {
    pub spec: ListenSpec,
    pub socket: SocketAddr,
    pub state: BindState,
}

/// Neighbouring sockets of a bind (same protocol, address, service and outcome), for a report that
/// stays short when a range was opened port by port.
#[derive(Debug, Clone, Serialize)]
pub struct BindGroup {
    pub transport: Transport,
    pub address: IpAddr,
    pub service: String,
    pub state: BindState,
    /// Runs of consecutive ports, first and last.
    pub ports: Vec<(u16, u16)>,
    /// Sockets in the group.
    pub count: usize,
    /// The planned range these ports sample (sampled mode).
    pub sampled_from: Option<crate::catalog::PortRange>,
}

impl BindGroup {
    /// The ports as text: `443`, `50000-59999`, `50000, 54999, 59999`.
    pub fn ports_text(&self) -> String {
        self.ports
            .iter()
            .map(|(a, b)| {
                if a == b {
                    a.to_string()
                } else {
                    format!("{a}-{b}")
                }
            })
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// What a bind achieved: counts per outcome and the sockets grouped.
#[derive(Debug, Clone, Serialize)]
pub struct BindReport {
    pub sockets: usize,
    pub listening: usize,
    pub served_by_another_process: usize,
    pub address_not_here: usize,
    pub out_of_descriptors: usize,
    /// Other failures.
    pub failed: usize,
    pub groups: Vec<BindGroup>,
    /// The total connection cap of the listener that bound them ([`Listener::report`]).
    pub max_connections: Option<usize>,
}

impl BindReport {
    pub fn new(bound: &[Bound]) -> BindReport {
        let mut r = BindReport {
            sockets: bound.len(),
            listening: 0,
            served_by_another_process: 0,
            address_not_here: 0,
            out_of_descriptors: 0,
            failed: 0,
            groups: Vec::new(),
            max_connections: None,
        };
        for b in bound {
            match b.state {
                BindState::Listening => r.listening += 1,
                BindState::ServedByAnotherProcess => r.served_by_another_process += 1,
                BindState::AddressNotHere => r.address_not_here += 1,
                BindState::OutOfDescriptors => r.out_of_descriptors += 1,
                BindState::Failed(_) => r.failed += 1,
            }
            let port = b.socket.port();
            if let Some(g) = r.groups.last_mut()
                && g.transport == b.spec.transport
                && g.address == b.socket.ip()
                && g.service == b.spec.service
                && g.state == b.state
                && g.sampled_from == b.spec.sampled_from
            {
                g.count += 1;
                match g.ports.last_mut() {
                    Some(run) if u32::from(run.1) + 1 == u32::from(port) => run.1 = port,
                    _ => g.ports.push((port, port)),
                }
                continue;
            }
            r.groups.push(BindGroup {
                transport: b.spec.transport,
                address: b.socket.ip(),
                service: b.spec.service.clone(),
                state: b.state.clone(),
                ports: vec![(port, port)],
                count: 1,
                sampled_from: b.spec.sampled_from,
            });
        }
        r
    }

    /// Fails when a socket the listener owns could not be opened, or when TCP sockets are open but
    /// no descriptor is left for a connection; a port another process serves or an address that
    /// lives on another host is reported, not a failure. `limit` is named in the error when
    /// descriptors ran out.
    pub fn require_complete(&self, limit: Option<DescriptorLimit>) -> Result<(), ListenError> {
        if self.out_of_descriptors == 0 && self.failed == 0 {
            let tcp = self
                .groups
                .iter()
                .any(|g| g.transport == Transport::Tcp && g.state == BindState::Listening);
            if tcp && self.max_connections == Some(0) {
                return Err(ListenError::NoRoomForConnections {
                    sockets: self.sockets,
                    limit,
                });
            }
            return Ok(());
        }
        Err(ListenError::Incomplete {
            opened: self.listening,
            sockets: self.sockets,
            out_of_descriptors: self.out_of_descriptors,
            failed: self.failed,
            limit: limit.filter(|_| self.out_of_descriptors > 0),
        })
    }
}

/// Counters of a listening run.
#[derive(Debug, Default, Serialize)]
pub struct Stats {
    pub connections: AtomicU64,
    /// Accepted and closed at once: the peer already had its share.
    pub connections_refused_by_cap: AtomicU64,
    /// Accepted and closed at once: the listener held its total cap.
    pub connections_refused_by_total_cap: AtomicU64,
    /// Times an accept loop paused because the process had no descriptor left.
    pub accept_paused_out_of_descriptors: AtomicU64,
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
    /// The total connection cap in force: the option, lowered to the descriptor budget.
    max_connections: usize,
    pub stats: Arc<Stats>,
}

/// Errors of the listener's setup.
#[derive(Debug, thiserror::Error)]
pub enum ListenError {
    #[error("reading the open-file limit (RLIMIT_NOFILE): {0}")]
    Limit(std::io::Error),
    #[error("{}", incomplete_text(*.opened, *.sockets, *.out_of_descriptors, *.failed, .limit))]
    Incomplete {
        opened: usize,
        sockets: usize,
        out_of_descriptors: usize,
        failed: usize,
        limit: Option<DescriptorLimit>,
    },
    #[error(
        "opened the {sockets} socket(s), but no file descriptor is left for a connection{}",
        limit_text(.limit)
    )]
    NoRoomForConnections {
        sockets: usize,
        limit: Option<DescriptorLimit>,
    },
}

fn limit_text(limit: &Option<DescriptorLimit>) -> String {
    match limit {
        Some(l) => format!(
            " (the open-file limit RLIMIT_NOFILE is {}, hard limit {}; raise the hard limit, e.g. \
             `ulimit -Hn` or systemd's LimitNOFILE=, or listen on fewer ports)",
            l.soft,
            l.hard_text()
        ),
        None => String::new(),
    }
}

fn incomplete_text(
    opened: usize,
    sockets: usize,
    out_of_descriptors: usize,
    failed: usize,
    limit: &Option<DescriptorLimit>,
) -> String {
    let mut text = format!("opened {opened} of {sockets} socket(s)");
    if out_of_descriptors > 0 {
        text.push_str(&format!(
            "; {out_of_descriptors} could not be opened for want of file descriptors"
        ));
        text.push_str(&limit_text(limit));
    }
    if failed > 0 {
        text.push_str(&format!(
            "; {failed} failed for other reasons (listed above)"
        ));
    }
    text
}

/// The process's open-file limit (RLIMIT_NOFILE).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct DescriptorLimit {
    /// The soft limit found at start.
    pub before: u64,
    /// The soft limit in force: what the process may open.
    pub soft: u64,
    /// The hard limit: the highest soft limit an unprivileged process may set.
    pub hard: u64,
}

impl DescriptorLimit {
    pub fn raised(&self) -> bool {
        self.soft > self.before
    }
    /// The hard limit as text ("unlimited" for RLIM_INFINITY).
    pub fn hard_text(&self) -> String {
        if self.hard == u64::MAX {
            "unlimited".into()
        } else {
            self.hard.to_string()
        }
    }
}

#[cfg(unix)]
#[allow(clippy::unnecessary_cast)] // rlim_t is u64 on Linux, not everywhere
fn nofile_limit() -> std::io::Result<(u64, u64)> {
    let mut r = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit only writes the struct it is given.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut r) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    let wide = |v: libc::rlim_t| {
        if v == libc::RLIM_INFINITY {
            u64::MAX
        } else {
            v as u64
        }
    };
    Ok((wide(r.rlim_cur), wide(r.rlim_max)))
}

#[cfg(unix)]
#[allow(clippy::unnecessary_cast)]
fn set_nofile_soft(soft: u64, hard: u64) -> std::io::Result<()> {
    let narrow = |v: u64| {
        if v == u64::MAX {
            libc::RLIM_INFINITY
        } else {
            v as libc::rlim_t
        }
    };
    let r = libc::rlimit {
        rlim_cur: narrow(soft),
        rlim_max: narrow(hard),
    };
    // SAFETY: setrlimit only reads the struct it is given.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &r) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

#[cfg(not(unix))]
fn nofile_limit() -> std::io::Result<(u64, u64)> {
    Err(std::io::Error::from(std::io::ErrorKind::Unsupported))
}

#[cfg(not(unix))]
fn set_nofile_soft(_: u64, _: u64) -> std::io::Result<()> {
    Err(std::io::Error::from(std::io::ErrorKind::Unsupported))
}

/// The soft and hard open-file limits in force.
pub fn descriptor_limit() -> Result<DescriptorLimit, ListenError> {
    let (soft, hard) = nofile_limit().map_err(ListenError::Limit)?;
    Ok(DescriptorLimit {
        before: soft,
        soft,
        hard,
    })
}

/// Lifts the soft open-file limit as far as the hard limit allows (an unlimited hard limit is
/// capped by the kernel's `fs.nr_open`). Every listening socket and every connection costs one
/// descriptor, and the usual soft limit (1024) is far below what `--full-ranges` needs.
pub fn raise_descriptor_limit() -> Result<DescriptorLimit, ListenError> {
    let mut limit = descriptor_limit()?;
    if limit.soft < limit.hard {
        let nr_open = std::fs::read_to_string("/proc/sys/fs/nr_open")
            .ok()
            .and_then(|t| t.trim().parse::<u64>().ok());
        let mut tries = vec![limit.hard];
        if let Some(n) = nr_open.filter(|n| *n < limit.hard) {
            tries.push(n);
        }
        for want in tries {
            if want > limit.soft && set_nofile_soft(want, limit.hard).is_ok() {
                limit.soft = want;
                break;
            }
        }
    }
    Ok(limit)
}

/// Descriptors the process has open now (Linux: `/proc/self/fd`).
fn open_descriptors() -> Option<usize> {
    // the directory handle itself is one of the entries
    std::fs::read_dir("/proc/self/fd")
        .ok()
        .map(|d| d.count().saturating_sub(1))
}

/// Descriptors kept free beyond the connection cap: the accept that refuses a connection over the
/// cap, the runtime's own, and whatever else the process opens while it listens.
fn descriptor_reserve(soft: u64) -> usize {
    usize::try_from(soft / 16)
        .unwrap_or(usize::MAX)
        .clamp(16, 256)
}

/// How many connections fit in the descriptors left: the soft limit, less what is open and the
/// reserve.
pub fn connection_budget(soft: u64, open: usize) -> usize {
    let soft = usize::try_from(soft).unwrap_or(usize::MAX);
    soft.saturating_sub(open)
        .saturating_sub(descriptor_reserve(soft as u64))
}

/// `accept` or `socket` failed because no descriptor (or kernel memory for one) was left.
fn out_of_descriptors(e: &std::io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM)
    )
}

fn bind_state(e: &std::io::Error) -> BindState {
    if out_of_descriptors(e) {
        return BindState::OutOfDescriptors;
    }
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
        let mut seen: std::collections::HashSet<(SocketAddr, bool)> = Default::default();
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
            if !seen.insert((addr, spec.transport == Transport::Tcp)) {
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
                        Err(e) => bind_state(&e),
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
        // every connection costs a descriptor: cap them at what is left
        let budget = match nofile_limit() {
            Ok((soft, _)) => {
                connection_budget(soft, open_descriptors().unwrap_or(sockets.len() + 16))
            }
            Err(_) => options.max_connections,
        };
        let max_connections = options.max_connections.min(budget);
        (
            Listener {
                sockets,
                options,
                max_connections,
                stats: Arc::new(Stats::default()),
            },
            bound,
        )
    }

    /// What `bind` achieved (`bound` is its list), with this listener's connection cap.
    pub fn report(&self, bound: &[Bound]) -> BindReport {
        BindReport {
            max_connections: Some(self.max_connections),
            ..BindReport::new(bound)
        }
    }

    /// The total connection cap in force.
    pub fn max_connections(&self) -> usize {
        self.max_connections
    }

    /// The per-peer connection cap.
    pub fn max_connections_per_peer(&self) -> usize {
        self.options.max_connections_per_peer
    }

    /// Serves until `shutdown` completes.
    pub async fn serve(self, shutdown: impl Future<Output = ()>) -> Arc<Stats> {
        let stats = self.stats.clone();
        let admission = Arc::new(Admission {
            per_peer: self.options.max_connections_per_peer,
            total: self.max_connections,
            held: Mutex::default(),
            closed: tokio::sync::Notify::new(),
        });
        let mut tasks = tokio::task::JoinSet::new();
        for open in self.sockets {
            let options = self.options.clone();
            let stats = stats.clone();
            match open {
                Open::Tcp(spec, listener) => {
                    tasks.spawn(serve_tcp(spec, listener, options, stats, admission.clone()));
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

/// The connections held, per peer and in total, shared by every TCP socket of a run.
struct Admission {
    per_peer: usize,
    total: usize,
    held: Mutex<Held>,
    /// Signalled whenever a connection closes: an accept loop paused for descriptors retries.
    closed: tokio::sync::Notify,
}

#[derive(Default)]
struct Held {
    total: usize,
    peers: HashMap<IpAddr, usize>,
}

enum Admit {
    Yes(Slot),
    PeerCap,
    TotalCap,
}

/// One admitted connection; dropping it (the connection ended or its task was aborted) frees the
/// place.
struct Slot {
    admission: Arc<Admission>,
    peer: IpAddr,
}

impl Admission {
    fn admit(self: &Arc<Self>, peer: IpAddr) -> Admit {
        let mut held = self.held.lock().unwrap_or_else(|e| e.into_inner());
        if held.total >= self.total {
            return Admit::TotalCap;
        }
        let n = held.peers.entry(peer).or_insert(0);
        if *n >= self.per_peer {
            return Admit::PeerCap;
        }
        *n += 1;
        held.total += 1;
        Admit::Yes(Slot {
            admission: self.clone(),
            peer,
        })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        {
            let mut held = self
                .admission
                .held
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            held.total = held.total.saturating_sub(1);
            if let Some(n) = held.peers.get_mut(&self.peer) {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    held.peers.remove(&self.peer);
                }
            }
        }
        self.admission.closed.notify_waiters();
    }
}

/// First pause of an accept loop that ran out of descriptors; it doubles up to the longest.
const BACKOFF_FIRST: Duration = Duration::from_millis(50);
const BACKOFF_LONGEST: Duration = Duration::from_secs(1);
/// Pause after any other accept error (an aborted handshake): short, but never a busy loop.
const ERROR_PAUSE: Duration = Duration::from_millis(10);

async fn serve_tcp(
    spec: ListenSpec,
    listener: TcpListener,
    options: Options,
    stats: Arc<Stats>,
    admission: Arc<Admission>,
) {
    let tls = if matches!(spec.kind, Kind::Tls | Kind::Https) {
        options.tls.clone().map(tokio_rustls::TlsAcceptor::from)
    } else {
        None
    };
    let mut conns = tokio::task::JoinSet::new();
    let mut backoff = BACKOFF_FIRST;
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => {
                backoff = BACKOFF_FIRST;
                accepted
            }
            Err(e) if out_of_descriptors(&e) => {
                // the pending connection stays in the backlog; retry once one of ours closes
                // (it frees a descriptor) or after the back-off, whichever comes first
                stats
                    .accept_paused_out_of_descriptors
                    .fetch_add(1, Ordering::Relaxed);
                let closed = admission.closed.notified();
                tokio::select! {
                    _ = closed => {}
                    _ = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(BACKOFF_LONGEST);
                continue;
            }
            Err(_) => {
                tokio::time::sleep(ERROR_PAUSE).await;
                continue;
            }
        };
        while conns.try_join_next().is_some() {}
        let slot = match admission.admit(peer.ip()) {
            Admit::Yes(slot) => slot,
            Admit::PeerCap => {
                stats
                    .connections_refused_by_cap
                    .fetch_add(1, Ordering::Relaxed);
                drop(stream);
                continue;
            }
            Admit::TotalCap => {
                stats
                    .connections_refused_by_total_cap
                    .fetch_add(1, Ordering::Relaxed);
                drop(stream);
                continue;
            }
        };
        stats.connections.fetch_add(1, Ordering::Relaxed);
        let (stats, tls, spec) = (stats.clone(), tls.clone(), spec.clone());
        let idle = options.idle;
        conns.spawn(async move {
            let _slot = slot;
            let _ =
                tokio::time::timeout(idle * 3, handle_tcp(stream, peer, &spec, tls, idle, &stats))
                    .await;
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

    #[tokio::test]
    async fn connections_are_capped_in_total_over_all_sockets() {
        let a = spec(Transport::Tcp, free_port(Transport::Tcp), Kind::Plain);
        let b = spec(Transport::Tcp, free_port(Transport::Tcp), Kind::Plain);
        let (listener, _) = Listener::bind(
            &[a.clone(), b.clone()],
            Options {
                max_connections: 3,
                ..Options::default()
            },
        );
        assert_eq!(listener.max_connections(), 3);
        let stats = listener.stats.clone();
        let server = tokio::spawn(listener.serve(std::future::pending()));
        let mut held = Vec::new();
        for s in [&a, &b, &a, &b, &a] {
            held.push(TcpStream::connect((s.address, s.port)).await.unwrap());
            tokio::time::sleep(Duration::from_millis(30)).await;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(stats.connections.load(Ordering::Relaxed), 3);
        assert_eq!(
            stats
                .connections_refused_by_total_cap
                .load(Ordering::Relaxed),
            2
        );
        // a place freed by a closed connection is taken by the next one
        held.remove(0);
        tokio::time::sleep(Duration::from_millis(200)).await;
        held.push(TcpStream::connect((b.address, b.port)).await.unwrap());
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(stats.connections.load(Ordering::Relaxed), 4);
        server.abort();
    }

    #[test]
    fn the_connection_budget_keeps_a_reserve_and_never_underflows() {
        assert_eq!(connection_budget(1024, 40), 1024 - 40 - 64);
        assert_eq!(connection_budget(64, 40), 8);
        assert_eq!(connection_budget(64, 60), 0);
        assert_eq!(connection_budget(u64::MAX, 10), usize::MAX - 10 - 256);
    }

    #[test]
    fn a_bind_report_groups_neighbouring_ports_and_fails_only_on_its_own_sockets() {
        let mk = |port: u16, state: BindState| Bound {
            spec: spec(Transport::Udp, port, Kind::Plain),
            socket: SocketAddr::new("127.0.0.1".parse().unwrap(), port),
            state,
        };
        let mut bound: Vec<Bound> = (50000..50010)
            .map(|p| mk(p, BindState::Listening))
            .collect();
        bound.push(mk(50011, BindState::Listening));
        bound.extend((50012..50020).map(|p| mk(p, BindState::OutOfDescriptors)));
        let r = BindReport::new(&bound);
        assert_eq!((r.sockets, r.listening, r.out_of_descriptors), (19, 11, 8));
        assert_eq!(r.groups.len(), 2);
        assert_eq!(r.groups[0].ports_text(), "50000-50009, 50011");
        assert_eq!(r.groups[1].ports_text(), "50012-50019");
        let limit = DescriptorLimit {
            before: 1024,
            soft: 1024,
            hard: 1024,
        };
        let err = r.require_complete(Some(limit)).unwrap_err().to_string();
        assert!(
            err.starts_with("opened 11 of 19 socket(s); 8 could not"),
            "{err}"
        );
        assert!(
            err.contains("RLIMIT_NOFILE is 1024, hard limit 1024"),
            "{err}"
        );
        // a port another process serves, or a VIP elsewhere, is reported but not a failure
        let fine = BindReport::new(&[
            mk(1, BindState::Listening),
            mk(2, BindState::ServedByAnotherProcess),
            mk(3, BindState::AddressNotHere),
        ]);
        assert!(fine.require_complete(Some(limit)).is_ok());
    }
}
