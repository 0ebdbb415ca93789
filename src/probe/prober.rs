//! The prober: runs [`Target`]s with a bounded number in flight and a start rate limit, and gives
//! each a verdict. Open, refused and filtered are different answers: a timeout is "filtered", never
//! "closed", and a UDP port that stays silent is "silent" (it may be open and quiet, or filtered).

use super::stun;
use super::targets::{Kind, Target};
use super::tls::{self, CertificateInfo};
use crate::catalog::Transport;
use serde::{Deserialize, Serialize};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream, UdpSocket};

/// How a probe run behaves.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    pub timeout: Duration,
    /// Probes in flight at once.
    pub concurrency: usize,
    /// Probes started per second.
    pub rate: u32,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            timeout: Duration::from_millis(1500),
            concurrency: 32,
            rate: 200,
        }
    }
}

/// What the network answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// TCP handshake completed.
    Open,
    /// UDP: an answer came back (echo or STUN response).
    Answered,
    /// Reset (TCP) or ICMP port unreachable (UDP): the path is open, nothing listens.
    Refused,
    /// TCP: no answer before the timeout — something dropped it.
    Filtered,
    /// UDP: no answer before the timeout — filtered, or open and quiet.
    Silent,
    /// ICMP host or network unreachable.
    Unreachable,
    /// The probe could not be made (e.g. the source address is not on this host).
    Error,
}

impl Verdict {
    pub fn passed(self) -> bool {
        matches!(self, Verdict::Open | Verdict::Answered)
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Open => "open",
            Verdict::Answered => "answered",
            Verdict::Refused => "refused",
            Verdict::Filtered => "filtered",
            Verdict::Silent => "silent",
            Verdict::Unreachable => "unreachable",
            Verdict::Error => "error",
        }
    }
}

/// One probe's outcome.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Outcome {
    #[serde(flatten)]
    pub target: Target,
    pub verdict: Verdict,
    /// Protocol detail: STUN mapped address, HTTP status line, TLS failure, error text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub certificate: Option<CertificateInfo>,
    pub millis: u64,
}

fn classify(e: &std::io::Error, udp: bool) -> Verdict {
    match e.kind() {
        std::io::ErrorKind::ConnectionRefused => Verdict::Refused,
        std::io::ErrorKind::TimedOut => {
            if udp {
                Verdict::Silent
            } else {
                Verdict::Filtered
            }
        }
        std::io::ErrorKind::HostUnreachable | std::io::ErrorKind::NetworkUnreachable => {
            Verdict::Unreachable
        }
        _ => match e.raw_os_error() {
            Some(113) | Some(101) => Verdict::Unreachable, // EHOSTUNREACH, ENETUNREACH
            _ => Verdict::Error,
        },
    }
}

fn explain_error(t: &Target, e: &std::io::Error) -> String {
    match (e.kind(), t.source) {
        (std::io::ErrorKind::AddrNotAvailable, Some(src)) => format!(
            "source address {src} is not on this host: run the probe on the server that owns it"
        ),
        _ => e.to_string(),
    }
}

fn transaction(seed: u64) -> [u8; 12] {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    let mut tx = [0u8; 12];
    tx[..8].copy_from_slice(&(nanos ^ seed.rotate_left(17)).to_be_bytes());
    tx[8..].copy_from_slice(&(seed as u32).to_be_bytes());
    tx
}

async fn tcp_connect(t: &Target, timeout: Duration) -> Result<TcpStream, std::io::Error> {
    let dst = SocketAddr::new(t.destination, t.port);
    let socket = if dst.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    if let Some(src) = t.source {
        socket.bind(SocketAddr::new(src, 0))?;
    }
    match tokio::time::timeout(timeout, socket.connect(dst)).await {
        Ok(r) => r,
        Err(_) => Err(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            "no answer",
        )),
    }
}

async fn read_line(stream: &mut (impl AsyncReadExt + Unpin), timeout: Duration) -> Option<String> {
    let mut buf = vec![0u8; 512];
    let n = tokio::time::timeout(timeout, stream.read(&mut buf))
        .await
        .ok()?
        .ok()?;
    let text = String::from_utf8_lossy(&buf[..n]);
    text.lines()
        .next()
        .map(|l| l.trim().to_string())
        .filter(|l| !l.is_empty())
}

async fn http_status(
    stream: &mut (impl AsyncReadExt + AsyncWriteExt + Unpin),
    host: &str,
    timeout: Duration,
) -> String {
    let req = format!(
        "HEAD / HTTP/1.1\r\nHost: {host}\r\nUser-Agent: portplan\r\nConnection: close\r\n\r\n"
    );
    if stream.write_all(req.as_bytes()).await.is_err() {
        return "http: write failed".into();
    }
    match read_line(stream, timeout).await {
        Some(line) if line.starts_with("HTTP/") => line,
        Some(line) => format!(
            "http: unexpected answer `{}`",
            line.chars().take(40).collect::<String>()
        ),
        None => "http: no status line".into(),
    }
}

