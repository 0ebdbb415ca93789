//! Mutations of valid nft rulesets against real `nft -f`: every file nft refuses (the kernel
//! then keeps its old ruleset, so nothing about the file's rules is known) must get no definite
//! verdict from the audit. The valid inputs are the nft fixtures of the audit tests and the
//! rendered `nftables` output of every example; each is mutated by small edits of the kinds
//! users make (a quoted name, a lost `;`, a policy in a regular chain, an unknown hook or
//! priority, a jump to a chain that is not there, an element of the wrong type, ...). A mutant
//! nft accepts may get any verdict (other tests check those against packets); a mutant nft
//! refuses must leave every planned rule `uncertain`.

use crate::harness::lab_prerequisites;
use crate::{ScratchNs, common, files, load};
use portplan::audit::{self, Format, judge};
use portplan::render::Target;
use portplan::topology::Topology;

/// The valid inputs: (label, text).
fn bases() -> Vec<(String, String)> {
    let mut out = Vec::new();
    let root = common::repo().join("tests/fixtures/audit");
    let mut paths = Vec::new();
    let mut dirs = vec![root];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                dirs.push(p);
            } else if p.extension().is_some_and(|x| x == "nft") {
                paths.push(p);
            }
        }
    }
    paths.sort();
    for p in paths {
        let label = p.file_name().unwrap().to_string_lossy().into_owned();
        out.push((label, common::read(&p)));
    }
    for example in common::all_examples() {
        let (t, p) = load(example);
        for a in files(&t, &p, Target::Nftables) {
            out.push((format!("{example}/{}", a.file), a.text));
        }
    }
    out
}

/// The word after `word ` in `line` (up to whitespace, `;` or `{`).
fn after<'a>(line: &'a str, word: &str) -> Option<(usize, &'a str)> {
    let mut from = 0;
    while let Some(p) = line[from..].find(word) {
        let at = from + p;
        let before_ok = at == 0 || line[..at].ends_with([' ', '\t', '{', ';']);
        let start = at + word.len();
        if before_ok && line[start..].starts_with(' ') {
            let rest = &line[start + 1..];
            let end = rest
                .find([' ', ';', '{', '}', '\t', '\n', '\r'])
                .unwrap_or(rest.len());
            if end > 0 {
                return Some((start + 1, &rest[..end]));
            }
        }
        from = start;
    }
    None
}

/// Replaces the first occurrence of `from` by `to` (on a line for which `keep` holds).
fn replace_first(text: &str, from: &str, to: &str, keep: impl Fn(&str) -> bool) -> Option<String> {
    let mut out = String::with_capacity(text.len() + 32);
    let mut done = false;
    for line in text.split_inclusive('\n') {
        if !done && keep(line) && line.contains(from) {
            out.push_str(&line.replacen(from, to, 1));
            done = true;
        } else {
            out.push_str(line);
        }
    }
    done.then_some(out)
}

/// Rewrites the word after the first `word ` (on a line for which `keep` holds).
fn rewrite_after(
    text: &str,
    word: &str,
    keep: impl Fn(&str) -> bool,
    f: impl Fn(&str) -> Option<String>,
) -> Option<String> {
    let mut out = String::with_capacity(text.len() + 32);
    let mut done = false;
    for line in text.split_inclusive('\n') {
        if !done
            && keep(line)
            && let Some((at, w)) = after(line, word)
            && let Some(new) = f(w)
        {
            out.push_str(&line[..at]);
            out.push_str(&new);
            out.push_str(&line[at + w.len()..]);
            done = true;
        } else {
            out.push_str(line);
        }
    }
    done.then_some(out)
}

fn is_base_line(line: &str) -> bool {
    line.contains(" hook ")
}

