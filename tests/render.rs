//! Every render target on both example topologies: golden files, structural checks, and Aerleon's
//! real compiler on the generated policy.

mod common;

use portplan::plan::{self, Plan};
use portplan::render::{self, Scope, Target};
use portplan::topology::Topology;

use common::EXAMPLES;

fn load(name: &str) -> (Topology, Plan) {
    let t = Topology::parse(
        &format!("examples/{name}"),
        &common::read(&common::example(name)),
    )
    .unwrap();
    let p = plan::compile(&t);
    (t, p)
}

#[test]
fn golden_files_for_every_target_and_example() {
    for example in common::all_examples() {
        let (t, p) = load(example);
        let stem = example.trim_end_matches(".toml");
        for target in Target::ALL {
            // the Edge load balancer targets have nothing to write without Edge VIPs, and say so
            let edge_vips = t
                .pools_of(portplan::catalog::ServerRole::Edge)
                .any(|pool| !pool.vips.is_empty());
            let files = match render::render_files(&p, &t, *target, &Scope::All) {
                Ok(files) => files,
                Err(render::RenderError::Nothing { why, .. })
                    if matches!(target, Target::NftablesLb | Target::Keepalived) && !edge_vips =>
                {
                    assert!(why.contains("hardware-balanced"), "{why}");
                    continue;
                }
                Err(e) => panic!("{example}: {target}: {e}"),
            };
            assert!(!files.is_empty(), "{example}: {target} wrote nothing");
            for f in files {
                common::golden(&format!("render/{stem}/{target}/{}", f.file), &f.text);
            }
        }
    }
}

#[test]
fn every_firewall_rule_names_its_catalog_rows() {
    let (t, p) = load("reference.toml");
    for target in [
        Target::Nftables,
        Target::Iptables,
        Target::Asa,
        Target::Aerleon,
    ] {
        let text = render::render(&p, &t, target, &Scope::All).unwrap();
        for rule in &p.rules {
            let tag = format!("r{} ", rule.id);
            assert!(
                text.contains(&tag),
                "{target}: no trace of plan rule {}",
                rule.id
            );
        }
    }
}

#[test]
fn nftables_uses_sets_so_rules_do_not_grow_with_servers() {
    let (t, p) = load("dns-director-3edge.toml");
    let text =
        render::render(&p, &t, Target::Nftables, &Scope::Firewall("core-fw".into())).unwrap();
    let rules = text
        .lines()
        .filter(|l| l.contains(" accept comment"))
        .count();
    let sets = text
        .lines()
        .filter(|l| l.trim_start().starts_with("set "))
        .count();
    assert!(rules < p.rules_for("core-fw").count(), "{rules} nft rules");
    assert!(sets > 5);
    // the three Edge servers' internal addresses are one set, not three rules
    assert!(text.contains("elements = { 172.30.1.21, 172.30.1.31, 172.30.1.41 }"));
    assert!(text.starts_with("#!/usr/sbin/nft -f"));
    assert!(text.contains("table inet portplan\ndelete table inet portplan\n"));
    assert!(text.contains("policy drop;"));
}

#[test]
fn windows_needs_a_host_or_writes_every_windows_server() {
    let (t, p) = load("reference.toml");
    let all = render::render_files(&p, &t, Target::Windows, &Scope::All).unwrap();
    let names: Vec<&str> = all.iter().map(|a| a.file.as_str()).collect();
    assert_eq!(
        names,
        [
            "edge01.ps1",
            "edge02.ps1",
            "dir01.ps1",
            "dir02.ps1",
            "fe01.ps1",
            "fe02.ps1",
            "fe03.ps1",
            "owa01.ps1"
        ]
    );
    let err = render::render(
        &p,
        &t,
        Target::Windows,
        &Scope::Firewall("fw-external".into()),
    )
    .unwrap_err();
    assert!(err.to_string().contains("--host"));
    let dir = render::render(&p, &t, Target::Windows, &Scope::Host("dir01".into())).unwrap();
    // the Director receives 444? no: it sends 444 to the Front End pool, and receives SIP from the Edge
    assert!(dir.contains("-Direction Outbound") && dir.contains("-RemotePort 444"));
    assert!(dir.contains("-LocalPort 5061"));
    assert!(dir.contains("Remove-NetFirewallRule"), "idempotent");
    assert!(
        dir.contains("-LocalPort 50001"),
        "centralized logging on the Director"
    );
    let err = render::render(&p, &t, Target::Windows, &Scope::Host("nope".into())).unwrap_err();
    assert!(err.to_string().contains("dir01"));
}

