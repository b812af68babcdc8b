//! The default receive folder: `qrchat/` in the user's download folder.
//!
//! The download folder is `$XDG_DOWNLOAD_DIR` if set (and absolute); else the
//! `XDG_DOWNLOAD_DIR=` line of `user-dirs.dirs` in `$XDG_CONFIG_HOME` (or `~/.config`),
//! as xdg-user-dirs writes it (`"$HOME/Downloads"` or an absolute path; a value of just
//! `$HOME` means "none" there, and we take `~/Downloads`); else `~/Downloads`.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// The receive folder for this environment (`env` looks a variable up; files are read
/// from the real filesystem at the paths the variables give). None without a HOME.
pub fn receive_dir_from(env: &dyn Fn(&str) -> Option<OsString>) -> Option<PathBuf> {
    download_dir_from(env).map(|d| d.join("qrchat"))
}

/// [`receive_dir_from`] with the process environment.
pub fn default_receive_dir() -> Option<PathBuf> {
    receive_dir_from(&|k| std::env::var_os(k))
}

fn absolute(v: Option<OsString>) -> Option<PathBuf> {
    v.map(PathBuf::from).filter(|p| p.is_absolute())
}

/// The download folder itself.
pub fn download_dir_from(env: &dyn Fn(&str) -> Option<OsString>) -> Option<PathBuf> {
    if let Some(p) = absolute(env("XDG_DOWNLOAD_DIR")) {
        return Some(p);
    }
    let home = absolute(env("HOME"))?;
    let config = absolute(env("XDG_CONFIG_HOME")).unwrap_or_else(|| home.join(".config"));
    if let Ok(text) = std::fs::read_to_string(config.join("user-dirs.dirs")) {
        if let Some(p) = parse_user_dirs(&text, &home) {
            return Some(p);
        }
    }
    Some(home.join("Downloads"))
}

/// The `XDG_DOWNLOAD_DIR` of a `user-dirs.dirs` file (the last one wins, as the shell
/// that file is written for would have it).
pub fn parse_user_dirs(text: &str, home: &Path) -> Option<PathBuf> {
    let mut found = None;
    for line in text.lines() {
        let line = line.trim();
        let Some(v) = line.strip_prefix("XDG_DOWNLOAD_DIR=") else {
            continue;
        };
        let Some(v) = v.strip_prefix('"').and_then(|v| v.strip_suffix('"')) else {
            continue;
        };
        let v = v.replace("\\\"", "\"").replace("\\\\", "\\");
        found = if v == "$HOME" || v == "$HOME/" {
            None
        } else if let Some(rest) = v.strip_prefix("$HOME/") {
            Some(home.join(rest))
        } else if v.starts_with('/') {
            Some(PathBuf::from(v))
        } else {
            None
        };
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env_of(pairs: &[(&str, &Path)]) -> impl Fn(&str) -> Option<OsString> {
        let m: HashMap<String, OsString> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.as_os_str().to_owned()))
            .collect();
        move |k| m.get(k).cloned()
    }

    #[test]
    fn the_variable_wins() {
        let home = tempfile::tempdir().unwrap();
        let env = env_of(&[
            ("HOME", home.path()),
            ("XDG_DOWNLOAD_DIR", Path::new("/data/dl")),
        ]);
        assert_eq!(
            receive_dir_from(&env),
            Some(PathBuf::from("/data/dl/qrchat"))
        );
        // a relative value is ignored
        let env = env_of(&[("HOME", home.path()), ("XDG_DOWNLOAD_DIR", Path::new("dl"))]);
        assert_eq!(
            receive_dir_from(&env),
            Some(home.path().join("Downloads/qrchat"))
        );
    }

    #[test]
    fn user_dirs_file_is_read() {
        let home = tempfile::tempdir().unwrap();
        std::fs::create_dir(home.path().join(".config")).unwrap();
        std::fs::write(
            home.path().join(".config/user-dirs.dirs"),
            "# written by xdg-user-dirs-update\nXDG_DESKTOP_DIR=\"$HOME/Desktop\"\n\
             XDG_DOWNLOAD_DIR=\"$HOME/Téléchargements\"\n",
        )
        .unwrap();
        let env = env_of(&[("HOME", home.path())]);
        assert_eq!(
            receive_dir_from(&env),
            Some(home.path().join("Téléchargements/qrchat"))
        );
        // XDG_CONFIG_HOME moves the file
        let cfg = tempfile::tempdir().unwrap();
        std::fs::write(
            cfg.path().join("user-dirs.dirs"),
            "XDG_DOWNLOAD_DIR=\"/srv/in\"\n",
        )
        .unwrap();
        let env = env_of(&[("HOME", home.path()), ("XDG_CONFIG_HOME", cfg.path())]);
        assert_eq!(
            receive_dir_from(&env),
            Some(PathBuf::from("/srv/in/qrchat"))
        );
    }

    #[test]
    fn fallbacks() {
        let home = tempfile::tempdir().unwrap();
        let env = env_of(&[("HOME", home.path())]);
        assert_eq!(
            receive_dir_from(&env),
            Some(home.path().join("Downloads/qrchat"))
        );
        assert_eq!(receive_dir_from(&env_of(&[])), None);
        let h = Path::new("/home/u");
        assert_eq!(parse_user_dirs("XDG_DOWNLOAD_DIR=\"$HOME\"\n", h), None);
        assert_eq!(parse_user_dirs("XDG_DOWNLOAD_DIR=$HOME/x\n", h), None);
        assert_eq!(parse_user_dirs("XDG_DOWNLOAD_DIR=\"rel\"\n", h), None);
        assert_eq!(
            parse_user_dirs("XDG_DOWNLOAD_DIR=\"$HOME/a \\\"b\\\"\"\n", h),
            Some(PathBuf::from("/home/u/a \"b\""))
        );
    }
}
