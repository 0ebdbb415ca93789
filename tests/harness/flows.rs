//! Real traffic through the lab: TCP connects and UDP echoes from one namespace to another, with the
//! verdict the kernel gave, and the checks a plan implies (allowed flows and a sample it must drop).

use super::Lab;
use portplan::catalog::Transport;
use portplan::plan::{Plan, Router};
use portplan::topology::Topology;
use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

/// What the network did with a connection attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// TCP handshake completed / UDP echo came back.
    Open,
    /// The destination answered with a reset or port unreachable (reached, nothing listening).
    Refused,
    /// Nothing came back before the timeout: filtered.
    Dropped,
    /// An ICMP error said the destination cannot be reached.
    Unreachable,
    /// It got through, but the server saw another source address than the plan's (NAT wrong).
    WrongSource(IpAddr),
}

#[derive(Debug, Clone)]
pub struct Check {
    pub label: String,
    pub src_ns: String,
    pub src: IpAddr,
    pub dst_ns: String,
    pub dst: IpAddr,
    pub transport: Transport,
    pub port: u16,
    /// What the plan says: pass (Open) or drop (Dropped).
    pub expect_open: bool,
}

impl Check {
    fn key(&self) -> (IpAddr, IpAddr, Transport, u16) {
        (self.src, self.dst, self.transport, self.port)
    }
}

fn domain(ip: IpAddr) -> Domain {
    if ip.is_ipv4() {
        Domain::IPV4
    } else {
        Domain::IPV6
    }
}

/// Runs one check: listener (or echo responder) in the destination namespace, client bound to the
/// source address in the source namespace.
/// Where a static NAT stands between the ends, the client dials the public address and the server
/// must see the translated source.
pub fn run(lab: &Lab, c: &Check, timeout: Duration) -> Verdict {
    let dst = SocketAddr::new(c.dst, c.port);
    let src = SocketAddr::new(c.src, 0);
    let (dial, seen) = lab.translate(&c.src_ns, c.src, &c.dst_ns, c.dst);
    let dial = SocketAddr::new(dial, c.port);
    match c.transport {
        Transport::Tcp => {
            let listener = lab.in_ns(&c.dst_ns, move || {
                let s = Socket::new(domain(dst.ip()), Type::STREAM, Some(Protocol::TCP)).unwrap();
                s.set_reuse_address(true).unwrap();
                s.bind(&SockAddr::from(dst))
                    .unwrap_or_else(|e| panic!("bind {dst}: {e}"));
                s.listen(64).unwrap();
                s
            });
            let verdict = lab.in_ns(&c.src_ns, move || {
                let s = Socket::new(domain(src.ip()), Type::STREAM, Some(Protocol::TCP)).unwrap();
                // the kernel may hand this client an ephemeral port another check of the batch
                // listens on at the same address; with SO_REUSEADDR on both, neither bind fails
                s.set_reuse_address(true).unwrap();
                s.bind(&SockAddr::from(src))
                    .unwrap_or_else(|e| panic!("bind {src}: {e}"));
                match s.connect_timeout(&SockAddr::from(dial), timeout) {
                    Ok(()) => Verdict::Open,
                    Err(e) => classify(&e),
                }
            });
            let verdict = match verdict {
                Verdict::Open => match listener.accept() {
                    Ok((_, peer)) => match peer.as_socket() {
                        Some(p) if p.ip() != seen => Verdict::WrongSource(p.ip()),
                        _ => Verdict::Open,
                    },
                    Err(_) => Verdict::Open,
                },
                v => v,
            };
            drop(listener);
            verdict
        }
        Transport::Udp => {
            let responder = lab.in_ns(&c.dst_ns, move || {
                let s = Socket::new(domain(dst.ip()), Type::DGRAM, Some(Protocol::UDP)).unwrap();
                s.set_reuse_address(true).unwrap();
                s.bind(&SockAddr::from(dst))
                    .unwrap_or_else(|e| panic!("bind udp {dst}: {e}"));
                s
            });
            let echo = std::thread::spawn(move || {
                let sock: std::net::UdpSocket = responder.into();
                sock.set_read_timeout(Some(timeout)).unwrap();
                let mut buf = [0u8; 64];
                if let Ok((n, peer)) = sock.recv_from(&mut buf) {
                    let _ = sock.send_to(&buf[..n], peer);
                    return Some(peer.ip());
                }
                None
            });
            let verdict = lab.in_ns(&c.src_ns, move || {
                let s = Socket::new(domain(src.ip()), Type::DGRAM, Some(Protocol::UDP)).unwrap();
                s.set_reuse_address(true).unwrap();
                s.bind(&SockAddr::from(src))
                    .unwrap_or_else(|e| panic!("bind udp {src}: {e}"));
                // no route to the destination is the network's answer, not a test failure
                if let Err(e) = s.connect(&SockAddr::from(dial)) {
                    return classify(&e);
                }
                let sock: std::net::UdpSocket = s.into();
                sock.set_read_timeout(Some(timeout)).unwrap();
                if let Err(e) = sock.send(b"portplan-check") {
                    return classify(&e);
                }
                let mut buf = [0u8; 64];
                match sock.recv(&mut buf) {
                    Ok(n) if &buf[..n] == b"portplan-check" => Verdict::Open,
                    Ok(_) => Verdict::Dropped,
                    Err(e) => classify(&e),
                }
            });
            let peer = echo.join().unwrap();
            match (verdict, peer) {
                (Verdict::Open, Some(p)) if p != seen => Verdict::WrongSource(p),
                (v, _) => v,
            }
        }
    }
}

