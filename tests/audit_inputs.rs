//! `audit` on inputs nobody meant for it: empty, wrong-format, binary and endless files are exit 2
//! with a message that says what the file looks like, never "everything allowed, exit 0"; and
//! nft constructs that used to be read as matching nothing now give a verdict or `uncertain`.

mod common;

use assert_cmd::Command;

fn audit(config: &std::path::Path, format: &str) -> (Option<i32>, String, String) {
    let out = Command::cargo_bin("portplan")
        .unwrap()
        .args([
            "audit",
            "--firewall",
            "fw-external",
            "--format",
            format,
            "--config",
        ])
        .arg(config)
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn file(text: &[u8]) -> tempfile::NamedTempFile {
    use std::io::Write;
    let mut f = tempfile::NamedTempFile::new().unwrap();
    f.write_all(text).unwrap();
    f
}

#[test]
fn empty_file_is_exit_2_not_all_allowed() {
    let f = file(b"");
    for format in ["nftables", "iptables", "asa", "nftables-json"] {
        let (code, _, err) = audit(f.path(), format);
        assert_eq!(code, Some(2), "{format}: {err}");
        assert!(err.contains("empty"), "{err}");
    }
}

#[test]
fn wrong_format_is_exit_2_naming_what_it_looks_like() {
    let topology = common::example("reference.toml");
    let asa = common::repo().join("tests/fixtures/audit/fw-external.asa");
    let ipt = common::repo().join("tests/fixtures/audit/fw-external.iptables");
    for (path, format, looks) in [
        (&topology, "nftables", "TOML"),
        (&asa, "nftables", "ASA"),
        (&ipt, "nftables", "iptables-save"),
        (&asa, "iptables", "ASA"),
        (&topology, "asa", "TOML"),
    ] {
        let (code, _, err) = audit(path, format);
        assert_eq!(code, Some(2), "{format} {}: {err}", path.display());
        assert!(err.contains(looks), "{err}");
    }
}

#[test]
fn random_bytes_are_exit_2_as_binary_data() {
    let mut bytes = Vec::new();
    let mut x = 0x2545_f491_4f6c_dd1du64;
    for _ in 0..4096 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        bytes.push(x as u8);
    }
    let f = file(&bytes);
    let (code, _, err) = audit(f.path(), "nftables");
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("binary"), "{err}");
}

#[test]
fn endless_config_is_refused_not_read_until_memory_runs_out() {
    let (code, _, err) = audit(std::path::Path::new("/dev/zero"), "iptables");
    assert_eq!(code, Some(2));
    assert!(err.contains("larger than"), "{err}");
}

/// The statuses of the table rows (planned rules) for one port and direction.
fn status_of(out: &str, port: &str, dir: &str) -> Vec<String> {
    let rows: Vec<&str> = out
        .lines()
        .filter(|l| l.starts_with('r') && l[1..].starts_with(|c: char| c.is_ascii_digit()))
        .filter(|l| l.contains(dir) && l.split_whitespace().any(|w| w == port))
        .collect();
    assert!(
        !rows.is_empty(),
        "no planned rule for {port} {dir} in:\n{out}"
    );
    rows.into_iter()
        .map(|l| {
            l.split_whitespace()
                .find(|w| {
                    matches!(
                        *w,
                        "allowed" | "BLOCKED" | "PARTIAL" | "UNCERTAIN" | "partial" | "blocked"
                    )
                })
                .unwrap_or("?")
                .to_string()
        })
        .collect()
}

#[test]
fn nft_verdict_map_drops_are_seen() {
    let f = file(b"table inet fw {\n chain forward { type filter hook forward priority 0; policy accept;\n  tcp dport vmap { 443 : accept, 5061 : drop }\n }\n}\n");
    let (code, out, _) = audit(f.path(), "nftables");
    assert_eq!(code, Some(1), "{out}");
    assert!(
        status_of(&out, "5061", "outside -> dmz")
            .iter()
            .all(|s| s == "BLOCKED"),
        "{out}"
    );
    assert!(
        status_of(&out, "443", "outside -> dmz")
            .iter()
            .all(|s| s == "allowed"),
        "{out}"
    );
}

#[test]
fn nft_chain_header_on_one_line_with_its_rules_is_read() {
    let f = file(b"table inet fw { chain forward { type filter hook forward priority 0; policy drop; tcp dport 443 accept; }; }\n");
    let (code, out, _) = audit(f.path(), "nftables");
    assert_eq!(code, Some(1), "{out}");
    assert!(
        status_of(&out, "5061", "outside -> dmz")
            .iter()
            .all(|s| s == "BLOCKED"),
        "{out}"
    );
    assert!(!out.contains("forwards everything"), "{out}");
}

