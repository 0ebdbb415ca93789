//! The `portplan` binary: help and man page snapshots, exit codes, formats, closed pipes.

mod common;

use assert_cmd::Command;
use std::io::Read;
use std::process::Stdio;

fn portplan() -> Command {
    let mut c = Command::cargo_bin("portplan").unwrap();
    c.env("NO_COLOR", "1").env("COLUMNS", "100");
    c
}

fn stdout_of(args: &[&str]) -> String {
    let out = portplan().args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn help_snapshots() {
    for (name, args) in [
        ("help.txt", vec!["--help"]),
        ("help-plan.txt", vec!["plan", "--help"]),
        ("help-check.txt", vec!["check", "--help"]),
        ("help-catalog.txt", vec!["catalog", "--help"]),
        ("help-render.txt", vec!["render", "--help"]),
    ] {
        common::golden(&format!("cli/{name}"), &stdout_of(&args));
    }
}

#[test]
fn man_page_and_completions_come_from_the_same_flags() {
    let man = stdout_of(&["man"]);
    assert!(man.starts_with(".ie \\n(.g .ds Aq"), "roff output");
    for sub in ["catalog", "check", "plan", "render"] {
        assert!(man.contains(sub), "man page lists {sub}");
    }
    let bash = stdout_of(&["completions", "bash"]);
    assert!(bash.contains("--firewall") && bash.contains("--explain"));
    let zsh = stdout_of(&["completions", "zsh"]);
    assert!(zsh.contains("#compdef portplan"));
}

#[test]
fn catalog_json_has_the_documented_fields() {
    let json: serde_json::Value =
        serde_json::from_str(&stdout_of(&["catalog", "--format", "json"])).unwrap();
    let rows = json.as_array().unwrap();
    assert_eq!(rows.len(), 505);
    for field in [
        "scenario",
        "table",
        "service",
        "transport",
        "ports",
        "source",
        "destination",
        "condition",
        "reference",
        "note",
    ] {
        assert!(rows[0].get(field).is_some(), "field {field}");
    }
    assert_eq!(
        rows[0]["ports"],
        serde_json::json!({"start": 8080, "end": 8080})
    );
    let rtp = rows.iter().find(|r| r["ports"]["start"] == 50000).unwrap();
    assert_eq!(rtp["ports"]["end"], 59999);
    assert!(rows.iter().any(|r| r["condition"].is_null()));
}

#[test]
fn catalog_scenario_filter_and_formats() {
    let csv = stdout_of(&["catalog", "--scenario", "reverse-proxy", "--format", "csv"]);
    assert_eq!(csv.lines().count(), 1 + 5);
    let md = stdout_of(&[
        "catalog",
        "--scenario",
        "director-dns-hlb",
        "--format",
        "markdown",
    ]);
    assert_eq!(md.lines().count(), 2 + 9);
    let out = portplan()
        .args(["catalog", "--scenario", "nope"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("director-pool-hlb"));
}

#[test]
fn check_exit_codes() {
    // clean
    portplan().arg("check").assert().code(0);
    // lint error: SNAT on A/V
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("snat.toml");
    let text = common::read(&common::example("reference.toml")).replace(
        "address = \"203.0.113.102\"\n  snat = false",
        "address = \"203.0.113.102\"\n  snat = true",
    );
    std::fs::write(&bad, text).unwrap();
    let out = portplan().arg("check").arg(&bad).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("lb-snat-av") && err.contains("snat.toml:"),
        "{err}"
    );
    // unreadable and invalid input
    portplan()
        .args(["check", "/nonexistent.toml"])
        .assert()
        .code(2);
    let invalid = dir.path().join("invalid.toml");
    std::fs::write(&invalid, "[[zone]]\nname = 1\n").unwrap();
    let out = portplan().arg("check").arg(&invalid).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("invalid.toml:2:8"));
}

