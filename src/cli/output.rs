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

/// Writes a file the user named. A symbolic link or a directory at that name is refused rather
/// than followed or replaced, so the file lands in the directory the path names and nowhere else;
/// the write is atomic (see [`write_no_follow`]).
pub fn write_file(path: &Path, text: &str) -> Result<(), Failure> {
    check_target(path)?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create directory {}", dir.display()))?;
    }
    write_no_follow(path, text)
}

/// Writes several files (plain relative paths, checked by the renderer) inside `dir`, all or
/// nothing. First every target is checked: each directory on the way must be a real directory
/// or not exist yet (never a symbolic link), and the file itself neither a symbolic link nor a
/// directory; a refusal writes nothing. Then every text goes to a fresh temporary file beside its
/// target; if one cannot be written (a full disk), the temporary files and the directories this
/// call created are removed and every old file is left as it was. Only then are the temporary
/// files renamed over their targets, which replaces a directory entry and never writes into an
/// existing file (the other names of a hard-linked file keep their content).
pub fn write_all_inside(dir: &Path, files: &[(&Path, &str)]) -> Result<(), Failure> {
    for (relative, _) in files {
        check_inside(dir, relative)?;
    }
    let mut staged = Staged::default();
    for (relative, text) in files {
        make_directories(dir, relative, &mut staged.created)?;
        let target = dir.join(relative);
        let temporary = write_temporary(&target, text)?;
        staged.files.push((temporary, target));
    }
    staged.commit()
}

/// Writes `path` atomically: a symbolic link or directory at the name is refused, the text goes
/// to a temporary file created fresh in the same directory (`O_EXCL | O_NOFOLLOW`), which is then
/// renamed over `path`. A failed write leaves the old file intact.
pub fn write_no_follow(path: &Path, text: &str) -> Result<(), Failure> {
    check_target(path)?;
    let mut staged = Staged::default();
    staged
        .files
        .push((write_temporary(path, text)?, path.to_path_buf()));
    staged.commit()
}

/// Temporary files waiting to be renamed over their targets, and the directories made for them;
/// dropped before [`Staged::commit`] (an error on the way), they are removed again.
#[derive(Default)]
struct Staged {
    files: Vec<(std::path::PathBuf, std::path::PathBuf)>,
    created: Vec<std::path::PathBuf>,
}

impl Staged {
    fn commit(mut self) -> Result<(), Failure> {
        let files = std::mem::take(&mut self.files);
        self.created.clear();
        let mut files = files.into_iter();
        while let Some((temporary, target)) = files.next() {
            if let Err(e) = std::fs::rename(&temporary, &target) {
                let _ = std::fs::remove_file(&temporary);
                for (rest, _) in files {
                    let _ = std::fs::remove_file(rest);
                }
                return Err(anyhow!(e)
                    .context(format!("cannot write {}", target.display()))
                    .into());
            }
        }
        Ok(())
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        for (temporary, _) in &self.files {
            let _ = std::fs::remove_file(temporary);
        }
        for dir in self.created.iter().rev() {
            let _ = std::fs::remove_dir(dir);
        }
    }
}

/// Refuses a target that is a symbolic link or a directory.
fn check_target(path: &Path) -> Result<(), Failure> {
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => Err(anyhow!(
            "{} is a symbolic link: portplan does not write through it (remove it, or name the real file)",
            path.display()
        )
        .into()),
        Ok(m) if m.is_dir() => Err(anyhow!(
            "{} is a directory: portplan writes a file there only where nothing but a file is in the way",
            path.display()
        )
        .into()),
        _ => Ok(()),
    }
}

/// Checks, without changing anything, that `relative` can be written inside `dir`.
fn check_inside(dir: &Path, relative: &Path) -> Result<(), Failure> {
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
            // the rest of the way is made when the files are written
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => {
                return Err(anyhow!(e)
                    .context(format!("cannot use {}", at.display()))
                    .into());
            }
        }
    }
    check_target(&dir.join(relative))
}

/// Makes the directories on the way to `relative` inside `dir`, noting those it created; a
/// symbolic link or file found on the way (put there since the check) is refused.
fn make_directories(
    dir: &Path,
    relative: &Path,
    created: &mut Vec<std::path::PathBuf>,
) -> Result<(), Failure> {
    let mut at = dir.to_path_buf();
    let parts: Vec<_> = relative.components().collect();
    for part in &parts[..parts.len().saturating_sub(1)] {
        at.push(part);
        match std::fs::create_dir(&at) {
            Ok(()) => created.push(at.clone()),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                let real = std::fs::symlink_metadata(&at)
                    .is_ok_and(|m| m.is_dir() && !m.file_type().is_symlink());
                if !real {
                    return Err(anyhow!(
                        "{} is not a real directory: portplan writes only real files and directories inside {}",
                        at.display(),
                        dir.display()
                    )
                    .into());
                }
            }
            Err(e) => {
                return Err(anyhow!(e)
                    .context(format!("cannot create directory {}", at.display()))
                    .into());
            }
        }
    }
    Ok(())
}

/// Writes `text` to a new temporary file beside `target` and returns its path; on any error the
/// temporary file is removed and `target` is untouched.
fn write_temporary(target: &Path, text: &str) -> Result<std::path::PathBuf, Failure> {
    use std::os::unix::fs::OpenOptionsExt;
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let name = target
        .file_name()
        .ok_or_else(|| anyhow!("{} names no file", target.display()))?;
    let dir = target.parent().unwrap_or(Path::new(""));
    let cannot = || {
        format!(
            "cannot write {} (the old file, if any, is left as it was)",
            target.display()
        )
    };
    let mut attempt = 0;
    let (temporary, mut file) = loop {
        let temporary = dir.join(format!(
            ".{}.{}-{}.portplan-tmp",
            name.to_string_lossy(),
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&temporary)
        {
            Ok(file) => break (temporary, file),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && attempt < 100 => {
                attempt += 1;
            }
            Err(e) => return Err(anyhow!(e).context(cannot()).into()),
        }
    };
    let written = (|| {
        // an existing file keeps its permissions
        if let Ok(m) = std::fs::metadata(target) {
            file.set_permissions(m.permissions())?;
        }
        file.write_all(text.as_bytes())?;
        file.sync_all()
    })();
    if let Err(e) = written {
        drop(file);
        let _ = std::fs::remove_file(&temporary);
        return Err(anyhow!(e).context(cannot()).into());
    }
    Ok(temporary)
}
