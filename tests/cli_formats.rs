//! The one `--format` type of the command line: each command offers exactly its own values, in
//! the order its help shows, and refuses every other value with a clap error (exit 2) that lists
//! what it does accept.

use assert_cmd::Command;

fn portplan() -> Command {
    let mut c = Command::cargo_bin("portplan").unwrap();
    c.env("NO_COLOR", "1").env("COLUMNS", "100");
    c
}

/// The command line, the flag, the values it accepts (help order) and values it must refuse.
type Offer = (
    &'static [&'static str],
    &'static str,
    &'static [&'static str],
    &'static [&'static str],
);

const OFFERS: &[Offer] = &[
    (
        &["catalog"],
        "--format",
        &["table", "json", "csv", "markdown", "toml"],
        &["text", "svg", "dot"],
    ),
    (
        &["check"],
        "--format",
        &["text", "json"],
        &["table", "csv", "markdown", "toml", "svg"],
    ),
    (
        &["plan"],
        "--format",
        &["table", "json", "csv", "markdown"],
        &["text", "toml", "svg", "dot"],
    ),
    (
        &["between", "edge", "front-end"],
        "--format",
        &["table", "json", "csv", "markdown"],
        &["text", "toml", "dot"],
    ),
    (
        &["probe", "--from", "x"],
        "--format",
        &["table", "json"],
        &["csv", "markdown", "text", "svg"],
    ),
    (
        &[
            "audit",
            "--firewall",
            "fw-external",
            "--config",
            "x",
            "--format",
            "nftables",
        ],
        "--format-out",
        &["table", "json"],
        &["csv", "markdown", "toml", "dot"],
    ),
    (
        &["diagram"],
        "--format",
        &["svg", "dot"],
        &["table", "json", "text"],
    ),
    (
        &["endpoints", "diff", "a", "b"],
        "--format",
        &["table", "json"],
        &["csv", "markdown", "svg"],
    ),
];

#[test]
fn each_command_refuses_formats_outside_its_own_set() {
    for (args, flag, accepted, refused) in OFFERS {
        for value in *refused {
            let out = portplan()
                .args(*args)
                .args([*flag, *value])
                .output()
                .unwrap();
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(
                out.status.code(),
                Some(2),
                "{args:?} {flag} {value}: {stderr}"
            );
            assert!(
                stderr.contains(&format!("invalid value '{value}' for '{flag} <"))
                    && stderr.contains(&format!("[possible values: {}]", accepted.join(", "))),
                "{args:?} {flag} {value}: {stderr}"
            );
        }
    }
}

#[test]
fn each_command_accepts_every_format_it_offers() {
    // only the commands that run without a fixture or a network: the others fail later, on input
    for (args, flag, accepted, _) in OFFERS.iter().take(4) {
        for value in *accepted {
            let out = portplan()
                .args(*args)
                .args([*flag, *value])
                .output()
                .unwrap();
            assert!(
                out.status.code().is_some_and(|c| c < 2) && !out.stdout.is_empty(),
                "{args:?} {flag} {value}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
    let out = portplan()
        .args(["diagram", "--format", "dot"])
        .output()
        .unwrap();
    assert!(out.status.success() && out.stdout.starts_with(b"digraph"));
}
