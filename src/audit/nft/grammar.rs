//! Recursive-descent reader of the nft text language into the typed statement model
//! ([`super::ast`]): `table` blocks with chains, sets and maps, and the command style
//! (`add table`, `add chain`, `add rule`, `insert rule`, `add element`, `add set`). Anything it
//! cannot place becomes an unparsed line; it never fails.

use super::ast::*;
use super::lexer::{T, Tok};
use crate::audit::model::{Action, Location, NatKind, Unparsed};
use crate::plan::Family;

/// Deepest brace nesting read; deeper input is skipped as unparsed.
const MAX_DEPTH: usize = 64;

/// Words nft's scanner reads as keywords, which it therefore refuses as the name of a table,
/// chain, set or map, or as a jump target (`chain accept {` and `jump drop` are syntax errors, and
/// nft then loads nothing of the file). Found by giving each word of nft(8) and of libnftables'
/// strings to `nft -c -f` (nft 1.0.6) as a chain name; newer nft versions accept some of these in
/// places, so a name from this list makes the file "refused" (every verdict uncertain), never a
/// definite verdict either way.
const NFT_KEYWORDS: &[&str] = &[
    "accept",
    "add",
    "ah",
    "all",
    "and",
    "arp",
    "bridge",
    "cgroup",
    "chain",
    "comment",
    "comp",
    "constant",
    "continue",
    "counter",
    "cpu",
    "create",
    "ct",
    "day",
    "dccp",
    "define",
    "delete",
    "describe",
    "device",
    "devices",
    "dnat",
    "drop",
    "dst",
    "dup",
    "dynamic",
    "ecn",
    "element",
    "elements",
    "esp",
    "ether",
    "exists",
    "expires",
    "export",
    "exthdr",
    "fib",
    "flags",
    "flow",
    "flowtable",
    "flush",
    "frag",
    "fwd",
    "get",
    "goto",
    "handle",
    "hbh",
    "hook",
    "hour",
    "ibriport",
    "ibrname",
    "icmp",
    "icmpv6",
    "igmp",
    "iif",
    "iifgroup",
    "iifname",
    "iiftype",
    "import",
    "include",
    "index",
    "inet",
    "insert",
    "interval",
    "ip",
    "ip6",
    "ipsec",
    "jhash",
    "jump",
    "limit",
    "list",
    "log",
    "lt",
    "map",
    "mark",
    "masquerade",
    "meta",
    "meter",
    "mh",
    "missing",
    "monitor",
    "netdev",
    "nftrace",
    "not",
    "notrack",
    "numgen",
    "obriport",
    "obrname",
    "offload",
    "oif",
    "oifgroup",
    "oifname",
    "oiftype",
    "or",
    "osf",
    "pkttype",
    "policy",
    "position",
    "priority",
    "queue",
    "quota",
    "random",
    "redefine",
    "redirect",
    "reject",
    "rename",
    "replace",
    "reset",
    "return",
    "rt",
    "rt0",
    "rt2",
    "rtclassid",
    "rule",
    "ruleset",
    "sctp",
    "secmark",
    "set",
    "size",
    "skgid",
    "skuid",
    "snat",
    "socket",
    "srh",
    "symhash",
    "synproxy",
    "table",
    "tcp",
    "th",
    "time",
    "timeout",
    "tproxy",
    "type",
    "typeof",
    "udp",
    "udplite",
    "undefine",
    "update",
    "vlan",
    "vmap",
    "xt",
];

/// Whether nft's scanner reads `w` as a keyword (so it cannot name a chain, set, map or table).
pub(crate) fn is_nft_keyword(w: &str) -> bool {
    NFT_KEYWORDS.binary_search(&w).is_ok()
}

pub(crate) struct Parser<'a> {
    toks: &'a [Tok],
    i: usize,
    pub rs: Ruleset,
}

