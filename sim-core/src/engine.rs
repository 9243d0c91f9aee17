//! The run loop.
//!
//! A `Model` owns its state and handles one event at a time through a `Ctx`, which lets it
//! read the clock, schedule and cancel events, and ask the `Chooser`. After the last event
//! of an instant has been handled the engine calls `Model::instant_end`, the natural place
//! for batched work such as a scheduling cycle. The engine is single-threaded and
//! synchronous: a run is a pure function of (model, initial events, seed).

use crate::chooser::Chooser;
use crate::queue::{EventQueue, TimerId};
use crate::time::{SimDuration, SimTime};

/// What a model sees while it handles an event.
pub struct Ctx<'a, E> {
    now: SimTime,
    queue: &'a mut EventQueue<E>,
    chooser: &'a mut Chooser,
    stop_requested: &'a mut bool,
}

impl<E> Ctx<'_, E> {
    pub fn now(&self) -> SimTime {
        self.now
    }
    /// Schedule at an absolute time; times in the past are clamped to now.
    pub fn schedule_at(&mut self, at: SimTime, event: E) -> TimerId {
        self.queue.schedule(at.max(self.now), event)
    }
    pub fn schedule_in(&mut self, delay: SimDuration, event: E) -> TimerId {
        self.queue.schedule(self.now + delay, event)
    }
    pub fn cancel(&mut self, id: TimerId) -> bool {
        self.queue.cancel(id)
    }
    pub fn chooser(&mut self) -> &mut Chooser {
        self.chooser
    }
    /// Ask the engine to stop after this event.
    pub fn stop(&mut self) {
        *self.stop_requested = true;
    }
    pub fn pending_events(&self) -> usize {
        self.queue.len()
    }
    /// Time of the next pending event, if any (the state stays as it is until then).
    pub fn next_event_time(&mut self) -> Option<SimTime> {
        self.queue.peek_time()
    }
}

/// A simulation model driven by the engine.
pub trait Model {
    type Event;
    /// Handle one event.
    fn handle(&mut self, event: Self::Event, ctx: &mut Ctx<'_, Self::Event>);
    /// Called once all events of the current instant have been handled (before time moves
    /// on, and once more when the queue runs dry). New events scheduled *at* the current
    /// instant are handled next, followed by another `instant_end`.
    fn instant_end(&mut self, _ctx: &mut Ctx<'_, Self::Event>) {}
    /// True if handling `event` gives the same result whatever order it takes among the
    /// other events of its instant (it commutes with all of them). With
    /// `SimultaneousOrder::Chooser` such events are handled first, in FIFO order, and only
    /// the others are offered to the chooser: a partial-order reduction. Default: false.
    fn commutes(&self, _event: &Self::Event) -> bool {
        false
    }
}

/// What an observer sees after each step of a run.
pub struct Probe<'a, E> {
    pub now: SimTime,
    /// Choices made so far (calls to the chooser with two or more alternatives).
    pub decisions: u64,
    /// The instant is closed: `instant_end` ran and scheduled nothing more at `now`, so
    /// time moves on next (or the run drains). A canonical point to inspect the state.
    pub instant_closed: bool,
    pub queue: &'a EventQueue<E>,
}

/// How simultaneous events are ordered.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SimultaneousOrder {
    /// Insertion order (the (time, seq) rule). Default.
    #[default]
    Fifo,
    /// The chooser picks which of the simultaneous events runs next (for exploration).
    Chooser,
}

/// Why a run stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StopReason {
    /// No events left.
    Drained,
    /// The next event lies beyond the horizon.
    Horizon,
    /// The model (or the observer's predicate) asked to stop.
    Requested,
    /// The event budget was used up.
    EventBudget,
}

/// Stop conditions for `Simulation::run`.
#[derive(Clone, Copy, Debug)]
pub struct StopAt {
    pub horizon: SimTime,
    pub max_events: u64,
}

impl Default for StopAt {
    fn default() -> Self {
        StopAt {
            horizon: SimTime::MAX,
            max_events: u64::MAX,
        }
    }
}

/// Summary of a finished run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RunStats {
    pub reason: StopReason,
    pub events: u64,
    pub now: SimTime,
    /// Fingerprint of the (time, id) sequence of every handled event.
    pub fingerprint: u64,
}

