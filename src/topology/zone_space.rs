//! Zones as routing sees them. A zone's networks may overlap another zone's (the internet is
//! usually `0.0.0.0/0`, which holds every perimeter and internal network); a router sends each
//! address to the most specific network that holds it. So the address space of a zone is its
//! networks minus every strictly more specific network of another zone. This is the one place that
//! rule is written; the planner and the audit both ask it.

use super::Topology;
use crate::plan::Family;
use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use std::net::{Ipv4Addr, Ipv6Addr};

fn bound(family: Family) -> u128 {
    match family {
        Family::V4 => u128::from(u32::MAX),
        Family::V6 => u128::MAX,
    }
}

fn value(net: &IpNet) -> (u128, u128) {
    match net {
        IpNet::V4(n) => (
            u128::from(u32::from(n.network())),
            u128::from(u32::from(n.broadcast())),
        ),
        IpNet::V6(n) => (u128::from(n.network()), u128::from(n.broadcast())),
    }
}

/// `[a, b]` minus sorted, disjoint `holes`.
fn cut(a: u128, b: u128, holes: &[(u128, u128)]) -> Vec<(u128, u128)> {
    let mut out = Vec::new();
    let mut next = Some(a);
    for &(x, y) in holes {
        let Some(n) = next else { break };
        if y < n || x > b {
            continue;
        }
        if x > n {
            out.push((n, x - 1));
        }
        next = y.checked_add(1);
    }
    if let Some(n) = next
        && n <= b
    {
        out.push((n, b));
    }
    out
}

/// Sorts inclusive intervals and merges overlapping or touching ones.
fn merge(mut v: Vec<(u128, u128)>) -> Vec<(u128, u128)> {
    v.sort_unstable();
    let mut out: Vec<(u128, u128)> = Vec::with_capacity(v.len());
    for (a, b) in v {
        match out.last_mut() {
            Some(last) if last.1.checked_add(1).is_none_or(|n| a <= n) => last.1 = last.1.max(b),
            _ => out.push((a, b)),
        }
    }
    out
}

/// The largest CIDR blocks covering `[a, b]` exactly, in order.
fn cidrs(a: u128, b: u128, family: Family) -> Vec<IpNet> {
    let bits: u32 = match family {
        Family::V4 => 32,
        Family::V6 => 128,
    };
    // the last address of the block of 2^k addresses starting at `at`, if it is aligned there
    let block_end = |at: u128, k: u32| -> Option<u128> {
        if k >= 128 {
            return (at == 0).then_some(u128::MAX);
        }
        let size = 1u128 << k;
        (at % size == 0).then(|| at + (size - 1))
    };
    let mut out = Vec::new();
    let mut at = a;
    loop {
        let (k, last) = (0..=bits)
            .rev()
            .find_map(|k| block_end(at, k).filter(|&e| e <= b).map(|e| (k, e)))
            .unwrap_or((0, at));
        let prefix = (bits - k) as u8;
        out.push(match family {
            Family::V4 => IpNet::V4(
                Ipv4Net::new(Ipv4Addr::from(at as u32), prefix).expect("prefix is at most 32"),
            ),
            Family::V6 => {
                IpNet::V6(Ipv6Net::new(Ipv6Addr::from(at), prefix).expect("prefix is at most 128"))
            }
        });
        if last >= b {
            break;
        }
        at = last + 1;
    }
    out
}

impl Topology {
    /// The addresses of one family that routing delivers to `zone`: its networks minus the more
    /// specific networks of every other zone (longest prefix wins), as sorted, disjoint inclusive
    /// intervals (IPv4 addresses as their 32-bit value). Empty for an unknown zone.
    pub fn zone_space(&self, zone: &str, family: Family) -> Vec<(u128, u128)> {
        let Some(z) = self.zone(zone) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for n in z.networks.iter().filter(|n| Family::of(n) == family) {
            let (a, b) = value(n);
            let holes = merge(
                self.zones
                    .iter()
                    .filter(|o| o.name != z.name)
                    .flat_map(|o| o.networks.iter())
                    .filter(|m| Family::of(m) == family && m.prefix_len() > n.prefix_len())
                    .map(value)
                    .filter(|&(x, y)| x <= b && y >= a)
                    .collect(),
            );
            out.extend(cut(a, b, &holes));
        }
        let merged = merge(out);
        debug_assert!(merged.iter().all(|&(_, y)| y <= bound(family)));
        merged
    }

