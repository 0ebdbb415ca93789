//! Random deployments for the property tests and the namespace tests, deterministic from a seed.
//!
//! A draw is a whole, sensible deployment as a user could write it: an external firewall in front of
//! a perimeter network, an internal firewall behind it, and sometimes a core (and a voice) firewall
//! segmenting the internal network; an Edge pool in one of its variants (single, DNS or HLB, with
//! public addresses or behind static NAT), a Director (none, single, HLB, DNS+HLB), Front End pools,
//! reverse proxy, Office Web Apps, Mediation, Persistent Chat, PSTN gateways and survivable branches;
//! IPv6 next to IPv4 sometimes; features switched on when their roles exist; names drawn from every
//! character a name may use, up to the length limits (and close look-alikes of each other); random
//! private and public address plans. The same seed always gives the same text.
//!
//! [`check`] runs what `portplan check` runs, so callers keep the draws it accepts and can say why
//! the others were refused.

use super::Rng;
use portplan::plan::{self, Plan};
use portplan::topology::{Severity, Topology, lint};
use std::collections::BTreeSet;
use std::fmt::Write;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// One drawn topology.
pub struct Generated {
    pub seed: u64,
    pub text: String,
    /// What the draw contains (`edge-dns-nat`, `firewalls-4`, `dual-stack`, ...), for coverage
    /// checks and messages.
    pub traits: Vec<String>,
}

/// The seed the namespace and property tests start from; `PORTPLAN_RANDOM_SEED` replays one.
pub fn seeds(default_count: usize) -> Vec<u64> {
    if let Some(seed) = std::env::var("PORTPLAN_RANDOM_SEED")
        .ok()
        .and_then(|s| s.trim().parse::<u64>().ok())
    {
        return vec![seed];
    }
    let count = std::env::var("PORTPLAN_RANDOM_TOPOLOGIES")
        .ok()
        .and_then(|s| s.trim().parse::<usize>().ok())
        .unwrap_or(default_count);
    (1..=count as u64).collect()
}

/// What `portplan check` says: the topology and its plan, or the error findings (`code: message`).
pub fn check(text: &str) -> Result<(Topology, Plan), Vec<String>> {
    let t = Topology::parse("random.toml", text).map_err(|e| {
        e.problems
            .iter()
            .map(|p| format!("{}: {}", p.code, p.message))
            .collect::<Vec<_>>()
    })?;
    let p = plan::compile(&t);
    let mut findings = lint::lint(&t).findings;
    findings.extend(p.path_findings());
    let errors: Vec<String> = findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .map(|f| format!("{}: {}", f.code, f.message))
        .collect();
    if errors.is_empty() {
        Ok((t, p))
    } else {
        Err(errors)
    }
}

/// Interface names Linux refuses (`all`, `default`: /proc/sys/net/*/conf) or has in every
/// namespace (`lo`); the generator leaves them out.
const LINUX_RESERVED: [&str; 3] = ["all", "default", "lo"];

const FIRST: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
const REST: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.";

/// Draws names unique within one name space (zones, firewalls, pools+servers, one firewall's
/// interfaces...).
/// Object names (zones, firewalls, pools, servers, clients) are also unique without case, as
/// `check` asks (they become file names); interface names may still differ only in case.
#[derive(Default)]
struct Names {
    taken: BTreeSet<String>,
    /// Set for object names: the lower-cased names taken.
    folded: Option<BTreeSet<String>>,
}

impl Names {
    fn objects() -> Names {
        Names {
            taken: BTreeSet::new(),
            folded: Some(BTreeSet::new()),
        }
    }

