//! The pod log's storage: compact rows of indices and interned text, resolved to names only
//! when they are read ([`PodLogView`]).
//!
//! A million-job run logs millions of intervals and events. Held as rows of owned strings
//! (pod, job and node names, messages) they cost about 1.7 GB; here an interval is 40 bytes
//! and an event 32, a repeated reason or GPU list is stored once, and a `Scheduled` event's
//! message is made from its pod and node when it is written.

use std::collections::HashMap;
use std::fmt;
use std::hash::{BuildHasherDefault, Hash};

use sim_core::SimTime;

use super::LogState;
use crate::sim::JobRecord;

/// "No node" in [`Interval::node`] and [`Message::Assigned`].
pub(super) const NO_NODE: u32 = u32::MAX;

/// Fixed-key SipHash: deterministic, and only used for look-ups.
type Fixed = BuildHasherDefault<std::collections::hash_map::DefaultHasher>;

/// Each distinct value stored once, named by its index; index 0 is the empty value.
pub(super) struct Interner<T: ?Sized + Eq + Hash> {
    values: Vec<Box<T>>,
    ids: HashMap<Box<T>, u32, Fixed>,
}

impl<T: ?Sized + Eq + Hash> Clone for Interner<T>
where
    Box<T>: Clone,
{
    fn clone(&self) -> Self {
        Interner {
            values: self.values.clone(),
            ids: self.ids.clone(),
        }
    }
}

impl<T: ?Sized + Eq + Hash + fmt::Debug> fmt::Debug for Interner<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(&self.values).finish()
    }
}

impl<T: ?Sized + Eq + Hash> Interner<T>
where
    for<'a> Box<T>: From<&'a T>,
{
    /// An interner holding `empty` at index 0, then `fixed` in order.
    pub(super) fn new(empty: &T, fixed: &[&T]) -> Self {
        let mut s = Interner {
            values: Vec::new(),
            ids: HashMap::default(),
        };
        s.id(empty);
        for v in fixed {
            s.id(v);
        }
        s
    }

    /// The index of `v`, stored on first sight.
    pub(super) fn id(&mut self, v: &T) -> u32 {
        if let Some(&i) = self.ids.get(v) {
            return i;
        }
        // More than 4 G distinct values would not fit in memory long before this.
        let i = u32::try_from(self.values.len()).unwrap_or(u32::MAX);
        self.values.push(Box::from(v));
        self.ids.insert(Box::from(v), i);
        i
    }

    /// The values by index (the look-up table is dropped).
    pub(super) fn into_values(self) -> Vec<Box<T>> {
        self.values
    }
}

/// Texts interned up front, by index (see [`Interner::new`]).
pub(super) const FIXED_TEXTS: [&str; 2] = ["Job completed", "Job deleted"];
pub(super) const JOB_COMPLETED: u32 = 1;
pub(super) const JOB_DELETED: u32 = 2;

/// One interval of one pod's life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Interval {
    pub job: u32,
    pub pod: u32,
    pub from: SimTime,
    /// `SimTime::MAX`: the run ended inside it.
    pub to: SimTime,
    /// [`NO_NODE`] while pending.
    pub node: u32,
    /// Interned GPU list (0: none).
    pub gpus: u32,
    /// Interned reason (0: none).
    pub reason: u32,
    pub state: LogState,
}

/// Why an event was recorded (its `reason` column).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventReason {
    RegisteredNode,
    RemovingNode,
    NodeNotReady,
    NodeNotSchedulable,
    NodeSchedulable,
    NodeReady,
    Pending,
    FailedScheduling,
    Completed,
    Deleted,
    QuotaReserved,
    Admitted,
    Evicted,
    Preempted,
    TaintManagerEviction,
    Killing,
    Scheduled,
}

impl EventReason {
    pub fn as_str(self) -> &'static str {
        match self {
            EventReason::RegisteredNode => "RegisteredNode",
            EventReason::RemovingNode => "RemovingNode",
            EventReason::NodeNotReady => "NodeNotReady",
            EventReason::NodeNotSchedulable => "NodeNotSchedulable",
            EventReason::NodeSchedulable => "NodeSchedulable",
            EventReason::NodeReady => "NodeReady",
            EventReason::Pending => "Pending",
            EventReason::FailedScheduling => "FailedScheduling",
            EventReason::Completed => "Completed",
            EventReason::Deleted => "Deleted",
            EventReason::QuotaReserved => "QuotaReserved",
            EventReason::Admitted => "Admitted",
            EventReason::Evicted => "Evicted",
            EventReason::Preempted => "Preempted",
            EventReason::TaintManagerEviction => "TaintManagerEviction",
            EventReason::Killing => "Killing",
            EventReason::Scheduled => "Scheduled",
        }
    }
}

