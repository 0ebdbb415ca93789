//! The status lines of `portplan listen`: what it opened, that it listens, and what it served.

use crate::probe::listener::{BindReport, DescriptorLimit, Stats};
use std::sync::atomic::Ordering::Relaxed;

/// The opening block: the server, the sockets the plan gives it, the open-file limit, then one
/// line per group of sockets with its state.
pub fn opened(
    server: &str,
    role: &str,
    sockets: usize,
    limit: &DescriptorLimit,
    report: &BindReport,
) -> String {
    let mut text = format!(
        "portplan listen: {server} ({role}) - {sockets} socket(s) from the plan\nopen-file limit: {}{} (hard limit {})\n",
        if limit.raised() {
            format!("raised from {} to ", limit.before)
        } else {
            String::new()
        },
        limit.soft,
        limit.hard_text()
    );
    for g in &report.groups {
        let sample = match g.sampled_from {
            Some(r) => format!(" [sample of {r}]"),
            None => String::new(),
        };
        let count = if g.count > 1 {
            format!(" ({} ports)", g.count)
        } else {
            String::new()
        };
        text.push_str(&format!(
            "  {:<3} {:<15} {:<12} {}{count} {}{sample}\n",
            g.transport,
            g.address.to_string(),
            g.service,
            g.ports_text(),
            g.state
        ));
    }
    text
}

/// The line printed once the listener serves (a caller may wait for it before sending traffic).
pub fn listening(
    report: &BindReport,
    sockets: usize,
    max_connections: usize,
    per_peer: usize,
) -> String {
    format!(
        "listening on {} of {sockets} socket(s); at most {max_connections} connection(s) at once, {per_peer} per peer; Ctrl-C stops\n",
        report.listening,
    )
}

/// The closing line: what the listener answered and refused while it ran.
pub fn stopped(stats: &Stats) -> String {
    format!(
        "stopped: {} connection(s), {} refused by the per-peer cap, {} by the total cap, {} accept pause(s) for want of descriptors, {} STUN answer(s), {} HTTP answer(s), {} TLS handshake(s), {} UDP echo(es), {} UDP datagram(s) not answered\n",
        stats.connections.load(Relaxed),
        stats.connections_refused_by_cap.load(Relaxed),
        stats.connections_refused_by_total_cap.load(Relaxed),
        stats.accept_paused_out_of_descriptors.load(Relaxed),
        stats.stun_answers.load(Relaxed),
        stats.http_answers.load(Relaxed),
        stats.tls_handshakes.load(Relaxed),
        stats.udp_echoes.load(Relaxed),
        stats.udp_not_answered.load(Relaxed),
    )
}
