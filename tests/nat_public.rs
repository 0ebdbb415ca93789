//! The public side of a static NAT is checked like the address it is: one the internet can reach.
//! A cold trial's `check` accepted a DMZ address, an internal one, 0.0.0.0 and the firewall's own
//! outside address as `public`, and advised entering a private one as the A/V Edge's address.

use portplan::topology::Topology;

fn natted(public: &str) -> String {
    std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/edge-single-nat.toml"
    ))
    .unwrap()
    .replacen(&first_public(), public, 1)
}

/// The first `public = "..."` value of the NAT'd single Edge example.
fn first_public() -> String {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/edge-single-nat.toml"
    ))
    .unwrap();
    let at = text.find("public = \"").unwrap() + "public = \"".len();
    text[at..at + text[at..].find('"').unwrap()].to_string()
}

fn codes(text: &str) -> Vec<String> {
    match Topology::parse("nat.toml", text) {
        Ok(t) => portplan::topology::lint::lint(&t)
            .findings
            .iter()
            .map(|f| f.code.to_string())
            .collect(),
        Err(e) => e.problems.iter().map(|f| f.code.to_string()).collect(),
    }
}

#[test]
fn a_public_side_inside_a_perimeter_or_internal_zone_is_refused() {
    let t = Topology::parse("x.toml", &natted(&first_public())).unwrap();
    let inner: Vec<String> = t
        .zones
        .iter()
        .filter(|z| z.kind != portplan::topology::ZoneKind::Internet)
        .map(|z| {
            let n = z.networks[0];
            // an address inside that network no server uses
            match n.addr() {
                std::net::IpAddr::V4(a) => std::net::Ipv4Addr::from(u32::from(a) + 250).to_string(),
                std::net::IpAddr::V6(a) => {
                    std::net::Ipv6Addr::from(u128::from(a) + 250).to_string()
                }
            }
        })
        .collect();
    assert!(!inner.is_empty());
    for addr in inner {
        assert!(
            codes(&natted(&addr)).contains(&"nat-public".to_string()),
            "{addr}"
        );
    }
}

#[test]
fn unreachable_and_firewall_own_public_addresses_are_refused() {
    for addr in [
        "0.0.0.0",
        "127.0.0.5",
        "224.0.0.9",
        "169.254.1.1",
        "255.255.255.255",
    ] {
        assert!(
            codes(&natted(addr)).contains(&"nat-public".to_string()),
            "{addr}"
        );
    }
    let text = natted(&first_public());
    let t = Topology::parse("x.toml", &text).unwrap();
    let own = t
        .firewalls
        .iter()
        .flat_map(|f| f.interfaces.iter())
        .flat_map(|i| i.addresses.iter())
        .find(|a| a.addr().is_ipv4())
        .map(|a| a.addr().to_string());
    if let Some(own) = own {
        assert!(
            codes(&natted(&own)).contains(&"nat-public".to_string()),
            "{own}"
        );
    }
}

#[test]
fn a_private_public_side_is_a_warning_and_a_real_one_passes() {
    assert!(codes(&natted("192.168.99.12")).contains(&"nat-public-private".to_string()));
    let fine = codes(&natted(&first_public()));
    assert!(
        !fine.iter().any(|c| c.starts_with("nat-public")),
        "{fine:?}"
    );
}