/// The engine: clock, event queue and chooser. Plain data; clone it to snapshot.
#[derive(Clone, Debug)]
pub struct Simulation<E> {
    now: SimTime,
    queue: EventQueue<E>,
    chooser: Chooser,
    order: SimultaneousOrder,
    events: u64,
    fingerprint: u64,
    /// The current instant has been closed (`instant_end` ran, nothing more at `now`): a
    /// run resumed after stopping there goes straight on to the next event.
    instant_done: bool,
}

impl<E> Simulation<E> {
    pub fn new(chooser: Chooser) -> Self {
        Simulation {
            now: SimTime::ZERO,
            queue: EventQueue::with_capacity(1024),
            chooser,
            order: SimultaneousOrder::Fifo,
            events: 0,
            fingerprint: crate::rng::fnv1a64(b"orrery"),
            instant_done: false,
        }
    }

    pub fn set_simultaneous_order(&mut self, order: SimultaneousOrder) {
        self.order = order;
    }
    pub fn now(&self) -> SimTime {
        self.now
    }
    pub fn schedule_at(&mut self, at: SimTime, event: E) -> TimerId {
        self.queue.schedule(at.max(self.now), event)
    }
    pub fn cancel(&mut self, id: TimerId) -> bool {
        self.queue.cancel(id)
    }
    pub fn queue(&self) -> &EventQueue<E> {
        &self.queue
    }
    pub fn chooser(&self) -> &Chooser {
        &self.chooser
    }
    pub fn chooser_mut(&mut self) -> &mut Chooser {
        &mut self.chooser
    }
    pub fn events_handled(&self) -> u64 {
        self.events
    }

    fn next_event<M: Model<Event = E>>(&mut self, model: &M) -> Option<crate::queue::Scheduled<E>> {
        match self.order {
            SimultaneousOrder::Fifo => self.queue.pop(),
            SimultaneousOrder::Chooser => {
                let mut batch = self.queue.pop_simultaneous();
                if batch.is_empty() {
                    return None;
                }
                // Events that commute with everything go first, without a choice.
                let i = match batch.iter().position(|e| model.commutes(&e.event)) {
                    Some(i) => i,
                    None => self.chooser.choose(batch.len()),
                };
                let picked = batch.swap_remove(i);
                for e in batch {
                    self.queue.reinsert(e);
                }
                Some(picked)
            }
        }
    }

    /// Run `model` until a stop condition holds. `observer` is called after every handled
    /// event (and after every `instant_end`) and returns `false` to stop the run.
    pub fn run<M, O>(&mut self, model: &mut M, stop: StopAt, mut observer: O) -> RunStats
    where
        M: Model<Event = E>,
        O: FnMut(SimTime, &M) -> bool,
    {
        self.run_probed(model, stop, |p, m| observer(p.now, m))
    }

