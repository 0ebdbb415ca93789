//! What every firewall parser produces: chains of rules whose matches are address, protocol and
//! port sets (with negation), plus how a forwarded packet enters them. Anything a parser cannot
//! interpret stays visible: as an unparsed line, or as a rule marked uncertain.

use super::space::{Intervals, PROTO_ALL, PROTO_TCP, PROTO_UDP, Product, Region, normalize};
use crate::plan::Family;
use serde::{Deserialize, Serialize};
use std::sync::{Arc, OnceLock};

/// Where a rule came from: a line number (text formats) or a description (nft JSON handles).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Location {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    pub text: String,
}

impl Location {
    pub fn line(line: usize, text: &str) -> Location {
        Location {
            line: Some(line),
            text: text.trim().to_string(),
        }
    }
    pub fn label(&self) -> String {
        match self.line {
            Some(l) => format!("line {l}"),
            None => self.text.clone(),
        }
    }
}

/// A set of addresses of both families, as inclusive intervals.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AddrSet {
    pub v4: Vec<(u128, u128)>,
    pub v6: Vec<(u128, u128)>,
}

impl AddrSet {
    pub fn push_net(&mut self, net: &ipnet::IpNet) {
        let iv = super::space::net_interval(net);
        match net {
            ipnet::IpNet::V4(_) => self.v4.push(iv),
            ipnet::IpNet::V6(_) => self.v6.push(iv),
        }
    }
    pub fn push_range(&mut self, a: std::net::IpAddr, b: std::net::IpAddr) {
        let iv = (super::space::addr_value(a), super::space::addr_value(b));
        if a.is_ipv4() {
            self.v4.push(iv)
        } else {
            self.v6.push(iv)
        }
    }
    pub fn any() -> AddrSet {
        AddrSet {
            v4: vec![(0, u128::from(u32::MAX))],
            v6: vec![(0, u128::MAX)],
        }
    }
    fn intervals(&self, family: Family) -> &[(u128, u128)] {
        match family {
            Family::V4 => &self.v4,
            Family::V6 => &self.v6,
        }
    }
}

/// An address set as rules hold it: built once and shared (cloning is a reference count), so an
/// ipset, an nft named set or an ASA group used by thousands of rules exists once in memory. Each
/// family's sorted, disjoint intervals and their complement are computed on first use, once for
/// every rule that shares the set.
#[derive(Clone)]
pub struct SharedSet(Arc<SharedInner>);

struct SharedInner {
    set: AddrSet,
    /// normalized v4, normalized v6, complement v4, complement v6
    lists: [OnceLock<Intervals>; 4],
}

impl SharedSet {
    pub fn new(set: AddrSet) -> SharedSet {
        SharedSet(Arc::new(SharedInner {
            set,
            lists: Default::default(),
        }))
    }

    /// The family's addresses as sorted, disjoint intervals (computed once).
    pub fn normalized(&self, family: Family) -> &Intervals {
        let slot = match family {
            Family::V4 => &self.0.lists[0],
            Family::V6 => &self.0.lists[1],
        };
        slot.get_or_init(|| normalize(self.0.set.intervals(family).to_vec()).into())
    }

    /// The family's addresses not in the set, as sorted, disjoint intervals (computed once).
    pub fn complement(&self, family: Family) -> &Intervals {
        let slot = match family {
            Family::V4 => &self.0.lists[2],
            Family::V6 => &self.0.lists[3],
        };
        slot.get_or_init(|| complement(self.normalized(family), full_range(family)).into())
    }
}

impl std::ops::Deref for SharedSet {
    type Target = AddrSet;
    fn deref(&self) -> &AddrSet {
        &self.0.set
    }
}

impl From<AddrSet> for SharedSet {
    fn from(set: AddrSet) -> SharedSet {
        SharedSet::new(set)
    }
}

impl PartialEq for SharedSet {
    fn eq(&self, other: &SharedSet) -> bool {
        Arc::ptr_eq(&self.0, &other.0) || self.0.set == other.0.set
    }
}

impl Eq for SharedSet {}

impl std::fmt::Debug for SharedSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.set.fmt(f)
    }
}

