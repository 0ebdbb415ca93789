//! Tokens of the nft text language: words, quoted strings, braces and separators, with the line
//! each starts on. Comments end at the line end, a backslash before a newline joins lines, and
//! `define` variables are substituted here (bounded, so nested defines cannot blow up).

use std::collections::HashMap;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum T {
    Word(String),
    Str(String),
    /// `{ } ; ,`
    Punct(char),
    /// End of a line: separates statements outside braces.
    Nl,
}

#[derive(Debug, Clone)]
pub(crate) struct Tok {
    pub t: T,
    pub line: usize,
}

impl Tok {
    pub fn word(&self) -> Option<&str> {
        match &self.t {
            T::Word(w) => Some(w),
            T::Str(s) => Some(s),
            _ => None,
        }
    }
    pub fn is(&self, c: char) -> bool {
        self.t == T::Punct(c)
    }
}

/// Most tokens `define` substitution may add to a ruleset (beyond the ones written in it).
pub(crate) const MAX_TOKENS: usize = 4_000_000;

/// Splits text into tokens. Never fails: unbalanced quotes end at the line end.
pub(crate) fn lex(text: &str) -> Vec<Tok> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut line = 1usize;
    let mut start = 1usize;
    let mut chars = text.chars().peekable();
    let flush = |cur: &mut String, out: &mut Vec<Tok>, start: usize| {
        if cur.is_empty() {
            return;
        }
        let w = std::mem::take(cur);
        // `443: accept` — a trailing colon on a non-IPv6 word is the map separator
        if w.len() > 1 && w.ends_with(':') && !w[..w.len() - 1].contains(':') {
            out.push(Tok {
                t: T::Word(w[..w.len() - 1].to_string()),
                line: start,
            });
            out.push(Tok {
                t: T::Word(":".into()),
                line: start,
            });
        } else {
            out.push(Tok {
                t: T::Word(w),
                line: start,
            });
        }
    };
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                flush(&mut cur, &mut out, start);
                let mut s = String::new();
                for d in chars.by_ref() {
                    if d == '"' {
                        break;
                    }
                    if d == '\n' {
                        line += 1;
                        break;
                    }
                    s.push(d);
                }
                out.push(Tok { t: T::Str(s), line });
            }
            '#' => {
                flush(&mut cur, &mut out, start);
                for d in chars.by_ref() {
                    if d == '\n' {
                        out.push(Tok { t: T::Nl, line });
                        line += 1;
                        break;
                    }
                }
            }
            '\\' if chars.peek() == Some(&'\n') => {
                flush(&mut cur, &mut out, start);
                chars.next();
                line += 1;
            }
            '\n' => {
                flush(&mut cur, &mut out, start);
                out.push(Tok { t: T::Nl, line });
                line += 1;
            }
            '{' | '}' | ';' | ',' => {
                flush(&mut cur, &mut out, start);
                out.push(Tok {
                    t: T::Punct(c),
                    line,
                });
            }
            c if c.is_whitespace() => flush(&mut cur, &mut out, start),
            c => {
                if cur.is_empty() {
                    start = line;
                }
                cur.push(c);
            }
        }
    }
    // no cap here: a file has at most one token per byte, and the file's size is bounded by the
    // caller; stopping early would drop the rest of the ruleset without a word
    flush(&mut cur, &mut out, start);
    out
}

/// The line of the first quoted string that the line's end (or the file's) cuts off: nft refuses
/// such a file, where [`lex`] ends the string at the line end and reads on.
pub(crate) fn unterminated_quote(text: &str) -> Option<usize> {
    let mut line = 1usize;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => loop {
                match chars.next() {
                    Some('"') => break,
                    Some('\n') | None => return Some(line),
                    Some(_) => {}
                }
            },
            '#' => {
                for d in chars.by_ref() {
                    if d == '\n' {
                        line += 1;
                        break;
                    }
                }
            }
            '\n' => line += 1,
            _ => {}
        }
    }
    None
}

/// Replaces `define NAME = value` lines by nothing and `$NAME` by the value's tokens. Returns the
/// tokens and a message per problem (undefined variable, expansion limit).
pub(crate) fn substitute(mut toks: Vec<Tok>) -> (Vec<Tok>, Vec<(usize, String)>) {
    // most rulesets have no variables: nothing to substitute, and no second copy of the tokens
    let has_variables = toks.iter().any(
        |t| matches!(&t.t, T::Word(w) if w.starts_with('$') || w == "define" || w == "redefine"),
    );
    if !has_variables {
        return (toks, Vec::new());
    }
    let mut defs: HashMap<String, Vec<Tok>> = HashMap::new();
    let mut out: Vec<Tok> = Vec::with_capacity(toks.len());
    let mut problems = Vec::new();
    let mut at_start = true;
    let mut i = 0;
    while i < toks.len() {
        let tok = &toks[i];
        if at_start
            && matches!(tok.word(), Some("define") | Some("redefine"))
            && matches!(tok.t, T::Word(_))
        {
            let line = tok.line;
            let name = toks
                .get(i + 1)
                .and_then(|t| t.word())
                .unwrap_or("")
                .to_string();
            let mut j = i + 2;
            if toks.get(j).and_then(|t| t.word()) == Some("=") {
                j += 1;
            }
            let mut depth = 0usize;
            let mut value = Vec::new();
            while let Some(t) = toks.get(j) {
                match t.t {
                    T::Punct('{') => depth += 1,
                    T::Punct('}') => depth = depth.saturating_sub(1),
                    T::Nl | T::Punct(';') if depth == 0 => break,
                    _ => {}
                }
                if t.t != T::Nl {
                    value.extend(expand_one(t, &defs, &mut problems));
                }
                j += 1;
            }
            if value.len() > MAX_TOKENS / 4 {
                problems.push((line, format!("define `{name}` is too large")));
                value.clear();
            }
            defs.insert(name, value);
            i = j;
            continue;
        }
        at_start = matches!(tok.t, T::Nl | T::Punct(';') | T::Punct('{') | T::Punct('}'));
        if !matches!(&tok.t, T::Word(w) if w.starts_with('$')) {
            // a plain token moves over (no copy)
            let line = tok.line;
            out.push(Tok {
                t: std::mem::replace(&mut toks[i].t, T::Nl),
                line,
            });
            i += 1;
            continue;
        }
        let expanded = expand_one(tok, &defs, &mut problems);
        if out.len() + expanded.len() > toks.len() + MAX_TOKENS {
            problems.push((
                tok.line,
                "ruleset too large after define substitution".into(),
            ));
            break;
        }
        out.extend(expanded);
        i += 1;
    }
    (out, problems)
}

fn expand_one(
    tok: &Tok,
    defs: &HashMap<String, Vec<Tok>>,
    problems: &mut Vec<(usize, String)>,
) -> Vec<Tok> {
    if let T::Word(w) = &tok.t
        && let Some(name) = w.strip_prefix('$')
    {
        match defs.get(name) {
            Some(v) => {
                return v
                    .iter()
                    .map(|t| Tok {
                        t: t.t.clone(),
                        line: tok.line,
                    })
                    .collect();
            }
            None => problems.push((tok.line, format!("undefined variable `${name}`"))),
        }
    }
    vec![tok.clone()]
}
