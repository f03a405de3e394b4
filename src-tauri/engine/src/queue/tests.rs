//! Every job and part transition, the legal ones and the refused ones, on a real SQLite file.

use super::*;
use crate::providers::PartSpec;

fn queue() -> (tempfile::TempDir, Queue) {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(dir.path()).unwrap());
    (dir, Queue::new(store))
}

fn job(q: &Queue) -> i64 {
    q.enqueue(&[NewJob {
        account_id: 1,
        source: PathBuf::from("/tmp/a"),
        name: "a".into(),
        dest: String::new(),
        size: 10,
        mtime_ns: 1,
        inode: Some(7),
    }])
    .unwrap()[0]
}

/// Puts a fresh job into `state` through legal transitions only.
fn job_in(q: &Queue, state: JobState) -> i64 {
    let id = job(q);
    let err = JobError { kind: ErrorKind::Server, message: "boom".into() };
    match state {
        JobState::Queued => {}
        JobState::Hashing => q.start_hashing(id).unwrap(),
        JobState::Uploading => q.start_uploading(id).unwrap(),
        JobState::Committing => {
            q.start_uploading(id).unwrap();
            q.begin_commit(id).unwrap();
        }
        JobState::Done => {
            q.start_uploading(id).unwrap();
            q.finish(id, &Committed::default()).unwrap();
        }
        JobState::Paused => q.pause(id).unwrap(),
        JobState::Failed => {
            q.start_uploading(id).unwrap();
            q.fail(id, &err).unwrap();
        }
        JobState::Cancelled => {
            q.cancel(id).unwrap();
        }
    }
    assert_eq!(q.state(id).unwrap(), state);
    id
}

fn run(q: &Queue, id: i64, t: Transition) -> Result<()> {
    let err = JobError { kind: ErrorKind::Network, message: "net".into() };
    match t {
        Transition::StartHashing => q.start_hashing(id),
        Transition::StartUploading => q.start_uploading(id),
        Transition::BeginCommit => q.begin_commit(id),
        Transition::Finish => q.finish(id, &Committed { url: Some("u".into()), ..Default::default() }),
        Transition::RetryLater => q.retry_later(id, now_ms() + 1000, &err),
        Transition::Fail => q.fail(id, &err),
        Transition::Pause => q.pause(id),
        Transition::Resume => q.resume(id),
        Transition::Cancel => q.cancel(id).map(drop),
        Transition::Recover => q.recover().map(drop),
    }
}

#[test]
fn every_transition_from_every_state_is_allowed_exactly_by_its_guard() {
    let all = [
        Transition::StartHashing,
        Transition::StartUploading,
        Transition::BeginCommit,
        Transition::Finish,
        Transition::RetryLater,
        Transition::Fail,
        Transition::Pause,
        Transition::Resume,
        Transition::Cancel,
    ];
    for from in JobState::ALL {
        for t in all {
            let (_d, q) = queue();
            let id = job_in(&q, from);
            let r = run(&q, id, t);
            if t.from().contains(&from) {
                r.unwrap_or_else(|e| panic!("{t:?} from {from:?} must be allowed: {e}"));
                assert_eq!(q.state(id).unwrap(), t.to(), "{t:?} from {from:?}");
            } else {
                let e = r.expect_err(&format!("{t:?} from {from:?} must be refused"));
                assert!(matches!(e, Error::Transition { .. }), "{e}");
                assert!(e.to_string().contains(from.as_str()), "{e}");
                assert_eq!(q.state(id).unwrap(), from, "a refused transition changes nothing");
            }
        }
    }
}

