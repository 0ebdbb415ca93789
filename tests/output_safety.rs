//! Output a user can trust on topologies nobody here wrote: `-o` writes only inside the directory
//! (or to the file) the user named, symbolic links already there refused, never followed (a cold
//! trial overwrote a file outside the directory through a link placed in it); generated names stay
//! distinct and within each platform's limits.

use assert_cmd::Command;
use std::os::unix::fs::symlink;

fn portplan() -> Command {
    Command::cargo_bin("portplan").unwrap()
}

#[test]
fn a_symlink_in_the_output_directory_is_not_followed() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let victim = dir.path().join("victim.txt");
    std::fs::write(&victim, "keep me").unwrap();
    symlink(&victim, out.join("fw-external.nft")).unwrap();
    let res = portplan()
        .args(["render", "--target", "nftables", "-o"])
        .arg(&out)
        .assert()
        .code(2);
    let err = String::from_utf8_lossy(&res.get_output().stderr).to_string();
    assert!(err.contains("symbolic link"), "{err}");
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep me");
}

#[test]
fn a_dangling_symlink_in_the_output_directory_creates_nothing_outside() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let target = dir.path().join("newfile.txt");
    symlink(&target, out.join("fw-internal.nft")).unwrap();
    portplan()
        .args(["render", "--target", "nftables", "-o"])
        .arg(&out)
        .assert()
        .code(2);
    assert!(!target.exists());
}

#[test]
fn a_symlinked_subdirectory_of_the_output_directory_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let elsewhere = dir.path().join("elsewhere");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::create_dir_all(&elsewhere).unwrap();
    symlink(&elsewhere, out.join("policies")).unwrap();
    let res = portplan()
        .args(["render", "--target", "aerleon", "-o"])
        .arg(&out)
        .assert()
        .code(2);
    let err = String::from_utf8_lossy(&res.get_output().stderr).to_string();
    assert!(err.contains("symbolic link"), "{err}");
    assert_eq!(std::fs::read_dir(&elsewhere).unwrap().count(), 0);
}

#[test]
fn a_single_output_file_that_is_a_symlink_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let victim = dir.path().join("victim.txt");
    std::fs::write(&victim, "keep me").unwrap();
    let link = dir.path().join("rules.csv");
    symlink(&victim, &link).unwrap();
    portplan()
        .args(["render", "--target", "csv", "-o"])
        .arg(&link)
        .assert()
        .code(2);
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep me");
    // a real file is replaced as before
    let real = dir.path().join("real.csv");
    std::fs::write(&real, "old").unwrap();
    portplan()
        .args(["render", "--target", "csv", "-o"])
        .arg(&real)
        .assert()
        .success();
    assert!(std::fs::read_to_string(&real).unwrap().contains("5061"));
}

#[test]
fn interface_names_that_differ_only_in_punctuation_get_their_own_nft_chains() {
    // a cold trial named two legs `out-side` and `out_side`: both directions fell into one chain
    // and the forward chain jumped to it for one direction only, so inbound traffic hit the policy
    let text = portplan::topology::Topology::reference_source()
        .replace("name = \"outside\"", "name = \"out-side\"")
        .replace(
            "  name = \"dmz\"\n  zone = \"perimeter-external\"",
            "  name = \"out_side\"\n  zone = \"perimeter-external\"",
        );
    let t = portplan::topology::Topology::parse("punct.toml", &text).unwrap();
    let p = portplan::plan::compile(&t);
    let nft = portplan::render::render(
        &p,
        &t,
        portplan::render::Target::Nftables,
        &portplan::render::Scope::Firewall("fw-external".into()),
    )
    .unwrap();
    let jumps: Vec<&str> = nft.lines().filter(|l| l.contains(" jump ")).collect();
    assert_eq!(jumps.len(), 2, "{jumps:#?}");
    let targets: std::collections::BTreeSet<&str> = jumps
        .iter()
        .map(|l| l.rsplit(' ').next().unwrap())
        .collect();
    assert_eq!(targets.len(), 2, "two directions, two chains: {jumps:#?}");
    for chain in targets {
        assert!(nft.contains(&format!("chain {chain} {{")), "{chain}");
    }
}