async fn probe_tcp(
    t: &Target,
    settings: &Settings,
    seed: u64,
) -> (Verdict, Option<String>, Option<CertificateInfo>) {
    let mut stream = match tcp_connect(t, settings.timeout).await {
        Ok(s) => s,
        Err(e) => {
            let v = classify(&e, false);
            let detail = (v == Verdict::Error).then(|| explain_error(t, &e));
            return (v, detail, None);
        }
    };
    let host = t.destination.to_string();
    match t.kind {
        Kind::Plain => (Verdict::Open, None, None),
        Kind::Http => {
            let status = http_status(&mut stream, &host, settings.timeout).await;
            (Verdict::Open, Some(status), None)
        }
        Kind::Stun => {
            let request =
                stun::binding_request(&transaction(seed), "portplan reachability check over TCP");
            let detail = match stream.write_all(&request).await {
                Err(e) => format!("stun: {e}"),
                Ok(()) => {
                    let mut buf = vec![0u8; 512];
                    match tokio::time::timeout(settings.timeout, stream.read(&mut buf)).await {
                        Ok(Ok(n)) if n > 0 => describe_stun(&buf[..n]),
                        _ => "stun: no answer over TCP".into(),
                    }
                }
            };
            (Verdict::Open, Some(detail), None)
        }
        Kind::Tls | Kind::Https => {
            let verifier = tls::RecordingVerifier::new();
            let connector = tokio_rustls::TlsConnector::from(tls::client_config(verifier.clone()));
            let name = rustls::pki_types::ServerName::IpAddress(t.destination.into());
            match tokio::time::timeout(settings.timeout, connector.connect(name, stream)).await {
                Ok(Ok(mut tls_stream)) => {
                    let cert = verifier
                        .certificate()
                        .and_then(|der| tls::certificate_info(&der));
                    let detail = if t.kind == Kind::Https {
                        Some(http_status(&mut tls_stream, &host, settings.timeout).await)
                    } else {
                        None
                    };
                    (Verdict::Open, detail, cert)
                }
                Ok(Err(e)) => (
                    Verdict::Open,
                    Some(format!("tls: handshake failed: {e}")),
                    None,
                ),
                Err(_) => (
                    Verdict::Open,
                    Some("tls: no handshake answer (plain TCP?)".into()),
                    None,
                ),
            }
        }
    }
}

fn describe_stun(bytes: &[u8]) -> String {
    match stun::decode(bytes) {
        Ok(m) if m.kind == stun::BINDING_SUCCESS => {
            let mapped = m
                .mapped_address()
                .map(|a| a.to_string())
                .unwrap_or_else(|| "no address".into());
            match m.software() {
                Some(sw) => format!("stun: binding ok, mapped {mapped} ({sw})"),
                None => format!("stun: binding ok, mapped {mapped}"),
            }
        }
        Ok(m) => format!("stun: answer of type 0x{:04x}", m.kind),
        Err(e) => format!("stun: unreadable answer: {e}"),
    }
}

async fn probe_udp(t: &Target, settings: &Settings, seed: u64) -> (Verdict, Option<String>) {
    let dst = SocketAddr::new(t.destination, t.port);
    let bind = match t.source {
        Some(src) => SocketAddr::new(src, 0),
        None if dst.is_ipv4() => SocketAddr::new(IpAddr::from([0u8; 4]), 0),
        None => SocketAddr::new(IpAddr::from([0u16; 8]), 0),
    };
    let socket = match UdpSocket::bind(bind).await {
        Ok(s) => s,
        Err(e) => return (Verdict::Error, Some(explain_error(t, &e))),
    };
    if let Err(e) = socket.connect(dst).await {
        return (classify(&e, true), Some(e.to_string()));
    }
    let payload = match t.kind {
        Kind::Stun => {
            stun::binding_request(&transaction(seed), "portplan reachability check over UDP")
        }
        _ => format!("portplan-probe {seed:016x}").into_bytes(),
    };
    // two tries inside the timeout: a single lost datagram is not a verdict
    let deadline = Instant::now() + settings.timeout;
    let mut buf = vec![0u8; 1500];
    for attempt in 0..2 {
        if let Err(e) = socket.send(&payload).await {
            return (classify(&e, true), Some(e.to_string()));
        }
        let wait = if attempt == 0 {
            settings.timeout / 2
        } else {
            deadline.saturating_duration_since(Instant::now())
        };
        match tokio::time::timeout(wait, socket.recv(&mut buf)).await {
            Ok(Ok(n)) => {
                let answer = &buf[..n];
                let detail = if t.kind == Kind::Stun {
                    describe_stun(answer)
                } else if answer == payload.as_slice() {
                    "echo".to_string()
                } else {
                    format!("answered with {n} bytes")
                };
                return (Verdict::Answered, Some(detail));
            }
            Ok(Err(e)) => return (classify(&e, true), None),
            Err(_) => continue,
        }
    }
    (Verdict::Silent, None)
}

