//! Topologies that would break or silently thin the generated files: hostile names are refused at
//! their span by `check` (and so by every command), `-o` stays inside its directory, rows no
//! firewall can carry are errors, and targets say why they wrote nothing instead of exiting 0.

mod common;

use assert_cmd::Command;

fn portplan() -> Command {
    let mut c = Command::cargo_bin("portplan").unwrap();
    c.env("NO_COLOR", "1");
    c
}

fn reference() -> String {
    common::read(&common::example("reference.toml"))
}

/// Writes `text` as a topology file in a fresh directory.
fn topology(text: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.toml");
    std::fs::write(&path, text).unwrap();
    (dir, path)
}

/// Runs `args`, expecting exit 2, and returns what it said on standard error.
fn refused(args: &[&str]) -> String {
    let out = portplan().args(args).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
    err
}

#[test]
fn server_name_with_powershell_subexpression_is_refused_at_its_span() {
    let text = reference().replace("name = \"edge01\"", "name = 'edge01$(Stop-Computer)\" x'");
    let (_d, path) = topology(&text);
    let p = path.to_str().unwrap();
    let err = refused(&["check", p]);
    assert!(err.contains("bad-name"), "{err}");
    assert!(
        err.contains("t.toml:90"),
        "the error points at the name: {err}"
    );
    // every command that reads the topology refuses it, so no script is ever written
    let err = refused(&["render", p, "--target", "windows"]);
    assert!(err.contains("Stop-Computer"), "{err}");
}