#[test]
fn check_json_reports_the_public_address_count() {
    let json: serde_json::Value =
        serde_json::from_str(&stdout_of(&["check", "--format", "json"])).unwrap();
    assert_eq!(json["public_addresses"][0]["vips"], 3);
    assert_eq!(json["public_addresses"][0]["server_addresses"], 6);
    assert_eq!(json["rules"], 39);
}

#[test]
fn plan_firewall_filter_and_unknown_firewall() {
    let out = stdout_of(&["plan", "--firewall", "fw-external", "--format", "csv"]);
    assert_eq!(out.lines().count(), 1 + 18);
    let out = portplan()
        .args(["plan", "--firewall", "fw-nope"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("fw-external, fw-internal"));
}

#[test]
fn plan_explain_and_all_add_their_sections() {
    let out = stdout_of(&["plan", "--explain", "--all"]);
    assert!(out.contains("Catalog rows not planned"));
    assert!(out.contains("feature `ocs2007-federation` is off"));
    assert!(out.contains("Flows that cross no firewall"));
    assert!(out.contains("director-pool-hlb/director#3"));
}

#[test]
fn a_closed_pipe_is_not_an_error() {
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_portplan"))
        .args(["catalog", "--format", "toml"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // read a few bytes, then hang up
    let mut buf = [0u8; 16];
    child.stdout.as_mut().unwrap().read_exact(&mut buf).unwrap();
    drop(child.stdout.take());
    let status = child.wait().unwrap();
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert!(status.success(), "status {status:?}, stderr {err}");
    assert!(err.is_empty(), "{err}");
}

#[test]
fn catalog_scenario_without_an_id_lists_every_scenario() {
    let out = stdout_of(&["catalog", "--scenario"]);
    let catalog = portplan::catalog::Catalog::builtin();
    assert_eq!(out.lines().count(), catalog.scenarios.len() + 2, "{out}");
    for s in &catalog.scenarios {
        assert!(out.contains(&s.id), "{} listed", s.id);
    }
    assert!(out.contains("server-ports (54)"), "{out}");
    let one = stdout_of(&[
        "catalog",
        "--scenario",
        "edge-single-nat",
        "--format",
        "csv",
    ]);
    assert_eq!(one.lines().count(), 1 + 37, "{one}");
}

#[test]
fn example_prints_the_builtin_topology() {
    let out = stdout_of(&["example"]);
    assert_eq!(out, common::read(&common::example("reference.toml")));
}

#[test]
fn between_answers_from_the_catalog_and_from_a_topology() {
    let out = stdout_of(&["between", "edge", "director"]);
    assert!(out.contains("director -> edge  tcp    8057"), "{out}");
    assert!(out.contains("edge -> director  tcp    5061"), "{out}");
    // the seed scenarios' 7 rows, and the same flows in the single and DNS-balanced Edge pages and
    // the single Director page
    assert!(out.ends_with("16 catalog row(s)\n"), "{out}");
    assert!(out.contains("director-single/director#6"), "{out}");
    let file = common::example("reference.toml");
    let out = stdout_of(&[
        "between",
        "rp01",
        "fepool",
        "--topology",
        file.to_str().unwrap(),
    ]);
    assert!(out.contains("4443") && out.contains("fw-internal"), "{out}");
    let bad = portplan()
        .args(["between", "edge", "nobody"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("neither a role"));
}

#[test]
fn between_includes_the_any_flows_a_server_belongs_to() {
    let file = common::example("reference.toml");
    let out = stdout_of(&[
        "between",
        "fe01",
        "edge01",
        "--topology",
        file.to_str().unwrap(),
    ]);
    // fe01 sits in the internal network that the Edge internal-interface rows call `any`
    for port in ["4443", "8057", "3478", "50001"] {
        assert!(
            out.lines()
                .any(|l| l.starts_with("fe01 -> edge01") && l.contains(port)),
            "{port} missing:\n{out}"
        );
    }
    // the internet's `any` does not stand for an internal server
    assert!(!out.contains("0.0.0.0/0"), "{out}");
    let file = common::example("dns-director-3edge.toml");
    let out = stdout_of(&[
        "between",
        "corp",
        "edge",
        "--topology",
        file.to_str().unwrap(),
    ]);
    assert!(!out.starts_with("0 planned"), "{out}");
}

#[test]
fn between_an_unknown_name_is_exit_2_with_the_closest_names() {
    let file = common::example("reference.toml");
    let out = portplan()
        .args([
            "between",
            "fe1",
            "edge01",
            "--topology",
            file.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("did you mean fe01"), "{err}");
}

#[test]
fn check_notes_the_doubtful_catalog_rows_the_topology_plans() {
    let file = common::example("edge-single-public.toml");
    let out = portplan().arg("check").arg(&file).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(0),
        "a note does not fail check: {err}"
    );
    assert!(err.contains("catalog-doubt"), "{err}");
    let json: serde_json::Value = serde_json::from_str(&stdout_of(&[
        "check",
        file.to_str().unwrap(),
        "--format",
        "json",
    ]))
    .unwrap();
    let note = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == "catalog-doubt")
        .unwrap();
    assert_eq!(note["severity"], "info");
    assert!(
        note["message"]
            .as_str()
            .unwrap()
            .contains("edge-single-public/external-interface#9"),
        "{note}"
    );
    // the built-in reference plans no doubtful row, so it has no such note
    let out = portplan().arg("check").output().unwrap();
    assert!(!String::from_utf8_lossy(&out.stderr).contains("catalog-doubt"));
}

#[test]
fn plan_marks_the_rules_of_doubtful_rows_and_gives_the_doubt() {
    let file = common::example("edge-single-public.toml");
    let f = file.to_str().unwrap();
    let out = stdout_of(&["plan", f]);
    let footer = out
        .split("Rules from catalog rows the source documents leave in doubt")
        .nth(1)
        .unwrap_or_else(|| panic!("no doubt footer:\n{out}"));
    let line = footer
        .lines()
        .find(|l| l.contains("edge-single-public/external-interface#9"))
        .unwrap();
    // the rule number in the footer is the rule of that catalog row in the table above
    let rule = line.split_whitespace().next().unwrap();
    let table_line = out
        .lines()
        .find(|l| l.split_whitespace().next() == Some(rule))
        .unwrap();
    assert!(
        table_line.contains("edge-single-public/external-interface#9"),
        "{table_line}"
    );
    assert!(line.contains("Access Edge address"), "{line}");
    // JSON carries the same, as a `doubts` key after the plan's own keys
    let json: serde_json::Value =
        serde_json::from_str(&stdout_of(&["plan", f, "--format", "json"])).unwrap();
    let doubts = json["doubts"].as_array().unwrap();
    assert_eq!(doubts[0]["row"], "edge-single-public/external-interface#9");
    assert_eq!(
        format!("r{}", doubts[0]["rules"][0].as_u64().unwrap()),
        rule
    );
    // a firewall none of whose rules is doubtful has no footer; plain CSV stays one table
    assert!(!stdout_of(&["plan", f, "--firewall", "fw-core"]).contains("in doubt"));
    let doubt = "names the Access Edge address as the source";
    assert!(!stdout_of(&["plan", f, "--format", "csv"]).contains(doubt));
    assert!(stdout_of(&["plan", f, "--format", "csv", "--explain"]).contains(doubt));
}

#[test]
fn catalog_toml_with_a_scenario_is_refused_not_printed_whole() {
    // a cold trial asked for one scenario as TOML and got the whole catalog file, exit 0
    for args in [
        &[
            "catalog",
            "--scenario",
            "edge-single-nat",
            "--format",
            "toml",
        ][..],
        &["catalog", "--scenario", "--format", "toml"][..],
    ] {
        let out = portplan().args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(out.stdout.is_empty(), "{args:?}: nothing printed");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("--scenario"), "{err}");
    }
    // without a scenario the TOML is the embedded file, as before
    let whole = stdout_of(&["catalog", "--format", "toml"]);
    assert!(
        whole.contains("[[scenario]]") || whole.contains("[[row]]"),
        "{}",
        &whole[..200]
    );
}
