//! The `tracing` feature: a span per task, entered for each poll, with the task's id, name
//! and spawn location; events for each op's submission (inside the span of the task that
//! pushed it) and completion. Run with `cargo test -p ringlet --features tracing --test
//! tracing`.
#![cfg(feature = "tracing")]

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex};

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};

#[derive(Debug, Clone, Default)]
struct SpanRecord {
    name: String,
    fields: BTreeMap<String, String>,
    entered: usize,
}

#[derive(Debug, Clone)]
struct EventRecord {
    target: String,
    fields: BTreeMap<String, String>,
    /// The span the event was in: its explicit parent, or the span entered on its thread.
    span: Option<u64>,
}

#[derive(Default)]
struct Log {
    spans: BTreeMap<u64, SpanRecord>,
    events: Vec<EventRecord>,
    /// Spans entered, innermost last (one thread: the runtime has one worker).
    stack: Vec<u64>,
    next: u64,
}

/// A subscriber that records every span, enter and event.
#[derive(Clone, Default)]
struct Recorder(Arc<Mutex<Log>>);

struct Fields<'a>(&'a mut BTreeMap<String, String>);

impl Visit for Fields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0
            .insert(field.name().to_string(), format!("{value:?}"));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_string(), value.to_string());
    }
}

impl Subscriber for Recorder {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, attrs: &Attributes<'_>) -> Id {
        let mut log = self.0.lock().unwrap();
        log.next += 1;
        let id = log.next;
        let mut span = SpanRecord {
            name: attrs.metadata().name().to_string(),
            ..SpanRecord::default()
        };
        attrs.record(&mut Fields(&mut span.fields));
        log.spans.insert(id, span);
        Id::from_u64(id)
    }
    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        let mut log = self.0.lock().unwrap();
        let mut fields = BTreeMap::new();
        event.record(&mut Fields(&mut fields));
        let span = match event.parent() {
            Some(parent) => Some(parent.into_u64()),
            None => log.stack.last().copied(),
        };
        log.events.push(EventRecord {
            target: event.metadata().target().to_string(),
            fields,
            span,
        });
    }
    fn enter(&self, span: &Id) {
        let mut log = self.0.lock().unwrap();
        log.spans.get_mut(&span.into_u64()).unwrap().entered += 1;
        log.stack.push(span.into_u64());
    }
    fn exit(&self, span: &Id) {
        let mut log = self.0.lock().unwrap();
        assert_eq!(log.stack.pop(), Some(span.into_u64()), "exits match enters");
    }
}

#[test]
fn a_task_is_a_span_entered_per_poll_and_its_ops_are_events_inside_it() {
    let recorder = Recorder::default();
    let rt = ringlet::Runtime::builder().workers(1).build().unwrap();
    let spawn_line = tracing::subscriber::with_default(recorder.clone(), || {
        rt.block_on(async {
            let listener = ringlet::net::TcpListener::bind("127.0.0.1:0").unwrap();
            let addr = listener.local_addr().unwrap();
            let peer = std::net::TcpStream::connect(addr).unwrap();
            let (stream, _) = listener.accept().await.unwrap();
            let builder = ringlet::task::Builder::new().name("conn");
            let line = line!() + 1;
            let task = builder.spawn(async move {
                ringlet::yield_now().await;
                let (res, _) = stream.write_all(b"hello".to_vec()).await;
                res.unwrap();
            });
            task.await.unwrap();
            drop(peer);
            line
        })
    });
    let log = recorder.0.lock().unwrap();
    let (&id, task) = log
        .spans
        .iter()
        .find(|(_, s)| {
            s.name == "runtime.spawn"
                && s.fields.get("task.name").map(String::as_str) == Some("conn")
        })
        .unwrap_or_else(|| panic!("no span for the task: {:?}", log.spans));
    assert_eq!(task.fields["kind"], "task");
    assert!(task.fields["loc.file"].ends_with("tracing.rs"), "{task:?}");
    assert_eq!(task.fields["loc.line"], spawn_line.to_string(), "{task:?}");
    assert!(task.fields["task.id"].parse::<u64>().is_ok(), "{task:?}");
    // Polled: once to the yield, once to the send, once to the end.
    assert_eq!(task.entered, 3, "{task:?}");

    let ops: Vec<&EventRecord> = log
        .events
        .iter()
        .filter(|e| e.target == "uring_driver::op")
        .collect();
    let submit = ops
        .iter()
        .find(|e| e.fields["message"] == "submit" && e.fields["op"] == "SEND")
        .unwrap_or_else(|| panic!("no SEND submitted: {ops:?}"));
    assert_eq!(
        submit.span,
        Some(id),
        "the send was pushed by the task's poll"
    );
    let slot = &submit.fields["slot"];
    let complete = ops
        .iter()
        .find(|e| {
            e.fields["message"] == "complete"
                && e.fields["op"] == "SEND"
                && &e.fields["slot"] == slot
        })
        .unwrap_or_else(|| panic!("no SEND completed: {ops:?}"));
    assert_eq!(complete.fields["result"], "5");
    assert_eq!(complete.fields["more"], "false");
    // The accept in the block_on future's poll is inside that future's span.
    let accept = ops
        .iter()
        .find(|e| e.fields["message"] == "submit" && e.fields["op"] == "ACCEPT")
        .unwrap();
    let main = accept.span.map(|s| log.spans[&s].name.clone());
    assert_eq!(main.as_deref(), Some("runtime.block_on"));

    let ended = log
        .events
        .iter()
        .find(|e| e.target == "ringlet::task" && e.span == Some(id))
        .expect("a task-ended event");
    assert_eq!(ended.fields["message"], "task ended");
    assert_eq!(ended.fields["outcome"], "Completed");
}
