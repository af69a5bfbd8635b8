//! Spreading topics over connections.

mod common;

use common::{PoolDriver, exact_config, secs};
use kucoin_proto::ws::{SessionEvent, SessionState, SubscribeError, Timer, Topic};

fn level2(symbol: &str) -> Topic {
    Topic::new("/market/level2", symbol).unwrap()
}

#[test]
fn seven_hundred_topics_are_spread_over_three_connections() {
    let mut d = PoolDriver::new(exact_config());
    let mut placed = Vec::new();
    for i in 0..700 {
        placed.push(d.pool.subscribe(level2(&format!("S{i:03}-USDT"))).unwrap());
    }
    assert_eq!(d.pool.len(), 3);
    assert_eq!(placed.iter().filter(|i| **i == 0).count(), 300);
    assert_eq!(placed.iter().filter(|i| **i == 1).count(), 300);
    assert_eq!(placed.iter().filter(|i| **i == 2).count(), 100);
    d.run_until(secs(60));
    for i in 0..3 {
        assert_eq!(d.pool.session(i).unwrap().state(), SessionState::Live);
        assert_eq!(d.servers[i].connects.len(), 1);
        // 100 subjects per request on each connection.
        let per_conn: usize = d.servers[i]
            .subscribe_topics
            .iter()
            .map(|t| t.split(',').count())
            .sum();
        assert_eq!(per_conn, [300, 300, 100][i]);
        assert!(!d.servers[i].pings.is_empty(), "connection {i} pings");
    }
    let subscribed = d
        .events
        .iter()
        .filter(|(_, e)| matches!(e, SessionEvent::Subscribed { .. }))
        .count();
    assert_eq!(subscribed, 700);
    assert_eq!(d.messages.len(), 700);
    // Messages come back tagged with the connection that carries the topic.
    for (i, topic) in &d.messages {
        let t = Topic::parse(topic).unwrap();
        assert_eq!(d.pool.connection_of(&t), Some(*i));
    }
    // Connect ids differ between connections.
    let ids: std::collections::BTreeSet<&String> =
        d.servers.iter().map(|s| &s.connects[0].1).collect();
    assert_eq!(ids.len(), 3);
}

#[test]
fn pool_deadline_is_the_minimum_of_its_connections() {
    let mut d = PoolDriver::new(exact_config());
    for i in 0..301 {
        d.pool.subscribe(level2(&format!("S{i:03}-USDT"))).unwrap();
    }
    d.run_until(secs(1));
    let (at, _, why) = d.pool.poll_timeout().unwrap();
    let child_min = (0..d.pool.len())
        .filter_map(|i| d.pool.session(i).unwrap().poll_timeout())
        .map(|(at, _)| at)
        .min()
        .unwrap();
    assert_eq!(at, child_min);
    assert_eq!(why, Timer::Ping);
    // Firing the pool's timeout pings on every connection that is due.
    d.run_until(secs(19));
    assert!(d.servers.iter().all(|s| s.pings.len() == 1));
}

#[test]
fn unsubscribe_frees_room_on_its_connection() {
    let mut d = PoolDriver::new(exact_config());
    for i in 0..300 {
        d.pool.subscribe(level2(&format!("S{i:03}-USDT"))).unwrap();
    }
    assert_eq!(d.pool.unsubscribe(&level2("S007-USDT")), Ok(0));
    assert_eq!(d.pool.subscribe(level2("NEW-USDT")), Ok(0));
    assert_eq!(d.pool.len(), 1);
    assert!(matches!(
        d.pool.unsubscribe(&level2("S007-USDT")),
        Err(SubscribeError::NotSubscribed { .. })
    ));
}

#[test]
fn a_suspended_pool_is_silent_and_resumes_every_connection_with_fresh_tokens() {
    let mut d = PoolDriver::new(exact_config());
    for i in 0..400 {
        d.pool.subscribe(level2(&format!("S{i:03}-USDT"))).unwrap();
    }
    d.run_until(secs(60));
    assert_eq!(d.pool.len(), 2);
    let pings: Vec<usize> = d.servers.iter().map(|s| s.pings.len()).collect();
    let now = d.now;
    d.pool.handle_suspend(now).unwrap();
    assert_eq!(
        d.pool.handle_suspend(now),
        Err(kucoin_proto::ws::LifecycleError::AlreadySuspended)
    );
    assert_eq!(
        d.pool.handle_network_change(now),
        Err(kucoin_proto::ws::LifecycleError::Suspended)
    );
    // A topic added while suspended opens a connection that waits too.
    for i in 400..700 {
        d.pool.subscribe(level2(&format!("S{i:03}-USDT"))).unwrap();
    }
    assert_eq!(d.pool.len(), 3);
    d.run_until(secs(660));
    for i in 0..3 {
        assert_eq!(d.pool.session(i).unwrap().state(), SessionState::Suspended);
    }
    assert_eq!(d.pool.poll_timeout(), None, "a deadline while suspended");
    assert_eq!(
        d.servers.len(),
        2,
        "a connection was opened while suspended"
    );
    for (i, s) in d.servers.iter().enumerate() {
        assert_eq!(
            s.pings.len(),
            pings[i],
            "connection {i} pinged while suspended"
        );
        assert!(!s.socket_open, "connection {i} left open");
    }
    let now = d.now;
    d.pool.handle_resume(now).unwrap();
    assert_eq!(
        d.pool.handle_resume(now),
        Err(kucoin_proto::ws::LifecycleError::NotSuspended)
    );
    d.run_until(secs(700));
    for i in 0..3 {
        assert_eq!(d.pool.session(i).unwrap().state(), SessionState::Live);
        assert!(!d.servers[i].token_reused, "connection {i} reused a token");
    }
    assert_eq!(d.servers[0].connects.len(), 2);
    assert_eq!(d.servers[1].connects.len(), 2);
    assert_eq!(d.servers[2].connects.len(), 1);
}
