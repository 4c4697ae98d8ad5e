//! Writing a generated dataset to a path the way the user means it.
//!
//! `-o PATH` writes through to what PATH is: a symlink stays a link and its target gets
//! the data; a FIFO or a device is written directly (renaming over it would replace the
//! node). Only a regular file or a new path gets a temp file renamed into place, so no
//! reader ever sees half a dataset; the temp file lives in the real directory of the
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

/// Runs `fill` on a buffered writer into `path` as described in the module docs.
pub fn write_through(
    path: &Path,
    fill: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> Result<()> {
    let name = path.display().to_string();
    let err = |e: io::Error| Error::io(name.clone(), e);
    let real = real_path(path).map_err(err)?;
    let existing = match fs::metadata(&real) {
        Ok(m) => Some(m),
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        Err(e) => return Err(err(e)),
    };
    match existing {
        Some(m) if m.is_dir() => Err(Error::usage(format!("{name} is a directory"))),
        Some(m) if !m.is_file() => {
            // FIFO, character or block device, socket: write into it as it is.
            let file = OpenOptions::new().write(true).open(&real).map_err(err)?;
            let mut w = BufWriter::new(file);
            fill(&mut w).and_then(|_| w.flush()).map_err(err)
        }
        _ => {
            let dir = real.parent().unwrap_or(Path::new("/"));
            let tmp = tempfile::Builder::new()
                .prefix(".chunkload-gen-")
                .tempfile_in(dir)
                .map_err(err)?;
            // A dataset is an ordinary file: keep a replaced file's mode, else 0644
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
        assert!(text.contains(&file.display().to_string()) && !text.contains(".chunkload-gen-"));
        assert!(!file.exists(), "a failed write leaves nothing");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