#[test]
fn recover_requeues_active_jobs_and_releases_parts_in_flight() {
    let (_d, q) = queue();
    let statuses = JobState::ALL.map(|s| (s, job_in(&q, s)));
    let up = job_in(&q, JobState::Uploading);
    let parts: Vec<PartSpec> = (1..=3).map(|n| PartSpec { number: n, offset: (n as u64 - 1) * 4, length: 4, count: 3 }).collect();
    q.plan(up, &serde_json::json!({"upload_id": "x"}), 4, &parts).unwrap();
    q.part_start(up, 1).unwrap();
    q.part_ack(up, &PartReceipt { number: 1, etag: Some("e1".into()), ..Default::default() }).unwrap();
    q.part_start(up, 2).unwrap();
    let (jobs, released) = q.recover().unwrap();
    assert_eq!((jobs, released), (4, 1)); // hashing, uploading, committing + `up`; part 2
    for (s, id) in statuses {
        let expected = if s.is_active() { JobState::Queued } else { s };
        assert_eq!(q.state(id).unwrap(), expected, "{s:?}");
    }
    let job = q.get(up).unwrap();
    assert_eq!(job.session, Some(serde_json::json!({"upload_id": "x"})), "the session survives recovery");
    let p = q.parts(up).unwrap();
    assert_eq!(p.iter().map(|p| p.state).collect::<Vec<_>>(), [PartState::Acked, PartState::Pending, PartState::Pending]);
    assert_eq!(p[0].receipt.as_ref().unwrap().etag.as_deref(), Some("e1"));
}

#[test]
fn part_transitions_are_guarded() {
    let (_d, q) = queue();
    let id = job_in(&q, JobState::Uploading);
    let parts = [PartSpec { number: 1, offset: 0, length: 10, count: 1 }];
    q.plan(id, &serde_json::json!({}), 10, &parts).unwrap();
    assert!(q.plan(id, &serde_json::json!({}), 10, &parts).is_err(), "a job is planned once");
    let r = PartReceipt { number: 1, ..Default::default() };
    assert!(q.part_ack(id, &r).is_err(), "pending cannot be acked without being in flight");
    assert!(q.part_release(id, 1).is_err());
    q.part_start(id, 1).unwrap();
    assert!(q.part_start(id, 1).is_err(), "already in flight");
    q.part_release(id, 1).unwrap();
    q.part_start(id, 1).unwrap();
    q.part_ack(id, &r).unwrap();
    assert!(q.part_start(id, 1).is_err(), "an acked part is never sent again");
    assert!(q.part_release(id, 1).is_err());
    assert_eq!(q.parts(id).unwrap()[0].attempts, 2);
    let v = q.view(id).unwrap();
    assert_eq!((v.parts_done, v.parts_total, v.bytes_acked), (1, 1, 10));
}

#[test]
fn reconcile_trusts_the_provider() {
    let (_d, q) = queue();
    let id = job_in(&q, JobState::Uploading);
    let parts: Vec<PartSpec> = (1..=3).map(|n| PartSpec { number: n, offset: 0, length: 1, count: 3 }).collect();
    q.plan(id, &serde_json::json!({}), 1, &parts).unwrap();
    q.part_start(id, 1).unwrap();
    q.part_ack(id, &PartReceipt { number: 1, ..Default::default() }).unwrap();
    // The provider has 2 and 3 but not 1.
    let held = [2, 3].map(|n| PartReceipt { number: n, etag: Some(format!("e{n}")), ..Default::default() });
    assert_eq!(q.reconcile(id, &held).unwrap(), (2, 1));
    let states: Vec<PartState> = q.parts(id).unwrap().iter().map(|p| p.state).collect();
    assert_eq!(states, [PartState::Pending, PartState::Acked, PartState::Acked]);
}

#[test]
fn resume_of_a_failed_job_resets_its_attempts_and_error() {
    let (_d, q) = queue();
    let id = job_in(&q, JobState::Failed);
    assert_eq!(q.view(id).unwrap().error.as_deref(), Some("boom"));
    q.resume(id).unwrap();
    let v = q.view(id).unwrap();
    assert_eq!((v.state, v.attempts, v.error), (JobState::Queued, 0, None));
}

#[test]
fn cancel_returns_the_session_to_abort() {
    let (_d, q) = queue();
    let id = job_in(&q, JobState::Uploading);
    q.plan(id, &serde_json::json!({"upload_id": "u1"}), 10, &[PartSpec { number: 1, offset: 0, length: 10, count: 1 }]).unwrap();
    q.pause(id).unwrap();
    assert_eq!(q.cancel(id).unwrap(), Some(serde_json::json!({"upload_id": "u1"})));
    assert!(matches!(q.cancel(id), Err(Error::Transition { .. })));
    assert!(matches!(q.pause(99), Err(Error::UnknownJob(99))));
}