impl<'a> Parser<'a> {
    pub fn new(toks: &'a [Tok]) -> Parser<'a> {
        Parser {
            toks,
            i: 0,
            rs: Ruleset::default(),
        }
    }

    fn peek(&self) -> Option<&'a Tok> {
        self.toks.get(self.i)
    }
    fn peek_word(&self) -> Option<&'a str> {
        self.peek().and_then(|t| t.word())
    }
    fn skip_separators(&mut self) {
        while let Some(t) = self.peek() {
            if matches!(t.t, T::Nl | T::Punct(';')) {
                self.i += 1;
            } else {
                break;
            }
        }
    }
    /// The tokens of one statement: up to a newline or `;` outside braces, or an unmatched `}`.
    fn statement(&mut self) -> &'a [Tok] {
        let start = self.i;
        let mut depth = 0usize;
        while let Some(t) = self.peek() {
            match t.t {
                T::Punct('{') => depth += 1,
                T::Punct('}') if depth == 0 => break,
                T::Punct('}') => depth -= 1,
                T::Nl | T::Punct(';') if depth == 0 => break,
                _ => {}
            }
            self.i += 1;
        }
        &self.toks[start..self.i]
    }
    /// A name (table, chain, set, map) nft's scanner would read as a keyword, or a quoted name
    /// (nft 1.0.6 wants a bare word there: "unexpected quoted string"): the file is refused.
    fn refuse_keyword_name(&mut self, at: usize, what: &str) {
        let Some(tok) = self.toks.get(at) else { return };
        let why = match &tok.t {
            T::Word(w) if is_nft_keyword(w) => {
                format!("`{w}` is an nft keyword and cannot name a {what}: nft refuses the file")
            }
            T::Str(w) => format!(
                "the {what} name \"{w}\" is quoted (nft wants a bare name there): nft refuses the file"
            ),
            _ => return,
        };
        self.rs.unparsed.push(Unparsed {
            line: tok.line,
            text: text_of(std::slice::from_ref(tok)),
            why,
        });
    }
    /// Records a construct `nft -f` refuses (the file then loads nothing).
    fn refuse(&mut self, line: usize, text: String, why: String) {
        self.rs.unparsed.push(Unparsed {
            line,
            text,
            why: format!("{why}: nft refuses the file"),
        });
    }
    /// The input ended inside a `{ }` block.
    fn refuse_unclosed(&mut self, what: &str) {
        let line = self.toks.last().map_or(1, |t| t.line);
        self.refuse(
            line,
            String::new(),
            format!("the file ends inside a {what} block"),
        );
    }
    /// The `}` at the cursor closes a block: nft wants the last statement before it ended by a
    /// newline or `;` (`drop }`, `} }` on one line are syntax errors, and the file is refused).
    /// In a set or map block the `}` may also follow the `}` of its elements.
    fn check_close(&mut self, set_block: bool) {
        let Some(prev) = self.i.checked_sub(1).and_then(|p| self.toks.get(p)) else {
            return;
        };
        let ok = match &prev.t {
            T::Nl | T::Punct('{') | T::Punct(';') => true,
            T::Punct('}') => set_block,
            _ => false,
        };
        if !ok {
            let line = self.toks.get(self.i).map_or(prev.line, |t| t.line);
            self.rs.unparsed.push(Unparsed {
                line,
                text: format!("{} }}", text_of(std::slice::from_ref(prev))),
                why: "a `}` right after a statement (nft wants a newline or `;` before it): nft refuses the file".into(),
            });
        }
    }
    fn unparsed(&mut self, toks: &[Tok], why: &str) {
        if let Some(first) = toks.first() {
            self.rs.unparsed.push(Unparsed {
                line: first.line,
                text: text_of(toks),
                why: why.into(),
            });
        }
    }

    /// Reads the whole token stream.
    pub fn run(mut self) -> Ruleset {
        loop {
            self.skip_separators();
            let Some(tok) = self.peek() else { break };
            if tok.is('}') {
                self.unparsed(std::slice::from_ref(tok), "unmatched `}`");
                self.i += 1;
                continue;
            }
            match tok.word() {
                Some("table") if matches!(tok.t, T::Word(_)) => {
                    self.i += 1;
                    self.table_block();
                }
                Some("add") | Some("create") | Some("insert") | Some("replace")
                    if matches!(tok.t, T::Word(_)) =>
                {
                    let verb = tok.word().unwrap_or("").to_string();
                    self.i += 1;
                    self.command(&verb);
                }
                Some("include") => {
                    let s = self.statement();
                    self.rs.notes.push(format!(
                        "line {}: `{}` was not followed; what it loads is unknown",
                        s[0].line,
                        text_of(s)
                    ));
                    self.unparsed(s, "include is not followed");
                }
                Some("flush") | Some("delete") | Some("destroy") => {
                    let s = self.statement();
                    if text_of(s) == "flush ruleset" {
                        continue;
                    }
                    // `delete table X` in a script (the load-and-replace idiom: declare, delete,
                    // define) removes everything read for X so far
                    let words: Vec<String> = s
                        .iter()
                        .filter_map(|t| t.word())
                        .map(String::from)
                        .collect();
                    let target = match words.iter().map(String::as_str).collect::<Vec<_>>()[..] {
                        [verb @ ("delete" | "destroy" | "flush"), "table", f, n]
                            if is_family(f) =>
                        {
                            Some((verb.to_string(), f.to_string(), n.to_string()))
                        }
                        [verb @ ("delete" | "destroy" | "flush"), "table", n] => {
                            Some((verb.to_string(), "ip".to_string(), n.to_string()))
                        }
                        _ => None,
                    };
                    if let Some((verb, family, name)) = target {
                        let at = self
                            .rs
                            .tables
                            .iter()
                            .position(|t| t.family == family && t.name == name);
                        match (verb.as_str(), at) {
                            // `flush table` empties every chain (policies and sets stay)
                            ("flush", Some(i)) => {
                                for c in &mut self.rs.tables[i].chains {
                                    c.rules.clear();
                                }
                            }
                            ("delete" | "destroy", Some(i)) => {
                                self.rs.tables.remove(i);
                            }
                            // `destroy` of a table that is not there does nothing
                            ("destroy", None) => {}
                            // nft refuses to delete or flush a table that does not exist, and
                            // then loads nothing of the file
                            _ => self.unparsed(
                                s,
                                "the table does not exist at this point: nft refuses the file",
                            ),
                        }
                        continue;
                    }
                    self.unparsed(s, "commands that remove objects are not modelled");
                }
                _ => {
                    let s = self.statement();
                    if self.peek().is_some_and(|t| t.is('}')) && s.is_empty() {
                        self.i += 1;
                    }
                    if s.is_empty() {
                        self.i += 1;
                    } else {
                        self.unparsed(s, "not an nftables table, chain, set or rule");
                    }
                }
            }
        }
        self.rs
    }

    fn family_and_name(&mut self) -> (String, String) {
        let a = self.peek_word().unwrap_or("").to_string();
        self.i += 1;
        if is_family(&a) {
            if let Some(b) = self
                .peek_word()
                .filter(|_| !self.peek().is_some_and(|t| t.is('{')))
            {
                let b = b.to_string();
                self.i += 1;
                return (a, b);
            }
        }
        ("ip".into(), a)
    }

    fn table_block(&mut self) {
        let start = self.i;
        let (family, name) = self.family_and_name();
        self.refuse_keyword_name(self.i.saturating_sub(1).max(start), "table");
        if let Some(extra) = self
            .peek()
            .filter(|t| matches!(t.t, T::Word(_) | T::Str(_)))
        {
            // `table inte x {`: an unknown family is read as the name, and a second name follows
            let first = self
                .toks
                .get(start)
                .map_or(String::new(), |t| text_of(std::slice::from_ref(t)));
            self.refuse(
                extra.line,
                format!("table {first} {}", text_of(std::slice::from_ref(extra))),
                format!("`{first}` is not an nft family"),
            );
        }
        let ti = self.rs.table(&family, &name);
        self.skip_separators();
        if !self.peek().is_some_and(|t| t.is('{')) {
            return;
        }
        self.i += 1;
        loop {
            self.skip_separators();
            let Some(tok) = self.peek() else {
                self.refuse_unclosed("table");
                return;
            };
            if tok.is('}') {
                self.check_close(false);
                self.i += 1;
                return;
            }
            match tok.word() {
                Some("chain") => {
                    self.i += 1;
                    self.refuse_keyword_name(self.i, "chain");
                    let name = self.peek_word().unwrap_or("").to_string();
                    self.i += 1;
                    let ci = self.rs.tables[ti].chain(&name);
                    if self.peek().is_some_and(|t| t.is('{')) {
                        self.i += 1;
                        self.chain_body(ti, ci);
                    }
                }
                Some("set") | Some("map") => {
                    self.i += 1;
                    self.refuse_keyword_name(self.i, "set or map");
                    let name = self.peek_word().unwrap_or("").to_string();
                    self.i += 1;
                    if self.peek().is_some_and(|t| t.is('{')) {
                        self.i += 1;
                        self.set_body(ti, &name, true);
                    }
                }
                Some(
                    "flowtable" | "counter" | "quota" | "ct" | "limit" | "secmark" | "synproxy",
                ) => {
                    // named stateful objects: the whole block is one statement
                    self.statement();
                }
                Some("flags") => {
                    let s = self.statement();
                    // `flags dormant`: the kernel registers none of the table's chains
                    if s.iter().any(|t| t.word() == Some("dormant")) {
                        self.rs.tables[ti].dormant = true;
                    }
                }
                Some("comment") => {
                    self.statement();
                }
                _ => {
                    let s = self.statement();
                    if s.is_empty() {
                        self.i += 1;
                    } else {
                        self.unparsed(s, "not a chain, set or map of this table");
                    }
                }
            }
        }
    }

    /// The inside of `chain NAME { ... }` (cursor after `{`) or of `add chain ... { ... }`.
    fn chain_body(&mut self, ti: usize, ci: usize) {
        let had_base = self.rs.tables[ti].chains[ci].base.is_some();
        let mut policies = 0usize;
        let mut typed = false;
        loop {
            self.skip_separators();
            let Some(tok) = self.peek() else {
                self.refuse_unclosed("chain");
                return;
            };
            if tok.is('}') {
                self.check_close(false);
                self.i += 1;
                break;
            }
            let s = self.statement();
            if s.is_empty() {
                self.i += 1;
                continue;
            }
            match s[0].word() {
                Some("policy") => {
                    policies += 1;
                    if policies > 1 {
                        self.refuse(
                            s[0].line,
                            text_of(s),
                            "a second policy in one chain block".into(),
                        );
                    } else if !had_base && !typed && !self.block_declares_base() {
                        self.refuse(
                            s[0].line,
                            text_of(s),
                            "a policy in a chain without `type ... hook ...` (the kernel does not support it)".into(),
                        );
                    }
                }
                Some("type") if matches!(s[0].t, T::Word(_)) => typed = true,
                _ => {}
            }
            self.chain_statement(ti, ci, s, false);
        }
    }

    /// Whether the rest of the current chain block (from the cursor) has a `type` statement.
    fn block_declares_base(&self) -> bool {
        let mut depth = 0usize;
        let mut line_start = true;
        for t in &self.toks[self.i..] {
            match &t.t {
                T::Punct('{') => depth += 1,
                T::Punct('}') if depth == 0 => return false,
                T::Punct('}') => depth -= 1,
                T::Nl | T::Punct(';') => {
                    line_start = true;
                    continue;
                }
                T::Word(w) if depth == 0 && line_start && w == "type" => return true,
                _ => {}
            }
            line_start = false;
        }
        false
    }

    fn chain_statement(&mut self, ti: usize, ci: usize, s: &[Tok], insert: bool) {
        if s[0].word() == Some("type") && matches!(s[0].t, T::Word(_)) {
            if let Some(why) = base_problem(&self.rs.tables[ti].family, s) {
                self.refuse(s[0].line, text_of(s), why);
            }
        }
        let chain = &mut self.rs.tables[ti].chains[ci];
        match s[0].word() {
            Some("type") if matches!(s[0].t, T::Word(_)) => {
                let w: Vec<&str> = s.iter().filter_map(|t| t.word()).collect();
                let after = |k: &str| w.iter().position(|x| *x == k).and_then(|p| w.get(p + 1));
                let hook = after("hook").map(|s| s.to_string()).unwrap_or_default();
                let prio_words: Vec<&str> = w
                    .iter()
                    .position(|x| *x == "priority")
                    .map(|p| {
                        w[p + 1..]
                            .iter()
                            .take_while(|x| !matches!(**x, "policy" | "device" | "devices"))
                            .copied()
                            .collect()
                    })
                    .unwrap_or_default();
                let mut devices: Vec<String> = after("device")
                    .map(|d| vec![d.to_string()])
                    .unwrap_or_default();
                if let Some(p) = w.iter().position(|x| *x == "devices") {
                    devices.extend(
                        w[p + 1..]
                            .iter()
                            .skip_while(|x| **x == "=")
                            .take_while(|x| !matches!(**x, "priority" | "policy"))
                            .map(|d| d.to_string()),
                    );
                }
                let base = Base {
                    ctype: w.get(1).map(|s| s.to_string()).unwrap_or_default(),
                    hook,
                    prio: priority(&prio_words),
                    devices,
                };
                let changed = chain.base.as_ref().is_some_and(|old| {
                    (&old.ctype, &old.hook, old.prio) != (&base.ctype, &base.hook, base.prio)
                });
                chain.base = Some(base);
                chain.base_at = Some(Location::line(s[0].line, &text_of(s)));
                if changed {
                    self.refuse(
                        s[0].line,
                        text_of(s),
                        "the chain is declared again with another type, hook or priority (the kernel cannot change them)".into(),
                    );
                }
            }
            Some("policy") => {
                if !matches!(s.get(1).and_then(|t| t.word()), Some("accept" | "drop"))
                    || s.len() > 2
                {
                    let text = text_of(s);
                    self.refuse(
                        s[0].line,
                        text,
                        "a chain policy is `accept` or `drop`".into(),
                    );
                }
                let chain = &mut self.rs.tables[ti].chains[ci];
                chain.policy_accept = s.get(1).and_then(|t| t.word()) != Some("drop");
                chain.policy_at = Some(Location::line(s[0].line, &text_of(s)));
            }
            Some("devices") | Some("device") => {
                if let Some(b) = &mut chain.base {
                    b.devices.extend(
                        s[1..]
                            .iter()
                            .filter_map(|t| t.word())
                            .filter(|w| *w != "=")
                            .map(|w| w.to_string()),
                    );
                }
            }
            Some("comment") if s.len() <= 2 => {}
            _ => {
                // `ct state { established, related },new`: a list that goes on after a braced
                // set is a syntax error to nft
                if let Some(pair) = s.windows(2).find(|p| p[0].is('}') && p[1].is(',')) {
                    self.rs.unparsed.push(Unparsed {
                        line: pair[1].line,
                        text: text_of(s),
                        why: "a `,` right after a `}` (a list cannot go on after a braced set): nft refuses the file".into(),
                    });
                }
                // `jump accept`: a keyword where nft wants a chain name
                for pair in s.windows(2) {
                    if matches!(pair[0].word(), Some("jump" | "goto"))
                        && let T::Str(target) = &pair[1].t
                    {
                        self.rs.unparsed.push(Unparsed {
                            line: pair[1].line,
                            text: text_of(s),
                            why: format!(
                                "the jump target \"{target}\" is quoted (nft wants a bare chain name): nft refuses the file"
                            ),
                        });
                    }
                    if matches!(pair[0].word(), Some("jump" | "goto"))
                        && let T::Word(target) = &pair[1].t
                        && is_nft_keyword(target)
                    {
                        self.rs.unparsed.push(Unparsed {
                            line: pair[1].line,
                            text: text_of(s),
                            why: format!(
                                "`{target}` is an nft keyword and cannot name a chain to jump to: nft refuses the file"
                            ),
                        });
                    }
                }
                let chain = &mut self.rs.tables[ti].chains[ci];
                let at = Location::line(s[0].line, &text_of(s));
                let stmts = parse_rule(s);
                if insert {
                    chain.rules.insert(0, (at, stmts));
                } else {
                    chain.rules.push((at, stmts));
                }
            }
        }
    }

    /// The inside of a set or map block; `in_table` when it is written in a `table { }` block
    /// (an `add set ... { }` command's block may end right after its elements' `}`).
    fn set_body(&mut self, ti: usize, name: &str, in_table: bool) {
        let mut elems = Vec::new();
        let mut flags_interval = false;
        loop {
            self.skip_separators();
            let Some(tok) = self.peek() else {
                self.refuse_unclosed("set or map");
                break;
            };
            if tok.is('}') {
                if in_table {
                    self.check_close(true);
                }
                self.i += 1;
                break;
            }
            let s = self.statement();
            if s.is_empty() {
                self.i += 1;
                continue;
            }
            if s[0].word() == Some("elements") {
                let mut j = 1;
                if s.get(1).and_then(|t| t.word()) == Some("=") {
                    j = 2;
                }
                if let Value::Set(items) = parse_value(s, &mut j, 0) {
                    elems.extend(items);
                }
            } else if s[0].word() == Some("flags") {
                flags_interval = s.iter().any(|t| t.word() == Some("interval"));
            }
        }
        let _ = flags_interval;
        self.rs.tables[ti]
            .sets
            .entry(name.to_string())
            .or_default()
            .extend(elems);
    }

    /// `add|create|insert|replace <object> ...`
    fn command(&mut self, verb: &str) {
        let start = self.i;
        let Some(obj) = self.peek_word() else { return };
        self.i += 1;
        match obj {
            "table" => self.table_block(),
            "chain" => {
                let (family, table) = self.family_and_name();
                let ti = self.rs.table(&family, &table);
                self.refuse_keyword_name(self.i, "chain");
                let name = self.peek_word().unwrap_or("").to_string();
                self.i += 1;
                let ci = self.rs.tables[ti].chain(&name);
                if self.peek().is_some_and(|t| t.is('{')) {
                    self.i += 1;
                    self.chain_body(ti, ci);
                }
            }
            "rule" => {
                let (family, table) = self.family_and_name();
                let ti = self.rs.table(&family, &table);
                self.refuse_keyword_name(self.i, "chain");
                let name = self.peek_word().unwrap_or("").to_string();
                self.i += 1;
                let ci = self.rs.tables[ti].chain(&name);
                let mut s = self.statement();
                if s.first().and_then(|t| t.word()) == Some("handle")
                    || s.first().and_then(|t| t.word()) == Some("position")
                    || s.first().and_then(|t| t.word()) == Some("index")
                {
                    self.unparsed(
                        &self.toks[start..self.i],
                        "rule placement by handle/position/index is not modelled",
                    );
                    s = &s[2.min(s.len())..];
                    let at = Location::line(s.first().map(|t| t.line).unwrap_or(0), &text_of(s));
                    let mut stmts = parse_rule(s);
                    stmts.push(Stmt::Unknown("rule placed by handle/position/index".into()));
                    self.rs.tables[ti].chains[ci].rules.push((at, stmts));
                    return;
                }
                if s.is_empty() {
                    return;
                }
                self.chain_statement(ti, ci, s, verb == "insert");
            }
            "set" | "map" => {
                let (family, table) = self.family_and_name();
                let ti = self.rs.table(&family, &table);
                self.refuse_keyword_name(self.i, "set or map");
                let name = self.peek_word().unwrap_or("").to_string();
                self.i += 1;
                if self.peek().is_some_and(|t| t.is('{')) {
                    self.i += 1;
                    self.set_body(ti, &name, false);
                }
            }
            "element" => {
                let (family, table) = self.family_and_name();
                let ti = self.rs.table(&family, &table);
                let name = self.peek_word().unwrap_or("").to_string();
                self.i += 1;
                let s = self.statement();
                let mut j = 0;
                if let Value::Set(items) = parse_value(s, &mut j, 0) {
                    self.rs.tables[ti]
                        .sets
                        .entry(name)
                        .or_default()
                        .extend(items);
                }
            }
            _ => {
                self.i = start;
                let s = self.statement();
                self.unparsed(s, "command not modelled");
            }
        }
    }
}

