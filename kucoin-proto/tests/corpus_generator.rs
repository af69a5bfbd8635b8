//! The in-repository corpus generator gives the bytes of the shared benchmark corpus.
//!
//! The default corpora (seed 1, 200,000 frames, 500 levels a side) are pinned by SHA-256: the
//! same files the other KuCoin clients were measured on, so our numbers stay comparable. The
//! generator was also checked byte for byte against the original Python script for both markets
//! and other seeds, frame counts and depths (see the issue note).

mod corpus;

use corpus::{Params, PyRandom, generate};
use sha2::{Digest, Sha256};

fn sha256(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[test]
fn python_random_is_reproduced_draw_for_draw() {
    // Values printed by CPython 3.11's `random.Random(seed)`.
    let mut r = PyRandom::new(1);
    assert_eq!(r.random(), 0.134_364_244_112_401_22);
    assert_eq!(r.random(), 0.847_433_736_937_232_7);
    assert_eq!(r.random(), 0.763_774_618_976_614);
    let ints: Vec<i64> = (0..5).map(|_| r.randint(0, 400)).collect();
    assert_eq!(ints, [130, 60, 253, 389, 230]);
    assert_eq!(r.expovariate(1.0 / 900.0), 575.211_221_683_562_3);
    // A seed wider than 32 bits is split into two key words.
    let mut r = PyRandom::new((1 << 40) + 5);
    assert_eq!(r.random(), 0.504_380_297_041_844_3);
    assert_eq!(r.choice(&[0, 0, 1, 1, 2, 3]), 1);
}

#[test]
fn default_spot_corpus_has_the_shared_sha256() {
    let g = generate(&Params::default_for(false));
    assert_eq!(
        sha256(&g.snapshot),
        "89d6b2a314c53c477c5c0bb42710922b97f96b8e18ee56ed2b248559d45ff261"
    );
    assert_eq!(
        sha256(&g.frames),
        "bd66442437801e4d9ba2d96c9433c4c48d651fceda88076f6e99a609d09c6d1d"
    );
    assert_eq!(
        sha256(&g.expected),
        "73c5e0f47e27a33f1c12aae9b8499d08b57983b14b9d47f56e9fb41b2ee2591e"
    );
}

#[test]
fn default_futures_corpus_has_the_shared_sha256() {
    let g = generate(&Params::default_for(true));
    assert_eq!(
        sha256(&g.snapshot),
        "0de7c46232d8fee58602645cbcbc2c261e9cbe7d73877c0a61233ba57936b5f1"
    );
    assert_eq!(
        sha256(&g.frames),
        "b8a08136c646fec8369a4526ec51388007e1e1fd2719b6829332fbb482cd3281"
    );
    assert_eq!(
        sha256(&g.expected),
        "1311040825756f6f7a377595ebeb2e7735fadd8b8b5026d199d58be433b7e269"
    );
}

#[test]
fn other_parameters_change_the_corpus_and_keep_its_shape() {
    let a = generate(&Params {
        futures: false,
        seed: 7,
        n: 100,
        levels: 80,
    });
    let b = generate(&Params {
        futures: false,
        seed: 8,
        n: 100,
        levels: 80,
    });
    assert_ne!(a.frames, b.frames);
    assert_eq!(a.frames.lines().count(), 100);
    let expected: serde_json::Value = serde_json::from_str(&a.expected).unwrap();
    assert_eq!(expected["params"]["seed"], 7);
    assert_eq!(expected["messages"], 100);
    let snapshot: serde_json::Value = serde_json::from_str(&a.snapshot).unwrap();
    assert_eq!(snapshot["data"]["bids"].as_array().unwrap().len(), 80);
}