/// What an event is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogObject {
    Pod {
        job: u32,
        pod: u32,
    },
    Job(u32),
    /// Kueue's Workload of a job.
    Workload(u32),
    Node(u32),
}

/// An event's message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Message {
    /// Interned text.
    Text(u32),
    /// `Successfully assigned default/<pod> to <node>` (the pod is the event's object).
    Assigned { node: u32 },
}

/// A Kubernetes-style event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Event {
    pub at: SimTime,
    pub object: LogObject,
    pub message: Message,
    pub reason: EventReason,
    /// `Warning` (true) or `Normal`.
    pub warning: bool,
}

/// The pod log of a finished run (`pods.csv`, `events.csv`), compact; read it through
/// [`RunResult::pod_log_view`](crate::sim::RunResult::pod_log_view), which resolves the
/// names.
#[derive(Clone, Debug, Default)]
pub struct PodLogReport {
    /// By job, pod and start.
    pub(super) intervals: Vec<Interval>,
    /// In the order they happened.
    pub(super) events: Vec<Event>,
    pub(super) texts: Vec<Box<str>>,
    pub(super) gpu_lists: Vec<Box<[u8]>>,
    pub(super) nodes: Vec<String>,
    /// The ids of logged jobs that have no record in `RunResult::jobs` (inference replica
    /// slots, which the serving record reports), in job order after the last record.
    pub(crate) tail_ids: Vec<String>,
}

impl PodLogReport {
    /// Rows in `pods.csv`.
    pub fn pod_rows(&self) -> usize {
        self.intervals.len()
    }

    /// Rows in `events.csv`.
    pub fn event_rows(&self) -> usize {
        self.events.len()
    }

    fn text(&self, i: u32) -> &str {
        self.texts.get(i as usize).map_or("", |t| t)
    }

    fn gpus(&self, i: u32) -> &[u8] {
        self.gpu_lists.get(i as usize).map_or(&[], |g| g)
    }

    fn node(&self, n: u32) -> Option<&str> {
        self.nodes.get(n as usize).map(String::as_str)
    }

    /// An interval with its indices resolved (names of jobs aside).
    #[allow(clippy::type_complexity)]
    fn interval_key(
        &self,
        i: &Interval,
    ) -> (u32, u32, SimTime, SimTime, LogState, u32, &[u8], &str) {
        (
            i.job,
            i.pod,
            i.from,
            i.to,
            i.state,
            i.node,
            self.gpus(i.gpus),
            self.text(i.reason),
        )
    }

    fn event_key(&self, e: &Event) -> (SimTime, bool, EventReason, LogObject, Option<&str>, u32) {
        match e.message {
            Message::Text(t) => (e.at, e.warning, e.reason, e.object, Some(self.text(t)), 0),
            Message::Assigned { node } => (e.at, e.warning, e.reason, e.object, None, node),
        }
    }
}

/// Equal when they log the same rows (whatever order the texts were interned in).
impl PartialEq for PodLogReport {
    fn eq(&self, o: &Self) -> bool {
        self.nodes == o.nodes
            && self.tail_ids == o.tail_ids
            && self.intervals.len() == o.intervals.len()
            && self.events.len() == o.events.len()
            && self
                .intervals
                .iter()
                .zip(&o.intervals)
                .all(|(a, b)| self.interval_key(a) == o.interval_key(b))
            && self
                .events
                .iter()
                .zip(&o.events)
                .all(|(a, b)| self.event_key(a) == o.event_key(b))
    }
}

/// The pod log with names: the log and the run's job records.
#[derive(Clone, Copy, Debug)]
pub struct PodLogView<'a> {
    log: &'a PodLogReport,
    jobs: &'a [JobRecord],
}

/// One `pods.csv` row.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PodRow<'a> {
    /// The job's index in the run (and in `RunResult::jobs` when it has a record).
    pub job_index: u32,
    pub job: &'a str,
    /// The pod's index in its job: the pod is named `<job>-<pod>`.
    pub pod: u32,
    pub from: SimTime,
    /// `None` when the run ended inside the interval.
    pub to: Option<SimTime>,
    pub state: LogState,
    pub node: Option<&'a str>,
    pub gpus: &'a [u8],
    /// Why it waited (pending and waiting intervals); empty while bound.
    pub reason: &'a str,
}

