//! The browser's live state: the fleet rebuilt from the server's fleet feed, a short history
//! per container for charts, the container a detail view watches, and the connection to the
//! server's websocket (which reconnects by itself).

use crate::wire::{
    replace_container, ClientMsg, ContainerFrame, Detail, Fleet, FleetIndex, Frame, SeriesHistory,
    ServerMsg, Spark, Sparks,
};
use leptos::prelude::*;
use std::collections::{HashMap, VecDeque};

/// Points kept per container in the browser (5 minutes at 1 s).
pub const KEEP_POINTS: usize = 300;

/// Points of CPU a card's sparkline shows (one minute at 1 s).
pub const SPARK_POINTS: usize = 60;

/// One chart point.
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub struct Point {
    pub ts_ms: i64,
    pub cpu_pct: f64,
    pub mem_bytes: f64,
    pub mem_limit_bytes: f64,
    pub cpu_forecast: f64,
    pub cpu_lo95: f64,
    pub cpu_hi95: f64,
    pub failure_probability: f64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Connection {
    Connecting,
    Live,
    Reconnecting { attempt: u32 },
}

/// Per-container history, oldest first.
#[derive(Default, Debug)]
pub struct Histories(pub HashMap<String, VecDeque<Point>>);

impl Histories {
    /// Replaces a container's history with what the server holds (a detail view's watch).
    fn load(&mut self, s: &SeriesHistory) {
        let pts = (0..s.len())
            .map(|i| Point {
                ts_ms: s.ts_ms[i],
                cpu_pct: f64::from(*s.cpu_pct.get(i).unwrap_or(&0.0)),
                mem_bytes: *s.mem_bytes.get(i).unwrap_or(&0) as f64,
                mem_limit_bytes: *s.mem_limit_bytes.get(i).unwrap_or(&0) as f64,
                cpu_forecast: f64::from(*s.cpu_forecast.get(i).unwrap_or(&0.0)),
                cpu_lo95: f64::from(*s.cpu_lo95.get(i).unwrap_or(&0.0)),
                cpu_hi95: f64::from(*s.cpu_hi95.get(i).unwrap_or(&0.0)),
                failure_probability: f64::from(*s.failure_probability.get(i).unwrap_or(&0.0)),
            })
            .collect();
        self.0.insert(s.id.clone(), pts);
    }

    /// Starts containers' histories from a joining viewer's sparklines (CPU only, one value a
    /// second, the last at the fleet's time).
    fn load_sparks(&mut self, frame: &Frame, sparks: &[Spark], slot_ids: &FleetIndex) {
        for sp in sparks {
            let Some(id) = slot_ids.id_of(frame, sp.slot) else {
                continue;
            };
            let n = sp.cpu.len() as i64;
            let pts = sp
                .cpu
                .iter()
                .enumerate()
                .map(|(i, cpu)| Point {
                    ts_ms: frame.ts_ms - (n - 1 - i as i64) * 1000,
                    cpu_pct: *cpu,
                    ..Point::default()
                })
                .collect();
            self.0.insert(id.to_string(), pts);
        }
    }

    /// Appends each container's newest sample; forgets containers that are gone.
    fn append(&mut self, frame: &Frame) {
        // A set, not a scan per history: at a thousand containers a scan is a million
        // comparisons every tick.
        let present: std::collections::HashSet<&str> = frame
            .containers
            .iter()
            .map(|c| c.info.id.as_str())
            .collect();
        self.0.retain(|id, _| present.contains(id.as_str()));
        for c in &frame.containers {
            let Some(s) = c.sample else { continue };
            let h = self.0.entry(c.info.id.clone()).or_default();
            if h.back().is_some_and(|p| p.ts_ms >= s.ts_ms) {
                continue;
            }
            h.push_back(Point::of(c, s.ts_ms));
            while h.len() > KEEP_POINTS {
                h.pop_front();
            }
        }
    }

    /// A watched container's exact point for the tick at `ts_ms`: replaces the card-precision
    /// point the fleet message appended for the same tick.
    fn refine(&mut self, c: &ContainerFrame, ts_ms: i64) {
        if c.sample.is_none() {
            return;
        }
        let h = self.0.entry(c.info.id.clone()).or_default();
        match h.back_mut() {
            Some(p) if p.ts_ms == ts_ms => *p = Point::of(c, ts_ms),
            Some(p) if p.ts_ms > ts_ms => {}
            _ => {
                h.push_back(Point::of(c, ts_ms));
                while h.len() > KEEP_POINTS {
                    h.pop_front();
                }
            }
        }
    }
}

impl Point {
    fn of(c: &ContainerFrame, ts_ms: i64) -> Self {
        let s = c.sample.unwrap_or_default();
        let a = c.assessment.as_ref();
        Point {
            ts_ms,
            cpu_pct: s.cpu_pct,
            mem_bytes: s.mem_bytes as f64,
            mem_limit_bytes: s.mem_limit_bytes as f64,
            cpu_forecast: a.map_or(0.0, |a| a.cpu.value),
            cpu_lo95: a.map_or(0.0, |a| a.cpu.lo95),
            cpu_hi95: a.map_or(0.0, |a| a.cpu.hi95),
            failure_probability: a.map_or(0.0, |a| a.failure_probability),
        }
    }
}

/// Reactive live state, provided as context to every component.
#[derive(Clone, Copy)]
pub struct Live {
    pub frame: RwSignal<Option<Frame>>,
    pub histories: StoredValue<Histories>,
    /// Bumped whenever `histories` changes, so charts know to redraw.
    pub histories_rev: RwSignal<u64>,
    pub connection: RwSignal<Connection>,
    /// Frames received since the page loaded (for the status line and tests).
    pub frames_seen: RwSignal<u64>,
    /// The server speaks another protocol version (it was upgraded): the page must reload.
    pub outdated: RwSignal<bool>,
    /// Why the server turned this viewer away (its viewer limit), until it lets it in.
    pub refused: RwSignal<Option<String>>,
    /// Which fleet-feed slot is which container of `frame`.
    fleet_index: StoredValue<FleetIndex>,
    /// The container a detail view watches (id, name or id prefix); asked for again after every
    /// reconnect.
    watching: StoredValue<Option<String>>,
}

impl Live {
    pub fn new() -> Self {
        Self {
            frame: RwSignal::new(None),
            histories: StoredValue::new(Histories::default()),
            histories_rev: RwSignal::new(0),
            connection: RwSignal::new(Connection::Connecting),
            frames_seen: RwSignal::new(0),
            outdated: RwSignal::new(false),
            refused: RwSignal::new(None),
            fleet_index: StoredValue::new(FleetIndex::default()),
            watching: StoredValue::new(None),
        }
    }

    /// Applies one message from the server (refused when its protocol version differs).
    /// Returns what to ask the server in answer, if anything: the whole fleet again when a
    /// fleet message does not follow the one held (a frame was missed).
    pub fn apply(&self, msg: ServerMsg) -> Option<ClientMsg> {
        if msg.version() != crate::wire::PROTOCOL_VERSION {
            self.outdated.set(true);
            return None;
        }
        match msg {
            ServerMsg::Sparks(Sparks { sparks, .. }) => {
                self.frame.with_untracked(|f| {
                    if let Some(f) = f {
                        self.fleet_index.with_value(|ix| {
                            self.histories
                                .update_value(|h| h.load_sparks(f, &sparks, ix))
                        });
                    }
                });
                self.histories_rev.update(|r| *r += 1);
                return None;
            }
            ServerMsg::Fleet(fleet) => {
                let more = fleet.more;
                if let Err(resync) = self.apply_fleet(fleet) {
                    return Some(resync);
                }
                // The parts of one tick are shown together, after the last.
                if more {
                    return None;
                }
                self.frame.notify();
                self.frame.with_untracked(|f| {
                    if let Some(f) = f {
                        self.histories.update_value(|h| h.append(f));
                    }
                });
            }
            ServerMsg::Detail(detail) => {
                let Detail {
                    ts_ms,
                    container,
                    history,
                    ..
                } = detail;
                if let Some(history) = &history {
                    self.histories.update_value(|h| h.load(history));
                }
                self.histories.update_value(|h| h.refine(&container, ts_ms));
                self.frame.update(|f| replace_container(f, container));
                self.histories_rev.update(|r| *r += 1);
                return None;
            }
        }
        self.histories_rev.update(|r| *r += 1);
        self.frames_seen.update(|n| *n += 1);
        None
    }

    /// Applies a fleet message in place; `Err(Resync)` when it does not follow what is held.
    fn apply_fleet(&self, fleet: Fleet) -> Result<(), ClientMsg> {
        let checked = self.frame.with_untracked(|f| {
            self.fleet_index
                .with_value(|ix| ix.check(f.as_ref(), &fleet))
        });
        if let Err(e) = checked {
            leptos::logging::warn!("{e}: asking for the whole fleet");
            return Err(ClientMsg::Resync);
        }
        self.frame
            .update_untracked(|f| self.fleet_index.update_value(|ix| ix.apply(f, fleet)));
        Ok(())
    }

    /// Watches one container in full (the detail view) or stops (`None`). The server then
    /// sends its history and, every tick, its exact values.
    pub fn watch(&self, id: Option<String>) {
        // Called from a view's cleanup too, when the page's state may already be gone.
        let same = self.watching.try_with_value(|w| *w == id).unwrap_or(true);
        if same {
            return;
        }
        let _ = self.watching.try_update_value(|w| *w = id.clone());
        #[cfg(feature = "hydrate")]
        browser::send(&ClientMsg::Watch { id });
    }

    /// The last `n` points of a container, oldest first.
    pub fn points(&self, id: &str, n: usize) -> Vec<Point> {
        self.histories.with_value(|h| {
            h.0.get(id)
                .map(|v| v.iter().skip(v.len().saturating_sub(n)).copied().collect())
                .unwrap_or_default()
        })
    }
}

impl Default for Live {
    fn default() -> Self {
        Self::new()
    }
}

/// Opens the websocket and keeps it open: on close it retries with backoff (1 s doubling to
/// 10 s). Only does anything in the browser.
pub fn connect(live: Live) {
    #[cfg(feature = "hydrate")]
    browser::open(live, 0);
    #[cfg(not(feature = "hydrate"))]
    let _ = live;
}

#[cfg(feature = "hydrate")]
mod browser;

#[cfg(test)]
mod tests;
