//! The namespace lab: builds any topology as Linux network namespaces joined by veth pairs, so the
//! generated rules run in the real kernel and real sockets cross them.
//!
//! Layout, for a lab with prefix P:
//! - `P-sw` holds one bridge per zone (the zone's L2 segment);
//! - `P-f-<firewall>` per firewall, one veth leg per firewall interface, named as in the topology,
//!   with the interface's address and forwarding on;
//! - `P-s-<server>` per server, one veth per interface (named as in the topology) with all its
//!   addresses; a pool's VIPs are added to its first server's interface in the VIP's zone;
//! - `P-c<i>` per zone: a client that stands for "any host in this zone" (its address is the first
//!   free one near the top of the zone's firewall leg subnet), and `P-n<i>` per client network.
//!
//! Firewalls and servers have name spaces of their own (so `P-f-` and `P-s-`), and any name a
//! topology may use fits: interface names go to the kernel as they are (up to 15 bytes), after the
//! `name`/`dev` keywords so a name like `up` or `type` is not read as one. Hosts route every other
//! zone through the firewall leg of their own zone (in the same subnet) that leads there. The lab
//! removes all its namespaces when dropped, even when the test panics.

#![allow(dead_code)]

pub mod flows;

use ipnet::IpNet;
use portplan::catalog::Role;
use portplan::plan::Router;
use portplan::topology::Topology;
use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::process::{Command, Output, Stdio};
use std::sync::{Mutex, MutexGuard};

/// Namespace tests share one kernel: one at a time, in this process (the mutex) and across
/// processes (an exclusive lock on a file), so two `cargo test` runs on one machine cannot build
/// labs with the same namespace names at the same time.
static LOCK: Mutex<()> = Mutex::new(());

pub struct Serial {
    _process: MutexGuard<'static, ()>,
    /// Holds the machine-wide lock until dropped (closing the file releases it).
    _machine: std::fs::File,
}

pub fn serialize() -> Serial {
    use std::os::fd::AsRawFd;
    let process = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let path = std::env::temp_dir().join("portplan-netns.lock");
    // another user (root, after a CI run) may own the file: flock works on a read-only handle too
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .or_else(|_| std::fs::File::open(&path))
        .expect("open the namespace lock file");
    // blocks until no other process holds it
    let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) };
    assert_eq!(rc, 0, "flock: {}", std::io::Error::last_os_error());
    Serial {
        _process: process,
        _machine: file,
    }
}

/// The start of every namespace test: the lock, then the check that root and `tools` are here.
/// `None` means skip (outside CI; in CI a missing prerequisite fails instead).
pub fn lab_prerequisites(tools: &[&str]) -> Option<Serial> {
    // check first: a user who cannot run the test need not wait for (or open) the lock
    if !available(tools) {
        return None;
    }
    Some(serialize())
}

/// Whether this machine can run namespace tests; in CI a missing prerequisite is a failure.
pub fn available(tools: &[&str]) -> bool {
    let mut missing = Vec::new();
    if unsafe { libc::geteuid() } != 0 {
        missing.push("root".to_string());
    }
    for tool in ["ip"].iter().chain(tools) {
        let found = Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .stdout(Stdio::null())
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        if !found {
            missing.push(tool.to_string());
        }
    }
    if missing.is_empty() {
        return true;
    }
    let reason = format!("namespace test needs {}", missing.join(", "));
    if std::env::var_os("CI").is_some() {
        panic!("{reason}: CI must run it (install it in .ci/run)");
    }
    eprintln!("skipped: {reason}");
    false
}

#[derive(Debug, Clone)]
pub struct Node {
    pub ns: String,
    /// Server, firewall or client name.
    pub name: String,
    pub addresses: Vec<IpAddr>,
}

pub struct Lab {
    pub prefix: String,
    pub nodes: Vec<Node>,
    /// address -> namespace that owns it
    owners: BTreeMap<IpAddr, String>,
    firewalls: BTreeMap<String, String>,
    /// Static NAT of the topology's firewalls, with the namespaces on each entry's public side.
    nat: Vec<LabNat>,
}

