//! Regression tests for the nftables reader (issue 13): each nftables case the issue lists, read
//! from text and checked with a reference packet walk, plus a parser-never-panics property.

mod nft_walk;

use nft_walk::{Pkt, verdict};
use portplan::audit::model::{Config, NatKind};
use portplan::audit::nft::{parse_json, parse_text};
use proptest::prelude::*;

fn pkt(iif: &str, oif: &str, src: &str, dst: &str, proto: &'static str, dport: u16) -> Pkt {
    Pkt {
        iif: iif.into(),
        oif: oif.into(),
        src: src.parse().unwrap(),
        dst: dst.parse().unwrap(),
        proto,
        dport,
    }
}

fn tcp(dst: &str, port: u16) -> Pkt {
    pkt("outside", "dmz", "198.51.100.7", dst, "tcp", port)
}

fn v(c: &Config, p: Pkt) -> Result<bool, String> {
    verdict(c, &p)
}

#[test]
fn empty_toml_asa_and_random_input_give_no_chains() {
    let asa = "interface GigabitEthernet0/0\n nameif outside\n security-level 0\naccess-list OUT extended permit tcp any host 10.0.0.1 eq 443\n";
    let toml = "[site]\nname = \"x\"\n[[zones]]\nname = \"dmz\"\n";
    let random: String = (0..2000u32)
        .map(|i| char::from_u32((i.wrapping_mul(2654435761) >> 7) % 0x2FF + 1).unwrap_or('x'))
        .collect();
    for text in ["", "\n\n   \n", toml, asa, &random] {
        let c = parse_text(text);
        assert!(c.chains.is_empty(), "{text:?}: {:?}", c.chains);
        assert!(c.entries.is_empty());
    }
    assert!(!parse_text(asa).unparsed.is_empty());
    assert!(parse_json("").is_err());
    assert!(parse_json("{\"a\": 1}").is_err());
}

#[test]
fn one_line_chain_header_is_a_forward_base_chain() {
    let c = parse_text(
        "table inet f { chain forward { type filter hook forward priority 0; policy drop; tcp dport 443 accept; }; }",
    );
    assert_eq!(c.entries.len(), 1);
    assert_eq!(v(&c, tcp("10.0.0.1", 443)), Ok(true));
    assert_eq!(v(&c, tcp("10.0.0.1", 80)), Ok(false));
}

#[test]
fn inline_vmap_expands_to_one_rule_per_key() {
    let c = parse_text(
        "table inet f {\n chain forward {\n type filter hook forward priority 0; policy accept;\n tcp dport vmap { 443 : accept, 5061 : drop }\n tcp dport 5061 accept\n }\n}\n",
    );
    assert_eq!(v(&c, tcp("10.0.0.1", 443)), Ok(true));
    assert_eq!(v(&c, tcp("10.0.0.1", 5061)), Ok(false));
    assert_eq!(v(&c, tcp("10.0.0.1", 80)), Ok(true));
    assert!(
        c.chains
            .iter()
            .flat_map(|c| &c.rules)
            .all(|r| r.uncertain.is_none())
    );
}

#[test]
fn named_vmap_with_goto_entries() {
    let c = parse_text(
        r#"table ip f {
    map ports { type inet_service : verdict; elements = { 443 : goto web, 5061 : drop, 5269 : jump xmpp } }
    chain web { ip daddr 10.0.0.1 accept; drop; }
    chain xmpp { ip saddr 198.51.100.0/24 return; drop; }
    chain forward {
        type filter hook forward priority filter; policy drop;
        tcp dport vmap @ports
        tcp dport 5269 accept
    }
}"#,
    );
    assert_eq!(v(&c, tcp("10.0.0.1", 443)), Ok(true));
    assert_eq!(v(&c, tcp("10.0.0.2", 443)), Ok(false));
    assert_eq!(v(&c, tcp("10.0.0.1", 5061)), Ok(false));
    // jump returns, then the next rule accepts
    assert_eq!(v(&c, tcp("10.0.0.1", 5269)), Ok(true));
}

#[test]
fn concatenation_matches_one_rule_per_element() {
    let c = parse_text(
        r#"table inet f {
    set pairs { type ipv4_addr . inet_service; elements = { 10.0.0.1 . 443, 10.0.0.2 . 5061 } }
    chain forward {
        type filter hook forward priority 0; policy drop;
        ip daddr . tcp dport @pairs accept
        ip daddr . tcp dport { 10.0.0.3 . 80 } accept
    }
}"#,
    );
    assert_eq!(v(&c, tcp("10.0.0.1", 443)), Ok(true));
    assert_eq!(v(&c, tcp("10.0.0.2", 5061)), Ok(true));
    assert_eq!(v(&c, tcp("10.0.0.3", 80)), Ok(true));
    assert_eq!(v(&c, tcp("10.0.0.1", 5061)), Ok(false));
    assert_eq!(v(&c, tcp("10.0.0.2", 443)), Ok(false));
}

