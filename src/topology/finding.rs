//! A problem found in a topology file: validation errors and lint findings share this shape, so the
//! CLI prints them the same way (miette, with the offending text underlined) and tests can assert on
//! line and column.

use miette::{LabeledSpan, NamedSource, SourceSpan};
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
    named: Arc<NamedSource<Arc<str>>>,
}

impl SourceFile {
    pub fn new(name: impl Into<String>, text: impl Into<Arc<str>>) -> Self {
        let name = name.into();
        let text: Arc<str> = text.into();
        SourceFile {
            named: Arc::new(NamedSource::new(name.clone(), text.clone())),
            name,
            text,
        }
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let before = &self.text[..floor_char_boundary(&self.text, offset)];
        let line = before.matches('\n').count() + 1;
        let column = match before.rfind('\n') {
            Some(nl) => before[nl + 1..].chars().count() + 1,
            None => before.chars().count() + 1,
        };
        (line, column)
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
    /// Short stable identifier, e.g. `lb-snat-av`.
    pub code: &'static str,
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
    pub fn new(severity: Severity, code: &'static str, message: impl Into<String>) -> Self {
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

    pub fn error(code: &'static str, message: impl Into<String>) -> Self {
        Finding::new(Severity::Error, code, message)
    }

    pub fn warning(code: &'static str, message: impl Into<String>) -> Self {
        Finding::new(Severity::Warning, code, message)
    }

    pub fn info(code: &'static str, message: impl Into<String>) -> Self {
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
        f.write_str(&self.message)
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
                Some(h) => format!("{h}\n(at {at}; the line is too long to show)"),
                None => format!("at {at} (the line is too long to show)"),
            };
            return Some(Box::new(text));
        }
        self.help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }
    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        match (&self.source, &self.span) {
            (Some(src), Some(_)) if self.snippet_fits() => {
                Some(src.named.as_ref() as &dyn miette::SourceCode)
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