/// What `nft -f` refuses in a base chain header (`type T hook H [device D] priority P`), in
/// families that carry IP: an unknown type or hook, a type on a hook it cannot serve, a device on
/// a hook that takes none (or none where one is needed), a missing or unknown priority (standard
/// names are valid only on some hooks), and anything after the priority (a `;` left out).
fn base_problem(family: &str, s: &[Tok]) -> Option<String> {
    if !matches!(family, "ip" | "ip6" | "inet" | "netdev" | "bridge" | "arp") {
        return None;
    }
    let w: Vec<&str> = s.iter().map(|t| t.word().unwrap_or(",")).collect();
    let ctype = w.get(1).copied().unwrap_or("");
    if !matches!(ctype, "filter" | "nat" | "route") {
        return Some(format!("`{ctype}` is not a chain type"));
    }
    // bridge and arp tables see no routed IP packet, but a header nft refuses still makes it
    // refuse the whole file: their hooks, types and priority names are their own
    if matches!(family, "bridge" | "arp") {
        return other_family_base_problem(family, ctype, &w);
    }
    if w.get(2) != Some(&"hook") {
        return Some("a chain type must be followed by `hook`".into());
    }
    let hook = w.get(3).copied().unwrap_or("");
    let hooks: &[&str] = match family {
        "netdev" => &["ingress", "egress"],
        "inet" => &[
            "prerouting",
            "input",
            "forward",
            "output",
            "postrouting",
            "ingress",
        ],
        _ => &["prerouting", "input", "forward", "output", "postrouting"],
    };
    if !hooks.contains(&hook) {
        return Some(format!("`{hook}` is not a hook of the {family} family"));
    }
    let type_fits = match ctype {
        "filter" => true,
        "nat" => {
            family != "netdev" && matches!(hook, "prerouting" | "input" | "output" | "postrouting")
        }
        _ => family != "netdev" && hook == "output",
    };
    if !type_fits {
        return Some(format!(
            "a chain of type {ctype} cannot be on the {hook} hook"
        ));
    }
    let mut i = 4;
    let mut device = false;
    match w.get(i) {
        Some(&"device") => {
            device = true;
            i += 2;
        }
        Some(&"devices") => {
            device = true;
            i += 1;
            if w.get(i) == Some(&"=") {
                i += 1;
            }
            if s.get(i).is_some_and(|t| t.is('{')) {
                while i < s.len() && !s[i].is('}') {
                    i += 1;
                }
            }
            i += 1;
        }
        _ => {}
    }
    let needs_device = matches!(hook, "ingress" | "egress");
    if device && !needs_device {
        return Some(format!(
            "a chain on the {hook} hook cannot be bound to a device"
        ));
    }
    if needs_device && !device {
        return Some(format!("a chain on the {hook} hook needs a `device`"));
    }
    if w.get(i) != Some(&"priority") {
        return Some("the chain header has no `priority`".into());
    }
    i += 1;
    let Some(&first) = w.get(i) else {
        return Some("`priority` without a value".into());
    };
    i += 1;
    let (name, offset_glued) = match first.split_once('+') {
        Some((a, b)) if !a.is_empty() => (a, Some(b)),
        _ => (first, None),
    };
    if let Some(b) = offset_glued
        && b.parse::<i64>().is_err()
    {
        return Some(format!("`{first}` is not a priority"));
    }
    if name.parse::<i64>().is_err() {
        let fits = match name {
            "raw" | "mangle" | "security" => family != "netdev",
            "filter" => true,
            "dstnat" => family != "netdev" && matches!(hook, "prerouting" | "output"),
            "srcnat" => family != "netdev" && matches!(hook, "postrouting" | "input"),
            _ => false,
        };
        if !fits {
            return Some(format!(
                "`{name}` is not a priority for the {hook} hook of the {family} family"
            ));
        }
    }
    if offset_glued.is_none() && matches!(w.get(i), Some(&("+" | "-"))) {
        if w.get(i + 1).is_none_or(|n| n.parse::<u64>().is_err()) {
            return Some("a priority offset without a number".into());
        }
        i += 2;
    }
    if let Some(extra) = w.get(i) {
        return Some(format!("`{extra}` after the priority (a `;` left out?)"));
    }
    None
}