    fn draw(&mut self, rng: &mut Rng, max: usize, hint: &str) -> String {
        loop {
            let name = match rng.below(10) {
                // readable: the hint and a number, as most people write them
                0..=3 => {
                    let sep = *rng.pick(&["", "-", "_", "."]);
                    format!("{hint}{sep}{}", rng.below(100))
                }
                // at the limit
                4 | 5 => random_name(rng, max),
                // a look-alike of a name already taken: case or separator changed
                6 if !self.taken.is_empty() => {
                    let all: Vec<&String> = self.taken.iter().collect();
                    {
                        let i = rng.below(all.len());
                        look_alike(rng, all[i])
                    }
                }
                _ => {
                    let len = 1 + rng.below(max.min(16));
                    random_name(rng, len)
                }
            };
            let name: String = name.chars().take(max).collect();
            let valid = name.starts_with(|c: char| c.is_ascii_alphanumeric())
                && !LINUX_RESERVED.contains(&name.as_str());
            let fresh = match &self.folded {
                Some(folded) => !folded.contains(&name.to_lowercase()),
                None => true,
            };
            if valid && fresh && self.taken.insert(name.clone()) {
                if let Some(folded) = &mut self.folded {
                    folded.insert(name.to_lowercase());
                }
                return name;
            }
        }
    }
}

fn random_name(rng: &mut Rng, len: usize) -> String {
    let mut s = String::new();
    s.push(FIRST[rng.below(FIRST.len())] as char);
    while s.len() < len {
        s.push(REST[rng.below(REST.len())] as char);
    }
    s
}

fn look_alike(rng: &mut Rng, name: &str) -> String {
    let mut chars: Vec<char> = name.chars().collect();
    let i = rng.below(chars.len());
    chars[i] = match chars[i] {
        '-' => '_',
        '_' => '.',
        '.' => '-',
        c if c.is_ascii_lowercase() => c.to_ascii_uppercase(),
        c if c.is_ascii_uppercase() => c.to_ascii_lowercase(),
        _ => *rng.pick(&['-', '_', '.']),
    };
    if chars.len() < 4 {
        chars.push(*rng.pick(&['-', '_', '.', '0']));
    }
    chars.into_iter().collect()
}

fn hostname(rng: &mut Rng) -> String {
    let label = |rng: &mut Rng| {
        let len = 1 + rng.below(12);
        let mut s = String::new();
        for k in 0..len {
            let edge = k == 0 || k == len - 1;
            let set: &[u8] = if edge {
                b"abcdefghijklmnopqrstuvwxyz0123456789"
            } else {
                b"abcdefghijklmnopqrstuvwxyz0123456789-"
            };
            s.push(set[rng.below(set.len())] as char);
        }
        s
    };
    let n = 1 + rng.below(2);
    let labels: Vec<String> = (0..n).map(|_| label(rng)).collect();
    format!("{}.example", labels.join("."))
}

/// One network of a zone, with a counter for the hosts drawn in it.
#[derive(Clone)]
struct Net {
    v4: bool,
    base: u128,
    prefix: u8,
    next: u128,
}

impl Net {
    fn size(&self) -> u128 {
        let bits = if self.v4 { 32 } else { 128 } - self.prefix as u32;
        if bits >= 127 {
            u128::MAX
        } else {
            1u128 << bits
        }
    }
    fn text(&self) -> String {
        format!("{}/{}", addr(self.v4, self.base), self.prefix)
    }
    /// A fresh host address, clear of the top of the network (the lab's clients live there).
    fn host(&mut self) -> IpAddr {
        let a = self.base + self.next;
        self.next += 1;
        assert!(
            self.next + 16 < self.size(),
            "network {} is full",
            self.text()
        );
        addr(self.v4, a)
    }
}

fn addr(v4: bool, n: u128) -> IpAddr {
    if v4 {
        IpAddr::V4(Ipv4Addr::from(n as u32))
    } else {
        IpAddr::V6(Ipv6Addr::from(n))
    }
}

/// Address plans: private and public networks that never overlap.
struct Plan4 {
    used: BTreeSet<u32>,
}

impl Plan4 {
    /// A private network: a /16 slot of 10/8, 172.16/12 or 192.168/16 not used before, cut to a
    /// random prefix of /16 to /24.
    fn private(&mut self, rng: &mut Rng) -> Net {
        loop {
            let slot: u32 = match rng.below(4) {
                0 => (172 << 24) | ((16 + rng.below(16) as u32) << 16),
                1 => (192 << 24) | (168 << 16),
                _ => (10 << 24) | ((rng.below(256) as u32) << 16),
            };
            if !self.used.insert(slot) {
                continue;
            }
            let prefix = 16 + rng.below(9) as u8;
            let block = 1u32 << (32 - prefix);
            let third = (rng.below(256) as u32) << 8;
            let base = slot | (third & !(block - 1) & 0xffff);
            let start = 1 + rng.below(60) as u128;
            return Net {
                v4: true,
                base: base as u128,
                prefix,
                next: start,
            };
        }
    }