#[test]
fn render_o_never_writes_outside_its_directory() {
    let base = tempfile::tempdir().unwrap();
    let out_dir = base.path().join("out");
    for (from, to) in [
        ("name = \"owa01\"", "name = \"../../escaped-owa\""),
        ("name = \"fw-external\"", "name = \"../fw-escaped\""),
        ("name = \"fw-external\"", "name = \"/tmp/fw-abs\""),
        ("name = \"owa01\"", "name = \".hidden\""),
    ] {
        let text = reference().replace(from, to);
        let (_d, path) = topology(&text);
        for target in ["windows", "nftables", "iptables", "asa", "aerleon"] {
            let out = portplan()
                .args(["render", path.to_str().unwrap(), "--target", target, "-o"])
                .arg(&out_dir)
                .output()
                .unwrap();
            assert_eq!(out.status.code(), Some(2), "{to} {target}");
        }
    }
    // nothing was written anywhere under the base directory, inside `out` or beside it
    let written: Vec<_> = walk(base.path());
    assert!(written.is_empty(), "files written: {written:?}");
    assert!(!std::path::Path::new("/tmp/fw-abs.nft").exists());
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[test]
fn unsafe_artifact_paths_are_recognised() {
    use portplan::render::is_plain_relative;
    for ok in ["fw.nft", "def/networks.yaml", "policies/fw-a.yaml"] {
        assert!(is_plain_relative(ok), "{ok}");
    }
    for bad in [
        "",
        "../x",
        "a/../b",
        "/etc/passwd",
        ".x",
        "a//b",
        "a\\b",
        "c:x",
        "a/",
        "x\ny",
    ] {
        assert!(!is_plain_relative(bad), "{bad:?}");
    }
}

#[test]
fn interface_name_with_spaces_is_refused_at_its_span() {
    let text = reference().replace("name = \"outside\"", "name = \"outside interface to ISP\"");
    let (_d, path) = topology(&text);
    let err = refused(&["check", path.to_str().unwrap()]);
    assert!(err.contains("bad-interface-name"), "{err}");
    assert!(err.contains("white") && err.contains("space"), "{err}");
    assert!(err.contains("t.toml:46"), "{err}");
}

#[test]
fn interface_name_longer_than_linux_allows_is_refused() {
    let text = reference().replace("name = \"outside\"", "name = \"outside-to-the-isp\"");
    let (_d, path) = topology(&text);
    let err = refused(&["check", path.to_str().unwrap()]);
    assert!(err.contains("at most 15"), "{err}");
}

#[test]
fn published_name_that_is_not_a_dns_name_is_refused() {
    let text = reference().replace(
        "published = [\"owa.contoso.example\"]",
        "published = [\"owa.contoso.example; return 200 x\"]",
    );
    let (_d, path) = topology(&text);
    let err = refused(&["check", path.to_str().unwrap()]);
    assert!(err.contains("bad-published-name"), "{err}");
}

#[test]
fn windows_scripts_expand_nothing_from_the_topology() {
    // a valid name with every character the name rules allow
    let text = reference().replace("name = \"edge01\"", "name = \"Edge_01.x-y\"");
    let (_d, path) = topology(&text);
    let out = portplan()
        .args(["render", path.to_str().unwrap(), "--target", "windows"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let script = String::from_utf8(out.stdout).unwrap();
    assert!(script.contains("Edge_01.x-y"));
    // no double-quoted (expandable) string at all, so nothing can be expanded
    assert!(!script.contains('"'), "an expandable string in:\n{script}");
}

#[test]
fn multi_file_targets_always_write_a_directory() {
    let base = tempfile::tempdir().unwrap();
    let out_dir = base.path().join("fw");
    let out = portplan()
        .args([
            "render",
            "--target",
            "nftables",
            "--firewall",
            "fw-external",
            "-o",
        ])
        .arg(&out_dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert!(out_dir.join("fw-external.nft").is_file());
    // an existing file is not silently overwritten by a directory's worth of files
    let file = base.path().join("plain.txt");
    std::fs::write(&file, "keep").unwrap();
    let out = portplan()
        .args(["render", "--target", "nftables", "-o"])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "keep");
}

#[test]
fn load_balancer_targets_refuse_a_scope_they_cannot_honour() {
    for target in ["keepalived", "nftables-lb", "nginx", "haproxy"] {
        let err = refused(&["render", "--target", target, "--firewall", "fw-external"]);
        assert!(err.contains("needs"), "{target}: {err}");
    }
}

#[test]
fn a_target_with_nothing_to_write_says_why() {
    let text = common::read(&common::example("edge-single-public.toml"));
    let (_d, path) = topology(&text);
    let err = refused(&["render", path.to_str().unwrap(), "--target", "keepalived"]);
    assert!(err.contains("wrote nothing"), "{err}");
    assert!(err.contains("hardware-balanced"), "{err}");
}

#[test]
fn missing_internal_firewall_is_an_error_naming_the_rows() {
    let text = reference();
    let start = text.find("[[firewall]]\nname = \"fw-internal\"").unwrap();
    let end = start + text[start..].find("[[pool]]").unwrap();
    let text = format!("{}{}", &text[..start], &text[end..]);
    let (_d, path) = topology(&text);
    let p = path.to_str().unwrap();
    let out = portplan().args(["check", p]).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("no-firewall-path"), "{err}");
    // the Edge internal-interface table is named, not silently dropped
    for row in ["internal-interface#3", "8057", "5062"] {
        assert!(err.contains(row), "{row} missing from: {err}");
    }
    // plan prints what it has but fails; firewall targets refuse to write a thinned ruleset
    let out = portplan().args(["plan", p]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = refused(&["render", p, "--target", "nftables"]);
    assert!(err.contains("no-firewall-path"), "{err}");
}

#[test]
fn error_past_column_65536_is_reported_not_a_panic() {
    let text = reference().replace(
        "name = \"reference\"",
        &format!(
            "name = \"reference\"\ndescription = \"{}\" ; bogus = 1",
            "x".repeat(70_000)
        ),
    );
    let (_d, path) = topology(&text);
    let err = refused(&["check", path.to_str().unwrap()]);
    assert!(
        err.contains("t.toml:9:70018"),
        "{}",
        &err[..err.len().min(2000)]
    );
    assert!(err.contains("too long to show"));
    // a hostile name far to the right is refused the same way
    let text = reference().replace(
        "name = \"edge01\"",
        &format!("name = \"edge01{}\"", "$".repeat(70_000)),
    );
    let (_d, path) = topology(&text);
    refused(&["check", path.to_str().unwrap()]);
}

#[test]
fn endless_topology_is_refused_not_read_until_memory_runs_out() {
    let err = refused(&["check", "/dev/zero"]);
    assert!(err.contains("larger than"), "{err}");
}