/// Every address of one family, as one inclusive interval.
pub fn full_range(family: Family) -> (u128, u128) {
    match family {
        Family::V4 => (0, u128::from(u32::MAX)),
        Family::V6 => (0, u128::MAX),
    }
}

/// An address match: the (shared) set, possibly negated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddrMatch {
    pub set: SharedSet,
    pub negated: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortMatch {
    pub ranges: Vec<(u16, u16)>,
    pub negated: bool,
}

/// An interface match (`eth+` style wildcards end in `+` or `*`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IfaceMatch {
    pub name: String,
    pub negated: bool,
}

impl IfaceMatch {
    pub fn matches(&self, iface: &str) -> bool {
        let hit = match self
            .name
            .strip_suffix('+')
            .or_else(|| self.name.strip_suffix('*'))
        {
            Some(prefix) => iface.starts_with(prefix),
            None => self.name == iface,
        };
        hit != self.negated
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Accept,
    /// Drop or reject.
    Drop,
    Return,
    Jump(String),
    Goto(String),
    /// Logging, counting, marking: the packet goes on to the next rule.
    Continue,
    /// The rule may decide the packet's fate in a way portplan could not read (a verdict map it
    /// does not model, a target it does not know). Only ever on a rule marked uncertain.
    Unknown,
}

#[derive(Debug, Clone)]
pub struct Rule {
    pub at: Location,
    /// Only packets of this family (e.g. `ip saddr` in an inet table); `None` = both.
    pub family: Option<Family>,
    pub iif: Option<IfaceMatch>,
    pub oif: Option<IfaceMatch>,
    pub src: Option<AddrMatch>,
    pub dst: Option<AddrMatch>,
    /// Protocol bits (PROTO_*), possibly negated.
    pub proto: Option<(u8, bool)>,
    pub dport: Option<PortMatch>,
    /// Whether the rule's connection-state match admits a new connection (`None`: no state match).
    pub new_connections: Option<bool>,
    /// Whether the rule's connection-state match admits a packet of an established connection
    /// (`None`: no state match).
    pub established: Option<bool>,
    /// Whether the rule's connection-state match admits a packet conntrack has not looked at yet
    /// (a chain before the conntrack hook sees every packet as state `invalid`; `None`: no state
    /// match).
    pub ct_invalid: Option<bool>,
    /// A TCP flags match: `(mask, compare, negated)` matches when `flags & mask == compare`
    /// (inverted when negated). iptables `--syn` is `(SYN|RST|ACK|FIN, SYN, false)`.
    pub tcp_flags: Option<(u8, u8, bool)>,
    pub action: Action,
    /// Set when part of the rule could not be interpreted; its match is then only "maybe".
    pub uncertain: Option<String>,
    /// The region of each family, computed on first use.
    cache: [OnceLock<Region>; 2],
    /// The match of each family as a product of interval sets, computed on first use.
    product_cache: [OnceLock<Product>; 2],
}

impl Rule {
    pub fn new(at: Location, action: Action) -> Rule {
        Rule {
            at,
            family: None,
            iif: None,
            oif: None,
            src: None,
            dst: None,
            proto: None,
            dport: None,
            new_connections: None,
            established: None,
            ct_invalid: None,
            tcp_flags: None,
            action,
            uncertain: None,
            cache: Default::default(),
            product_cache: Default::default(),
        }
    }

    /// What the rule matches in one family, as one product of interval sets (computed once).
    pub fn product(&self, family: Family) -> &Product {
        let slot = match family {
            Family::V4 => &self.product_cache[0],
            Family::V6 => &self.product_cache[1],
        };
        slot.get_or_init(|| self.compute_product(family))
    }

    fn compute_product(&self, family: Family) -> Product {
        // a shared set's lists are shared too: a product costs no copy of the set
        let addr = |m: &Option<AddrMatch>| -> Intervals {
            match m {
                None => Arc::from([full_range(family)]),
                Some(m) if m.negated => m.set.complement(family).clone(),
                Some(m) => m.set.normalized(family).clone(),
            }
        };
        let mut proto = match self.proto {
            None => PROTO_ALL,
            Some((bits, false)) => bits,
            Some((bits, true)) => PROTO_ALL & !bits,
        };
        let port: Vec<(u16, u16)> = match &self.dport {
            None => vec![(0, u16::MAX)],
            Some(p) => {
                proto &= PROTO_TCP | PROTO_UDP;
                let set = normalize(p.ranges.clone());
                if p.negated {
                    let wide: Vec<(u128, u128)> = set
                        .iter()
                        .map(|(a, b)| (u128::from(*a), u128::from(*b)))
                        .collect();
                    complement(&wide, (0, u128::from(u16::MAX)))
                        .into_iter()
                        .map(|(a, b)| (a as u16, b as u16))
                        .collect()
                } else {
                    set
                }
            }
        };
        Product {
            src: addr(&self.src),
            dst: addr(&self.dst),
            proto,
            port: port.into(),
        }
    }

