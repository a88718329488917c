//! The inbound consumer against a real Redis (`CUSTOMERS_TEST_REDIS_URL`, default
//! `redis://127.0.0.1:6379`): a backlog older than the group, failures left pending and
//! retried in order, two consumers sharing a stream, entries of a dead consumer taken over,
//! entries without an `event` field, and Redis away (closed port, or a private server stopped
//! and started again). Every test uses a stream of its own.

use std::collections::{HashMap, HashSet};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use customers_infra::InboundConsumer;
use customers_infra::consumer::{EntryHandler, MAX_ATTEMPTS};
use deadpool_redis::redis;

const GROUP: &str = "customers";

fn redis_url() -> String {
    std::env::var("CUSTOMERS_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

fn unique_stream() -> String {
    format!("customers.consumer.test.{}", uuid::Uuid::new_v4().simple())
}

async fn connect(url: &str) -> redis::aio::MultiplexedConnection {
    redis::Client::open(url)
        .expect("redis url")
        .get_multiplexed_async_connection()
        .await
        .expect("the test Redis must run (scripts/test.sh starts it)")
}

async fn redis() -> redis::aio::MultiplexedConnection {
    connect(&redis_url()).await
}

/// `XADD stream * field value …`; returns the entry id.
async fn xadd(connection: &mut redis::aio::MultiplexedConnection, stream: &str, fields: &[(&str, &str)]) -> String {
    let mut cmd = redis::cmd("XADD");
    cmd.arg(stream).arg("*");
    for (name, value) in fields {
        cmd.arg(*name).arg(*value);
    }
    cmd.query_async(connection).await.expect("XADD")
}

/// Adds one entry `event=<body>` per body; returns the ids.
async fn add_events(stream: &str, bodies: &[String]) -> Vec<String> {
    let mut connection = redis().await;
    let mut ids = Vec::new();
    for body in bodies {
        ids.push(xadd(&mut connection, stream, &[("event", body)]).await);
    }
    ids
}

/// `XPENDING stream group`: how many entries are delivered and not acknowledged, and by whom.
async fn pending(url: &str, stream: &str) -> (i64, HashMap<String, i64>) {
    let mut connection = connect(url).await;
    let reply: Vec<redis::Value> = redis::cmd("XPENDING")
        .arg(stream)
        .arg(GROUP)
        .query_async(&mut connection)
        .await
        .expect("XPENDING");
    let mut reply = reply.into_iter();
    let count: i64 = redis::from_redis_value(reply.next().expect("count")).expect("count is an integer");
    let owners: Option<Vec<(String, String)>> =
        redis::from_redis_value(reply.nth(2).unwrap_or(redis::Value::Nil)).expect("consumers");
    let owners = owners
        .unwrap_or_default()
        .into_iter()
        .map(|(name, n)| (name, n.parse().expect("a count")))
        .collect();
    (count, owners)
}

/// The ids of the pending entries of the group (at most 1000).
async fn pending_ids(stream: &str) -> Vec<String> {
    let mut connection = redis().await;
    let reply: Vec<(String, String, i64, i64)> = redis::cmd("XPENDING")
        .arg(stream)
        .arg(GROUP)
        .arg("-")
        .arg("+")
        .arg(1000)
        .query_async(&mut connection)
        .await
        .expect("XPENDING range");
    reply.into_iter().map(|(id, _, _, _)| id).collect()
}

async fn delete(stream: &str) {
    let _: () = redis::cmd("DEL")
        .arg(stream)
        .query_async(&mut redis().await)
        .await
        .expect("DEL");
}

/// A handler that records what it is given; it can fail the first `fail_first` calls, the
/// first call for each body listed in `fail_once` and every call for a body in `poison`.
/// It gives entries up (records them and succeeds) only while `accept_give_up` is set.
#[derive(Default)]
struct Recorder {
    /// Every call, failed or not, in order.
    attempts: Mutex<Vec<Option<String>>>,
    /// The calls that succeeded (their entries are then acknowledged), in order.
    handled: Mutex<Vec<Option<String>>>,
    fail_first: AtomicUsize,
    fail_once: Mutex<HashSet<String>>,
    poison: HashSet<String>,
    accept_give_up: AtomicBool,
    /// `give_up` calls: the event and the error, whether accepted or not.
    give_ups: Mutex<Vec<(Option<String>, String)>>,
}

impl Recorder {
    fn failing_first(n: usize) -> Self {
        Self {
            fail_first: AtomicUsize::new(n),
            ..Self::default()
        }
    }

    fn failing_once_on(bodies: &[&str]) -> Self {
        Self {
            fail_once: Mutex::new(bodies.iter().map(|b| (*b).to_owned()).collect()),
            ..Self::default()
        }
    }

    fn poisoned(bodies: &[&str], accept_give_up: bool) -> Self {
        Self {
            poison: bodies.iter().map(|b| (*b).to_owned()).collect(),
            accept_give_up: AtomicBool::new(accept_give_up),
            ..Self::default()
        }
    }

    fn give_ups(&self) -> Vec<(Option<String>, String)> {
        self.give_ups.lock().expect("lock").clone()
    }

    fn attempts(&self) -> Vec<Option<String>> {
        self.attempts.lock().expect("lock").clone()
    }

    fn handled(&self) -> Vec<Option<String>> {
        self.handled.lock().expect("lock").clone()
    }

    fn handled_bodies(&self) -> Vec<String> {
        self.handled().into_iter().map(|b| b.expect("an event field")).collect()
    }
}

#[async_trait]
impl EntryHandler for Recorder {
    async fn handle(&self, event: Option<&str>) -> Result<(), String> {
        self.attempts.lock().expect("lock").push(event.map(str::to_owned));
        tokio::task::yield_now().await;
        let fail_now = self
            .fail_first
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        if fail_now {
            return Err("the database is away".to_owned());
        }
        if let Some(body) = event
            && self.fail_once.lock().expect("lock").remove(body)
        {
            return Err(format!("cannot store {body} right now"));
        }
        if let Some(body) = event
            && self.poison.contains(body)
        {
            return Err(format!("{body} cannot be applied"));
        }
        self.handled.lock().expect("lock").push(event.map(str::to_owned));
        Ok(())
    }

    async fn give_up(&self, event: Option<&str>, error: &str) -> Result<(), String> {
        self.give_ups
            .lock()
            .expect("lock")
            .push((event.map(str::to_owned), error.to_owned()));
        if self.accept_give_up.load(Ordering::SeqCst) {
            Ok(())
        } else {
            Err("the dead letters cannot be written".to_owned())
        }
    }
}

fn bodies(prefix: &str, n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{prefix}-{i:03}")).collect()
}

/// Polls until a round handles nothing; returns how many were handled. Panics on an error.
async fn drain(consumer: &InboundConsumer, handler: &Recorder) -> usize {
    let mut total = 0;
    for _ in 0..100 {
        match consumer.poll_once(handler, Duration::from_millis(50)).await {
            Ok(0) => return total,
            Ok(n) => total += n,
            Err(err) => panic!("poll_once failed: {err}"),
        }
    }
    panic!("the stream was not drained in 100 rounds");
}

fn consumer(stream: &str, name: &str) -> InboundConsumer {
    InboundConsumer::new(&redis_url(), stream, GROUP, name)
        .expect("consumer")
        .with_give_up_after(Duration::ZERO)
}

#[tokio::test]
async fn consumes_a_backlog_older_than_the_group_in_order_once() {
    let stream = unique_stream();
    let sent = bodies("backlog", 120); // more than one read batch (50)
    add_events(&stream, &sent).await;
    let consumer = consumer(&stream, "c1");
    let handler = Recorder::default();
    assert_eq!(drain(&consumer, &handler).await, sent.len());
    assert_eq!(handler.handled_bodies(), sent, "in stream order, each once");
    assert_eq!(handler.attempts().len(), sent.len(), "no entry handled twice");
    assert_eq!(pending(&redis_url(), &stream).await.0, 0, "every entry acknowledged");
    // Later polls find nothing; a new entry is handled.
    assert_eq!(
        consumer
            .poll_once(&handler, Duration::from_millis(20))
            .await
            .expect("poll"),
        0
    );
    add_events(&stream, &["later".to_owned()]).await;
    assert_eq!(drain(&consumer, &handler).await, 1);
    assert_eq!(handler.handled_bodies().last().map(String::as_str), Some("later"));
    assert_eq!(pending(&redis_url(), &stream).await.0, 0);
    delete(&stream).await;
}

#[tokio::test]
async fn a_failed_entry_stays_pending_and_is_handled_again_in_order() {
    let stream = unique_stream();
    let consumer = consumer(&stream, "c1");
    let handler = Recorder::failing_once_on(&["b"]);
    let ids = add_events(&stream, &["a".to_owned(), "b".to_owned(), "c".to_owned()]).await;

    let first = consumer.poll_once(&handler, Duration::from_millis(50)).await;
    assert!(first.is_err(), "a handler failure is reported: {first:?}");
    assert_eq!(handler.handled_bodies(), ["a"]);
    let still = pending_ids(&stream).await;
    assert!(!still.contains(&ids[0]), "a was acknowledged");
    assert!(still.contains(&ids[1]), "b stays pending: {still:?}");
    // c was read in the same batch and is not handled before b.
    assert_eq!(handler.attempts().len(), 2, "stopped at the failure");

    // An entry added meanwhile waits until the backlog is through.
    add_events(&stream, &["d".to_owned()]).await;
    assert_eq!(drain(&consumer, &handler).await, 3);
    assert_eq!(handler.handled_bodies(), ["a", "b", "c", "d"]);
    assert_eq!(
        handler.attempts().iter().flatten().collect::<Vec<_>>(),
        ["a", "b", "b", "c", "d"]
    );
    assert_eq!(pending(&redis_url(), &stream).await.0, 0);
    delete(&stream).await;
}

#[tokio::test]
async fn repeated_failures_keep_the_entry_until_the_handler_succeeds() {
    let stream = unique_stream();
    let consumer = consumer(&stream, "c1");
    let handler = Recorder::failing_first(3);
    add_events(&stream, &["x".to_owned(), "y".to_owned()]).await;
    for round in 0..3 {
        assert!(
            consumer.poll_once(&handler, Duration::from_millis(20)).await.is_err(),
            "round {round} fails"
        );
        assert_eq!(
            pending(&redis_url(), &stream).await.0,
            2,
            "round {round}: nothing acknowledged"
        );
    }
    assert_eq!(drain(&consumer, &handler).await, 2);
    assert_eq!(handler.handled_bodies(), ["x", "y"]);
    assert_eq!(
        handler.attempts().iter().flatten().collect::<Vec<_>>(),
        ["x", "x", "x", "x", "y"]
    );
    assert_eq!(pending(&redis_url(), &stream).await.0, 0);
    delete(&stream).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_consumers_handle_each_entry_exactly_once() {
    const N: usize = 200;
    let stream = unique_stream();
    let sent = bodies("shared", N);
    let handler = Arc::new(Recorder::default());
    // Half of the entries wait before the consumers start; the rest arrive while they run.
    add_events(&stream, &sent[..N / 2]).await;
    let producer = {
        let stream = stream.clone();
        let rest = sent[N / 2..].to_vec();
        tokio::spawn(async move {
            let mut connection = redis().await;
            for body in rest {
                xadd(&mut connection, &stream, &[("event", &body)]).await;
                tokio::task::yield_now().await;
            }
        })
    };
    let per_consumer = Arc::new(Mutex::new(HashMap::<String, usize>::new()));
    let mut tasks = Vec::new();
    for name in ["copy-a", "copy-b"] {
        let consumer = consumer(&stream, name);
        let handler = handler.clone();
        let per_consumer = per_consumer.clone();
        tasks.push(tokio::spawn(async move {
            let started = Instant::now();
            let mut idle = 0;
            while idle < 3 || handler.handled().len() < N {
                assert!(started.elapsed() < Duration::from_secs(60), "{name} did not finish");
                let n = consumer
                    .poll_once(handler.as_ref(), Duration::from_millis(50))
                    .await
                    .unwrap_or_else(|e| panic!("{name}: {e}"));
                *per_consumer.lock().expect("lock").entry(name.to_owned()).or_default() += n;
                idle = if n == 0 { idle + 1 } else { 0 };
            }
        }));
    }
    producer.await.expect("producer");
    for task in tasks {
        task.await.expect("consumer task");
    }
    let mut handled = handler.handled_bodies();
    assert_eq!(handled.len(), N, "{per_consumer:?}");
    handled.sort();
    handled.dedup();
    assert_eq!(handled, sent, "every entry exactly once overall");
    assert_eq!(handler.attempts().len(), N, "no entry handled twice");
    let per_consumer = per_consumer.lock().expect("lock").clone();
    assert_eq!(per_consumer.values().sum::<usize>(), N, "{per_consumer:?}");
    assert_eq!(pending(&redis_url(), &stream).await.0, 0);
    delete(&stream).await;
}

#[tokio::test]
async fn entries_of_a_dead_consumer_are_taken_over_after_the_idle_time() {
    let stream = unique_stream();
    let mut connection = redis().await;
    let _: () = redis::cmd("XGROUP")
        .arg("CREATE")
        .arg(&stream)
        .arg(GROUP)
        .arg("0")
        .arg("MKSTREAM")
        .query_async(&mut connection)
        .await
        .expect("XGROUP CREATE");
    let sent = bodies("orphan", 3);
    add_events(&stream, &sent).await;
    // A server copy reads them and dies before acknowledging.
    let read: redis::Value = redis::cmd("XREADGROUP")
        .arg("GROUP")
        .arg(GROUP)
        .arg("dead-copy")
        .arg("COUNT")
        .arg(10)
        .arg("STREAMS")
        .arg(&stream)
        .arg(">")
        .query_async(&mut connection)
        .await
        .expect("XREADGROUP");
    assert_ne!(read, redis::Value::Nil);
    let (count, owners) = pending(&redis_url(), &stream).await;
    assert_eq!((count, owners.get("dead-copy").copied()), (3, Some(3)));

    // A live copy with the default idle time (60 s) leaves them alone.
    let patient = Recorder::default();
    assert_eq!(
        consumer(&stream, "patient")
            .poll_once(&patient, Duration::from_millis(20))
            .await
            .expect("poll"),
        0
    );
    assert!(patient.attempts().is_empty());
    assert_eq!(pending(&redis_url(), &stream).await.1.get("dead-copy"), Some(&3));

    // One with a short idle time takes them over once they have been idle that long.
    let live = consumer(&stream, "live").with_claim_idle(Duration::from_millis(50));
    let handler = Recorder::default();
    tokio::time::sleep(Duration::from_millis(120)).await;
    assert_eq!(drain(&live, &handler).await, 3);
    assert_eq!(handler.handled_bodies(), sent, "in stream order");
    let (count, owners) = pending(&redis_url(), &stream).await;
    assert_eq!(count, 0, "acknowledged: {owners:?}");
    delete(&stream).await;
}

#[tokio::test]
async fn a_claimed_entry_that_fails_stays_pending_with_the_new_owner() {
    let stream = unique_stream();
    let mut connection = redis().await;
    let _: () = redis::cmd("XGROUP")
        .arg("CREATE")
        .arg(&stream)
        .arg(GROUP)
        .arg("0")
        .arg("MKSTREAM")
        .query_async(&mut connection)
        .await
        .expect("XGROUP CREATE");
    add_events(&stream, &["p".to_owned(), "q".to_owned()]).await;
    let _: redis::Value = redis::cmd("XREADGROUP")
        .arg("GROUP")
        .arg(GROUP)
        .arg("dead-copy")
        .arg("STREAMS")
        .arg(&stream)
        .arg(">")
        .query_async(&mut connection)
        .await
        .expect("XREADGROUP");
    tokio::time::sleep(Duration::from_millis(80)).await;
    let live = consumer(&stream, "live").with_claim_idle(Duration::from_millis(50));
    let handler = Recorder::failing_first(1);
    assert!(live.poll_once(&handler, Duration::from_millis(20)).await.is_err());
    assert_eq!(pending(&redis_url(), &stream).await.0, 2, "nothing acknowledged");
    assert_eq!(drain(&live, &handler).await, 2);
    assert_eq!(handler.handled_bodies(), ["p", "q"]);
    assert_eq!(pending(&redis_url(), &stream).await.0, 0);
    delete(&stream).await;
}

#[tokio::test]
async fn an_entry_without_an_event_field_reaches_the_handler_as_none() {
    let stream = unique_stream();
    let mut connection = redis().await;
    xadd(&mut connection, &stream, &[("other", "value")]).await;
    // `event` need not be the first field.
    xadd(
        &mut connection,
        &stream,
        &[("source", "orders"), ("event", "{\"a\":1}")],
    )
    .await;
    let consumer = consumer(&stream, "c1");
    let handler = Recorder::default();
    assert_eq!(drain(&consumer, &handler).await, 2);
    assert_eq!(handler.handled(), [None, Some("{\"a\":1}".to_owned())]);
    assert_eq!(pending(&redis_url(), &stream).await.0, 0);
    delete(&stream).await;
}

/// Polls `rounds` times, each expected to fail.
async fn failing_rounds(consumer: &InboundConsumer, handler: &Recorder, rounds: u32) {
    for round in 1..=rounds {
        let result = consumer.poll_once(handler, Duration::from_millis(20)).await;
        assert!(result.is_err(), "round {round}: {result:?}");
    }
}

fn count(list: &[Option<String>], body: &str) -> usize {
    list.iter().filter(|b| b.as_deref() == Some(body)).count()
}

#[tokio::test]
async fn a_poison_entry_is_given_up_after_max_attempts_and_the_stream_goes_on() {
    let stream = unique_stream();
    let consumer = consumer(&stream, "c1");
    let handler = Recorder::poisoned(&["poison"], true);
    add_events(&stream, &["a".to_owned(), "poison".to_owned(), "b".to_owned()]).await;
    // MAX_ATTEMPTS failed rounds: the entry stays pending, the stream waits behind it.
    failing_rounds(&consumer, &handler, MAX_ATTEMPTS).await;
    assert!(handler.give_ups().is_empty(), "not before {MAX_ATTEMPTS} failures");
    assert_eq!(handler.handled_bodies(), ["a"]);
    assert_eq!(pending(&redis_url(), &stream).await.0, 2);
    // The next failure gives it up: acknowledged, and the rest follows.
    assert_eq!(drain(&consumer, &handler).await, 2);
    assert_eq!(count(&handler.attempts(), "poison"), MAX_ATTEMPTS as usize + 1);
    let give_ups = handler.give_ups();
    assert_eq!(give_ups.len(), 1, "{give_ups:?}");
    assert_eq!(give_ups[0].0.as_deref(), Some("poison"));
    assert!(give_ups[0].1.contains("poison cannot be applied"), "{give_ups:?}");
    assert_eq!(handler.handled_bodies(), ["a", "b"]);
    assert_eq!(pending(&redis_url(), &stream).await.0, 0);
    delete(&stream).await;
}

#[tokio::test]
async fn a_poison_entry_stays_pending_while_giving_up_fails() {
    let stream = unique_stream();
    let consumer = consumer(&stream, "c1");
    let handler = Recorder::poisoned(&["poison"], false);
    add_events(&stream, &["poison".to_owned(), "b".to_owned()]).await;
    failing_rounds(&consumer, &handler, MAX_ATTEMPTS + 3).await;
    assert_eq!(handler.give_ups().len(), 3, "tried at every failure past the limit");
    assert!(handler.handled().is_empty());
    assert_eq!(pending(&redis_url(), &stream).await.0, 2, "nothing acknowledged");
    // Dead letters can be written again: given up at the next failure.
    handler.accept_give_up.store(true, Ordering::SeqCst);
    assert_eq!(drain(&consumer, &handler).await, 2);
    assert_eq!(handler.handled_bodies(), ["b"]);
    assert_eq!(pending(&redis_url(), &stream).await.0, 0);
    delete(&stream).await;
}

#[tokio::test]
async fn failures_are_counted_per_entry_and_in_a_row() {
    let stream = unique_stream();
    let consumer = consumer(&stream, "c1");
    // Each of two entries fails MAX_ATTEMPTS times, then succeeds: neither is given up.
    let handler = Recorder::failing_first(MAX_ATTEMPTS as usize);
    add_events(&stream, &["x".to_owned()]).await;
    failing_rounds(&consumer, &handler, MAX_ATTEMPTS).await;
    assert_eq!(drain(&consumer, &handler).await, 1);
    handler.fail_first.store(MAX_ATTEMPTS as usize, Ordering::SeqCst);
    add_events(&stream, &["y".to_owned()]).await;
    failing_rounds(&consumer, &handler, MAX_ATTEMPTS).await;
    assert_eq!(drain(&consumer, &handler).await, 1);
    assert!(handler.give_ups().is_empty(), "{:?}", handler.give_ups());
    assert_eq!(handler.handled_bodies(), ["x", "y"]);
    assert_eq!(pending(&redis_url(), &stream).await.0, 0);
    delete(&stream).await;
}

/// A handler that keeps the default `give_up`.
struct AlwaysFails(AtomicUsize);

#[async_trait]
impl EntryHandler for AlwaysFails {
    async fn handle(&self, _event: Option<&str>) -> Result<(), String> {
        self.0.fetch_add(1, Ordering::SeqCst);
        Err("never".to_owned())
    }
}

#[tokio::test]
async fn by_default_an_entry_is_never_given_up() {
    let stream = unique_stream();
    let consumer = consumer(&stream, "c1");
    let handler = AlwaysFails(AtomicUsize::new(0));
    add_events(&stream, &["stuck".to_owned()]).await;
    for round in 0..(MAX_ATTEMPTS * 2) {
        assert!(
            consumer.poll_once(&handler, Duration::from_millis(20)).await.is_err(),
            "round {round}"
        );
    }
    assert_eq!(handler.0.load(Ordering::SeqCst), MAX_ATTEMPTS as usize * 2);
    assert_eq!(pending(&redis_url(), &stream).await.0, 1);
    delete(&stream).await;
}

#[tokio::test]
async fn an_entry_deleted_while_pending_does_not_block_the_consumer() {
    let stream = unique_stream();
    let consumer = consumer(&stream, "c1");
    let handler = Recorder::failing_first(1);
    let ids = add_events(&stream, &["gone".to_owned(), "kept".to_owned()]).await;
    assert!(consumer.poll_once(&handler, Duration::from_millis(20)).await.is_err());
    // Trimmed away (XDEL, MAXLEN) before it could be handled again.
    let _: i64 = redis::cmd("XDEL")
        .arg(&stream)
        .arg(&ids[0])
        .query_async(&mut redis().await)
        .await
        .expect("XDEL");
    // Redis 7 drops a deleted entry from the pending list on XAUTOCLAIM (whatever its idle
    // time), so it never reaches the handler; older servers hand it over without fields.
    let handled = drain(&consumer, &handler).await;
    let seen = handler.handled();
    assert!(
        (handled, seen.as_slice()) == (1, &[Some("kept".to_owned())][..])
            || (handled, seen.as_slice()) == (2, &[None, Some("kept".to_owned())][..]),
        "{handled}: {seen:?}"
    );
    assert_eq!(pending(&redis_url(), &stream).await.0, 0);
    delete(&stream).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_backs_off_on_failures_and_stops_on_shutdown() {
    let stream = unique_stream();
    let handler = Arc::new(Recorder::failing_first(2));
    let sent = bodies("run", 5);
    add_events(&stream, &sent).await;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(consumer(&stream, "c1").run(handler.clone(), async move {
        let _ = stopped.await;
    }));
    let started = Instant::now();
    while handler.handled().len() < sent.len() {
        assert!(started.elapsed() < Duration::from_secs(20), "{:?}", handler.attempts());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Two failures: waits of 0.5 s and 1 s before the third attempt.
    assert!(
        started.elapsed() >= Duration::from_millis(1_400),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(handler.handled_bodies(), sent);
    assert_eq!(handler.attempts().len(), sent.len() + 2);
    stop.send(()).expect("the consumer runs");
    tokio::time::timeout(Duration::from_secs(10), task)
        .await
        .expect("run stops after shutdown")
        .expect("run task");
    assert_eq!(pending(&redis_url(), &stream).await.0, 0);
    delete(&stream).await;
}

#[tokio::test]
async fn an_unreachable_redis_is_an_error_not_a_hang() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port"); // the listener is dropped: nothing listens there
    let consumer =
        InboundConsumer::new(&format!("redis://127.0.0.1:{port}"), &unique_stream(), GROUP, "c1").expect("a valid URL");
    let handler = Recorder::default();
    let started = Instant::now();
    let result = tokio::time::timeout(
        Duration::from_secs(15),
        consumer.poll_once(&handler, Duration::from_millis(50)),
    )
    .await
    .expect("poll_once returns within its timeouts");
    assert!(result.is_err(), "{result:?}");
    assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
    assert!(handler.attempts().is_empty());
    assert!(InboundConsumer::new("not a url", "s", GROUP, "c1").is_err());
}

/// `poll_once` waits "up to `block`" for new entries; `Duration::ZERO` must not wait at all.
#[tokio::test]
async fn a_zero_block_does_not_wait_for_new_entries() {
    let stream = unique_stream();
    let consumer = consumer(&stream, "c1");
    let handler = Recorder::default();
    let started = Instant::now();
    let result = tokio::time::timeout(Duration::from_secs(30), consumer.poll_once(&handler, Duration::ZERO))
        .await
        .expect("poll_once returned");
    assert_eq!(result.expect("poll"), 0);
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "waited {:?} with block = 0",
        started.elapsed()
    );
    delete(&stream).await;
}

/// A Redis of our own on a free port, to stop and start (without persistence: a restart
/// comes back empty).
struct OwnRedis {
    port: u16,
    child: Option<Child>,
}

impl OwnRedis {
    fn new() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("free port");
        Self { port, child: None }
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    fn start(&mut self) {
        let child = Command::new("redis-server")
            .args([
                "--port",
                &self.port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server must be installed (scripts/test.sh installs it)");
        self.child = Some(child);
        for _ in 0..250 {
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("redis-server did not start on port {}", self.port);
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for OwnRedis {
    fn drop(&mut self) {
        self.stop();
    }
}

#[tokio::test]
async fn survives_redis_going_away_and_coming_back() {
    let mut own = OwnRedis::new();
    own.start();
    let stream = unique_stream();
    let consumer = InboundConsumer::new(&own.url(), &stream, GROUP, "c1").expect("consumer");
    let handler = Recorder::default();
    let mut connection = connect(&own.url()).await;
    xadd(&mut connection, &stream, &[("event", "before")]).await;
    assert_eq!(drain(&consumer, &handler).await, 1);

    own.stop();
    let down = tokio::time::timeout(
        Duration::from_secs(15),
        consumer.poll_once(&handler, Duration::from_millis(50)),
    )
    .await
    .expect("no hang while Redis is down");
    assert!(down.is_err(), "{down:?}");

    own.start();
    let mut connection = connect(&own.url()).await;
    xadd(&mut connection, &stream, &[("event", "after")]).await;
    let mut handled = 0;
    for _ in 0..50 {
        match consumer.poll_once(&handler, Duration::from_millis(50)).await {
            Ok(n) => {
                handled += n;
                if handled == 1 {
                    break;
                }
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
    assert_eq!(handled, 1, "the same consumer goes on once Redis is back");
    assert_eq!(handler.handled_bodies(), ["before", "after"]);
    assert_eq!(pending(&own.url(), &stream).await.0, 0);
}
