//! A plain table (headers + rows of text) and its three spellings: aligned text for a terminal,
//! CSV (RFC 4180 quoting) for spreadsheets and change requests, Markdown for reviews. [`Style`]
//! names the spelling, so commands that offer all three choose it in one place.

/// Which of the three spellings of a table to write.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Style {
    /// Columns aligned for a terminal.
    #[default]
    Text,
    Csv,
    Markdown,
}

/// Rows of cells under headers.
#[derive(Debug, Clone, Default)]
pub struct Table {
    pub headers: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new(headers: &[&str]) -> Table {
        Table {
            headers: headers.iter().map(|h| h.to_string()).collect(),
            rows: Vec::new(),
        }
    }

    pub fn push(&mut self, row: Vec<String>) {
        debug_assert_eq!(row.len(), self.headers.len());
        self.rows.push(row);
    }

    /// Columns padded to their widest cell (in characters); multi-line cells are flattened.
    pub fn to_text(&self) -> String {
        let flat = |c: &str| c.replace('\n', " ");
        let mut widths: Vec<usize> = self.headers.iter().map(|h| h.chars().count()).collect();
        for row in &self.rows {
            for (i, cell) in row.iter().enumerate() {
                widths[i] = widths[i].max(flat(cell).chars().count());
            }
        }
        let mut out = String::new();
        let line = |cells: &[String], out: &mut String| {
            let last = cells.len().saturating_sub(1);
            for (i, cell) in cells.iter().enumerate() {
                let cell = flat(cell);
                out.push_str(&cell);
                if i < last {
                    let pad = widths[i] - cell.chars().count() + 2;
                    out.extend(std::iter::repeat_n(' ', pad));
                }
            }
            out.push('\n');
        };
        line(&self.headers, &mut out);
        let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
        line(&rule, &mut out);
        for row in &self.rows {
            line(row, &mut out);
        }
        out
    }

    /// The table in the given spelling.
    pub fn show(&self, style: Style) -> String {
        match style {
            Style::Text => self.to_text(),
            Style::Csv => self.to_csv(),
            Style::Markdown => self.to_markdown(),
        }
    }

    /// The table as a further section after a first table in the same style: a titled block in
    /// text and Markdown, a second CSV table after an empty record.
    pub fn section(&self, title: &str, style: Style) -> String {
        match style {
            Style::Markdown => format!("\n### {title}\n\n{}", self.to_markdown()),
            Style::Csv => format!("\r\n{}", self.to_csv()),
            Style::Text => format!("\n{title}\n{}", self.to_text()),
        }
    }

    pub fn to_csv(&self) -> String {
        let mut out = String::new();
        for row in std::iter::once(&self.headers).chain(self.rows.iter()) {
            let cells: Vec<String> = row.iter().map(|c| csv_cell(c)).collect();
            out.push_str(&cells.join(","));
            out.push_str("\r\n");
        }
        out
    }

    pub fn to_markdown(&self) -> String {
        let mut out = String::new();
        let line = |cells: &[String]| {
            let cells: Vec<String> = cells.iter().map(|c| markdown_cell(c)).collect();
            format!("| {} |\n", cells.join(" | "))
        };
        out.push_str(&line(&self.headers));
        out.push_str(&format!(
            "|{}\n",
            self.headers.iter().map(|_| "---|").collect::<String>()
        ));
        for row in &self.rows {
            out.push_str(&line(row));
        }
        out
    }
}

fn csv_cell(cell: &str) -> String {
    if cell.contains([',', '"', '\n', '\r']) || cell.starts_with(' ') || cell.ends_with(' ') {
        format!("\"{}\"", cell.replace('"', "\"\""))
    } else {
        cell.to_string()
    }
}

fn markdown_cell(cell: &str) -> String {
    cell.replace('\\', "\\\\")
        .replace('|', "\\|")
        .replace('\n', "<br>")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Table {
        let mut t = Table::new(&["a", "b"]);
        t.push(vec!["x,y".into(), "say \"hi\"".into()]);
        t.push(vec!["p|q".into(), "line1\nline2".into()]);
        t
    }

    #[test]
    fn csv_quotes_commas_quotes_and_newlines() {
        let csv = sample().to_csv();
        assert_eq!(
            csv,
            "a,b\r\n\"x,y\",\"say \"\"hi\"\"\"\r\np|q,\"line1\nline2\"\r\n"
        );
    }

    #[test]
    fn markdown_escapes_pipes_and_breaks_lines() {
        let md = sample().to_markdown();
        assert!(md.contains("p\\|q"), "{md}");
        assert!(md.contains("line1<br>line2"), "{md}");
        assert_eq!(md.lines().nth(1), Some("|---|---|"));
    }

    #[test]
    fn sections_keep_each_style_apart() {
        let t = sample();
        assert_eq!(t.section("More", Style::Csv), format!("\r\n{}", t.to_csv()));
        assert!(
            t.section("More", Style::Markdown)
                .starts_with("\n### More\n\n| a | b |")
        );
        assert!(t.section("More", Style::Text).starts_with("\nMore\na "));
        assert_eq!(t.show(Style::Markdown), t.to_markdown());
    }

    #[test]
    fn text_columns_line_up() {
        let text = sample().to_text();
        let lines: Vec<&str> = text.lines().collect();
        let col = lines[0].find('b').unwrap();
        assert_eq!(lines[2].find("say"), Some(col));
    }
}
