//! The HTML report: one self-contained file (inline CSS, SVG and a few lines of plain JavaScript; no
//! network fetches) with the summary, the diagram, the lint findings, the rules per firewall and
//! interface pair (sortable and filterable; `#filter=TEXT` in the address filters on load), the
//! catalog reference of every rule, and — when given — audit verdicts and the probe matrix, with
//! what is blocked highlighted. Print CSS makes it a change-request attachment.

use super::diagram;
use crate::audit::judge::{Audit, Status};
use crate::catalog::Catalog;
use crate::plan::Plan;
use crate::plan::{rule_tag, rule_tags_text};
use crate::probe::document::ProbeDocument;
use crate::topology::Topology;
use crate::topology::lint::LintReport;
use crate::view::plan::{HOP_RULE_HEADERS, group_text, hop_rule_cells};
use std::fmt::Write;

/// `s` as HTML text or attribute value. Besides the markup characters, every character an HTML
/// parser rejects or a reader cannot see is written as a visible escape (`\x1b`, `\u{202e}`):
/// control characters (ESC, BEL, NUL, DEL, C1) and noncharacters are parse errors, and the
/// bidirectional overrides and isolates (U+202A-202E, U+2066-2069) would reorder what the
/// report shows. Text from files (descriptions, audit comments, probe details) passes here.
pub(super) fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\n' | '\t' => out.push(c),
            c if (c as u32) < 0x80 && c.is_control() => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if c.is_control()
                || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
                || matches!(c, '\u{fdd0}'..='\u{fdef}')
                || (c as u32) & 0xfffe == 0xfffe =>
            {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

/// Optional inputs from other commands, decoded by [`super::inputs`].
#[derive(Default)]
pub struct Extras {
    /// `portplan audit --format-out json` output.
    pub audit: Option<Audit>,
    /// `portplan probe --format json` output.
    pub probe: Option<ProbeDocument>,
}

const STYLE: &str = r#"
body{font-family:Helvetica,Arial,sans-serif;margin:24px;color:#222;font-size:13px}
h1{font-size:22px;margin:0 0 4px} h2{font-size:17px;margin-top:28px;border-bottom:1px solid #ccc}
h3{font-size:14px;margin:18px 0 6px}
table{border-collapse:collapse;width:100%;margin:6px 0 12px}
th,td{border:1px solid #d5d8dc;padding:3px 6px;text-align:left;vertical-align:top}
th{background:#f4f6f7;cursor:pointer;user-select:none} th.sorted-asc::after{content:" \25B2"} th.sorted-desc::after{content:" \25BC"}
tr.bad td{background:#fdedec} tr.warn td{background:#fef9e7} tr.good td{background:#eafaf1}
.summary td:first-child{font-weight:bold;width:220px}
.diagram{overflow-x:auto;border:1px solid #d5d8dc;padding:6px}
.muted{color:#777} .tag{display:inline-block;padding:0 6px;border-radius:8px;background:#eee;margin-right:4px}
#filterbox{position:sticky;top:0;background:#fff;padding:6px 0;border-bottom:1px solid #eee}
#filter{width:320px;padding:4px}
@media print{#filterbox,.noprint{display:none} body{margin:0} tr{page-break-inside:avoid} .diagram{border:none}}
"#;

const SCRIPT: &str = r#"
(function(){
  var input=document.getElementById('filter');
  var shown=document.getElementById('shown');
  function apply(q){
    q=(q||'').toLowerCase();
    var n=0;
    document.querySelectorAll('table.filterable tbody tr').forEach(function(tr){
      var hit=!q||tr.textContent.toLowerCase().indexOf(q)>=0;
      tr.hidden=!hit; if(hit){n++;}
    });
    shown.textContent=n;
  }
  input.addEventListener('input',function(){apply(input.value);});
  document.querySelectorAll('table.sortable th').forEach(function(th,i){
    th.addEventListener('click',function(){
      var table=th.closest('table'), body=table.tBodies[0];
      var asc=!th.classList.contains('sorted-asc');
      table.querySelectorAll('th').forEach(function(h){h.classList.remove('sorted-asc','sorted-desc');});
      th.classList.add(asc?'sorted-asc':'sorted-desc');
      var col=Array.prototype.indexOf.call(th.parentNode.children,th);
      var rows=Array.prototype.slice.call(body.rows);
      rows.sort(function(a,b){
        var x=a.cells[col].textContent.trim(), y=b.cells[col].textContent.trim();
        var nx=parseFloat(x), ny=parseFloat(y);
        var c=(!isNaN(nx)&&!isNaN(ny))?nx-ny:x.localeCompare(y);
        return asc?c:-c;
      });
      rows.forEach(function(r){body.appendChild(r);});
    });
  });
  var m=/filter=([^&]*)/.exec(location.hash);
  if(m){input.value=decodeURIComponent(m[1]);}
  apply(input.value);
  document.body.setAttribute('data-ready','1');
})();
"#;

fn table_start(s: &mut String, class: &str, headers: &[&str]) {
    let _ = write!(s, "<table class=\"{class}\"><thead><tr>");
    for h in headers {
        let _ = write!(s, "<th>{}</th>", esc(h));
    }
    s.push_str("</tr></thead><tbody>");
}

fn row(s: &mut String, class: &str, cells: &[String]) {
    if class.is_empty() {
        s.push_str("<tr>");
    } else {
        let _ = write!(s, "<tr class=\"{class}\">");
    }
    for c in cells {
        let _ = write!(s, "<td>{}</td>", esc(c));
    }
    s.push_str("</tr>");
}

/// Builds the report.
pub fn report(t: &Topology, p: &Plan, lint: &LintReport, extras: &Extras) -> String {
    let d = diagram::layout(t, p, true);
    let mut s = String::new();
    s.push_str("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">");
    let _ = write!(s, "<title>portplan report: {}</title>", esc(&t.name));
    let _ = write!(
        s,
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><style>{STYLE}</style></head><body>"
    );
    let _ = write!(s, "<h1>Firewall plan for {}</h1>", esc(&t.name));
    if let Some(desc) = &t.description {
        let _ = write!(s, "<p class=\"muted\">{}</p>", esc(desc));
    }
    // summary
    s.push_str("<h2 id=\"summary\">Summary</h2><table class=\"summary\"><tbody>");
    let on: Vec<String> = t.features.iter().map(|f| f.to_string()).collect();
    let off: Vec<String> = crate::catalog::Feature::ALL
        .iter()
        .filter(|f| !t.features.contains(f))
        .map(|f| f.to_string())
        .collect();
    let per_fw: Vec<String> = t
        .firewalls
        .iter()
        .map(|f| format!("{}: {}", f.name, p.rules_for(&f.name).count()))
        .collect();
    let errors = lint
        .findings
        .iter()
        .filter(|f| f.severity == crate::topology::Severity::Error)
        .count();
    for (k, v) in [
        ("Catalog scenarios", p.scenarios.join(", ")),
        ("Features on", on.join(", ")),
        ("Features off", off.join(", ")),
        (
            "Rules",
            format!("{} ({})", p.rules.len(), per_fw.join(", ")),
        ),
        (
            "Flows crossing no firewall",
            p.flows
                .iter()
                .filter(|f| f.path.is_empty() && f.routed)
                .count()
                .to_string(),
        ),
        ("Catalog rows not planned", p.skipped.len().to_string()),
        (
            "Lint",
            format!("{} finding(s), {errors} error(s)", lint.findings.len()),
        ),
        (
            "Generated by",
            format!("portplan {}", env!("CARGO_PKG_VERSION")),
        ),
    ] {
        let _ = write!(s, "<tr><td>{}</td><td>{}</td></tr>", esc(k), esc(&v));
    }
    s.push_str("</tbody></table>");
    // diagram
    s.push_str("<h2 id=\"diagram\">Diagram</h2><div class=\"diagram\">");
    diagram::svg_into(&d, &mut s);
    s.truncate(s.trim_end().len());
    s.push_str("</div>");
    // lint
    s.push_str("<h2 id=\"lint\">Load balancer and topology checks</h2>");
    table_start(
        &mut s,
        "sortable",
        &["severity", "check", "finding", "where"],
    );
    for f in &lint.findings {
        let class = match f.severity {
            crate::topology::Severity::Error => "bad",
            crate::topology::Severity::Warning => "warn",
            crate::topology::Severity::Info => "",
        };
        row(
            &mut s,
            class,
            &[
                f.severity.as_str().into(),
                f.code.into(),
                f.message.clone(),
                f.location().unwrap_or_default(),
            ],
        );
    }
    s.push_str("</tbody></table>");
    // static NAT
    if t.firewalls.iter().any(|f| !f.nat.is_empty()) {
        s.push_str("<h2 id=\"nat\">Static NAT</h2>");
        table_start(
            &mut s,
            "sortable",
            &[
                "firewall",
                "public side",
                "public address",
                "private address",
                "host",
            ],
        );
        for fw in &t.firewalls {
            for n in &fw.nat {
                row(
                    &mut s,
                    "",
                    &[
                        fw.name.clone(),
                        n.interface.clone(),
                        n.public.to_string(),
                        n.private.to_string(),
                        t.address_label(n.private),
                    ],
                );
            }
        }
        s.push_str("</tbody></table>");
    }
    // rules
    s.push_str("<h2 id=\"rules\">Rules</h2><div id=\"filterbox\"><label for=\"filter\">Filter rows: </label><input id=\"filter\" type=\"search\" placeholder=\"port, address, role, catalog row…\"> <span class=\"muted\"><span id=\"shown\">0</span> rows shown</span></div>");
    for fw in &t.firewalls {
        let _ = write!(s, "<h3>{}</h3>", esc(&fw.name));
        let mut pairs: Vec<(String, String)> = Vec::new();
        for r in p.rules_for(&fw.name) {
            let k = (r.ingress_interface.clone(), r.egress_interface.clone());
            if !pairs.contains(&k) {
                pairs.push(k);
            }
        }
        for (i, o) in pairs {
            let _ = write!(
                s,
                "<p class=\"muted\">from interface <b>{}</b> to <b>{}</b></p>",
                esc(&i),
                esc(&o)
            );
            table_start(&mut s, "rules filterable sortable", &HOP_RULE_HEADERS);
            for r in p
                .rules_for(&fw.name)
                .filter(|r| r.ingress_interface == i && r.egress_interface == o)
            {
                row(&mut s, "", &hop_rule_cells(r));
            }
            s.push_str("</tbody></table>");
        }
    }
    let local: Vec<_> = p.flows.iter().filter(|f| f.path.is_empty()).collect();
    if !local.is_empty() {
        s.push_str("<h3>Flows that cross no firewall</h3>");
        table_start(
            &mut s,
            "rules filterable sortable",
            &[
                "zone",
                "source",
                "destination",
                "proto",
                "ports",
                "service",
                "catalog rows",
            ],
        );
        for f in local {
            row(
                &mut s,
                "",
                &[
                    f.source.zone.clone(),
                    group_text(&f.source),
                    group_text(&f.destination),
                    f.transport.to_string(),
                    f.ports.to_string(),
                    f.service.clone(),
                    f.rows_text(),
                ],
            );
        }
        s.push_str("</tbody></table>");
    }
    // catalog reference
    s.push_str("<h2 id=\"catalog\">Catalog reference</h2>");
    table_start(
        &mut s,
        "filterable sortable",
        &[
            "catalog row",
            "service",
            "proto",
            "ports",
            "source",
            "destination",
            "condition",
            "document",
            "why",
        ],
    );
    let used: Vec<String> = p
        .rules
        .iter()
        .flat_map(|r| r.rows.iter().map(|x| x.to_string()))
        .chain(
            p.flows
                .iter()
                .flat_map(|f| f.rows.iter().map(|x| x.to_string())),
        )
        .collect();
    for (id, r) in Catalog::builtin().rows_with_ids() {
        if !used.contains(&id.to_string()) {
            continue;
        }
        row(
            &mut s,
            "",
            &[
                id.to_string(),
                r.service.clone(),
                r.transport.to_string(),
                r.ports.to_string(),
                r.source.to_string(),
                r.destination.to_string(),
                r.condition.map(|c| c.to_string()).unwrap_or_default(),
                r.reference.clone(),
                r.explanation(),
            ],
        );
    }
    s.push_str("</tbody></table>");
    if !p.skipped.is_empty() {
        s.push_str("<h3>Catalog rows not planned</h3>");
        table_start(
            &mut s,
            "filterable sortable",
            &["catalog row", "service", "proto", "ports", "why not"],
        );
        for k in &p.skipped {
            row(
                &mut s,
                "",
                &[
                    k.row.to_string(),
                    k.service.clone(),
                    k.transport.to_string(),
                    k.ports.to_string(),
                    k.reason.clone(),
                ],
            );
        }
        s.push_str("</tbody></table>");
    }
    if let Some(a) = &extras.audit {
        audit_section(&mut s, a);
    }
    if let Some(pr) = &extras.probe {
        probe_section(&mut s, pr);
    }
    let _ = writeln!(s, "<script>{SCRIPT}</script></body></html>");
    s
}

fn audit_section(s: &mut String, a: &Audit) {
    let _ = write!(
        s,
        "<h2 id=\"audit\">Audit of {} ({})</h2>",
        esc(&a.firewall),
        esc(&a.format)
    );
    let _ = write!(
        s,
        "<p><span class=\"tag\">{} allowed</span><span class=\"tag\">{} partial</span><span class=\"tag\">{} blocked</span><span class=\"tag\">{} uncertain</span></p>",
        a.count(Status::Allowed),
        a.count(Status::Partial),
        a.count(Status::Blocked),
        a.count(Status::Uncertain)
    );
    table_start(
        s,
        "filterable sortable",
        &[
            "rule",
            "catalog rows",
            "in → out",
            "proto",
            "ports",
            "status",
            "details",
        ],
    );
    for r in &a.rules {
        let class = match r.status {
            Status::Allowed => "good",
            Status::Partial | Status::Uncertain => "warn",
            Status::Blocked => "bad",
        };
        let details: Vec<String> = r
            .parts
            .iter()
            .map(|p| {
                let by: Vec<&str> = p.by.iter().map(|l| l.text.as_str()).collect();
                format!("{}: {} [{}]", p.verdict, p.what.join("; "), by.join("; "))
            })
            .collect();
        row(
            s,
            class,
            &[
                rule_tag(r.rule),
                r.rows.clone(),
                format!("{} → {}", r.ingress, r.egress),
                r.transport.to_string(),
                r.ports.clone(),
                r.status.as_str().into(),
                details.join(" | "),
            ],
        );
    }
    s.push_str("</tbody></table>");
    if !a.overexposure.is_empty() {
        s.push_str("<h3>Allowed beyond the plan</h3>");
        table_start(
            s,
            "filterable sortable",
            &["in → out", "family", "certain", "by", "what"],
        );
        for e in &a.overexposure {
            row(
                s,
                "bad",
                &[
                    format!("{} → {}", e.ingress, e.egress),
                    e.family.to_string(),
                    e.certain.to_string(),
                    e.by.text.clone(),
                    e.what.join("; "),
                ],
            );
        }
        s.push_str("</tbody></table>");
    }
}

fn probe_section(s: &mut String, pr: &ProbeDocument) {
    let _ = write!(s, "<h2 id=\"probe\">Probe from {}</h2>", esc(&pr.from));
    let sum = &pr.summary;
    let _ = write!(
        s,
        "<p><span class=\"tag\">{} probes</span><span class=\"tag\">{} passed</span><span class=\"tag\">{} filtered</span><span class=\"tag\">{} refused</span><span class=\"tag\">{} silent</span><span class=\"tag\">{} unreachable</span><span class=\"tag\">{} errors</span><span class=\"tag\">{} flows with nothing concrete to probe</span></p>",
        sum.probes,
        sum.passed,
        sum.filtered,
        sum.refused,
        sum.silent,
        sum.unreachable,
        sum.errors,
        sum.untestable
    );
    table_start(
        s,
        "filterable sortable",
        &[
            "rules",
            "catalog rows",
            "to",
            "proto",
            "port",
            "verdict",
            "detail",
        ],
    );
    for o in &pr.outcomes {
        let t = &o.target;
        let class = if o.verdict.passed() { "good" } else { "bad" };
        row(
            s,
            class,
            &[
                if t.rules.is_empty() {
                    "no firewall rule".into()
                } else {
                    rule_tags_text(&t.rules)
                },
                t.rows.clone(),
                format!("{} {}", t.destination_host, t.destination),
                t.transport.to_string(),
                t.port.to_string(),
                o.verdict.as_str().into(),
                o.detail.clone().unwrap_or_default(),
            ],
        );
    }
    s.push_str("</tbody></table>");
}

#[cfg(test)]
mod esc_tests {
    use super::esc;

    #[test]
    fn control_characters_and_bidi_overrides_are_written_as_visible_escapes() {
        assert_eq!(esc("a<b>&\"c"), "a&lt;b&gt;&amp;&quot;c");
        assert_eq!(esc("x\u{1b}[31my\u{7}"), "x\\x1b[31my\\x07");
        assert_eq!(esc("\u{0}\u{7f}\u{9b}"), "\\x00\\x7f\\u{9b}");
        assert_eq!(esc("ab\u{202e}cd\u{2066}"), "ab\\u{202e}cd\\u{2066}");
        assert_eq!(esc("\u{fffe}\u{fdd0}"), "\\u{fffe}\\u{fdd0}");
        assert_eq!(esc("line\nnext\ttab é"), "line\nnext\ttab é");
    }
}
