//! What a headless session checks before it prints any code: a `--send` path that does not
//! exist or cannot be read, or a `--receive` folder that cannot be used, ends the run at
//! once (non-zero, stdout empty) with the path and the reason, instead of after a pairing.

use std::path::Path;

use anyhow::{bail, Result};

/// `--send` paths exist and can be read (a folder: listed); `--receive` is a folder we can
/// write into (created if missing, as `--history` is).
pub fn paths(send: &[std::path::PathBuf], receive: Option<&Path>) -> Result<()> {
    for p in send {
        readable(p)?;
    }
    if let Some(dir) = receive {
        usable_folder(dir)?;
    }
    Ok(())
}

fn readable(p: &Path) -> Result<()> {
    let meta = match std::fs::metadata(p) {
        Ok(m) => m,
        Err(e) => bail!("--send {}: {}", p.display(), reason(&e)),
    };
    let opened = if meta.is_dir() {
        std::fs::read_dir(p).map(|_| ())
    } else {
        std::fs::File::open(p).map(|_| ())
    };
    if let Err(e) = opened {
        bail!("--send {}: cannot be read: {}", p.display(), reason(&e));
    }
    Ok(())
}

fn usable_folder(dir: &Path) -> Result<()> {
    if dir.exists() && !dir.is_dir() {
        bail!("--receive {}: not a folder", dir.display());
    }
    if let Err(e) = std::fs::create_dir_all(dir) {
        bail!(
            "--receive {}: cannot create it: {}",
            dir.display(),
            reason(&e)
        );
    }
    if let Err(e) = rustix::fs::access(
        dir,
        rustix::fs::Access::WRITE_OK | rustix::fs::Access::EXEC_OK,
    ) {
        bail!(
            "--receive {}: cannot write into it: {}",
            dir.display(),
            reason(&std::io::Error::from(e))
        );
    }
    Ok(())
}

/// An I/O error in words, without the "(os error N)" tail.
fn reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file or folder".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => {
            let s = e.to_string();
            match s.find(" (os error") {
                Some(i) => s[..i].to_owned(),
                None => s,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_and_wrong_paths_are_named_with_the_reason() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope.txt");
        let e = paths(std::slice::from_ref(&missing), None)
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            format!("--send {}: no such file or folder", missing.display())
        );
        let file = dir.path().join("f");
        std::fs::write(&file, b"x").unwrap();
        assert!(paths(&[file.clone(), dir.path().to_owned()], None).is_ok());
        let e = paths(&[], Some(&file)).unwrap_err().to_string();
        assert_eq!(e, format!("--receive {}: not a folder", file.display()));
        // Created if missing, nested.
        let new = dir.path().join("a/b/inbox");
        paths(&[], Some(&new)).unwrap();
        assert!(new.is_dir());
        // Under a file: cannot be created.
        let under = file.join("inbox");
        let e = paths(&[], Some(&under)).unwrap_err().to_string();
        assert!(
            e.starts_with(&format!("--receive {}: cannot create it", under.display())),
            "{e}"
        );
    }
}
