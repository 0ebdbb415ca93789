//! One name, one thing: `between`, `probe --from` and the report look names up across zones,
//! pools, servers, client networks and partners. A cold trial named a client network `internet`
//! like the zone, `check` said nothing and `between internet ...` silently took the zone.

use portplan::topology::Topology;

fn codes(text: &str) -> Vec<&'static str> {
    match Topology::parse("t.toml", text) {
        Ok(_) => Vec::new(),
        Err(e) => e.problems.iter().map(|f| f.code.as_str()).collect(),
    }
}

#[test]
fn a_client_network_named_like_a_zone_is_refused() {
    let text =
        Topology::reference_source().replace("name = \"corp-clients\"", "name = \"internet\"");
    assert_eq!(codes(&text), vec!["ambiguous-name"]);
}

#[test]
fn a_server_named_like_another_pool_is_refused() {
    let text = Topology::reference_source().replace("name = \"fe03\"", "name = \"dirpool\"");
    assert!(
        codes(&text).contains(&"ambiguous-name"),
        "{:?}",
        codes(&text)
    );
}

#[test]
fn a_pool_may_share_its_name_with_its_only_server() {
    let text = Topology::reference_source().replace("name = \"owa01\"", "name = \"owa\"");
    assert!(codes(&text).is_empty(), "{:?}", codes(&text));
}

#[test]
fn interface_names_linux_reserves_are_refused() {
    for name in ["all", "default", "lo"] {
        let text = Topology::reference_source()
            .replace("name = \"outside\"", &format!("name = \"{name}\""));
        assert!(!codes(&text).is_empty(), "{name}");
    }
}