/// The chain names declared in the text, base chains first.
fn chain_names(text: &str) -> (Vec<String>, Vec<String>) {
    let (mut base, mut regular) = (Vec::new(), Vec::new());
    let lines: Vec<&str> = text.lines().collect();
    for (i, line) in lines.iter().enumerate() {
        if let Some((_, name)) = after(line, "chain") {
            // the header is on this line (one-line layout) or on the next one
            let hooked = is_base_line(line) || lines.get(i + 1).is_some_and(|l| is_base_line(l));
            let name = name.trim_matches('"').to_string();
            if hooked {
                base.push(name);
            } else {
                regular.push(name);
            }
        }
    }
    (base, regular)
}

/// The mutants of one valid ruleset: (mutation, text). Mutations that do not apply are left out.
fn mutants(text: &str) -> Vec<(&'static str, String)> {
    let mut out: Vec<(&'static str, Option<String>)> = Vec::new();
    let any = |_: &str| true;
    let (base, regular) = chain_names(text);
    let quote = |w: &str| (!w.starts_with('"')).then(|| format!("\"{w}\""));
    out.push((
        "quoted chain name",
        rewrite_after(text, "chain", any, quote),
    ));
    out.push((
        "quoted jump target",
        rewrite_after(text, "jump", any, quote),
    ));
    out.push((
        "quoted goto target",
        rewrite_after(text, "goto", any, quote),
    ));
    out.push(("quoted table name", {
        let fam = |w: &str| matches!(w, "ip" | "ip6" | "inet" | "netdev" | "bridge" | "arp");
        let mut t = None;
        for f in ["inet", "ip", "ip6", "netdev"] {
            t = rewrite_after(text, &format!("table {f}"), any, |w| {
                (!fam(w) && !w.starts_with('"')).then(|| format!("\"{w}\""))
            });
            if t.is_some() {
                break;
            }
        }
        t
    }));
    out.push((
        "`;` dropped after the priority",
        rewrite_after(
            text,
            "priority",
            |l| l.contains("policy"),
            |w| Some(w.to_string()),
        )
        .and_then(|_| {
            let mut done = false;
            let mut s = String::new();
            for line in text.split_inclusive('\n') {
                if !done
                    && is_base_line(line)
                    && line.contains("policy")
                    && let Some((at, w)) = after(line, "priority")
                    && line[at + w.len()..].starts_with(';')
                {
                    s.push_str(&line[..at + w.len()]);
                    s.push_str(&line[at + w.len() + 1..]);
                    done = true;
                } else {
                    s.push_str(line);
                }
            }
            done.then_some(s)
        }),
    ));
    out.push((
        "`type` word dropped",
        replace_first(text, "type filter hook", "filter hook", any),
    ));
    out.push(("chain type and hook dropped, policy kept", {
        // `type filter hook forward priority 0;` removed, `policy drop;` stays
        let mut done = false;
        let mut s = String::new();
        for line in text.split_inclusive('\n') {
            if !done && let Some(p) = line.find("type filter hook forward") {
                let end = line[p..].find(';').map(|e| p + e + 1);
                if let Some(e) = end {
                    s.push_str(&line[..p]);
                    s.push_str(&line[e..]);
                    done = true;
                    continue;
                }
            }
            s.push_str(line);
        }
        (done && s.contains("policy")).then_some(s)
    }));
    out.push(("policy in a regular chain", {
        regular.first().and_then(|name| {
            replace_first(
                text,
                &format!("chain {name} {{"),
                &format!("chain {name} {{ policy drop;"),
                any,
            )
        })
    }));
    out.push((
        "policy before the chain type",
        replace_first(
            text,
            "type filter hook",
            "policy drop; type filter hook",
            any,
        ),
    ));
    out.push((
        "unknown hook",
        replace_first(text, "hook forward", "hook forwarding", any),
    ));
    out.push((
        "ingress hook without a device",
        replace_first(text, "hook forward", "hook ingress", |l| {
            !l.contains("device")
        }),
    ));
    out.push((
        "unknown priority word",
        rewrite_after(text, "priority", is_base_line, |w| {
            Some(if w.parse::<i64>().is_ok() {
                "filtre".to_string()
            } else {
                format!("{w}x")
            })
        }),
    ));
    out.push((
        "priority dstnat on the forward hook",
        rewrite_after(
            text,
            "priority",
            |l| l.contains("hook forward"),
            |_| Some("dstnat".into()),
        ),
    ));
    out.push((
        "priority out outside bridge",
        rewrite_after(text, "priority", is_base_line, |_| Some("out".into())),
    ));
    out.push((
        "priority offset without a number",
        rewrite_after(text, "priority", is_base_line, |w| Some(format!("{w} +"))),
    ));
    out.push(("nat type on the forward hook", {
        replace_first(
            text,
            "type filter hook forward",
            "type nat hook forward",
            any,
        )
    }));
    out.push(("route type on the forward hook", {
        replace_first(
            text,
            "type filter hook forward",
            "type route hook forward",
            any,
        )
    }));
    out.push(("device on the forward hook", {
        replace_first(
            text,
            "hook forward priority",
            "hook forward device \"lo\" priority",
            any,
        )
    }));
    out.push(("rule before the chain type", {
        // the line after a multi-line header moved above it
        let lines: Vec<&str> = text.split_inclusive('\n').collect();
        let at = lines.iter().position(|l| {
            l.trim_start().starts_with("type filter hook") && !l.contains('{') && !l.contains('}')
        });
        at.and_then(|i| {
            let next = lines.get(i + 1)?;
            let t = next.trim();
            if t.is_empty() || t.starts_with('}') || t.starts_with("policy") {
                return None;
            }
            let mut v = lines.clone();
            v.swap(i, i + 1);
            Some(v.concat())
        })
    }));
    out.push(("base chain declared again with another hook", {
        base.first().and_then(|name| {
            replace_first(
                text,
                &format!("chain {name} {{"),
                &format!("chain {name} {{ type filter hook input priority 0; }}\n chain {name} {{"),
                any,
            )
        })
    }));
    out.push(("jump to an undefined chain", {
        rewrite_after(text, "jump", any, |w| Some(format!("{w}_missing")))
    }));
    out.push(("goto to an undefined chain", {
        rewrite_after(text, "goto", any, |w| Some(format!("{w}_missing")))
    }));
    out.push(("jump to a base chain", {
        base.first()
            .and_then(|b| rewrite_after(text, "jump", any, |_| Some(b.clone())))
    }));
    out.push(("goto to a base chain", {
        base.first()
            .and_then(|b| rewrite_after(text, "jump", any, |_| Some(b.clone())))
            .map(|t| {
                t.replacen(
                    &format!("jump {}", base[0]),
                    &format!("goto {}", base[0]),
                    1,
                )
            })
    }));
    out.push(("a regular chain jumps to a base chain", {
        match (regular.first(), base.first()) {
            (Some(r), Some(b)) => replace_first(
                text,
                &format!("chain {r} {{"),
                &format!("chain {r} {{\n  jump {b}"),
                any,
            ),
            _ => None,
        }
    }));
    out.push(("reference to an undefined set", {
        replace_first(text, " @", " @missing_", any)
    }));
    out.push(("port name that does not exist", {
        rewrite_after(text, "dport", any, |w| {
            w.chars().next()?.is_ascii_digit().then(|| "webz".into())
        })
    }));
    out.push(("port out of range", {
        rewrite_after(text, "dport", any, |w| {
            w.chars().next()?.is_ascii_digit().then(|| "70000".into())
        })
    }));
    out.push(("port in a set out of range", {
        replace_first(text, "dport { ", "dport { 70000, ", any)
    }));
    out.push(("address out of range", {
        rewrite_after(text, "daddr", any, |w| {
            (w.contains('.') && w.starts_with(|c: char| c.is_ascii_digit()))
                .then(|| "203.0.113.300".into())
        })
    }));
    out.push(("prefix too long", {
        rewrite_after(text, "daddr", any, |w| {
            let (a, _) = w.split_once('/')?;
            (a.contains('.')).then(|| format!("{a}/33"))
        })
    }));
    out.push(("IPv6 address in an ip match", {
        rewrite_after(text, "ip daddr", any, |w| {
            w.starts_with(|c: char| c.is_ascii_digit())
                .then(|| "2001:db8::1".into())
        })
    }));
    out.push(("IPv4 address in an ip6 match", {
        rewrite_after(text, "ip6 daddr", any, |w| {
            w.starts_with(|c: char| c.is_ascii_hexdigit())
                .then(|| "192.0.2.1".into())
        })
    }));
    out.push(("set element of the wrong type", {
        replace_first(text, "elements = { ", "elements = { tcp, ", any)
    }));
    out.push(("interface name too long", {
        rewrite_after(text, "iifname", any, |w| {
            w.starts_with('"').then(|| "\"abcdefghijklmnopq\"".into())
        })
    }));
    out.push(("misspelt conntrack state", {
        replace_first(text, "established", "establised", any)
    }));
    out.push(("misspelt verdict", {
        replace_first(text, " accept\n", " acept\n", |l| !l.contains("policy"))
    }));
    out.push((
        "misspelt policy",
        replace_first(text, "policy drop", "policy reject", any),
    ));
    out.push((
        "unknown family",
        replace_first(text, "table inet ", "table inte ", any),
    ));
    out.push(("missing closing brace", {
        text.rfind('}')
            .map(|p| format!("{}{}", &text[..p], &text[p + 1..]))
    }));
    out.push(("extra closing brace", Some(format!("{text}}}\n"))));
    out.push(("unbalanced quote", {
        rewrite_after(text, "iifname", any, |w| {
            w.starts_with('"')
                .then(|| w.trim_end_matches('"').to_string())
        })
    }));
    out.push(("unknown statement", {
        replace_first(text, " counter", " countr", any)
    }));
    out.push(("statement starting with `_`", {
        replace_first(text, " counter", " _counter", any)
    }));
    out.push(("word glued to the next rule", {
        rewrite_after(text, "jump", any, |w| Some(format!("{w}\n_{w}")))
    }));
    // edits nft accepts: the audit must not call them refused
    out.push((
        "(valid) priority with an offset",
        rewrite_after(text, "priority", is_base_line, |w| {
            (w.parse::<i64>().is_err() && !w.contains('+')).then(|| format!("{w} + 5"))
        }),
    ));
    out.push((
        "(valid) counter before a verdict",
        replace_first(text, " accept\n", " counter accept\n", |l| {
            !l.contains("policy") && !l.contains("counter")
        }),
    ));
    out.push((
        "(valid) comment after a verdict",
        replace_first(text, " accept\n", " accept comment \"m\"\n", |l| {
            !l.contains("policy") && !l.contains("comment")
        }),
    ));
    out.push((
        "(valid) conntrack states as a set",
        replace_first(text, "established,related", "{ established, related }", any),
    ));
    out.push(("(valid) policy set in a later block", {
        let header = text.lines().find_map(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            match w.as_slice() {
                ["table", f, n] | ["table", f, n, "{"] => Some(format!("table {f} {n}")),
                _ => None,
            }
        });
        match (header, base.first()) {
            (Some(h), Some(b)) => Some(format!(
                "{text}{h} {{\n chain {b} {{\n  policy accept;\n }}\n}}\n"
            )),
            _ => None,
        }
    }));
    out.into_iter()
        .filter_map(|(m, t)| t.filter(|t| t != text).map(|t| (m, t)))
        .collect()
}

