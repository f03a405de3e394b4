//! A command never loads the window's libraries (issue #16): `ferry` is the command line
//! alone and execs `ferry-window` only for the window, so `ferry run`, which may idle in the
//! background for days, maps no WebKitGTK, GTK or GStreamer (~25 MB of mappings).

use super::support::*;

/// Libraries only the window uses.
const GUI: [&str; 7] = ["libwebkit2gtk", "libjavascriptcoregtk", "libgtk-3", "libgdk-3", "libgst", "libsoup", "libayatana-appindicator"];

#[test]
fn an_idle_ferry_run_maps_no_gui_library() {
    let s = Sandbox::new();
    let mut run = s.spawn_run(&[]);
    // The engine lock is taken once `run` is under way: the libraries the program links
    // were all mapped before its `main` began.
    let lock = s.data_dir().join("engine.lock");
    let end = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !lock.exists() {
        assert!(run.try_wait().unwrap().is_none(), "ferry run ended early");
        assert!(std::time::Instant::now() < end, "ferry run never took the engine lock");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let pid = run.id();
    let maps = std::fs::read_to_string(format!("/proc/{pid}/maps")).unwrap();
    let exe = std::fs::read_link(format!("/proc/{pid}/exe")).unwrap();
    let _ = std::process::Command::new("kill").arg(pid.to_string()).status();
    let status = run.wait().unwrap();

    let mut libs: Vec<&str> = maps.lines().filter_map(|l| l.split_whitespace().nth(5)).filter(|p| p.contains(".so")).collect();
    libs.sort();
    libs.dedup();
    assert_eq!(exe.file_name().unwrap(), "ferry", "the command ran in `ferry` itself, not the window binary");
    assert!(libs.iter().any(|l| l.contains("libc.so")), "the maps list the libraries: {libs:?}");
    let gui: Vec<&&str> = libs.iter().filter(|l| GUI.iter().any(|g| l.contains(g))).collect();
    assert!(gui.is_empty(), "an idle `ferry run` mapped GUI libraries: {gui:?}");
    println!("an idle `ferry run` maps {} libraries, none of the window's", libs.len());
    assert!(status.success(), "ferry run exits 0 on SIGTERM: {status:?}");
}
