//! Which files a watch uploads: its include/exclude globs, and never the temp files that
//! programs write before renaming them into place.

use std::path::Path;

use globset::{Glob, GlobSet, GlobSetBuilder};

use crate::error::{Error, Result};

/// Names that are work in progress by convention: partial downloads, office lock files,
/// editors' temp files, and dot-files.
const TEMP_PATTERNS: &[&str] = &["*.part", "*.partial", "*.crdownload", "*.download", "*.tmp", "*.temp", "*.swp", "~$*", ".~lock.*", ".*"];

pub struct Rules {
    include: Option<GlobSet>,
    exclude: GlobSet,
    temp: GlobSet,
}

fn set(patterns: &[String], field: &str) -> Result<GlobSet> {
    let mut b = GlobSetBuilder::new();
    for p in patterns {
        let g = Glob::new(p).map_err(|e| Error::invalid(field, format!("\"{p}\" is not a valid pattern: {e}")))?;
        b.add(g);
    }
    b.build().map_err(|e| Error::invalid(field, e.to_string()))
}

impl Rules {
    pub fn new(include: &[String], exclude: &[String]) -> Result<Rules> {
        let temp: Vec<String> = TEMP_PATTERNS.iter().map(|s| s.to_string()).collect();
        Ok(Rules {
            include: if include.is_empty() { None } else { Some(set(include, "include")?) },
            exclude: set(exclude, "exclude")?,
            temp: set(&temp, "temp")?,
        })
    }

    /// `rel` is the path relative to the watched folder. Patterns match the file name, or
    /// the relative path when they contain a `/`.
    pub fn wants(&self, rel: &Path) -> bool {
        let Some(name) = rel.file_name() else { return false };
        let hits = |s: &GlobSet| s.is_match(name) || s.is_match(rel);
        if hits(&self.temp) || hits(&self.exclude) {
            return false;
        }
        self.include.as_ref().is_none_or(hits)
    }

    /// Folders skipped entirely (hidden ones, and those the excludes name).
    pub fn skips_dir(&self, rel: &Path) -> bool {
        let Some(name) = rel.file_name() else { return false };
        name.to_string_lossy().starts_with('.') || self.exclude.is_match(name) || self.exclude.is_match(rel)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(inc: &[&str], exc: &[&str]) -> Rules {
        Rules::new(&inc.iter().map(|s| s.to_string()).collect::<Vec<_>>(), &exc.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap()
    }

    #[test]
    fn temp_files_are_never_wanted() {
        let r = rules(&[], &[]);
        for name in ["a.part", "movie.mp4.crdownload", "x.tmp", "~$report.docx", ".~lock.report.odt#", ".hidden", "sub/.DS_Store"] {
            assert!(!r.wants(Path::new(name)), "{name}");
        }
        assert!(r.wants(Path::new("photo.jpg")));
        assert!(r.wants(Path::new("sub/dir/photo.jpg")));
    }

    #[test]
    fn include_and_exclude() {
        let r = rules(&["*.jpg", "*.png"], &["thumbs/*", "*_small.jpg"]);
        assert!(r.wants(Path::new("a/b.jpg")));
        assert!(!r.wants(Path::new("a/b.txt")));
        assert!(!r.wants(Path::new("thumbs/b.jpg")));
        assert!(!r.wants(Path::new("x_small.jpg")));
        assert!(r.skips_dir(Path::new("thumbs")) || r.skips_dir(Path::new(".git")));
        assert!(r.skips_dir(Path::new(".git")));
    }

    #[test]
    fn a_bad_pattern_names_the_field() {
        let e = Rules::new(&["a[".into()], &[]).err().unwrap();
        assert_eq!(e.field(), Some("include"));
    }
}
