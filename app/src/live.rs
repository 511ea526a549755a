//! The browser's live state: the latest frame, a short history per container for charts, and
//! the connection to the server's websocket (which reconnects by itself).

use crate::wire::{Frame, SeriesHistory, ServerMsg, Snapshot};
use leptos::prelude::*;
use std::collections::{HashMap, VecDeque};

/// Points kept per container in the browser (5 minutes at 1 s).
pub const KEEP_POINTS: usize = 300;

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
    fn load(&mut self, series: &[SeriesHistory]) {
        self.0.clear();
        for s in series {
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
    }

    /// Appends each container's newest sample; forgets containers that are gone.
    fn append(&mut self, frame: &Frame) {
        self.0
            .retain(|id, _| frame.containers.iter().any(|c| &c.info.id == id));
        for c in &frame.containers {
            let Some(s) = c.sample else { continue };
            let h = self.0.entry(c.info.id.clone()).or_default();
            if h.back().is_some_and(|p| p.ts_ms >= s.ts_ms) {
                continue;
            }
            let a = c.assessment.as_ref();
            h.push_back(Point {
                ts_ms: s.ts_ms,
                cpu_pct: s.cpu_pct,
                mem_bytes: s.mem_bytes as f64,
                mem_limit_bytes: s.mem_limit_bytes as f64,
                cpu_forecast: a.map_or(0.0, |a| a.cpu.value),
                cpu_lo95: a.map_or(0.0, |a| a.cpu.lo95),
                cpu_hi95: a.map_or(0.0, |a| a.cpu.hi95),
                failure_probability: a.map_or(0.0, |a| a.failure_probability),
            });
            while h.len() > KEEP_POINTS {
                h.pop_front();
            }
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
        }
    }

    /// Applies one message from the server (refused when its protocol version differs).
    pub fn apply(&self, msg: ServerMsg) {
        let v = match &msg {
            ServerMsg::Snapshot(s) => s.v,
            ServerMsg::Frame(f) => f.v,
        };
        if v != crate::wire::PROTOCOL_VERSION {
            self.outdated.set(true);
            return;
        }
        match msg {
            ServerMsg::Snapshot(Snapshot { frame, history, .. }) => {
                self.histories.update_value(|h| h.load(&history));
                self.histories.update_value(|h| h.append(&frame));
                self.frame.set(Some(frame));
            }
            ServerMsg::Frame(frame) => {
                self.histories.update_value(|h| h.append(&frame));
                self.frame.set(Some(frame));
            }
        }
        self.histories_rev.update(|r| *r += 1);
        self.frames_seen.update(|n| *n += 1);
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
mod browser {
    use super::{Connection, Live};
    use crate::wire::ServerMsg;
    use leptos::prelude::*;
    use std::time::Duration;
    use wasm_bindgen::prelude::*;
    use wasm_bindgen::JsCast;
    use web_sys::{CloseEvent, MessageEvent, WebSocket};

    /// The close code of a refused viewer (RFC 6455 "try again later").
    const REFUSED: u16 = 1013;

    fn url() -> Option<String> {
        let loc = window().location();
        let scheme = if loc.protocol().ok()? == "https:" {
            "wss"
        } else {
            "ws"
        };
        Some(format!("{scheme}://{}/ws", loc.host().ok()?))
    }

    fn retry(live: Live, attempt: u32) {
        live.connection.set(Connection::Reconnecting {
            attempt: attempt + 1,
        });
        let delay = Duration::from_millis((1000u64 << attempt.min(4)).min(10_000));
        set_timeout(move || open(live, attempt + 1), delay);
    }

    pub fn open(live: Live, attempt: u32) {
        let Some(ws) = url().and_then(|u| WebSocket::new(&u).ok()) else {
            retry(live, attempt);
            return;
        };
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |e: MessageEvent| {
            let Some(text) = e.data().as_string() else {
                return;
            };
            match serde_json::from_str::<ServerMsg>(&text) {
                Ok(msg) => {
                    live.connection.set(Connection::Live);
                    if live.refused.get_untracked().is_some() {
                        live.refused.set(None);
                    }
                    live.apply(msg);
                }
                Err(err) => {
                    // A message this page cannot read: most likely the server was upgraded.
                    leptos::logging::warn!("bad message from server: {err}");
                    live.outdated.set(true);
                }
            }
        });
        ws.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        let opened_attempt = std::rc::Rc::new(std::cell::Cell::new(attempt));
        let on_open = {
            let a = opened_attempt.clone();
            Closure::<dyn FnMut()>::new(move || a.set(0))
        };
        ws.set_onopen(Some(on_open.as_ref().unchecked_ref()));
        // The handlers live as long as this connection: the close handler (which runs once and
        // then frees itself) detaches and drops them, so reconnecting for days leaks nothing.
        let mut handlers = Some((on_message, on_open));
        let socket = ws.clone();
        let on_close = Closure::once_into_js(move |event: CloseEvent| {
            socket.set_onmessage(None);
            socket.set_onopen(None);
            handlers.take();
            // 1013 "try again later": the server is at its viewer limit and says so; keep
            // trying, at the slowest pace, so places freed later are taken up.
            let attempt = if event.code() == REFUSED {
                live.refused.set(Some(event.reason()));
                opened_attempt.get().max(4)
            } else {
                opened_attempt.get()
            };
            retry(live, attempt);
        });
        ws.set_onclose(Some(on_close.unchecked_ref()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{ContainerFrame, ContainerInfo, Sample};

    fn frame(ids: &[&str], ts: i64) -> Frame {
        Frame {
            ts_ms: ts,
            containers: ids
                .iter()
                .map(|id| ContainerFrame {
                    info: ContainerInfo {
                        id: (*id).into(),
                        ..ContainerInfo::default()
                    },
                    sample: Some(Sample {
                        ts_ms: ts,
                        cpu_pct: 1.0,
                        ..Sample::default()
                    }),
                    assessment: None,
                    heal: Default::default(),
                })
                .collect(),
            ..Frame::default()
        }
    }

    #[test]
    fn histories_append_in_order_and_forget_gone_containers() {
        let mut h = Histories::default();
        h.append(&frame(&["a", "b"], 1));
        h.append(&frame(&["a", "b"], 1)); // duplicate tick (snapshot overlap) is ignored
        h.append(&frame(&["a"], 2));
        assert_eq!(h.0.get("a").map(VecDeque::len), Some(2));
        assert!(!h.0.contains_key("b"));
        for t in 3..(KEEP_POINTS as i64 + 10) {
            h.append(&frame(&["a"], t));
        }
        assert_eq!(h.0.get("a").map(VecDeque::len), Some(KEEP_POINTS));
    }
}