/// [`base_problem`] for the bridge and arp families: filter chains only, no devices, the
/// family's hooks, and the priority names nft gives them (bridge: `dstnat` on prerouting,
/// `filter` anywhere, `out` on output, `srcnat` on postrouting; arp: numbers and `filter`).
fn other_family_base_problem(family: &str, ctype: &str, w: &[&str]) -> Option<String> {
    if ctype != "filter" {
        return Some(format!(
            "a chain of type {ctype} is not available in the {family} family"
        ));
    }
    if w.get(2) != Some(&"hook") {
        return Some("a chain type must be followed by `hook`".into());
    }
    let hook = w.get(3).copied().unwrap_or("");
    let hooks: &[&str] = if family == "arp" {
        &["input", "output"]
    } else {
        &["prerouting", "input", "forward", "output", "postrouting"]
    };
    if !hooks.contains(&hook) {
        return Some(format!("`{hook}` is not a hook of the {family} family"));
    }
    if w.get(4) != Some(&"priority") {
        return Some("the chain header has no `priority` (or names a device)".into());
    }
    let Some(&first) = w.get(5) else {
        return Some("`priority` without a value".into());
    };
    let mut i = 6;
    let (name, offset_glued) = match first.split_once('+') {
        Some((a, b)) if !a.is_empty() => (a, Some(b)),
        _ => (first, None),
    };
    if let Some(b) = offset_glued
        && b.parse::<i64>().is_err()
    {
        return Some(format!("`{first}` is not a priority"));
    }
    if name.parse::<i64>().is_err() {
        let fits = match (family, name) {
            (_, "filter") => true,
            ("bridge", "dstnat") => hook == "prerouting",
            ("bridge", "out") => hook == "output",
            ("bridge", "srcnat") => hook == "postrouting",
            _ => false,
        };
        if !fits {
            return Some(format!(
                "`{name}` is not a priority for the {hook} hook of the {family} family"
            ));
        }
    }
    if offset_glued.is_none() && matches!(w.get(i), Some(&("+" | "-"))) {
        if w.get(i + 1).is_none_or(|n| n.parse::<u64>().is_err()) {
            return Some("a priority offset without a number".into());
        }
        i += 2;
    }
    if let Some(extra) = w.get(i) {
        return Some(format!("`{extra}` after the priority (a `;` left out?)"));
    }
    None
}