    /// [`Topology::zone_space`] of both families as the fewest non-overlapping CIDR blocks.
    pub fn zone_space_nets(&self, zone: &str) -> Vec<IpNet> {
        [Family::V4, Family::V6]
            .into_iter()
            .flat_map(|f| {
                self.zone_space(zone, f)
                    .into_iter()
                    .flat_map(move |(a, b)| cidrs(a, b, f))
            })
            .collect()
    }

    /// Whether routing delivers any address of `net` to `zone`.
    pub fn zone_holds_some_of(&self, zone: &str, net: &IpNet) -> bool {
        let (a, b) = value(net);
        let space = self.zone_space(zone, Family::of(net));
        let at = space.partition_point(|x| x.1 < a);
        space.get(at).is_some_and(|x| x.0 <= b)
    }

    /// Whether routing delivers all of `net` to `zone` (no more specific network of another zone
    /// takes part of it).
    pub fn zone_holds_all_of(&self, zone: &str, net: &IpNet) -> bool {
        let (a, b) = value(net);
        let space = self.zone_space(zone, Family::of(net));
        let at = space.partition_point(|x| x.1 < a);
        space.get(at).is_some_and(|x| x.0 <= a && b <= x.1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nets(list: &[IpNet]) -> Vec<String> {
        list.iter().map(|n| n.to_string()).collect()
    }

    #[test]
    fn the_internet_is_everything_the_other_zones_do_not_claim() {
        let t = Topology::reference();
        let internet = t.zone_space_nets("internet");
        // the three other zones are carved out, nothing else
        for taken in ["203.0.113.5", "172.25.33.1", "10.10.200.1"] {
            let ip: std::net::IpAddr = taken.parse().unwrap();
            assert!(!internet.iter().any(|n| n.contains(&ip)), "{taken}");
        }
        for free in [
            "0.0.0.0",
            "8.8.8.8",
            "203.0.112.255",
            "203.0.114.0",
            "255.255.255.255",
        ] {
            let ip: std::net::IpAddr = free.parse().unwrap();
            assert_eq!(
                internet.iter().filter(|n| n.contains(&ip)).count(),
                1,
                "{free}"
            );
        }
        let size: u128 = t
            .zone_space("internet", Family::V4)
            .iter()
            .map(|(a, b)| b - a + 1)
            .sum();
        assert_eq!(size, (1u128 << 32) - 256 - 256 - 65536);
        // a zone nothing more specific overlaps keeps its networks as they are
        assert_eq!(nets(&t.zone_space_nets("internal")), ["10.10.0.0/16"]);
        assert!(t.zone_holds_all_of("perimeter-external", &"203.0.113.0/24".parse().unwrap()));
        assert!(!t.zone_holds_all_of("internet", &"0.0.0.0/0".parse().unwrap()));
        assert!(t.zone_space("nowhere", Family::V4).is_empty());
        assert!(t.zone_space("internet", Family::V6).is_empty());
    }

    #[test]
    fn cidr_blocks_cover_an_interval_exactly() {
        assert_eq!(
            nets(&cidrs(0, u128::from(u32::MAX), Family::V4)),
            ["0.0.0.0/0"]
        );
        assert_eq!(nets(&cidrs(0, u128::MAX, Family::V6)), ["::/0"]);
        assert_eq!(
            nets(&cidrs(10, 17, Family::V4)),
            ["0.0.0.10/31", "0.0.0.12/30", "0.0.0.16/31"]
        );
        assert_eq!(nets(&cidrs(5, 5, Family::V4)), ["0.0.0.5/32"]);
    }

    #[test]
    fn a_more_specific_network_of_the_same_zone_wins_back_its_addresses() {
        let text = Topology::reference_source().replace(
            "networks = [\"10.10.0.0/16\"]",
            "networks = [\"10.0.0.0/8\", \"10.10.0.0/16\"]",
        );
        let text = text.replace(
            "networks = [\"172.25.33.0/24\"]",
            "networks = [\"172.25.33.0/24\", \"10.0.0.0/12\"]",
        );
        let t = Topology::parse("t.toml", &text).unwrap();
        let ip = |s: &str| -> std::net::IpAddr { s.parse().unwrap() };
        let internal = t.zone_space_nets("internal");
        assert!(internal.iter().any(|n| n.contains(&ip("10.10.5.5"))));
        assert!(internal.iter().any(|n| n.contains(&ip("10.200.0.1"))));
        assert!(!internal.iter().any(|n| n.contains(&ip("10.1.0.1"))));
    }
}
