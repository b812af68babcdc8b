//! The data folder and the lasting identity kept in it.
//!
//! `$XDG_DATA_HOME/qrchat` (else `~/.local/share/qrchat`), mode 0700; the identity is
//! `identity.pem` in it (the certificate and its private key), mode 0600. Removing the
//! folder resets everything: a new identity on the next start, no known peers.

use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::rtc::Identity;

/// The identity file in the data folder.
pub const IDENTITY_FILE: &str = "identity.pem";

#[derive(Debug, thiserror::Error)]
pub enum DataDirError {
    #[error("no data folder: neither XDG_DATA_HOME nor HOME is set to an absolute path")]
    NoHome,
    #[error("cannot use the data folder {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "the identity file {path} cannot be read ({why}); move it away to make a new \
         identity (known peers then need pairing by code again)"
    )]
    BadIdentity { path: PathBuf, why: String },
    #[error("cannot make a new identity: {0}")]
    Generate(String),
}

/// Where qrchat keeps what lasts: `$XDG_DATA_HOME/qrchat` or `~/.local/share/qrchat`.
pub fn data_dir() -> Result<PathBuf, DataDirError> {
    data_dir_from(&|k| std::env::var_os(k))
}

/// [`data_dir`] from a given environment (tests).
pub fn data_dir_from(env: &dyn Fn(&str) -> Option<OsString>) -> Result<PathBuf, DataDirError> {
    let abs = |v: Option<OsString>| v.map(PathBuf::from).filter(|p| p.is_absolute());
    if let Some(d) = abs(env("XDG_DATA_HOME")) {
        return Ok(d.join("qrchat"));
    }
    abs(env("HOME"))
        .map(|h| h.join(".local/share/qrchat"))
        .ok_or(DataDirError::NoHome)
}

/// Make the folder (and its parents) if needed; the folder itself owner-only.
pub fn ensure_dir(dir: &Path) -> Result<(), DataDirError> {
    let io = |source| DataDirError::Io {
        path: dir.to_path_buf(),
        source,
    };
    std::fs::create_dir_all(dir).map_err(io)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).map_err(io)?;
    }
    Ok(())
}

/// Write a file owner-only, whole or not at all (a temporary file renamed over it).
pub fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let tmp = dir.join(format!(
        ".{}.tmp{}",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("file"),
        std::process::id()
    ));
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let res = (|| {
        let mut f = opts.open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if res.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    res
}

/// The lasting identity in `dir`, made (and kept) on first use.
pub fn load_or_create_identity(dir: &Path) -> Result<Identity, DataDirError> {
    ensure_dir(dir)?;
    let path = dir.join(IDENTITY_FILE);
    match std::fs::read_to_string(&path) {
        Ok(text) => Identity::from_pem(&text).map_err(|e| DataDirError::BadIdentity {
            path: path.clone(),
            why: e.to_string(),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let id = Identity::generate().map_err(|e| DataDirError::Generate(e.to_string()))?;
            write_private(&path, id.to_pem().as_bytes()).map_err(|source| DataDirError::Io {
                path: path.clone(),
                source,
            })?;
            tracing::info!("made a new lasting identity");
            Ok(id)
        }
        Err(source) => Err(DataDirError::Io { path, source }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_dir_follows_xdg_then_home() {
        let env = |k: &str| match k {
            "XDG_DATA_HOME" => Some(OsString::from("/x/data")),
            "HOME" => Some(OsString::from("/home/a")),
            _ => None,
        };
        assert_eq!(
            data_dir_from(&env).unwrap(),
            PathBuf::from("/x/data/qrchat")
        );
        let env = |k: &str| match k {
            "XDG_DATA_HOME" => Some(OsString::from("relative")),
            "HOME" => Some(OsString::from("/home/a")),
            _ => None,
        };
        assert_eq!(
            data_dir_from(&env).unwrap(),
            PathBuf::from("/home/a/.local/share/qrchat")
        );
        assert!(data_dir_from(&|_| None).is_err());
    }

    #[test]
    fn the_identity_lasts_and_is_owner_only() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("qrchat");
        let a = load_or_create_identity(&dir).unwrap();
        let b = load_or_create_identity(&dir).unwrap();
        assert_eq!(
            a.fingerprint(),
            b.fingerprint(),
            "a second start made a new one"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(&dir), 0o700);
            assert_eq!(mode(&dir.join(IDENTITY_FILE)), 0o600);
        }
        std::fs::write(dir.join(IDENTITY_FILE), "garbage").unwrap();
        let err = load_or_create_identity(&dir).unwrap_err().to_string();
        assert!(err.contains("move it away"), "{err}");
    }
}