pub(crate) fn is_family(w: &str) -> bool {
    matches!(w, "ip" | "ip6" | "inet" | "arp" | "bridge" | "netdev")
}

pub(crate) fn text_of(toks: &[Tok]) -> String {
    let mut s = String::new();
    for t in toks {
        if !s.is_empty() && !t.is(',') {
            s.push(' ');
        }
        match &t.t {
            T::Word(w) => s.push_str(w),
            T::Str(w) => {
                s.push('"');
                s.push_str(w);
                s.push('"');
            }
            T::Punct(c) => s.push(*c),
            T::Nl => {}
        }
        if s.len() > 400 {
            s.push_str(" …");
            break;
        }
    }
    s
}

/// `notrack`: the packets it matches (before conntrack) get the state `untracked`, which no
/// later `ct state new/established` match admits. portplan does not follow that state, so the
/// rule's verdict is unknown for what it matches: those flows come out uncertain.
pub(crate) fn notrack() -> [Stmt; 2] {
    [
        Stmt::Unknown("`notrack` (untracked packets are not followed)".into()),
        Stmt::Verdict(crate::audit::model::Action::Unknown),
    ]
}

/// A chain priority: a number, or a standard name with an optional offset.
pub(crate) fn priority(words: &[&str]) -> i64 {
    let named = |n: &str| match n {
        "raw" => Some(-300),
        "mangle" => Some(-150),
        "dstnat" => Some(-100),
        "filter" => Some(0),
        "security" => Some(50),
        "srcnat" => Some(100),
        "out" => Some(100),
        _ => None,
    };
    let base = |w: &str| w.parse::<i64>().ok().or_else(|| named(w)).unwrap_or(0);
    match words {
        [one] => {
            // `filter+10` written without spaces
            if let Some((a, b)) = one.split_once('+') {
                return base(a) + b.parse::<i64>().unwrap_or(0);
            }
            base(one)
        }
        [a, "+", b] => base(a) + b.parse::<i64>().unwrap_or(0),
        [a, "-", b] => base(a) - b.parse::<i64>().unwrap_or(0),
        _ => 0,
    }
}

