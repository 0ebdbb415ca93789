//! `listen` and `probe` across the lab: every planned flow proven with real sockets.

use crate::enforce::load_rules;
use crate::harness::{self, Lab, lab_prerequisites};
use crate::{common, load};
use portplan::plan::Plan;
use portplan::render::Target;
use portplan::topology::Topology;

pub const PORTPLAN: &str = env!("CARGO_BIN_EXE_portplan");

pub fn reference_file() -> String {
    common::example("reference.toml").display().to_string()
}

/// Runs `portplan probe --from NAME` inside `ns`; returns the exit code and the JSON document.
fn probe_from(lab: &Lab, ns: &str, from: &str) -> (i32, serde_json::Value) {
    probe_file_from(lab, &reference_file(), ns, from)
}

fn probe_file_from(lab: &Lab, file: &str, ns: &str, from: &str) -> (i32, serde_json::Value) {
    let out = lab.exec(
        ns,
        &[
            PORTPLAN,
            "probe",
            file,
            "--from",
            from,
            "--format",
            "json",
            "--timeout",
            "800",
        ],
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "probe --from {from}: {e}\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().unwrap_or(-1), json)
}

fn failures(json: &serde_json::Value) -> Vec<String> {
    json["outcomes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| !matches!(o["verdict"].as_str(), Some("open") | Some("answered")))
        .map(|o| {
            format!(
                "flow {} {} {}/{} -> {}: {} {}",
                o["flow"],
                o["rows"],
                o["transport"],
                o["port"],
                o["destination"],
                o["verdict"],
                o["detail"]
            )
        })
        .collect()
}

/// `portplan listen --tls` on every server of the topology.
fn listen_everywhere(lab: &Lab, t: &Topology, file: &str) -> Vec<(String, harness::Spawned)> {
    let mut listeners = Vec::new();
    for (_, server) in t.servers() {
        let ns = lab.ns_of(&server.name).unwrap().to_string();
        let (proc_, printed) = lab.spawn(
            &ns,
            &[PORTPLAN, "listen", file, "--host", &server.name, "--tls"],
            Some("listening on"),
        );
        assert!(!printed.contains("failed:"), "{printed}");
        listeners.push((server.name.clone(), proc_));
    }
    listeners
}

/// `portplan probe` from every server, every zone with a client and every client network; every
/// probe must pass. Returns the origin count, probes, passes, and probes that crossed a firewall.
fn probe_everywhere(lab: &Lab, t: &Topology, p: &Plan, file: &str) -> (usize, u64, u64, usize) {
    let mut origins: Vec<(String, String)> = t
        .servers()
        .map(|(_, s)| (s.name.clone(), lab.ns_of(&s.name).unwrap().to_string()))
        .collect();
    for zone in &t.zones {
        if let Some(ns) = lab.ns_of(&format!("any@{}", zone.name)) {
            origins.push((zone.name.clone(), ns.to_string()));
        }
    }
    for c in &t.clients {
        origins.push((c.name.clone(), lab.ns_of(&c.name).unwrap().to_string()));
    }
    let mut total = 0;
    let mut passed = 0;
    let mut through_firewall = 0;
    for (from, ns) in &origins {
        let (code, json) = probe_file_from(lab, file, ns, from);
        let fails = failures(&json);
        assert!(
            fails.is_empty(),
            "probe --from {from}:\n{}",
            fails.join("\n")
        );
        // exit 0 when every probe passed; an origin with nothing to probe proves nothing: exit 1
        let expected = if json["summary"]["probes"].as_u64() == Some(0) {
            1
        } else {
            0
        };
        assert_eq!(
            code, expected,
            "probe --from {from} exits 0 when every flow passed, 1 when it probed nothing"
        );
        total += json["summary"]["probes"].as_u64().unwrap();
        passed += json["summary"]["passed"].as_u64().unwrap();
        through_firewall += json["outcomes"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|o| {
                !p.flows[o["flow"].as_u64().unwrap() as usize - 1]
                    .path
                    .is_empty()
            })
            .count();
    }
    (origins.len(), total, passed, through_firewall)
}

/// A lab of `example` with its nftables rules, `listen` on every server and `probe` from every
/// origin (each probe must pass); the listeners live as long as the result.
struct ProbedLab {
    // fields drop in order: the listeners stop before the lab's namespaces go
    _listeners: Vec<(String, harness::Spawned)>,
    lab: Lab,
    file: String,
    origins: usize,
    total: u64,
    passed: u64,
    through: usize,
}

fn listen_and_probe_everywhere(example: &str, prefix: &str) -> ProbedLab {
    let (t, p) = load(example);
    let lab = Lab::build(&t, prefix);
    load_rules(&lab, &t, &p, Target::Nftables);
    let file = common::example(example).display().to_string();
    let listeners = listen_everywhere(&lab, &t, &file);
    let (origins, total, passed, through) = probe_everywhere(&lab, &t, &p, &file);
    assert_eq!(passed, total);
    ProbedLab {
        _listeners: listeners,
        lab,
        file,
        origins,
        total,
        passed,
        through,
    }
}

#[test]
fn listen_and_probe_through_a_static_nat_reach_the_natted_edge() {
    let Some(_guard) = lab_prerequisites(&["nft"]) else {
        return;
    };
    let run = listen_and_probe_everywhere("edge-single-nat.toml", "ppnatp");
    let (lab, file) = (&run.lab, &run.file);
    let (origins, total, passed, through) = (run.origins, run.total, run.passed, run.through);
    // from the internet every Edge and reverse proxy probe goes to a public address
    let (_, outside) = probe_file_from(lab, file, lab.ns_of("any@internet").unwrap(), "internet");
    let outcomes = outside["outcomes"].as_array().unwrap();
    let dialled: Vec<&str> = outcomes
        .iter()
        .map(|o| o["destination"].as_str().unwrap())
        .collect();
    assert!(!dialled.is_empty());
    assert!(
        dialled.iter().all(|d| d.starts_with("203.0.113.")),
        "{dialled:?}"
    );
    for public in [
        "203.0.113.10",
        "203.0.113.11",
        "203.0.113.12",
        "203.0.113.30",
    ] {
        assert!(dialled.contains(&public), "{public} probed");
    }
    eprintln!(
        "NAT'd Edge probe matrix: {passed} of {total} probes passed from {origins} origins ({through} through a firewall)"
    );
}

#[test]
fn listen_and_probe_cover_the_internal_server_roles_between_segments() {
    let Some(_guard) = lab_prerequisites(&["nft"]) else {
        return;
    };
    let run = listen_and_probe_everywhere("edge-dns-public.toml", "ppsegp");
    let (origins, total, passed, through) = (run.origins, run.total, run.passed, run.through);
    assert!(through > 100, "{through} probes crossed a firewall");
    eprintln!(
        "segmented network probe matrix: {passed} of {total} probes passed from {origins} origins ({through} through a firewall)"
    );
}

#[test]
fn listen_and_probe_prove_every_planned_flow_through_the_firewalls() {
    let Some(_guard) = lab_prerequisites(&["nft"]) else {
        return;
    };
    let (t, p) = load("reference.toml");
    let lab = Lab::build(&t, "ppprobe");
    load_rules(&lab, &t, &p, Target::Nftables);
    let file = reference_file();

    let listeners = listen_everywhere(&lab, &t, &file);
    let (origins, total, passed, through_firewall) = probe_everywhere(&lab, &t, &p, &file);
    assert!(total > 100, "{total} probes");
    assert!(
        through_firewall > 50,
        "{through_firewall} probes crossed a firewall"
    );
    eprintln!(
        "probe matrix: {passed} of {total} probes passed from {origins} origins ({through_firewall} through a firewall)"
    );

    // TLS, STUN and HTTP details came through
    let (_, internet) = probe_from(&lab, lab.ns_of("any@internet").unwrap(), "internet");
    let outcomes = internet["outcomes"].as_array().unwrap();
    let stun = outcomes
        .iter()
        .find(|o| {
            o["transport"] == "udp" && o["port"] == 3478 && o["destination"] == "203.0.113.13"
        })
        .unwrap();
    assert!(
        stun["detail"]
            .as_str()
            .unwrap()
            .starts_with("stun: binding ok, mapped 198.51.100."),
        "{stun}"
    );
    let sip = outcomes
        .iter()
        .find(|o| o["port"] == 443 && o["destination"] == "203.0.113.100")
        .unwrap();
    assert!(
        sip["certificate"]["sans"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s == "edge01"),
        "{sip}"
    );

    // a rule removed from the firewall shows up as filtered, and probe exits 1
    let mut sabotaged = p.clone();
    sabotaged
        .rules
        .retain(|r| !(r.destination.role == "edge.access.vip" && r.ports.start == 443));
    load_rules(&lab, &t, &sabotaged, Target::Nftables);
    let (code, json) = probe_from(&lab, lab.ns_of("any@internet").unwrap(), "internet");
    assert_eq!(code, 1);
    let fails = failures(&json);
    assert_eq!(fails.len(), 1, "{fails:?}");
    assert!(
        fails[0].contains("203.0.113.100") && fails[0].contains("\"filtered\""),
        "{}",
        fails[0]
    );

    // listeners stop cleanly on Ctrl-C and report what they served
    for (name, proc_) in listeners {
        let (status, printed) = proc_.interrupt();
        assert!(status.success(), "{name}: {status:?}");
        assert!(printed.contains("stopped:"), "{name}: {printed}");
    }
}

#[test]
fn stun_probe_passes_against_a_real_stun_server() {
    let Some(_guard) = lab_prerequisites(&["nft", "turnserver"]) else {
        return;
    };
    let (t, p) = load("reference.toml");
    let lab = Lab::build(&t, "ppstun");
    load_rules(&lab, &t, &p, Target::Nftables);
    // coturn on edge02's A/V Edge address, where portplan listen would otherwise answer
    let (_coturn, _) = lab.spawn(
        lab.ns_of("edge02").unwrap(),
        &[
            "turnserver",
            "--stun-only",
            "--no-cli",
            "--no-tls",
            "--no-dtls",
            "--listening-ip",
            "203.0.113.23",
            "--listening-port",
            "3478",
            "--log-file",
            "stdout",
            "--simple-log",
            "--no-stdout-log",
        ],
        None,
    );
    // wait until coturn answers from inside its own namespace, then probe through the firewall
    let mut answered = None;
    for _ in 0..50 {
        let (_, json) = probe_from(&lab, lab.ns_of("any@internet").unwrap(), "internet");
        let o = json["outcomes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| {
                o["transport"] == "udp" && o["port"] == 3478 && o["destination"] == "203.0.113.23"
            })
            .cloned()
            .unwrap();
        if o["verdict"] == "answered" {
            answered = Some(o);
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    let o = answered.expect("coturn answered the STUN probe");
    let detail = o["detail"].as_str().unwrap();
    assert!(
        detail.starts_with("stun: binding ok, mapped 198.51.100."),
        "{detail}"
    );
    assert!(
        detail.to_lowercase().contains("coturn"),
        "coturn names itself in SOFTWARE: {detail}"
    );
}

/// Benchmark (run by `bench/probe-vs-nmap.sh`, not in the normal suite): the same flow set probed by
/// `portplan probe` and by `nmap -sT` / `nmap -sU`, with some rules removed so filtered ports are in
/// the set too. Prints wall times and the ratio.
#[test]
#[ignore = "benchmark: run bench/probe-vs-nmap.sh"]
fn bench_probe_against_nmap() {
    let Some(_guard) = lab_prerequisites(&["nft", "nmap"]) else {
        return;
    };
    let (t, p) = load("reference.toml");
    let lab = Lab::build(&t, "ppbench");
    // drop the web conferencing and A/V VIP rules: their ports become filtered
    let mut partial = p.clone();
    partial.rules.retain(|r| {
        !matches!(
            r.destination.role.as_str(),
            "edge.webconf.vip" | "edge.av.vip"
        )
    });
    load_rules(&lab, &t, &partial, Target::Nftables);
    let file = reference_file();
    let mut listeners = Vec::new();
    for name in ["edge01", "edge02", "rp01"] {
        listeners.push(
            lab.spawn(
                lab.ns_of(name).unwrap(),
                &[PORTPLAN, "listen", &file, "--host", name],
                Some("listening on"),
            )
            .0,
        );
    }
    let client = lab.ns_of("any@internet").unwrap().to_string();

    let started = std::time::Instant::now();
    let (_, json) = probe_from(&lab, &client, "internet");
    let portplan_time = started.elapsed();
    let outcomes = json["outcomes"].as_array().unwrap().clone();
    let count = |v: &str| outcomes.iter().filter(|o| o["verdict"] == v).count();

    // the same (destination, transport, port) set, one nmap run per destination and protocol
    let mut sets: std::collections::BTreeMap<(String, String), Vec<String>> = Default::default();
    for o in &outcomes {
        sets.entry((
            o["destination"].as_str().unwrap().to_string(),
            o["transport"].as_str().unwrap().to_string(),
        ))
        .or_default()
        .push(o["port"].to_string());
    }
    let started = std::time::Instant::now();
    let mut nmap_open = 0;
    let mut nmap_filtered = 0;
    for ((dst, proto), ports) in &sets {
        let scan = if proto == "tcp" { "-sT" } else { "-sU" };
        let out = lab.exec(
            &client,
            &[
                "nmap",
                scan,
                "-Pn",
                "-n",
                "-T4",
                "-p",
                &ports.join(","),
                dst,
            ],
        );
        let text = String::from_utf8_lossy(&out.stdout);
        nmap_open += text.lines().filter(|l| l.contains(" open ")).count();
        nmap_filtered += text.lines().filter(|l| l.contains("filtered")).count();
    }
    let nmap_time = started.elapsed();
    drop(listeners);
    println!(
        "flow set: {} probes over {} destination/protocol pairs",
        outcomes.len(),
        sets.len()
    );
    println!(
        "portplan probe: {:.2} s ({} open, {} answered, {} filtered, {} silent)",
        portplan_time.as_secs_f64(),
        count("open"),
        count("answered"),
        count("filtered"),
        count("silent")
    );
    println!(
        "nmap -sT/-sU:   {:.2} s ({nmap_open} open, {nmap_filtered} filtered or open|filtered)",
        nmap_time.as_secs_f64()
    );
    println!(
        "ratio portplan/nmap: {:.2}",
        portplan_time.as_secs_f64() / nmap_time.as_secs_f64()
    );
}

/// Runs the library prober on `targets` from a thread inside namespace `ns` (sockets are made there).
fn prober_in(
    ns: &str,
    targets: Vec<portplan::probe::targets::Target>,
) -> Vec<portplan::probe::prober::Outcome> {
    let path = format!("/run/netns/{ns}");
    std::thread::spawn(move || {
        harness::enter(&path);
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let settings = portplan::probe::prober::Settings {
            timeout: std::time::Duration::from_millis(800),
            ..Default::default()
        };
        rt.block_on(portplan::probe::prober::run(targets, settings, |_, _| {}))
    })
    .join()
    .expect("prober thread panicked")
}

/// The Microsoft 365 side of the lab answering like `portplan listen`: the library listener with a
/// self-signed certificate on `specs`, inside namespace `ns`, until the sender is dropped.
fn microsoft_365_listener(
    ns: &str,
    specs: Vec<portplan::probe::targets::ListenSpec>,
) -> (
    tokio::sync::oneshot::Sender<()>,
    std::thread::JoinHandle<()>,
) {
    use portplan::probe::listener::{Listener, Options};
    let path = format!("/run/netns/{ns}");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let handle = std::thread::spawn(move || {
        harness::enter(&path);
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let addrs: Vec<std::net::IpAddr> = specs.iter().map(|s| s.address).collect();
            let tls =
                portplan::probe::tls::self_signed_server("sipfed.online.lync.com", &addrs).unwrap();
            let (listener, bound) = Listener::bind(
                &specs,
                Options {
                    tls: Some(tls),
                    ..Options::default()
                },
            );
            ready_tx.send(listener.report(&bound).groups.len()).unwrap();
            listener
                .serve(async move {
                    let _ = stopped.await;
                })
                .await;
        });
    });
    let groups = ready_rx
        .recv_timeout(std::time::Duration::from_secs(10))
        .expect("the Microsoft 365 listener started");
    assert!(groups > 0, "the Microsoft 365 listener opened no socket");
    (stop, handle)
}

#[test]
fn hybrid_listen_and_probe_between_the_edge_and_microsoft_365() {
    use crate::harness::flows::plan_allows;
    use portplan::catalog::{Role, Transport};
    use portplan::probe::prober::Verdict;
    use portplan::probe::targets::{self, Kind, ListenSpec, Target as ProbeTarget};
    let Some(_guard) = lab_prerequisites(&["nft"]) else {
        return;
    };
    let example = "sfb2019-hybrid.toml";
    let (t, p) = load(example);
    let lab = Lab::build(&t, "pphyp");
    load_rules(&lab, &t, &p, Target::Nftables);
    let file = common::example(example).display().to_string();

    // the internet side's namespace holds one host in each Microsoft 365 range of the snapshot
    let ms_nets: Vec<ipnet::IpNet> = t
        .endpoints(Role::Microsoft365)
        .into_iter()
        .map(|e| e.net)
        .collect();
    assert!(!ms_nets.is_empty(), "the snapshot has Microsoft 365 ranges");
    let internet_ns = lab.ns_of("any@internet").unwrap().to_string();
    let internet_node = lab.host_in("internet", &"198.51.100.0/24".parse().unwrap());
    let (_, outsider) = internet_node.expect("a host on the internet leg");
    let (ms_net, ms_host) = ms_nets
        .iter()
        .filter(|n| n.addr().is_ipv4())
        .find_map(|n| lab.host_in("internet", n).map(|(_, h)| (*n, h)))
        .expect("a lab host in a Microsoft 365 range");
    assert!(!ms_nets.iter().any(|n| n.contains(&outsider)));

    // 1. `portplan listen` on every server, `portplan probe --from internet` leaving from the
    // Microsoft 365 address: every planned flow from the internet passes, the hybrid ones included
    let listeners = listen_everywhere(&lab, &t, &file);
    // the lab routes each zone through the firewall leg: those routes now prefer the address in
    // the Microsoft 365 range as their source
    let routes = lab.exec(&internet_ns, &["ip", "-4", "route", "show"]);
    let routes = String::from_utf8_lossy(&routes.stdout).to_string();
    let mut sourced = 0;
    for line in routes.lines().filter(|l| l.contains(" via ")) {
        let mut args: Vec<&str> = vec!["ip", "-4", "route", "replace"];
        args.extend(line.split_whitespace());
        let src = ms_host.to_string();
        args.extend(["src", src.as_str()]);
        common::assert_ok(&lab.exec(&internet_ns, &args), format!("route {line}"));
        sourced += 1;
    }
    assert!(
        sourced > 0,
        "the internet side routes to the perimeter: {routes}"
    );
    let (code, json) = probe_file_from(&lab, &file, &internet_ns, "internet");
    let fails = failures(&json);
    assert!(
        fails.is_empty(),
        "probe from Microsoft 365:\n{}",
        fails.join("\n")
    );
    assert_eq!(code, 0);
    let hybrid_in: Vec<&serde_json::Value> = json["outcomes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["rows"].as_str().unwrap_or("").contains("hybrid/"))
        .collect();
    // behind the hardware load balancer SIP 5061 from Microsoft 365 goes to the Access Edge VIP,
    // whose socket pair it shares with the `any` federation row: counted over every outcome, to
    // the VIP's address (the probes leave from the Microsoft 365 address)
    let access_vip = t
        .pools_of(portplan::catalog::ServerRole::Edge)
        .find_map(|pool| pool.vip(portplan::topology::VipService::Access))
        .and_then(|vip| vip.addresses.iter().copied().find(|a| a.is_ipv4()))
        .expect("the Edge pool's access VIP");
    let sip_in = json["outcomes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| {
            o["port"] == 5061
                && o["transport"] == "tcp"
                && o["destination"] == access_vip.to_string().as_str()
        })
        .count();
    // UDP 3478 from Microsoft 365 shares its socket pair with the `any` STUN row, so it is counted
    // over every outcome; the STUN answer's mapped address proves the probe left from Microsoft 365
    let stun_in = json["outcomes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| {
            o["port"] == 3478
                && o["transport"] == "udp"
                && o["detail"]
                    .as_str()
                    .is_some_and(|d| d.contains(&format!("mapped {ms_host}:")))
        })
        .count();
    // the Edge pool is hardware balanced: Microsoft 365 federates with the Access Edge VIP
    assert!(
        sip_in >= 1,
        "SIP 5061 to the Access Edge VIP: {hybrid_in:?}"
    );
    assert!(
        stun_in >= 2,
        "STUN 3478 to both A/V Edge servers from {ms_host}: {}",
        json["outcomes"]
    );

    // behind the hardware load balancer, SIP 5061 from Microsoft 365 is planned to the Access
    // Edge VIP (as the HLB external VIP table has it), not to the servers' own access addresses:
    // the firewall drops it there, from Microsoft 365 and from any other internet address
    let edge01 = t.servers().find(|(_, s)| s.name == "edge01").unwrap().1;
    let access = edge01
        .interface(portplan::catalog::Leg::External)
        .unwrap()
        .ips(portplan::topology::AddressUse::Access)
        .next()
        .unwrap();
    assert!(plan_allows(
        &t,
        &p,
        ms_host,
        access_vip,
        Transport::Tcp,
        5061
    ));
    assert!(!plan_allows(&t, &p, ms_host, access, Transport::Tcp, 5061));
    assert!(!plan_allows(&t, &p, outsider, access, Transport::Tcp, 5061));
    let target = |source: std::net::IpAddr,
                  destination: std::net::IpAddr,
                  transport,
                  port,
                  service: &str| ProbeTarget {
        flow: 0,
        rules: Vec::new(),
        rows: String::new(),
        service: service.into(),
        reason: "hybrid lab check".into(),
        transport,
        port,
        range: None,
        source: Some(source),
        destination,
        destination_host: String::new(),
        nat_of: None,
        kind: portplan::catalog::Catalog::builtin()
            .probe_kind(service)
            .unwrap_or(Kind::Plain),
    };
    let out = prober_in(
        &internet_ns,
        vec![
            target(ms_host, access_vip, Transport::Tcp, 5061, "SIP(MTLS)"),
            target(ms_host, access, Transport::Tcp, 5061, "SIP(MTLS)"),
            target(outsider, access, Transport::Tcp, 5061, "SIP(MTLS)"),
        ],
    );
    assert!(
        out[0].verdict.passed(),
        "Microsoft 365 -> Access Edge VIP 5061: {:?}",
        out[0]
    );
    assert_eq!(
        out[1].verdict,
        Verdict::Filtered,
        "Microsoft 365 -> Access Edge server 5061: {:?}",
        out[1]
    );
    assert_eq!(
        out[2].verdict,
        Verdict::Filtered,
        "outsider -> Access Edge 5061: {:?}",
        out[2]
    );

    // 2. and back: the Edge's hybrid flows end on Microsoft 365 networks; without --dial
    // `portplan probe` has no host to contact there, with `--dial NETWORK=ADDRESS` it dials the
    // lab's Microsoft 365 host (answering like `portplan listen`) from edge01's planned addresses
    let origin = targets::origin(&t, "edge01").unwrap();
    let (_, untestable) = targets::probe_targets(&p, &t, &origin);
    assert!(
        untestable
            .iter()
            .any(|u| u.rows.contains("hybrid/") && u.why.contains("network")),
        "{untestable:?}"
    );
    let mut specs = Vec::new();
    // (source, transport, port) of every planned attempt towards Microsoft 365
    let mut expected = std::collections::BTreeSet::new();
    for f in p.flows.iter().filter(|f| {
        f.destination.role == "microsoft-365" && f.source.members.iter().any(|m| m.host == "edge01")
    }) {
        let src = f
            .source
            .members
            .iter()
            .find(|m| m.host == "edge01")
            .unwrap()
            .net
            .addr();
        for port in targets::sample(f.ports) {
            let kind = targets::kind_of(f);
            if !specs
                .iter()
                .any(|s: &ListenSpec| s.transport == f.transport && s.port == port)
            {
                specs.push(ListenSpec {
                    address: ms_host,
                    transport: f.transport,
                    port,
                    kind,
                    service: f.service.clone(),
                    sampled_from: None,
                });
            }
            expected.insert((src.to_string(), f.transport.to_string(), port));
        }
    }
    // SIP towards Microsoft 365 leaves from the Access Edge VIP (the HLB external VIP table's
    // outbound 5061), not from edge01's own access address; edge01's flows back are the A/V ones
    assert!(
        p.flows.iter().any(|f| f.destination.role == "microsoft-365"
            && f.source.role == "edge.access.vip"
            && f.ports.to_string() == "5061"),
        "the Access Edge VIP sends SIP to Microsoft 365"
    );
    assert!(
        !expected.contains(&(access.to_string(), "tcp".to_string(), 5061)),
        "edge01's own access address is not planned towards Microsoft 365 on 5061: {expected:?}"
    );
    assert!(!plan_allows(&t, &p, access, ms_host, Transport::Tcp, 5061));
    assert!(!expected.is_empty(), "edge01's A/V flows to Microsoft 365");
    // unplanned: the Access Edge on a port no row gives it towards Microsoft 365
    assert!(!plan_allows(&t, &p, access, ms_host, Transport::Tcp, 5062));
    specs.push(ListenSpec {
        address: ms_host,
        transport: Transport::Tcp,
        port: 5062,
        kind: Kind::Plain,
        service: "unplanned".into(),
        sampled_from: None,
    });
    let (stop, served) = microsoft_365_listener(&internet_ns, specs);
    let edge_ns = lab.ns_of("edge01").unwrap().to_string();
    // the CLI, with the servers' listeners still up for edge01's other flows
    let dial = format!("{ms_net}={ms_host}");
    let out = lab.exec(
        &edge_ns,
        &[
            PORTPLAN,
            "probe",
            &file,
            "--from",
            "edge01",
            "--dial",
            &dial,
            "--format",
            "json",
            "--timeout",
            "800",
        ],
    );
    let back: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "probe --from edge01 --dial {dial}: {e}\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    let fails = failures(&back);
    assert!(
        fails.is_empty(),
        "probe from edge01 --dial {dial}:\n{}",
        fails.join("\n")
    );
    assert_eq!(out.status.code(), Some(0));
    let dialled: std::collections::BTreeSet<(String, String, u16)> = back["outcomes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["destination"] == ms_host.to_string())
        .map(|o| {
            (
                o["source"].as_str().unwrap_or_default().to_string(),
                o["transport"].as_str().unwrap_or_default().to_string(),
                o["port"].as_u64().unwrap_or_default() as u16,
            )
        })
        .collect();
    assert_eq!(
        dialled, expected,
        "probe --dial reaches Microsoft 365 on every planned port from edge01, and only those"
    );
    let planned = dialled.len();
    // a --dial address outside the network is refused before anything is sent
    let outside = format!("{ms_net}={outsider}");
    let refused = lab.exec(
        &edge_ns,
        &[
            PORTPLAN, "probe", &file, "--from", "edge01", "--dial", &outside,
        ],
    );
    assert_eq!(refused.status.code(), Some(2), "--dial {outside}");
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("is not inside"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    // the unplanned port, which no plan row gives a probe, from the library prober: dropped
    let out = prober_in(
        &edge_ns,
        vec![target(access, ms_host, Transport::Tcp, 5062, "SIP/MTLS")],
    );
    drop(stop);
    served.join().unwrap();
    drop(listeners);
    assert_eq!(
        out[0].verdict,
        Verdict::Filtered,
        "unplanned edge01 -> Microsoft 365 5062 is dropped although the host listens: {:?}",
        out[0]
    );
    eprintln!(
        "hybrid: {} probes from Microsoft 365 passed ({sip_in} SIP, {stun_in} STUN), {planned} from edge01 back with --dial, 2 unplanned filtered",
        json["summary"]["probes"]
    );
}
