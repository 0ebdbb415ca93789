//! The hostile but valid topology (`tests/fixtures/hostile.toml`: names at their limits, a
//! description full of specials, published names of 253 characters) in the real tools that need
//! root: nft, iptables-restore with its ipsets, keepalived and nginx. The tools without that need
//! (haproxy, aclgen) and the static checks of every other target are in tests/hostile.rs.

use crate::harness::lab_prerequisites;
use crate::{ScratchNs, common, file, files};
use portplan::plan::{self, Plan};
use portplan::render::{Artifact, Target};
use portplan::topology::{AddressUse, Topology};

fn hostile() -> (Topology, Plan) {
    let path = common::repo().join("tests/fixtures/hostile.toml");
    let t = Topology::parse("hostile.toml", &common::read(&path)).unwrap();
    let p = plan::compile(&t);
    (t, p)
}

fn write(files: &[Artifact]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for a in files {
        let path = dir.path().join(&a.file);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, &a.text).unwrap();
    }
    dir
}

fn run(cmd: &mut std::process::Command) -> Result<(), String> {
    let out = cmd.output().unwrap();
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

/// Every file of a target must pass its tool.
fn verdict(target: Target, results: Vec<(String, Result<(), String>)>) {
    assert!(!results.is_empty(), "{target}: no files");
    for (file, result) in results {
        if let Err(e) = result {
            panic!("{target}: {file} refused: {e}");
        }
        eprintln!("{target}: {file} accepted");
    }
}

#[test]
fn nft_loads_the_hostile_topology() {
    let Some(_guard) = lab_prerequisites(&["nft"]) else {
        return;
    };
    let (t, p) = hostile();
    for target in [Target::Nftables, Target::NftablesLb] {
        let out = files(&t, &p, target);
        let dir = write(&out);
        let results = out
            .iter()
            .map(|a| {
                let path = dir.path().join(&a.file);
                let r = run(std::process::Command::new("nft")
                    .arg("-c")
                    .arg("-f")
                    .arg(&path));
                (a.file.clone(), r)
            })
            .collect();
        verdict(target, results);
    }
}

#[test]
fn iptables_restore_loads_the_hostile_topology() {
    let Some(_guard) = lab_prerequisites(&["iptables-restore", "ip6tables-restore", "ipset"])
    else {
        return;
    };
    let (t, p) = hostile();
    let out = files(&t, &p, Target::Iptables);
    let lab = ScratchNs::new("pphostipt");
    for fw in &t.firewalls {
        lab.stdin(
            "ipset restore -exist",
            file(&out, &format!("{}.ipset", fw.name)).unwrap(),
        );
        lab.stdin(
            "iptables-restore --test",
            file(&out, &format!("{}.iptables", fw.name)).unwrap(),
        );
        lab.stdin(
            "ip6tables-restore --test",
            file(&out, &format!("{}.ip6tables", fw.name)).expect("dual-stack"),
        );
    }
}

#[test]
fn keepalived_accepts_the_hostile_topology() {
    let Some(_guard) = lab_prerequisites(&["keepalived"]) else {
        return;
    };
    let (t, p) = hostile();
    let out = files(&t, &p, Target::Keepalived);
    let dir = write(&out);
    let ns = ScratchNs::new("pphostka");
    ns.stdin(
        "ip link add eth0 type veth peer name eth1 && ip link set eth0 up && ip link set eth1 up",
        "",
    );
    let results = out
        .iter()
        .map(|a| {
            let path = dir.path().join(&a.file);
            let log = dir.path().join("check.log");
            let r = run(std::process::Command::new("ip").args([
                "netns",
                "exec",
                "pphostka",
                "keepalived",
                &format!("--config-test={}", log.display()),
                "-f",
                &path.display().to_string(),
            ]));
            (a.file.clone(), r)
        })
        .collect();
    verdict(Target::Keepalived, results);
}

#[test]
fn nginx_checks_the_hostile_topology() {
    let Some(_guard) = lab_prerequisites(&["nginx", "openssl"]) else {
        return;
    };
    let (t, p) = hostile();
    let out = files(&t, &p, Target::Nginx);
    let dir = tempfile::tempdir().unwrap();
    let mut results = Vec::new();
    for a in &out {
        let server = t
            .servers()
            .map(|(_, s)| s)
            .find(|s| a.file == format!("{}.nginx.conf", s.name))
            .unwrap();
        // the proxy's addresses on one interface of a scratch namespace, so `listen` can bind
        let ns = ScratchNs::new("pphostngx");
        let mut setup = vec!["ip link set lo up".to_string()];
        setup.push("ip link add p0 type veth peer name p1 && ip link set p0 up".into());
        for ip in server
            .interfaces
            .iter()
            .flat_map(|i| i.ips(AddressUse::Host))
        {
            let (len, extra) = if ip.is_ipv4() {
                (32, "")
            } else {
                (128, " nodad")
            };
            setup.push(format!("ip addr add {ip}/{len} dev p0{extra}"));
        }
        ns.stdin(&setup.join(" && "), "");
        let mut text = a
            .text
            .replace("/etc/portplan/tls/", &format!("{}/", dir.path().display()))
            .replace(
                "pid /run/portplan-nginx.pid;",
                &format!("pid {}/nginx.pid;", dir.path().display()),
            );
        for pool in t
            .pools
            .iter()
            .filter(|p| text.contains(&format!("{}.crt", p.name)))
        {
            let crt = dir.path().join(format!("{}.crt", pool.name));
            let key = dir.path().join(format!("{}.key", pool.name));
            let made = std::process::Command::new("openssl")
                .args([
                    "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                ])
                .args(["-subj", "/CN=hostile"])
                .arg("-keyout")
                .arg(&key)
                .arg("-out")
                .arg(&crt)
                .output()
                .unwrap();
            common::assert_ok(&made, "openssl");
        }
        text.push('\n');
        let conf = dir.path().join("test.conf");
        std::fs::write(&conf, text).unwrap();
        let r = run(std::process::Command::new("ip").args([
            "netns",
            "exec",
            "pphostngx",
            "nginx",
            "-t",
            "-c",
            &conf.display().to_string(),
        ]));
        results.push((a.file.clone(), r));
    }
    verdict(Target::Nginx, results);
}