/// One static NAT entry as the lab sees it.
#[derive(Debug, Clone)]
pub struct LabNat {
    pub firewall: String,
    pub interface: String,
    pub public: IpAddr,
    pub private: IpAddr,
    /// Namespaces (not the firewall) plugged into the zone of the public interface.
    pub outside: Vec<String>,
}

fn run(cmd: &[&str]) -> Output {
    Command::new(cmd[0])
        .args(&cmd[1..])
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"))
}

fn must(cmd: &[&str]) {
    let out = run(cmd);
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The `n`th address from the top of a subnet (n = 1 is the broadcast/last address).
fn from_top(net: &IpNet, n: u128) -> IpAddr {
    match net.broadcast() {
        IpAddr::V4(b) => IpAddr::V4((u32::from(b) - n as u32).into()),
        IpAddr::V6(b) => IpAddr::V6((u128::from(b) - n).into()),
    }
}

impl Lab {
    /// Builds the topology as namespaces named `<prefix>-…`. Leftovers of an earlier run with the same
    /// prefix are removed first.
    pub fn build(t: &Topology, prefix: &str) -> Lab {
        Lab::build_with(t, prefix, false)
    }

    /// Like [`Lab::build`]; with `vips_on_firewalls` the VIPs live on the firewall leg of their zone
    /// (the firewall plays the load balancer) instead of on the pool's first server.
    pub fn build_with(t: &Topology, prefix: &str, vips_on_firewalls: bool) -> Lab {
        remove_namespaces(prefix);
        let mut lab = Lab {
            prefix: prefix.to_string(),
            nodes: Vec::new(),
            owners: BTreeMap::new(),
            firewalls: BTreeMap::new(),
            nat: Vec::new(),
        };
        let sw = format!("{prefix}-sw");
        lab.add_ns(&sw);
        // one bridge per zone
        let mut bridges = BTreeMap::new();
        for (i, z) in t.zones.iter().enumerate() {
            let br = format!("br{i}");
            lab.exec_ok(&sw, &["ip", "link", "add", &br, "type", "bridge"]);
            lab.exec_ok(&sw, &["ip", "link", "set", &br, "up"]);
            bridges.insert(z.name.clone(), br);
        }
        // L2 subnets: the firewall legs
        let mut legs: Vec<(String, String, IpNet)> = Vec::new(); // zone, firewall, address
        for fw in &t.firewalls {
            for i in &fw.interfaces {
                for a in &i.addresses {
                    legs.push((i.zone.clone(), fw.name.clone(), *a));
                }
            }
        }
        let prefix_len = |ip: IpAddr| -> u8 {
            legs.iter()
                .filter(|(_, _, n)| n.contains(&ip))
                .map(|(_, _, n)| n.prefix_len())
                .max()
                .unwrap_or(if ip.is_ipv4() { 32 } else { 128 })
        };
        let mut veth = 0usize;
        let mut plug =
            |lab: &mut Lab, ns: &str, ifname: &str, zone: &str, addrs: &[(IpAddr, u8)]| {
                veth += 1;
                let peer = format!("v{veth}");
                // created under its final name right in its namespace: no temporary name that a
                // topology interface could already carry
                must(&[
                    "ip", "link", "add", "name", ifname, "netns", ns, "type", "veth", "peer",
                    "name", &peer, "netns", &sw,
                ]);
                lab.exec_ok(
                    &sw,
                    &[
                        "ip",
                        "link",
                        "set",
                        "dev",
                        &peer,
                        "master",
                        &bridges[zone],
                        "up",
                    ],
                );
                for (ip, len) in addrs {
                    let cidr = format!("{ip}/{len}");
                    if ip.is_ipv6() {
                        lab.exec_ok(
                            ns,
                            &["ip", "-6", "addr", "add", &cidr, "dev", ifname, "nodad"],
                        );
                    } else {
                        lab.exec_ok(ns, &["ip", "addr", "add", &cidr, "dev", ifname]);
                    }
                }
                lab.exec_ok(ns, &["ip", "link", "set", "dev", ifname, "up"]);
            };

        // firewalls
        for fw in &t.firewalls {
            let ns = format!("{prefix}-f-{}", fw.name);
            lab.add_ns(&ns);
            lab.sysctl(&ns, "net.ipv4.ip_forward", "1");
            lab.sysctl(&ns, "net.ipv6.conf.all.forwarding", "1");
            let mut addrs = Vec::new();
            for i in &fw.interfaces {
                let mut a: Vec<(IpAddr, u8)> = i
                    .addresses
                    .iter()
                    .map(|n| (n.addr(), n.prefix_len()))
                    .collect();
                if vips_on_firewalls {
                    // the first firewall with a leg in the VIP's zone holds it (it is the load balancer)
                    for pool in &t.pools {
                        for vip in pool.vips.iter().filter(|v| v.zone == i.zone) {
                            let holder = t
                                .firewalls
                                .iter()
                                .find(|f| f.interfaces.iter().any(|x| x.zone == vip.zone));
                            if holder.is_some_and(|f| f.name == fw.name) {
                                a.extend(vip.addresses.iter().map(|ip| (*ip, prefix_len(*ip))));
                            }
                        }
                    }
                }
                plug(&mut lab, &ns, &i.name, &i.zone, &a);
                addrs.extend(a.iter().map(|(ip, _)| *ip));
            }
            lab.firewalls.insert(fw.name.clone(), ns.clone());
            lab.nodes.push(Node {
                ns,
                name: fw.name.clone(),
                addresses: addrs,
            });
        }

        // servers (with their pool's VIPs on the first server)
        for pool in &t.pools {
            for (k, server) in pool.servers.iter().enumerate() {
                let ns = format!("{prefix}-s-{}", server.name);
                lab.add_ns(&ns);
                let mut all = Vec::new();
                for iface in &server.interfaces {
                    let mut ips: Vec<IpAddr> = iface.addresses.iter().map(|a| a.ip).collect();
                    if k == 0 && !vips_on_firewalls {
                        for vip in pool.vips.iter().filter(|v| v.zone == iface.zone) {
                            ips.extend(vip.addresses.iter().copied());
                        }
                    }
                    let a: Vec<(IpAddr, u8)> =
                        ips.iter().map(|ip| (*ip, prefix_len(*ip))).collect();
                    plug(&mut lab, &ns, &iface.name, &iface.zone, &a);
                    all.extend(ips);
                }
                lab.nodes.push(Node {
                    ns,
                    name: server.name.clone(),
                    addresses: all,
                });
            }
        }

        // a client per zone (for `any`) and per client network
        for (zi, zone) in t.zones.iter().enumerate() {
            let subnets: Vec<IpNet> = legs
                .iter()
                .filter(|(z, _, _)| *z == zone.name)
                .map(|(_, _, n)| n.trunc())
                .collect();
            if subnets.is_empty() {
                continue;
            }
            let ns = format!("{prefix}-c{zi}");
            lab.add_ns(&ns);
            // near the top of the subnet, clear of every address the topology gives out
            let taken: BTreeSet<IpAddr> = lab
                .nodes
                .iter()
                .flat_map(|n| n.addresses.iter().copied())
                .chain(
                    t.firewalls
                        .iter()
                        .flat_map(|f| f.nat.iter().map(|n| n.public)),
                )
                .chain(
                    t.pools
                        .iter()
                        .flat_map(|p| p.vips.iter().flat_map(|v| v.addresses.iter().copied())),
                )
                .collect();
            let mut a: Vec<(IpAddr, u8)> = Vec::new();
            for net in &subnets {
                if !a.iter().any(|(ip, _)| ip.is_ipv4() == net.addr().is_ipv4()) {
                    let ip = (5..)
                        .map(|k| from_top(net, k))
                        .find(|ip| !taken.contains(ip))
                        .unwrap();
                    a.push((ip, net.prefix_len()));
                }
            }
            plug(&mut lab, &ns, "eth0", &zone.name, &a);
            // far networks of this zone that no leg holds (Microsoft 365's ranges, partners'
            // networks): the zone client answers for one address in each, and every firewall on
            // the zone routes it there
            let far: Vec<IpNet> = [
                Role::Microsoft365,
                Role::FederatedPartner,
                Role::PublicImPartner,
            ]
            .into_iter()
            .flat_map(|r| t.endpoints(r))
            .filter(|e| e.zone == zone.name && !subnets.iter().any(|s| s.contains(&e.net)))
            .map(|e| e.net)
            .collect();
            let mut extra: Vec<IpAddr> = Vec::new();
            for net in far {
                let ip = from_top(&net, 5);
                if extra.contains(&ip) || a.iter().any(|(x, _)| *x == ip) {
                    continue;
                }
                let host = IpNet::from(ip);
                lab.exec_ok(
                    &ns,
                    &["ip", "addr", "add", &host.to_string(), "dev", "eth0"],
                );
                let Some((via, _)) = a.iter().find(|(x, _)| x.is_ipv4() == ip.is_ipv4()) else {
                    continue;
                };
                for (_, fw, _) in legs
                    .iter()
                    .filter(|(z, _, n)| *z == zone.name && n.addr().is_ipv4() == ip.is_ipv4())
                {
                    if let Some(fw_ns) = lab.firewalls.get(fw).cloned() {
                        let fam = if ip.is_ipv4() { "-4" } else { "-6" };
                        lab.exec_ok(
                            &fw_ns,
                            &[
                                "ip",
                                fam,
                                "route",
                                "add",
                                &host.to_string(),
                                "via",
                                &via.to_string(),
                            ],
                        );
                    }
                }
                extra.push(ip);
            }
            lab.nodes.push(Node {
                ns,
                name: format!("any@{}", zone.name),
                addresses: a.iter().map(|(ip, _)| *ip).chain(extra).collect(),
            });
        }
        for (ci, clients) in t.clients.iter().enumerate() {
            let ns = format!("{prefix}-n{ci}");
            lab.add_ns(&ns);
            // near the top of the network, clear of the zone client when the network is the
            // whole zone
            let taken: Vec<IpAddr> = lab
                .nodes
                .iter()
                .flat_map(|n| n.addresses.iter().copied())
                .collect();
            let a: Vec<(IpAddr, u8)> = clients
                .networks
                .iter()
                .map(|n| {
                    let ip = (5..)
                        .map(|k| from_top(n, k))
                        .find(|ip| !taken.contains(ip))
                        .unwrap();
                    (ip, prefix_len(ip))
                })
                .collect();
            plug(&mut lab, &ns, "eth0", &clients.zone, &a);
            lab.nodes.push(Node {
                ns,
                name: clients.name.clone(),
                addresses: a.iter().map(|(ip, _)| *ip).collect(),
            });
        }

        lab.routes(t, &legs);
        for node in &lab.nodes {
            for ip in &node.addresses {
                lab.owners.entry(*ip).or_insert_with(|| node.ns.clone());
            }
        }
        lab.nat_routes(t, &legs);
        lab
    }

    /// The public side reaches each NAT'd public address through the firewall that translates it
    /// (as a provider's router would); the firewall itself needs no route (DNAT runs first).
    fn nat_routes(&mut self, t: &Topology, legs: &[(String, String, IpNet)]) {
        for fw in &t.firewalls {
            for n in &fw.nat {
                let Some(iface) = fw.interfaces.iter().find(|i| i.name == n.interface) else {
                    continue;
                };
                let Some(gw) = iface
                    .addresses
                    .iter()
                    .find(|a| a.addr().is_ipv4() == n.public.is_ipv4())
                else {
                    continue;
                };
                let subnets: Vec<IpNet> = legs
                    .iter()
                    .filter(|(z, f, _)| *z == iface.zone && *f == fw.name)
                    .map(|(_, _, net)| net.trunc())
                    .collect();
                let outside: Vec<String> = self
                    .nodes
                    .iter()
                    .filter(|node| !self.firewalls.values().any(|ns| *ns == node.ns))
                    .filter(|node| {
                        node.addresses
                            .iter()
                            .any(|ip| subnets.iter().any(|s| s.contains(ip)))
                    })
                    .map(|node| node.ns.clone())
                    .collect();
                for ns in &outside {
                    let fam = if n.public.is_ipv4() { "-4" } else { "-6" };
                    self.exec_ok(
                        ns,
                        &[
                            "ip",
                            fam,
                            "route",
                            "add",
                            &n.public.to_string(),
                            "via",
                            &gw.addr().to_string(),
                        ],
                    );
                }
                self.nat.push(LabNat {
                    firewall: fw.name.clone(),
                    interface: n.interface.clone(),
                    public: n.public,
                    private: n.private,
                    outside,
                });
            }
        }
    }

    /// The address a client in `src_ns` dials to reach `dst`, and the source address a server in
    /// `dst_ns` sees for `src`: the public one wherever a static NAT stands between them.
    pub fn translate(
        &self,
        src_ns: &str,
        src: IpAddr,
        dst_ns: &str,
        dst: IpAddr,
    ) -> (IpAddr, IpAddr) {
        let dial = self
            .nat
            .iter()
            .find(|n| n.private == dst && n.outside.iter().any(|o| o == src_ns))
            .map_or(dst, |n| n.public);
        let seen = self
            .nat
            .iter()
            .find(|n| n.private == src && n.outside.iter().any(|o| o == dst_ns))
            .map_or(src, |n| n.public);
        (dial, seen)
    }

    /// Loads only the static NAT (as its own nft table) on every firewall that has some, so the lab
    /// carries translated traffic before any filtering rule is loaded. `remove_nat_only` undoes it.
    pub fn load_nat_only(&self) {
        let mut by_fw: BTreeMap<&str, String> = BTreeMap::new();
        for n in &self.nat {
            let ip = if n.public.is_ipv4() { "ip" } else { "ip6" };
            let text = by_fw.entry(&n.firewall).or_default();
            text.push_str(&format!(
                "add rule inet labnat pre iifname \"{}\" {ip} daddr {} dnat {ip} to {}\nadd rule inet labnat post oifname \"{}\" {ip} saddr {} snat {ip} to {}\n",
                n.interface, n.public, n.private, n.interface, n.private, n.public
            ));
        }
        for (fw, rules) in by_fw {
            let script = format!(
                "add table inet labnat\nadd chain inet labnat pre {{ type nat hook prerouting priority dstnat; }}\nadd chain inet labnat post {{ type nat hook postrouting priority srcnat; }}\n{rules}"
            );
            let out = self.exec_stdin(&self.firewalls[fw], "nft -f -", &script);
            assert!(
                out.status.success(),
                "{fw}: lab NAT: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }

    pub fn remove_nat_only(&self) {
        let fws: BTreeSet<&str> = self.nat.iter().map(|n| n.firewall.as_str()).collect();
        for fw in fws {
            self.exec_ok(
                &self.firewalls[fw],
                &["nft", "delete", "table", "inet", "labnat"],
            );
        }
    }

    /// Forgets every connection the firewalls have tracked (a ctnetlink flush, both families), so a
    /// flow that passed before the rules were loaded cannot come back as `established` when a later
    /// check happens to reuse its source port.
    pub fn flush_conntrack(&self) {
        for ns in self.firewalls.values() {
            let result = self.in_ns(ns, flush_conntrack_here);
            if let Err(e) = result {
                panic!("{ns}: conntrack flush: {e}");
            }
        }
    }

    pub fn has_nat(&self) -> bool {
        !self.nat.is_empty()
    }

    /// Every non-firewall node routes each other zone through the firewall leg of its own zone on the
    /// path there; firewalls route zones they do not touch through the next firewall.
    fn routes(&self, t: &Topology, legs: &[(String, String, IpNet)]) {
        let router = Router::new(t);
        let zone_of = |ip: &IpAddr| -> Option<String> {
            legs.iter()
                .filter(|(_, _, n)| n.contains(ip))
                .max_by_key(|(_, _, n)| n.prefix_len())
                .map(|(z, _, _)| z.clone())
        };
        // the next firewall's leg in `zone` that shares a subnet with one of `mine`
        let gateway = |zone: &str, firewall: &str, v4: bool, mine: &[IpAddr]| -> Option<IpAddr> {
            legs.iter()
                .filter(|(z, f, n)| z == zone && f == firewall && n.addr().is_ipv4() == v4)
                .find(|(_, _, n)| mine.iter().any(|ip| *ip != n.addr() && n.contains(ip)))
                .map(|(_, _, n)| n.addr())
        };
        for node in &self.nodes {
            let is_fw = self.firewalls.values().any(|ns| *ns == node.ns);
            let mut my_zones: Vec<String> = node.addresses.iter().filter_map(zone_of).collect();
            my_zones.sort();
            my_zones.dedup();
            for target in &t.zones {
                if my_zones.contains(&target.name) {
                    continue;
                }
                for from in &my_zones {
                    let Some(path) = router.path(from, &target.name) else {
                        continue;
                    };
                    let Some(hop) = path.first() else { continue };
                    if is_fw && hop.firewall == node.name {
                        continue; // directly attached through this firewall: the kernel knows
                    }
                    for net in &target.networks {
                        let v4 = net.addr().is_ipv4();
                        if let Some(gw) = gateway(from, &hop.firewall, v4, &node.addresses) {
                            let dst = if net.prefix_len() == 0 {
                                "default".to_string()
                            } else {
                                net.to_string()
                            };
                            let fam = if v4 { "-4" } else { "-6" };
                            // first route wins (a shorter path was added first)
                            let _ = self.exec(
                                &node.ns,
                                &["ip", fam, "route", "add", &dst, "via", &gw.to_string()],
                            );
                        }
                    }
                    break;
                }
            }
        }
    }

    fn add_ns(&mut self, ns: &str) {
        must(&["ip", "netns", "add", ns]);
        self.exec_ok(ns, &["ip", "link", "set", "lo", "up"]);
        self.sysctl(ns, "net.ipv4.conf.all.rp_filter", "0");
        self.sysctl(ns, "net.ipv4.conf.default.rp_filter", "0");
        self.sysctl(ns, "net.ipv6.conf.all.accept_dad", "0");
        self.sysctl(ns, "net.ipv6.conf.default.accept_dad", "0");
        self.nodes.retain(|n| n.ns != ns);
    }

    /// Sets a sysctl inside a namespace through /proc (no dependency on the sysctl binary).
    /// A thread in the namespace writes it: /proc/sys/net shows the writer's own namespace.
    fn sysctl(&self, ns: &str, key: &str, value: &str) {
        let path = format!("/proc/sys/{}", key.replace('.', "/"));
        let value = value.to_string();
        let written = self.in_ns(ns, move || std::fs::write(&path, value));
        if let Err(e) = written {
            panic!("{ns}: cannot set {key}: {e}");
        }
    }

    /// Runs a command inside a namespace (`ip` itself switches with `-n`: one process fewer).
    pub fn exec(&self, ns: &str, cmd: &[&str]) -> Output {
        let mut full = if cmd.first() == Some(&"ip") {
            vec!["ip", "-n", ns]
        } else {
            vec!["ip", "netns", "exec", ns, cmd[0]]
        };
        full.extend_from_slice(&cmd[1..]);
        run(&full)
    }

    pub fn exec_ok(&self, ns: &str, cmd: &[&str]) {
        let out = self.exec(ns, cmd);
        assert!(
            out.status.success(),
            "{ns}: {cmd:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Runs a shell command inside a namespace with `input` on standard input.
    pub fn exec_stdin(&self, ns: &str, cmd: &str, input: &str) -> Output {
        use std::io::Write;
        let mut child = Command::new("ip")
            .args(["netns", "exec", ns, "sh", "-c", cmd])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    }

    pub fn firewall_ns(&self, firewall: &str) -> &str {
        &self.firewalls[firewall]
    }

    /// The namespace that owns an address.
    pub fn owner(&self, ip: IpAddr) -> Option<&str> {
        self.owners.get(&ip).map(|s| s.as_str())
    }

    /// A lab address inside `net`, for a group in `zone`: a host address is itself; for a network,
    /// the zone's client when its address is inside, else a client network's host inside it.
    pub fn host_in(&self, zone: &str, net: &IpNet) -> Option<(String, IpAddr)> {
        if net.prefix_len() == net.max_prefix_len() {
            return self
                .owner(net.addr())
                .map(|ns| (ns.to_string(), net.addr()));
        }
        let zone_client = format!("any@{zone}");
        let candidates = self.nodes.iter().filter(|n| n.name == zone_client).chain(
            self.nodes
                .iter()
                .filter(|n| n.ns.starts_with(&format!("{}-n", self.prefix))),
        );
        for node in candidates {
            if let Some(ip) = node.addresses.iter().find(|ip| net.contains(*ip)) {
                return Some((node.ns.clone(), *ip));
            }
        }
        None
    }

    /// Runs `f` on a thread that has entered the namespace: sockets it creates live there.
    pub fn in_ns<T: Send + 'static>(&self, ns: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
        let path = format!("/run/netns/{ns}");
        std::thread::spawn(move || {
            enter(&path);
            f()
        })
        .join()
        .expect("namespace thread panicked")
    }
}

/// Sends ctnetlink's delete-all request (IPCTNL_MSG_CT_DELETE without attributes) for IPv4 and
/// IPv6 in the calling thread's namespace and waits for each acknowledgement.
fn flush_conntrack_here() -> Result<(), std::io::Error> {
    const NETLINK_NETFILTER: i32 = 12;
    const NFNL_SUBSYS_CTNETLINK: u16 = 1;
    const IPCTNL_MSG_CT_DELETE: u16 = 2;
    let fd = unsafe {
        libc::socket(
            libc::AF_NETLINK,
            libc::SOCK_RAW | libc::SOCK_CLOEXEC,
            NETLINK_NETFILTER,
        )
    };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    let result = (|| {
        for (seq, family) in [(1u32, libc::AF_INET as u8), (2, libc::AF_INET6 as u8)] {
            // nlmsghdr (16 bytes) + nfgenmsg (family, version 0, res_id 0)
            let mut msg = Vec::with_capacity(20);
            msg.extend_from_slice(&20u32.to_ne_bytes());
            msg.extend_from_slice(
                &((NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_DELETE).to_ne_bytes(),
            );
            msg.extend_from_slice(&((libc::NLM_F_REQUEST | libc::NLM_F_ACK) as u16).to_ne_bytes());
            msg.extend_from_slice(&seq.to_ne_bytes());
            msg.extend_from_slice(&0u32.to_ne_bytes());
            msg.extend_from_slice(&[family, 0, 0, 0]);
            let mut addr: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
            addr.nl_family = libc::AF_NETLINK as u16;
            let sent = unsafe {
                libc::sendto(
                    fd,
                    msg.as_ptr().cast(),
                    msg.len(),
                    0,
                    (&addr as *const libc::sockaddr_nl).cast(),
                    std::mem::size_of::<libc::sockaddr_nl>() as u32,
                )
            };
            if sent < 0 {
                return Err(std::io::Error::last_os_error());
            }
            let mut buf = [0u8; 256];
            let n = unsafe { libc::recv(fd, buf.as_mut_ptr().cast(), buf.len(), 0) };
            if n < 0 {
                return Err(std::io::Error::last_os_error());
            }
            // an NLMSG_ERROR acknowledgement: its error code follows the 16-byte header
            let kind = u16::from_ne_bytes([buf[4], buf[5]]);
            if n >= 20 && kind == libc::NLMSG_ERROR as u16 {
                let code = i32::from_ne_bytes([buf[16], buf[17], buf[18], buf[19]]);
                // ENOENT: nothing tracked in this family
                if code != 0 && code != -libc::ENOENT {
                    return Err(std::io::Error::from_raw_os_error(-code));
                }
            }
        }
        Ok(())
    })();
    unsafe { libc::close(fd) };
    result
}

/// Moves the calling thread into the network namespace at `path`.
pub fn enter(path: &str) {
    use std::os::fd::AsRawFd;
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("open {path}: {e}"));
    let rc = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
    assert_eq!(rc, 0, "setns {path}: {}", std::io::Error::last_os_error());
}

fn remove_namespaces(prefix: &str) {
    let out = run(&["ip", "netns", "list"]);
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let name = line.split_whitespace().next().unwrap_or("");
        if name.starts_with(&format!("{prefix}-")) {
            let _ = run(&["ip", "netns", "del", name]);
        }
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        // PORTPLAN_KEEP_LAB=1 leaves the namespaces for inspection (the next run removes them)
        if std::env::var_os("PORTPLAN_KEEP_LAB").is_none() {
            remove_namespaces(&self.prefix);
        }
    }
}

/// A process started inside a namespace, killed when dropped.
pub struct Spawned {
    pub child: std::process::Child,
    pub what: String,
    /// Output read after the ready line (the drain thread keeps it).
    drained: Option<std::thread::JoinHandle<String>>,
}

impl Lab {
    /// Starts `args` in a namespace with stdout piped; waits until a stdout line contains `ready`
    /// (if given), returning what it printed so far.
    pub fn spawn(&self, ns: &str, args: &[&str], ready: Option<&str>) -> (Spawned, String) {
        use std::io::BufRead;
        let mut child = Command::new("ip")
            .args(["netns", "exec", ns])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {args:?}: {e}"));
        let mut seen = String::new();
        let mut drained = None;
        if let Some(marker) = ready {
            let stdout = child.stdout.take().unwrap();
            let mut reader = std::io::BufReader::new(stdout);
            loop {
                let mut line = String::new();
                let n = reader.read_line(&mut line).unwrap_or(0);
                if n == 0 {
                    let _ = child.kill();
                    panic!("{args:?} in {ns} ended before `{marker}`:\n{seen}");
                }
                seen.push_str(&line);
                if line.contains(marker) {
                    break;
                }
            }
            // keep draining so the process never blocks on a full pipe; keep the text
            drained = Some(std::thread::spawn(move || {
                let mut rest = String::new();
                while reader.read_line(&mut rest).map(|n| n > 0).unwrap_or(false) {}
                rest
            }));
        }
        (
            Spawned {
                child,
                what: format!("{args:?} in {ns}"),
                drained,
            },
            seen,
        )
    }

    /// The namespace of a topology node (server, firewall, `any@zone`, client network).
    pub fn ns_of(&self, name: &str) -> Option<&str> {
        self.nodes
            .iter()
            .find(|n| n.name == name)
            .map(|n| n.ns.as_str())
    }
}

impl Spawned {
    /// Sends SIGINT (Ctrl-C) and waits for the process to end; returns its stdout.
    pub fn interrupt(mut self) -> (std::process::ExitStatus, String) {
        use std::io::Read;
        unsafe {
            libc::kill(self.child.id() as i32, libc::SIGINT);
        }
        let status = self.child.wait().unwrap();
        let mut out = String::new();
        if let Some(mut s) = self.child.stdout.take() {
            let _ = s.read_to_string(&mut out);
        }
        if let Some(handle) = self.drained.take() {
            out.push_str(&handle.join().unwrap_or_default());
        }
        (status, out)
    }
}

impl Drop for Spawned {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
