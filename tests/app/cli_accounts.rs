//! `ferry account add|list|remove|test` against the real OS keyring.

use super::support::*;

#[test]
fn add_list_remove_with_the_secret_only_in_the_keyring() {
    let s = Sandbox::new();
    let secret = unique("api-secret");
    let key = unique("api-key");
    s.run(
        &["account", "add", "work", "--provider", "xfyun", "--set", "app_id=4CC5779A", "--endpoint", "http://127.0.0.1:9"],
        &format!("api_key={key}\napi_secret={secret}\n"),
    )
    .ok();

    let list = s.run(&["account", "list", "--json"], "").ok().stdout();
    let v: serde_json::Value = serde_json::from_str(list.lines().next().expect("one account")).unwrap();
    assert_eq!(v["name"], "work");
    assert_eq!(v["provider"], "xfyun");
    assert_eq!(v["endpoint"], "http://127.0.0.1:9");
    assert_eq!(v["settings"]["app_id"], "4CC5779A");
    assert_eq!(v["secret_keys"], serde_json::json!(["api_key", "api_secret"]));
    let plain = s.run(&["account", "list"], "").ok().stdout();
    assert!(plain.starts_with("work\txfyun\t"), "{plain}");

    // The secret is in the real keyring: a fresh process reads it back (the in-memory mock
    // keyring would lose it between processes)…
    let found = s.run(&["account", "list", "--json"], "").ok().stdout();
    assert!(!found.contains(&secret) && !plain.contains(&secret), "never printed");
    // …and it is nowhere in SQLite, nor in the logs.
    let files = s.sqlite_files();
    assert!(!files.is_empty());
    for (path, bytes) in &files {
        assert!(!contains(bytes, secret.as_bytes()), "secret found in {}", path.display());
        assert!(!contains(bytes, key.as_bytes()), "api key found in {}", path.display());
    }
    assert!(files.iter().any(|(_, b)| contains(b, b"4CC5779A")), "non-secret settings are in SQLite");
    assert!(!s.logs().contains(&secret));
    assert!(keyring_has(&secret), "secret-tool finds the secret in the Secret Service");

    s.run(&["account", "remove", "work"], "").ok();
    assert!(s.run(&["account", "list"], "").ok().stdout().is_empty());
    assert!(!keyring_has(&secret), "remove deletes the keyring entries");
    let again = s.run(&["account", "remove", "work"], "");
    assert_eq!(again.code(), 2);
    assert!(again.stderr().contains("no account named \"work\""), "{}", again.stderr());
}

fn keyring_has(value: &str) -> bool {
    let out = std::process::Command::new("secret-tool")
        .args(["search", "--all", "--unlock", "service", "app.ferry.uploader"])
        .output()
        .expect("secret-tool (libsecret-tools) is installed by scripts/setup.sh");
    String::from_utf8_lossy(&out.stdout).contains(value) || String::from_utf8_lossy(&out.stderr).contains(value)
}

#[test]
fn without_a_secret_service_nothing_is_written() {
    let s = Sandbox::new();
    let r = s.run_with(
        &["account", "add", "work", "--provider", "xfyun", "--set", "app_id=A"],
        "api_key=k\napi_secret=s\n",
        |c| {
            c.env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/ferry-test-bus");
        },
    );
    assert_eq!(r.code(), 1, "{}", r.stderr());
    assert!(r.stderr().contains("No Secret Service found: install and start gnome-keyring or KWallet"), "{}", r.stderr());
    assert!(s.run(&["account", "list"], "").ok().stdout().is_empty(), "no SQLite row was left");
}