#[test]
fn define_variables_are_substituted() {
    let c = parse_text(
        "define edge = 10.0.0.1\ndefine ports = { 443, 5061 }\ntable inet f {\n chain forward { type filter hook forward priority 0; policy drop;\n ip daddr $edge tcp dport $ports accept\n }\n}\n",
    );
    assert_eq!(v(&c, tcp("10.0.0.1", 5061)), Ok(true));
    assert_eq!(v(&c, tcp("10.0.0.2", 5061)), Ok(false));
    assert!(c.unparsed.is_empty(), "{:?}", c.unparsed);
}

#[test]
fn ip6_nexthdr_in_inet_does_not_touch_ipv4() {
    let c = parse_text(
        "table inet f { chain forward { type filter hook forward priority 0; policy accept; ip6 nexthdr tcp drop; meta nfproto ipv4 udp dport 53 drop; }; }",
    );
    assert_eq!(v(&c, tcp("10.0.0.1", 443)), Ok(true));
    assert_eq!(
        v(
            &c,
            pkt("outside", "dmz", "2001:db8::1", "2001:db8::2", "tcp", 443)
        ),
        Ok(false)
    );
    assert_eq!(
        v(
            &c,
            pkt("outside", "dmz", "2001:db8::1", "2001:db8::2", "udp", 53)
        ),
        Ok(true)
    );
    assert_eq!(
        v(&c, pkt("outside", "dmz", "10.0.0.9", "10.0.0.2", "udp", 53)),
        Ok(false)
    );
}

#[test]
fn prerouting_and_netdev_ingress_drops_count() {
    let c = parse_text(
        r#"table ip raw { chain pre { type filter hook prerouting priority raw; ip daddr 10.0.0.1 tcp dport 443 drop; }; }
table netdev edge { chain in { type filter hook ingress device "outside" priority 0; ip daddr 10.0.0.2 drop; }; }
table inet f { chain forward { type filter hook forward priority 0; policy accept; }; }
"#,
    );
    assert_eq!(c.entries.len(), 3);
    assert_eq!(c.entries[0].iif.as_deref(), Some("outside"));
    assert_eq!(v(&c, tcp("10.0.0.1", 443)), Ok(false));
    assert_eq!(v(&c, tcp("10.0.0.2", 443)), Ok(false));
    // the ingress chain only sees its device
    assert_eq!(
        v(
            &c,
            pkt("inside", "dmz", "192.0.2.1", "10.0.0.2", "tcp", 443)
        ),
        Ok(true)
    );
    assert_eq!(v(&c, tcp("10.0.0.3", 443)), Ok(true));
}

#[test]
fn iifname_sets_and_wildcards_are_definite() {
    let c = parse_text(
        r#"table inet f { chain forward { type filter hook forward priority 0; policy drop;
    iifname { "outside", "wan*" } tcp dport 443 accept
}; }"#,
    );
    assert_eq!(v(&c, tcp("10.0.0.1", 443)), Ok(true));
    assert_eq!(
        v(&c, pkt("wan2", "dmz", "192.0.2.1", "10.0.0.1", "tcp", 443)),
        Ok(true)
    );
    assert_eq!(
        v(
            &c,
            pkt("inside", "dmz", "192.0.2.1", "10.0.0.1", "tcp", 443)
        ),
        Ok(false)
    );
}

#[test]
fn meta_mark_set_then_accept_is_accept() {
    let c = parse_text(
        "table inet f { chain forward { type filter hook forward priority 0; policy drop; tcp dport 443 meta mark set 1 ct mark set 2 counter log prefix \"x \" accept; }; }",
    );
    assert_eq!(v(&c, tcp("10.0.0.1", 443)), Ok(true));
    assert!(
        c.chains
            .iter()
            .flat_map(|c| &c.rules)
            .all(|r| r.uncertain.is_none())
    );
}

#[test]
fn unknown_matches_are_uncertain_not_silent() {
    let c = parse_text(
        "table inet f { chain forward { type filter hook forward priority 0; policy accept; tcp sport 1024 drop; meta mark 0x1 drop } }",
    );
    assert!(v(&c, tcp("10.0.0.1", 443)).is_err());
    assert!(
        c.chains
            .iter()
            .flat_map(|c| &c.rules)
            .all(|r| r.uncertain.is_some())
    );
}

