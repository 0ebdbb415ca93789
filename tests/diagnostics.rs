//! How findings reach a terminal: control characters from the file never do (a cold trial's
//! topology retitled and cleared the terminal through `check`), and snippets and positions stay
//! right when they are cut from the lines around a span.

use assert_cmd::Command;
use portplan::topology::SourceFile;

fn check(text: &str) -> (i32, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.toml");
    std::fs::write(&path, text).unwrap();
    let out = Command::cargo_bin("portplan")
        .unwrap()
        .arg("check")
        .arg(&path)
        .output()
        .unwrap();
    let all =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    (out.status.code().unwrap_or(-1), all)
}

#[test]
fn escape_sequences_in_a_topology_never_reach_the_terminal() {
    let reference = portplan::topology::Topology::reference_source();
    for hostile in [
        // a key: quoted in the message of the unknown-field error
        "\"\u{1b}[31mEVIL\u{7}\" = 1\n".to_string(),
        // a comment shown in the snippet of a later error on the same lines
        "# \u{1b}]0;pwned\u{7}\nbogus = 1\n".to_string(),
        // C1 and a bidirectional override
        "\"\u{9b}2J\u{202e}x\" = 1\n".to_string(),
    ] {
        let text = format!("{hostile}{reference}");
        let (code, out) = check(&text);
        assert_eq!(code, 2, "{out}");
        for c in ['\u{1b}', '\u{7}', '\u{9b}', '\u{202e}'] {
            assert!(!out.contains(c), "raw {c:?} in:\n{out}");
        }
    }
}

#[test]
fn positions_are_counted_in_lines_and_characters_anywhere_in_a_large_file() {
    let mut text = String::new();
    for i in 0..20_000 {
        text.push_str(&format!("# comment {i} ä\n"));
    }
    let offset = text.len() + 4;
    text.push_str("key = 1\n");
    let src = SourceFile::new("big.toml", text.as_str());
    assert_eq!(src.line_col(offset), (20_001, 5));
    assert_eq!(src.line_col(0), (1, 1));
    // inside a two-byte character: the column of that character
    assert_eq!(src.line_col(13), (1, 13));
    assert_eq!(src.line_col(usize::MAX).0, 20_002);
}

#[test]
fn a_snippet_near_the_end_of_a_large_file_shows_the_right_lines() {
    let reference = portplan::topology::Topology::reference_source();
    let mut text = String::from(reference);
    for i in 0..5_000 {
        text.push_str(&format!("# filler {i}\n"));
    }
    text.push_str("surprise = true\n");
    let (code, out) = check(&text);
    assert_eq!(code, 2, "{out}");
    let line = text.lines().count();
    assert!(out.contains(&format!("t.toml:{line}:1")), "{out}");
    assert!(
        out.contains("# filler 4999") && out.contains("surprise = true"),
        "{out}"
    );
}

#[test]
fn a_default_route_on_the_edge_internal_leg_is_a_lint_warning() {
    let text = portplan::topology::Topology::reference_source()
        .replace("routes = [\"10.10.0.0/16\"]", "routes = [\"0.0.0.0/0\"]");
    let (code, out) = check(&text);
    assert_eq!(code, 0, "a warning, not an error: {out}");
    assert!(out.contains("edge-internal-default-route"), "{out}");
}

#[test]
fn check_json_answers_for_an_invalid_topology_too() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    std::fs::write(&path, "name = \"x\"\nbogus = 1\n").unwrap();
    let out = Command::cargo_bin("portplan")
        .unwrap()
        .args(["check", "--format", "json"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["valid"], false);
    assert_eq!(v["findings"][0]["line"], 2);
    let out = Command::cargo_bin("portplan")
        .unwrap()
        .args(["check", "--format", "json"])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["valid"], true);
}