/// Unix names are bytes, not text: they must come back byte for byte.
#[cfg(unix)]
#[test]
fn non_utf8_paths_round_trip_exactly() {
    use std::os::unix::ffi::OsStrExt;
    let (_d, q) = queue();
    let raw = std::ffi::OsStr::from_bytes(b"/tmp/caf\xe9.txt").to_owned();
    let id = q
        .enqueue(&[NewJob { account_id: 1, source: raw.clone().into(), name: "caf\u{fffd}.txt".into(), dest: String::new(), size: 1, mtime_ns: 0, inode: None }])
        .unwrap()[0];
    assert_eq!(q.get(id).unwrap().source.as_os_str(), raw.as_os_str());
}

#[test]
fn pages_and_picked_views_match_the_full_list() {
    let (_d, q) = queue();
    let ids: Vec<i64> = (0..7).map(|_| job(&q)).collect();
    let parts: Vec<PartSpec> = (1..=3).map(|n| PartSpec { number: n, offset: (n as u64 - 1) * 4, length: 4, count: 3 }).collect();
    q.start_uploading(ids[2]).unwrap();
    q.plan(ids[2], &serde_json::json!({}), 4, &parts).unwrap();
    q.part_start(ids[2], 1).unwrap();
    q.part_ack(ids[2], &PartReceipt { number: 1, ..Default::default() }).unwrap();
    let json = |v: &[JobView]| serde_json::to_string(v).unwrap();
    let all = q.list().unwrap();
    let mut paged = vec![];
    let mut after = 0;
    loop {
        let page = q.list_page(after, 3).unwrap();
        if page.is_empty() {
            break;
        }
        after = page.last().unwrap().id;
        paged.extend(page);
    }
    assert_eq!(json(&paged), json(&all));
    assert_eq!((all[2].parts_done, all[2].parts_total, all[2].bytes_acked), (1, 3, 4));
    let picked = q.views(&[ids[5], 999, ids[2]]).unwrap();
    assert_eq!(json(&picked), json(&[all[2].clone(), all[5].clone()]));
    assert!(q.views(&[]).unwrap().is_empty());
}

/// All changes after `since`, asked `limit` at a time as the window does.
fn changes(q: &Queue, mut since: i64, limit: u32) -> (i64, Vec<i64>, Vec<i64>, usize) {
    let (mut jobs, mut removed, mut asks) = (vec![], vec![], 0);
    loop {
        let c = q.changes_since(since, limit).unwrap();
        assert!(!c.reset);
        asks += 1;
        assert!(c.rev >= since, "revisions never go back");
        jobs.extend(c.jobs.iter().map(|v| v.id));
        removed.extend(c.removed);
        since = c.rev;
        if !c.more {
            return (since, jobs, removed, asks);
        }
    }
}