/// Reads a value: a word, a `{ ... }` set (elements may map to data with `:`), an `@set`
/// reference, or a `.`-concatenation of those.
pub(crate) fn parse_value(s: &[Tok], i: &mut usize, depth: usize) -> Value {
    let mut parts = vec![parse_primary(s, i, depth)];
    while s.get(*i).and_then(|t| t.word()) == Some(".") && parts.len() < 16 {
        *i += 1;
        parts.push(parse_primary(s, i, depth));
    }
    if parts.len() == 1 {
        parts.pop().unwrap_or(Value::Atom(String::new()))
    } else {
        Value::Concat(parts)
    }
}

fn parse_primary(s: &[Tok], i: &mut usize, depth: usize) -> Value {
    let Some(tok) = s.get(*i) else {
        return Value::Atom(String::new());
    };
    if tok.is('{') {
        *i += 1;
        if depth > MAX_DEPTH {
            // skip a too-deep set
            let mut d = 1usize;
            while let Some(t) = s.get(*i) {
                *i += 1;
                if t.is('{') {
                    d += 1;
                } else if t.is('}') {
                    d -= 1;
                    if d == 0 {
                        break;
                    }
                }
            }
            return Value::Atom("{…}".into());
        }
        let mut items = Vec::new();
        loop {
            while s.get(*i).is_some_and(|t| t.is(',') || t.t == T::Nl) {
                *i += 1;
            }
            let Some(t) = s.get(*i) else { break };
            if t.is('}') {
                *i += 1;
                break;
            }
            let before = *i;
            let key = parse_value(s, i, depth + 1);
            // element options: comment "x", timeout 1s, expires 1s, counter ...
            while let Some(w) = s.get(*i).and_then(|t| t.word()) {
                if matches!(w, "comment" | "timeout" | "expires") {
                    *i += 2;
                } else if w == "counter" {
                    *i += 1;
                    if s.get(*i).and_then(|t| t.word()) == Some("packets") {
                        *i += 4;
                    }
                } else {
                    break;
                }
            }
            let data = if s.get(*i).and_then(|t| t.word()) == Some(":") {
                *i += 1;
                Some(parse_data(s, i, depth + 1))
            } else {
                None
            };
            items.push(Elem { key, data });
            if *i == before {
                *i += 1;
            }
        }
        return Value::Set(items);
    }
    *i += 1;
    match &tok.t {
        T::Word(w) => {
            if let Some(name) = w.strip_prefix('@') {
                Value::SetRef(name.to_string())
            } else {
                Value::Atom(w.clone())
            }
        }
        T::Str(w) => Value::Atom(w.clone()),
        _ => Value::Atom(String::new()),
    }
}