#[test]
fn command_style_rulesets_and_comments_and_continuations() {
    let c = parse_text(
        "flush ruleset\nadd table inet f # the table\nadd chain inet f forward { type filter hook forward priority 0 ; policy drop ; }\nadd rule inet f forward tcp dport \\\n 443 accept\nadd set inet f s { type ipv4_addr ; flags interval ; }\nadd element inet f s { 10.0.0.0/30, 10.0.1.1-10.0.1.5 }\nadd rule inet f forward ip daddr @s udp dport 3478 accept\n",
    );
    assert!(c.unparsed.is_empty(), "{:?}", c.unparsed);
    assert_eq!(v(&c, tcp("10.9.0.1", 443)), Ok(true));
    assert_eq!(
        v(&c, pkt("a", "b", "1.1.1.1", "10.0.1.3", "udp", 3478)),
        Ok(true)
    );
    assert_eq!(
        v(&c, pkt("a", "b", "1.1.1.1", "10.0.1.6", "udp", 3478)),
        Ok(false)
    );
}

#[test]
fn nat_chains_fill_the_translations() {
    let c = parse_text(
        r#"table ip nat {
    chain pre { type nat hook prerouting priority dstnat; ip daddr 198.51.100.10 tcp dport 443 dnat to 10.0.0.10:4443 }
    chain post { type nat hook postrouting priority srcnat; oifname "outside" masquerade }
}"#,
    );
    assert_eq!(c.nat.len(), 2);
    assert_eq!(c.nat[0].kind, NatKind::Destination);
    assert_eq!(c.nat[0].to_ports, Some((4443, 4443)));
    assert_eq!(
        c.nat[0].to.as_ref().unwrap().v4,
        vec![(0x0a00000a, 0x0a00000a)]
    );
    assert_eq!(c.nat[1].kind, NatKind::Masquerade);
}

#[test]
fn large_sets_are_read_fast() {
    let elems: Vec<String> = (0..100_000u32)
        .map(|i| format!("10.{}.{}.{}", i >> 16, (i >> 8) & 255, i & 255))
        .collect();
    let text = format!(
        "table inet f {{ set s {{ type ipv4_addr; elements = {{ {} }} }}\n chain forward {{ type filter hook forward priority 0; policy drop; ip daddr @s accept; }}; }}",
        elems.join(", ")
    );
    let t = std::time::Instant::now();
    let c = parse_text(&text);
    // reading only: the region of the rule is the evaluator's work
    assert!(t.elapsed().as_secs_f64() < 5.0, "{:?}", t.elapsed());
    let r = &c
        .chains
        .iter()
        .find(|c| c.name == "f/forward")
        .unwrap()
        .rules[0];
    assert_eq!(r.dst.as_ref().unwrap().set.v4.len(), 100_000);
    assert!(r.uncertain.is_none());
}

#[test]
fn json_reads_vmaps_concatenations_and_chains() {
    let json = r#"{"nftables":[{"metainfo":{"version":"1.0.9"}},
 {"table":{"family":"inet","name":"f","handle":1}},
 {"chain":{"family":"inet","table":"f","name":"forward","handle":1,"type":"filter","hook":"forward","prio":0,"policy":"drop"}},
 {"rule":{"family":"inet","table":"f","chain":"forward","handle":2,"expr":[{"vmap":{"key":{"payload":{"protocol":"tcp","field":"dport"}},"data":{"set":[[443,{"accept":null}],[5061,{"drop":null}]]}}}]}},
 {"rule":{"family":"inet","table":"f","chain":"forward","handle":3,"expr":[{"match":{"op":"==","left":{"concat":[{"payload":{"protocol":"ip","field":"daddr"}},{"payload":{"protocol":"udp","field":"dport"}}]},"right":{"set":[{"concat":["10.0.0.1",3478]}]}}},{"counter":null},{"accept":null}]}}
]}"#;
    let c = parse_json(json).unwrap();
    assert_eq!(v(&c, tcp("10.0.0.1", 443)), Ok(true));
    assert_eq!(v(&c, tcp("10.0.0.1", 5061)), Ok(false));
    assert_eq!(
        v(&c, pkt("a", "b", "1.1.1.1", "10.0.0.1", "udp", 3478)),
        Ok(true)
    );
    assert_eq!(
        v(&c, pkt("a", "b", "1.1.1.1", "10.0.0.2", "udp", 3478)),
        Ok(false)
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, .. ProptestConfig::default() })]
    #[test]
    fn nft_parser_never_panics(text in "[ -~\n{}\"@$.:;,#\\\\]{0,400}") {
        let _ = parse_text(&text);
        let _ = parse_json(&text);
    }

    #[test]
    fn nft_parser_never_panics_on_mutated_rulesets(cut in 0usize..600, len in 0usize..40, insert in "[ -~\n{}\"!.:]{0,12}") {
        let base = include_str!("fixtures/audit/fw-external.nft");
        let mut bytes = base.as_bytes().to_vec();
        let at = cut.min(bytes.len());
        let end = (at + len).min(bytes.len());
        bytes.splice(at..end, insert.bytes());
        let text = String::from_utf8_lossy(&bytes);
        let c = parse_text(&text);
        for e in &c.entries {
            prop_assert!(c.chain(&e.chain).is_some());
        }
    }
}
