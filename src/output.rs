//! Writing a whole file to a path the way the user means it: `gen -o PATH` and the reject
//! file (`load --reject-file PATH`) both write through here.
//!
//! PATH is written through to what it is: a symlink stays a link and its target gets
//! the data; a FIFO or a device is written directly (renaming over it would replace the
//! node). Only a regular file or a new path gets a temp file renamed into place, so no
//! reader ever sees half a file; the temp file lives in the real directory of the
//! target, since a rename cannot cross file systems. Errors name PATH, never the temp file.

use std::fs::{self, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Symlinks followed at most, as the kernel's own limit (ELOOP).
const MAX_LINKS: usize = 40;

/// What `path` finally names: symlinks followed, even dangling ones (whose target is then
/// a new file), the directory canonicalized.
fn real_path(path: &Path) -> io::Result<PathBuf> {
    let mut p = path.to_path_buf();
    for _ in 0..MAX_LINKS {
        match fs::symlink_metadata(&p) {
            Ok(m) if m.file_type().is_symlink() => {
                let target = fs::read_link(&p)?;
                p = match p.parent() {
                    Some(dir) if target.is_relative() => dir.join(target),
                    _ => target,
                };
            }
            Ok(_) => return p.canonicalize(),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                let name = p.file_name().ok_or_else(|| {
                    io::Error::new(io::ErrorKind::InvalidInput, "not a file name")
                })?;
                let dir = match p.parent() {
                    Some(d) if !d.as_os_str().is_empty() => d.canonicalize()?,
                    _ => std::env::current_dir()?,
                };
                return Ok(dir.join(name));
            }
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::other("too many levels of symbolic links"))
}

/// How a path is written: the one decision `write_through` and `check_writable` share.
#[derive(Debug)]
enum Target {
    /// A directory: nothing to write into.
    Directory,
    /// A FIFO, a character or block device, a socket: opened and written as it is.
    Through(PathBuf),
    /// A regular file (its metadata) or a new path: a temp file renamed over `real`.
    Replace {
        real: PathBuf,
        existing: Option<fs::Metadata>,
    },
}

/// Whether a node of this type is written into as it is rather than replaced.
fn writes_through(m: &fs::Metadata) -> bool {
    !m.is_file() && !m.is_dir()
}

fn target(path: &Path) -> io::Result<Target> {
    let real = real_path(path)?;
    match fs::metadata(&real) {
        Ok(m) if m.is_dir() => Ok(Target::Directory),
        Ok(m) if writes_through(&m) => Ok(Target::Through(real)),
        Ok(m) => Ok(Target::Replace {
            real,
            existing: Some(m),
        }),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Target::Replace {
            real,
            existing: None,
        }),
        Err(e) => Err(e),
    }
}

/// Whether `path` names a regular file (through symlinks): what `write_through` replaces.
/// `false` for a new path, and for a FIFO or device, which a caller with nothing to write
/// may leave alone (opening a FIFO for writing waits for a reader).
pub fn is_regular_file(path: &Path) -> bool {
    fs::metadata(path).is_ok_and(|m| m.is_file())
}

/// Fails unless [`write_through`] can write `path`, without writing it: a FIFO or device
/// must be writable (checked with `access`, not opened: opening a FIFO waits for a
/// reader, and closing it would end that reader's input); for a regular file or a new
/// path, a temp file must be creatable in its real directory (one is created and removed).
pub fn check_writable(path: &Path) -> io::Result<()> {
    match target(path)? {
        Target::Directory => Err(io::Error::new(
            io::ErrorKind::IsADirectory,
            "is a directory",
        )),
        Target::Through(real) => {
            use std::os::unix::ffi::OsStrExt;
            let c = std::ffi::CString::new(real.as_os_str().as_bytes())
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
            // SAFETY: a NUL-terminated path; access only reads it.
            match unsafe { libc::access(c.as_ptr(), libc::W_OK) } {
                0 => Ok(()),
                _ => Err(io::Error::last_os_error()),
            }
        }
        Target::Replace { real, .. } => {
            let dir = real.parent().unwrap_or(Path::new("/"));
            tempfile::Builder::new()
                .prefix(TEMP_PREFIX)
                .tempfile_in(dir)
                .map(drop)
        }
    }
}

/// The name of a temp file before it is renamed into place.
const TEMP_PREFIX: &str = ".chunkload-";