#[test]
fn bad_input_exits_2_naming_the_field() {
    let s = Sandbox::new();
    s.run(&["account", "add", "home", "--provider", "local", "--set", "root=/tmp/ferry-test-dest"], "").ok();
    let cases: &[(&[&str], &str, &str)] = &[
        (&["account", "add", "", "--provider", "local", "--set", "root=/tmp"], "", "name: the account name must not be empty"),
        (&["account", "add", "home", "--provider", "local", "--set", "root=/tmp"], "", "an account named \"home\" already exists"),
        (&["account", "add", "x", "--provider", "dropbox"], "", "unknown provider \"dropbox\""),
        (&["account", "add", "x", "--provider", "xfyun"], "api_key=a\napi_secret=b\n", "app_id: missing required setting"),
        (&["account", "add", "x", "--provider", "xfyun", "--set", "app_id=1"], "api_key=a\n", "api_secret: missing required secret"),
        (&["account", "add", "x", "--provider", "local", "--set", "root=/tmp", "--endpoint", "not a url"], "", "endpoint: \"not a url\" is not a valid endpoint URL"),
        (&["account", "add", "x", "--provider", "xfyun", "--set", "app_id=1", "--endpoint", "http://gw.example.com/xfyun"], "api_key=a\napi_secret=b\n", "endpoint: \"http://gw.example.com/xfyun\" is not a valid endpoint URL: use https://"),
        (&["account", "add", "x", "--provider", "xfyun", "--set", "app_id=1", "--endpoint", "https://me:hunter2@gw.example.com"], "api_key=a\napi_secret=b\n", "must not carry a user name or password"),
        (&["account", "add", "x", "--provider", "xfyun", "--set", "app_id=1", "--set", "api_key=oops"], "", "api_key: is a secret"),
        (&["account", "add", "x", "--provider", "xfyun", "--set", "app_id=1"], "this line has no equals sign\n", "standard input line 1: expected KEY=VALUE"),
        (&["account", "add", "x", "--provider", "local", "--set", "colour=red", "--set", "root=/tmp"], "", "colour: unknown setting for provider local"),
        (&["account", "remove", "nobody"], "", "no account named \"nobody\""),
        (&["account", "frobnicate"], "", "unrecognized subcommand"),
    ];
    for (args, stdin, message) in cases {
        let r = s.run(args, stdin);
        assert_eq!(r.code(), 2, "{args:?}: {}", r.stderr());
        assert!(r.stderr().contains(message), "{args:?}: expected {message:?} in {:?}", r.stderr());
        assert!(!r.stderr().contains("this line has no equals sign"), "stdin lines are never echoed");
        assert!(!r.stderr().contains("hunter2"), "a password in an endpoint URL is never echoed");
    }
    let list = s.run(&["account", "list"], "").ok().stdout();
    assert_eq!(list.lines().count(), 1, "nothing but the first account was written: {list}");
}

#[test]
fn account_test_checks_a_local_destination() {
    let s = Sandbox::new();
    let dest = s.dir.path().join("dest");
    s.run(&["account", "add", "home", "--provider", "local", "--set", &format!("root={}", dest.display())], "").ok();
    let r = s.run(&["account", "test", "home"], "").ok();
    assert!(r.stdout().contains("is usable"), "{}", r.stdout());
    assert!(dest.is_dir());

    std::fs::write(s.dir.path().join("file"), b"x").unwrap();
    s.run(&["account", "add", "bad", "--provider", "local", "--set", &format!("root={}/file/sub", s.dir.path().display())], "").ok();
    let r = s.run(&["account", "test", "bad"], "");
    assert_eq!(r.code(), 1);
    assert!(r.stderr().contains("cannot write into the destination folder"), "{}", r.stderr());
}

/// `ferry [--data-dir DIR] COMMAND` is the contract: the flag may come before the command
/// (a launch's `ferry FILE...` must not swallow command names after it).
#[test]
fn the_data_dir_flag_may_come_before_the_command() {
    let s = Sandbox::new();
    let dir = s.dir.path().join("elsewhere");
    let d = dir.to_str().unwrap();
    let r = s.run(&["--data-dir", d, "account", "add", "home", "--provider", "local", "--set", "root=/tmp/ferry-test-dest"], "");
    assert_eq!(r.code(), 0, "{}", r.stderr());
    let list = s.run(&["--data-dir", d, "account", "list"], "").ok().stdout();
    assert!(list.contains("home"), "{list}");
    assert!(dir.join("ferry.db").exists(), "the flag chose the data dir");
    let r = s.run(&["--data-dir", d, "queue", "--json"], "");
    assert_eq!(r.code(), 0, "{}", r.stderr());
    let r = s.run(&["--data-dir", d, "no-such-command"], "");
    assert_eq!(r.code(), 2, "still a usage error");
}
