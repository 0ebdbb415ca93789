//! `portplan endpoints`: the Microsoft 365 endpoint data a hybrid edge needs, read from files the
//! user saved (the built-in snapshot, a raw web service answer, a portplan snapshot).

use assert_cmd::Command;
use std::path::PathBuf;

fn portplan() -> Command {
    Command::cargo_bin("portplan").expect("binary")
}

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(name)
}

const OLD: &str = "tests/fixtures/endpoints/worldwide-2022072800.json";
const BUILT_IN: &str = "src/endpoints/skype-worldwide.json";

#[test]
fn built_in_snapshot_shows_the_media_and_signalling_sets() {
    let out = portplan().args(["endpoints", "show"]).assert().success();
    let text = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    assert!(
        text.contains("set  11  Optimize, required  udp 3478-3481"),
        "{text}"
    );
    assert!(text.contains("52.122.0.0/15"), "{text}");
    assert!(text.contains("published 2026-08-14"), "{text}");
}

#[test]
fn stale_snapshot_warns_on_stderr() {
    // the built-in data is from 2026-08-14: with a one-day limit it is stale on any later day
    let out = portplan()
        .args(["endpoints", "show", "--max-age", "1"])
        .assert()
        .success();
    let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(
        err.contains("warning") && err.contains("endpoints import"),
        "{err}"
    );
}

#[test]
fn diff_names_the_media_ranges_that_moved_between_versions() {
    let out = portplan()
        .args([
            "endpoints",
            "diff",
            OLD,
            BUILT_IN,
            "--old-version",
            "2022072800",
        ])
        .args(["--format", "json"])
        .current_dir(fixture(""))
        .assert()
        .success();
    let changes: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    let set = |id: u64| {
        changes
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == id)
            .cloned()
            .unwrap_or_else(|| panic!("set {id} in {changes:#}"))
    };
    let media = set(11);
    assert_eq!(media["disposition"], "change");
    assert_eq!(media["added_ips"], serde_json::json!(["52.122.0.0/15"]));
    assert_eq!(
        media["removed_ips"],
        serde_json::json!(["13.107.64.0/18", "52.120.0.0/14"])
    );
    assert_eq!(set(12)["ports"], serde_json::json!([["udp", "", "443"]]));
    assert_eq!(set(13)["disposition"], "remove");
    // sets without addresses are proxy matters (15, 18, 26) and the Exchange set is not Skype's
    let ids: Vec<u64> = changes
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_u64().unwrap())
        .collect();
    assert_eq!(ids, vec![11, 12, 13, 22]);
}

#[test]
fn raw_service_answer_without_a_version_is_refused() {
    let out = portplan()
        .args(["endpoints", "import", OLD, "-o", "/dev/null"])
        .current_dir(fixture(""))
        .assert()
        .code(2);
    let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(err.contains("--version"), "{err}");
}

#[test]
fn import_keeps_the_skype_area_and_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let snap = dir.path().join("m365.json");
    portplan()
        .args(["endpoints", "import", OLD, "--version", "2022072800", "-o"])
        .arg(&snap)
        .current_dir(fixture(""))
        .assert()
        .success();
    let text = std::fs::read_to_string(&snap).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["version"], "2022072800");
    assert_eq!(v["published"], "2022-07-28");
    assert!(
        v["endpoints"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["serviceArea"] == "Skype"),
        "{text}"
    );
    // the snapshot diffs against its source with no change
    let out = portplan()
        .args(["endpoints", "diff", "--old-version", "2022072800", OLD])
        .arg(&snap)
        .current_dir(fixture(""))
        .assert()
        .success();
    let text = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    assert!(
        text.contains("0 endpoint set(s) with firewall changes"),
        "{text}"
    );
    // a version that contradicts the snapshot's own is refused
    portplan()
        .args(["endpoints", "show"])
        .arg(&snap)
        .assert()
        .success();
    portplan()
        .args(["endpoints", "diff", "--old-version", "2023010100"])
        .arg(&snap)
        .arg(&snap)
        .assert()
        .code(2);
}

#[test]
fn malformed_endpoint_files_are_exit_2_naming_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let cases: &[(&str, &str)] = &[
        ("", "expected the endpoint web service's JSON"),
        ("{}", "missing field `instance`"),
        ("[]", "no endpoint sets at all"),
        (
            r#"[{"id":1,"serviceArea":"Exchange","category":"Allow"}]"#,
            "it has: Exchange",
        ),
        (
            r#"[{"id":11,"serviceArea":"Skype","category":"Optimize","udpPorts":"3478-99999"}]"#,
            "3478-99999",
        ),
        (
            r#"[{"id":11,"serviceArea":"Skype","category":"Fast"}]"#,
            "unknown variant `Fast`",
        ),
        (
            r#"[{"id":11,"serviceArea":"Skype","category":"Allow","ips":["52.112.0.0/33"]}]"#,
            "invalid IP address",
        ),
        (
            r#"[{"id":11,"serviceArea":"Skype","category":"Allow"},{"id":11,"serviceArea":"Skype","category":"Allow"}]"#,
            "listed twice",
        ),
        (
            r#"[{"serviceArea":"Skype","category":"Allow"}]"#,
            "missing field `id`",
        ),
        (
            "name = \"contoso\"\n",
            "expected the endpoint web service's JSON",
        ),
    ];
    for (i, (text, why)) in cases.iter().enumerate() {
        let path = dir.path().join(format!("case{i}.json"));
        std::fs::write(&path, text).unwrap();
        let out = portplan()
            .args([
                "endpoints",
                "import",
                "--version",
                "2024010100",
                "-o",
                "/dev/null",
            ])
            .arg(&path)
            .assert()
            .code(2);
        let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
        assert!(err.contains(why), "case {i} `{text}`: {err}");
    }
    // a bad version is named as such
    let out = portplan()
        .args([
            "endpoints",
            "import",
            OLD,
            "--version",
            "2022023000",
            "-o",
            "/dev/null",
        ])
        .current_dir(fixture(""))
        .assert()
        .code(2);
    let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(err.contains("YYYYMMDDNN"), "{err}");
}