#[test]
fn asa_object_group_names_stay_within_64_characters_and_distinct() {
    // zone names at the 63-byte limit made `ANY_<ZONE>` group names of 67 characters
    let long_a = format!("perimeter-{}", "a".repeat(53));
    let long_b = format!("perimeter-{}", "b".repeat(53));
    let text = portplan::topology::Topology::reference_source()
        .replace("perimeter-external", &long_a)
        .replace("perimeter-internal", &long_b);
    let t = portplan::topology::Topology::parse("long.toml", &text).unwrap();
    let p = portplan::plan::compile(&t);
    let asa = portplan::render::render(
        &p,
        &t,
        portplan::render::Target::Asa,
        &portplan::render::Scope::All,
    )
    .unwrap();
    let names: Vec<&str> = asa
        .lines()
        .filter_map(|l| l.strip_prefix("object-group network "))
        .collect();
    assert!(!names.is_empty());
    for n in &names {
        assert!(n.len() <= 64, "{n} has {} characters", n.len());
    }
    let mut unique = names.clone();
    unique.sort();
    unique.dedup();
    // one definition per firewall file: the same name may appear once per firewall
    let per_fw: Vec<Vec<&str>> = asa
        .split("# ==>")
        .map(|f| {
            f.lines()
                .filter_map(|l| l.strip_prefix("object-group network "))
                .collect()
        })
        .collect();
    for names in per_fw {
        let mut d = names.clone();
        d.sort();
        d.dedup();
        assert_eq!(d.len(), names.len(), "{names:#?}");
    }
}

#[test]
fn two_units_whose_files_share_a_name_are_refused_not_overwritten() {
    // a cold trial renamed the reverse proxy `rp01` to `dirpool-vip`: haproxy wrote
    // `dirpool-vip.haproxy.cfg` for the proxy and again for the Director pool's VIP, exit 0
    let text = include_str!("../examples/reference.toml").replace("\"rp01\"", "\"dirpool-vip\"");
    let dir = tempfile::tempdir().unwrap();
    let topo = dir.path().join("t.toml");
    std::fs::write(&topo, text).unwrap();
    let out = dir.path().join("out");
    let res = portplan()
        .arg("render")
        .arg(&topo)
        .args(["--target", "haproxy", "-o"])
        .arg(&out)
        .assert()
        .code(2);
    let err = String::from_utf8_lossy(&res.get_output().stderr).to_string();
    assert!(err.contains("dirpool-vip.haproxy.cfg"), "{err}");
    assert!(err.contains("server `dirpool-vip`"), "{err}");
    assert!(err.contains("pool `dirpool`"), "{err}");
    assert!(
        !out.exists() || std::fs::read_dir(&out).unwrap().count() == 0,
        "nothing is written"
    );
}

#[test]
fn two_units_whose_files_differ_only_in_case_are_refused() {
    // DIRPOOL-VIP.haproxy.cfg and dirpool-vip.haproxy.cfg are one file on Windows and macOS
    let text = include_str!("../examples/reference.toml").replace("\"rp01\"", "\"DIRPOOL-VIP\"");
    let dir = tempfile::tempdir().unwrap();
    let topo = dir.path().join("t.toml");
    std::fs::write(&topo, text).unwrap();
    let res = portplan()
        .arg("render")
        .arg(&topo)
        .args(["--target", "haproxy"])
        .assert()
        .code(2);
    let err = String::from_utf8_lossy(&res.get_output().stderr).to_string();
    assert!(err.contains("DIRPOOL-VIP.haproxy.cfg"), "{err}");
    assert!(err.contains("dirpool-vip.haproxy.cfg"), "{err}");
}

#[test]
fn the_probe_table_escapes_control_characters_a_peer_sent() {
    // a cold trial's server answered with ESC and BEL in its HTTP status line and certificate
    // names; `probe` printed them raw and the terminal obeyed them
    use portplan::probe::{prober, targets, tls};
    let t = portplan::topology::Topology::parse(
        "reference.toml",
        include_str!("../examples/reference.toml"),
    )
    .unwrap();
    let p = portplan::plan::compile(&t);
    let origin = targets::origin(&t, "internet").unwrap();
    let (list, _) = targets::probe_targets(&p, &t, &origin);
    let target = list.into_iter().next().expect("internet opens flows");
    let outcome = prober::Outcome {
        target,
        verdict: prober::Verdict::Open,
        detail: Some("HTTP/1.1 200 \u{1b}[2J\u{7}OK \u{202e}".into()),
        certificate: Some(tls::CertificateInfo {
            subject: "CN=\u{1b}]0;owned\u{7}".into(),
            issuer: "CN=x".into(),
            sans: vec!["a\u{1b}[31m.example".into()],
            not_after: "2030-01-01".into(),
            days_left: 1000,
            self_signed: true,
        }),
        millis: 1,
    };
    let text = portplan::view::probe::matrix(&[outcome]).to_text();
    assert!(
        !text.contains('\u{1b}') && !text.contains('\u{7}') && !text.contains('\u{202e}'),
        "{text:?}"
    );
    assert!(text.contains("HTTP/1.1 200 \\x1b[2J\\x07OK"), "{text}");
    assert!(text.contains("CN=\\x1b]0;owned\\x07"), "{text}");
    assert!(text.contains("a\\x1b[31m.example"), "{text}");
}

