//! A problem found in a topology file: validation errors and lint findings share this shape, so the
//! CLI prints them the same way (miette, with the offending text underlined) and tests can assert on
//! line and column.

use super::Code;
use miette::{LabeledSpan, SourceSpan};
use serde::Serialize;
use std::fmt;
use std::ops::Range;
use std::sync::Arc;

/// How bad a finding is. Errors make `portplan check` exit 1 (lint) or refuse the file (validation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

/// The text a topology was read from, shared by all its findings.
#[derive(Debug, Clone)]
pub struct SourceFile {
    pub name: String,
    pub text: Arc<str>,
    shown: Arc<Shown>,
}

/// What the diagnostics draw: the text with terminal control characters replaced byte for byte
/// (a comment holding an escape sequence must not retitle or clear the user's terminal), and the
/// start of every line, so a snippet is cut from its lines instead of scanning the file from the
/// top for each finding (6,000 findings on a large file took 15 s that way).
#[derive(Debug)]
struct Shown {
    name: String,
    text: String,
    line_starts: Vec<usize>,
}

impl SourceFile {
    pub fn new(name: impl Into<String>, text: impl Into<Arc<str>>) -> Self {
        let name = name.into();
        let text: Arc<str> = text.into();
        let shown = inert(&text);
        let line_starts = std::iter::once(0)
            .chain(shown.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        SourceFile {
            shown: Arc::new(Shown {
                name: name.clone(),
                text: shown,
                line_starts,
            }),
            name,
            text,
        }
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = floor_char_boundary(&self.text, offset.min(self.text.len()));
        let starts = &self.shown.line_starts;
        let line = starts.partition_point(|s| *s <= offset);
        let start = starts[line - 1];
        let column = self.text[start..offset].chars().count() + 1;
        (line, column)
    }
}

/// `text` with control characters a terminal acts on (C0 but tab and line ends, DEL, C1, and the
/// bidirectional overrides) replaced by `?`, one per byte, so every byte offset stays valid.
fn inert(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        let dangerous = (c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
            || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
        if dangerous {
            out.extend(std::iter::repeat_n('?', c.len_utf8()));
        } else {
            out.push(c);
        }
    }
    out
}

/// `thing` with its indefinite article, for messages that name a role by its description
/// ("an Office Web Apps Server farm", "a Persistent Chat Front End Server pool").
pub(super) fn with_article(thing: &str) -> String {
    let vowel = thing
        .chars()
        .next()
        .is_some_and(|c| "aeiouAEIOU".contains(c));
    format!("{} {thing}", if vowel { "an" } else { "a" })
}

/// `text` for a terminal: control characters written as escapes (`\u{1b}`), the rest as is.
pub fn visible(text: &str) -> std::borrow::Cow<'_, str> {
    let shown = |c: char| {
        (c.is_control() && c != '\n' && c != '\t')
            || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    };
    if !text.chars().any(shown) {
        return std::borrow::Cow::Borrowed(text);
    }
    std::borrow::Cow::Owned(
        text.chars()
            .map(|c| {
                if shown(c) {
                    c.escape_unicode().to_string()
                } else {
                    c.to_string()
                }
            })
            .collect(),
    )
}

impl miette::SourceCode for Shown {
    fn read_span<'a>(
        &'a self,
        span: &SourceSpan,
        before: usize,
        after: usize,
    ) -> Result<Box<dyn miette::SpanContents<'a> + 'a>, miette::MietteError> {
        let (start, end) = (span.offset(), span.offset() + span.len());
        if end > self.text.len() {
            return Err(miette::MietteError::OutOfBounds);
        }
        // the lines around the span, one more each side so miette sees where they end
        let starts = &self.line_starts;
        let first = starts.partition_point(|s| *s <= start) - 1;
        let last = starts.partition_point(|s| *s < end.max(start + 1)) - 1;
        let from_line = first.saturating_sub(before + 1);
        let to_line = (last + after + 2).min(starts.len());
        let from = starts[from_line];
        let to = starts.get(to_line).copied().unwrap_or(self.text.len());
        let window = &self.text.as_bytes()[from..to];
        let shifted = SourceSpan::from((start - from, span.len()));
        let inner = <[u8] as miette::SourceCode>::read_span(window, &shifted, before, after)?;
        Ok(Box::new(miette::MietteSpanContents::new_named(
            self.name.clone(),
            inner.data(),
            SourceSpan::from((inner.span().offset() + from, inner.span().len())),
            inner.line() + from_line,
            inner.column(),
            inner.line_count() + from_line,
        )))
    }
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// One finding, optionally tied to a place in the file.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub severity: Severity,
    /// Short stable identifier, shown as its kebab-case string (e.g. `lb-snat-av`).
    pub code: Code,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<usize>,
    #[serde(skip)]
    span: Option<Range<usize>>,
    #[serde(skip)]
    source: Option<SourceFile>,
}

