//! Load balancer and reverse proxy configurations: their tools accept them and they balance for real.

use crate::enforce::load_rules;
use crate::harness::{Lab, lab_prerequisites};
use crate::probe::{PORTPLAN, reference_file};
use crate::{ScratchNs, common, files, load};
use portplan::plan::{self, Plan};
use portplan::render::{self, Artifact, Scope, Target};
use portplan::topology::Topology;

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
    for example in common::all_examples() {
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

/// The Front End pool is hardware balanced, so the plan opens the reverse proxy's 4443 to the pool
/// VIP only (as the Director table does) and nginx forwards there: the lab puts the VIP on fe01.
#[test]
fn nginx_reverse_proxy_serves_a_hardware_balanced_pool_through_its_vip() {
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
    // the upstream is the VIP, never a server behind it (the firewall opens only the VIP): with
    // fe01, which holds the VIP in the lab, stopped, nothing answers even though fe02 still runs
    assert!(
        !out[0].text.contains("10.10.2.12:4443") && out[0].text.contains("10.10.2.10:4443"),
        "nginx forwards to the Front End VIP"
    );
    let (_, fe01) = members.remove(0);
    let (status, _) = fe01.interrupt();
    assert!(status.success());
    let (code, body) = request(&lab);
    assert_ne!(code, "200", "after the VIP's holder stopped: {body}");
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
        "reverse proxy: {answered} requests answered through the Front End VIP; none after its holder stopped"
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