#[test]
fn changes_since_names_exactly_what_changed_and_what_was_removed() {
    let (_d, q) = queue();
    let ids: Vec<i64> = (0..6).map(|_| job(&q)).collect();
    let (rev, all, removed, _) = changes(&q, 0, 1000);
    assert_eq!((all, removed), (ids.clone(), vec![]));
    assert_eq!(rev, q.revision().unwrap());
    assert_eq!(changes(&q, rev, 1000).1, Vec::<i64>::new(), "nothing changed since");

    // A state change, a part's state change and new bytes each count; untouched jobs don't.
    q.pause(ids[1]).unwrap();
    q.start_uploading(ids[3]).unwrap();
    let parts = [PartSpec { number: 1, offset: 0, length: 10, count: 1 }];
    q.plan(ids[3], &serde_json::json!({}), 10, &parts).unwrap();
    let (rev2, changed, _, _) = changes(&q, rev, 1000);
    assert_eq!(changed, [ids[1], ids[3]]);
    q.part_start(ids[3], 1).unwrap();
    let (rev3, changed, _, _) = changes(&q, rev2, 1000);
    assert_eq!(changed, [ids[3]], "a part going in flight changes its job's view");
    q.part_ack(ids[3], &PartReceipt { number: 1, ..Default::default() }).unwrap();
    let c = q.changes_since(rev3, 1000).unwrap();
    assert_eq!((c.jobs.len(), c.jobs[0].bytes_acked), (1, 10));

    // Paging one job at a time while jobs keep changing: every change arrives, none twice
    // within a pass, and a job changed again after its page comes again later.
    let mut since = c.rev;
    for id in &ids {
        q.set_sha1(*id, "x").unwrap();
    }
    let first = q.changes_since(since, 2).unwrap();
    assert!(first.more);
    assert_eq!(first.jobs.iter().map(|v| v.id).collect::<Vec<_>>(), &ids[..2]);
    since = first.rev;
    q.set_sha1(ids[0], "y").unwrap();
    let (_, rest, _, asks) = changes(&q, since, 2);
    assert_eq!(rest, [ids[2], ids[3], ids[4], ids[5], ids[0]]);
    assert_eq!(asks, 3);

    // Clearing the history names the removed jobs.
    let done = job_in(&q, JobState::Done);
    let cancelled = job_in(&q, JobState::Cancelled);
    let before = q.revision().unwrap();
    assert_eq!(q.clear_finished().unwrap(), 2);
    let (_, changed, removed, _) = changes(&q, before, 1000);
    assert_eq!((changed, removed), (vec![], vec![done, cancelled]));

    // After a restart prunes the tombstones, a reader from before is told to list again;
    // one from after is not.
    q.recover().unwrap();
    assert!(q.changes_since(before, 1000).unwrap().reset);
    assert!(!q.changes_since(q.revision().unwrap(), 1000).unwrap().reset);
}

#[test]
fn a_changed_file_starts_over_as_its_new_version_once() {
    let (_d, q) = queue();
    let id = job_in(&q, JobState::Uploading);
    let parts = [PartSpec { number: 1, offset: 0, length: 10, count: 1 }];
    q.plan(id, &serde_json::json!({ "upload": "u1" }), 10, &parts).unwrap();
    q.part_start(id, 1).unwrap();
    q.part_ack(id, &PartReceipt { number: 1, ..Default::default() }).unwrap();
    q.fail(id, &JobError { kind: ErrorKind::Changed, message: "a changed".into() }).unwrap();
    assert_eq!(q.error_kind(id).unwrap(), Some(ErrorKind::Changed));
    let now = Identity { size: 14, mtime_ns: 2, inode: Some(7) };

    let old = q.restart_as(id, now).unwrap();
    assert_eq!(old, Some(serde_json::json!({ "upload": "u1" })), "the old session, to abort");
    let j = q.get(id).unwrap();
    assert_eq!((j.state, j.size, j.mtime_ns, j.session, j.part_size, j.sha1), (JobState::Queued, 14, 2, None, None, None));
    assert!(q.parts(id).unwrap().is_empty(), "the old part plan is gone");
    let v = q.view(id).unwrap();
    assert_eq!((v.bytes_acked, v.bytes_sent, v.attempts, v.error.as_deref()), (0, 0, 0, None));
    assert!(q.restart_as(id, now).is_err(), "only a failed job starts over");
    assert!(matches!(q.restart_as(999, now), Err(Error::UnknownJob(999))));

    // The same version queued again meanwhile (a watched folder does that): refused, once.
    q.start_uploading(id).unwrap();
    q.fail(id, &JobError { kind: ErrorKind::Changed, message: "a changed".into() }).unwrap();
    let twin = q.enqueue(&[NewJob { account_id: 1, source: PathBuf::from("/tmp/a"), name: "a".into(), dest: String::new(), size: 20, mtime_ns: 3, inode: Some(7) }]).unwrap()[0];
    let err = q.restart_as(id, Identity { size: 20, mtime_ns: 3, inode: Some(7) }).unwrap_err().to_string();
    assert!(err.contains(&format!("already job {twin}")), "{err}");
    assert_eq!(q.state(id).unwrap(), JobState::Failed);
}