impl Finding {
    pub fn new(severity: Severity, code: Code, message: impl Into<String>) -> Self {
        Finding {
            severity,
            code,
            message: message.into(),
            help: None,
            file: None,
            line: None,
            column: None,
            span: None,
            source: None,
        }
    }

    pub fn error(code: Code, message: impl Into<String>) -> Self {
        Finding::new(Severity::Error, code, message)
    }

    pub fn warning(code: Code, message: impl Into<String>) -> Self {
        Finding::new(Severity::Warning, code, message)
    }

    pub fn info(code: Code, message: impl Into<String>) -> Self {
        Finding::new(Severity::Info, code, message)
    }

    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// Ties the finding to a byte range of the file.
    pub fn at(mut self, source: &SourceFile, span: Option<Range<usize>>) -> Self {
        self.file = Some(source.name.clone());
        if let Some(span) = span {
            let (line, column) = source.line_col(span.start);
            self.line = Some(line);
            self.column = Some(column);
            self.span = Some(span);
        }
        self.source = Some(source.clone());
        self
    }

    pub fn span(&self) -> Option<Range<usize>> {
        self.span.clone()
    }

    /// Whether the lines around the span are short enough to draw: the terminal renderer cannot
    /// draw a column past 65,535, and nobody reads a snippet that wide anyway.
    fn snippet_fits(&self) -> bool {
        const WIDEST: usize = 1_000;
        let (Some(src), Some(span)) = (&self.source, &self.span) else {
            return true;
        };
        let text: &str = &src.text;
        let start = floor_char_boundary(text, span.start.min(text.len()));
        let end = floor_char_boundary(text, span.end.clamp(start, text.len()));
        // the snippet shows the span's lines and one line either side
        let from = text[..start]
            .rmatch_indices('\n')
            .nth(1)
            .map_or(0, |(i, _)| i + 1);
        let to = text[end..]
            .match_indices('\n')
            .nth(1)
            .map_or(text.len(), |(i, _)| end + i);
        text.get(from..to)
            .is_some_and(|lines| lines.lines().all(|l| l.chars().count() <= WIDEST))
    }

    /// `file:line:col` when known.
    pub fn location(&self) -> Option<String> {
        match (&self.file, self.line, self.column) {
            (Some(f), Some(l), Some(c)) => Some(format!("{f}:{l}:{c}")),
            (Some(f), _, _) => Some(f.clone()),
            _ => None,
        }
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&visible(&self.message))
    }
}

impl std::error::Error for Finding {}

impl miette::Diagnostic for Finding {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(self.code))
    }
    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
            Severity::Info => miette::Severity::Advice,
        })
    }
    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        if self.span.is_some() && !self.snippet_fits() {
            // no snippet is drawn, so the help carries the place
            let at = self.location().unwrap_or_default();
            let text = match &self.help {
                Some(h) => format!("{}\n(at {at}; the line is too long to show)", visible(h)),
                None => format!("at {at} (the line is too long to show)"),
            };
            return Some(Box::new(text));
        }
        self.help
            .as_ref()
            .map(|h| Box::new(visible(h).into_owned()) as Box<dyn fmt::Display>)
    }
    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        match (&self.source, &self.span) {
            (Some(src), Some(_)) if self.snippet_fits() => {
                Some(src.shown.as_ref() as &dyn miette::SourceCode)
            }
            _ => None,
        }
    }
    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        if !self.snippet_fits() {
            return None;
        }
        let span = self.span.clone()?;
        let len = span.end.saturating_sub(span.start).max(1);
        Some(Box::new(std::iter::once(LabeledSpan::new_with_span(
            Some("here".to_string()),
            SourceSpan::from((span.start, len)),
        ))))
    }
}

/// A miette report of a finding (its `Debug` output is the rendered diagnostic).
pub fn named_report(finding: &Finding) -> miette::Report {
    miette::Report::new(finding.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_from_one_in_characters() {
        let src = SourceFile::new("t.toml", "a = 1\nnäme = \"x\"\n");
        assert_eq!(src.line_col(0), (1, 1));
        assert_eq!(src.line_col(6), (2, 1));
        // line 2 starts at byte 6; "näme = " is 8 bytes (ä takes two) but 7 characters
        assert_eq!(src.line_col(14), (2, 8));
        assert_eq!(src.line_col(10_000).0, 3);
    }
}