#[test]
fn windows_av_edge_rules_answer_on_the_real_av_address() {
    let (t, p) = load("reference.toml");
    let edge = render::render(&p, &t, Target::Windows, &Scope::Host("edge02".into())).unwrap();
    let av_in: Vec<&str> = edge
        .lines()
        .filter(|l| l.contains("-Protocol UDP -LocalPort 3478") && l.contains("203.0.113"))
        .collect();
    assert!(!av_in.is_empty());
    for l in av_in {
        assert!(l.contains("'203.0.113.23'"), "{l}");
        assert!(
            !l.contains("'203.0.113.21'"),
            "A/V rules do not open the access address: {l}"
        );
    }
}

#[test]
fn asa_binds_one_acl_per_ingress_interface() {
    let (t, p) = load("reference.toml");
    let asa = render::render(&p, &t, Target::Asa, &Scope::Firewall("fw-external".into())).unwrap();
    assert!(asa.contains("access-group outside_access_in in interface outside"));
    assert!(asa.contains("access-group dmz_access_in in interface dmz"));
    assert!(asa.contains("extended permit udp any4 object-group EDGE_AV_PUBLIC eq 3478"));
    assert!(asa.contains("range 50000 59999"));
}

#[test]
fn firewall_targets_refuse_a_host_scope() {
    let (t, p) = load("reference.toml");
    for target in [
        Target::Nftables,
        Target::Iptables,
        Target::Asa,
        Target::Aerleon,
    ] {
        let err = render::render(&p, &t, target, &Scope::Host("edge01".into())).unwrap_err();
        assert!(err.to_string().contains("--firewall"), "{target}: {err}");
    }
}

/// The scope is judged before the plan: asking a firewall target for a host's file names the
/// scope it takes, even when the plan would also be refused (it once said only that flows cross
/// no firewall, and the scope error came after the topology was fixed).
#[test]
fn a_scope_the_target_does_not_take_is_refused_before_the_firewall_path_gate() {
    let text = common::read(&common::example("reference.toml"));
    let start = text.find("[[firewall]]\nname = \"fw-internal\"").unwrap();
    let end = start + text[start..].find("[[pool]]").unwrap();
    let t = Topology::parse("nofw.toml", &format!("{}{}", &text[..start], &text[end..])).unwrap();
    let p = plan::compile(&t);
    assert!(!p.path_findings().is_empty());
    for target in [
        Target::Nftables,
        Target::Iptables,
        Target::Asa,
        Target::Aerleon,
    ] {
        let err = render::render_files(&p, &t, target, &Scope::Host("edge01".into())).unwrap_err();
        assert!(
            matches!(err, render::RenderError::NeedsScope { .. }),
            "{target}: {err}"
        );
        assert!(err.to_string().contains("--firewall"), "{target}: {err}");
        // a scope the target takes still meets the gate
        let err = render::render_files(&p, &t, target, &Scope::Firewall("fw-external".into()))
            .unwrap_err();
        assert!(
            err.to_string().contains("no-firewall-path"),
            "{target}: {err}"
        );
    }
}

