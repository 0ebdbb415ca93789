//! Packet classes as boxes: a source address interval × a destination address interval × a set of
//! protocols × a destination port interval, all inclusive. A [`Region`] is a union of disjoint boxes.
//! The evaluator works on regions, so a 10,000-port range or a /8 costs the same as one port.

use ipnet::IpNet;
use std::net::IpAddr;

/// An address as a number; IPv4 and IPv6 never meet in one box (a plan rule has one family).
pub fn addr_value(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(v4) => u128::from(u32::from(v4)),
        IpAddr::V6(v6) => u128::from(v6),
    }
}

pub fn value_addr(v: u128, v4: bool) -> IpAddr {
    if v4 {
        IpAddr::V4((v as u32).into())
    } else {
        IpAddr::V6(v.into())
    }
}

/// The inclusive address interval of a network.
pub fn net_interval(net: &IpNet) -> (u128, u128) {
    (addr_value(net.network()), addr_value(net.broadcast()))
}

pub const PROTO_TCP: u8 = 1;
pub const PROTO_UDP: u8 = 2;
/// Every other IP protocol (ICMP, ESP, …): rules that name them do not touch TCP/UDP flows.
pub const PROTO_OTHER: u8 = 4;
pub const PROTO_ALL: u8 = 7;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PacketBox {
    pub src: (u128, u128),
    pub dst: (u128, u128),
    pub proto: u8,
    pub port: (u16, u16),
}

fn overlap(a: (u128, u128), b: (u128, u128)) -> Option<(u128, u128)> {
    let lo = a.0.max(b.0);
    let hi = a.1.min(b.1);
    (lo <= hi).then_some((lo, hi))
}

fn overlap16(a: (u16, u16), b: (u16, u16)) -> Option<(u16, u16)> {
    let lo = a.0.max(b.0);
    let hi = a.1.min(b.1);
    (lo <= hi).then_some((lo, hi))
}

impl PacketBox {
    pub fn intersect(&self, o: &PacketBox) -> Option<PacketBox> {
        let proto = self.proto & o.proto;
        if proto == 0 {
            return None;
        }
        Some(PacketBox {
            src: overlap(self.src, o.src)?,
            dst: overlap(self.dst, o.dst)?,
            proto,
            port: overlap16(self.port, o.port)?,
        })
    }

    /// `self − o` as disjoint boxes (at most seven).
    pub fn minus(&self, o: &PacketBox) -> Vec<PacketBox> {
        let Some(inner) = self.intersect(o) else {
            return vec![*self];
        };
        let mut out = Vec::new();
        let mut rest = *self;
        // source
        if rest.src.0 < inner.src.0 {
            out.push(PacketBox {
                src: (rest.src.0, inner.src.0 - 1),
                ..rest
            });
        }
        if inner.src.1 < rest.src.1 {
            out.push(PacketBox {
                src: (inner.src.1 + 1, rest.src.1),
                ..rest
            });
        }
        rest.src = inner.src;
        // destination
        if rest.dst.0 < inner.dst.0 {
            out.push(PacketBox {
                dst: (rest.dst.0, inner.dst.0 - 1),
                ..rest
            });
        }
        if inner.dst.1 < rest.dst.1 {
            out.push(PacketBox {
                dst: (inner.dst.1 + 1, rest.dst.1),
                ..rest
            });
        }
        rest.dst = inner.dst;
        // protocol
        let other = rest.proto & !inner.proto;
        if other != 0 {
            out.push(PacketBox {
                proto: other,
                ..rest
            });
        }
        rest.proto = inner.proto;
        // port
        if rest.port.0 < inner.port.0 {
            out.push(PacketBox {
                port: (rest.port.0, inner.port.0 - 1),
                ..rest
            });
        }
        if inner.port.1 < rest.port.1 {
            out.push(PacketBox {
                port: (inner.port.1 + 1, rest.port.1),
                ..rest
            });
        }
        out
    }

    /// Number of (src, dst, proto, port) points, saturating.
    pub fn size(&self) -> u128 {
        let n = |a: (u128, u128)| (a.1 - a.0).saturating_add(1);
        n(self.src)
            .saturating_mul(n(self.dst))
            .saturating_mul(u128::from(self.proto.count_ones()))
            .saturating_mul(u128::from(self.port.1 - self.port.0) + 1)
    }
}

/// A union of disjoint boxes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Region(pub Vec<PacketBox>);

impl Region {
    pub fn of(b: PacketBox) -> Region {
        Region(vec![b])
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    pub fn intersect(&self, other: &Region) -> Region {
        let mut out = Vec::new();
        for a in &self.0 {
            for b in &other.0 {
                if let Some(x) = a.intersect(b) {
                    out.push(x);
                }
            }
        }
        Region(out)
    }
    pub fn minus(&self, other: &Region) -> Region {
        let mut cur = self.0.clone();
        for b in &other.0 {
            let mut next = Vec::with_capacity(cur.len());
            for a in &cur {
                next.extend(a.minus(b));
            }
            cur = next;
            if cur.is_empty() {
                break;
            }
        }
        Region(cur)
    }
    pub fn size(&self) -> u128 {
        self.0
            .iter()
            .map(|b| b.size())
            .fold(0u128, |a, b| a.saturating_add(b))
    }

    /// The union of possibly overlapping boxes, as disjoint boxes (so sizes do not double count).
    pub fn union_of(boxes: impl IntoIterator<Item = PacketBox>) -> Region {
        let mut disjoint = Region::default();
        for b in boxes {
            let fresh = Region::of(b).minus(&disjoint);
            disjoint.0.extend(fresh.0);
        }
        disjoint
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn bx(s: (u128, u128), d: (u128, u128), p: u8, port: (u16, u16)) -> PacketBox {
        PacketBox {
            src: s,
            dst: d,
            proto: p,
            port,
        }
    }

    #[test]
    fn a_port_range_splits_without_enumerating() {
        let all = bx((0, 0), (0, 0), PROTO_UDP, (50000, 59999));
        let hole = bx((0, 0), (0, 0), PROTO_UDP, (55000, 55000));
        let left = all.minus(&hole);
        assert_eq!(left.len(), 2);
        assert_eq!(Region(left).size(), 9999);
    }

    fn arb_box() -> impl Strategy<Value = PacketBox> {
        let iv = (0u128..20, 0u128..20).prop_map(|(a, b)| (a.min(b), a.max(b)));
        let pv = (0u16..20, 0u16..20).prop_map(|(a, b)| (a.min(b), a.max(b)));
        (iv.clone(), iv, 1u8..8, pv).prop_map(|(s, d, p, port)| bx(s, d, p, port))
    }

    fn contains(b: &PacketBox, p: (u128, u128, u8, u16)) -> bool {
        (b.src.0..=b.src.1).contains(&p.0)
            && (b.dst.0..=b.dst.1).contains(&p.1)
            && b.proto & p.2 != 0
            && (b.port.0..=b.port.1).contains(&p.3)
    }

    proptest! {
        #[test]
        fn minus_is_exact_and_disjoint(a in arb_box(), b in arb_box(), pts in prop::collection::vec((0u128..20, 0u128..20, prop::sample::select(vec![1u8, 2, 4]), 0u16..20), 50)) {
            let parts = a.minus(&b);
            for p in pts {
                let want = contains(&a, p) && !contains(&b, p);
                let hits = parts.iter().filter(|x| contains(x, p)).count();
                prop_assert_eq!(hits, usize::from(want));
            }
        }
    }
}
