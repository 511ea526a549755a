//! The websocket to the server, in the browser only: opens it, reads the feed into [`Live`]
//! (binary messages inflated), sends what the page asks, and reconnects with backoff (slowest
//! when the server refused this viewer).

use super::{Connection, Live};
use crate::wire::{ClientMsg, ServerMsg};
use leptos::prelude::*;
use std::cell::RefCell;
use std::time::Duration;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{CloseEvent, MessageEvent, WebSocket};

/// The close code of a refused viewer (RFC 6455 "try again later").
const REFUSED: u16 = 1013;

/// A message's JSON: text as it comes, binary (the whole fleet, deflated) inflated.
fn text_of(data: &JsValue) -> Result<String, String> {
    if let Some(text) = data.as_string() {
        return Ok(text);
    }
    let buf = data
        .dyn_ref::<js_sys::ArrayBuffer>()
        .ok_or("neither text nor binary")?;
    let packed = js_sys::Uint8Array::new(buf).to_vec();
    let raw =
        miniz_oxide::inflate::decompress_to_vec_with_limit(&packed, crate::wire::FEED_INFLATED_MAX)
            .map_err(|e| format!("cannot inflate: {e}"))?;
    String::from_utf8(raw).map_err(|e| e.to_string())
}

thread_local! {
    /// The open connection, for messages to the server.
    static SOCKET: RefCell<Option<WebSocket>> = const { RefCell::new(None) };
}

/// Sends `msg` when connected; when not, nothing is lost: opening a connection asks for
/// what the page watches.
pub fn send(msg: &ClientMsg) {
    let Ok(text) = serde_json::to_string(msg) else {
        return;
    };
    SOCKET.with_borrow(|s| {
        if let Some(ws) = s.as_ref().filter(|ws| ws.ready_state() == WebSocket::OPEN) {
            let _ = ws.send_with_str(&text);
        }
    });
}

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
    // Whole-fleet messages come deflated, as binary: read them as bytes, not blobs.
    ws.set_binary_type(web_sys::BinaryType::Arraybuffer);
    let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |e: MessageEvent| {
        let text = match text_of(&e.data()) {
            Ok(t) => t,
            Err(err) => {
                leptos::logging::warn!("bad message from server: {err}");
                live.outdated.set(true);
                return;
            }
        };
        match serde_json::from_str::<ServerMsg>(&text) {
            Ok(msg) => {
                live.connection.set(Connection::Live);
                if live.refused.get_untracked().is_some() {
                    live.refused.set(None);
                }
                if let Some(reply) = live.apply(msg) {
                    send(&reply);
                }
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
        let ws = ws.clone();
        Closure::<dyn FnMut()>::new(move || {
            a.set(0);
            SOCKET.with_borrow_mut(|s| *s = Some(ws.clone()));
            if let Some(id) = live.watching.try_get_value().flatten() {
                send(&ClientMsg::Watch { id: Some(id) });
            }
        })
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
        SOCKET.with_borrow_mut(|s| *s = None);
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