/// Whether nft refuses to load the text into the (emptied) scratch namespace, and its message.
/// The file is really loaded, not only checked: `nft -c` stops before the kernel's final
/// validation and lets jump loops ("Too many links") pass.
fn nft_refuses(ns: &str, dir: &std::path::Path, text: &str) -> Option<String> {
    let path = dir.join("m.nft");
    std::fs::write(&path, text).unwrap();
    let flushed = std::process::Command::new("ip")
        .args(["netns", "exec", ns, "nft", "flush", "ruleset"])
        .status()
        .unwrap();
    assert!(flushed.success(), "nft flush ruleset in {ns}");
    let out = std::process::Command::new("ip")
        .args(["netns", "exec", ns, "nft", "-f"])
        .arg(&path)
        .output()
        .unwrap();
    (!out.status.success()).then(|| {
        String::from_utf8_lossy(&out.stderr)
            .lines()
            .next()
            .unwrap_or("")
            .to_string()
    })
}

/// The audit's definite verdicts on the text (planned rules not `uncertain`), none when it
/// refuses the file.
fn definite(topology: &Topology, plan: &portplan::plan::Plan, text: &str) -> Vec<String> {
    let Ok(config) = audit::parse(Format::Nftables, text) else {
        return Vec::new();
    };
    let a = judge::audit(plan, topology, "fw-external", &config);
    a.rules
        .iter()
        .filter(|r| r.status != judge::Status::Uncertain)
        .map(|r| format!("r{} {}", r.rule, r.status.as_str()))
        .collect()
}

