//! The job and part state machines. The words are a contract: `ferry queue` prints them
//! and scripts match on them.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    Queued,
    Hashing,
    Uploading,
    Committing,
    Done,
    Paused,
    Failed,
    Cancelled,
}

impl JobState {
    pub const ALL: [JobState; 8] = [
        JobState::Queued,
        JobState::Hashing,
        JobState::Uploading,
        JobState::Committing,
        JobState::Done,
        JobState::Paused,
        JobState::Failed,
        JobState::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::Hashing => "hashing",
            JobState::Uploading => "uploading",
            JobState::Committing => "committing",
            JobState::Done => "done",
            JobState::Paused => "paused",
            JobState::Failed => "failed",
            JobState::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<JobState> {
        JobState::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// A worker owns the job while it is in one of these.
    pub fn is_active(self) -> bool {
        matches!(self, JobState::Hashing | JobState::Uploading | JobState::Committing)
    }

    pub fn is_final(self) -> bool {
        matches!(self, JobState::Done | JobState::Cancelled)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum PartState {
    Pending,
    InFlight,
    Acked,
}

impl PartState {
    pub fn as_str(self) -> &'static str {
        match self {
            PartState::Pending => "pending",
            PartState::InFlight => "in_flight",
            PartState::Acked => "acked",
        }
    }

    pub fn parse(s: &str) -> Option<PartState> {
        [PartState::Pending, PartState::InFlight, PartState::Acked].into_iter().find(|k| k.as_str() == s)
    }
}

/// Every job transition, by name, with the states it may start from. Each one is a single
/// guarded UPDATE in `queue`; nothing else changes a job's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    /// A worker takes a queued job whose time has come.
    StartHashing,
    StartUploading,
    BeginCommit,
    Finish,
    /// A temporary failure: back to the queue with a later `next_run_at`.
    RetryLater,
    Fail,
    Pause,
    Resume,
    Cancel,
    /// Start-up: jobs a dead process owned go back to the queue, keeping their session.
    Recover,
}

impl Transition {
    pub fn from(self) -> &'static [JobState] {
        use JobState::*;
        match self {
            Transition::StartHashing => &[Queued],
            Transition::StartUploading => &[Queued, Hashing],
            Transition::BeginCommit => &[Uploading],
            Transition::Finish => &[Uploading, Committing],
            Transition::RetryLater => &[Hashing, Uploading, Committing],
            Transition::Fail => &[Queued, Hashing, Uploading, Committing],
            // A commit in flight cannot be taken back: pause and cancel wait for it.
            Transition::Pause => &[Queued, Hashing, Uploading],
            Transition::Resume => &[Paused, Failed],
            Transition::Cancel => &[Queued, Hashing, Uploading, Paused, Failed],
            Transition::Recover => &[Hashing, Uploading, Committing],
        }
    }

    pub fn to(self) -> JobState {
        match self {
            Transition::StartHashing => JobState::Hashing,
            Transition::StartUploading => JobState::Uploading,
            Transition::BeginCommit => JobState::Committing,
            Transition::Finish => JobState::Done,
            Transition::RetryLater | Transition::Resume | Transition::Recover => JobState::Queued,
            Transition::Fail => JobState::Failed,
            Transition::Pause => JobState::Paused,
            Transition::Cancel => JobState::Cancelled,
        }
    }

    pub fn verb(self) -> &'static str {
        match self {
            Transition::StartHashing => "start hashing",
            Transition::StartUploading => "start uploading",
            Transition::BeginCommit => "commit",
            Transition::Finish => "finish",
            Transition::RetryLater => "retry",
            Transition::Fail => "fail",
            Transition::Pause => "pause",
            Transition::Resume => "resume",
            Transition::Cancel => "cancel",
            Transition::Recover => "recover",
        }
    }
}
