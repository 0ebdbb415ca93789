//! The audit's NAT verdicts against the kernel: the edge-single-nat lab with fw-external's generated
//! nftables and iptables rulesets (static NAT: DNAT in, SNAT out) loaded as generated, with NAT
//! lines removed, retargeted or narrowed, with random NAT lines dropped, and (iptables) with nat
//! rules deleted, inserted and flushed by restore commands or replaced by a second `*nat` block. For every planned flow
//! of fw-external portplan's verdict (filter plus translation) must match what real packets do:
//! allowed means the connection works with the plan's addresses on both ends (the client dials the
//! public address, the far end sees the public source); denied means it does not.

use crate::harness::flows::{self, Check, Verdict};
use crate::harness::{Lab, lab_prerequisites};
use crate::{file, files, load};
use portplan::audit::eval::{self, Fate};
use portplan::audit::nat;
use portplan::audit::space::{PROTO_TCP, PROTO_UDP, PacketBox, Region, addr_value};
use portplan::catalog::Transport;
use portplan::render::Target;

const FW: &str = "fw-external";

/// (name, edit of the generated text); the edit must change something.
type Variant = (String, Box<dyn Fn(&str, &str) -> String>);

fn drop_lines(text: &str, mut pred: impl FnMut(&str) -> bool) -> String {
    text.lines()
        .filter(|l| !pred(l))
        .map(|l| format!("{l}\n"))
        .collect()
}

/// An edit of the iptables text alone.
type Edit = fn(&str) -> String;

/// `text` with `lines` added at the end of its `*nat` block.
fn before_nat_commit(text: &str, lines: &str) -> String {
    let Some(nat) = text.find("*nat\n") else {
        return text.to_string();
    };
    let commit = nat + text[nat..].find("COMMIT\n").unwrap_or(text.len() - nat);
    format!("{}{lines}{}", &text[..commit], &text[commit..])
}

fn variants() -> Vec<Variant> {
    let mut v: Vec<Variant> = vec![
        (
            "as generated".into(),
            Box::new(|t: &str, _: &str| t.to_string()),
        ),
        (
            "A/V Edge static NAT lines removed".into(),
            Box::new(|t: &str, _: &str| drop_lines(t, |l| l.contains("static NAT edge01 av"))),
        ),
        (
            "web conferencing DNAT to another address".into(),
            Box::new(|t: &str, _: &str| {
                t.replace("dnat ip to 172.16.10.11", "dnat ip to 172.16.10.99")
                    .replace(
                        "--to-destination 172.16.10.11",
                        "--to-destination 172.16.10.99",
                    )
            }),
        ),
        (
            "access SNAT removed".into(),
            Box::new(|t: &str, _: &str| {
                drop_lines(t, |l| {
                    l.contains("static NAT edge01 access")
                        && (l.contains("snat") || l.contains("SNAT"))
                })
            }),
        ),
        (
            "A/V DNAT for tcp only".into(),
            Box::new(|t: &str, format: &str| {
                if format == "nftables" {
                    t.replace(
                        "ip daddr 203.0.113.12 dnat",
                        "ip daddr 203.0.113.12 meta l4proto tcp dnat",
                    )
                } else {
                    t.replace(
                        "-d 203.0.113.12/32 -m comment",
                        "-d 203.0.113.12/32 -p tcp -m comment",
                    )
                }
            }),
        ),
    ];
    // issue 13: restore commands in the nat table (iptables only; the nft text is left alone)
    let ipt_variants: [(&str, Edit); 5] = [
        ("nat: the A/V DNAT deleted by number", |t| {
            before_nat_commit(t, "-D PREROUTING 3\n")
        }),
        (
            "nat: the A/V DNAT inserted first instead of appended",
            |t| {
                let line = t
                    .lines()
                    .find(|l| l.starts_with("-A PREROUTING") && l.contains("edge01 av"))
                    .unwrap_or_default()
                    .to_string();
                let moved = line.replacen("-A PREROUTING", "-I PREROUTING 1", 1);
                before_nat_commit(&t.replace(&format!("{line}\n"), ""), &format!("{moved}\n"))
            },
        ),
        (
            "nat: a DNAT of web conferencing elsewhere inserted at 2",
            |t| {
                before_nat_commit(
                    t,
                    "-I PREROUTING 2 -i outside -d 203.0.113.11/32 -j DNAT --to-destination 172.16.10.99\n",
                )
            },
        ),
        ("nat: POSTROUTING flushed", |t| {
            before_nat_commit(t, "-F POSTROUTING\n")
        }),
        ("nat: a second *nat block with the access lines only", |t| {
            let mut out = t.to_string();
            out.push_str("*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n");
            for l in t.lines().filter(|l| l.contains("static NAT edge01 access")) {
                out.push_str(l);
                out.push('\n');
            }
            out.push_str("COMMIT\n");
            out
        }),
    ];
    for (name, edit) in ipt_variants {
        v.push((
            name.into(),
            Box::new(move |t: &str, format: &str| {
                if format == "iptables" {
                    edit(t)
                } else {
                    t.to_string()
                }
            }),
        ));
    }
    for seed in 1..=3u64 {
        v.push((
            format!("random NAT lines dropped (seed {seed})"),
            Box::new(move |t: &str, _: &str| {
                let mut rng = crate::common::Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
                drop_lines(t, |l| l.contains("static NAT") && rng.chance(40))
            }),
        ));
    }
    v
}