fn parse_data(s: &[Tok], i: &mut usize, depth: usize) -> Data {
    match s.get(*i).and_then(|t| t.word()) {
        Some("accept") => {
            *i += 1;
            Data::Verdict(Action::Accept)
        }
        Some("drop") => {
            *i += 1;
            Data::Verdict(Action::Drop)
        }
        Some("return") => {
            *i += 1;
            Data::Verdict(Action::Return)
        }
        Some("continue") => {
            *i += 1;
            Data::Verdict(Action::Continue)
        }
        Some(v @ ("jump" | "goto")) => {
            let target = s
                .get(*i + 1)
                .and_then(|t| t.word())
                .unwrap_or("")
                .to_string();
            *i += 2;
            Data::Verdict(if v == "jump" {
                Action::Jump(target)
            } else {
                Action::Goto(target)
            })
        }
        _ => Data::Value(parse_value(s, i, depth)),
    }
}

/// Reads the keys of a match: `tcp dport`, `ip daddr . tcp dport`. Returns the keys and how many
/// tokens they took, or `None` when the tokens do not start with a key.
fn parse_keys(s: &[Tok], i: usize) -> Option<(Vec<Key>, usize)> {
    let mut keys = Vec::new();
    let mut j = i;
    loop {
        let (k, w) = parse_key(s, j)?;
        keys.push(k);
        j += w;
        if s.get(j).and_then(|t| t.word()) == Some(".") && keys.len() < 16 {
            j += 1;
        } else {
            break;
        }
    }
    Some((keys, j - i))
}

fn parse_key(s: &[Tok], i: usize) -> Option<(Key, usize)> {
    let w = |k: usize| match s.get(i + k).map(|t| &t.t) {
        Some(T::Word(w)) => w.as_str(),
        _ => "",
    };
    let (a, b) = (w(0), w(1));
    let k = match (a, b) {
        ("meta", "iifname" | "iif") => (Key::Iif, 2),
        ("meta", "oifname" | "oif") => (Key::Oif, 2),
        ("iifname" | "iif", _) => (Key::Iif, 1),
        ("oifname" | "oif", _) => (Key::Oif, 1),
        ("ip", "saddr") => (Key::Saddr(Family::V4), 2),
        ("ip", "daddr") => (Key::Daddr(Family::V4), 2),
        ("ip6", "saddr") => (Key::Saddr(Family::V6), 2),
        ("ip6", "daddr") => (Key::Daddr(Family::V6), 2),
        ("ip", "protocol") => (Key::L4proto(Some(Family::V4)), 2),
        ("ip6", "nexthdr") => (Key::L4proto(Some(Family::V6)), 2),
        ("meta", "l4proto") => (Key::L4proto(None), 2),
        ("meta", "nfproto") => (Key::Nfproto, 2),
        ("meta", "protocol") => (Key::Nfproto, 2),
        ("tcp", "dport") => (Key::Dport(crate::audit::space::PROTO_TCP), 2),
        ("udp", "dport") => (Key::Dport(crate::audit::space::PROTO_UDP), 2),
        ("th", "dport") => (
            Key::Dport(crate::audit::space::PROTO_TCP | crate::audit::space::PROTO_UDP),
            2,
        ),
        ("tcp" | "udp" | "th", "sport") => (Key::Other(format!("{a} {b}")), 2),
        ("ct", "state") => (Key::CtState, 2),
        (
            "ct" | "meta" | "ip" | "ip6" | "tcp" | "udp" | "th" | "icmp" | "icmpv6" | "ether"
            | "vlan" | "sctp" | "dccp" | "udplite" | "ah" | "esp" | "comp" | "arp" | "rt" | "frag"
            | "hbh" | "dst" | "mh" | "exthdr" | "tcp option" | "fib" | "osf" | "socket" | "ipsec",
            x,
        ) if !x.is_empty() && !matches!(x, "set") => (Key::Other(format!("{a} {b}")), 2),
        (
            "mark" | "priority" | "length" | "skuid" | "skgid" | "iiftype" | "oiftype" | "pkttype"
            | "cpu" | "cgroup",
            _,
        ) => (Key::Other(a.to_string()), 1),
        _ => return None,
    };
    Some(k)
}

fn verdict_word(w: &str) -> bool {
    matches!(
        w,
        "accept" | "drop" | "reject" | "return" | "jump" | "goto" | "queue"
    )
}

