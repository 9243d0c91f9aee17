//! Exhaustive mode on every core.
//!
//! The search is the depth-first search of one core, defined step by step so that its
//! steps can run anywhere: a *node* is the run as it was at the end of an instant (or at
//! its start), reached by one choice sequence, with a copy of the run to continue from; a
//! *step* runs from a node, following a script of choices for the next instant, to the
//! end of that instant (or of the schedule). What a step does depends only on its node
//! and its script, never on what was explored before it, so any core can run it.
//!
//! One thread, the *master*, walks the search in its one order — choice sequences in
//! lexicographic order, each step's outcome checked against the states explored before
//! it — and is the only one to decide anything: which states are new, which schedules
//! are pruned, cycles, violations, counts, when to stop. The other threads run, ahead of
//! it, the steps it will need: every alternative of every choice a finished step made
//! (they are needed whatever happens, unless the search stops or prunes the node first),
//! and the first step from a state no earlier step has reached (needed unless an earlier
//! branch reaches the same state first). They take the lowest pending step in the
//! master's order, so their work is the master's next needs, and drop any step the
//! master has gone past. When the master needs a step no one has run, it runs it itself;
//! with one thread it runs every step, in order, and nothing ahead.
//!
//! So the verdicts, the counts, the witnesses and every byte written are the same on
//! any number of threads: only the time differs.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};

use serde::{Deserialize, Serialize};
use sim_core::{Choice, ChooserMode, SimTime};

use super::{
    Coverage, ExploreOptions, Found, Problem, Reached, Resume, Runner, ScheduleEnd, VerifyError,
    Violation, ViolationKind, found, interrupt, record,
};
use crate::sim::ModelError;

/// A closed instant on a path, and the ones before it (a run that returns to one closes
/// a cycle).
struct Link {
    h: u64,
    now: SimTime,
    parent: Option<Arc<Link>>,
}

/// When the path ending at `link` passed through the state with fingerprint `h`.
fn on_path(link: Option<&Arc<Link>>, h: u64) -> Option<SimTime> {
    let mut l = link;
    while let Some(x) = l {
        if x.h == h {
            return Some(x.now);
        }
        l = x.parent.as_ref();
    }
    None
}

/// A point a schedule runs on from.
struct Node {
    /// The choices from the start of the schedule to here.
    path: Vec<u32>,
    /// Nodes before this one on the path: 0 the root (before the run is set up), 1 the
    /// run's start (after the arrival jitter is chosen), then one per closed instant.
    depth: u32,
    /// This closed instant and those before it (`None` for the root and the start).
    link: Option<Arc<Link>>,
    /// A failure may be injected here (`--fail-nodes`): the next step's first choice.
    failure_point: bool,
    /// The run to continue from (`None` for the root: each step sets up a new run).
    resume: Option<Resume>,
}

impl Node {
    fn root() -> Arc<Node> {
        Arc::new(Node {
            path: Vec::new(),
            depth: 0,
            link: None,
            failure_point: false,
            resume: None,
        })
    }

    fn h(&self) -> Option<u64> {
        self.link.as_ref().map(|l| l.h)
    }

    fn decisions(&self) -> u64 {
        self.path.len() as u64
    }
}

/// The order in which the search takes steps: by choice sequence (lexicographic, a
/// prefix first), then by node depth (nodes a step with no choice apart).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Key {
    path: Vec<u32>,
    depth: u32,
}

/// A step to run: from `node`, the choices `pi`, then the first alternative of every
/// later choice, to the end of the instant.
#[derive(Clone)]
struct Task {
    node: Arc<Node>,
    pi: Vec<u32>,
}

impl Task {
    fn key(&self) -> Key {
        let mut path = Vec::with_capacity(self.node.path.len() + self.pi.len());
        path.extend_from_slice(&self.node.path);
        path.extend_from_slice(&self.pi);
        Key {
            path,
            depth: self.node.depth,
        }
    }
}