#[test]
fn nft_drop_in_a_prerouting_chain_is_not_ignored() {
    let f = file(b"table inet f {\n chain pre { type filter hook prerouting priority 0; policy accept; tcp dport 5061 drop; }\n chain forward { type filter hook forward priority 0; policy accept; }\n}\n");
    let (_, out, _) = audit(f.path(), "nftables");
    assert!(
        status_of(&out, "5061", "outside -> dmz")
            .iter()
            .all(|s| s == "BLOCKED"),
        "{out}"
    );
}

#[test]
fn nft_ip6_nexthdr_drop_in_inet_leaves_ipv4_allowed() {
    let f = file(b"table inet f {\n chain forward { type filter hook forward priority 0; policy accept;\n  ip6 nexthdr tcp drop\n }\n}\n");
    let (code, out, _) = audit(f.path(), "nftables");
    assert_eq!(code, Some(0), "{out}");
}

#[test]
fn nft_named_verdict_map_is_read() {
    let f = file(b"table inet fw {\n map m { type inet_service : verdict; elements = { 5061 : drop } }\n chain forward { type filter hook forward priority 0; policy accept;\n  tcp dport vmap @m\n }\n}\n");
    let (code, out, _) = audit(f.path(), "nftables");
    assert_eq!(code, Some(1), "{out}");
    assert!(
        status_of(&out, "5061", "outside -> dmz")
            .iter()
            .all(|s| s == "BLOCKED"),
        "{out}"
    );
}

#[test]
fn asa_object_group_that_includes_itself_is_bounded_and_reported() {
    let mut text = String::from(
        "interface Gi0/0\n nameif outside\n security-level 0\ninterface Gi0/1\n nameif dmz\n security-level 50\nobject-group service SVC tcp\n port-object eq 5061\n",
    );
    // four self-references grew memory without bound before
    text.push_str(&" group-object SVC\n".repeat(4));
    text.push_str("object-group network A\n network-object host 203.0.113.11\n group-object B\nobject-group network B\n group-object A\n");
    text.push_str("access-list OUT extended permit tcp any object-group A object-group SVC\naccess-group OUT in interface outside\n");
    let config = portplan::audit::parse(portplan::audit::Format::Asa, &text).unwrap();
    let cyclic: Vec<_> = config
        .unparsed
        .iter()
        .filter(|u| u.text.starts_with("object-group") && u.why.contains("includes itself"))
        .map(|u| u.line)
        .collect();
    assert_eq!(cyclic.len(), 3, "{:?}", config.unparsed);
    assert!(cyclic.iter().all(|l| *l > 0), "each names its line");
}

#[test]
fn asa_object_group_cycle_is_reported_as_a_cycle_with_both_lines_not_as_undefined() {
    // A (line 7) includes B (line 10), which includes A; line 13 names A
    let text = "interface Gi0/0\n nameif outside\n security-level 0\ninterface Gi0/1\n nameif dmz\n security-level 50\n\
object-group network A\n network-object host 198.51.100.1\n group-object B\n\
object-group network B\n network-object host 198.51.100.2\n group-object A\n\
access-list OUT extended deny tcp object-group A any\naccess-list OUT extended permit ip any any\naccess-group OUT in interface outside\n";
    let config = portplan::audit::parse(portplan::audit::Format::Asa, text).unwrap();
    let why = |line: usize| -> String {
        config
            .unparsed
            .iter()
            .find(|u| u.line == line)
            .map(|u| u.why.clone())
            .unwrap_or_else(|| panic!("line {line} not listed: {:?}", config.unparsed))
    };
    let ace = why(13);
    assert!(!ace.contains("not defined"), "{ace}");
    assert!(
        ace.contains("includes itself") && ace.contains("line 7") && ace.contains("line 10"),
        "{ace}"
    );
    for group_line in [7, 10] {
        let g = why(group_line);
        assert!(g.contains("line 7") && g.contains("line 10"), "{g}");
    }
}

fn ipt(lines: &[String]) -> portplan::audit::model::Config {
    let text = format!(
        "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n{}\nCOMMIT\n",
        lines.join("\n")
    );
    portplan::audit::parse(portplan::audit::Format::Iptables, &text).unwrap()
}