/// Reads one rule's statements.
pub(crate) fn parse_rule(s: &[Tok]) -> Vec<Stmt> {
    let mut out = Vec::new();
    let mut i = 0;
    let word = |k: usize| s.get(k).and_then(|t| t.word()).unwrap_or("");
    while i < s.len() {
        let before = i;
        if let Some((keys, width)) = parse_keys(s, i) {
            i += width;
            match word(i) {
                "set" => {
                    // `meta mark set 1`, `ct mark set ...`: changes the packet, not the verdict;
                    // `ip daddr set ...` sends the flow elsewhere, which is not followed
                    i += 1;
                    parse_value(s, &mut i, 0);
                    out.push(match keys.iter().find(|k| k.rewrite_moves_flow()) {
                        Some(k) => Stmt::Unknown(format!("header rewrite `{} set`", k.text())),
                        None => Stmt::Neutral,
                    });
                    continue;
                }
                "vmap" => {
                    i += 1;
                    let map = parse_value(s, &mut i, 0);
                    out.push(Stmt::VMap { keys, map });
                    continue;
                }
                _ => {}
            }
            let mut negated = false;
            let mut op: Option<String> = None;
            match word(i) {
                "!=" | "ne" => {
                    negated = true;
                    i += 1;
                }
                "==" | "eq" => i += 1,
                o @ ("<" | ">" | "<=" | ">=" | "lt" | "gt" | "le" | "ge" | "&" | "and" | "|"
                | "or" | "^" | "xor") => {
                    op = Some(o.to_string());
                    i += 1;
                }
                _ => {}
            }
            if i >= s.len() {
                out.push(Stmt::Unknown("match without a value".into()));
                break;
            }
            let mut value = parse_value(s, &mut i, 0);
            // flag lists outside braces: `ct state established,related`
            while s.get(i).is_some_and(|t| t.is(','))
                && s.get(i + 1).and_then(|t| t.word()).is_some()
            {
                let next = parse_value(s, &mut { i + 1 }, 0);
                i += 2;
                let elem = |v: Value| Elem { key: v, data: None };
                value = match value {
                    Value::Set(mut items) => {
                        items.push(elem(next));
                        Value::Set(items)
                    }
                    v => Value::Set(vec![elem(v), elem(next)]),
                };
            }
            out.push(match op {
                None => Stmt::Match {
                    keys,
                    negated,
                    value,
                },
                Some(o) => Stmt::Compare { keys, op: o, value },
            });
            continue;
        }
        let w = word(i);
        match w {
            "accept" => out.push(Stmt::Verdict(Action::Accept)),
            "drop" => out.push(Stmt::Verdict(Action::Drop)),
            "return" => out.push(Stmt::Verdict(Action::Return)),
            "continue" => out.push(Stmt::Neutral),
            "reject" => {
                out.push(Stmt::Verdict(Action::Drop));
                while i + 1 < s.len() && !matches!(word(i + 1), "comment") {
                    i += 1;
                }
            }
            "jump" | "goto" => {
                let target = word(i + 1).to_string();
                out.push(Stmt::Verdict(if w == "jump" {
                    Action::Jump(target)
                } else {
                    Action::Goto(target)
                }));
                i += 1;
            }
            "counter" => {
                if word(i + 1) == "packets" {
                    i += 4;
                } else if word(i + 1) == "name" {
                    i += 2;
                }
                out.push(Stmt::Neutral);
            }
            "comment" => {
                i += 1;
                out.push(Stmt::Neutral);
            }
            "notrack" | "flow" if w == "notrack" => out.extend(notrack()),
            "log" => {
                while matches!(
                    word(i + 1),
                    "prefix" | "level" | "group" | "snaplen" | "queue-threshold" | "flags"
                ) {
                    i += 2;
                    // `flags tcp sequence,options`
                    if word(i) == "tcp" || word(i) == "ip" {
                        i += 1;
                    }
                }
                out.push(Stmt::Neutral);
            }
            "dnat" | "snat" | "masquerade" | "redirect" => {
                let kind = match w {
                    "dnat" | "redirect" => NatKind::Destination,
                    "snat" => NatKind::Source,
                    _ => NatKind::Masquerade,
                };
                i += 1;
                if matches!(word(i), "ip" | "ip6") {
                    i += 1;
                }
                if word(i) == "to" {
                    i += 1;
                }
                let mut to = None;
                if w == "redirect" {
                    to = Some(format!("__redirect{}", word(i)));
                    if i < s.len() {
                        i += 1;
                    }
                } else if w != "masquerade" && i < s.len() {
                    let v = parse_value(s, &mut i, 0);
                    match v {
                        Value::Atom(a) => to = Some(a),
                        _ => out.push(Stmt::Unknown(format!("{w} to a map or expression"))),
                    }
                }
                // flags: persistent, random, fully-random
                while matches!(word(i), "persistent" | "random" | "fully-random" | ",") {
                    i += 1;
                }
                if w == "masquerade" && word(i) == "to" {
                    i += 2;
                }
                out.push(Stmt::Nat { kind, to });
                continue;
            }
            "" => {
                if s[i].is(',') || s[i].t == T::Nl {
                    i += 1;
                    continue;
                }
                out.push(Stmt::Unknown("unexpected punctuation".into()));
            }
            other => {
                // nft's statements all start with a keyword (or a `$variable`, substituted
                // before this): any other word where a statement starts (first, or after one
                // read in full) is a syntax error there. Elsewhere it may be an argument of a
                // statement not modelled (`numgen inc`), so it only makes its rule uncertain.
                let at_start = matches!(
                    out.last(),
                    None | Some(Stmt::Match { .. } | Stmt::Verdict(_) | Stmt::Neutral)
                );
                let refused = at_start
                    && other.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
                    && !is_nft_keyword(other);
                out.push(if !refused {
                    Stmt::Unknown(format!("statement `{other}`"))
                } else {
                    Stmt::Refused(format!("`{other}` starts no nft statement"))
                });
                while i + 1 < s.len() && !verdict_word(word(i + 1)) {
                    i += 1;
                }
            }
        }
        i += 1;
        if i == before {
            i += 1;
        }
    }
    out
}
