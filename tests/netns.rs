//! Tests that need root and the real kernel: the generated rules are loaded into network namespaces
//! built from the topology, and real packets prove they allow what the plan allows and drop the rest.
//! All such tests live in this one binary and take the harness lock, so they run one at a time.

mod common;
mod harness;

use harness::flows::{self, Check};
use harness::{Lab, lab_prerequisites};
use portplan::plan::{self, Plan};
use portplan::render::{self, Artifact, Scope, Target};
use portplan::topology::Topology;

fn load(name: &str) -> (Topology, Plan) {
    let t = Topology::parse(name, &common::read(&common::example(name))).unwrap();
    let p = plan::compile(&t);
    (t, p)
}

fn files(t: &Topology, p: &Plan, target: Target) -> Vec<Artifact> {
    render::render_files(p, t, target, &Scope::All).unwrap()
}

fn file<'a>(files: &'a [Artifact], name: &str) -> Option<&'a str> {
    files
        .iter()
        .find(|a| a.file == name)
        .map(|a| a.text.as_str())
}

#[test]
fn nft_accepts_the_generated_rulesets() {
    let Some(_guard) = lab_prerequisites(&["nft"]) else {
        return;
    };
    for example in common::EXAMPLES {
        let (t, p) = load(example);
        for a in files(&t, &p, Target::Nftables) {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join(&a.file);
            std::fs::write(&path, &a.text).unwrap();
            let out = std::process::Command::new("nft")
                .arg("-c")
                .arg("-f")
                .arg(&path)
                .output()
                .unwrap();
            common::assert_ok(&out, format!("{example} {}", a.file));
        }
    }
}

#[test]
fn iptables_restore_accepts_the_generated_files() {
    let Some(_guard) = lab_prerequisites(&["iptables-restore", "ip6tables-restore", "ipset"])
    else {
        return;
    };
    for (i, example) in common::EXAMPLES.iter().enumerate() {
        let prefix = format!("ppchk{}", i + 1);
        let (t, p) = load(example);
        let out = files(&t, &p, Target::Iptables);
        // an empty namespace per firewall: the ipsets must exist for `-m set` to be accepted
        let lab = ScratchNs::new(&prefix);
        for fw in &t.firewalls {
            if let Some(sets) = file(&out, &format!("{}.ipset", fw.name)) {
                lab.stdin("ipset restore -exist", sets);
            }
            let v4 = file(&out, &format!("{}.iptables", fw.name)).unwrap();
            lab.stdin("iptables-restore --test", v4);
            if let Some(v6) = file(&out, &format!("{}.ip6tables", fw.name)) {
                lab.stdin("ip6tables-restore --test", v6);
            }
        }
        // the dual-stack example must produce IPv6 files
        if example.starts_with("dns") {
            assert!(out.iter().any(|a| a.file.ends_with(".ip6tables")));
        }
    }
}

/// A bare namespace for syntax checks, removed on drop.
struct ScratchNs(String);

impl ScratchNs {
    fn new(name: &str) -> ScratchNs {
        let _ = std::process::Command::new("ip")
            .args(["netns", "del", name])
            .output();
        let ok = std::process::Command::new("ip")
            .args(["netns", "add", name])
            .status()
            .unwrap();
        assert!(ok.success());
        ScratchNs(name.to_string())
    }
    fn stdin(&self, cmd: &str, input: &str) {
        use std::io::Write;
        let mut child = std::process::Command::new("ip")
            .args(["netns", "exec", &self.0, "sh", "-c", cmd])
            .stdin(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        common::assert_ok(&out, cmd);
    }
}

impl Drop for ScratchNs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("ip")
            .args(["netns", "del", &self.0])
            .output();
    }
}

/// Loads the firewall rules of `target` into the lab's firewall namespaces.
fn load_rules(lab: &Lab, t: &Topology, p: &Plan, target: Target) {
    let out = files(t, p, target);
    for fw in &t.firewalls {
        let ns = lab.firewall_ns(&fw.name);
        let run = |cmd: &str, text: &str| {
            let o = lab.exec_stdin(ns, cmd, text);
            common::assert_ok(&o, format!("{}: {cmd}", fw.name));
        };
        match target {
            Target::Nftables => run("nft -f -", file(&out, &format!("{}.nft", fw.name)).unwrap()),
            Target::Iptables => {
                if let Some(sets) = file(&out, &format!("{}.ipset", fw.name)) {
                    run("ipset restore -exist", sets);
                }
                run(
                    "iptables-restore",
                    file(&out, &format!("{}.iptables", fw.name)).unwrap(),
                );
                if let Some(v6) = file(&out, &format!("{}.ip6tables", fw.name)) {
                    run("ip6tables-restore", v6);
                }
            }
            _ => unreachable!("not a firewall target"),
        }
    }
}

