//! portplan's Aerleon policies mean what the plan means: Aerleon's own nftables generator
//! (`aclgen`) compiles them, the output is loaded unchanged into the lab's firewall namespaces, and
//! the same planned flows pass and unplanned flows drop as with portplan's nftables target (the
//! `enforce` module). Stateful return traffic is Aerleon's (`ct state established,related accept`
//! in its base chain), so every answer the checks wait for crosses the firewall on it.

use crate::harness::flows::{self, Check};
use crate::harness::{Lab, lab_prerequisites};
use crate::{common, files, load};
use portplan::render::Target;
use portplan::topology::Topology;
use std::path::Path;

/// Writes the Aerleon files of `t` to `dir` and runs `aclgen` on every firewall's policy; returns
/// the nftables output per firewall.
fn aclgen_nftables(t: &Topology, p: &portplan::plan::Plan, dir: &Path) -> Vec<(String, String)> {
    for f in files(t, p, Target::Aerleon) {
        let path = dir.join(&f.file);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, f.text).unwrap();
    }
    let mut out = Vec::new();
    for fw in &t.firewalls {
        let o = std::process::Command::new("aclgen")
            .current_dir(dir)
            .args([
                "--policy_file",
                &format!("policies/{}.yaml", fw.name),
                "--definitions_directory",
                "def",
                "--output_directory",
                "out",
            ])
            .output()
            .unwrap();
        common::assert_ok(&o, format!("aclgen {}", fw.name));
        let nft = std::fs::read_to_string(dir.join(format!("out/{}.nft", fw.name)))
            .unwrap_or_else(|e| panic!("aclgen wrote no nftables file for {}: {e}", fw.name));
        out.push((fw.name.clone(), nft));
    }
    out
}

#[test]
fn aerleon_nftables_output_enforces_the_plan_in_the_kernel() {
    let Some(_guard) = lab_prerequisites(&["nft", "aclgen"]) else {
        return;
    };
    let (t, p) = load("reference.toml");
    let dir = tempfile::tempdir().unwrap();
    let rulesets = aclgen_nftables(&t, &p, dir.path());

    let lab = Lab::build(&t, "ppaer");
    let (allowed, unplaceable) = flows::allowed_checks(&lab, &p);
    assert_eq!(unplaceable, 0, "every rule has a lab host at both ends");
    let denied = flows::denied_checks(&t, &p, &allowed);
    assert!(allowed.len() >= p.rules.len());
    assert!(denied.len() > 20, "{} denied checks", denied.len());

    // without rules the lab carries every flow the firewall will have to drop
    let open_lab: Vec<Check> = denied
        .iter()
        .map(|c| Check {
            expect_open: true,
            ..c.clone()
        })
        .collect();
    let broken = flows::run_all(&lab, &open_lab);
    assert!(
        broken.is_empty(),
        "without rules these flows should pass: {:?}",
        broken.first()
    );

    // loaded as aclgen wrote it: one table per firewall, `nft -f`
    for (fw, nft) in &rulesets {
        let o = lab.exec_stdin(lab.firewall_ns(fw), "nft -f -", nft);
        common::assert_ok(&o, format!("{fw}: nft -f out/{fw}.nft"));
    }
    let mut checks = allowed.clone();
    checks.extend(denied.iter().cloned());
    let wrong = flows::run_all(&lab, &checks);
    assert!(
        wrong.is_empty(),
        "{} of {} checks disagree with the plan under Aerleon's nftables output:\n{}",
        wrong.len(),
        checks.len(),
        wrong
            .iter()
            .map(|(c, v)| flows::describe(c, *v))
            .collect::<Vec<_>>()
            .join("\n")
    );
    eprintln!(
        "reference aerleon->nftables: {} allowed flows passed, {} flows outside the plan dropped",
        allowed.len(),
        denied.len()
    );
}

/// The stateful part is what makes the answers pass: with Aerleon's `established,related` rule
/// taken out, the planned flows no longer complete, so the test above proves the policy's
/// statefulness and not only its accept terms.
#[test]
fn without_aerleons_established_rule_the_planned_flows_break() {
    let Some(_guard) = lab_prerequisites(&["nft", "aclgen"]) else {
        return;
    };
    let (t, p) = load("reference.toml");
    let dir = tempfile::tempdir().unwrap();
    let rulesets = aclgen_nftables(&t, &p, dir.path());
    let lab = Lab::build(&t, "ppaerst");
    for (fw, nft) in &rulesets {
        assert_eq!(
            nft.matches("ct state established,related accept").count(),
            1
        );
        let stateless = nft.replace("ct state established,related accept", "");
        let o = lab.exec_stdin(lab.firewall_ns(fw), "nft -f -", &stateless);
        common::assert_ok(&o, fw);
    }
    let (allowed, _) = flows::allowed_checks(&lab, &p);
    let wrong = flows::run_all(&lab, &allowed);
    assert!(
        wrong.len() * 2 > allowed.len(),
        "only {} of {} planned flows broke without return traffic",
        wrong.len(),
        allowed.len()
    );
}

#[test]
fn aclgen_nftables_output_of_every_example_loads_in_nft() {
    // a term naming many catalog rows once gave nft comments over its 128-character limit, and
    // aclgen passed them through: edge-dns-public's output did not load
    let Some(_guard) = lab_prerequisites(&["nft", "aclgen"]) else {
        return;
    };
    for example in common::all_examples() {
        let (t, p) = load(example);
        let dir = tempfile::tempdir().unwrap();
        for (fw, nft) in aclgen_nftables(&t, &p, dir.path()) {
            let path = dir.path().join(format!("{fw}.check.nft"));
            std::fs::write(&path, nft).unwrap();
            let out = std::process::Command::new("nft")
                .arg("-c")
                .arg("-f")
                .arg(&path)
                .output()
                .unwrap();
            common::assert_ok(&out, format!("{example} {fw}: aclgen's nftables output"));
        }
    }
}
