//! The generated rulesets load in the real tools (syntax checks in scratch namespaces).

use crate::harness::lab_prerequisites;
use crate::{ScratchNs, common, file, files, load};
use portplan::render::Target;

#[test]
fn nft_accepts_the_generated_rulesets() {
    let Some(_guard) = lab_prerequisites(&["nft"]) else {
        return;
    };
    for example in common::all_examples() {
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
    for (i, example) in common::all_examples().enumerate() {
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