/// The names in `dir`, sorted.
fn names_in(dir: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn a_symlink_at_a_later_file_of_a_render_refuses_before_the_first_is_written() {
    // README: a refusal comes "before anything is written"; a cold trial found fw-external.nft
    // written before the link at fw-internal.nft was refused
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    symlink(dir.path().join("elsewhere"), out.join("fw-internal.nft")).unwrap();
    let res = portplan()
        .args(["render", "--target", "nftables", "-o"])
        .arg(&out)
        .assert()
        .code(2);
    let err = String::from_utf8_lossy(&res.get_output().stderr).to_string();
    assert!(err.contains("symbolic link"), "{err}");
    assert_eq!(names_in(&out), ["fw-internal.nft"], "nothing else written");
}

#[test]
fn a_directory_in_the_way_of_a_render_file_refuses_before_anything_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    std::fs::create_dir_all(out.join("fw-internal.nft")).unwrap();
    let res = portplan()
        .args(["render", "--target", "nftables", "-o"])
        .arg(&out)
        .assert()
        .code(2);
    let err = String::from_utf8_lossy(&res.get_output().stderr).to_string();
    assert!(err.contains("is a directory"), "{err}");
    assert_eq!(names_in(&out), ["fw-internal.nft"], "nothing else written");
    // the same for a single output file
    let res = portplan()
        .args(["render", "--target", "csv", "-o"])
        .arg(out.join("fw-internal.nft"))
        .assert()
        .code(2);
    let err = String::from_utf8_lossy(&res.get_output().stderr).to_string();
    assert!(err.contains("is a directory"), "{err}");
}

#[test]
fn a_hard_linked_output_file_is_replaced_and_its_other_name_keeps_its_content() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let other = dir.path().join("other-name.txt");
    std::fs::write(&other, "keep me").unwrap();
    std::fs::hard_link(&other, out.join("fw-external.nft")).unwrap();
    portplan()
        .args(["render", "--target", "nftables", "-o"])
        .arg(&out)
        .assert()
        .success();
    assert_eq!(std::fs::read_to_string(&other).unwrap(), "keep me");
    let written = std::fs::read_to_string(out.join("fw-external.nft")).unwrap();
    assert!(written.contains("table inet portplan"), "{written}");
    assert_eq!(
        names_in(&out),
        ["fw-external.nft", "fw-internal.nft"],
        "no temporary left"
    );
    // a single output file the same way
    let single = dir.path().join("rules.csv");
    std::fs::hard_link(&other, &single).unwrap();
    portplan()
        .args(["render", "--target", "csv", "-o"])
        .arg(&single)
        .assert()
        .success();
    assert_eq!(std::fs::read_to_string(&other).unwrap(), "keep me");
    assert!(std::fs::read_to_string(&single).unwrap().contains("5061"));
}

/// A small tmpfs mounted on a fresh directory, unmounted when dropped.
struct SmallDisk(tempfile::TempDir);

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg(self.0.path())
            .status();
    }
}

#[test]
fn a_full_disk_leaves_the_old_files_intact_and_writes_nothing() {
    if unsafe { libc::geteuid() } != 0 {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must run this as root (it mounts a tmpfs)"
        );
        eprintln!("skipped: mounting a tmpfs needs root");
        return;
    }
    let disk = SmallDisk(tempfile::tempdir().unwrap());
    let root = disk.0.path();
    let mounted = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=40k", "portplan-full"])
        .arg(root)
        .status()
        .unwrap();
    assert!(mounted.success(), "mount tmpfs");
    let out = root.join("out");
    std::fs::create_dir(&out).unwrap();
    std::fs::write(out.join("fw-external.nft"), "old rules").unwrap();
    // fill the disk but a few pages: smaller than the two rulesets
    std::fs::write(root.join("filler"), vec![b'x'; 28 << 10]).unwrap();
    let res = portplan()
        .args(["render", "--target", "nftables", "-o"])
        .arg(&out)
        .assert()
        .code(2);
    let err = String::from_utf8_lossy(&res.get_output().stderr).to_string();
    assert!(err.contains("cannot write"), "{err}");
    assert_eq!(
        std::fs::read_to_string(out.join("fw-external.nft")).unwrap(),
        "old rules"
    );
    assert_eq!(
        names_in(&out),
        ["fw-external.nft"],
        "no new file, no temporary left"
    );
    // the single-file writer the same way
    std::fs::write(root.join("plan.csv"), "old plan").unwrap();
    portplan()
        .args(["render", "--target", "csv", "-o"])
        .arg(root.join("plan.csv"))
        .assert()
        .code(2);
    assert_eq!(
        std::fs::read_to_string(root.join("plan.csv")).unwrap(),
        "old plan"
    );
    assert_eq!(names_in(root), ["filler", "out", "plan.csv"]);
}