/// Builds the lab, proves it routes with no rules loaded, loads the rules, and checks the plan.
/// Returns the counts of allowed and denied checks, and of allowed checks that cross a static NAT.
fn enforce(example: &str, target: Target, prefix: &str) -> (usize, usize, usize) {
    let (t, p) = load(example);
    let lab = Lab::build(&t, prefix);
    let (allowed, unplaceable) = flows::allowed_checks(&lab, &p);
    assert_eq!(unplaceable, 0, "every rule has a lab host at both ends");
    let denied = flows::denied_checks(&t, &p, &allowed);
    // at least one check per rule, and a sample outside the plan of comparable size
    assert!(
        allowed.len() >= p.rules.len(),
        "{} allowed checks for {} rules",
        allowed.len(),
        p.rules.len()
    );
    assert!(denied.len() > 20, "{} denied checks", denied.len());

    // before any rule: the lab itself must carry every denied flow, so a drop later is the firewall's
    let open_lab: Vec<Check> = denied
        .iter()
        .map(|c| Check {
            expect_open: true,
            ..c.clone()
        })
        .collect();
    if lab.has_nat() {
        lab.load_nat_only();
    }
    let broken = flows::run_all(&lab, &open_lab);
    if lab.has_nat() {
        lab.remove_nat_only();
    }
    assert!(
        broken.is_empty(),
        "without rules these flows should pass:\n{}",
        broken
            .iter()
            .map(|(c, v)| flows::describe(c, *v))
            .collect::<Vec<_>>()
            .join("\n")
    );

    load_rules(&lab, &t, &p, target);
    let mut checks = allowed.clone();
    checks.extend(denied.iter().cloned());
    let wrong = flows::run_all(&lab, &checks);
    assert!(
        wrong.is_empty(),
        "{} of {} checks disagree with the plan:\n{}",
        wrong.len(),
        checks.len(),
        wrong
            .iter()
            .map(|(c, v)| flows::describe(c, *v))
            .collect::<Vec<_>>()
            .join("\n")
    );
    eprintln!(
        "{example} {target}: {} allowed flows passed, {} flows outside the plan dropped",
        allowed.len(),
        denied.len()
    );
    let translated = allowed
        .iter()
        .filter(|c| lab.translate(&c.src_ns, c.src, &c.dst_ns, c.dst) != (c.dst, c.src))
        .count();
    (allowed.len(), denied.len(), translated)
}

#[test]
fn nftables_rules_enforce_the_plan_in_the_kernel() {
    let Some(_guard) = lab_prerequisites(&["nft"]) else {
        return;
    };
    enforce("reference.toml", Target::Nftables, "ppnft");
}

#[test]
fn iptables_rules_enforce_the_plan_in_the_kernel() {
    let Some(_guard) = lab_prerequisites(&["iptables-restore", "ipset"]) else {
        return;
    };
    enforce("reference.toml", Target::Iptables, "ppipt");
}

#[test]
fn nat_edge_nftables_rules_enforce_the_plan_and_translate() {
    let Some(_guard) = lab_prerequisites(&["nft"]) else {
        return;
    };
    let (_, _, translated) = enforce("edge-single-nat.toml", Target::Nftables, "ppnatn");
    // in: remote clients, partners and the internet dial the public addresses; out: the Edge's and
    // the reverse proxy's own connections leave with them
    assert!(translated >= 15, "{translated} checks crossed the NAT");
}

#[test]
fn without_its_nat_chains_the_natted_edge_is_unreachable_from_outside() {
    let Some(_guard) = lab_prerequisites(&["nft"]) else {
        return;
    };
    let (t, p) = load("edge-single-nat.toml");
    let lab = Lab::build(&t, "ppnoxl");
    let out = files(&t, &p, Target::Nftables);
    for fw in &t.firewalls {
        let text = file(&out, &format!("{}.nft", fw.name)).unwrap();
        // the same filter rules, the translation cut out
        let filtered = match text.find("\n\tchain prerouting {") {
            Some(at) => format!("{}}}\n", &text[..at]),
            None => text.to_string(),
        };
        let o = lab.exec_stdin(lab.firewall_ns(&fw.name), "nft -f -", &filtered);
        common::assert_ok(&o, &fw.name);
    }
    let (allowed, _) = flows::allowed_checks(&lab, &p);
    let crossing: Vec<&Check> = allowed
        .iter()
        .filter(|c| lab.translate(&c.src_ns, c.src, &c.dst_ns, c.dst) != (c.dst, c.src))
        .collect();
    assert!(!crossing.is_empty());
    for c in &crossing {
        let v = flows::run(&lab, c, std::time::Duration::from_millis(600));
        assert_ne!(v, flows::Verdict::Open, "{}", flows::describe(c, v));
    }
    // the flows that cross no NAT still pass
    let plain: Vec<Check> = allowed
        .iter()
        .filter(|c| lab.translate(&c.src_ns, c.src, &c.dst_ns, c.dst) == (c.dst, c.src))
        .cloned()
        .collect();
    let wrong = flows::run_all(&lab, &plain);
    assert!(wrong.is_empty(), "{:?}", wrong.first());
}

