//! The loop: source messages in; the brain's assessments, the live store and the hub's frames
//! out. One task, one tick at a time, in stream order.

use crate::collect::{LifecycleEvent, LifecycleKind, SourceMsg, Tick};
use crate::hub::Hub;
use crate::state::Shared;
use crate::store::live::LiveStore;
use app::wire::{Assessment, ContainerInfo, Sample, ServerMsg};
use std::collections::HashMap;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// Engine events the brain has not yet seen, per container.
#[derive(Debug, Default, Clone, Copy)]
struct PendingEvents {
    restarts: u32,
    oom_kills: u32,
}

pub struct Pipeline {
    live: Shared<LiveStore>,
    hub: Hub,
    pending: HashMap<String, PendingEvents>,
}

impl Pipeline {
    pub fn new(live: Shared<LiveStore>, hub: Hub) -> Self {
        Self {
            live,
            hub,
            pending: HashMap::new(),
        }
    }

    /// Runs until the source closes its channel or `shutdown` is cancelled.
    pub async fn run(mut self, mut rx: mpsc::Receiver<SourceMsg>, shutdown: CancellationToken) {
        loop {
            let msg = tokio::select! {
                _ = shutdown.cancelled() => return,
                msg = rx.recv() => msg,
            };
            match msg {
                Some(msg) => self.handle(msg),
                None => return,
            }
        }
    }

    pub fn handle(&mut self, msg: SourceMsg) {
        match msg {
            SourceMsg::Engine(status) => self.live.write().engine = status,
            SourceMsg::Event(ev) => self.on_event(ev),
            SourceMsg::Tick(tick) => self.on_tick(tick),
        }
    }

    fn on_event(&mut self, ev: LifecycleEvent) {
        tracing::info!(container = %ev.name, event = %ev.kind.label(), "container event");
        let p = self.pending.entry(ev.id.clone()).or_default();
        match ev.kind {
            LifecycleKind::Restart => p.restarts += 1,
            LifecycleKind::Oom => p.oom_kills += 1,
            _ => {}
        }
        self.live.write().push_event(ev);
    }

    fn on_tick(&mut self, tick: Tick) {
        let assessed: Option<Vec<(ContainerInfo, Option<Sample>, Option<Assessment>)>> =
            tick.containers.map(|readings| {
                readings
                    .into_iter()
                    .map(|r| {
                        let a = r.sample.and_then(|s| self.assess(&r.info, &s));
                        (r.info, r.sample, a)
                    })
                    .collect()
            });
        let frame = {
            let mut live = self.live.write();
            live.seq += 1;
            live.ts_ms = tick.ts_ms;
            if tick.host.is_some() {
                live.host = tick.host;
            }
            if let Some(assessed) = assessed {
                let present: Vec<String> = assessed.iter().map(|(i, _, _)| i.id.clone()).collect();
                let present_refs: Vec<&str> = present.iter().map(String::as_str).collect();
                live.retain_present(&present_refs);
                self.pending.retain(|id, _| present.contains(id));
                for (info, sample, a) in assessed {
                    live.record(info, sample, a);
                }
            }
            (live.seq, live.frame())
        };
        self.hub.publish(frame.0, &ServerMsg::Frame(frame.1));
    }

    /// The brain's verdict on one sample. The brain is added in its own module; until then the
    /// pipeline forwards samples without an assessment.
    fn assess(&mut self, info: &ContainerInfo, _sample: &Sample) -> Option<Assessment> {
        let _events = self.pending.remove(&info.id).unwrap_or_default();
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collect::Reading;
    use app::wire::SourceKind;

    fn reading(id: &str) -> Reading {
        Reading {
            info: ContainerInfo {
                id: id.into(),
                name: id.into(),
                ..ContainerInfo::default()
            },
            sample: Some(Sample::default()),
        }
    }

    #[tokio::test]
    async fn ticks_update_the_store_and_publish_frames() {
        let live = Shared::new(LiveStore::new(10, SourceKind::Docker));
        let hub = Hub::new();
        let mut rx = hub.subscribe();
        let mut p = Pipeline::new(live.clone(), hub);
        p.handle(SourceMsg::Tick(Tick {
            ts_ms: 5,
            host: None,
            containers: Some(vec![reading("a"), reading("b")]),
        }));
        assert_eq!(live.read().len(), 2);
        // An unknown fleet (engine down) keeps what was known.
        p.handle(SourceMsg::Tick(Tick {
            ts_ms: 6,
            host: None,
            containers: None,
        }));
        assert_eq!(live.read().len(), 2);
        p.handle(SourceMsg::Tick(Tick {
            ts_ms: 7,
            host: None,
            containers: Some(vec![reading("b")]),
        }));
        assert_eq!(live.read().len(), 1);
        let published = rx.borrow_and_update().clone();
        assert_eq!(published.seq, 3);
    }
}