/// How a step ended.
enum Outcome {
    /// The root's step: the run is set up (arrival jitter chosen), before any event.
    Start(Arc<Node>),
    /// The end of an instant off the path, without a deadlock: a state to look up. No
    /// `node` when the state was already explored when the step ran (it will be pruned:
    /// no copy of the run is kept).
    Instant {
        h: u64,
        waiting: bool,
        node: Option<Arc<Node>>,
    },
    /// The schedule ended in this step.
    End(Box<EndInfo>),
    /// The run could not be set up (the root's step).
    Error(ModelError),
}

struct EndInfo {
    end: ScheduleEnd,
    violation: Option<Violation>,
    /// A cycle: the fingerprint of the state returned to.
    cycle: Option<u64>,
    guard: Option<(SimTime, String)>,
    invariant: Option<String>,
    /// The schedule's whole choice list (kept only for a violation or an invariant).
    choices: Vec<Choice>,
    fingerprint: u64,
}

/// A finished step.
struct Leaf {
    /// The choices made in it.
    local: Vec<Choice>,
    /// Choices since the start of the schedule, at its end.
    decisions: u64,
    outcome: Outcome,
}

/// Which part of the space a shard explores (`verify --shard I/N`): the choice sequences
/// are cut at a set of prefixes (`split`), dealt round-robin to the shards in
/// lexicographic order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardPart {
    /// 0-based index of this shard.
    pub index: u32,
    pub count: u32,
    /// The prefixes, in lexicographic order (prefix-free; every choice sequence either
    /// starts with one or is a proper prefix of one).
    pub prefixes: Vec<Vec<u32>>,
}

/// Whose a choice sequence is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Own {
    Mine,
    Other,
    /// Shorter than the split: every shard explores it.
    Shared,
}

/// [`ShardPart`] ready for look-ups.
pub(super) struct Owner {
    prefixes: BTreeMap<Vec<u32>, u32>,
    longest: usize,
    me: u32,
}

impl Owner {
    pub(super) fn new(part: &ShardPart) -> Owner {
        let count = part.count.max(1);
        Owner {
            prefixes: part
                .prefixes
                .iter()
                .enumerate()
                .map(|(i, q)| (q.clone(), (i as u64 % u64::from(count)) as u32))
                .collect(),
            longest: part.prefixes.iter().map(Vec::len).max().unwrap_or(0),
            me: part.index,
        }
    }

    fn own(&self, g: &[u32]) -> Own {
        for len in 0..=g.len().min(self.longest) {
            if let Some(&o) = self.prefixes.get(&g[..len]) {
                return if o == self.me { Own::Mine } else { Own::Other };
            }
        }
        Own::Shared
    }
}

/// What the search found and everything it explored.
pub(super) struct Searched {
    pub cov: Coverage,
    pub deadlock: Option<Found>,
    pub livelock: Option<Found>,
    /// State fingerprint → fewest choices at which it was reached.
    pub states: BTreeMap<u64, u64>,
    /// A shard: the states above the cut (explored by every shard, never pruned).
    pub shared: BTreeSet<u64>,
    /// The explored states in which some job is waiting.
    pub waiting: BTreeSet<u64>,
    /// The explored state graph: (from, to) for every step between closed instants.
    pub edges: Vec<(u64, u64)>,
}

/// Cycles (strongly connected parts with an edge inside) of a state graph that pass
/// through a state with a waiting job.
pub(super) fn waiting_cycles(edges: &[(u64, u64)], waiting: &BTreeSet<u64>) -> u64 {
    use petgraph::graphmap::DiGraphMap;
    let mut g: DiGraphMap<u64, ()> = DiGraphMap::new();
    for &(a, b) in edges {
        g.add_edge(a, b, ());
    }
    petgraph::algo::tarjan_scc(&g)
        .iter()
        .filter(|scc| scc.len() > 1 || g.contains_edge(scc[0], scc[0]))
        .filter(|scc| scc.iter().any(|h| waiting.contains(h)))
        .count() as u64
}