#[test]
fn the_other_edge_variants_enforce_their_plans() {
    let Some(_guard) = lab_prerequisites(&["nft"]) else {
        return;
    };
    // the smallest design: one Edge with public addresses, no Director
    enforce("edge-single-public.toml", Target::Nftables, "ppsgl");
    // public addresses, three firewalls and the internal server tables between segments
    enforce("edge-dns-public.toml", Target::Nftables, "ppdnsp");
    // two Edge servers behind static NAT
    let (_, _, translated) = enforce("edge-dns-nat.toml", Target::Nftables, "ppdnsn");
    assert!(translated > 0);
}

#[test]
fn nat_edge_iptables_rules_enforce_the_plan_and_translate() {
    let Some(_guard) = lab_prerequisites(&["iptables-restore", "ipset"]) else {
        return;
    };
    enforce("edge-single-nat.toml", Target::Iptables, "ppnati");
}

#[test]
fn a_missing_rule_shows_up_as_dropped_flows() {
    let Some(_guard) = lab_prerequisites(&["nft"]) else {
        return;
    };
    let (t, full) = load("reference.toml");
    // remove the remote users' SIP/TLS rule (internet -> Access Edge VIP 443) from what is loaded
    let mut sabotaged = full.clone();
    let victim = sabotaged
        .rules
        .iter()
        .position(|r| r.destination.role == "edge.access.vip" && r.ports.start == 443)
        .unwrap();
    let removed = sabotaged.rules.remove(victim);
    let lab = Lab::build(&t, "ppmiss");
    load_rules(&lab, &t, &sabotaged, Target::Nftables);
    let (allowed, _) = flows::allowed_checks(&lab, &full);
    let wrong = flows::run_all(&lab, &allowed);
    assert!(
        !wrong.is_empty(),
        "removing r{} must block its flow",
        removed.id
    );
    for (c, v) in &wrong {
        assert_eq!(*v, flows::Verdict::Dropped, "{}", flows::describe(c, *v));
        assert!(
            c.label.starts_with(&format!("r{} ", removed.id)),
            "{}",
            c.label
        );
    }
}

const PORTPLAN: &str = env!("CARGO_BIN_EXE_portplan");

