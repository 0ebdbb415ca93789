//! A reference walk of one concrete packet through a parsed [`Config`], independent of the audit
//! evaluator: entries in order, jumps and gotos followed, an uncertain rule that matches makes
//! the verdict unknown. Shared by the nft reader tests and the namespace differential test.
#![allow(dead_code)]

use portplan::audit::model::{Action, Config};
use portplan::audit::space::{PROTO_OTHER, PROTO_TCP, PROTO_UDP, addr_value};
use portplan::plan::Family;
use std::net::IpAddr;

#[derive(Debug, Clone)]
pub struct Pkt {
    pub iif: String,
    pub oif: String,
    pub src: IpAddr,
    pub dst: IpAddr,
    /// "tcp", "udp" or anything else.
    pub proto: &'static str,
    pub dport: u16,
}

enum Out {
    Accept,
    Drop,
    Fall,
    Unknown(String),
}

/// `Ok(true)`: forwarded; `Ok(false)`: dropped; `Err(why)`: an uncertain rule decides.
pub fn verdict(c: &Config, p: &Pkt) -> Result<bool, String> {
    let family = if p.src.is_ipv4() {
        Family::V4
    } else {
        Family::V6
    };
    for e in &c.entries {
        if e.family.is_some_and(|f| f != family)
            || e.iif.as_ref().is_some_and(|d| *d != p.iif)
            || e.oif.as_ref().is_some_and(|d| *d != p.oif)
        {
            continue;
        }
        match run(c, &e.chain, p, family, 0) {
            Out::Accept => continue,
            Out::Drop => return Ok(false),
            Out::Unknown(w) => return Err(w),
            Out::Fall => {
                if !e.policy_accept {
                    return Ok(false);
                }
            }
        }
    }
    Ok(true)
}

fn run(c: &Config, chain: &str, p: &Pkt, family: Family, depth: usize) -> Out {
    if depth > 40 {
        return Out::Unknown("jump depth".into());
    }
    let Some(ch) = c.chain(chain) else {
        return Out::Unknown(format!("no chain {chain}"));
    };
    let bit = match p.proto {
        "tcp" => PROTO_TCP,
        "udp" => PROTO_UDP,
        _ => PROTO_OTHER,
    };
    let (s, d) = (addr_value(p.src), addr_value(p.dst));
    for r in &ch.rules {
        if !r.applies(family, &p.iif, &p.oif, portplan::audit::model::Packet::NEW) {
            continue;
        }
        let hit = r.region(family).0.iter().any(|b| {
            b.src.0 <= s
                && s <= b.src.1
                && b.dst.0 <= d
                && d <= b.dst.1
                && b.proto & bit != 0
                && (bit == PROTO_OTHER || (b.port.0 <= p.dport && p.dport <= b.port.1))
        });
        if !hit {
            continue;
        }
        if let Some(u) = &r.uncertain {
            return Out::Unknown(format!("{}: {u}", r.at.label()));
        }
        match &r.action {
            Action::Accept => return Out::Accept,
            Action::Drop => return Out::Drop,
            Action::Return => return Out::Fall,
            Action::Continue => {}
            Action::Unknown => return Out::Unknown(format!("{}: verdict unknown", r.at.label())),
            Action::Jump(t) => match run(c, t, p, family, depth + 1) {
                Out::Fall => {}
                other => return other,
            },
            Action::Goto(t) => return run(c, t, p, family, depth + 1),
        }
    }
    Out::Fall
}