    /// Whether the rule can match this kind of packet of this family between these interfaces.
    pub fn applies(&self, family: Family, iif: &str, oif: &str, packet: Packet) -> bool {
        let state = if packet.before_conntrack {
            // a state match that does not say how it treats `invalid` cannot match for sure;
            // every parser that sets the other two sets this one too
            self.ct_invalid.or(self.new_connections.map(|_| false))
        } else if packet.established {
            self.established
        } else {
            self.new_connections
        };
        self.family.is_none_or(|f| f == family)
            && self.iif.as_ref().is_none_or(|m| m.matches(iif))
            && self.oif.as_ref().is_none_or(|m| m.matches(oif))
            && state != Some(false)
            && self
                .tcp_flags
                .is_none_or(|(mask, cmp, neg)| (packet.tcp_flags & mask == cmp) != neg)
    }

    /// The packets of one family the rule matches, as a region (computed once per family).
    pub fn region(&self, family: Family) -> &Region {
        let slot = match family {
            Family::V4 => &self.cache[0],
            Family::V6 => &self.cache[1],
        };
        slot.get_or_init(|| self.compute_region(family))
    }

    fn compute_region(&self, family: Family) -> Region {
        self.product(family).region()
    }
}

/// TCP header flag bits, as the kernel numbers them.
pub mod tcp {
    pub const FIN: u8 = 0x01;
    pub const SYN: u8 = 0x02;
    pub const RST: u8 = 0x04;
    pub const PSH: u8 = 0x08;
    pub const ACK: u8 = 0x10;
    pub const URG: u8 = 0x20;
    pub const ECE: u8 = 0x40;
    pub const CWR: u8 = 0x80;
}

/// Which packet of a connection is evaluated: its connection-tracking state and, for TCP, its
/// flags. A flow works only when its first packet (a new connection, SYN), the server's first
/// reply (established, SYN+ACK) and the packets after (established, ACK) all pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Packet {
    pub established: bool,
    pub tcp_flags: u8,
    /// The chain runs before connection tracking (netdev ingress, prerouting below priority
    /// -200, the iptables raw table): the packet has no conntrack entry yet, and a state match
    /// sees it as `invalid` whichever packet of the connection it is.
    pub before_conntrack: bool,
}

impl Packet {
    /// The first packet of a new connection.
    pub const NEW: Packet = Packet {
        established: false,
        tcp_flags: tcp::SYN,
        before_conntrack: false,
    };
    /// The server's first reply.
    pub const SYN_ACK: Packet = Packet {
        established: true,
        tcp_flags: tcp::SYN | tcp::ACK,
        before_conntrack: false,
    };
    /// Any later packet of the connection, either way.
    pub const ACK: Packet = Packet {
        established: true,
        tcp_flags: tcp::ACK,
        before_conntrack: false,
    };
}

/// `full − set` for inclusive intervals.
pub fn complement(set: &[(u128, u128)], full: (u128, u128)) -> Vec<(u128, u128)> {
    let mut sorted = set.to_vec();
    sorted.sort();
    let mut out = Vec::new();
    let mut next = full.0;
    let mut done = false;
    for (a, b) in sorted {
        let (a, b) = (a.max(full.0), b.min(full.1));
        if a > b {
            continue;
        }
        if a > next {
            out.push((next, a - 1));
        }
        if b >= full.1 {
            done = true;
            break;
        }
        next = next.max(b + 1);
    }
    if !done && next <= full.1 {
        out.push((next, full.1));
    }
    out
}

#[derive(Debug, Clone)]
pub struct Chain {
    pub name: String,
    pub rules: Vec<Rule>,
}

