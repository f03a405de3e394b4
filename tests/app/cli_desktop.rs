//! The command line's desktop side: `ferry config set autostart` writes and removes the XDG
//! autostart entry under XDG_CONFIG_HOME (the same entry the window's Settings switch
//! writes), and `ferry WORD` stays a usage error unless WORD is a command or a file.

use super::support::*;

#[test]
fn autostart_is_written_and_removed_exactly_as_set() {
    let s = Sandbox::new();
    let config = s.dir.path().join("xdg config");
    let entry = config.join("autostart/Ferry.desktop");
    let run = |args: &[&str]| s.run_with(args, "", |c| {
        c.env("XDG_CONFIG_HOME", &config);
    });

    assert_eq!(run(&["config", "get", "autostart"]).ok().stdout(), "false\n");
    assert!(run(&["config", "list"]).ok().stdout().contains("\nautostart=false\nstart_hidden=true\n"));
    assert_eq!(run(&["config", "set", "autostart", "true"]).ok().stdout(), "autostart=true\n");
    let text = std::fs::read_to_string(&entry).expect("the entry is written");
    let exec = text.lines().find_map(|l| l.strip_prefix("Exec=")).expect("an Exec line");
    assert_eq!(exec, format!("{BIN} --hidden --data-dir {}", s.data_dir().display()));
    assert!(text.starts_with("[Desktop Entry]\nType=Application\n"), "{text}");

    assert_eq!(run(&["config", "set", "start_hidden", "false"]).ok().stdout(), "start_hidden=false\n");
    let exec = std::fs::read_to_string(&entry).unwrap();
    assert!(!exec.contains("--hidden"), "{exec}");
    assert_eq!(run(&["config", "get", "start_hidden"]).ok().stdout(), "false\n");

    assert_eq!(run(&["config", "set", "autostart", "false"]).ok().stdout(), "autostart=false\n");
    assert!(!entry.exists(), "the entry is removed");
    // Nothing to remove is fine; a bad value is a usage error naming the key.
    run(&["config", "set", "autostart", "false"]).ok();
    let bad = run(&["config", "set", "autostart", "maybe"]);
    assert_eq!(bad.code(), 2);
    assert!(bad.stderr().contains("autostart: expected true or false"), "{}", bad.stderr());
    assert!(!entry.exists());
}

#[test]
fn a_word_that_is_neither_a_command_nor_a_file_is_a_usage_error() {
    let s = Sandbox::new();
    let typo = s.run(&["queu"], "");
    assert_eq!(typo.code(), 2, "{}", typo.stderr());
    assert!(typo.stderr().contains("\"queu\" is neither a command nor an existing file"), "{}", typo.stderr());
    // Commands keep priority over files of the same name.
    s.run(&["queue"], "").ok();
}