    /// A public network of /24 to `max_prefix`, outside every private and special range.
    fn public(&mut self, rng: &mut Rng, max_prefix: u8) -> Net {
        loop {
            let first = 1 + rng.below(223) as u32;
            if [10, 100, 127, 169, 172, 192].contains(&first) {
                continue;
            }
            let slot = (first << 24) | ((rng.below(256) as u32) << 16);
            if !self.used.insert(slot) {
                continue;
            }
            let prefix = 24 + rng.below((max_prefix - 23) as usize) as u8;
            let block = 1u32 << (32 - prefix);
            let last = (rng.below(256) as u32) & !(block - 1) & 0xff;
            let base = slot | ((rng.below(256) as u32) << 8) | last;
            return Net {
                v4: true,
                base: base as u128,
                prefix,
                next: 1,
            };
        }
    }
}

fn v6_net(rng: &mut Rng, public: bool) -> Net {
    let prefix = *rng.pick(&[48u8, 56, 64, 64]);
    let top: u128 = if public {
        0x2001_0db8 << 96
    } else {
        (0xfd00 | rng.below(256) as u128) << 112
    };
    // public: 2001:db8:XXXX:XXXX::/64 and wider; private: fdXX:XXXX:XXXX:XXXX::
    let mid = if public {
        (rng.next() as u128 & 0xffff_ffff) << 64
    } else {
        (rng.next() as u128 & 0xffff_ffff_ffff) << 64
    };
    let mask = !((1u128 << (128 - prefix)) - 1);
    Net {
        v4: false,
        base: (top | mid) & mask,
        prefix,
        next: 1 + rng.below(200) as u128,
    }
}

struct Zone {
    name: String,
    kind: &'static str,
    nets: Vec<Net>,
}

/// A firewall leg: (interface name, zone index, addresses with prefix).
type Leg = (String, usize, Vec<(IpAddr, u8)>);
/// A static NAT entry: public, private, the public interface when written out.
type NatEntry = (IpAddr, IpAddr, Option<String>);

