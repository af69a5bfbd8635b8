#!/usr/bin/env python3
"""Writes the committed seed corpora under fuzz/seeds/<target>/ (deterministic).

Sources: the KuCoin doc fixtures committed in kucoin-proto/tests/data/kucoin-docs and a small
generated feed (the corpus generator: `cargo run -p kucoin-proto --example gen_feed -- -n 50
--levels 10`). Run from anywhere:
    python3 fuzz/gen_seeds.py
"""
import hashlib, json, os, random, subprocess, sys, tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, ".."))
FIX = os.path.join(ROOT, "kucoin-proto", "tests", "data", "kucoin-docs")
OUT = os.path.join(HERE, "seeds")


def put(target, data, name=None):
    if isinstance(data, str):
        data = data.encode()
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    name = name or hashlib.sha1(data).hexdigest()[:16]
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def fixture(name):
    with open(os.path.join(FIX, name), "rb") as f:
        return f.read()


def compact(raw):
    return json.dumps(json.loads(raw), separators=(",", ":"))


def main():
    tmp = tempfile.mkdtemp()
    gen = ["cargo", "run", "--quiet", "-p", "kucoin-proto", "--example", "gen_feed", "--"]
    subprocess.run(gen + ["-n", "50", "--levels", "10", "--out-dir", tmp], check=True, cwd=ROOT)
    subprocess.run(gen + ["-n", "50", "--levels", "10", "--futures", "--out-dir", tmp], check=True, cwd=ROOT)
    spot_frames = open(os.path.join(tmp, "spot_frames.jsonl")).read().splitlines()
    fut_frames = open(os.path.join(tmp, "futures_frames.jsonl")).read().splitlines()
    spot_snap = json.loads(open(os.path.join(tmp, "spot_snapshot.json")).read())
    fut_snap = json.loads(open(os.path.join(tmp, "futures_snapshot.json")).read())

    ws = sorted(f for f in os.listdir(FIX) if "-ws-" in f or f.startswith("ws-"))
    rest = sorted(f for f in os.listdir(FIX) if "-rest-" in f)

    # ws_frame: every WebSocket fixture as written and compacted, plus generated frames.
    for f in ws:
        raw = fixture(f)
        put("ws_frame", raw, f)
        put("ws_frame", compact(raw), "compact-" + f)
    for line in spot_frames[:8] + fut_frames[:8]:
        put("ws_frame", line)
    for text in ['{"type":"error","code":"500","data":"x"}', '{"id":1,"type":"pong"}',
                 '{"type":"message","topic":"/t:A","data":{"a":"\\"}"}}', '{"type":"mess\\u0061ge"}']:
        put("ws_frame", text)

    # rest_envelope: status byte 0 (200) + each REST fixture; a few refusals.
    for f in rest:
        put("rest_envelope", b"\x00" + fixture(f), f)
    put("rest_envelope", b"\x00" + json.dumps(spot_snap).encode(), "gen-spot-snapshot")
    put("rest_envelope", b"\x00" + json.dumps(fut_snap).encode(), "gen-futures-snapshot")
    for status, body in [(8, '{"code":"429000","msg":"Too Many Requests"}'), (4, '{"code":"400002","msg":"KC-API-TIMESTAMP invalid"}'),
                         (9, "<html>502</html>"), (0, '{"code":200000,"data":null}'), (0, "")]:
        put("rest_envelope", bytes([status]) + body.encode())

    # book_decode: level-2 fixtures and generated frames.
    for f in ["spot-ws-level2-increment.json", "spot-ws-level2-increment-multi.json", "futures-ws-level2-increment.json"]:
        put("book_decode", fixture(f), f)
        put("book_decode", compact(fixture(f)), "compact-" + f)
    for line in spot_frames[:10] + fut_frames[:10]:
        put("book_decode", line)

    # spot_l2 / futures_l2: a gap, a snapshot line, then the generated feed.
    put("spot_l2", "\n".join([spot_frames[0], "S" + json.dumps(spot_snap["data"], separators=(",", ":"))] + spot_frames[1:]), "gen-feed")
    put("futures_l2", "\n".join([fut_frames[0], "S" + json.dumps(fut_snap["data"], separators=(",", ":"))] + fut_frames[1:]), "gen-feed")
    put("spot_l2", "\n".join(spot_frames[:5]), "gap-only")
    put("spot_l2", compact(fixture("spot-ws-level2-increment-multi.json")) + "\nT\nT\nT", "fixture-multi")
    put("futures_l2", compact(fixture("futures-ws-level2-increment.json")), "fixture")
    inseq = ['{"type":"message","topic":"/market/level2:BTC-USDT","subject":"trade.l2update","data":{"changes":{"asks":[["%s","%s","%d"]],"bids":[]},"sequenceEnd":%d,"sequenceStart":%d,"symbol":"BTC-USDT","time":1}}' % (p, s, n, n, n)
             for n, p, s in [(1003, "101", "0"), (1004, "100.5", "2"), (1005, "0", "0"), (1006, "103", "1")]]
    put("spot_l2", "\n".join(inseq), "in-sequence")

    # decimal: texts.
    for t in ["0", "65000.1", "0.00000001", "007.50", "1.", ".5", "1e5", "NaN", "-1", "9999999999999999999.999999999999999999",
              "0.1000000000000000000000", "12345678.12345678", "10000000000000000000", "0.0000000000000000001"]:
        put("decimal", t)

    # session_script / feed_script: scripts that reach a live session, plus random ones.
    rnd = random.Random(7)
    put("session_script", bytes([0, 7, 0, 7, 2, 1, 3, 2, 0, 3, 0, 0, 4, 16, 4, 17, 0, 80, 0, 80, 6, 0, 1, 3, 2, 0, 3, 0, 10, 0, 0, 200]), "live-subscribe-reconnect")
    put("session_script", bytes([1, 7, 5, 1, 4, 2, 0, 3, 0, 4, 32, 4, 33, 4, 48, 0, 200, 0, 200, 11, 0, 10, 0]), "private-errors-close")
    put("feed_script", bytes([3, 1, 0, 4, 2, 7, 0, 5, 1, 5, 2, 1, 0, 5, 3, 6, 2, 1, 0, 5, 1, 13, 0, 0, 100, 9, 0, 1, 0, 4, 2, 7, 1, 5, 3, 14, 0]), "live-book-gap-reconnect")
    put("feed_script", bytes([5, 1, 0, 4, 2, 11, 0, 7, 0, 11, 2, 7, 2, 2, 0, 1, 0, 3, 0, 10, 4, 8, 20] + list(b'{"type":"message",x') + [15, 0, 0, 255, 0, 255]), "books-topics-garbage")
    # The host's life cycle: suspend, time passes, resume, network change, wrong-state calls.
    put("session_script", bytes([0, 7, 0, 1, 3, 2, 0, 3, 0, 4, 16, 12, 0, 0, 200, 12, 1, 1, 3, 2, 0, 3, 0, 13, 0, 1, 4, 2, 0, 3, 0, 12, 0, 13, 0, 12, 0, 10, 0, 12, 1]), "lifecycle-suspend-resume-network")
    put("feed_script", bytes([3, 1, 0, 4, 2, 7, 0, 1, 0, 5, 1, 16, 0, 0, 100, 5, 1, 16, 1, 1, 0, 4, 2, 7, 0, 1, 0, 5, 1, 17, 0, 0, 5, 1, 0, 4, 2, 7, 1, 1, 0, 5, 2, 16, 0, 17, 0, 16, 0, 14, 0, 16, 1]), "lifecycle-suspend-resume-network")
    for i in range(6):
        put("session_script", bytes(rnd.randrange(256) for _ in range(rnd.randrange(20, 200))), "random-%d" % i)
        put("feed_script", bytes(rnd.randrange(256) for _ in range(rnd.randrange(20, 200))), "random-%d" % i)
    ws_channel_seeds()


