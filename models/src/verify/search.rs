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

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering as AtomicOrdering};
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
    /// Links in the chain, this one included.
    len: usize,
    parent: Option<Arc<Link>>,
}

impl Link {
    fn new(h: u64, now: SimTime, parent: Option<Arc<Link>>) -> Arc<Link> {
        Arc::new(Link {
            h,
            now,
            len: parent.as_ref().map_or(0, |p| p.len) + 1,
            parent,
        })
    }
}

/// The states of one path, for look-ups: moved from path to path by popping back to
/// where they meet and pushing the rest (steps in the master's order mostly move by one).
#[derive(Default)]
struct PathSet {
    chain: Vec<Arc<Link>>,
    at: BTreeMap<u64, SimTime>,
}

impl PathSet {
    /// Make this the path ending at `link`.
    fn go_to(&mut self, link: Option<&Arc<Link>>) {
        let mut add = Vec::new();
        let mut cur = link;
        while let Some(l) = cur {
            if self.chain.get(l.len - 1).is_some_and(|c| Arc::ptr_eq(c, l)) {
                break;
            }
            add.push(l.clone());
            cur = l.parent.as_ref();
        }
        let keep = cur.map_or(0, |l| l.len);
        for l in self.chain.drain(keep..) {
            self.at.remove(&l.h);
        }
        for l in add.into_iter().rev() {
            self.at.insert(l.h, l.now);
            self.chain.push(l);
        }
    }

    /// When the path passed through the state with fingerprint `h`.
    fn get(&self, h: u64) -> Option<SimTime> {
        self.at.get(&h).copied()
    }
}

/// Where a node is in the search's order: the step that led to it from the node before
/// (its choices), and that node's place. Small, and shared along paths.
struct Place {
    /// The places 1, 2, 4, 8, … nodes before this one (the first is the parent): two
    /// places find where their paths meet in a few jumps.
    up: Vec<Arc<Place>>,
    /// The choices of the step from the node before to this one.
    step: Box<[u32]>,
    /// Nodes before this one on the path: 0 the root (before the run is set up), 1 the
    /// run's start (after the arrival jitter is chosen), then one per closed instant.
    depth: u32,
    /// Choices from the start of the schedule to here.
    len: u64,
}

impl Place {
    fn root() -> Arc<Place> {
        Arc::new(Place {
            up: Vec::new(),
            step: Box::new([]),
            depth: 0,
            len: 0,
        })
    }

    fn child(parent: &Arc<Place>, step: &[Choice]) -> Arc<Place> {
        let mut up = vec![parent.clone()];
        while let Some(next) = up.last().and_then(|p| p.up.get(up.len() - 1)) {
            up.push(next.clone());
        }
        Arc::new(Place {
            up,
            step: step.iter().map(|c| c.picked).collect(),
            depth: parent.depth.saturating_add(1),
            len: parent.len + step.len() as u64,
        })
    }

    /// The place on this one's path at `depth` (at most this one's).
    fn at(self: &Arc<Place>, depth: u32) -> &Arc<Place> {
        let mut x = self;
        while x.depth > depth {
            let k = (x.depth - depth).ilog2() as usize;
            match x.up.get(k).or(x.up.last()) {
                Some(p) => x = p,
                None => break,
            }
        }
        x
    }
}

/// The choices from `from` down to `to` (a place below it), then `tail`, one by one.
fn down<'a>(
    from: &'a Arc<Place>,
    to: &'a Arc<Place>,
    tail: &'a [u32],
) -> impl Iterator<Item = u32> + 'a {
    (from.depth + 1..=to.depth)
        .flat_map(move |d| to.at(d).step.iter().copied())
        .chain(tail.iter().copied())
}