fn classify(e: &std::io::Error) -> Verdict {
    match e.kind() {
        std::io::ErrorKind::ConnectionRefused => Verdict::Refused,
        std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock => Verdict::Dropped,
        _ => match e.raw_os_error() {
            Some(libc::EHOSTUNREACH) | Some(libc::ENETUNREACH) => Verdict::Unreachable,
            _ => Verdict::Dropped,
        },
    }
}

/// Runs checks: expected-open ones one by one (they answer at once), expected-drop ones in parallel
/// threads since each waits for its timeout. Returns every check whose verdict differs from the
/// plan's expectation, with the verdict.
pub fn run_all(lab: &Lab, checks: &[Check]) -> Vec<(Check, Verdict)> {
    run_all_batched(lab, checks, 24)
}

/// [`run_all`] with up to `batch` expected-drop checks waiting for their timeout at once.
pub fn run_all_batched(lab: &Lab, checks: &[Check], batch: usize) -> Vec<(Check, Verdict)> {
    let mut wrong = Vec::new();
    for c in checks.iter().filter(|c| c.expect_open) {
        let v = run(lab, c, Duration::from_secs(3));
        if v != Verdict::Open {
            wrong.push((c.clone(), v));
        }
    }
    // drop checks wait for their timeout, so they run in parallel batches; within a batch each
    // destination socket appears once (two listeners cannot bind the same address and port)
    let mut batches: Vec<Vec<&Check>> = Vec::new();
    for c in checks.iter().filter(|c| !c.expect_open) {
        let fits = |b: &Vec<&Check>| {
            b.len() < batch
                && !b
                    .iter()
                    .any(|x| x.dst == c.dst && x.port == c.port && x.transport == c.transport)
        };
        match batches.iter_mut().find(|b| fits(b)) {
            Some(b) => b.push(c),
            None => batches.push(vec![c]),
        }
    }
    for batch in &batches {
        let results: Vec<(Check, Verdict)> = std::thread::scope(|scope| {
            let handles: Vec<_> = batch
                .iter()
                .map(|c| {
                    let c = (*c).clone();
                    scope.spawn(move || {
                        let v = run(lab, &c, Duration::from_millis(600));
                        (c, v)
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        wrong.extend(results.into_iter().filter(|(_, v)| *v != Verdict::Dropped));
    }
    wrong
}

/// The most specific topology zone containing an address.
pub fn zone_of(t: &Topology, ip: IpAddr) -> Option<String> {
    t.zones
        .iter()
        .filter_map(|z| {
            z.networks
                .iter()
                .filter(|n| n.contains(&ip))
                .map(|n| n.prefix_len())
                .max()
                .map(|len| (len, z.name.clone()))
        })
        .max()
        .map(|(_, z)| z)
}

/// Whether the plan lets a new connection through every firewall on its path.
pub fn plan_allows(
    t: &Topology,
    plan: &Plan,
    src: IpAddr,
    dst: IpAddr,
    transport: Transport,
    port: u16,
) -> bool {
    let router = Router::new(t);
    let (Some(sz), Some(dz)) = (zone_of(t, src), zone_of(t, dst)) else {
        return false;
    };
    let Some(path) = router.path(&sz, &dz) else {
        return false;
    };
    !path.is_empty()
        && path.iter().all(|hop| {
            plan.rules_for(&hop.firewall).any(|r| {
                r.ingress_interface == hop.ingress_interface
                    && r.egress_interface == hop.egress_interface
                    && r.transport == transport
                    && r.ports.contains(port)
                    && r.source.members.iter().any(|m| m.net.contains(&src))
                    && r.destination.members.iter().any(|m| m.net.contains(&dst))
            })
        })
}

/// Flows the plan allows: for every rule, first/last/middle port between representative members.
pub fn allowed_checks(lab: &Lab, plan: &Plan) -> (Vec<Check>, usize) {
    checks_per_rule(lab, plan, |r| {
        let mid = r.ports.start + ((r.ports.end - r.ports.start) / 2);
        vec![
            (false, false, r.ports.start),
            (true, true, r.ports.end),
            (false, true, mid),
        ]
    })
}

/// A smaller sample of the flows the plan allows: every rule on its first port (first members of
/// both ends), then every port range on its last port (last members).
pub fn rule_checks(lab: &Lab, plan: &Plan) -> (Vec<Check>, usize) {
    let (mut checks, unplaceable) =
        checks_per_rule(lab, plan, |r| vec![(false, false, r.ports.start)]);
    let (ends, more) = checks_per_rule(lab, plan, |r| {
        if r.ports.end != r.ports.start {
            vec![(true, true, r.ports.end)]
        } else {
            Vec::new()
        }
    });
    for c in ends {
        if !checks.iter().any(|x| x.key() == c.key()) {
            checks.push(c);
        }
    }
    (checks, unplaceable + more)
}

/// One check per (source member from the end?, destination member from the end?, port) `picks`
/// gives for a rule, deduplicated; also the count of picks with no lab host at one end.
fn checks_per_rule(
    lab: &Lab,
    plan: &Plan,
    picks: impl Fn(&portplan::plan::Rule) -> Vec<(bool, bool, u16)>,
) -> (Vec<Check>, usize) {
    let mut checks: Vec<Check> = Vec::new();
    let mut unplaceable = 0;
    for r in &plan.rules {
        let pick = |g: &portplan::plan::Group, last: bool| -> Option<(String, IpAddr)> {
            let mut members = g.members.iter().collect::<Vec<_>>();
            if last {
                members.reverse();
            }
            members.iter().find_map(|m| lab.host_in(&g.zone, &m.net))
        };
        for (src_last, dst_last, port) in picks(r) {
            let (Some((sns, sip)), Some((dns, dip))) =
                (pick(&r.source, src_last), pick(&r.destination, dst_last))
            else {
                unplaceable += 1;
                continue;
            };
            let c = Check {
                label: format!(
                    "r{} {} {} {}/{}",
                    r.id,
                    r.service,
                    r.rows_text(),
                    r.transport,
                    port
                ),
                src_ns: sns,
                src: sip,
                dst_ns: dns,
                dst: dip,
                transport: r.transport,
                port,
                expect_open: true,
            };
            if !checks.iter().any(|x| x.key() == c.key()) {
                checks.push(c);
            }
        }
    }
    (checks, unplaceable)
}

/// Flows the plan must drop: each rule reversed (one-way rows), one port past each end of its range,
/// and the other transport on its first port — whichever of those no rule allows.
pub fn denied_checks(t: &Topology, plan: &Plan, allowed: &[Check]) -> Vec<Check> {
    let mut out: Vec<Check> = Vec::new();
    let mut push = |c: Check| {
        if !plan_allows(t, plan, c.src, c.dst, c.transport, c.port)
            && !out.iter().any(|x| {
                x.key() == c.key()
                    || (x.dst == c.dst && x.port == c.port && x.transport == c.transport)
            })
        {
            out.push(c);
        }
    };
    for a in allowed {
        let base = Check {
            expect_open: false,
            ..a.clone()
        };
        push(Check {
            label: format!("reverse of {}", a.label),
            src_ns: a.dst_ns.clone(),
            src: a.dst,
            dst_ns: a.src_ns.clone(),
            dst: a.src,
            ..base.clone()
        });
        for port in [a.port.wrapping_add(1), a.port.wrapping_sub(1)] {
            if port != 0 {
                push(Check {
                    label: format!("{} but port {port}", a.label),
                    port,
                    ..base.clone()
                });
            }
        }
        let other = match a.transport {
            Transport::Tcp => Transport::Udp,
            Transport::Udp => Transport::Tcp,
        };
        push(Check {
            label: format!("{} but {other}", a.label),
            transport: other,
            ..base.clone()
        });
    }
    out
}

/// Networks of a check's ends, for messages.
pub fn describe(c: &Check, v: Verdict) -> String {
    format!(
        "{}: {} {} -> {} port {} expected {}, kernel said {v:?}",
        c.label,
        c.transport,
        c.src,
        c.dst,
        c.port,
        if c.expect_open { "open" } else { "dropped" }
    )
}