/// Runs `fill` on a buffered writer into `path` as described in the module docs.
pub fn write_through(
    path: &Path,
    fill: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> Result<()> {
    let name = path.display().to_string();
    let err = |e: io::Error| Error::io(name.clone(), e);
    match target(path).map_err(err)? {
        Target::Directory => Err(Error::usage(format!("{name} is a directory"))),
        Target::Through(real) => {
            // FIFO, character or block device, socket: write into it as it is.
            let file = OpenOptions::new().write(true).open(&real).map_err(err)?;
            let mut w = BufWriter::new(file);
            fill(&mut w).and_then(|_| w.flush()).map_err(err)
        }
        Target::Replace { real, existing } => {
            let dir = real.parent().unwrap_or(Path::new("/"));
            let tmp = tempfile::Builder::new()
                .prefix(TEMP_PREFIX)
                .tempfile_in(dir)
                .map_err(err)?;
            // An ordinary file: keep a replaced file's mode, else 0644
            // (temp files are created 0600).
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                let mode = existing.map_or(0o644, |m| m.permissions().mode() & 0o7777);
                tmp.as_file()
                    .set_permissions(fs::Permissions::from_mode(mode))
                    .map_err(err)?;
            }
            let mut w = BufWriter::new(tmp.as_file());
            fill(&mut w).and_then(|_| w.flush()).map_err(err)?;
            drop(w);
            tmp.as_file().sync_all().map_err(err)?;
            tmp.persist(&real).map_err(|e| err(e.error))?;
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dangling_symlink_creates_its_target_and_stays_a_link() {
        let dir = tempfile::tempdir().unwrap();
        let link = dir.path().join("link.csv");
        std::os::unix::fs::symlink("sub/target.csv", &link).unwrap();
        fs::create_dir(dir.path().join("sub")).unwrap();
        write_through(&link, |w| w.write_all(b"a\n")).unwrap();
        assert!(fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(fs::read(dir.path().join("sub/target.csv")).unwrap(), b"a\n");
        assert_eq!(fs::read_dir(dir.path().join("sub")).unwrap().count(), 1);
    }

    #[test]
    fn a_device_is_written_through_and_a_file_replaced() {
        // stat only: /dev/null is never opened here.
        let null = fs::metadata("/dev/null").unwrap();
        assert!(writes_through(&null));
        assert!(matches!(
            target(Path::new("/dev/null")).unwrap(),
            Target::Through(_)
        ));
        assert!(!is_regular_file(Path::new("/dev/null")));
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("f.csv");
        fs::write(&file, "x").unwrap();
        assert!(!writes_through(&fs::metadata(&file).unwrap()));
        assert!(is_regular_file(&file));
        assert!(matches!(
            target(&file).unwrap(),
            Target::Replace {
                existing: Some(_),
                ..
            }
        ));
        assert!(matches!(target(dir.path()).unwrap(), Target::Directory));
    }

    #[test]
    fn a_fifo_is_checked_without_being_opened_and_written_through() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("p");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: a path in our temp dir.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        // No reader: opening it for writing would wait; the check must not.
        check_writable(&fifo).unwrap();
        let reader = {
            let fifo = fifo.clone();
            std::thread::spawn(move || fs::read(fifo).unwrap())
        };
        write_through(&fifo, |w| w.write_all(b"a,b\n")).unwrap();
        assert_eq!(reader.join().unwrap(), b"a,b\n");
        use std::os::unix::fs::FileTypeExt;
        assert!(fs::symlink_metadata(&fifo).unwrap().file_type().is_fifo());
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn the_check_refuses_what_the_write_would_fail_on_and_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let plain = dir.path().join("plain");
        fs::write(&plain, "x").unwrap();
        let e = check_writable(&plain.join("r.csv")).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::NotADirectory, "{e}");
        let e = check_writable(dir.path()).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::IsADirectory, "{e}");
        check_writable(&dir.path().join("new.csv")).unwrap();
        check_writable(&plain).unwrap();
        // A symlink is checked where it points.
        let link = dir.path().join("link");
        std::os::unix::fs::symlink("plain/r.csv", &link).unwrap();
        assert!(check_writable(&link).is_err());
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 2, "no temp file left: {names:?}");
    }

    #[test]
    fn errors_name_the_path_not_the_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("no/such/dir/out.csv");
        let e = write_through(&missing, |w| w.write_all(b"x")).unwrap_err();
        assert!(
            e.to_string().contains(&missing.display().to_string()),
            "{e}"
        );
        let e = write_through(dir.path(), |w| w.write_all(b"x")).unwrap_err();
        assert!(e.to_string().contains("is a directory"), "{e}");
        let file = dir.path().join("f.csv");
        let e = write_through(&file, |_| Err(io::Error::other("boom"))).unwrap_err();
        let text = e.to_string();
        assert!(text.contains(&file.display().to_string()) && !text.contains(TEMP_PREFIX));
        assert!(!file.exists(), "a failed write leaves nothing");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
