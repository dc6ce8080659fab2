//! Replacing a file atomically: a temporary file beside it, written, flushed to disk and
//! renamed over it, with the replaced file's permissions (or owner-only ones for a new file).
//! A path that is a symbolic link is followed first, so the link's target is replaced and the
//! link stays.

use std::borrow::Cow;
use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// How [`ErrorCollector::export_with`](crate::ErrorCollector::export_with) writes its file.
///
/// On Unix, a file that already exists keeps its permission bits; a new one is created
/// readable and writable by its owner alone (`0o600`: contexts may hold sensitive data)
/// unless [`new_file_mode`](Self::new_file_mode) says otherwise.
///
/// ```
/// let options = mcpstore_errors::ExportOptions::new();
/// # #[cfg(unix)]
/// let options = options.new_file_mode(0o640);
/// # let _ = options;
/// ```
#[derive(Debug, Clone, Default)]
pub struct ExportOptions {
    #[cfg(unix)]
    new_file_mode: Option<u32>,
}

impl ExportOptions {
    /// The defaults: see [`ExportOptions`].
    pub fn new() -> Self {
        Self::default()
    }

    /// The permission bits of a file the export creates (default `0o600`), applied exactly,
    /// whatever the process's umask. A file being replaced keeps its own.
    #[cfg(unix)]
    pub fn new_file_mode(mut self, mode: u32) -> Self {
        self.new_file_mode = Some(mode & 0o777);
        self
    }
}

/// Writes a new temporary file beside `path` with `write`, flushes it to disk, renames it
/// over `path` and flushes the folder: readers see the old file or the new one, never a
/// part, a failure leaves the old file as it was, and once it returns the new file survives
/// a crash. A symbolic link is followed (see [`follow_links`]): its target is replaced, the
/// link is left as it is.
pub(super) fn replace(
    path: &Path,
    options: &ExportOptions,
    write: impl FnOnce(&mut File) -> io::Result<()>,
) -> io::Result<()> {
    let path = &*follow_links(path)?;
    let (temporary, mut file) = create_temporary(path, options)?;
    let written = write(&mut file)
        .and_then(|()| file.sync_all())
        .and_then(|()| {
            drop(file);
            fs::rename(&temporary, path)
        });
    if written.is_err() {
        // Best effort: the failure being reported matters more than a leftover file.
        let _ = fs::remove_file(&temporary);
    }
    written?;
    sync_directory_of(path)
}

/// How many links [`follow_links`] follows, as Linux's `ELOOP` limit.
const MAX_LINKS: usize = 40;

/// The file an export to `path` lands in: `path`, or, while it is a symbolic link, what the
/// link names (a relative target read against the link's folder), so the temporary file is
/// made beside the real target and the rename stays in one file system. A dangling link
/// leads to the file it names, created as opening the link for writing would create it. A
/// loop (or a chain over [`MAX_LINKS`]) is an `Err`. The link is read once, before the
/// write: one swapped meanwhile is not noticed.
fn follow_links(path: &Path) -> io::Result<Cow<'_, Path>> {
    let mut resolved = Cow::Borrowed(path);
    for _ in 0..MAX_LINKS {
        match fs::symlink_metadata(&resolved) {
            Ok(metadata) if metadata.file_type().is_symlink() => {
                let target = fs::read_link(&resolved)?;
                // `join` keeps an absolute target as it is.
                let next = match resolved.parent() {
                    Some(dir) => dir.join(target),
                    None => target,
                };
                resolved = Cow::Owned(next);
            }
            // Not a link, nothing there yet, or unreadable: the write reports any failure.
            _ => return Ok(resolved),
        }
    }
    Err(io::Error::new(
        io::ErrorKind::InvalidInput,
        "too many levels of symbolic links",
    ))
}

/// Flushes the rename itself to disk: until the folder's entry is, a crash may leave the old
/// file (or none) under `path`.
#[cfg(unix)]
fn sync_directory_of(path: &Path) -> io::Result<()> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    File::open(dir)?.sync_all()
}

/// Windows flushes no folder: the rename is as durable as the system makes it.
#[cfg(not(unix))]
fn sync_directory_of(_path: &Path) -> io::Result<()> {
    Ok(())
}

/// A new file `dir/.mcpstore-<pid>-<n>.tmp`: in the same folder (so the rename cannot cross
/// file systems), hidden, and short, so a target name at the length limit still leaves room.
fn create_temporary(path: &Path, options: &ExportOptions) -> io::Result<(PathBuf, File)> {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    if path.file_name().is_none() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "the path names no file",
        ));
    }
    let mode = mode_for(path, options);
    // A name left by a process that crashed with the same id is skipped.
    let mut attempts = 0;
    loop {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let temporary = path.with_file_name(format!(".mcpstore-{}-{n}.tmp", std::process::id()));
        match create_new(&temporary, mode) {
            Ok(file) => return Ok((temporary, file)),
            Err(error) if error.kind() == io::ErrorKind::AlreadyExists && attempts < 100 => {
                attempts += 1;
            }
            Err(error) => return Err(error),
        }
    }
}

#[cfg(unix)]
type Mode = u32;
#[cfg(not(unix))]
type Mode = ();

/// The replaced file's permission bits, or the ones asked for a new file.
#[cfg(unix)]
fn mode_for(path: &Path, options: &ExportOptions) -> Mode {
    use std::os::unix::fs::PermissionsExt;
    match fs::metadata(path) {
        Ok(existing) => existing.permissions().mode() & 0o777,
        Err(_) => options.new_file_mode.unwrap_or(0o600),
    }
}

#[cfg(not(unix))]
fn mode_for(_: &Path, _: &ExportOptions) -> Mode {}

#[cfg(unix)]
fn create_new(temporary: &Path, mode: Mode) -> io::Result<File> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    // Created owner-only, so no one else can open it before its mode is set; then set
    // exactly, since the umask applies to the mode given at creation.
    let file = File::options()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(temporary)?;
    if let Err(error) = file.set_permissions(fs::Permissions::from_mode(mode)) {
        let _ = fs::remove_file(temporary);
        return Err(error);
    }
    Ok(file)
}

#[cfg(not(unix))]
fn create_new(temporary: &Path, (): Mode) -> io::Result<File> {
    File::options().write(true).create_new(true).open(temporary)
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("mcpstore-file-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn a_failed_write_leaves_the_earlier_file_intact_and_no_temporary_file() {
        let dir = scratch("failed");
        let path = dir.join("errors.json");
        fs::write(&path, "earlier").unwrap();
        let failed = replace(&path, &ExportOptions::new(), |file| {
            file.write_all(b"half")?;
            Err(io::Error::other("disk full"))
        });
        assert_eq!(failed.unwrap_err().to_string(), "disk full");
        assert_eq!(fs::read_to_string(&path).unwrap(), "earlier");
        assert_eq!(names(&dir), ["errors.json"]);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_path_without_a_file_name_is_refused() {
        let error = replace(Path::new("/"), &ExportOptions::new(), |_| Ok(())).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::InvalidInput);
    }
}
