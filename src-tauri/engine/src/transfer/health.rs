//! The engine's health: a persistent problem (the database cannot be written) is told to
//! the sink once when it starts and once when it clears, never once per failed write.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};

use super::progress::ProgressSink;
use crate::error::Error;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum ProblemKind {
    DiskFull,
    /// Another program holds the database's write lock past the busy timeout.
    DatabaseBusy,
    DatabaseIo,
    DatabaseCorrupt,
    /// Anything else the engine loop could not do (its message says what).
    Internal,
}

/// What the window and the tray show while the engine cannot work normally.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
pub struct EngineProblem {
    pub kind: ProblemKind,
    /// A human sentence naming the file and the cause.
    pub message: String,
}

impl EngineProblem {
    /// The problem an error of the engine's own work means (`db` = the database file).
    pub fn of(e: &Error, db: &Path) -> EngineProblem {
        use rusqlite::ErrorCode::*;
        let code = match e {
            Error::Db(d) => d.sqlite_error_code(),
            _ => None,
        };
        let db = db.display();
        let (kind, message) = match code {
            Some(DiskFull) => (ProblemKind::DiskFull, format!("Ferry can't write its database {db}: disk full")),
            Some(DatabaseBusy | DatabaseLocked) => (
                ProblemKind::DatabaseBusy,
                format!("Ferry can't write its database {db}: another program keeps it locked"),
            ),
            Some(SystemIoFailure | ReadOnly | CannotOpen | PermissionDenied) => {
                (ProblemKind::DatabaseIo, format!("Ferry can't write its database {db}: {e}"))
            }
            Some(DatabaseCorrupt | NotADatabase) => (ProblemKind::DatabaseCorrupt, format!("Ferry's database {db} is damaged: {e}")),
            _ => (ProblemKind::Internal, format!("Ferry's engine hit a problem and keeps trying: {e}")),
        };
        EngineProblem { kind, message }
    }
}

/// Errors worth waiting out: the database is busy, full or failing, not the job's fault.
pub fn is_storage_trouble(e: &Error) -> bool {
    use rusqlite::ErrorCode::*;
    matches!(e, Error::Db(d) if matches!(
        d.sqlite_error_code(),
        Some(DiskFull | DatabaseBusy | DatabaseLocked | SystemIoFailure | ReadOnly | CannotOpen | DatabaseCorrupt)
    ))
}

/// Who is failing: the engine loop or a job's worker. The problem is told when the first
/// one fails and cleared when the last one works again, so one job's success does not
/// hide another's trouble, and the sink hears no flapping.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Source {
    Loop,
    Job(i64),
    /// A job's flushes of the database's log, told apart from its writes: a write that works
    /// says nothing of whether the log syncs (the job's sends go on while a flush is
    /// retried), nor does a synced log say the database takes writes.
    Flush(i64),
}

pub(crate) struct Health {
    state: Mutex<State>,
    sink: Arc<dyn ProgressSink>,
    db: PathBuf,
}

#[derive(Default)]
struct State {
    failing: HashMap<Source, EngineProblem>,
    told: Option<EngineProblem>,
}

impl Health {
    pub fn new(sink: Arc<dyn ProgressSink>, db: PathBuf) -> Self {
        Health { state: Mutex::new(State::default()), sink, db }
    }

    pub fn current(&self) -> Option<EngineProblem> {
        self.state.lock().unwrap_or_else(|p| p.into_inner()).told.clone()
    }

    /// `source` failed with `e`; the sink hears it if it is a new problem.
    pub fn failed(&self, source: Source, e: &Error) {
        let problem = EngineProblem::of(e, &self.db);
        let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
        st.failing.insert(source, problem.clone());
        if st.told.as_ref().is_some_and(|t| t.kind == problem.kind) {
            return;
        }
        tracing::error!(kind = ?problem.kind, "{}", problem.message);
        st.told = Some(problem.clone());
        drop(st);
        self.sink.health(Some(problem));
    }

    /// What `source` tried works again (or `source` is gone).
    pub fn cleared(&self, source: Source) {
        let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if st.failing.remove(&source).is_none() {
            return;
        }
        let next = st.failing.values().next().cloned();
        let change = match (&st.told, &next) {
            (Some(t), Some(n)) => t.kind != n.kind,
            (told, next) => told.is_some() != next.is_some(),
        };
        if !change {
            return;
        }
        match &next {
            None => tracing::info!("the engine's problem cleared"),
            Some(n) => tracing::error!(kind = ?n.kind, "{}", n.message),
        }
        st.told = next.clone();
        drop(st);
        self.sink.health(next);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Default)]
    struct Heard(Mutex<Vec<Option<ProblemKind>>>);
    impl ProgressSink for Heard {
        fn emit(&self, _: Vec<super::super::JobProgress>) {}
        fn health(&self, p: Option<EngineProblem>) {
            self.0.lock().unwrap().push(p.map(|p| p.kind));
        }
    }

    fn sqlite(code: i32) -> Error {
        Error::Db(rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(code), None))
    }

    #[test]
    fn told_once_when_it_starts_and_once_when_the_last_source_clears() {
        let heard = Arc::new(Heard::default());
        let h = Health::new(heard.clone(), PathBuf::from("/data/ferry.db"));
        let full = sqlite(rusqlite::ffi::SQLITE_FULL);
        h.failed(Source::Job(1), &full);
        h.failed(Source::Job(2), &full);
        h.failed(Source::Job(1), &full);
        h.failed(Source::Loop, &full);
        let p = h.current().unwrap();
        assert_eq!(p.message, "Ferry can't write its database /data/ferry.db: disk full");
        h.cleared(Source::Job(1));
        h.cleared(Source::Loop);
        h.cleared(Source::Job(7)); // never failed: nothing to say
        assert!(h.current().is_some(), "job 2 still cannot write");
        h.cleared(Source::Job(2));
        assert_eq!(h.current(), None);
        assert_eq!(*heard.0.lock().unwrap(), vec![Some(ProblemKind::DiskFull), None]);
    }

    #[test]
    fn a_different_problem_is_told_too() {
        let heard = Arc::new(Heard::default());
        let h = Health::new(heard.clone(), PathBuf::from("ferry.db"));
        h.failed(Source::Loop, &sqlite(rusqlite::ffi::SQLITE_BUSY));
        h.failed(Source::Job(3), &sqlite(rusqlite::ffi::SQLITE_FULL));
        h.cleared(Source::Job(3));
        h.cleared(Source::Loop);
        let kinds = heard.0.lock().unwrap().clone();
        assert_eq!(kinds, vec![Some(ProblemKind::DatabaseBusy), Some(ProblemKind::DiskFull), Some(ProblemKind::DatabaseBusy), None]);
    }
}