/// The search's settings.
pub(super) struct Search<'a> {
    pub p: &'a Problem,
    pub opts: &'a ExploreOptions,
    pub max_schedules: u64,
    pub max_depth: Option<u64>,
    pub interruptible: bool,
    /// Threads to run steps on (the master's included).
    pub threads: usize,
    pub owner: Option<&'a Owner>,
}

/// What the threads share.
struct Shared {
    /// Steps not run yet.
    queue: BTreeMap<Key, Task>,
    /// Steps run ahead, not taken by the master yet.
    results: BTreeMap<Key, Leaf>,
    /// Steps being run.
    running: BTreeSet<Key>,
    /// The master's next step: anything before it will never be needed.
    position: Key,
    /// The master's explored states: fingerprint → fewest choices at which it was
    /// reached (only the master writes it).
    seen: BTreeMap<u64, u64>,
    /// States reached by steps run ahead, not explored yet: the first node (in the
    /// master's order) that reached each, whose first step was queued.
    claims: BTreeMap<u64, Key>,
    done: bool,
    /// A thread panicked while running a step.
    failed: bool,
}

struct Pool {
    shared: Mutex<Shared>,
    /// Work for the other threads: steps queued, room for results, or the end.
    work: Condvar,
    /// A result for the master.
    ready: Condvar,
    /// Results kept ahead of the master at most (bounds memory: each may hold a copy of
    /// the run).
    cap: usize,
}

impl Pool {
    fn lock(&self) -> MutexGuard<'_, Shared> {
        self.shared.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Marks the search failed if the step in progress panics (the master must not wait for
/// it for ever).
struct Unwinding<'a> {
    pool: &'a Pool,
    key: Option<Key>,
}

impl Drop for Unwinding<'_> {
    fn drop(&mut self) {
        if let Some(k) = self.key.take() {
            let mut g = self.pool.lock();
            g.failed = true;
            g.running.remove(&k);
            drop(g);
            self.pool.ready.notify_all();
        }
    }
}

/// A thread's run, and the node it is at the end of (continuing from there needs no
/// copy).
#[derive(Default)]
struct Slot {
    /// The run, with its arrival-jitter choices.
    runner: Option<(Vec<u32>, Runner)>,
    at: Option<Arc<Node>>,
}

/// The master's next step.
struct Pos {
    node: Arc<Node>,
    pi: Vec<u32>,
}

fn picks(c: &[Choice]) -> Vec<u32> {
    c.iter().map(|c| c.picked).collect()
}