fn verdict(config: &portplan::audit::model::Config, proto: u8, port: u16) -> String {
    use portplan::audit::eval::{Fate, evaluate};
    use portplan::audit::space::{PacketBox, Region};
    let any = (0, u128::from(u32::MAX));
    let pieces = evaluate(
        config,
        portplan::plan::Family::V4,
        "outside",
        "dmz",
        Region::of(PacketBox {
            src: any,
            dst: any,
            proto,
            port: (port, port),
        }),
    );
    assert_eq!(pieces.len(), 1);
    match &pieces[0].fate {
        Fate::Allowed(_) => "allowed".into(),
        Fate::Denied(_) => "denied".into(),
        Fate::Uncertain(at) => format!("uncertain {at:?}"),
    }
}

#[test]
fn chains_that_jump_twice_to_the_next_30_deep_are_evaluated_exactly() {
    use portplan::audit::space::{PROTO_TCP, PROTO_UDP};
    // 2^30 paths through the chains: evaluated once per chain and input, not once per path
    let mut lines: Vec<String> = (0..=30).map(|i| format!(":C{i} - [0:0]")).collect();
    lines.push("-A FORWARD -j C0".into());
    lines.push("-A FORWARD -j C0".into());
    for i in 0..30 {
        lines.push(format!("-A C{i} -p tcp --dport {} -j RETURN", 1000 + i));
        lines.push(format!("-A C{i} -j C{}", i + 1));
        lines.push(format!("-A C{i} -j C{}", i + 1));
    }
    lines.push("-A C30 -p tcp -j ACCEPT".into());
    let config = ipt(&lines);
    assert_eq!(verdict(&config, PROTO_TCP, 5061), "allowed");
    assert_eq!(verdict(&config, PROTO_UDP, 3478), "denied");
    // a port one level returns goes back up, through the second jump, and off the end
    assert_eq!(verdict(&config, PROTO_TCP, 1000), "denied");
    assert_eq!(verdict(&config, PROTO_TCP, 1029), "denied");
}

#[test]
fn a_jump_loop_is_uncertain_and_named() {
    use portplan::audit::space::PROTO_TCP;
    let lines: Vec<String> = [
        ":A - [0:0]",
        ":B - [0:0]",
        "-A FORWARD -j A",
        "-A A -j B",
        "-A B -p udp -j ACCEPT",
        "-A B -j A",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let v = verdict(&ipt(&lines), PROTO_TCP, 443);
    assert!(v.contains("uncertain") && v.contains("jumps loop"), "{v}");
}

#[test]
fn repeated_iptables_matches_are_all_required() {
    use portplan::audit::space::PROTO_TCP;
    let config = ipt(&[
        "-A FORWARD -p tcp -m tcp --dport 5061 -m multiport --dports 443,5061 -j ACCEPT".into(),
        "-A FORWARD -p tcp -m conntrack --ctstate ESTABLISHED -m conntrack --ctstate NEW -j ACCEPT"
            .into(),
    ]);
    assert_eq!(verdict(&config, PROTO_TCP, 5061), "allowed");
    assert_eq!(verdict(&config, PROTO_TCP, 443), "denied");
}

#[test]
fn ipv6_address_in_an_iptables_file_is_not_silently_ignored() {
    use portplan::audit::space::PROTO_TCP;
    let config = ipt(&[
        "-A FORWARD -d 2001:db8::1 -p tcp -j DROP".into(),
        "-A FORWARD -j ACCEPT".into(),
    ]);
    assert!(
        config.unparsed.iter().any(|u| u.why.contains("IPv6")),
        "{:?}",
        config.unparsed
    );
    assert!(verdict(&config, PROTO_TCP, 443).starts_with("uncertain"));
}

#[test]
fn nft_command_style_rules_are_read_and_unknown_lines_make_verdicts_uncertain() {
    let base = "table inet fw {\n chain forward { type filter hook forward priority 0; policy accept; }\n}\nadd rule inet fw forward tcp dport 5061 drop\n";
    let f = file(base.as_bytes());
    let (_, out, _) = audit(f.path(), "nftables");
    assert!(
        status_of(&out, "5061", "outside -> dmz")
            .iter()
            .all(|s| s == "BLOCKED"),
        "{out}"
    );
    // a line portplan cannot read could add any rule: nothing stays definite
    let f = file(format!("{base}something new 1 2 3\n").as_bytes());
    let (code, out, _) = audit(f.path(), "nftables");
    assert_eq!(code, Some(1));
    assert!(
        status_of(&out, "443", "outside -> dmz")
            .iter()
            .all(|s| s == "UNCERTAIN"),
        "{out}"
    );
}