fn reference_file() -> String {
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
        assert_eq!(
            code, 0,
            "probe --from {from} exits 0 when every flow passed"
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

/// A tiny deterministic generator (xorshift), so the random rulesets are reproducible by seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

#[derive(Clone)]
struct GenRule {
    in_user_chain: bool,
    iif: Option<(&'static str, bool)>,
    src: Option<(String, bool)>,
    dst: Option<(String, bool)>,
    proto: Option<&'static str>,
    /// single ports, ranges (a, b), negated single port
    dports: Option<(Vec<(u16, u16)>, bool)>,
    action: &'static str, // accept, drop, return, jump
}

const PORTS: [u16; 10] = [80, 443, 3478, 5061, 5269, 8080, 50000, 54999, 55000, 59999];
const NETS: [&str; 9] = [
    "203.0.113.0/24",
    "203.0.113.0/28",
    "203.0.113.11/32",
    "203.0.113.100/31",
    "203.0.113.16/28",
    "198.51.100.0/24",
    "198.51.100.240/28",
    "0.0.0.0/1",
    "128.0.0.0/1",
];

fn random_ruleset(seed: u64) -> (Vec<GenRule>, bool) {
    let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let n = 8 + rng.below(20);
    let mut rules = Vec::new();
    for _ in 0..n {
        let proto = if rng.chance(70) {
            Some(*rng.pick(&["tcp", "udp"]))
        } else {
            None
        };
        let dports = proto.filter(|_| rng.chance(75)).map(|_| {
            if rng.chance(20) {
                (
                    vec![(*rng.pick(&PORTS), 0)]
                        .into_iter()
                        .map(|(p, _)| (p, p))
                        .collect(),
                    true,
                )
            } else if rng.chance(40) {
                let a = *rng.pick(&PORTS);
                let b = *rng.pick(&PORTS);
                (vec![(a.min(b), a.max(b))], false)
            } else {
                let mut v: Vec<(u16, u16)> = (0..1 + rng.below(3))
                    .map(|_| {
                        let p = *rng.pick(&PORTS);
                        (p, p)
                    })
                    .collect();
                v.sort();
                v.dedup();
                (v, false)
            }
        });
        let in_user_chain = rng.chance(35);
        let action = match rng.below(10) {
            0..=4 => "accept",
            5..=7 => "drop",
            _ if in_user_chain => "return",
            _ => "jump",
        };
        rules.push(GenRule {
            in_user_chain,
            iif: rng
                .chance(50)
                .then(|| (*rng.pick(&["outside", "dmz"]), rng.chance(20))),
            src: rng
                .chance(50)
                .then(|| (rng.pick(&NETS).to_string(), rng.chance(15))),
            dst: rng
                .chance(60)
                .then(|| (rng.pick(&NETS).to_string(), rng.chance(15))),
            proto,
            dports,
            action,
        });
    }
    (rules, rng.chance(50))
}

fn as_iptables(rules: &[GenRule], policy_accept: bool) -> String {
    let mut s = format!(
        "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD {} [0:0]\n:OUTPUT ACCEPT [0:0]\n:USER - [0:0]\n-A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n",
        if policy_accept { "ACCEPT" } else { "DROP" }
    );
    for r in rules {
        let mut l = format!("-A {}", if r.in_user_chain { "USER" } else { "FORWARD" });
        if let Some((i, neg)) = r.iif {
            l += &format!("{} -i {i}", if neg { " !" } else { "" });
        }
        if let Some((n, neg)) = &r.src {
            l += &format!("{} -s {n}", if *neg { " !" } else { "" });
        }
        if let Some((n, neg)) = &r.dst {
            l += &format!("{} -d {n}", if *neg { " !" } else { "" });
        }
        if let Some(p) = r.proto {
            l += &format!(" -p {p}");
        }
        if let Some((ports, neg)) = &r.dports {
            let list: Vec<String> = ports
                .iter()
                .map(|(a, b)| {
                    if a == b {
                        a.to_string()
                    } else {
                        format!("{a}:{b}")
                    }
                })
                .collect();
            if *neg {
                l += &format!(" -m {} ! --dport {}", r.proto.unwrap(), list[0]);
            } else {
                l += &format!(" -m multiport --dports {}", list.join(","));
            }
        }
        l += match r.action {
            "accept" => " -j ACCEPT",
            "drop" => " -j DROP",
            "return" => " -j RETURN",
            _ => " -j USER",
        };
        s += &l;
        s.push('\n');
    }
    s + "COMMIT\n"
}

fn as_nft(rules: &[GenRule], policy_accept: bool) -> String {
    let line = |r: &GenRule| -> String {
        let mut l = String::from("\t\t");
        if let Some((i, neg)) = r.iif {
            l += &format!("iifname {}\"{i}\" ", if neg { "!= " } else { "" });
        }
        if let Some((n, neg)) = &r.src {
            l += &format!("ip saddr {}{n} ", if *neg { "!= " } else { "" });
        }
        if let Some((n, neg)) = &r.dst {
            l += &format!("ip daddr {}{n} ", if *neg { "!= " } else { "" });
        }
        match (&r.proto, &r.dports) {
            (Some(p), Some((ports, neg))) => {
                let list: Vec<String> = ports
                    .iter()
                    .map(|(a, b)| {
                        if a == b {
                            a.to_string()
                        } else {
                            format!("{a}-{b}")
                        }
                    })
                    .collect();
                if *neg {
                    l += &format!("{p} dport != {} ", list[0]);
                } else {
                    l += &format!("{p} dport {{ {} }} ", list.join(", "));
                }
            }
            (Some(p), None) => l += &format!("meta l4proto {p} "),
            _ => {}
        }
        l += match r.action {
            "accept" => "accept",
            "drop" => "drop",
            "return" => "return",
            _ => "jump user",
        };
        l + "\n"
    };
    let mut s = format!(
        "table inet diff {{\n\tchain user {{\n{}\t}}\n\tchain forward {{\n\t\ttype filter hook forward priority filter; policy {};\n\t\tct state established,related accept\n",
        rules
            .iter()
            .filter(|r| r.in_user_chain)
            .map(line)
            .collect::<String>(),
        if policy_accept { "accept" } else { "drop" }
    );
    s += &rules
        .iter()
        .filter(|r| !r.in_user_chain)
        .map(line)
        .collect::<String>();
    s + "\t}\n}\n"
}

#[test]
fn audit_agrees_with_the_kernel_on_random_rulesets() {
    use portplan::audit::eval::{self, Fate};
    use portplan::audit::space::{PROTO_TCP, PROTO_UDP, PacketBox, Region, addr_value};
    use portplan::catalog::Transport;
    use portplan::plan::Family;
    let Some(_guard) = lab_prerequisites(&["nft", "iptables-restore"]) else {
        return;
    };
    let (t, _) = load("reference.toml");
    let lab = Lab::build(&t, "ppdiff");
    let fw = lab.firewall_ns("fw-external").to_string();
    let outside: Vec<std::net::IpAddr> = vec!["198.51.100.250".parse().unwrap()];
    let inside: Vec<std::net::IpAddr> = [
        "203.0.113.11",
        "203.0.113.13",
        "203.0.113.21",
        "203.0.113.30",
        "203.0.113.100",
        "203.0.113.101",
        "203.0.113.250",
    ]
    .iter()
    .map(|a| a.parse().unwrap())
    .collect();
    let seeds = 6u64;
    let mut checked = 0;
    let mut allowed = 0;
    let mut disagreements = Vec::new();
    for seed in 1..=seeds {
        let (rules, policy_accept) = random_ruleset(seed);
        for format in ["iptables", "nftables"] {
            let text = if format == "iptables" {
                as_iptables(&rules, policy_accept)
            } else {
                as_nft(&rules, policy_accept)
            };
            let _ = lab.exec(&fw, &["nft", "flush", "ruleset"]);
            let cmd = if format == "iptables" {
                "iptables-restore"
            } else {
                "nft -f -"
            };
            let out = lab.exec_stdin(&fw, cmd, &text);
            assert!(
                out.status.success(),
                "seed {seed} {format}: {}\n{text}",
                String::from_utf8_lossy(&out.stderr)
            );
            let config = portplan::audit::parse(format.parse().unwrap(), &text).unwrap();
            assert!(
                config.unparsed.is_empty(),
                "seed {seed} {format}: {:?}",
                config.unparsed
            );
            // flows in both directions, both protocols, ports from the rules' vocabulary
            let mut rng = Rng(seed * 7919 + if format == "iptables" { 1 } else { 2 });
            let mut checks = Vec::new();
            for _ in 0..40 {
                let outbound = rng.chance(50);
                let (src, dst, iif, oif) = if outbound {
                    (*rng.pick(&inside), *rng.pick(&outside), "dmz", "outside")
                } else {
                    (*rng.pick(&outside), *rng.pick(&inside), "outside", "dmz")
                };
                let transport = if rng.chance(50) {
                    Transport::Tcp
                } else {
                    Transport::Udp
                };
                let port = *rng.pick(&PORTS);
                let point = Region::of(PacketBox {
                    src: (addr_value(src), addr_value(src)),
                    dst: (addr_value(dst), addr_value(dst)),
                    proto: if transport == Transport::Tcp {
                        PROTO_TCP
                    } else {
                        PROTO_UDP
                    },
                    port: (port, port),
                });
                let pieces = eval::evaluate(&config, Family::V4, iif, oif, point);
                assert_eq!(pieces.len(), 1);
                let open = match &pieces[0].fate {
                    Fate::Allowed(_) => true,
                    Fate::Denied(_) => false,
                    Fate::Uncertain(at) => panic!("seed {seed} {format}: uncertain {at:?}"),
                };
                let c = Check {
                    label: format!(
                        "seed {seed} {format} {}",
                        if open { "allowed" } else { "denied" }
                    ),
                    src_ns: lab.owner(src).unwrap().to_string(),
                    src,
                    dst_ns: lab.owner(dst).unwrap().to_string(),
                    dst,
                    transport,
                    port,
                    expect_open: open,
                };
                if !checks.iter().any(|x: &Check| {
                    x.src == c.src
                        && x.dst == c.dst
                        && x.port == c.port
                        && x.transport == c.transport
                }) {
                    checks.push(c);
                }
            }
            checked += checks.len();
            allowed += checks.iter().filter(|c| c.expect_open).count();
            for (c, v) in flows::run_all(&lab, &checks) {
                disagreements.push(format!("{}\n{text}", flows::describe(&c, v)));
            }
        }
    }
    eprintln!(
        "differential: {checked} flows over {} random rulesets ({allowed} allowed, {} dropped by the audit's verdict), {} disagreements",
        seeds * 2,
        checked - allowed,
        disagreements.len()
    );
    assert!(checked >= 300, "{checked} flows");
    assert!(
        allowed > 30 && checked - allowed > 30,
        "both verdicts are exercised"
    );
    assert!(
        disagreements.is_empty(),
        "{}",
        disagreements.join("\n---\n")
    );
}

/// Writes the rendered files of a target into a temporary directory.
fn written(t: &Topology, p: &Plan, target: Target) -> (tempfile::TempDir, Vec<Artifact>) {
    let dir = tempfile::tempdir().unwrap();
    let out = files(t, p, target);
    for a in &out {
        let path = dir.path().join(&a.file);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, &a.text).unwrap();
    }
    (dir, out)
}

/// Self-signed certificates for every published pool, and the nginx config pointed at them.
fn nginx_config_with_certs(text: &str, dir: &std::path::Path) -> String {
    let mut text = text.replace("/etc/portplan/tls/", &format!("{}/", dir.display()));
    text = text.replace(
        "pid /run/portplan-nginx.pid;",
        &format!("pid {}/nginx.pid;", dir.display()),
    );
    // one certificate per pool the configuration names
    let mut pools: Vec<String> = text
        .match_indices(".crt;")
        .filter_map(|(i, _)| text[..i].rsplit('/').next().map(String::from))
        .collect();
    pools.sort();
    pools.dedup();
    for pool in &pools {
        let cert = rcgen_cert(pool);
        std::fs::write(dir.join(format!("{pool}.crt")), cert.0).unwrap();
        std::fs::write(dir.join(format!("{pool}.key")), cert.1).unwrap();
    }
    text
}

fn rcgen_cert(name: &str) -> (String, String) {
    let out = std::process::Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            &format!("/CN={name}"),
            "-keyout",
            "/dev/stdout",
            "-out",
            "/dev/stdout",
        ])
        .output()
        .expect("openssl");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let key_end = text
        .find("-----END PRIVATE KEY-----")
        .map(|i| i + "-----END PRIVATE KEY-----".len())
        .expect("a key");
    (
        text[key_end..].trim().to_string() + "\n",
        text[..key_end].trim().to_string() + "\n",
    )
}