/// A point a schedule runs on from.
struct Node {
    place: Arc<Place>,
    /// The run's arrival-jitter choices: which workload it has.
    jitter: Arc<[u32]>,
    /// The first choices of the path, as many as a shard's cut looks at.
    head: Arc<[u32]>,
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
            place: Place::root(),
            jitter: Arc::new([]),
            head: Arc::new([]),
            link: None,
            failure_point: false,
            resume: None,
        })
    }

    fn h(&self) -> Option<u64> {
        self.link.as_ref().map(|l| l.h)
    }

    fn decisions(&self) -> u64 {
        self.place.len
    }
}

/// The order in which the search takes steps: by the step's choice sequence from the
/// start of the schedule (lexicographic, a prefix first), then by node depth (nodes a
/// step with no choice apart). A step's key is its node's place and its script.
#[derive(Clone)]
struct Key {
    place: Arc<Place>,
    pi: Vec<u32>,
}

impl Ord for Key {
    fn cmp(&self, other: &Key) -> Ordering {
        let (a, b) = (&self.place, &other.place);
        if Arc::ptr_eq(a, b) {
            return self.pi.cmp(&other.pi);
        }
        // Where the two paths meet: only what lies below it can differ.
        let depth = a.depth.min(b.depth);
        let (mut x, mut y) = (a.at(depth), b.at(depth));
        if !Arc::ptr_eq(x, y) {
            for k in (0..x.up.len()).rev() {
                if let (Some(px), Some(py)) = (x.up.get(k), y.up.get(k))
                    && !Arc::ptr_eq(px, py)
                {
                    x = px;
                    y = py;
                }
            }
            if let (Some(px), Some(_)) = (x.up.first(), y.up.first()) {
                x = px;
            }
        }
        down(x, a, &self.pi)
            .cmp(down(x, b, &other.pi))
            .then(a.depth.cmp(&b.depth))
    }
}