impl Search<'_> {
    fn depth_limit(&self) -> u64 {
        self.max_depth.unwrap_or(u64::MAX)
    }

    fn own(&self, g: &[u32]) -> Own {
        self.owner.map_or(Own::Mine, |o| o.own(g))
    }

    /// Whether the master will prune a state reached after `decisions` choices, given
    /// the states it has explored (seen before: always without a depth bound; with one,
    /// only if it was reached in as few choices or fewer).
    fn pruned(&self, seen: &BTreeMap<u64, u64>, h: u64, decisions: u64) -> bool {
        seen.get(&h)
            .is_some_and(|&d| self.max_depth.is_none() || d <= decisions)
    }

    /// Run `task` on `slot`'s run.
    fn run_task(&self, task: &Task, slot: &mut Slot, pool: &Pool) -> Leaf {
        let node = &task.node;
        let p = self.p;
        let Some(resume) = &node.resume else {
            // The root: set the run up, choosing the arrival jitter.
            let script = ChooserMode::Scripted(task.pi.clone());
            let mut rn = match Runner::new(p, self.opts, script, true, p.config.seed, true) {
                Ok(rn) => rn,
                Err(e) => {
                    return Leaf {
                        local: Vec::new(),
                        decisions: 0,
                        outcome: Outcome::Error(e),
                    };
                }
            };
            rn.interruptible = self.interruptible;
            let local = rn.choices().to_vec();
            let start = Arc::new(Node {
                path: picks(&local),
                depth: 1,
                link: None,
                failure_point: false,
                resume: Some(rn.resume_point()),
            });
            slot.runner = Some((start.path.clone(), rn));
            slot.at = Some(start.clone());
            return Leaf {
                decisions: local.len() as u64,
                local,
                outcome: Outcome::Start(start),
            };
        };
        let mut script = Vec::with_capacity(node.path.len() + task.pi.len());
        script.extend_from_slice(&node.path);
        script.extend_from_slice(&task.pi);
        let warm = slot.at.take().is_some_and(|at| Arc::ptr_eq(&at, node));
        // The run's arrival jitter (its workload) must be the node's: the copy holds the
        // state, not the jobs' submit times.
        let jitter_len = if self.opts.jitter.is_some() {
            p.workload.jobs.len().min(node.path.len())
        } else {
            0
        };
        let jitter = &node.path[..jitter_len];
        let (rn, warm) = match slot.runner.take() {
            Some((j, rn)) if j.as_slice() == jitter => (&mut slot.runner.insert((j, rn)).1, warm),
            _ => {
                let mode = ChooserMode::Scripted(jitter.to_vec());
                match Runner::new(p, self.opts, mode, true, p.config.seed, true) {
                    Ok(mut rn) => {
                        rn.interruptible = self.interruptible;
                        (&mut slot.runner.insert((jitter.to_vec(), rn)).1, false)
                    }
                    Err(e) => {
                        return Leaf {
                            local: Vec::new(),
                            decisions: node.decisions(),
                            outcome: Outcome::Error(e),
                        };
                    }
                }
            }
        };
        if warm {
            rn.follow(script);
        } else {
            rn.resume(resume, script);
        }
        if node.failure_point {
            rn.inject_failure();
        }
        let reached = rn.to_next_instant(&|h| on_path(node.link.as_ref(), h));
        let choices = rn.choices();
        let base = node.path.len().min(choices.len());
        let local = choices[base..].to_vec();
        let decisions = choices.len() as u64;
        let outcome = match reached {
            Reached::Instant {
                h,
                now,
                waiting,
                offer,
            } => {
                // Above a shard's cut nothing is pruned.
                let shared = self.owner.is_some() && self.own(&picks(choices)) == Own::Shared;
                let explored = !shared && self.pruned(&pool.lock().seen, h, decisions);
                if explored {
                    Outcome::Instant {
                        h,
                        waiting,
                        node: None,
                    }
                } else {
                    let next = Arc::new(Node {
                        path: picks(choices),
                        depth: node.depth.saturating_add(1),
                        link: Some(Arc::new(Link {
                            h,
                            now,
                            parent: node.link.clone(),
                        })),
                        failure_point: offer,
                        resume: Some(rn.resume_point()),
                    });
                    slot.at = Some(next.clone());
                    Outcome::Instant {
                        h,
                        waiting,
                        node: Some(next),
                    }
                }
            }
            Reached::End {
                end,
                violation,
                cycle,
                guard,
                invariant,
                fingerprint,
            } => {
                let keep = violation.is_some() || invariant.is_some();
                Outcome::End(Box::new(EndInfo {
                    end,
                    violation,
                    cycle,
                    guard,
                    invariant,
                    choices: if keep { choices.to_vec() } else { Vec::new() },
                    fingerprint,
                }))
            }
        };
        Leaf {
            local,
            decisions,
            outcome,
        }
    }

    /// Queue what `task`'s step shows will be needed: the next alternative of its last
    /// scripted choice, the second alternative of every later choice (within the depth
    /// bound), and the first step from the state it reached if no earlier node reached
    /// that state. Only steps of this shard's part.
    fn queue_after(&self, g: &mut Shared, task: &Task, leaf: &Leaf) {
        let n = &task.node;
        let base = n.decisions();
        let limit = self.depth_limit();
        let push = |g: &mut Shared, t: Task| {
            let k = t.key();
            if k >= g.position {
                g.queue.insert(k, t);
            }
        };
        // The first alternative after `from` at position `j` of this step that is this
        // shard's, if any.
        let next_owned = |j: usize, from: u32| -> Option<Vec<u32>> {
            let among = leaf.local.get(j)?.among;
            let mut pi: Vec<u32> = if j < task.pi.len() {
                task.pi[..j].to_vec()
            } else {
                let mut v = task.pi.clone();
                v.extend(leaf.local[task.pi.len()..j].iter().map(|c| c.picked));
                v
            };
            pi.push(0);
            for a in from + 1..among {
                *pi.last_mut()? = a;
                let mut full = n.path.clone();
                full.extend_from_slice(&pi);
                if self.own(&full) != Own::Other {
                    return Some(pi);
                }
            }
            None
        };
        if let Some(&a) = task.pi.last()
            && let Some(pi) = next_owned(task.pi.len() - 1, a)
        {
            push(
                g,
                Task {
                    node: n.clone(),
                    pi,
                },
            );
        }
        for j in task.pi.len()..leaf.local.len() {
            if base.saturating_add(j as u64) >= limit {
                break;
            }
            if let Some(pi) = next_owned(j, 0) {
                push(
                    g,
                    Task {
                        node: n.clone(),
                        pi,
                    },
                );
            }
        }
        match &leaf.outcome {
            Outcome::Start(start) if self.own(&start.path) != Own::Other => push(
                g,
                Task {
                    node: start.clone(),
                    pi: Vec::new(),
                },
            ),
            Outcome::Instant {
                h, node: Some(t), ..
            } => match self.own(&t.path) {
                Own::Other => {}
                Own::Shared => push(
                    g,
                    Task {
                        node: t.clone(),
                        pi: Vec::new(),
                    },
                ),
                Own::Mine if self.pruned(&g.seen, *h, t.decisions()) => {}
                Own::Mine => {
                    let first = Task {
                        node: t.clone(),
                        pi: Vec::new(),
                    };
                    let k = first.key();
                    let earlier = g.claims.get(h).is_some_and(|c| *c < k);
                    if !earlier {
                        g.claims.insert(*h, k);
                        push(g, first);
                    }
                }
            },
            _ => {}
        }
    }

    /// The master's next step: run ahead by another thread, or run here.
    fn get(&self, pool: &Pool, at: &Pos, slot: &mut Slot) -> Result<Leaf, VerifyError> {
        let task = Task {
            node: at.node.clone(),
            pi: at.pi.clone(),
        };
        if self.threads <= 1 {
            return Ok(self.run_task(&task, slot, pool));
        }
        let key = task.key();
        let mut g = pool.lock();
        g.position = key.clone();
        // Drop what was run or queued for branches the master has gone past (outside
        // the lock: each may hold a copy of a run).
        let mut stale_tasks = Vec::new();
        let mut stale_leaves = Vec::new();
        {
            let s = &mut *g;
            while let Some(e) = s.queue.first_entry() {
                if *e.key() >= s.position {
                    break;
                }
                stale_tasks.push(e.remove());
            }
            while let Some(e) = s.results.first_entry() {
                if *e.key() >= s.position {
                    break;
                }
                stale_leaves.push(e.remove());
            }
        }
        loop {
            if g.failed {
                return Err(VerifyError::Internal(
                    "a thread of the exhaustive search panicked".into(),
                ));
            }
            if let Some(leaf) = g.results.remove(&key) {
                drop(g);
                pool.work.notify_all();
                return Ok(leaf);
            }
            if g.running.contains(&key) {
                g = pool.ready.wait(g).unwrap_or_else(PoisonError::into_inner);
                continue;
            }
            let task = g.queue.remove(&key).unwrap_or(task);
            g.running.insert(key.clone());
            drop(g);
            drop(stale_tasks);
            drop(stale_leaves);
            let leaf = self.run_task(&task, slot, pool);
            let mut g = pool.lock();
            g.running.remove(&key);
            self.queue_after(&mut g, &task, &leaf);
            drop(g);
            pool.work.notify_all();
            return Ok(leaf);
        }
    }

    /// Another thread: run the lowest queued step, again and again.
    fn worker(&self, pool: &Pool) {
        let mut slot = Slot::default();
        loop {
            let mut g = pool.lock();
            let (key, task) = loop {
                if g.done || g.failed {
                    return;
                }
                let s = &mut *g;
                while let Some(e) = s.queue.first_entry() {
                    if *e.key() >= s.position {
                        break;
                    }
                    e.remove();
                }
                if s.results.len() < pool.cap
                    && let Some(kt) = s.queue.pop_first()
                {
                    break kt;
                }
                g = pool.work.wait(g).unwrap_or_else(PoisonError::into_inner);
            };
            g.running.insert(key.clone());
            drop(g);
            let mut guard = Unwinding {
                pool,
                key: Some(key.clone()),
            };
            let leaf = self.run_task(&task, &mut slot, pool);
            guard.key = None;
            let mut g = pool.lock();
            g.running.remove(&key);
            if key >= g.position {
                self.queue_after(&mut g, &task, &leaf);
                g.results.insert(key, leaf);
            }
            drop(g);
            pool.ready.notify_all();
            pool.work.notify_all();
        }
    }

    /// Explore: the master here, `threads - 1` others running steps ahead.
    pub(super) fn run(&self, progress: &(dyn Fn(u64, u64) + Sync)) -> Result<Searched, VerifyError> {
        let pool = Pool {
            shared: Mutex::new(Shared {
                queue: BTreeMap::new(),
                results: BTreeMap::new(),
                running: BTreeSet::new(),
                position: Key {
                    path: Vec::new(),
                    depth: 0,
                },
                seen: BTreeMap::new(),
                claims: BTreeMap::new(),
                done: false,
                failed: false,
            }),
            work: Condvar::new(),
            ready: Condvar::new(),
            cap: 256 * self.threads.max(1),
        };
        if self.threads <= 1 {
            return self.master(&pool, progress);
        }
        std::thread::scope(|s| {
            for _ in 1..self.threads {
                s.spawn(|| self.worker(&pool));
            }
            let r = self.master(&pool, progress);
            pool.lock().done = true;
            pool.work.notify_all();
            r
        })
    }

    /// The next step after the schedule that ended at the top of `frames`: the next
    /// alternative of the last choice (within the depth bound) that has one, in this
    /// shard's part.
    fn next_position(&self, frames: &mut Vec<(Arc<Node>, Vec<Choice>)>) -> Option<Pos> {
        let limit = self.depth_limit();
        while let Some((n, local)) = frames.pop() {
            let room = limit.saturating_sub(n.decisions());
            let lim = (local.len() as u64).min(room) as usize;
            for k in (0..lim).rev() {
                let c = local[k];
                for a in c.picked + 1..c.among {
                    let mut pi = picks(&local[..k]);
                    pi.push(a);
                    let mut full = n.path.clone();
                    full.extend_from_slice(&pi);
                    if self.own(&full) != Own::Other {
                        return Some(Pos { node: n, pi });
                    }
                }
            }
        }
        None
    }

    /// The search itself, in the one order.
    fn master(
        &self,
        pool: &Pool,
        progress: &(dyn Fn(u64, u64) + Sync),
    ) -> Result<Searched, VerifyError> {
        let stop_requested = || self.interruptible && interrupt::interrupted();
        let mut cov = Coverage::default();
        let mut deadlock: Option<Found> = None;
        let mut livelock: Option<Found> = None;
        let mut edges: Vec<(u64, u64)> = Vec::new();
        let mut waiting: BTreeSet<u64> = BTreeSet::new();
        let mut shared: BTreeSet<u64> = BTreeSet::new();
        let mut frames: Vec<(Arc<Node>, Vec<Choice>)> = Vec::new();
        let mut slot = Slot::default();
        let root = Node::root();
        let mut pos = (self.own(&root.path) != Own::Other).then_some(Pos {
            node: root,
            pi: Vec::new(),
        });
        let limit = self.depth_limit();
        // New states of steps that belonged to no schedule of this shard (it went on into
        // another shard's part): counted with the next schedule.
        let mut carried = 0u64;
        loop {
            let Some(mut at) = pos.take() else {
                cov.complete = !cov.depth_bound_hit;
                break;
            };
            if cov.schedules >= self.max_schedules {
                cov.budget_exhausted = true;
                break;
            }
            if stop_requested() {
                cov.interrupted = true;
                break;
            }
            let mut new_states = std::mem::take(&mut carried);
            // Follow the schedule, step by step, to its end.
            let (leaf, end) = loop {
                let leaf = self.get(pool, &at, &mut slot)?;
                let node = at.node.clone();
                if self.owner.is_some() {
                    let mut full = node.path.clone();
                    full.extend(leaf.local.iter().map(|c| c.picked));
                    if self.own(&full) == Own::Other {
                        break (leaf, None);
                    }
                }
                match &leaf.outcome {
                    Outcome::Error(e) => return Err(VerifyError::Model(e.clone())),
                    Outcome::Start(start) => {
                        let start = start.clone();
                        frames.push((node, leaf.local));
                        at = Pos {
                            node: start,
                            pi: Vec::new(),
                        };
                    }
                    Outcome::Instant { h, waiting: w, node: t } => {
                        let (h, w, t) = (*h, *w, t.clone());
                        if let Some(from) = node.h() {
                            edges.push((from, h));
                        }
                        // Above a shard's cut: every shard runs it, nothing is pruned (a
                        // state there is explored only in part by each shard).
                        if let Some(t) = &t
                            && self.owner.is_some()
                            && self.own(&t.path) == Own::Shared
                        {
                            shared.insert(h);
                            if w {
                                waiting.insert(h);
                            }
                            frames.push((node, leaf.local));
                            at = Pos {
                                node: t.clone(),
                                pi: Vec::new(),
                            };
                            continue;
                        }
                        let mut g = pool.lock();
                        if self.pruned(&g.seen, h, leaf.decisions) {
                            drop(g);
                            break (leaf, Some(ScheduleEnd::Pruned));
                        }
                        let Some(t) = t else {
                            return Err(VerifyError::Internal(
                                "a step reached a new state without keeping the run".into(),
                            ));
                        };
                        g.seen.insert(h, leaf.decisions);
                        g.claims.remove(&h);
                        drop(g);
                        new_states += 1;
                        if w {
                            waiting.insert(h);
                        }
                        frames.push((node, leaf.local));
                        at = Pos {
                            node: t,
                            pi: Vec::new(),
                        };
                    }
                    Outcome::End(info) => {
                        if let (Some(from), Some(to)) = (node.h(), info.cycle) {
                            edges.push((from, to));
                        }
                        let end = info.end;
                        break (leaf, Some(end));
                    }
                }
            };
            let node = at.node;
            let decisions = leaf.decisions;
            let Some(end) = end else {
                // Not this shard's schedule: on to the next one.
                carried = new_states;
                frames.push((node, leaf.local));
                pos = self.next_position(&mut frames);
                continue;
            };
            let info = match leaf.outcome {
                Outcome::End(info) => Some(info),
                _ => None,
            };
            frames.push((node, leaf.local));
            if end == ScheduleEnd::Interrupted {
                cov.interrupted = true;
                break;
            }
            let index = cov.schedules;
            if end == ScheduleEnd::Invariant {
                let info = info.as_deref();
                return Err(VerifyError::Invariant {
                    schedule: index,
                    seed: None,
                    choices: info.map(|i| picks(&i.choices)).unwrap_or_default(),
                    message: info
                        .and_then(|i| i.invariant.clone())
                        .unwrap_or_else(|| "(no detail)".to_string()),
                });
            }
            let guard = info.as_ref().and_then(|i| i.guard.as_ref());
            record(&mut cov, end, guard, new_states, decisions, index, None);
            if let Some(i) = &info
                && let Some(v) = &i.violation
            {
                let f = found(v, &i.choices, i.fingerprint, None, index);
                match v.kind {
                    ViolationKind::Deadlock => {
                        deadlock = Some(f);
                        break;
                    }
                    ViolationKind::Livelock if livelock.is_none() => livelock = Some(f),
                    ViolationKind::Livelock => {}
                }
            }
            if decisions > limit {
                cov.depth_bound_hit = true;
            }
            pos = self.next_position(&mut frames);
            if pos.is_some() && cov.schedules.is_multiple_of(256) {
                progress(cov.schedules, self.max_schedules);
            }
        }
        progress(cov.schedules, cov.schedules);
        cov.state_graph_cycles = waiting_cycles(&edges, &waiting);
        let states = std::mem::take(&mut pool.lock().seen);
        Ok(Searched {
            cov,
            deadlock,
            livelock,
            states,
            shared,
            waiting,
            edges,
        })
    }
}