/// Probes one target.
pub async fn probe(t: Target, settings: Settings, seed: u64) -> Outcome {
    let started = Instant::now();
    let (verdict, detail, certificate) = match t.transport {
        Transport::Tcp => probe_tcp(&t, &settings, seed).await,
        Transport::Udp => {
            let (v, d) = probe_udp(&t, &settings, seed).await;
            (v, d, None)
        }
    };
    Outcome {
        target: t,
        verdict,
        detail,
        certificate,
        millis: started.elapsed().as_millis() as u64,
    }
}

/// Runs every target with at most `concurrency` in flight and at most `rate` started per second.
/// `progress` is called after each probe with (done, total). Results come back in target order.
pub async fn run(
    targets: Vec<Target>,
    settings: Settings,
    progress: impl Fn(usize, usize),
) -> Vec<Outcome> {
    let total = targets.len();
    let permits = Arc::new(tokio::sync::Semaphore::new(settings.concurrency.max(1)));
    let gap = Duration::from_secs_f64(1.0 / f64::from(settings.rate.max(1)));
    let mut ticker = tokio::time::interval(gap);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut set = tokio::task::JoinSet::new();
    let mut results: Vec<Option<Outcome>> = vec![None; total];
    let mut done = 0;
    for (i, t) in targets.into_iter().enumerate() {
        ticker.tick().await;
        let permit = permits
            .clone()
            .acquire_owned()
            .await
            .expect("semaphore open");
        set.spawn(async move {
            let outcome = probe(t, settings, i as u64 + 1).await;
            drop(permit);
            (i, outcome)
        });
        while let Some(Ok((i, o))) = set.try_join_next() {
            results[i] = Some(o);
            done += 1;
            progress(done, total);
        }
    }
    while let Some(joined) = set.join_next().await {
        if let Ok((i, o)) = joined {
            results[i] = Some(o);
            done += 1;
            progress(done, total);
        }
    }
    results.into_iter().flatten().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::targets::Kind;

    fn target(transport: Transport, port: u16, kind: Kind) -> Target {
        Target {
            flow: 1,
            rules: Vec::new(),
            rows: "test".into(),
            service: "test".into(),
            reason: String::new(),
            transport,
            port,
            range: None,
            source: None,
            destination: "127.0.0.1".parse().unwrap(),
            destination_host: "localhost".into(),
            nat_of: None,
            kind,
        }
    }

    fn quick() -> Settings {
        Settings {
            timeout: Duration::from_millis(400),
            concurrency: 4,
            rate: 1000,
        }
    }

    #[tokio::test]
    async fn open_and_refused_tcp_are_told_apart() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let open = probe(target(Transport::Tcp, port, Kind::Plain), quick(), 1).await;
        assert_eq!(open.verdict, Verdict::Open);
        drop(listener);
        let refused = probe(target(Transport::Tcp, port, Kind::Plain), quick(), 2).await;
        assert_eq!(refused.verdict, Verdict::Refused);
    }

    #[tokio::test]
    async fn silent_udp_is_not_called_closed() {
        // a bound socket that never answers
        let quiet = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let port = quiet.local_addr().unwrap().port();
        let o = probe(target(Transport::Udp, port, Kind::Plain), quick(), 3).await;
        assert_eq!(o.verdict, Verdict::Silent);
        drop(quiet);
        let closed = probe(target(Transport::Udp, port, Kind::Plain), quick(), 4).await;
        assert_eq!(
            closed.verdict,
            Verdict::Refused,
            "ICMP port unreachable on loopback"
        );
    }

    #[tokio::test]
    async fn a_source_address_not_on_this_host_is_an_error_not_a_verdict() {
        let mut t = target(Transport::Tcp, 9, Kind::Plain);
        t.source = Some("192.0.2.99".parse().unwrap());
        let o = probe(t, quick(), 5).await;
        assert_eq!(o.verdict, Verdict::Error);
        assert!(o.detail.unwrap().contains("address"));
    }

    #[tokio::test]
    async fn run_keeps_target_order_and_reports_progress() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let targets: Vec<Target> = (0..10)
            .map(|_| target(Transport::Tcp, port, Kind::Plain))
            .collect();
        let seen = std::sync::atomic::AtomicUsize::new(0);
        let out = run(targets, quick(), |done, total| {
            assert!(done <= total);
            seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        })
        .await;
        assert_eq!(out.len(), 10);
        assert_eq!(seen.load(std::sync::atomic::Ordering::SeqCst), 10);
        assert!(out.iter().all(|o| o.verdict == Verdict::Open));
    }
}
