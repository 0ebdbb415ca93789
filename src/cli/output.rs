//! What the command line writes and reads: standard output, files the user named (never through
//! a symbolic link, never outside the directory named), input files with a size limit, and the
//! one output-format type every `--format` flag shares.

use super::Failure;
use anyhow::{Context, anyhow};
use clap::ValueEnum;
use portplan::view::table::Style;
use std::io::Write;
use std::path::Path;

/// Every output format a command offers; each command accepts its own subset (see [`formats`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Table,
    Text,
    Json,
    Csv,
    Markdown,
    /// The embedded data file itself
    Toml,
    Svg,
    Dot,
}

impl Format {
    /// The spelling of a table this format asks for (aligned text unless CSV or Markdown).
    pub fn style(self) -> Style {
        match self {
            Format::Csv => Style::Csv,
            Format::Markdown => Style::Markdown,
            _ => Style::Text,
        }
    }
}

pub const CATALOG: &[Format] = &[
    Format::Table,
    Format::Json,
    Format::Csv,
    Format::Markdown,
    Format::Toml,
];
pub const CHECK: &[Format] = &[Format::Text, Format::Json];
pub const TABLES: &[Format] = &[Format::Table, Format::Json, Format::Csv, Format::Markdown];
pub const TABLE_OR_JSON: &[Format] = &[Format::Table, Format::Json];
pub const DIAGRAM: &[Format] = &[Format::Svg, Format::Dot];

/// A `--format` parser that offers `allowed` (in that order) and refuses every other value with
/// clap's usual error listing the possible values.
pub fn formats(allowed: &'static [Format]) -> impl clap::builder::TypedValueParser<Value = Format> {
    use clap::builder::TypedValueParser;
    clap::builder::PossibleValuesParser::new(
        allowed
            .iter()
            .map(|f| f.to_possible_value().expect("no format is skipped")),
    )
    .map(|name| Format::from_str(&name, false).expect("offered formats parse"))
}

/// The largest topology file portplan reads (a thousand-pool topology is well under 1 MiB).
pub const TOPOLOGY_LIMIT: u64 = 16 << 20;
/// The largest firewall configuration `audit` reads (a 100,000-rule iptables-save is about 8 MiB).
pub const CONFIG_LIMIT: u64 = 64 << 20;
/// The largest endpoint file read (the whole worldwide answer is well under 1 MiB).
pub const ENDPOINTS_LIMIT: u64 = 16 << 20;

/// Writes to stdout; a reader that went away (`| head`) is not an error.
pub fn out(text: &str) -> Result<(), Failure> {
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|_| stdout.flush())
    {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(anyhow!(e).context("writing to standard output").into()),
    }
}

/// Pretty JSON of `value` and a final newline, written to stdout.
pub fn out_json(value: &impl serde::Serialize) -> Result<(), Failure> {
    out(&(serde_json::to_string_pretty(value).context("encoding JSON")? + "\n"))
}

/// Reads a text file, refusing one larger than `limit` bytes (a device such as /dev/zero
/// included) instead of reading until memory runs out. Invalid UTF-8 is kept as U+FFFD.
pub fn read_limited(path: &Path, limit: u64, what: &str) -> Result<String, Failure> {
    use std::io::Read;
    // a named pipe with no writer would block the open forever: only standard input may be one
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        let stdin = matches!(path.to_str(), Some("/dev/stdin" | "/proc/self/fd/0" | "-"));
        if let Ok(meta) = std::fs::metadata(path)
            && (meta.file_type().is_fifo() || meta.file_type().is_socket())
            && !stdin
        {
            return Err(anyhow!(
                "{what} {} is a named pipe or socket, not a file; give a file, or /dev/stdin",
                path.display()
            )
            .into());
        }
    }
    let file = std::fs::File::open(path)
        .with_context(|| format!("cannot read {what} {}", path.display()))?;
    let mut bytes = Vec::new();
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .with_context(|| format!("cannot read {what} {}", path.display()))?;
    if bytes.len() as u64 > limit {
        return Err(anyhow!(
            "{what} {} is larger than {} MiB; portplan does not read it",
            path.display(),
            limit >> 20
        )
        .into());
    }
    Ok(match String::from_utf8(bytes) {
        Ok(s) => s,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    })
}

/// Writes a file the user named. A symbolic link at that name is refused rather than followed,
/// so the file lands in the directory the path names and nowhere else.
pub fn write_file(path: &Path, text: &str) -> Result<(), Failure> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create directory {}", dir.display()))?;
    }
    write_no_follow(path, text)
}

/// Writes `relative` (a plain relative path, checked by the renderer) inside `dir`: every
/// directory on the way is created or must be a real directory, never a symbolic link, and the
/// file itself is opened without following one (a link placed in the output directory would
/// otherwise send the write anywhere on the machine).
pub fn write_inside(dir: &Path, relative: &Path, text: &str) -> Result<(), Failure> {
    let mut at = dir.to_path_buf();
    let parts: Vec<_> = relative.components().collect();
    for part in &parts[..parts.len().saturating_sub(1)] {
        at.push(part);
        match std::fs::symlink_metadata(&at) {
            Ok(m) if m.file_type().is_symlink() => {
                return Err(anyhow!(
                    "{} is a symbolic link: portplan writes only real files and directories inside {}",
                    at.display(),
                    dir.display()
                )
                .into());
            }
            Ok(m) if m.is_dir() => {}
            Ok(_) => {
                return Err(anyhow!("{} exists and is not a directory", at.display()).into());
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => std::fs::create_dir(&at)
                .with_context(|| format!("cannot create directory {}", at.display()))?,
            Err(e) => {
                return Err(anyhow!(e)
                    .context(format!("cannot use {}", at.display()))
                    .into());
            }
        }
    }
    write_no_follow(&dir.join(relative), text)
}

pub fn write_no_follow(path: &Path, text: &str) -> Result<(), Failure> {
    use std::os::unix::fs::OpenOptionsExt;
    if std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()) {
        return Err(anyhow!(
            "{} is a symbolic link: portplan does not write through it (remove it, or name the real file)",
            path.display()
        )
        .into());
    }
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    file.write_all(text.as_bytes())
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}