#[test]
fn nat_verdicts_agree_with_the_kernel() {
    let Some(_guard) = lab_prerequisites(&["nft", "iptables-restore"]) else {
        return;
    };
    let (t, p) = load("edge-single-nat.toml");
    let lab = Lab::build(&t, "ppnatau");
    let fw = lab.firewall_ns(FW).to_string();
    let nft = files(&t, &p, Target::Nftables);
    let ipt = files(&t, &p, Target::Iptables);
    let generated = [
        (
            "nftables",
            file(&nft, "fw-external.nft").unwrap().to_string(),
        ),
        (
            "iptables",
            file(&ipt, "fw-external.iptables").unwrap().to_string(),
        ),
    ];
    let rules: Vec<&portplan::plan::Rule> = p.rules_for(FW).collect();
    let mut flows_checked = 0;
    let mut allowed = 0;
    let mut rulesets = 0;
    let mut disagreements = Vec::new();
    for (format, text) in &generated {
        for (name, edit) in variants() {
            let text = edit(text, format);
            if name != "as generated" && text == *text_of(&generated, format) {
                continue; // a random draw that dropped nothing
            }
            let _ = lab.exec(&fw, &["nft", "flush", "ruleset"]);
            let cmd = if *format == "iptables" {
                "iptables-restore"
            } else {
                "nft -f -"
            };
            let out = lab.exec_stdin(&fw, cmd, &text);
            assert!(
                out.status.success(),
                "{format} {name}: {}\n{text}",
                String::from_utf8_lossy(&out.stderr)
            );
            rulesets += 1;
            let config = portplan::audit::parse(format.parse().unwrap(), &text).unwrap();
            let natc = nat::Check::new(&t, FW, &config);
            let mut checks: Vec<Check> = Vec::new();
            for r in &rules {
                let mid = r.ports.start + (r.ports.end - r.ports.start) / 2;
                for port in [r.ports.start, mid, r.ports.end] {
                    let pick = |g: &portplan::plan::Group| {
                        g.members.iter().find_map(|m| lab.host_in(&g.zone, &m.net))
                    };
                    let (Some((sns, src)), Some((dns, dst))) =
                        (pick(&r.source), pick(&r.destination))
                    else {
                        continue;
                    };
                    let point = Region::of(PacketBox {
                        src: (addr_value(src), addr_value(src)),
                        dst: (addr_value(dst), addr_value(dst)),
                        proto: if r.transport == Transport::Tcp {
                            PROTO_TCP
                        } else {
                            PROTO_UDP
                        },
                        port: (port, port),
                    });
                    let pieces = eval::evaluate(
                        &config,
                        r.family,
                        &r.ingress_interface,
                        &r.egress_interface,
                        point,
                    );
                    let pieces = natc.apply(r, pieces);
                    assert_eq!(pieces.len(), 1, "{format} {name} r{}", r.id);
                    let open = match &pieces[0].fate {
                        Fate::Allowed(_) => true,
                        Fate::Denied(_) => false,
                        Fate::Uncertain(at) => {
                            panic!("{format} {name} r{}: uncertain {at:?}", r.id)
                        }
                    };
                    let c = Check {
                        label: format!(
                            "{format} {name}: r{} {} {}/{port} audit says {}",
                            r.id,
                            r.service,
                            r.transport,
                            if open { "allowed" } else { "denied" }
                        ),
                        src_ns: sns,
                        src,
                        dst_ns: dns,
                        dst,
                        transport: r.transport,
                        port,
                        expect_open: open,
                    };
                    if !checks.iter().any(|x| {
                        (x.src, x.dst, x.transport, x.port) == (c.src, c.dst, c.transport, c.port)
                    }) {
                        checks.push(c);
                    }
                }
            }
            flows_checked += checks.len();
            allowed += checks.iter().filter(|c| c.expect_open).count();
            // a flow the audit denies must not work: dropped, unreachable, refused or answered
            // from the wrong (untranslated) address all count as "does not work"
            for (c, v) in flows::run_all(&lab, &checks) {
                let disagree = c.expect_open || v == Verdict::Open;
                if disagree {
                    disagreements.push(flows::describe(&c, v));
                }
            }
        }
    }
    eprintln!(
        "nat differential: {flows_checked} flows over {rulesets} rulesets with static NAT ({allowed} allowed, {} denied by the audit's verdict), {} disagreements",
        flows_checked - allowed,
        disagreements.len()
    );
    assert!(rulesets >= 10, "{rulesets} rulesets");
    assert!(
        allowed > 50 && flows_checked - allowed > 20,
        "both verdicts are exercised: {allowed} of {flows_checked}"
    );
    assert!(
        disagreements.is_empty(),
        "{}",
        disagreements.join("\n---\n")
    );
}

fn text_of<'a>(generated: &'a [(&str, String)], format: &str) -> &'a String {
    &generated.iter().find(|(f, _)| *f == format).unwrap().1
}