impl PartialOrd for Key {
    fn partial_cmp(&self, other: &Key) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Key {
    fn eq(&self, other: &Key) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Key {}

/// A step to run: from `node`, the choices `pi`, then the first alternative of every
/// later choice, to the end of the instant.
#[derive(Clone)]
struct Task {
    node: Arc<Node>,
    pi: Vec<u32>,
}

impl Task {
    fn key(&self) -> Key {
        Key {
            place: self.node.place.clone(),
            pi: self.pi.clone(),
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

/// Steps the master takes alone before the other threads start.
const START_AFTER: u64 = 64;

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
    /// Threads waiting for work, and whether the master waits for a result (wake-ups are
    /// sent only to a thread that waits).
    idle: usize,
    master_waits: bool,
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
    /// The other threads run: steps are queued for them.
    parallel: AtomicBool,
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
    runner: Option<(Arc<[u32]>, Runner)>,
    /// The states of the path of the last step run.
    path: PathSet,
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

    /// Whose the choice sequence `head` then `rest` is (only its first choices
    /// matter).
    fn own(&self, head: &[u32], rest: &[u32]) -> Own {
        let Some(o) = self.owner else {
            return Own::Mine;
        };
        if head.len() >= o.longest {
            return o.own(head);
        }
        let mut g = head.to_vec();
        g.extend(rest.iter().take(o.longest - head.len()));
        o.own(&g)
    }

    /// The first choices of `head` then `step`, as many as the shard's cut looks at.
    fn head(&self, head: &Arc<[u32]>, step: &[Choice]) -> Arc<[u32]> {
        match self.owner {
            Some(o) if head.len() < o.longest => head
                .iter()
                .copied()
                .chain(step.iter().map(|c| c.picked))
                .take(o.longest)
                .collect(),
            _ => head.clone(),
        }
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
            let jitter: Arc<[u32]> = picks(&local).into();
            let start = Arc::new(Node {
                place: Place::child(&node.place, &local),
                jitter: jitter.clone(),
                head: self.head(&node.head, &local),
                link: None,
                failure_point: false,
                resume: Some(rn.resume_point()),
            });
            slot.runner = Some((jitter, rn));
            slot.at = Some(start.clone());
            return Leaf {
                decisions: local.len() as u64,
                local,
                outcome: Outcome::Start(start),
            };
        };
        let script = task.pi.clone();
        let warm = slot.at.take().is_some_and(|at| Arc::ptr_eq(&at, node));
        // The run's arrival jitter (its workload) must be the node's: the copy holds the
        // state, not the jobs' submit times.
        let jitter = &node.jitter;
        let (rn, warm) = match slot.runner.take() {
            Some((j, rn)) if j == *jitter => (&mut slot.runner.insert((j, rn)).1, warm),
            _ => {
                let mode = ChooserMode::Scripted(jitter.to_vec());
                match Runner::new(p, self.opts, mode, true, p.config.seed, true) {
                    Ok(mut rn) => {
                        rn.interruptible = self.interruptible;
                        (&mut slot.runner.insert((jitter.clone(), rn)).1, false)
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
        slot.path.go_to(node.link.as_ref());
        let on_path = &slot.path;
        let reached = rn.run_to_next_instant(&|h| on_path.get(h));
        let choices = rn.choices();
        let base = (node.decisions() as usize).min(choices.len());
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
                let shared = self.owner.is_some()
                    && self.own(&node.head, &picks(&choices[base..])) == Own::Shared;
                let explored = !shared && self.pruned(&pool.lock().seen, h, decisions);
                if explored {
                    Outcome::Instant {
                        h,
                        waiting,
                        node: None,
                    }
                } else {
                    let step = &choices[base..];
                    let next = Arc::new(Node {
                        place: Place::child(&node.place, step),
                        jitter: node.jitter.clone(),
                        head: self.head(&node.head, step),
                        link: Some(Link::new(h, now, node.link.clone())),
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
    /// that state. Only steps of this shard's part. `mine`: the master ran the step, and
    /// runs the first step from the state reached itself if that state is new (on the
    /// run it has: no copy to restore).
    fn queue_after(&self, g: &mut Shared, task: &Task, leaf: &Leaf, mine: bool) {
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
                if self.own(&n.head, &pi) != Own::Other {
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
            _ if mine => {}
            Outcome::Start(start) if self.own(&start.head, &[]) != Own::Other => push(
                g,
                Task {
                    node: start.clone(),
                    pi: Vec::new(),
                },
            ),
            Outcome::Instant {
                h, node: Some(t), ..
            } => match self.own(&t.head, &[]) {
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
        if !pool.parallel.load(AtomicOrdering::Relaxed) {
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
                // Room for one more result.
                let wake = g.idle > 0;
                drop(g);
                if wake {
                    pool.work.notify_one();
                }
                return Ok(leaf);
            }
            if g.running.contains(&key) {
                // Another thread runs it: run something else ahead meanwhile, or wait.
                match Self::take_ahead(&mut g, pool.cap) {
                    Some((k, t)) => {
                        drop(g);
                        self.run_ahead(pool, slot, k, &t);
                        g = pool.lock();
                    }
                    None => {
                        g.master_waits = true;
                        g = pool.ready.wait(g).unwrap_or_else(PoisonError::into_inner);
                        g.master_waits = false;
                    }
                }
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
            self.queue_after(&mut g, &task, &leaf, true);
            let wake = g.idle > 0 && !g.queue.is_empty();
            drop(g);
            if wake {
                pool.work.notify_all();
            }
            return Ok(leaf);
        }
    }

    /// The lowest queued step the master may need, if there is room for its result
    /// (queued steps it has gone past are dropped).
    fn take_ahead(s: &mut Shared, cap: usize) -> Option<(Key, Task)> {
        while let Some(e) = s.queue.first_entry() {
            if *e.key() >= s.position {
                break;
            }
            e.remove();
        }
        if s.results.len() >= cap {
            return None;
        }
        let (k, t) = s.queue.pop_first()?;
        s.running.insert(k.clone());
        Some((k, t))
    }

    /// Run a step ahead of the master and keep its result (unless the master has gone
    /// past it meanwhile).
    fn run_ahead(&self, pool: &Pool, slot: &mut Slot, key: Key, task: &Task) {
        let mut guard = Unwinding {
            pool,
            key: Some(key.clone()),
        };
        let leaf = self.run_task(task, slot, pool);
        guard.key = None;
        let mut g = pool.lock();
        g.running.remove(&key);

        if key >= g.position {
            self.queue_after(&mut g, task, &leaf, false);
            g.results.insert(key, leaf);
        }
        let (master, others) = (g.master_waits, g.idle > 0 && !g.queue.is_empty());
        drop(g);
        if master {
            pool.ready.notify_one();
        }
        if others {
            pool.work.notify_all();
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
                if let Some(kt) = Self::take_ahead(&mut g, pool.cap) {
                    break kt;
                }
                g.idle += 1;
                g = pool.work.wait(g).unwrap_or_else(PoisonError::into_inner);
                g.idle -= 1;
            };
            drop(g);
            self.run_ahead(pool, &mut slot, key, &task);
        }
    }

    /// Explore: the master here, `threads - 1` others running steps ahead.
    pub(super) fn run(
        &self,
        progress: &(dyn Fn(u64, u64) + Sync),
    ) -> Result<Searched, VerifyError> {
        let root = Node::root();
        let pool = Pool {
            shared: Mutex::new(Shared {
                queue: BTreeMap::new(),
                results: BTreeMap::new(),
                running: BTreeSet::new(),
                position: Key {
                    place: root.place.clone(),
                    pi: Vec::new(),
                },
                seen: BTreeMap::new(),
                claims: BTreeMap::new(),
                done: false,
                failed: false,
                idle: 0,
                master_waits: false,
            }),
            work: Condvar::new(),
            ready: Condvar::new(),
            cap: 256 * self.threads.max(1),
            parallel: AtomicBool::new(false),
        };
        if self.threads <= 1 {
            return self.master(&pool, progress, root, &|| {});
        }
        std::thread::scope(|s| {
            // The other threads start once the search has shown it is more than a few
            // steps (a small one is done before they would have started).
            let start = || {
                pool.parallel.store(true, AtomicOrdering::Relaxed);
                for _ in 1..self.threads {
                    s.spawn(|| self.worker(&pool));
                }
            };
            let r = self.master(&pool, progress, root, &start);
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
                    if self.own(&n.head, &pi) != Own::Other {
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
        root: Arc<Node>,
        start_threads: &dyn Fn(),
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
        let mut pos = (self.own(&root.head, &[]) != Own::Other).then_some(Pos {
            node: root,
            pi: Vec::new(),
        });
        let limit = self.depth_limit();
        let mut steps = 0u64;
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
                steps += 1;
                if steps == START_AFTER {
                    start_threads();
                }
                let leaf = self.get(pool, &at, &mut slot)?;
                let node = at.node.clone();
                if self.owner.is_some() && self.own(&node.head, &picks(&leaf.local)) == Own::Other {
                    break (leaf, None);
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
                    Outcome::Instant {
                        h,
                        waiting: w,
                        node: t,
                    } => {
                        let (h, w, t) = (*h, *w, t.clone());
                        if let Some(from) = node.h() {
                            edges.push((from, h));
                        }
                        // Above a shard's cut: every shard runs it, nothing is pruned (a
                        // state there is explored only in part by each shard).
                        if let Some(t) = &t
                            && self.owner.is_some()
                            && self.own(&t.head, &[]) == Own::Shared
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
    let mut path = PathSet::default();
    loop {
        if let Some(c) = rn.choices().get(q.len()) {
            return Ok(Some(c.among));
        }
        path.go_to(link.as_ref());
        match rn.run_to_next_instant(&|h| path.get(h)) {
            Reached::Instant { h, now, offer, .. } => {
                link = Some(Link::new(h, now, link.take()));
                if offer {
                    rn.inject_failure();
                }
            }
            Reached::End { .. } => return Ok(rn.choices().get(q.len()).map(|c| c.among)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// xorshift64*, for the property tests here.
    fn rng(seed: u64) -> impl FnMut(u64) -> u64 {
        let mut x = seed | 1;
        move |n| {
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            x.wrapping_mul(0x2545_f491_4f6c_dd1d) % n.max(1)
        }
    }

    /// A random tree of places (steps of 0 to 3 choices, at most 3 alternatives each),
    /// with each place's whole choice sequence.
    fn places(seed: u64, n: usize) -> Vec<(Arc<Place>, Vec<u32>)> {
        let mut r = rng(seed);
        let root = Node::root().place.clone();
        let mut all = vec![(root, Vec::new())];
        for i in 0..n {
            // Mostly near the newest place (long paths), now and then anywhere.
            let k = if i % 5 == 0 {
                r(all.len() as u64) as usize
            } else {
                all.len() - 1 - r(all.len().min(4) as u64) as usize
            };
            let (parent, path) = all[k].clone();
            let step: Vec<Choice> = (0..r(4))
                .map(|_| Choice {
                    among: 3,
                    picked: r(3) as u32,
                })
                .collect();
            let mut full = path.clone();
            full.extend(step.iter().map(|c| c.picked));
            all.push((Place::child(&parent, &step), full));
        }
        all
    }

    #[test]
    fn keys_order_by_choice_sequence_then_depth_wherever_the_paths_meet() {
        for seed in 1..20 {
            let all = places(seed, 120);
            let mut r = rng(seed * 7919);
            for _ in 0..400 {
                let key = |r: &mut dyn FnMut(u64) -> u64| {
                    let (p, path) = all[r(all.len() as u64) as usize].clone();
                    let pi: Vec<u32> = (0..r(3)).map(|_| r(3) as u32).collect();
                    let mut seq = path;
                    seq.extend(&pi);
                    let depth = p.depth;
                    (Key { place: p, pi }, (seq, depth))
                };
                let (a, na) = key(&mut r);
                let (b, nb) = key(&mut r);
                assert_eq!(a.cmp(&b), na.cmp(&nb), "{na:?} vs {nb:?}");
                assert_eq!(a == b, na == nb);
            }
        }
    }

    #[test]
    fn a_path_set_follows_moves_between_paths() {
        let mut r = rng(5);
        let mut links: Vec<Option<Arc<Link>>> = vec![None];
        for i in 0..60u64 {
            let parent = links[r(links.len() as u64) as usize].clone();
            links.push(Some(Link::new(1000 + i, SimTime(i), parent)));
        }
        let mut set = PathSet::default();
        for _ in 0..300 {
            let l = links[r(links.len() as u64) as usize].clone();
            set.go_to(l.as_ref());
            let mut want = BTreeMap::new();
            let mut cur = l.as_ref();
            while let Some(x) = cur {
                want.insert(x.h, x.now);
                cur = x.parent.as_ref();
            }
            assert_eq!(set.at, want);
            for h in 1000..1061 {
                assert_eq!(set.get(h), want.get(&h).copied());
            }
        }
    }

    #[test]
    fn shard_prefixes_are_dealt_round_robin_and_shorter_paths_are_shared() {
        let part = ShardPart {
            index: 1,
            count: 2,
            prefixes: vec![vec![0], vec![1, 0], vec![1, 1], vec![2]],
        };
        let o = Owner::new(&part);
        assert_eq!(o.own(&[]), Own::Shared);
        assert_eq!(o.own(&[1]), Own::Shared);
        assert_eq!(o.own(&[0, 5, 5]), Own::Other);
        assert_eq!(o.own(&[1, 0]), Own::Mine);
        assert_eq!(o.own(&[1, 1, 3]), Own::Other);
        assert_eq!(o.own(&[2, 0]), Own::Mine);
    }
}