/// How a forwarded packet meets the configuration: the chains it passes in order.
#[derive(Debug, Clone)]
pub struct Entry {
    pub chain: String,
    /// Only packets of this family pass this entry (an nftables `ip` or `ip6` table).
    pub family: Option<Family>,
    /// Only for packets arriving on / leaving through this interface (ASA ACL bindings).
    pub iif: Option<String>,
    pub oif: Option<String>,
    /// What happens to a packet that falls off the end: accept (`true`) or drop.
    pub policy_accept: bool,
    pub policy_at: Location,
    /// The chain sees only the first packet of a connection (an nftables chain of type nat).
    pub first_packet_only: bool,
    /// The chain runs before connection tracking (see [`Packet::before_conntrack`]).
    pub before_conntrack: bool,
}

/// A line the parser could not use.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Unparsed {
    pub line: usize,
    pub text: String,
    pub why: String,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub format: &'static str,
    pub chains: Vec<Chain>,
    pub entries: Vec<Entry>,
    pub unparsed: Vec<Unparsed>,
    /// Families the configuration speaks for (iptables-save covers IPv4 only).
    pub families: Vec<Family>,
    /// Said about the configuration as a whole (e.g. an ASA interface without an ACL).
    pub notes: Vec<String>,
    /// Address translations the configuration performs on forwarded packets, in the order the
    /// device applies them (destination NAT before filtering, source NAT after).
    pub nat: Vec<Nat>,
    /// Chain name -> position in `chains`, built on first look-up.
    pub chain_index: std::sync::OnceLock<std::collections::HashMap<String, usize>>,
}

/// Which address a translation rewrites.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum NatKind {
    /// The destination (nft `dnat`, iptables `-j DNAT`, the inbound half of an ASA static NAT).
    Destination,
    /// The source (nft `snat`, iptables `-j SNAT`, the outbound half of an ASA static NAT).
    Source,
    /// The source, to the address of the egress interface (`masquerade`, ASA `interface` PAT).
    Masquerade,
}

/// One translation: the packets it applies to (a rule whose action is [`Action::Continue`]) and
/// what it rewrites them to. `to` is `None` when the target could not be read; the rule is then
/// marked uncertain.
#[derive(Debug, Clone)]
pub struct Nat {
    pub kind: NatKind,
    pub matches: Rule,
    pub to: Option<AddrSet>,
    /// The port (range) the destination or source port is rewritten to, when it is.
    pub to_ports: Option<(u16, u16)>,
    /// `to` is one aligned network and each address keeps its host part (iptables NETMAP, an ASA
    /// static NAT between networks of one size): `a` becomes `to.start + a mod |to|`. Otherwise
    /// every matched address becomes `to` (one address) or one of its addresses.
    pub one_to_one: bool,
}

impl Config {
    /// The chain of that name (the first one, should two share it), by hash look-up.
    pub fn chain(&self, name: &str) -> Option<&Chain> {
        let index = self.chain_index.get_or_init(|| {
            let mut m = std::collections::HashMap::with_capacity(self.chains.len());
            for (i, c) in self.chains.iter().enumerate() {
                m.entry(c.name.clone()).or_insert(i);
            }
            m
        });
        index.get(name).map(|&i| &self.chains[i])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn complement_fills_the_gaps() {
        assert_eq!(complement(&[(10, 20)], (0, 100)), vec![(0, 9), (21, 100)]);
        assert_eq!(complement(&[(0, 100)], (0, 100)), vec![]);
        assert_eq!(complement(&[], (0, 5)), vec![(0, 5)]);
        assert_eq!(
            complement(&[(5, 7), (1, 2)], (0, 10)),
            vec![(0, 0), (3, 4), (8, 10)]
        );
        assert_eq!(complement(&[(0, u128::MAX)], (0, u128::MAX)), vec![]);
    }

    #[test]
    fn interface_wildcards() {
        let m = IfaceMatch {
            name: "eth+".into(),
            negated: false,
        };
        assert!(m.matches("eth0") && !m.matches("dmz"));
        let n = IfaceMatch {
            name: "dmz".into(),
            negated: true,
        };
        assert!(n.matches("outside") && !n.matches("dmz"));
    }
}