#[test]
fn aerleon_compiles_the_generated_policy() {
    let found = std::process::Command::new("sh")
        .args(["-c", "command -v aclgen"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !found {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must install aerleon (pip) for this test"
        );
        eprintln!("skipped: aclgen (pip install aerleon) is not installed");
        return;
    }
    for example in common::all_examples() {
        let (t, p) = load(example);
        let dir = tempfile::tempdir().unwrap();
        for f in render::render_files(&p, &t, Target::Aerleon, &Scope::All).unwrap() {
            let path = dir.path().join(&f.file);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, f.text).unwrap();
        }
        for fw in &t.firewalls {
            let out = std::process::Command::new("aclgen")
                .current_dir(dir.path())
                .args([
                    "--policy_file",
                    &format!("policies/{}.yaml", fw.name),
                    "--definitions_directory",
                    "def",
                    "--output_directory",
                    "out",
                ])
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{example} {}: {}",
                fw.name,
                String::from_utf8_lossy(&out.stderr)
            );
            // every platform the policy's headers name was generated, with every plan rule of
            // this firewall as a term of its own
            let policy =
                std::fs::read_to_string(dir.path().join(format!("policies/{}.yaml", fw.name)))
                    .unwrap();
            let mut platforms: Vec<&str> = Vec::new();
            let mut in_targets = false;
            for line in policy.lines() {
                if line == "      targets:" {
                    in_targets = true;
                } else if in_targets && line.starts_with("        ") {
                    platforms.push(line.trim().split_once(':').unwrap().0);
                } else {
                    in_targets = false;
                }
            }
            platforms.sort_unstable();
            platforms.dedup();
            assert_eq!(
                platforms,
                ["ciscoasa", "nftables", "srx"],
                "{example} {}",
                fw.name
            );
            for platform in platforms {
                let suffix = match platform {
                    "ciscoasa" => "asa",
                    "srx" => "srx",
                    "nftables" => "nft",
                    other => panic!("no output suffix known for aerleon target {other}"),
                };
                let text =
                    std::fs::read_to_string(dir.path().join(format!("out/{}.{suffix}", fw.name)))
                        .unwrap_or_else(|e| panic!("{example} {} {platform}: {e}", fw.name));
                for r in p.rules_for(&fw.name) {
                    let term = format!("r{}-", r.id);
                    let found = match platform {
                        "srx" => text.contains(&format!("policy {term}")),
                        "nftables" => text.contains(&format!("chain {term}")),
                        _ => text.contains(&term),
                    };
                    assert!(found, "{example} {}: {platform} lacks {term}", fw.name);
                }
                match platform {
                    // stateful: answers pass on the connection, new connections need a term
                    "nftables" => {
                        assert!(text.contains("ct state established,related accept"));
                        assert!(text.contains("hook forward priority 0; policy drop;"));
                        assert_eq!(
                            text.matches("type filter hook").count(),
                            1,
                            "one base chain"
                        );
                    }
                    "srx" => assert!(text.contains("from-zone "), "{text}"),
                    _ => {}
                }
            }
        }
    }
}