# ws_channel: the channels in `ChannelKind::ALL` order (kucoin-proto/src/ws/channels/mod.rs).
CHANNELS = [
    "spot.ticker", "spot.allTickers", "spot.orderbookLevel1", "spot.orderbookLevel5", "spot.orderbookLevel50",
    "spot.callAuctionOrderbookLevel50", "spot.callAuctionInfo", "spot.orderbookIncrement", "spot.klines", "spot.trade",
    "spot.symbolSnapshot", "spot.marketSnapshot", "spot.orderV2", "spot.orderV1", "spot.account", "spot.stopOrder",
    "margin.markPrice", "margin.indexPrice", "margin.isolatedMarginPosition", "margin.crossMarginPosition",
    "futures.tickerV2", "futures.tickerV1", "futures.orderbookLevel5", "futures.orderbookLevel50",
    "futures.orderbookIncrement", "futures.klines", "futures.execution", "futures.instrument", "futures.announcement",
    "futures.symbolSnapshot", "futures.order", "futures.allOrder", "futures.balance", "futures.position",
    "futures.allPosition", "futures.marginMode", "futures.crossLeverage", "futures.stopOrders",
]


def ws_channel_seeds():
    """Byte 0 picks the channel (mod 38) and the subject ((b / 38) % 5); the rest is `data`.
    Whole frames (any first byte) are also decoded as frames."""
    data_dir = os.path.join(HERE, "..", "kucoin-proto", "tests", "data", "ws-channels")
    for i, name in enumerate(CHANNELS):
        with open(os.path.join(data_dir, name + ".json"), "rb") as f:
            frame = json.loads(f.read())
        data = json.dumps(frame["data"], separators=(",", ":"))
        put("ws_channel", bytes([i]) + data.encode(), name + "-data")
        put("ws_channel", b" " + json.dumps(dict(frame, type="message"), separators=(",", ":")).encode(), name + "-frame")
    # position subjects: settlement (subject 1), risk limit (subject 2).
    put("ws_channel", bytes([33 + 38]) + b'{"fundingTime":1551770400000,"qty":100,"markPrice":3610.85,"fundingRate":-0.002966,"fundingFee":-296,"ts":1547697294838004923,"settleCurrency":"XBT"}', "position-settlement")
    put("ws_channel", bytes([33 + 76]) + b'{"success":true,"riskLimitLevel":1,"msg":""}', "position-risk-limit")
    # quirks: exponents, negatives, nulls, empty strings, escapes, big timestamps.
    put("ws_channel", bytes([0]) + b'{"price":2.4985e-5,"size":"-1","bestAsk":null,"bestBid":"","time":"1729843222921000001"}', "ticker-quirks")
    put("ws_channel", bytes([9]) + b'{"price":"1","side":"b\\u0075y","size":"1","symbol":"A\\u002dB","time":1,"tradeId":"t\\"1"}', "trade-escapes")


if __name__ == "__main__":
    main()
