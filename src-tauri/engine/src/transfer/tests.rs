//! The scheduler and its workers on a real SQLite file, uploading to `local`.

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use super::progress::NoProgress;
use super::{Engine, EngineSettings};
use crate::accounts::{AccountInput, ProviderKind};
use crate::creds::MemorySecrets;
use crate::queue::JobState;
use crate::Ferry;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_stopped_while_its_job_is_still_active_puts_the_job_back_in_the_queue() {
    let dir = tempfile::tempdir().unwrap();
    let ferry = Ferry::with_secrets(dir.path().join("data"), Arc::new(MemorySecrets::default())).unwrap();
    let dest = dir.path().join("dest");
    let account = ferry
        .accounts
        .add(AccountInput {
            name: "disk".into(),
            provider: ProviderKind::Local,
            endpoint: None,
            settings: [("root".to_string(), dest.display().to_string())].into(),
            secrets: BTreeMap::new(),
        })
        .unwrap();
    EngineSettings::set(&ferry.queue, "part_size", &(1 << 20).to_string()).unwrap();
    EngineSettings::set(&ferry.queue, "bandwidth", &(4 << 20).to_string()).unwrap();
    let src = dir.path().join("big.bin");
    let bytes: Vec<u8> = (0..8u32 << 20).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    std::fs::File::create(&src).unwrap().write_all(&bytes).unwrap();
    let id = crate::enqueue::enqueue_paths(&ferry, &account, &[src.clone()], "").unwrap().queued[0].id;

    let engine = Engine::new(&ferry, Arc::new(NoProgress)).unwrap();
    let run = tokio::spawn({
        let engine = engine.clone();
        async move { engine.run(true).await }
    });
    let view = || ferry.queue.view(id).unwrap();
    let until = std::time::Instant::now() + Duration::from_secs(20);
    while !(view().state == JobState::Uploading && view().parts_done >= 1) {
        assert!(std::time::Instant::now() < until, "the upload never got going: {:?}", view());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Nobody paused or cancelled it: a stray interrupt (as a control racing the scheduler
    // could send) must not leave it "uploading" with no worker.
    engine.interrupt(id);
    let report = tokio::time::timeout(Duration::from_secs(30), run)
        .await
        .expect("the engine went idle: the job was not left stuck as uploading")
        .unwrap()
        .unwrap();
    assert!(report.failed.is_empty());
    let v = view();
    assert_eq!((v.state, v.bytes_acked), (JobState::Done, 8 << 20));
    assert_eq!(std::fs::read(dest.join("big.bin")).unwrap(), bytes, "byte for byte");
}