/// Issue 14: XMPP 5269 was `r2` in the plan and `flow 4` in the Windows script; Edge -> Director
/// 5061 was `r38`/`r39` in the plan and `flow 33` in `probe`. One flow is followed through every
/// output: the plan's rule ids appear in the plan views, each firewall target, the Windows script of
/// the receiving server, probe's JSON, the audit JSON of every firewall on the path and the report.
#[test]
fn one_flow_has_the_same_rule_ids_in_plan_targets_windows_probe_audit_and_report() {
    use portplan::probe::{document as probe_doc, prober, targets};
    struct Case {
        example: &'static str,
        port: u16,
        source_role: &'static str,
        destination_role: &'static str,
        probe_from: &'static str,
        windows_host: &'static str,
    }
    let cases = [
        Case {
            example: "reference.toml",
            port: 5269,
            source_role: "any",
            destination_role: "edge.access.vip",
            probe_from: "internet",
            windows_host: "edge01",
        },
        Case {
            example: "dns-director-3edge.toml",
            port: 5061,
            source_role: "edge.internal",
            destination_role: "director",
            probe_from: "edge-b",
            windows_host: "dir1",
        },
    ];
    // `r38` must be a whole word: `r380` or `xr38` do not count
    let words = |text: &str| -> Vec<String> {
        text.split(|c: char| !c.is_ascii_alphanumeric())
            .map(String::from)
            .collect()
    };
    for c in cases {
        let (t, p) = load(c.example);
        let flow = p
            .flows
            .iter()
            .find(|f| {
                f.ports.start == c.port
                    && f.source.role == c.source_role
                    && f.destination.role == c.destination_role
            })
            .unwrap_or_else(|| panic!("{}: no flow {}", c.example, c.port));
        assert!(
            !flow.rules.is_empty(),
            "{}: the flow names its rules",
            c.example
        );
        let tags: Vec<String> = flow.rules.iter().map(|&id| plan::rule_tag(id)).collect();
        let has_all = |what: &str, text: &str| {
            let w = words(text);
            for tag in &tags {
                assert!(w.contains(tag), "{}: {what} lacks {tag}", c.example);
            }
        };
        // the plan, as a table, CSV, Markdown and JSON
        for target in [Target::Table, Target::Csv, Target::Markdown] {
            has_all(
                target.as_str(),
                &render::render(&p, &t, target, &Scope::All).unwrap(),
            );
        }
        let json: serde_json::Value =
            serde_json::from_str(&render::render(&p, &t, Target::Json, &Scope::All).unwrap())
                .unwrap();
        for tag in &tags {
            assert!(
                json["rules"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|r| r["id"] == tag.as_str()),
                "{}: plan JSON lacks {tag}",
                c.example
            );
        }
        // each firewall target
        for target in [
            Target::Nftables,
            Target::Iptables,
            Target::Asa,
            Target::Aerleon,
        ] {
            has_all(
                target.as_str(),
                &render::render(&p, &t, target, &Scope::All).unwrap(),
            );
        }
        // the receiving server's own firewall: the rule for this port names the plan's rules
        let script =
            render::render(&p, &t, Target::Windows, &Scope::Host(c.windows_host.into())).unwrap();
        let line = script
            .lines()
            .find(|l| {
                l.contains("-Direction Inbound") && l.contains(&format!("-LocalPort {} ", c.port))
            })
            .unwrap_or_else(|| panic!("{}: no inbound {} rule", c.windows_host, c.port));
        has_all("windows rule", line);
        let name = line
            .split("-Name '")
            .nth(1)
            .unwrap()
            .split('\'')
            .next()
            .unwrap();
        assert!(name.starts_with("portplan-in-r"), "{name}");
        // probe: every attempt for the flow carries the rule ids of its family, together all of them
        let origin = targets::origin(&t, c.probe_from).unwrap();
        let (list, untestable) = targets::probe_targets(&p, &t, &origin);
        let outcomes: Vec<prober::Outcome> = list
            .into_iter()
            .map(|target| prober::Outcome {
                target,
                verdict: prober::Verdict::Filtered,
                detail: None,
                certificate: None,
                millis: 0,
            })
            .collect();
        let summary = probe_doc::Summary::of(&outcomes, &untestable);
        let probe_doc =
            probe_doc::ProbeDocument::new(c.probe_from, summary, outcomes.clone(), untestable);
        let probe_json = serde_json::to_value(&probe_doc).unwrap();
        let mut seen: Vec<String> = Vec::new();
        for o in probe_json["outcomes"].as_array().unwrap() {
            if o["port"] == c.port
                && flow
                    .destination
                    .members
                    .iter()
                    .any(|m| m.net.addr().to_string() == o["destination"].as_str().unwrap())
            {
                let ids: Vec<&str> = o["rules"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_str().unwrap())
                    .collect();
                assert!(!ids.is_empty(), "{}: a probe without rule ids", c.example);
                seen.extend(ids.iter().map(|s| s.to_string()));
            }
        }
        for tag in &tags {
            assert!(seen.contains(tag), "{}: probe JSON lacks {tag}", c.example);
        }
        has_all(
            "probe matrix",
            &portplan::view::probe::matrix(&outcomes).to_text(),
        );
        // the audit of each firewall on the path, against the configuration portplan wrote
        let mut audits = Vec::new();
        for hop in &flow.path {
            let nft = render::render(
                &p,
                &t,
                Target::Nftables,
                &Scope::Firewall(hop.firewall.clone()),
            )
            .unwrap();
            let config = portplan::audit::parse(portplan::audit::Format::Nftables, &nft).unwrap();
            let audit = portplan::audit::judge::audit(&p, &t, &hop.firewall, &config);
            audits.push(audit);
        }
        for tag in &tags {
            assert!(
                audits.iter().any(|a| {
                    let json = serde_json::to_value(a).unwrap();
                    json["rules"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .any(|r| r["rule"] == tag.as_str())
                }),
                "{}: audit JSON lacks {tag}",
                c.example
            );
        }
        // the report shows the same ids in its rule tables, its audit and its probe sections
        let extras = portplan::report::html::Extras {
            audit: audits.first().cloned(),
            probe: Some(probe_doc),
        };
        let lint = portplan::topology::lint::lint(&t);
        let html = portplan::report::html::report(&t, &p, &lint, &extras);
        let audit_part = html.split("id=\"audit\"").nth(1).unwrap();
        let probe_part = html.split("id=\"probe\"").nth(1).unwrap();
        let first_fw_tags: Vec<&String> = tags
            .iter()
            .filter(|tag| {
                p.rules
                    .iter()
                    .any(|r| &r.tag() == *tag && r.firewall == flow.path[0].firewall)
            })
            .collect();
        for tag in first_fw_tags {
            assert!(words(audit_part).contains(tag), "report audit lacks {tag}");
        }
        has_all("report", &html);
        has_all("report probe section", probe_part);
    }
}

/// The reverse proxy configurations send each published pool where the plan opens the firewall
/// from the reverse proxy: a hardware balanced pool's VIP, never the servers behind it (the
/// firewall would drop those), and the servers of a pool without one.
#[test]
fn reverse_proxy_configs_forward_only_where_the_plan_opens_the_firewall() {
    for example in EXAMPLES {
        let (t, p) = load(example);
        let opened: Vec<String> = p
            .rules
            .iter()
            .filter(|r| r.source.role == "reverse-proxy.internal")
            .flat_map(|r| {
                r.destination
                    .members
                    .iter()
                    .map(move |m| format!("{}:{}", m.net.addr(), r.ports.start))
            })
            .chain(
                // a proxy and a pool in one zone cross no firewall: nothing to agree with
                p.flows
                    .iter()
                    .filter(|f| f.path.is_empty() && f.source.role == "reverse-proxy.internal")
                    .flat_map(|f| {
                        f.destination
                            .members
                            .iter()
                            .map(move |m| format!("{}:{}", m.net.addr(), f.ports.start))
                    }),
            )
            .collect();
        for target in [Target::Nginx, Target::Haproxy] {
            let Ok(files) = render::render_files(&p, &t, target, &Scope::All) else {
                continue;
            };
            for f in files.iter().filter(|f| !f.file.contains("-vip")) {
                for line in f
                    .text
                    .lines()
                    .map(str::trim)
                    .filter(|l| l.starts_with("server ") && !l.ends_with('{'))
                {
                    let addr = line
                        .split_whitespace()
                        .find(|w| w.contains(':') && w.contains('.'))
                        .unwrap_or_else(|| panic!("{example} {}: `{line}`", f.file));
                    let addr = addr.trim_end_matches(';');
                    assert!(
                        opened.iter().any(|o| o == addr),
                        "{example} {}: `{line}` goes where the plan opens nothing",
                        f.file
                    );
                }
            }
        }
    }
}