/// The prefixes at which `verify --shard` cuts the space into at least `4 × shards`
/// parts (fewer when the space has fewer choice sequences): level by level, every
/// prefix is extended by each alternative of its next choice, found by running the
/// schedule that follows it (a run that ends before that choice, or returns to a state
/// it passed, keeps its prefix whole). The same for every shard and thread count.
pub(super) fn split(
    p: &Problem,
    opts: &ExploreOptions,
    shards: u32,
    max_depth: Option<u64>,
) -> Result<Vec<Vec<u32>>, VerifyError> {
    let limit = max_depth.unwrap_or(u64::MAX);
    const MAX_LEVELS: usize = 24;
    let target = (shards as usize).saturating_mul(4).max(1);
    let mut level: Vec<(Vec<u32>, bool)> = vec![(Vec::new(), false)];
    for _ in 0..MAX_LEVELS {
        if shards <= 1 || level.len() >= target || level.iter().all(|(_, whole)| *whole) {
            break;
        }
        let mut next = Vec::new();
        for (q, whole) in level {
            // Past the depth bound only the first alternatives are explored.
            if whole || q.len() as u64 >= limit {
                next.push((q, true));
                continue;
            }
            match among_at(p, opts, &q)? {
                None => next.push((q, true)),
                Some(n) => {
                    for a in 0..n {
                        let mut e = q.clone();
                        e.push(a);
                        next.push((e, false));
                    }
                }
            }
        }
        level = next;
    }
    Ok(level.into_iter().map(|(q, _)| q).collect())
}

/// The number of alternatives of choice `q.len()` of the schedule that follows `q` (then
/// the first alternatives), or `None` if it ends first.
fn among_at(p: &Problem, opts: &ExploreOptions, q: &[u32]) -> Result<Option<u32>, VerifyError> {
    let script = ChooserMode::Scripted(q.to_vec());
    let mut rn = Runner::new(p, opts, script, true, p.config.seed, true)?;
    let mut link: Option<Arc<Link>> = None;
    loop {
        if let Some(c) = rn.choices().get(q.len()) {
            return Ok(Some(c.among));
        }
        match rn.to_next_instant(&|h| on_path(link.as_ref(), h)) {
            Reached::Instant { h, now, offer, .. } => {
                link = Some(Arc::new(Link {
                    h,
                    now,
                    parent: link.take(),
                }));
                if offer {
                    rn.inject_failure();
                }
            }
            Reached::End { .. } => return Ok(rn.choices().get(q.len()).map(|c| c.among)),
        }
    }
}