#[test]
fn nft_refused_mutants_of_valid_rulesets_get_no_definite_verdict() {
    let Some(_guard) = lab_prerequisites(&["nft"]) else {
        return;
    };
    let ns = ScratchNs::new("ppnftref");
    let dir = tempfile::tempdir().unwrap();
    let topology = Topology::reference();
    let plan = portplan::plan::compile(&topology);
    let (mut valid, mut total, mut refused, mut agreed) = (0, 0, 0, 0);
    let mut wrong = Vec::new();
    let mut per_kind: std::collections::BTreeMap<&str, (usize, usize)> = Default::default();
    // the other way round: a file nft loads must not be called refused
    let mut false_refusals = Vec::new();
    let mut claims_refusal = |label: &str, kind: &str, text: &str| {
        if let Ok(config) = audit::parse(Format::Nftables, text)
            && let Some(u) = config
                .unparsed
                .iter()
                .find(|u| u.why.contains("nft refuses"))
        {
            false_refusals.push(format!("{label}: {kind}: line {}: {}", u.line, u.why));
        }
    };
    for (label, text) in bases() {
        // a fixture nft itself refuses (several are kept for that) is no valid start
        if nft_refuses("ppnftref", dir.path(), &text).is_some() {
            continue;
        }
        valid += 1;
        claims_refusal(&label, "as written", &text);
        for (kind, m) in mutants(&text) {
            total += 1;
            let e = per_kind.entry(kind).or_default();
            e.0 += 1;
            let Some(why) = nft_refuses("ppnftref", dir.path(), &m) else {
                claims_refusal(&label, kind, &m);
                continue;
            };
            refused += 1;
            e.1 += 1;
            let d = definite(&topology, &plan, &m);
            if d.is_empty() {
                agreed += 1;
            } else {
                wrong.push(format!(
                    "{label}: {kind}: nft says `{why}`; audit: {}",
                    d.join(" ")
                ));
            }
        }
    }
    drop(ns);
    eprintln!(
        "{valid} valid rulesets, {total} mutants, {refused} refused by nft, {agreed} of those without a definite verdict"
    );
    for (k, (n, r)) in &per_kind {
        eprintln!("  {k}: {n} mutants, {r} refused");
    }
    assert!(valid >= 20, "only {valid} valid rulesets");
    assert!(refused >= 200, "only {refused} refused mutants");
    assert!(
        wrong.is_empty() && false_refusals.is_empty(),
        "{} refused mutants got a definite verdict:\n{}\n{} files nft loads were called refused:\n{}",
        wrong.len(),
        wrong.join("\n"),
        false_refusals.len(),
        false_refusals.join("\n")
    );
}