#[test]
fn load_balancer_and_proxy_configs_pass_their_tools() {
    let Some(_guard) = lab_prerequisites(&["nft", "nginx", "haproxy", "keepalived", "openssl"])
    else {
        return;
    };
    for example in common::EXAMPLES {
        let (t, p) = load(example);
        // haproxy and nft check syntax without touching the machine
        let (dir, out) = written(&t, &p, Target::Haproxy);
        assert!(!out.is_empty());
        for a in &out {
            let o = std::process::Command::new("haproxy")
                .arg("-c")
                .arg("-f")
                .arg(dir.path().join(&a.file))
                .output()
                .unwrap();
            common::assert_ok(&o, format!("{example} {}", a.file));
        }
        let (dir, out) = written(&t, &p, Target::NftablesLb);
        for a in &out {
            let o = std::process::Command::new("nft")
                .arg("-c")
                .arg("-f")
                .arg(dir.path().join(&a.file))
                .output()
                .unwrap();
            common::assert_ok(&o, format!("{example} {}", a.file));
        }
        // keepalived and nginx check against a machine that has their interfaces and addresses:
        // the load balancer (dummy eth0/eth1) and the reverse proxy's namespace in a lab
        let ns = ScratchNs::new("ppkeep");
        ns.stdin("ip link add eth0 type veth peer name eth1 && ip link set eth0 up && ip link set eth1 up", "");
        let (dir, out) = written(&t, &p, Target::Keepalived);
        for a in &out {
            let path = dir.path().join(&a.file);
            assert!(path.exists());
            let log = dir.path().join("check.log");
            ns.stdin(
                &format!(
                    "keepalived --config-test={} -f {}",
                    log.display(),
                    path.display()
                ),
                "",
            );
        }
        drop(ns);
        let lab = Lab::build(&t, "ppngx");
        let (dir, out) = written(&t, &p, Target::Nginx);
        for a in &out {
            let server = a.file.trim_end_matches(".nginx.conf");
            let text = nginx_config_with_certs(&a.text, dir.path());
            let conf = dir.path().join(format!("{server}.test.conf"));
            std::fs::write(&conf, text).unwrap();
            let o = lab.exec(
                lab.ns_of(server).unwrap(),
                &["nginx", "-t", "-c", &conf.display().to_string()],
            );
            common::assert_ok(&o, format!("{example} {}", a.file));
        }
    }
}