    /// `run` with an observer that also sees the choices made so far, whether the instant
    /// is closed, and the pending events (for state hashing by a verifier).
    pub fn run_probed<M, O>(&mut self, model: &mut M, stop: StopAt, mut observer: O) -> RunStats
    where
        M: Model<Event = E>,
        O: FnMut(&Probe<'_, E>, &M) -> bool,
    {
        let mut stop_requested = false;
        let reason = loop {
            if stop_requested {
                break StopReason::Requested;
            }
            if self.events >= stop.max_events {
                break StopReason::EventBudget;
            }
            let mut next = self.queue.peek_time();
            // Close the current instant before time moves (or the queue runs dry).
            if next.is_none_or(|t| t > self.now) && !self.instant_done {
                let before = (self.queue.len(), self.queue.scheduled_total());
                let mut ctx = Ctx {
                    now: self.now,
                    queue: &mut self.queue,
                    chooser: &mut self.chooser,
                    stop_requested: &mut stop_requested,
                };
                model.instant_end(&mut ctx);
                // instant_end may have scheduled more work at `now`.
                let closed = (self.queue.len(), self.queue.scheduled_total()) == before;
                let probe = Probe {
                    now: self.now,
                    decisions: self.chooser.decisions(),
                    instant_closed: closed,
                    queue: &self.queue,
                };
                if !observer(&probe, model) {
                    stop_requested = true;
                }
                self.instant_done = closed;
                if !closed || stop_requested {
                    continue;
                }
                next = self.queue.peek_time();
            }
            let Some(t) = next else {
                break StopReason::Drained;
            };
            if t > stop.horizon {
                self.now = stop.horizon;
                break StopReason::Horizon;
            }
            let Some(ev) = self.next_event(model) else {
                break StopReason::Drained;
            };
            self.now = ev.time;
            self.instant_done = false;
            self.events += 1;
            self.fingerprint = mix(self.fingerprint, ev.time.0, ev.id.0);
            let mut ctx = Ctx {
                now: self.now,
                queue: &mut self.queue,
                chooser: &mut self.chooser,
                stop_requested: &mut stop_requested,
            };
            model.handle(ev.event, &mut ctx);
            let probe = Probe {
                now: self.now,
                decisions: self.chooser.decisions(),
                instant_closed: false,
                queue: &self.queue,
            };
            if !observer(&probe, model) {
                stop_requested = true;
            }
        };
        RunStats {
            reason,
            events: self.events,
            now: self.now,
            fingerprint: self.fingerprint,
        }
    }
}

fn mix(h: u64, a: u64, b: u64) -> u64 {
    let mut x = h ^ a.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    x = x.rotate_left(27).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^= b.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x.rotate_left(31)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chooser::ChooserMode;
    use crate::rng::RngStreams;

    /// Records the order it sees events in; re-arms a timer and cancels another.
    #[derive(Default)]
    struct Recorder {
        seen: Vec<(u64, &'static str)>,
        instants: Vec<u64>,
        to_cancel: Option<TimerId>,
    }

    impl Model for Recorder {
        type Event = &'static str;
        fn handle(&mut self, ev: &'static str, ctx: &mut Ctx<'_, &'static str>) {
            self.seen.push((ctx.now().0, ev));
            match ev {
                "start" => {
                    ctx.schedule_in(SimDuration(10), "tick");
                    self.to_cancel = Some(ctx.schedule_in(SimDuration(5), "never"));
                }
                "tick" => {
                    if let Some(id) = self.to_cancel.take() {
                        assert!(!ctx.cancel(id), "already fired? no: it is at t=5 < 10");
                    }
                }
                "cancel-now" => {
                    if let Some(id) = self.to_cancel.take() {
                        assert!(ctx.cancel(id));
                    }
                }
                _ => {}
            }
        }
        fn instant_end(&mut self, ctx: &mut Ctx<'_, &'static str>) {
            self.instants.push(ctx.now().0);
        }
    }

    #[test]
    fn runs_in_order_and_honours_cancellation() {
        let mut sim = Simulation::new(Chooser::seeded(1));
        sim.schedule_at(SimTime(0), "start");
        sim.schedule_at(SimTime(1), "cancel-now");
        let mut m = Recorder::default();
        let stats = sim.run(&mut m, StopAt::default(), |_, _| true);
        assert_eq!(stats.reason, StopReason::Drained);
        assert_eq!(m.seen, vec![(0, "start"), (1, "cancel-now"), (10, "tick")]);
        assert_eq!(m.instants, vec![0, 1, 10]);
        assert_eq!(stats.events, 3);
    }

    #[test]
    fn horizon_and_budget_stop_the_run() {
        let mut sim = Simulation::new(Chooser::seeded(1));
        sim.schedule_at(SimTime(0), "a");
        sim.schedule_at(SimTime(100), "b");
        let mut m = Recorder::default();
        let st = sim.run(
            &mut m,
            StopAt {
                horizon: SimTime(50),
                max_events: u64::MAX,
            },
            |_, _| true,
        );
        assert_eq!(st.reason, StopReason::Horizon);
        assert_eq!(st.now, SimTime(50));
        assert_eq!(m.seen.len(), 1);

        let mut sim = Simulation::new(Chooser::seeded(1));
        for t in 0..10 {
            sim.schedule_at(SimTime(t), "x");
        }
        let st = sim.run(
            &mut Recorder::default(),
            StopAt {
                horizon: SimTime::MAX,
                max_events: 4,
            },
            |_, _| true,
        );
        assert_eq!((st.reason, st.events), (StopReason::EventBudget, 4));
    }

    #[test]
    fn observer_predicate_stops() {
        let mut sim = Simulation::new(Chooser::seeded(1));
        for t in 0..10 {
            sim.schedule_at(SimTime(t), "x");
        }
        let mut m = Recorder::default();
        let st = sim.run(&mut m, StopAt::default(), |now, _| now < SimTime(3));
        assert_eq!(st.reason, StopReason::Requested);
        assert_eq!(m.seen.last().map(|s| s.0), Some(3));
    }

    #[test]
    fn stopping_at_a_closed_instant_and_resuming_is_one_run() {
        let sched = |sim: &mut Simulation<&'static str>| {
            for t in [1, 1, 2, 5, 5, 9] {
                sim.schedule_at(SimTime(t), "x");
            }
        };
        let mut whole = Simulation::new(Chooser::seeded(1));
        sched(&mut whole);
        let mut a = Recorder::default();
        let full = whole.run_probed(&mut a, StopAt::default(), |_, _| true);
        // Pause at every closed instant, clone, resume from the clone.
        let mut sim = Simulation::new(Chooser::seeded(1));
        sched(&mut sim);
        let mut b = Recorder::default();
        let mut probes = 0;
        loop {
            let st = sim.run_probed(&mut b, StopAt::default(), |p, _| {
                if p.instant_closed {
                    probes += 1;
                }
                !p.instant_closed
            });
            if st.reason != StopReason::Requested {
                assert_eq!((st.events, st.fingerprint), (full.events, full.fingerprint));
                break;
            }
            sim = sim.clone();
        }
        assert_eq!(a.seen, b.seen);
        assert_eq!(a.instants, b.instants, "no instant is closed twice");
        assert_eq!(
            probes, 5,
            "instants 0 (nothing), 1, 2, 5, 9 each closed once"
        );
    }

    #[test]
    fn set_mode_continues_a_script_from_the_current_decision() {
        let mut c = Chooser::new(ChooserMode::Scripted(vec![1, 2, 0]), &RngStreams::new(0));
        c.start_recording();
        assert_eq!((c.choose(3), c.choose(3)), (1, 2));
        let mut fork = c.clone();
        fork.set_mode(ChooserMode::Scripted(vec![1, 2, 1, 1]));
        assert_eq!((fork.choose(3), fork.choose(3)), (1, 1));
        assert_eq!(c.choose(3), 0);
        let picked: Vec<u32> = fork.recorded().unwrap().iter().map(|x| x.picked).collect();
        assert_eq!(picked, vec![1, 2, 1, 1]);
    }

    #[test]
    fn simultaneous_order_can_be_delegated_to_the_chooser() {
        let order = |mode: ChooserMode, o: SimultaneousOrder| {
            let mut sim = Simulation::new(Chooser::new(mode, &RngStreams::new(3)));
            sim.set_simultaneous_order(o);
            for name in ["a", "b", "c", "d"] {
                sim.schedule_at(SimTime(7), name);
            }
            let mut m = Recorder::default();
            sim.run(&mut m, StopAt::default(), |_, _| true);
            m.seen.iter().map(|s| s.1).collect::<String>()
        };
        assert_eq!(order(ChooserMode::Seeded, SimultaneousOrder::Fifo), "abcd");
        assert_eq!(
            order(ChooserMode::First, SimultaneousOrder::Chooser),
            "abcd",
            "index 0 is always the earliest-scheduled of the batch"
        );
        assert_eq!(
            order(
                ChooserMode::Scripted(vec![3, 2, 1]),
                SimultaneousOrder::Chooser
            ),
            "dcba"
        );
    }

    #[test]
    fn fingerprint_is_stable_for_same_inputs() {
        let fp = || {
            let mut sim = Simulation::new(Chooser::seeded(1));
            sim.schedule_at(SimTime(0), "start");
            sim.run(&mut Recorder::default(), StopAt::default(), |_, _| true)
                .fingerprint
        };
        assert_eq!(fp(), fp());
    }
}
