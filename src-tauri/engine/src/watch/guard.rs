//! Where a watch may delete or move files: never out of the filesystem root, a home folder
//! itself (or what holds it), Ferry's own data, or the system's folders. Checked on
//! canonical paths, so a link or `..` cannot sneak past.

use std::path::{Component, Path, PathBuf};

use crate::error::{Error, Result};

/// Folders whose files no watch may delete or move, nor anything below them.
const SYSTEM_TREES: &[&str] = &["/bin", "/boot", "/dev", "/etc", "/lib", "/lib32", "/lib64", "/proc", "/run", "/sbin", "/sys", "/usr"];
/// Folders that may hold watchable folders, but are not one themselves.
const SYSTEM_ROOTS: &[&str] = &["/home", "/media", "/mnt", "/opt", "/srv", "/tmp", "/var", "/Users", "/Volumes"];

/// Refuses a destructive after-upload action on a folder where it could destroy what the
/// user did not mean to upload. `dir` exists; `data_dir` is Ferry's own.
pub fn check_destructive(dir: &Path, data_dir: &Path, home: Option<&Path>) -> Result<()> {
    let dir = canonical(dir);
    let refuse = |why: String| Err(Error::invalid("after", format!("Ferry will not delete or move files out of {}: {why}", dir.display())));
    if dir.parent().is_none() {
        return refuse("it is the root of the filesystem".into());
    }
    if let Some(home) = home.map(canonical) {
        if home.starts_with(&dir) {
            return refuse(format!("it is or holds the home folder {}; watch a folder inside it", home.display()));
        }
    }
    let data = canonical(data_dir);
    if data.starts_with(&dir) || dir.starts_with(&data) {
        return refuse("Ferry keeps its own database and logs there".into());
    }
    if SYSTEM_TREES.iter().any(|t| dir.starts_with(t)) || SYSTEM_ROOTS.iter().any(|t| dir == Path::new(t)) || windows_system(&dir) {
        return refuse("it is a system folder".into());
    }
    Ok(())
}

/// Is `target` (which may not exist yet) outside `dir`, once both are canonical?
pub fn outside(target: &Path, dir: &Path) -> bool {
    !canonical(target).starts_with(canonical(dir))
}

/// The canonical form of a path, existing or not: the longest existing ancestor is
/// resolved (links and all), the rest appended with `.` and `..` applied.
fn canonical(p: &Path) -> PathBuf {
    let mut existing = p.to_path_buf();
    let mut rest = Vec::new();
    while std::fs::canonicalize(&existing).is_err() {
        match (existing.file_name().map(ToOwned::to_owned), existing.parent()) {
            (Some(name), Some(parent)) => {
                rest.push(name);
                existing = parent.to_path_buf();
            }
            _ => break,
        }
    }
    let mut out = std::fs::canonicalize(&existing).unwrap_or(existing);
    for name in rest.into_iter().rev() {
        match Path::new(&name).components().next() {
            Some(Component::ParentDir) => {
                out.pop();
            }
            Some(Component::CurDir) | None => {}
            _ => out.push(name),
        }
    }
    out
}

/// `C:\Windows`, `C:\Program Files…`, `C:\ProgramData` and what is below them.
fn windows_system(dir: &Path) -> bool {
    let mut c = dir.components();
    let (Some(Component::Prefix(_)), Some(Component::RootDir), Some(Component::Normal(top))) = (c.next(), c.next(), c.next()) else {
        return false;
    };
    let top = top.to_string_lossy().to_lowercase();
    top == "windows" || top.starts_with("program files") || top == "programdata"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn destructive_actions_are_refused_on_dangerous_folders() {
        let tmp = tempfile::tempdir().unwrap();
        let home = tmp.path().join("home/ann");
        let data = home.join(".local/share/app.ferry.uploader");
        let inbox = home.join("Recordings/inbox");
        for d in [&data, &inbox] {
            std::fs::create_dir_all(d).unwrap();
        }
        let check = |d: &Path| check_destructive(d, &data, Some(&home));
        assert!(check(&inbox).is_ok());
        for (dir, why) in [
            (PathBuf::from("/"), "root of the filesystem"),
            (home.clone(), "home folder"),
            (home.join("Recordings/.."), "home folder"),
            (tmp.path().join("home"), "home folder"),
            (home.join(".local"), "database and logs"),
            (data.join("logs"), "database and logs"),
            (PathBuf::from("/etc"), "system folder"),
            (PathBuf::from("/usr/share"), "system folder"),
            (PathBuf::from("/var"), "system folder"),
        ] {
            let e = check(&dir).expect_err(&dir.display().to_string());
            assert_eq!(e.field(), Some("after"));
            assert!(e.to_string().contains(why), "{}: {e}", dir.display());
        }
        // Through a link: the folder it points at is what counts.
        #[cfg(unix)]
        {
            let link = tmp.path().join("shortcut");
            std::os::unix::fs::symlink(&home, &link).unwrap();
            assert!(check(&link).unwrap_err().to_string().contains("home folder"));
        }
    }

    #[test]
    fn outside_is_decided_on_canonical_paths() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("watched");
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        assert!(outside(&tmp.path().join("done"), &dir));
        assert!(!outside(&dir.join("sub/../done"), &dir), "textually outside-looking, really inside");
        assert!(!outside(&dir.join("new/deeper"), &dir), "not created yet, inside");
        assert!(outside(&dir.join("../done"), &dir), "textually inside, really outside");
        #[cfg(unix)]
        {
            let link = tmp.path().join("link-to-watched");
            std::os::unix::fs::symlink(&dir, &link).unwrap();
            assert!(!outside(&link.join("done"), &dir), "through a link, inside");
        }
    }
}
