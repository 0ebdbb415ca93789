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

/// `portplan endpoints import` of a raw answer holding one Skype set with `ips`: exit code and
/// stderr.
fn import_ips(dir: &std::path::Path, ips: &str) -> (i32, String) {
    let path = dir.join("answer.json");
    std::fs::write(
        &path,
        format!(r#"[{{"id":11,"serviceArea":"Skype","category":"Optimize","udpPorts":"3478-3481","ips":[{ips}]}}]"#),
    )
    .unwrap();
    let out = portplan()
        .args(["endpoints", "import", "--version", "2026110100", "-o"])
        .arg(dir.join("out.json"))
        .arg(&path)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

#[test]
fn import_refuses_endpoint_ranges_that_cannot_be_microsoft_365() {
    let dir = tempfile::tempdir().unwrap();
    let cases: &[(&str, &str, &str)] = &[
        (r#""0.0.0.0/0","::/0""#, "0.0.0.0/0", "default route"),
        (r#""0.0.0.0/1","128.0.0.0/1""#, "0.0.0.0/1", "wider than /8"),
        (r#""52.0.0.0/7""#, "52.0.0.0/7", "wider than /8"),
        (r#""2600::/12""#, "2600::/12", "wider than /16"),
        (r#""::ffff:0.0.0.0/96""#, "::ffff:0.0.0.0/96", "IPv4-mapped"),
        (
            r#""::ffff:52.112.0.0/110""#,
            "52.112.0.0/110",
            "IPv4-mapped",
        ),
        (r#""::/96""#, "::/96", "IPv4-compatible"),
        (r#""::1/128""#, "::1/128", "loopback"),
        (r#""127.0.0.0/8""#, "127.0.0.0/8", "loopback"),
        (r#""224.0.0.0/4""#, "224.0.0.0/4", "multicast"),
        (r#""ff02::/16""#, "ff02::/16", "multicast"),
        (r#""169.254.0.0/16""#, "169.254.0.0/16", "link-local"),
        (r#""fe80::/64""#, "fe80::/64", "link-local"),
        (r#""10.0.0.0/8""#, "10.0.0.0/8", "private"),
        (r#""172.16.0.0/12""#, "172.16.0.0/12", "private"),
        (r#""192.168.1.0/24""#, "192.168.1.0/24", "private"),
        (r#""fd00::/8""#, "fd00::/8", "unique local"),
        (r#""100.64.0.0/10""#, "100.64.0.0/10", "carrier-grade NAT"),
        (r#""240.0.0.0/8""#, "240.0.0.0/8", "reserved"),
        (r#""0.0.0.0/8""#, "0.0.0.0/8", "unspecified"),
        // a public /8 that holds a private block is refused for the block it holds
        (
            r#""52.112.0.0/14","100.0.0.0/8""#,
            "100.0.0.0/8",
            "carrier-grade NAT",
        ),
    ];
    for (ips, value, why) in cases {
        let (code, err) = import_ips(dir.path(), ips);
        assert_eq!(code, 2, "`{ips}`: {err}");
        assert!(
            err.contains("`ips`") && err.contains(value) && err.contains(why),
            "`{ips}`: {err}"
        );
        assert!(
            !dir.path().join("out.json").exists(),
            "`{ips}` wrote a file"
        );
    }
}

#[test]
fn endpoint_ranges_that_together_cover_more_than_a_slash_8_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    // each /9 is narrow enough on its own; three of them are 1.5 times a /8
    let (code, err) = import_ips(dir.path(), r#""52.0.0.0/9","53.0.0.0/9","54.0.0.0/9""#);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("more than a /8"), "{err}");
    // overlapping ranges count once: a /8 and a /9 inside it are one /8
    let (code, err) = import_ips(dir.path(), r#""52.0.0.0/8","52.0.0.0/9""#);
    assert_eq!(code, 0, "{err}");
}

#[test]
fn documentation_ranges_in_endpoint_data_are_a_warning_not_a_refusal() {
    let dir = tempfile::tempdir().unwrap();
    let (code, err) = import_ips(dir.path(), r#""203.0.113.0/24","2001:db8::/48""#);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("warning") && err.contains("203.0.113.0/24") && err.contains("documentation"),
        "{err}"
    );
    assert!(err.contains("2001:db8::/48"), "{err}");
    // real Microsoft 365 ranges give no warning
    let (code, err) = import_ips(dir.path(), r#""52.112.0.0/14","2603:1063::/38""#);
    assert_eq!(code, 0, "{err}");
    assert!(!err.contains("warning"), "{err}");
}

#[test]
fn future_endpoint_versions_and_publication_dates_are_refused() {
    let out = portplan()
        .args([
            "endpoints",
            "import",
            OLD,
            "--version",
            "9999123199",
            "-o",
            "/dev/null",
        ])
        .current_dir(fixture(""))
        .assert()
        .code(2);
    let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(
        err.contains("9999-12-31") && err.contains("after today"),
        "{err}"
    );
    let dir = tempfile::tempdir().unwrap();
    let future = dir.path().join("future.json");
    std::fs::write(&future, r#"{"instance":"Worldwide","published":"2999-01-01","source":"test","endpoints":[{"id":11,"serviceArea":"Skype","category":"Optimize","udpPorts":"3478","ips":["52.112.0.0/14"]}]}"#).unwrap();
    let out = portplan()
        .args(["endpoints", "show"])
        .arg(&future)
        .assert()
        .code(2);
    let text = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(
        text.contains("2999-01-01") && text.contains("after today"),
        "{text}"
    );
    assert!(out.get_output().stdout.is_empty());
}

#[test]
fn endpoints_show_escapes_control_characters_of_instance_and_source() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hostile.json");
    std::fs::write(&path, r#"{"instance":"World\u001b]0;owned\u0007wide","published":"2024-01-01","source":"saved\u001b[2J\r\nforged line","endpoints":[{"id":11,"serviceArea":"Skype","category":"Optimize","udpPorts":"3478","ips":["52.112.0.0/14"]}]}"#).unwrap();
    let out = portplan()
        .args(["endpoints", "show", "--max-age", "100000"])
        .arg(&path)
        .assert()
        .success();
    let text = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    assert!(
        !text.contains('\u{1b}') && !text.contains('\u{7}') && !text.contains('\r'),
        "{text:?}"
    );
    assert!(text.contains(r"World\x1b]0;owned\x07wide"), "{text}");
    assert!(text.contains(r"saved\x1b[2J\r\nforged line"), "{text}");
}