/// What an event is about, named: `pod/<job>-<k>`, `job/<id>`, `workload/<id>`,
/// `node/<name>` as displayed.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ObjectName<'a> {
    Pod { job: &'a str, pod: u32 },
    Job(&'a str),
    Workload(&'a str),
    Node(&'a str),
}

impl fmt::Display for ObjectName<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ObjectName::Pod { job, pod } => write!(f, "pod/{job}-{pod}"),
            ObjectName::Job(j) => write!(f, "job/{j}"),
            ObjectName::Workload(j) => write!(f, "workload/{j}"),
            ObjectName::Node(n) => write!(f, "node/{n}"),
        }
    }
}

/// An event's message as displayed.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum MessageText<'a> {
    Text(&'a str),
    Assigned {
        job: &'a str,
        pod: u32,
        node: &'a str,
    },
}

impl fmt::Display for MessageText<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MessageText::Text(t) => f.write_str(t),
            MessageText::Assigned { job, pod, node } => {
                write!(f, "Successfully assigned default/{job}-{pod} to {node}")
            }
        }
    }
}

/// One `events.csv` row.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EventRow<'a> {
    pub at: SimTime,
    /// `Warning` (true) or `Normal`.
    pub warning: bool,
    pub reason: &'static str,
    pub object: ObjectName<'a>,
    /// The job the event concerns (empty for node events).
    pub job: &'a str,
    pub message: MessageText<'a>,
}

impl<'a> PodLogView<'a> {
    pub(crate) fn new(log: &'a PodLogReport, jobs: &'a [JobRecord]) -> PodLogView<'a> {
        PodLogView { log, jobs }
    }

    pub fn log(&self) -> &'a PodLogReport {
        self.log
    }

    /// Job `j`'s id.
    pub fn job(&self, j: u32) -> &'a str {
        let j = j as usize;
        match self.jobs.get(j) {
            Some(r) => &r.id,
            None => self
                .log
                .tail_ids
                .get(j - self.jobs.len())
                .map_or("?", String::as_str),
        }
    }

    fn node(&self, n: u32) -> &'a str {
        self.log.node(n).unwrap_or("?")
    }

    /// `pods.csv`'s rows: every interval of each pod's life, by job, pod and time.
    pub fn pods(self) -> impl Iterator<Item = PodRow<'a>> + 'a {
        self.log.intervals.iter().map(move |i| PodRow {
            job_index: i.job,
            job: self.job(i.job),
            pod: i.pod,
            from: i.from,
            to: (i.to != SimTime::MAX).then_some(i.to),
            state: i.state,
            node: (i.node != NO_NODE).then(|| self.node(i.node)),
            gpus: self.log.gpus(i.gpus),
            reason: self.log.text(i.reason),
        })
    }

    /// `events.csv`'s rows, in the order the events happened.
    pub fn events(self) -> impl Iterator<Item = EventRow<'a>> + 'a {
        self.log.events.iter().map(move |e| {
            let (object, job) = match e.object {
                LogObject::Pod { job, pod } => {
                    let j = self.job(job);
                    (ObjectName::Pod { job: j, pod }, j)
                }
                LogObject::Job(j) => (ObjectName::Job(self.job(j)), self.job(j)),
                LogObject::Workload(j) => (ObjectName::Workload(self.job(j)), self.job(j)),
                LogObject::Node(n) => (ObjectName::Node(self.node(n)), ""),
            };
            let message = match (e.message, e.object) {
                (Message::Text(t), _) => MessageText::Text(self.log.text(t)),
                (Message::Assigned { node }, LogObject::Pod { job, pod }) => {
                    MessageText::Assigned {
                        job: self.job(job),
                        pod,
                        node: if node == NO_NODE {
                            "?"
                        } else {
                            self.node(node)
                        },
                    }
                }
                (Message::Assigned { .. }, _) => MessageText::Text(""),
            };
            EventRow {
                at: e.at,
                warning: e.warning,
                reason: e.reason.as_str(),
                object,
                job,
                message,
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_compact() {
        assert!(std::mem::size_of::<Interval>() <= 40);
        assert!(std::mem::size_of::<Event>() <= 32);
    }

    #[test]
    fn interning_keeps_the_first_index() {
        let mut t: Interner<str> = Interner::new("", &FIXED_TEXTS);
        assert_eq!(t.id(""), 0);
        assert_eq!(t.id("Job completed"), JOB_COMPLETED);
        assert_eq!(t.id("Job deleted"), JOB_DELETED);
        let a = t.id("a");
        assert_eq!(t.id("b"), a + 1);
        assert_eq!(t.id("a"), a);
        let v = t.into_values();
        assert_eq!(&*v[a as usize], "a");
        let mut g: Interner<[u8]> = Interner::new(&[], &[]);
        assert_eq!(g.id(&[0, 1]), 1);
        assert_eq!(g.id(&[]), 0);
        assert_eq!(g.id(&[0, 1]), 1);
    }
}
