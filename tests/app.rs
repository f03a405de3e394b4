//! The app's integration tests, in one binary (each test binary links the whole app).
//! They drive the real `ferry` binary and need a Secret Service on the session bus:
//! run them through `scripts/test.sh`, which starts one.

mod app {
    pub mod support;
    mod cli_accounts;
    mod cli_desktop;
    mod engine_control;
    mod engine_crash;
    mod engine_uploads;
    mod folders;
    // /proc/PID/maps: Linux only.
    #[cfg(target_os = "linux")]
    mod headless;
    mod hostile;
    mod provider_pds;
    mod provider_dingtalk;
    mod provider_feishu;
    mod proxy;
    mod tls;
    mod reliability;
    mod watch;
}