#[test]
fn the_linter_refuses_lb_configs_that_break_the_design() {
    let text = common::read(&common::example("reference.toml")).replace(
        "address = \"203.0.113.102\"\n  snat = false",
        "address = \"203.0.113.102\"\n  snat = true",
    );
    let t = Topology::parse("snat.toml", &text).unwrap();
    let p = plan::compile(&t);
    for target in [
        Target::NftablesLb,
        Target::Keepalived,
        Target::Nginx,
        Target::Haproxy,
    ] {
        let err = render::render(&p, &t, target, &Scope::All)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("lb-snat-av") && err.contains("A/V"),
            "{target}: {err}"
        );
    }
}

#[test]
fn nginx_reverse_proxy_serves_the_published_pool_and_survives_a_stopped_member() {
    let Some(_guard) = lab_prerequisites(&["nft", "nginx", "curl", "openssl"]) else {
        return;
    };
    let (t, p) = load("reference.toml");
    let lab = Lab::build(&t, "pprp");
    load_rules(&lab, &t, &p, Target::Nftables);
    let file = reference_file();
    // the pool members answer HTTPS on 4443 (portplan listen --tls); fe03 stays down
    let mut members = Vec::new();
    for fe in ["fe01", "fe02"] {
        members.push((
            fe,
            lab.spawn(
                lab.ns_of(fe).unwrap(),
                &[PORTPLAN, "listen", &file, "--host", fe, "--tls"],
                Some("listening on"),
            )
            .0,
        ));
    }
    let (dir, out) = written(&t, &p, Target::Nginx);
    let conf = dir.path().join("rp01.run.conf");
    let text = nginx_config_with_certs(&out[0].text, dir.path());
    std::fs::write(&conf, text).unwrap();
    let rp_ns = lab.ns_of("rp01").unwrap().to_string();
    let (_nginx, _) = lab.spawn(
        &rp_ns,
        &[
            "nginx",
            "-c",
            &conf.display().to_string(),
            "-g",
            "daemon off;",
        ],
        None,
    );
    let client = lab.ns_of("any@internet").unwrap().to_string();
    let request = |lab: &Lab| -> (String, String) {
        let o = lab.exec(
            &client,
            &[
                "curl",
                "-sk",
                "--max-time",
                "5",
                "--resolve",
                "webext.contoso.example:443:203.0.113.30",
                "-w",
                "\n%{http_code}",
                "https://webext.contoso.example/",
            ],
        );
        let text = String::from_utf8_lossy(&o.stdout).to_string();
        let code = text.lines().last().unwrap_or("").to_string();
        (code, text)
    };
    // wait for nginx to come up
    let mut ready = false;
    for _ in 0..50 {
        if request(&lab).0 == "200" {
            ready = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(ready, "nginx answers through the firewall");
    let mut answered = 0;
    for _ in 0..20 {
        let (code, body) = request(&lab);
        assert_eq!(code, "200", "{body}");
        assert!(body.contains("portplan listener: HTTPS tcp/4443"), "{body}");
        answered += 1;
    }
    // stop one member: the others still answer
    let (_, fe01) = members.remove(0);
    let (status, _) = fe01.interrupt();
    assert!(status.success());
    for _ in 0..20 {
        let (code, body) = request(&lab);
        assert_eq!(code, "200", "after fe01 stopped: {body}");
        answered += 1;
    }
    // plain HTTP on 80 redirects to HTTPS, autodiscover goes to 8080
    let o = lab.exec(
        &client,
        &[
            "curl",
            "-s",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code} %{redirect_url}",
            "--resolve",
            "meet.contoso.example:80:203.0.113.30",
            "http://meet.contoso.example/x",
        ],
    );
    let redirect = String::from_utf8_lossy(&o.stdout).to_string();
    assert!(
        redirect.starts_with("301 https://meet.contoso.example/x"),
        "{redirect}"
    );
    eprintln!(
        "reverse proxy: 40 requests made, {answered} answered by a pool member (fe03 down throughout, fe01 stopped after 20)"
    );
}

/// Accepts TCP connections on `addr` in a namespace until told to stop; returns the peers seen.
fn record_tcp_peers(
    lab: &Lab,
    ns: &str,
    addr: std::net::SocketAddr,
) -> (
    std::sync::Arc<std::sync::Mutex<Vec<std::net::SocketAddr>>>,
    std::sync::Arc<std::sync::atomic::AtomicBool>,
) {
    use std::sync::atomic::{AtomicBool, Ordering};
    let listener = lab.in_ns(ns, move || {
        std::net::TcpListener::bind(addr).unwrap_or_else(|e| panic!("bind {addr}: {e}"))
    });
    listener.set_nonblocking(true).unwrap();
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let stop = std::sync::Arc::new(AtomicBool::new(false));
    let (s2, stop2) = (seen.clone(), stop.clone());
    std::thread::spawn(move || {
        while !stop2.load(Ordering::Relaxed) {
            match listener.accept() {
                Ok((_, peer)) => s2.lock().unwrap().push(peer),
                Err(_) => std::thread::sleep(std::time::Duration::from_millis(5)),
            }
        }
    });
    (seen, stop)
}

#[test]
fn nftables_lb_snats_access_but_not_av_and_spreads_connections() {
    use std::net::{SocketAddr, UdpSocket};
    let Some(_guard) = lab_prerequisites(&["nft"]) else {
        return;
    };
    let (t, p) = load("reference.toml");
    let lab = Lab::build_with(&t, "pplb", true);
    let lb = lab.firewall_ns("fw-external").to_string();
    let out = files(&t, &p, Target::NftablesLb);
    let o = lab.exec_stdin(&lb, "nft -f -", &out[0].text);
    common::assert_ok(&o, "loading the load balancer ruleset");

    // Access Edge: both servers listen on their access address, 443
    let mut access = Vec::new();
    for (server, ip) in [("edge01", "203.0.113.11"), ("edge02", "203.0.113.21")] {
        let addr: SocketAddr = format!("{ip}:443").parse().unwrap();
        access.push((
            server,
            record_tcp_peers(&lab, lab.ns_of(server).unwrap(), addr),
        ));
    }
    let client = lab.ns_of("any@internet").unwrap().to_string();
    let vip: SocketAddr = "203.0.113.100:443".parse().unwrap();
    let connections = 20;
    for _ in 0..connections {
        lab.in_ns(&client, move || {
            let s = std::net::TcpStream::connect_timeout(&vip, std::time::Duration::from_secs(2))
                .expect("the Access VIP answers");
            drop(s);
        });
    }
    std::thread::sleep(std::time::Duration::from_millis(300));
    let mut per_server = Vec::new();
    for (server, (seen, stop)) in &access {
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let peers = seen.lock().unwrap().clone();
        for peer in &peers {
            assert_eq!(
                peer.ip().to_string(),
                "203.0.113.100",
                "{server}: SNAT puts the VIP as source"
            );
        }
        per_server.push((server.to_string(), peers.len()));
    }
    let total: usize = per_server.iter().map(|(_, n)| n).sum();
    assert_eq!(total, connections, "{per_server:?}");
    assert!(
        per_server.iter().all(|(_, n)| *n >= connections / 4),
        "spread over both Edge servers: {per_server:?}"
    );

    // A/V Edge: UDP 3478 on the VIP reaches a real A/V address with the client's own address, and
    // the answer comes back from the VIP the client contacted
    let mut av_seen = Vec::new();
    for (server, ip) in [("edge01", "203.0.113.13"), ("edge02", "203.0.113.23")] {
        let addr: SocketAddr = format!("{ip}:3478").parse().unwrap();
        let sock = lab.in_ns(lab.ns_of(server).unwrap(), move || {
            UdpSocket::bind(addr).unwrap()
        });
        sock.set_read_timeout(Some(std::time::Duration::from_millis(100)))
            .unwrap();
        av_seen.push((server, sock));
    }
    let av_vip: SocketAddr = "203.0.113.102:3478".parse().unwrap();
    let client_sock = lab.in_ns(&client, || UdpSocket::bind("0.0.0.0:0").unwrap());
    client_sock
        .set_read_timeout(Some(std::time::Duration::from_secs(2)))
        .unwrap();
    let mut av_peers = Vec::new();
    for i in 0..10u8 {
        client_sock.send_to(&[i; 32], av_vip).unwrap();
        let mut got = None;
        for _ in 0..20 {
            for (server, sock) in &av_seen {
                let mut buf = [0u8; 64];
                if let Ok((n, peer)) = sock.recv_from(&mut buf) {
                    sock.send_to(&buf[..n], peer).unwrap();
                    got = Some((server.to_string(), peer));
                }
            }
            if got.is_some() {
                break;
            }
        }
        let (server, peer) = got.expect("an A/V Edge received the datagram");
        assert_eq!(
            peer.ip().to_string(),
            "198.51.100.250",
            "A/V keeps the client's address (no SNAT)"
        );
        let mut buf = [0u8; 64];
        let (_, from) = client_sock
            .recv_from(&mut buf)
            .expect("the answer comes back");
        assert_eq!(
            from, av_vip,
            "the reply comes from the address the client contacted"
        );
        av_peers.push(server);
    }
    av_peers.dedup();
    assert_eq!(
        av_peers.len(),
        1,
        "one client stays on one A/V Edge (jhash): {av_peers:?}"
    );
    eprintln!(
        "load balancer: {connections} Access connections, {per_server:?}, all with the VIP as source; 10 A/V datagrams kept the client's address and were answered from the VIP"
    );
}