/// Draws the topology of `seed`.
pub fn generate(seed: u64) -> Generated {
    // splitmix the seed so that neighbouring seeds start far apart (and never at zero)
    let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    let mut rng = Rng((z ^ (z >> 31)) | 1);
    let rng = &mut rng;
    let mut traits: Vec<String> = Vec::new();
    let mut v4 = Plan4 {
        used: BTreeSet::new(),
    };

    let dual = rng.chance(35);
    // a network with IPv6 routed everywhere whose servers all stay on IPv4, sometimes
    let servers_v6 = dual && !rng.chance(20);
    let firewalls_n = 2 + rng.below(3);
    traits.push(format!("firewalls-{firewalls_n}"));
    if dual {
        traits.push("dual-stack".into());
    }
    if dual && !servers_v6 {
        traits.push("dual-stack-networks-only".into());
    }

    // --- which pools, and how the Edge is published
    let edge = rng.chance(90).then(|| *rng.pick(&["none", "dns", "hlb"]));
    let edge_nat = edge.is_some_and(|lb| lb != "hlb") && rng.chance(50);
    if let Some(lb) = edge {
        let variant = match lb {
            "none" => "single",
            "dns" => "dns",
            _ => "hlb",
        };
        traits.push(format!(
            "edge-{variant}-{}",
            if edge_nat { "nat" } else { "public" }
        ));
    } else {
        traits.push("no-edge".into());
    }
    let reverse_proxy = rng.chance(75);
    let director = *rng.pick(&["absent", "none", "hlb", "dns-hlb"]);
    traits.push(format!("director-{director}"));
    let owa = rng.chance(55);
    let owa_feature = owa && reverse_proxy && rng.chance(80);
    let segmented = firewalls_n >= 3;
    let internal_servers = rng.chance(if segmented { 75 } else { 35 });
    let mediation = internal_servers && rng.chance(70) || rng.chance(15);
    let pchat = internal_servers && rng.chance(60) || rng.chance(10);
    let pstn = internal_servers && rng.chance(70) || rng.chance(10);
    let sba = rng.chance(15);
    if reverse_proxy {
        traits.push("reverse-proxy".into());
    }
    if owa {
        traits.push("office-web-apps".into());
    }
    if internal_servers {
        traits.push("internal-servers".into());
    }
    for (on, t) in [
        (mediation, "mediation"),
        (pchat, "persistent-chat"),
        (pstn, "pstn-gateway"),
        (sba, "survivable-branch"),
    ] {
        if on {
            traits.push(t.into());
        }
    }

    // --- zones
    // zones, pools, servers and client networks share one name space (check refuses a name two
    // of them use)
    let mut zone_names = Names::objects();
    let mut zones: Vec<Zone> = Vec::new();
    let mut add_zone = |rng: &mut Rng, hint: &str, kind: &'static str, nets: Vec<Net>| {
        let name = zone_names.draw(rng, 63, hint);
        zones.push(Zone { name, kind, nets });
        zones.len() - 1
    };
    let v6_if = |rng: &mut Rng, public: bool| -> Vec<Net> {
        if dual {
            vec![v6_net(rng, public)]
        } else {
            vec![]
        }
    };
    let mut inet_nets = vec![Net {
        v4: true,
        base: 0,
        prefix: 0,
        next: 0,
    }];
    if dual {
        inet_nets.push(Net {
            v4: false,
            base: 0,
            prefix: 0,
            next: 0,
        });
    }
    let internet = add_zone(rng, "internet", "internet", inet_nets);
    // the external perimeter is public unless the Edge (or the reverse proxy) hides behind NAT
    let ext_public = !edge_nat;
    let mut ext_nets = vec![if ext_public {
        v4.public(rng, 26)
    } else {
        v4.private(rng)
    }];
    ext_nets.extend(v6_if(rng, true));
    let ext = add_zone(rng, "dmz-ext", "perimeter", ext_nets);
    let mut int_nets = vec![v4.private(rng)];
    int_nets.extend(v6_if(rng, false));
    let int = add_zone(rng, "dmz-int", "perimeter", int_nets);
    // the reverse proxy listens in its own perimeter zone on the external firewall, sometimes
    let rp_zone = if reverse_proxy && rng.chance(25) {
        let mut nets = vec![if ext_public {
            v4.public(rng, 26)
        } else {
            v4.private(rng)
        }];
        nets.extend(v6_if(rng, true));
        traits.push("reverse-proxy-own-zone".into());
        Some(add_zone(rng, "dmz-rp", "perimeter", nets))
    } else {
        None
    };
    let internal_nets = |rng: &mut Rng, v4: &mut Plan4| {
        let mut nets = vec![v4.private(rng)];
        if rng.chance(20) {
            nets.push(v4.private(rng));
        }
        nets.extend(v6_if(rng, false));
        nets
    };
    let (servers, users, voice);
    if segmented {
        traits.push("segmented-internal".into());
        let n = internal_nets(rng, &mut v4);
        servers = add_zone(rng, "servers", "internal", n);
        let n = internal_nets(rng, &mut v4);
        users = add_zone(rng, "users", "internal", n);
        voice = if firewalls_n == 4 || rng.chance(50) {
            let n = internal_nets(rng, &mut v4);
            Some(add_zone(rng, "voice", "internal", n))
        } else {
            None
        };
    } else {
        let n = internal_nets(rng, &mut v4);
        servers = add_zone(rng, "corp", "internal", n);
        users = servers;
        voice = None;
    }

    // --- firewalls: (name, legs, NAT entries as (public, private, interface named or not))
    let mut fw_names = Names::objects();
    let mut firewalls: Vec<(String, Vec<Leg>, Vec<NatEntry>)> = Vec::new();
    let leg_address = |rng: &mut Rng, zones: &mut Vec<Zone>, v4: &mut Plan4, zone: usize| {
        if zone == internet {
            // the provider side: a public transfer network per family
            let mut net = v4.public(rng, 27);
            let mut out = vec![(net.host(), net.prefix)];
            if dual {
                let mut n6 = v6_net(rng, true);
                out.push((n6.host(), n6.prefix));
            }
            out
        } else {
            zones[zone]
                .nets
                .iter_mut()
                .map(|n| (n.host(), n.prefix))
                .collect()
        }
    };
    let mut add_fw = |rng: &mut Rng,
                      zones: &mut Vec<Zone>,
                      v4: &mut Plan4,
                      hint: &str,
                      legs: &[(usize, &str)]| {
        let name = fw_names.draw(rng, 63, hint);
        let mut if_names = Names::default();
        let mut out = Vec::new();
        for (zone, hint) in legs {
            let ifname = if_names.draw(rng, 15, hint);
            let addrs = leg_address(rng, zones, v4, *zone);
            out.push((ifname, *zone, addrs));
        }
        if rng.chance(25) {
            out.reverse();
        }
        firewalls.push((name, out, Vec::new()));
    };
    let mut ext_legs = vec![(internet, "outside"), (ext, "dmz")];
    if let Some(z) = rp_zone {
        ext_legs.push((z, "rp"));
    }
    add_fw(rng, &mut zones, &mut v4, "fw-ext", &ext_legs);
    add_fw(
        rng,
        &mut zones,
        &mut v4,
        "fw-int",
        &[(int, "dmz"), (servers, "inside")],
    );
    if segmented {
        let mut legs = vec![(servers, "srv"), (users, "usr")];
        if let (Some(v), 3) = (voice, firewalls_n) {
            legs.push((v, "voice"));
        }
        add_fw(rng, &mut zones, &mut v4, "fw-core", &legs);
        if firewalls_n == 4 {
            let from = if rng.chance(50) { servers } else { users };
            add_fw(
                rng,
                &mut zones,
                &mut v4,
                "fw-voice",
                &[
                    (from, "lan"),
                    (voice.expect("four firewalls have a voice zone"), "voice"),
                ],
            );
        }
    }
    let ext_gateway: Vec<IpAddr> = firewalls[0]
        .1
        .iter()
        .find(|(_, z, _)| *z == ext)
        .map(|(_, _, a)| a.iter().map(|(ip, _)| *ip).collect())
        .unwrap_or_default();

    // --- pools
    let mut pool_names = zone_names;
    let mut s = String::new();
    let mut public_pool = v4.public(rng, 24);
    let mut public_v6 = v6_net(rng, true);
    let mut nat: Vec<(IpAddr, IpAddr)> = Vec::new();
    let internal_routes: Vec<String> = zones
        .iter()
        .filter(|z| z.kind == "internal")
        .flat_map(|z| z.nets.iter().map(|n| n.text()))
        .collect();
    let list = |ips: &[IpAddr]| -> String {
        if ips.len() == 1 {
            format!("\"{}\"", ips[0])
        } else {
            let items: Vec<String> = ips.iter().map(|ip| format!("\"{ip}\"")).collect();
            format!("[{}]", items.join(", "))
        }
    };
    // a host in zone `z`: IPv4 always, IPv6 as well on dual-stack draws (most of the time)
    let host = |rng: &mut Rng, zones: &mut Vec<Zone>, z: usize, v6: bool| -> Vec<IpAddr> {
        let mut out = Vec::new();
        let nets = &mut zones[z].nets;
        let v4_count = nets.iter().filter(|n| n.v4).count();
        let pick = rng.below(v4_count);
        out.push(nets.iter_mut().filter(|n| n.v4).nth(pick).unwrap().host());
        if v6 && let Some(n) = nets.iter_mut().find(|n| !n.v4) {
            out.push(n.host());
        }
        out
    };

    if let Some(lb) = edge {
        let pool = pool_names.draw(rng, 63, "edgepool");
        let count = if lb == "none" { 1 } else { 2 + rng.below(2) };
        let _ = writeln!(
            s,
            "[[pool]]\nname = \"{pool}\"\nrole = \"edge\"\nload_balancing = \"{lb}\""
        );
        // HLB: every external service and VIP in both families or in IPv4 only (N+1 per family)
        let ext_v6 = servers_v6 && (lb == "hlb" || !edge_nat || rng.chance(50));
        let mut access_vip = Vec::new();
        if lb == "hlb" {
            for (svc, zone, snat) in [
                ("access", ext, rng.chance(60)),
                ("webconf", ext, rng.chance(60)),
                ("av", ext, false),
                ("internal", int, rng.chance(50)),
            ] {
                let ips = host(rng, &mut zones, zone, ext_v6);
                if svc == "access" {
                    access_vip = ips.clone();
                }
                let _ = writeln!(
                    s,
                    "[[pool.vip]]\nservice = \"{svc}\"\nzone = \"{}\"\naddress = {}\nsnat = {snat}",
                    zones[zone].name,
                    list(&ips)
                );
            }
        }
        for k in 0..count {
            let server = pool_names.draw(rng, 63, &format!("edge0{}", k + 1));
            let _ = writeln!(s, "[[pool.server]]\nname = \"{server}\"");
            let mut services = Vec::new();
            for _ in 0..3 {
                let ips = host(rng, &mut zones, ext, ext_v6);
                if edge_nat {
                    for ip in &ips {
                        let public = if ip.is_ipv4() {
                            public_pool.host()
                        } else {
                            public_v6.host()
                        };
                        nat.push((public, *ip));
                    }
                }
                services.push(ips);
            }
            let gateway = if lb == "hlb" {
                &access_vip
            } else {
                &ext_gateway
            };
            let _ = writeln!(
                s,
                "[[pool.server.interface]]\nname = \"external\"\nzone = \"{}\"\naccess = {}\nwebconf = {}\nav = {}\ngateway = {}",
                zones[ext].name,
                list(&services[0]),
                list(&services[1]),
                list(&services[2]),
                list(gateway),
            );
            let v6 = servers_v6 && rng.chance(80);
            let ips = host(rng, &mut zones, int, v6);
            let routes: Vec<String> = internal_routes.iter().map(|r| format!("\"{r}\"")).collect();
            let _ = writeln!(
                s,
                "[[pool.server.interface]]\nname = \"internal\"\nzone = \"{}\"\naddress = {}\nroutes = [{}]",
                zones[int].name,
                list(&ips),
                routes.join(", ")
            );
        }
    }

    if reverse_proxy {
        let pool = pool_names.draw(rng, 63, "rp");
        let count = 1 + rng.below(2);
        let lb = if count == 1 { "none" } else { "dns" };
        let _ = writeln!(
            s,
            "[[pool]]\nname = \"{pool}\"\nrole = \"reverse-proxy\"\nload_balancing = \"{lb}\""
        );
        let outer = rp_zone.unwrap_or(ext);
        let natted = edge_nat || !ext_public;
        for k in 0..count {
            let server = pool_names.draw(rng, 63, &format!("rp0{}", k + 1));
            let v6 = servers_v6 && rng.chance(70);
            let outside = host(rng, &mut zones, outer, v6 && !natted);
            if natted && rng.chance(80) {
                nat.push((public_pool.host(), outside[0]));
            }
            let inside = host(rng, &mut zones, int, v6);
            let _ = writeln!(
                s,
                "[[pool.server]]\nname = \"{server}\"\n[[pool.server.interface]]\nname = \"external\"\nzone = \"{}\"\naddress = {}\n[[pool.server.interface]]\nname = \"internal\"\nzone = \"{}\"\naddress = {}",
                zones[outer].name,
                list(&outside),
                zones[int].name,
                list(&inside)
            );
        }
    }

    // an internal pool: servers with one interface each in `zone`, balanced as `lb`
    let mut internal_pool = |rng: &mut Rng,
                             zones: &mut Vec<Zone>,
                             s: &mut String,
                             role: &str,
                             hint: &str,
                             lb: &str,
                             count: usize,
                             zone: usize,
                             extra: &str| {
        let pool = pool_names.draw(rng, 63, hint);
        let _ = writeln!(
            s,
            "[[pool]]\nname = \"{pool}\"\nrole = \"{role}\"\nload_balancing = \"{lb}\"{extra}"
        );
        if matches!(lb, "hlb" | "dns-hlb") {
            let v6 = servers_v6 && rng.chance(60);
            let ips = host(rng, zones, zone, v6);
            let _ = writeln!(
                s,
                "[[pool.vip]]\nservice = \"pool\"\nzone = \"{}\"\naddress = {}\nsnat = {}",
                zones[zone].name,
                list(&ips),
                rng.chance(70)
            );
        }
        let inline = rng.chance(50);
        for k in 0..count {
            let server = pool_names.draw(rng, 63, &format!("{hint}0{}", k + 1));
            let ifname = Names::default().draw(rng, 15, "lan");
            let v6 = servers_v6 && rng.chance(70);
            let ips = host(rng, zones, zone, v6);
            if inline {
                let _ = writeln!(
                    s,
                    "[[pool.server]]\nname = \"{server}\"\ninterface = [{{ name = \"{ifname}\", zone = \"{}\", address = {} }}]",
                    zones[zone].name,
                    list(&ips)
                );
            } else {
                let _ = writeln!(
                    s,
                    "[[pool.server]]\nname = \"{server}\"\n[[pool.server.interface]]\nname = \"{ifname}\"\nzone = \"{}\"\naddress = {}",
                    zones[zone].name,
                    list(&ips)
                );
            }
        }
    };
    // names only the reverse proxy reads: written when there is one to publish them
    let published = |rng: &mut Rng, n: usize| -> String {
        if !reverse_proxy {
            return String::new();
        }
        let names: Vec<String> = (0..n).map(|_| format!("\"{}\"", hostname(rng))).collect();
        format!("\npublished = [{}]", names.join(", "))
    };
    match director {
        "absent" => {}
        "none" => {
            let p = published(rng, 1);
            internal_pool(
                rng, &mut zones, &mut s, "director", "dir", "none", 1, servers, &p,
            )
        }
        lb => {
            let p = published(rng, 1);
            let n = 2 + rng.below(2);
            internal_pool(
                rng, &mut zones, &mut s, "director", "dir", lb, n, servers, &p,
            )
        }
    }
    let fe_pools = if rng.chance(20) { 2 } else { 1 };
    for k in 0..fe_pools {
        let (lb, n) = match rng.below(3) {
            0 => ("none", 1),
            1 => ("hlb", 2 + rng.below(3)),
            _ => ("dns-hlb", 2 + rng.below(2)),
        };
        let extra = format!("{}{}", if k == 0 { "\ncms = true" } else { "" }, {
            let n = 1 + rng.below(4);
            published(rng, n)
        });
        internal_pool(
            rng,
            &mut zones,
            &mut s,
            "front-end",
            "fe",
            lb,
            n,
            servers,
            &extra,
        );
    }
    if owa {
        let (lb, n) = if rng.chance(50) {
            ("none", 1)
        } else {
            ("hlb", 2)
        };
        // the proxy publishes the farm only with the feature on
        let p = if owa_feature {
            published(rng, 1)
        } else {
            String::new()
        };
        internal_pool(
            rng,
            &mut zones,
            &mut s,
            "office-web-apps",
            "owa",
            lb,
            n,
            servers,
            &p,
        );
    }
    if mediation {
        let (lb, n) = match rng.below(3) {
            0 => ("none", 1),
            1 => ("dns", 2),
            _ => ("hlb", 2),
        };
        internal_pool(
            rng,
            &mut zones,
            &mut s,
            "mediation",
            "med",
            lb,
            n,
            servers,
            "",
        );
    }
    if pchat {
        let n = 1 + rng.below(2);
        let lb = if n == 1 { "none" } else { "dns" };
        internal_pool(
            rng,
            &mut zones,
            &mut s,
            "persistent-chat",
            "pchat",
            lb,
            n,
            servers,
            "",
        );
    }
    if pstn {
        let zone = voice.unwrap_or(users);
        internal_pool(
            rng,
            &mut zones,
            &mut s,
            "pstn-gateway",
            "gw",
            "none",
            1,
            zone,
            "",
        );
    }
    if sba {
        internal_pool(
            rng,
            &mut zones,
            &mut s,
            "survivable-branch",
            "sba",
            "none",
            1,
            users,
            "",
        );
    }

    // --- client networks in the users' zone: part of a network, or all of it
    let mut clients = String::new();
    let mut client_names = pool_names;
    for _ in 0..1 + rng.below(2) {
        let v4_nets: Vec<Net> = zones[users].nets.iter().filter(|n| n.v4).cloned().collect();
        let net = &v4_nets[rng.below(v4_nets.len())];
        let mut nets = vec![if rng.chance(30) {
            net.text()
        } else {
            // the upper half of the network, clear of the servers at its bottom
            format!(
                "{}/{}",
                addr(true, net.base + net.size() / 2),
                net.prefix + 1
            )
        }];
        if dual
            && rng.chance(50)
            && let Some(n6) = zones[users].nets.iter().find(|n| !n.v4)
        {
            nets.push(n6.text());
        }
        let name = client_names.draw(rng, 63, "clients");
        let items: Vec<String> = nets.iter().map(|n| format!("\"{n}\"")).collect();
        let _ = writeln!(
            clients,
            "[[clients]]\nname = \"{name}\"\nzone = \"{}\"\nnetworks = [{}]",
            zones[users].name,
            items.join(", ")
        );
    }

    // --- NAT on the external firewall
    for (public, private) in nat {
        let iface = rng.chance(30).then(|| {
            firewalls[0]
                .1
                .iter()
                .find(|l| l.1 == internet)
                .unwrap()
                .0
                .clone()
        });
        firewalls[0].2.push((public, private, iface));
    }

    // --- features: on when their roles exist (and by chance)
    let has_fe = true;
    let fed = edge.is_some() && rng.chance(70);
    let features: Vec<(&str, bool)> = vec![
        ("federation", fed),
        ("ocs2007-federation", fed && rng.chance(40)),
        ("xmpp", edge.is_some() && has_fe && rng.chance(50)),
        ("centralized-logging", rng.chance(60)),
        (
            "mobility-autodiscover-http",
            reverse_proxy && rng.chance(50),
        ),
        ("office-web-apps", owa_feature),
        ("public-im", edge.is_some() && rng.chance(40)),
        ("internal-servers", internal_servers),
        ("collocated-mediation", has_fe && rng.chance(25)),
        ("sip-tcp-5060", rng.chance(25)),
    ];
    for (f, on) in &features {
        if *on {
            traits.push(format!("feature-{f}"));
        }
    }

    // --- the file
    let mut out = String::new();
    let topo_name = Names::default().draw(rng, 63, "random");
    let _ = writeln!(out, "# portplan random topology, seed {seed}");
    let _ = writeln!(out, "name = \"{topo_name}\"\n\n[features]");
    for (f, on) in &features {
        // a feature that is off is sometimes written out, sometimes left away
        if *on || rng.chance(50) {
            let _ = writeln!(out, "{f} = {on}");
        }
    }
    let narrow = rng.chance(20);
    if narrow {
        traits.push("narrow-any".into());
    }
    let _ = writeln!(out, "\n[options]\nnarrow_any = {narrow}\n");
    let mut order: Vec<usize> = (0..zones.len()).collect();
    if rng.chance(30) {
        order.reverse();
    }
    for i in order {
        let z = &zones[i];
        let nets: Vec<String> = z.nets.iter().map(|n| format!("\"{}\"", n.text())).collect();
        let _ = writeln!(
            out,
            "[[zone]]\nname = \"{}\"\nkind = \"{}\"\nnetworks = [{}]\n",
            z.name,
            z.kind,
            nets.join(", ")
        );
    }
    for (name, legs, nat) in &firewalls {
        let _ = writeln!(out, "[[firewall]]\nname = \"{name}\"");
        for (ifname, zone, addrs) in legs {
            let items: Vec<String> = addrs
                .iter()
                .map(|(ip, len)| format!("\"{ip}/{len}\""))
                .collect();
            let _ = writeln!(
                out,
                "[[firewall.interface]]\nname = \"{ifname}\"\nzone = \"{}\"\naddress = [{}]",
                zones[*zone].name,
                items.join(", ")
            );
        }
        for (public, private, iface) in nat {
            let _ = writeln!(
                out,
                "[[firewall.nat]]\npublic = \"{public}\"\nprivate = \"{private}\"{}",
                iface
                    .as_ref()
                    .map(|i| format!("\ninterface = \"{i}\""))
                    .unwrap_or_default()
            );
        }
        out.push('\n');
    }
    out.push_str(&s);
    out.push('\n');
    out.push_str(&clients);
    Generated {
        seed,
        text: out,
        traits,
    }
}
