//! Walks a watched folder: every regular file the rules want, without following symbolic
//! links to folders (they can loop), collecting what could not be read instead of failing.

use std::path::{Path, PathBuf};

use super::rules::Rules;
use crate::source::Identity;

#[derive(Debug, Default)]
pub struct Scan {
    pub files: Vec<(PathBuf, Identity)>,
    pub dirs: usize,
    /// Folders that could not be listed, with the cause.
    pub unreadable: Vec<(PathBuf, String)>,
    /// Symbolic links to folders, not followed.
    pub links_skipped: usize,
}

pub fn scan(root: &Path, recursive: bool, rules: &Rules) -> std::io::Result<Scan> {
    let mut out = Scan::default();
    // The root itself must be there; everything below is best effort.
    std::fs::read_dir(root)?;
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        out.dirs += 1;
        let entries = match std::fs::read_dir(&dir) {
            Ok(rd) => rd,
            Err(e) => {
                out.unreadable.push((dir, e.to_string()));
                continue;
            }
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let rel = path.strip_prefix(root).unwrap_or(&path);
            let Ok(ft) = entry.file_type() else { continue };
            if ft.is_symlink() {
                match std::fs::metadata(&path) {
                    Ok(m) if m.is_dir() => out.links_skipped += 1,
                    Ok(m) if m.is_file() && rules.wants(rel) => out.files.push((path.clone(), Identity::of(&path, &m))),
                    _ => {}
                }
            } else if ft.is_dir() {
                if recursive && !rules.skips_dir(rel) {
                    stack.push(path);
                }
            } else if ft.is_file() && rules.wants(rel) {
                if let Ok(m) = entry.metadata() {
                    out.files.push((path.clone(), Identity::of(&path, &m)));
                }
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Symbolic links as unix makes them (Windows needs a privilege to create one).
    #[cfg(unix)]
    #[test]
    fn finds_files_skips_temp_and_survives_a_symlink_loop() {
        let d = tempfile::tempdir().unwrap();
        let root = d.path();
        std::fs::create_dir_all(root.join("a/b")).unwrap();
        std::fs::write(root.join("top.txt"), b"1").unwrap();
        std::fs::write(root.join("a/b/deep.txt"), b"2").unwrap();
        std::fs::write(root.join("a/b/partial.part"), b"3").unwrap();
        std::os::unix::fs::symlink(root, root.join("a/loop")).unwrap();
        let s = scan(root, true, &Rules::new(&[], &[]).unwrap()).unwrap();
        let mut names: Vec<String> = s.files.iter().map(|(p, _)| p.strip_prefix(root).unwrap().display().to_string()).collect();
        names.sort();
        assert_eq!(names, ["a/b/deep.txt", "top.txt"]);
        assert_eq!(s.links_skipped, 1);
        let flat = scan(root, false, &Rules::new(&[], &[]).unwrap()).unwrap();
        assert_eq!(flat.files.len(), 1);
        assert!(scan(&root.join("missing"), true, &Rules::new(&[], &[]).unwrap()).is_err());
    }
}
