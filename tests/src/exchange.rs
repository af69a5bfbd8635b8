//! The fake's small exchange: spot trade accounts, HF spot orders matched against the true
//! book, fills and fees; a linear futures account with orders and positions; and the private
//! pushes each change makes (`/spotMarket/tradeOrdersV2`, `/account/balance`,
//! `/contractMarket/tradeOrders`, `/contract/position:SYM`, `/contractAccount/wallet`).
//!
//! Amounts are exact decimals ([`Decimal`]); prices and sizes must be whole ticks and lots of
//! the symbol. Marketable orders take the true book's levels (and the book publishes the
//! change); what is left of a GTC limit order rests privately (it is not shown in the public
//! book), holding its funds until it is cancelled or until the generated market crosses it:
//! then it trades as maker at its own price against the crossing levels (and consumes them).

use std::collections::BTreeMap;
use std::str::FromStr;

use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde_json::{Map, Value, json};

use crate::book::{Book, Change, Side as BookSide, Update};
use crate::{Market, SymbolSpec};

/// Fee rate of an order that takes liquidity (paid in the quote currency, or in USDT).
pub const TAKER_FEE_RATE: &str = "0.001";
/// Fee rate of a resting order (held with it; KuCoin holds price × size × (1 + rate)).
pub const MAKER_FEE_RATE: &str = "0.001";

fn rate(text: &str) -> Decimal {
    Decimal::from_str(text).unwrap_or_default()
}

/// Canonical decimal text: no exponent, no trailing zeros, `0` for any zero.
pub(crate) fn text(value: Decimal) -> String {
    if value.is_zero() {
        "0".to_owned()
    } else {
        value.normalize().to_string()
    }
}

/// One answer of the exchange: HTTP status and body.
pub(crate) struct Reply {
    pub status: u16,
    pub body: String,
}

impl Reply {
    fn ok(data: &Value) -> Self {
        Self {
            status: 200,
            body: json!({"code": "200000", "data": data}).to_string(),
        }
    }

    /// A KuCoin error answer with its full code.
    fn error(status: u16, code: &str, msg: &str) -> Self {
        Self {
            status,
            body: json!({"code": code, "msg": msg}).to_string(),
        }
    }

    fn bad(msg: &str) -> Self {
        Self::error(400, "400100", msg)
    }
}

/// KuCoin's answer to an order for a symbol it does not list.
fn bad_symbol() -> Reply {
    Reply::error(200, "900001", "symbol not exists")
}

/// KuCoin's answer when the funds are not there (HTTP 200).
fn insufficient() -> Reply {
    Reply::error(200, "200004", "Balance insufficient!")
}

/// KuCoin's answer for an order id or clientOid it does not know (HTTP 200).
fn no_order(futures: bool) -> Reply {
    if futures {
        Reply::error(
            200,
            "100004",
            "Order Not Exist or Not Allow to be Cancelled",
        )
    } else {
        Reply::error(200, "400100", "order_not_exist_or_not_allow_to_cancel")
    }
}

fn duplicate_client_oid() -> Reply {
    Reply::error(200, "400100", "clientOid is duplicated")
}

/// Buy or sell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Buy,
    Sell,
}

impl Side {
    fn as_str(self) -> &'static str {
        match self {
            Self::Buy => "buy",
            Self::Sell => "sell",
        }
    }
}

/// One spot account (`trade` type): available and on hold.
#[derive(Debug, Clone, Default)]
struct Balance {
    id: String,
    available: Decimal,
    holds: Decimal,
}

/// One order, spot or futures.
#[derive(Debug, Clone)]
struct Order {
    id: String,
    client_oid: Option<String>,
    symbol: String,
    side: Side,
    limit: bool,
    price: Decimal,
    size: Decimal,
    time_in_force: String,
    remark: Option<String>,
    deal_size: Decimal,
    deal_funds: Decimal,
    fee: Decimal,
    cancelled_size: Decimal,
    active: bool,
    in_book: bool,
    created_ms: u64,
    updated_ms: u64,
    /// What is still held for the resting part (quote funds for a buy, base for a sell;
    /// futures: margin in USDT).
    hold: Decimal,
    /// Futures: leverage.
    leverage: Decimal,
}

impl Order {
    fn remain(&self) -> Decimal {
        self.size - self.deal_size - self.cancelled_size
    }
}

/// One fill of one of the account's orders.
#[derive(Debug, Clone)]
struct Fill {
    id: u64,
    trade_id: u64,
    order_id: String,
    counter_order_id: String,
    symbol: String,
    side: Side,
    limit: bool,
    price: Decimal,
    size: Decimal,
    fee: Decimal,
    created_ms: u64,
    /// Whether the order was resting (maker) when it traded.
    maker: bool,
}

/// A futures position (one-way mode, isolated margin).
#[derive(Debug, Clone, Default)]
struct Position {
    qty: Decimal,
    entry: Decimal,
    margin: Decimal,
    realised_pnl: Decimal,
    comm: Decimal,
    opened_ms: u64,
    leverage: Decimal,
}

/// A push to send on a private topic.
#[derive(Debug, Clone)]
pub(crate) struct Push {
    pub topic: String,
    pub frame: String,
}

/// What one request did: its answer, the book changes to publish, the pushes to send.
pub(crate) struct Outcome {
    pub reply: Reply,
    pub updates: Vec<(String, Update)>,
    pub pushes: Vec<Push>,
}

/// The exchange's state (inside the fake's lock).
#[derive(Debug, Default)]
pub(crate) struct Exchange {
    seed: u64,
    next_id: u64,
    next_trade: u64,
    next_event: u64,
    /// Spot `trade` accounts by currency.
    spot: BTreeMap<String, Balance>,
    /// Futures: USDT wallet balance (excluding position margin and order margin).
    wallet: Decimal,
    /// Futures: margin held by resting orders.
    order_margin: Decimal,
    positions: BTreeMap<String, Position>,
    orders: BTreeMap<String, Order>,
    by_client: BTreeMap<String, String>,
    fills: Vec<Fill>,
    wallet_version: u64,
}

/// Contract multiplier of a linear futures symbol (base units per contract).
pub(crate) fn multiplier(symbol: &str) -> Decimal {
    if symbol.starts_with("XBT") {
        Decimal::new(1, 3)
    } else if symbol.starts_with("ETH") {
        Decimal::new(1, 2)
    } else {
        Decimal::ONE
    }
}

/// Base and quote of a spot symbol (`BTC-USDT`).
fn pair(symbol: &str) -> Option<(&str, &str)> {
    symbol.split_once('-')
}

/// A request's fields: the JSON body's and the query's (query values are text).
struct Params(Map<String, Value>);

impl Params {
    fn new(query: &str, body: &str) -> Result<Self, Reply> {
        let mut map = if body.trim().is_empty() {
            Map::new()
        } else {
            match serde_json::from_str::<Value>(body) {
                Ok(Value::Object(map)) => map,
                _ => return Err(Reply::bad("body is not a JSON object")),
            }
        };
        for (k, v) in query.split('&').filter_map(|p| p.split_once('=')) {
            map.insert(
                crate::auth::percent_decode(k),
                Value::String(crate::auth::percent_decode(v)),
            );
        }
        Ok(Self(map))
    }

    fn text(&self, key: &str) -> Option<String> {
        match self.0.get(key)? {
            Value::String(s) if !s.is_empty() => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }

    fn decimal(&self, key: &str) -> Result<Option<Decimal>, Reply> {
        let Some(t) = self.text(key) else {
            return Ok(None);
        };
        Decimal::from_str(&t)
            .or_else(|_| Decimal::from_scientific(&t))
            .map(Some)
            .map_err(|_| Reply::bad(&format!("{key} is invalid")))
    }
}

/// `value` in whole units of `10^-decimals`, if it is a positive whole number of them.
fn units(value: Decimal, decimals: u32) -> Option<u64> {
    let scaled = value.checked_mul(Decimal::from(10u64.checked_pow(decimals)?))?;
    (scaled.fract().is_zero() && scaled > Decimal::ZERO)
        .then(|| scaled.to_u64())
        .flatten()
}

fn from_units(units: u64, decimals: u32) -> Decimal {
    Decimal::from_i128_with_scale(i128::from(units), decimals)
}

/// The clock values one request uses.
#[derive(Clone, Copy)]
pub(crate) struct Clock {
    pub now_ms: u64,
}

impl Exchange {
    /// An exchange with empty accounts; ids derive from `seed`.
    pub(crate) fn new(seed: u64) -> Self {
        Self {
            seed,
            next_trade: 1_000_000,
            next_event: 354_689_988_084_000,
            ..Self::default()
        }
    }

    fn new_order_id(&mut self, market: Market) -> String {
        self.next_id += 1;
        match market {
            // 24 hex digits, like KuCoin's spot ids.
            Market::Spot => format!(
                "{:08x}{:016x}",
                self.seed as u32 ^ 0x6717_0000,
                self.next_id
            ),
            // Decimal digits, like KuCoin's futures ids.
            Market::Futures => format!("{}", 236_655_147_005_071_360u64 + self.next_id),
        }
    }

    fn account(&mut self, currency: &str) -> &mut Balance {
        let n = self.spot.len();
        let seed = self.seed;
        self.spot
            .entry(currency.to_owned())
            .or_insert_with(|| Balance {
                id: format!("{:012}", 548_674_591_753u64.wrapping_add(seed) + n as u64),
                ..Balance::default()
            })
    }

    /// Adds `amount` to the available funds (spot: the `currency` trade account; futures: the
    /// USDT wallet); returns the push it makes.
    pub(crate) fn fund(
        &mut self,
        market: Market,
        currency: &str,
        amount: Decimal,
        clock: Clock,
    ) -> Vec<Push> {
        match market {
            Market::Spot => {
                self.account(currency).available += amount;
                vec![self.balance_push(
                    currency,
                    amount,
                    Decimal::ZERO,
                    "main.deposit",
                    None,
                    clock,
                )]
            }
            Market::Futures => {
                self.wallet += amount;
                vec![self.wallet_push(clock)]
            }
        }
    }

    /// Spot balances as `(currency, available, holds)`, or the futures USDT account's
    /// `(USDT, available, margin held)`.
    pub(crate) fn balances(&self, market: Market) -> Vec<(String, Decimal, Decimal)> {
        match market {
            Market::Spot => self
                .spot
                .iter()
                .map(|(c, b)| (c.clone(), b.available, b.holds))
                .collect(),
            Market::Futures => {
                let pos: Decimal = self.positions.values().map(|p| p.margin).sum();
                vec![("USDT".to_owned(), self.wallet, self.order_margin + pos)]
            }
        }
    }

    /// Answers `method path` if the exchange serves it (`None`: not an exchange route).
    pub(crate) fn route(
        &mut self,
        market: Market,
        symbols: &[SymbolSpec],
        books: &mut BTreeMap<String, Book>,
        request: (&str, &str, &str, &str),
        clock: Clock,
    ) -> Option<Outcome> {
        let (method, path, query, body) = request;
        let mut ctx = Ctx {
            market,
            symbols,
            books,
            clock,
            updates: Vec::new(),
            pushes: Vec::new(),
        };
        let params = match Params::new(query, body) {
            Ok(p) => p,
            Err(reply) => {
                return self.serves(market, method, path).then_some(Outcome {
                    reply,
                    updates: Vec::new(),
                    pushes: Vec::new(),
                });
            }
        };
        let reply = match market {
            Market::Spot => self.spot_route(&mut ctx, method, path, &params)?,
            Market::Futures => self.futures_route(&mut ctx, method, path, &params)?,
        };
        Some(Outcome {
            reply,
            updates: ctx.updates,
            pushes: ctx.pushes,
        })
    }

    /// Whether `method path` is one of the exchange's routes (for answers to bad bodies).
    fn serves(&self, market: Market, method: &str, path: &str) -> bool {
        let mut probe = Exchange::default();
        let mut books = BTreeMap::new();
        let mut ctx = Ctx {
            market,
            symbols: &[],
            books: &mut books,
            clock: Clock { now_ms: 0 },
            updates: Vec::new(),
            pushes: Vec::new(),
        };
        let params = Params(Map::new());
        match market {
            Market::Spot => probe.spot_route(&mut ctx, method, path, &params),
            Market::Futures => probe.futures_route(&mut ctx, method, path, &params),
        }
        .is_some()
    }

    fn spot_route(
        &mut self,
        ctx: &mut Ctx<'_>,
        method: &str,
        path: &str,
        p: &Params,
    ) -> Option<Reply> {
        let segments: Vec<&str> = path.strip_prefix("/api/v1/")?.split('/').collect();
        let seg = |i: usize| segments.get(i).copied().unwrap_or("");
        let decoded = |i: usize| crate::auth::percent_decode(seg(i));
        Some(match (method, segments.as_slice()) {
            ("GET", ["accounts"]) => self.spot_accounts(p),
            ("POST", ["hf", "orders"]) => self.place(ctx, p, false),
            ("POST", ["hf", "orders", "sync"]) => self.place(ctx, p, true),
            ("DELETE", ["hf", "orders"]) => self.cancel_all(ctx, p),
            ("GET", ["hf", "orders", "active"]) => self.open_orders(p),
            ("GET", ["hf", "fills"]) => self.spot_fills(p),
            ("DELETE", ["hf", "orders", "sync", "client-order", _]) => {
                self.cancel(ctx, p, Key::Client(decoded(4)), true)
            }
            ("DELETE", ["hf", "orders", "sync", id]) if is_id(id) => {
                self.cancel(ctx, p, Key::Order(decoded(3)), true)
            }
            ("DELETE", ["hf", "orders", "client-order", _]) => {
                self.cancel(ctx, p, Key::Client(decoded(3)), false)
            }
            ("DELETE", ["hf", "orders", id]) if is_id(id) => {
                self.cancel(ctx, p, Key::Order(decoded(2)), false)
            }
            ("GET", ["hf", "orders", "client-order", _]) => {
                self.spot_order(p, &Key::Client(decoded(3)))
            }
            ("GET", ["hf", "orders", id]) if is_id(id) => {
                self.spot_order(p, &Key::Order(decoded(2)))
            }
            _ => return None,
        })
    }

    fn spot_accounts(&mut self, p: &Params) -> Reply {
        let currency = p.text("currency");
        let kind = p.text("type");
        if kind.as_deref().is_some_and(|k| k != "trade") {
            // The fake has trade accounts only.
            return Reply::ok(&json!([]));
        }
        let list: Vec<Value> = self
            .spot
            .iter()
            .filter(|(c, _)| currency.as_ref().is_none_or(|w| w == *c))
            .map(|(c, b)| {
                json!({
                    "id": b.id, "currency": c, "type": "trade",
                    "balance": text(b.available + b.holds),
                    "available": text(b.available), "holds": text(b.holds),
                })
            })
            .collect();
        Reply::ok(&Value::Array(list))
    }

    /// Checks and places one order; matches it against the book.
    fn place(&mut self, ctx: &mut Ctx<'_>, p: &Params, sync: bool) -> Reply {
        let order = match self.checked_order(ctx, p) {
            Ok(o) => o,
            Err(reply) => return reply,
        };
        let Some(spec) = ctx.spec(&order.symbol).cloned() else {
            return bad_symbol();
        };
        match self.execute(ctx, &spec, order) {
            Err(reply) => reply,
            Ok(id) => {
                let Some(o) = self.orders.get(&id) else {
                    return Reply::error(500, "500000", "internal error");
                };
                if ctx.market == Market::Futures {
                    return Reply::ok(&json!({"orderId": o.id, "clientOid": o.client_oid}));
                }
                if sync {
                    Reply::ok(&json!({
                        "orderId": o.id, "clientOid": o.client_oid,
                        "orderTime": o.created_ms, "matchTime": o.updated_ms,
                        "originSize": text(o.size), "dealSize": text(o.deal_size),
                        "remainSize": text(o.remain()), "canceledSize": text(o.cancelled_size),
                        "status": if o.active { "open" } else { "done" },
                    }))
                } else {
                    Reply::ok(&json!({"orderId": o.id, "clientOid": o.client_oid}))
                }
            }
        }
    }

    /// The order a request describes, validated (not yet funded or matched).
    fn checked_order(&mut self, ctx: &Ctx<'_>, p: &Params) -> Result<Order, Reply> {
        let symbol = p
            .text("symbol")
            .ok_or_else(|| Reply::bad("symbol is required"))?;
        let spec = ctx.spec(&symbol).ok_or_else(bad_symbol)?;
        let side = match p.text("side").as_deref() {
            Some("buy") => Side::Buy,
            Some("sell") => Side::Sell,
            _ => return Err(Reply::bad("side must be buy or sell")),
        };
        let limit = match p.text("type").as_deref() {
            None | Some("limit") => true,
            Some("market") => false,
            Some(_) => return Err(Reply::bad("type must be limit or market")),
        };
        let size = p
            .decimal("size")?
            .ok_or_else(|| Reply::bad("size is required (funds orders are not supported)"))?;
        // Bounds like a symbol's maximum size and price, so that no product overflows.
        let max = Decimal::from(1_000_000_000_000u64);
        if size > max || p.decimal("price")?.is_some_and(|price| price > max) {
            return Err(Reply::bad("size and price must be at most 1000000000000"));
        }
        if units(size, spec.size_decimals).is_none() {
            return Err(Reply::bad("size must be a positive multiple of the lot"));
        }
        let price = if limit {
            let price = p
                .decimal("price")?
                .ok_or_else(|| Reply::bad("price is required"))?;
            if units(price, spec.price_decimals).is_none() {
                return Err(Reply::bad("price must be a positive multiple of the tick"));
            }
            price
        } else {
            Decimal::ZERO
        };
        let time_in_force = p.text("timeInForce").unwrap_or_else(|| "GTC".to_owned());
        if !matches!(time_in_force.as_str(), "GTC" | "IOC") {
            return Err(Reply::bad("timeInForce must be GTC or IOC"));
        }
        let client_oid = p.text("clientOid");
        if client_oid.as_ref().is_some_and(|c| c.len() > 40) {
            return Err(Reply::bad("clientOid is longer than 40 characters"));
        }
        if client_oid
            .as_ref()
            .is_some_and(|c| self.by_client.contains_key(c))
        {
            return Err(duplicate_client_oid());
        }
        let leverage = if ctx.market == Market::Futures {
            let leverage = p.decimal("leverage")?.unwrap_or(Decimal::ONE);
            if leverage <= Decimal::ZERO || leverage > Decimal::from(125) {
                return Err(Reply::bad("leverage must be between 1 and 125"));
            }
            leverage
        } else {
            Decimal::ONE
        };
        Ok(Order {
            id: String::new(),
            client_oid,
            symbol,
            side,
            limit,
            price,
            size,
            time_in_force: if limit {
                time_in_force
            } else {
                "IOC".to_owned()
            },
            remark: p.text("remark"),
            deal_size: Decimal::ZERO,
            deal_funds: Decimal::ZERO,
            fee: Decimal::ZERO,
            cancelled_size: Decimal::ZERO,
            active: true,
            in_book: false,
            created_ms: ctx.clock.now_ms,
            updated_ms: ctx.clock.now_ms,
            hold: Decimal::ZERO,
            leverage,
        })
    }

    /// Plans the fills, checks the funds, then applies fills, rest and pushes.
    fn execute(
        &mut self,
        ctx: &mut Ctx<'_>,
        spec: &SymbolSpec,
        mut order: Order,
    ) -> Result<String, Reply> {
        let futures = ctx.market == Market::Futures;
        let Some(book) = ctx.books.get(&order.symbol) else {
            return Err(bad_symbol());
        };
        let size_lots = units(order.size, spec.size_decimals).unwrap_or(0);
        let limit_ticks = order
            .limit
            .then(|| units(order.price, spec.price_decimals))
            .flatten();
        // Plan: (price ticks, lots taken, lots left at the level).
        let mut plan = Vec::new();
        let mut left = size_lots;
        let levels: Box<dyn Iterator<Item = (&u64, &u64)>> = match order.side {
            Side::Buy => Box::new(book.asks.iter()),
            Side::Sell => Box::new(book.bids.iter().rev()),
        };
        for (&price, &lots) in levels {
            if left == 0 {
                break;
            }
            let crosses = limit_ticks.is_none_or(|limit| match order.side {
                Side::Buy => price <= limit,
                Side::Sell => price >= limit,
            });
            if !crosses {
                break;
            }
            let take = lots.min(left);
            plan.push((price, take, lots - take));
            left -= take;
        }
        let rests = left > 0 && order.limit && order.time_in_force == "GTC";
        let taker = rate(TAKER_FEE_RATE);
        let maker = rate(MAKER_FEE_RATE);
        let fills: Vec<(Decimal, Decimal)> = plan
            .iter()
            .map(|(p, q, _)| {
                (
                    from_units(*p, spec.price_decimals),
                    from_units(*q, spec.size_decimals),
                )
            })
            .collect();
        let rest_size = from_units(left, spec.size_decimals);
        // Funds check.
        let mult = multiplier(&order.symbol);
        let (base, quote) = pair(&order.symbol).unwrap_or((order.symbol.as_str(), "USDT"));
        let (base, quote) = (base.to_owned(), quote.to_owned());
        let rest_hold = if futures {
            order.price * rest_size * mult / order.leverage
        } else {
            match order.side {
                Side::Buy => order.price * rest_size * (Decimal::ONE + maker),
                Side::Sell => rest_size,
            }
        };
        let needed = if futures {
            let value: Decimal = fills.iter().map(|(p, q)| p * q * mult).sum();
            value / order.leverage + value * taker + if rests { rest_hold } else { Decimal::ZERO }
        } else {
            match order.side {
                Side::Buy => {
                    fills
                        .iter()
                        .map(|(p, q)| p * q * (Decimal::ONE + taker))
                        .sum::<Decimal>()
                        + if rests { rest_hold } else { Decimal::ZERO }
                }
                Side::Sell => order.size - if rests { Decimal::ZERO } else { rest_size },
            }
        };
        let available = if futures {
            self.wallet
        } else {
            let currency = if order.side == Side::Buy {
                &quote
            } else {
                &base
            };
            self.spot
                .get(currency)
                .map_or(Decimal::ZERO, |b| b.available)
        };
        if needed > available {
            return Err(insufficient());
        }

        // Accepted.
        order.id = self.new_order_id(ctx.market);
        let id = order.id.clone();
        if let Some(c) = &order.client_oid {
            self.by_client.insert(c.clone(), id.clone());
        }
        ctx.push_order(self, &order, "received", "new", None);
        // The book's side that was taken.
        let taken_side = match order.side {
            Side::Buy => BookSide::Ask,
            Side::Sell => BookSide::Bid,
        };
        let mut changes: Vec<Change> = Vec::new();
        if let Some(book) = ctx.books.get_mut(&order.symbol) {
            for (price, _, remaining) in &plan {
                changes.push(book.set_level(taken_side, *price, *remaining));
            }
        }
        for (price, size) in &fills {
            let (price, size) = (*price, *size);
            let funds = price * size * if futures { mult } else { Decimal::ONE };
            let fee = funds * taker;
            order.deal_size += size;
            order.deal_funds += funds;
            order.fee += fee;
            order.updated_ms = ctx.clock.now_ms;
            self.next_trade += 1;
            let trade_id = self.next_trade;
            let counter = self.new_order_id(ctx.market);
            self.fills.push(Fill {
                id: trade_id * 2,
                trade_id,
                order_id: id.clone(),
                counter_order_id: counter,
                symbol: order.symbol.clone(),
                side: order.side,
                limit: order.limit,
                price,
                size,
                fee,
                created_ms: ctx.clock.now_ms,
                maker: false,
            });
            ctx.push_order(
                self,
                &order,
                "match",
                "match",
                Some((price, size, trade_id, false)),
            );
            if futures {
                self.futures_fill(ctx, &order, price, size, fee);
            } else {
                let context = (order.symbol.as_str(), id.as_str(), Some(trade_id));
                let (base_change, quote_change) = match order.side {
                    Side::Buy => (size, -(funds + fee)),
                    Side::Sell => (-size, funds - fee),
                };
                self.account(&base).available += base_change;
                self.account(&quote).available += quote_change;
                let pushes = [(quote.clone(), quote_change), (base.clone(), base_change)];
                for (currency, change) in pushes {
                    let push = self.balance_push(
                        &currency,
                        change,
                        Decimal::ZERO,
                        "trade.setted",
                        Some(context),
                        ctx.clock,
                    );
                    ctx.pushes.push(push);
                }
            }
        }
        if rests {
            order.in_book = true;
            order.hold = rest_hold;
            if futures {
                self.wallet -= rest_hold;
                self.order_margin += rest_hold;
                ctx.pushes.push(self.wallet_push(ctx.clock));
            } else {
                let currency = if order.side == Side::Buy {
                    quote.clone()
                } else {
                    base.clone()
                };
                let account = self.account(&currency);
                account.available -= rest_hold;
                account.holds += rest_hold;
                let push = self.balance_push(
                    &currency,
                    -rest_hold,
                    rest_hold,
                    "trade.hold",
                    Some((order.symbol.as_str(), id.as_str(), None)),
                    ctx.clock,
                );
                ctx.pushes.push(push);
            }
            ctx.push_order(self, &order, "open", "open", None);
        } else if left > 0 {
            // IOC or market: what could not trade is cancelled.
            order.cancelled_size = rest_size;
            order.active = false;
            ctx.push_order(self, &order, "canceled", "done", None);
        } else {
            order.active = false;
            ctx.push_order(self, &order, "filled", "done", None);
        }
        ctx.publish(&order.symbol, changes);
        self.orders.insert(id.clone(), order);
        Ok(id)
    }

    /// Whether an order of `symbol` rests (for the generator: only then can the market cross
    /// one).
    pub(crate) fn has_resting(&self, symbol: &str) -> bool {
        self.orders
            .values()
            .any(|o| o.in_book && o.symbol == symbol)
    }

    /// Fills the resting orders of `symbol` that the true book now crosses (an ask at or under
    /// a resting buy, a bid at or over a resting sell) as makers at their own prices, oldest
    /// first, consuming the crossing levels; returns the book changes and pushes.
    pub(crate) fn cross(
        &mut self,
        market: Market,
        symbols: &[SymbolSpec],
        books: &mut BTreeMap<String, Book>,
        symbol: &str,
        clock: Clock,
    ) -> Outcome {
        let mut ctx = Ctx {
            market,
            symbols,
            books,
            clock,
            updates: Vec::new(),
            pushes: Vec::new(),
        };
        let resting: Vec<String> = self
            .orders
            .values()
            .filter(|o| o.in_book && o.symbol == symbol)
            .map(|o| o.id.clone())
            .collect();
        let Some(spec) = ctx.spec(symbol).cloned() else {
            return ctx.outcome();
        };
        let mut changes = Vec::new();
        for id in resting {
            self.maker_fills(&mut ctx, &spec, &id, &mut changes);
        }
        ctx.publish(symbol, changes);
        ctx.outcome()
    }

    fn maker_fills(
        &mut self,
        ctx: &mut Ctx<'_>,
        spec: &SymbolSpec,
        id: &str,
        changes: &mut Vec<Change>,
    ) {
        let futures = ctx.market == Market::Futures;
        let Some(mut order) = self.orders.remove(id) else {
            return;
        };
        let maker = rate(MAKER_FEE_RATE);
        let mult = multiplier(&order.symbol);
        let limit = units(order.price, spec.price_decimals).unwrap_or(0);
        let (base, quote) = pair(&order.symbol).unwrap_or((order.symbol.as_str(), "USDT"));
        let (base, quote) = (base.to_owned(), quote.to_owned());
        loop {
            let left = units(order.remain(), spec.size_decimals).unwrap_or(0);
            let Some(book) = ctx.books.get_mut(&order.symbol) else {
                break;
            };
            let level = match order.side {
                Side::Buy => book.asks.iter().next().filter(|(p, _)| **p <= limit),
                Side::Sell => book.bids.iter().next_back().filter(|(p, _)| **p >= limit),
            };
            let Some((&at, &lots)) = level else {
                break;
            };
            if left == 0 {
                break;
            }
            let take = lots.min(left);
            let side = match order.side {
                Side::Buy => BookSide::Ask,
                Side::Sell => BookSide::Bid,
            };
            changes.push(book.set_level(side, at, lots - take));
            let size = from_units(take, spec.size_decimals);
            let price = order.price;
            let funds = price * size * if futures { mult } else { Decimal::ONE };
            let fee = funds * maker;
            // What this part held.
            let released = if futures {
                funds / order.leverage
            } else {
                match order.side {
                    Side::Buy => funds + fee,
                    Side::Sell => size,
                }
            };
            order.hold -= released;
            order.deal_size += size;
            order.deal_funds += funds;
            order.fee += fee;
            order.updated_ms = ctx.clock.now_ms;
            self.next_trade += 1;
            let trade_id = self.next_trade;
            let counter = self.new_order_id(ctx.market);
            self.fills.push(Fill {
                id: trade_id * 2,
                trade_id,
                order_id: order.id.clone(),
                counter_order_id: counter,
                symbol: order.symbol.clone(),
                side: order.side,
                limit: true,
                price,
                size,
                fee,
                created_ms: ctx.clock.now_ms,
                maker: true,
            });
            ctx.push_order(
                self,
                &order,
                "match",
                "match",
                Some((price, size, trade_id, true)),
            );
            if futures {
                self.order_margin -= released;
                self.wallet += released;
                self.futures_fill(ctx, &order, price, size, fee);
            } else {
                let context = (order.symbol.as_str(), order.id.as_str(), Some(trade_id));
                let moves = match order.side {
                    // Quote: the hold pays price × size + fee; base: the size arrives.
                    Side::Buy => [
                        (quote.clone(), Decimal::ZERO, -released),
                        (base.clone(), size, Decimal::ZERO),
                    ],
                    Side::Sell => [
                        (quote.clone(), funds - fee, Decimal::ZERO),
                        (base.clone(), Decimal::ZERO, -released),
                    ],
                };
                for (currency, available, hold) in moves {
                    let account = self.account(&currency);
                    account.available += available;
                    account.holds += hold;
                    let push = self.balance_push(
                        &currency,
                        available,
                        hold,
                        "trade.setted",
                        Some(context),
                        ctx.clock,
                    );
                    ctx.pushes.push(push);
                }
            }
        }
        if order.remain().is_zero() {
            order.active = false;
            order.in_book = false;
            ctx.push_order(self, &order, "filled", "done", None);
        }
        self.orders.insert(id.to_owned(), order);
    }

    fn find(&self, key: &Key) -> Option<&Order> {
        match key {
            Key::Order(id) => self.orders.get(id),
            Key::Client(c) => self.by_client.get(c).and_then(|id| self.orders.get(id)),
        }
    }

    /// Cancels one order (by id or clientOid).
    fn cancel(&mut self, ctx: &mut Ctx<'_>, p: &Params, key: Key, sync: bool) -> Reply {
        let futures = ctx.market == Market::Futures;
        let symbol = p.text("symbol");
        if !futures && symbol.is_none() {
            return Reply::bad("symbol is required");
        }
        let Some(order) = self.find(&key) else {
            return no_order(futures);
        };
        if !order.active || symbol.as_ref().is_some_and(|s| *s != order.symbol) {
            return no_order(futures);
        }
        let id = order.id.clone();
        self.cancel_order(ctx, &id);
        let Some(o) = self.orders.get(&id) else {
            return no_order(futures);
        };
        match (futures, &key, sync) {
            (true, Key::Order(_), _) => Reply::ok(&json!({"cancelledOrderIds": [o.id]})),
            (_, Key::Client(c), false) => Reply::ok(&json!({"clientOid": c})),
            (_, Key::Order(_), false) => Reply::ok(&json!({"orderId": o.id})),
            (_, _, true) => {
                let mut data = json!({
                    "originSize": text(o.size), "dealSize": text(o.deal_size),
                    "remainSize": text(o.remain()), "canceledSize": text(o.cancelled_size),
                    "status": "done",
                });
                match &key {
                    Key::Order(_) => data["orderId"] = json!(o.id),
                    Key::Client(c) => data["clientOid"] = json!(c),
                }
                Reply::ok(&data)
            }
        }
    }

    /// Cancels an open order: releases what it holds and pushes the changes.
    fn cancel_order(&mut self, ctx: &mut Ctx<'_>, id: &str) {
        let futures = ctx.market == Market::Futures;
        let Some(mut order) = self.orders.remove(id) else {
            return;
        };
        let hold = order.hold;
        order.cancelled_size = order.remain();
        order.hold = Decimal::ZERO;
        order.active = false;
        order.in_book = false;
        order.updated_ms = ctx.clock.now_ms;
        if futures {
            self.order_margin -= hold;
            self.wallet += hold;
            ctx.pushes.push(self.wallet_push(ctx.clock));
        } else {
            let (base, quote) = pair(&order.symbol).unwrap_or((order.symbol.as_str(), "USDT"));
            let currency = match order.side {
                Side::Buy => quote.to_owned(),
                Side::Sell => base.to_owned(),
            };
            let account = self.account(&currency);
            account.available += hold;
            account.holds -= hold;
            let push = self.balance_push(
                &currency,
                hold,
                -hold,
                "trade.hold",
                Some((order.symbol.as_str(), order.id.as_str(), None)),
                ctx.clock,
            );
            ctx.pushes.push(push);
        }
        ctx.push_order(self, &order, "canceled", "done", None);
        self.orders.insert(id.to_owned(), order);
    }

    fn cancel_all(&mut self, ctx: &mut Ctx<'_>, p: &Params) -> Reply {
        let Some(symbol) = p.text("symbol") else {
            return Reply::bad("symbol is required");
        };
        if ctx.spec(&symbol).is_none() {
            return bad_symbol();
        }
        let ids: Vec<String> = self
            .orders
            .values()
            .filter(|o| o.active && o.symbol == symbol)
            .map(|o| o.id.clone())
            .collect();
        for id in &ids {
            self.cancel_order(ctx, id);
        }
        if ctx.market == Market::Futures {
            Reply::ok(&json!({"cancelledOrderIds": ids}))
        } else {
            Reply::ok(&json!("success"))
        }
    }

    fn spot_order(&self, p: &Params, key: &Key) -> Reply {
        let Some(symbol) = p.text("symbol") else {
            return Reply::bad("symbol is required");
        };
        match self.find(key) {
            Some(o) if o.symbol == symbol => Reply::ok(&spot_order_json(o)),
            _ => no_order(false),
        }
    }

    fn open_orders(&self, p: &Params) -> Reply {
        let Some(symbol) = p.text("symbol") else {
            return Reply::bad("symbol is required");
        };
        let list: Vec<Value> = self
            .orders
            .values()
            .filter(|o| o.active && o.symbol == symbol)
            .map(spot_order_json)
            .collect();
        Reply::ok(&Value::Array(list))
    }

    fn spot_fills(&self, p: &Params) -> Reply {
        let Some(symbol) = p.text("symbol") else {
            return Reply::bad("symbol is required");
        };
        let order_id = p.text("orderId");
        let items: Vec<Value> = self
            .fills
            .iter()
            .rev()
            .filter(|f| f.symbol == symbol && order_id.as_ref().is_none_or(|o| *o == f.order_id))
            .map(|f| {
                let funds = f.price * f.size;
                json!({
                    "id": f.id, "orderId": f.order_id, "counterOrderId": f.counter_order_id,
                    "tradeId": f.trade_id, "symbol": f.symbol, "side": f.side.as_str(),
                    "liquidity": if f.maker { "maker" } else { "taker" },
                    "type": if f.limit { "limit" } else { "market" },
                    "forceTaker": false, "price": text(f.price), "size": text(f.size),
                    "funds": text(funds), "fee": text(f.fee),
                    "feeRate": if f.maker { MAKER_FEE_RATE } else { TAKER_FEE_RATE },
                    "feeCurrency": pair(&f.symbol).map_or("USDT", |(_, q)| q),
                    "stop": "", "tradeType": "TRADE", "tax": "0", "taxRate": "0",
                    "createdAt": f.created_ms,
                })
            })
            .collect();
        let last_id = self.fills.first().map_or(0, |f| f.id);
        Reply::ok(&json!({"items": items, "lastId": last_id}))
    }

    // ----- futures -----

    fn futures_route(
        &mut self,
        ctx: &mut Ctx<'_>,
        method: &str,
        path: &str,
        p: &Params,
    ) -> Option<Reply> {
        if (method, path) == ("DELETE", "/api/v3/orders") {
            return Some(self.cancel_all(ctx, p));
        }
        let segments: Vec<&str> = path.strip_prefix("/api/v1/")?.split('/').collect();
        let decoded =
            |i: usize| crate::auth::percent_decode(segments.get(i).copied().unwrap_or(""));
        Some(match (method, segments.as_slice()) {
            ("GET", ["account-overview"]) => self.overview(p),
            ("GET", ["orders"]) => self.futures_orders(p),
            ("POST", ["orders"]) => self.place(ctx, p, false),
            ("DELETE", ["orders"]) => self.cancel_all(ctx, p),
            ("GET", ["orders", "byClientOid"]) => match p.text("clientOid") {
                None => Reply::bad("clientOid is required"),
                Some(c) => self.futures_order(&Key::Client(c)),
            },
            ("DELETE", ["orders", "client-order", _]) => {
                self.cancel(ctx, p, Key::Client(decoded(2)), false)
            }
            ("DELETE", ["orders", id]) if is_id(id) => {
                self.cancel(ctx, p, Key::Order(decoded(1)), false)
            }
            ("GET", ["orders", id]) if is_id(id) => self.futures_order(&Key::Order(decoded(1))),
            ("GET", ["position"]) => match p.text("symbol") {
                None => Reply::bad("symbol is required"),
                Some(s) if ctx.spec(&s).is_none() => bad_symbol(),
                Some(s) => Reply::ok(&self.position_json(&s, ctx.clock)),
            },
            ("GET", ["positions"]) => {
                let list: Vec<Value> = self
                    .positions
                    .iter()
                    .filter(|(_, pos)| !pos.qty.is_zero())
                    .map(|(s, _)| self.position_json(s, ctx.clock))
                    .collect();
                Reply::ok(&Value::Array(list))
            }
            _ => return None,
        })
    }

    fn overview(&self, p: &Params) -> Reply {
        if p.text("currency").is_some_and(|c| c != "USDT") {
            return Reply::ok(&json!({
                "accountEquity": 0, "unrealisedPNL": 0, "marginBalance": 0,
                "positionMargin": 0, "orderMargin": 0, "frozenFunds": 0,
                "availableBalance": 0, "currency": p.text("currency"),
                "riskRatio": 0, "maxWithdrawAmount": 0,
            }));
        }
        let pos: Decimal = self.positions.values().map(|p| p.margin).sum();
        let equity = self.wallet + self.order_margin + pos;
        Reply::ok(&json!({
            "accountEquity": number(equity), "unrealisedPNL": 0,
            "marginBalance": number(equity), "positionMargin": number(pos),
            "orderMargin": number(self.order_margin), "frozenFunds": 0,
            "availableBalance": number(self.wallet), "currency": "USDT",
            "riskRatio": 0, "maxWithdrawAmount": number(self.wallet),
        }))
    }

    fn futures_order(&self, key: &Key) -> Reply {
        match self.find(key) {
            Some(o) => Reply::ok(&futures_order_json(o)),
            None => no_order(true),
        }
    }

    /// `GET /api/v1/orders`: one page of the orders, `status=active` (default) or `done`.
    fn futures_orders(&self, p: &Params) -> Reply {
        let active = match p.text("status").as_deref() {
            None | Some("active") => true,
            Some("done") => false,
            Some(_) => return Reply::bad("status must be active or done"),
        };
        let symbol = p.text("symbol");
        let items: Vec<Value> = self
            .orders
            .values()
            .filter(|o| o.active == active && symbol.as_ref().is_none_or(|s| *s == o.symbol))
            .map(futures_order_json)
            .collect();
        let total = items.len();
        Reply::ok(&json!({
            "currentPage": 1, "pageSize": total.max(50), "totalNum": total,
            "totalPage": 1, "items": items,
        }))
    }
}

/// A futures order as KuCoin's order answers show it.
fn futures_order_json(o: &Order) -> Value {
    let mult = multiplier(&o.symbol);
    let avg = if o.deal_size.is_zero() {
        Decimal::ZERO
    } else {
        o.deal_funds / (o.deal_size * mult)
    };
    json!({
        "id": o.id, "symbol": o.symbol, "type": if o.limit { "limit" } else { "market" },
        "side": o.side.as_str(), "price": text(o.price), "size": number(o.size),
        "value": text(o.price * o.size * mult), "dealValue": text(o.deal_funds),
        "dealSize": number(o.deal_size), "filledSize": number(o.deal_size),
        "filledValue": text(o.deal_funds), "avgDealPrice": text(avg),
        "stp": "", "stop": "", "stopPriceType": "", "stopTriggered": false,
        "stopPrice": null, "timeInForce": o.time_in_force, "postOnly": false,
        "hidden": false, "iceberg": false, "leverage": text(o.leverage),
        "forceHold": false, "closeOrder": false, "visibleSize": 0,
        "clientOid": o.client_oid, "remark": o.remark, "tags": "",
        "isActive": o.active, "cancelExist": !o.cancelled_size.is_zero(),
        "createdAt": o.created_ms, "updatedAt": o.updated_ms,
        "endAt": if o.active { None } else { Some(o.updated_ms) },
        "orderTime": u128::from(o.created_ms) * 1_000_000,
        "settleCurrency": "USDT", "marginMode": "ISOLATED", "reduceOnly": false,
        "status": if o.active { "open" } else { "done" },
    })
}

impl Exchange {
    /// Applies one futures fill to the position and the wallet.
    fn futures_fill(
        &mut self,
        ctx: &mut Ctx<'_>,
        order: &Order,
        price: Decimal,
        size: Decimal,
        fee: Decimal,
    ) {
        let mult = multiplier(&order.symbol);
        let signed = if order.side == Side::Buy { size } else { -size };
        let pos = self.positions.entry(order.symbol.clone()).or_default();
        if pos.qty.is_zero() {
            pos.opened_ms = ctx.clock.now_ms;
        }
        pos.leverage = order.leverage;
        pos.comm += fee;
        pos.realised_pnl -= fee;
        let mut wallet_change = -fee;
        let same_way = pos.qty.is_zero() || (pos.qty > Decimal::ZERO) == (signed > Decimal::ZERO);
        if same_way {
            // Open or add: average the entry, hold the initial margin.
            let total = pos.qty.abs() + size;
            pos.entry = (pos.entry * pos.qty.abs() + price * size) / total;
            let margin = price * size * mult / order.leverage;
            pos.margin += margin;
            wallet_change -= margin;
            pos.qty += signed;
        } else {
            // Reduce (and maybe flip): realise PnL on the closed part, release its margin.
            let closed = size.min(pos.qty.abs());
            let direction = if pos.qty > Decimal::ZERO {
                Decimal::ONE
            } else {
                -Decimal::ONE
            };
            let pnl = (price - pos.entry) * closed * mult * direction;
            let released = pos.margin * closed / pos.qty.abs();
            pos.margin -= released;
            pos.realised_pnl += pnl;
            wallet_change += released + pnl;
            pos.qty += signed;
            let opened = size - closed;
            if !opened.is_zero() {
                pos.entry = price;
                let margin = price * opened * mult / order.leverage;
                pos.margin += margin;
                wallet_change -= margin;
                pos.opened_ms = ctx.clock.now_ms;
            } else if pos.qty.is_zero() {
                pos.entry = Decimal::ZERO;
                pos.margin = Decimal::ZERO;
            }
        }
        self.wallet += wallet_change;
        let position = self.position_json(&order.symbol, ctx.clock);
        let mut data = position;
        data["changeReason"] = json!("positionChange");
        for topic in [
            format!("/contract/position:{}", order.symbol),
            "/contract/positionAll".to_owned(),
        ] {
            ctx.pushes.push(Push {
                frame: json!({
                    "topic": topic, "type": "message", "subject": "position.change",
                    "userId": "fake-user", "channelType": "private", "data": data,
                })
                .to_string(),
                topic,
            });
        }
        ctx.pushes.push(self.wallet_push(ctx.clock));
    }

    fn position_json(&self, symbol: &str, clock: Clock) -> Value {
        let pos = self.positions.get(symbol).cloned().unwrap_or_default();
        let mult = multiplier(symbol);
        let cost = pos.entry * pos.qty * mult;
        json!({
            "id": format!("5000000000{:08}", symbol.len()),
            "symbol": symbol, "crossMode": false, "marginMode": "ISOLATED",
            "positionSide": "BOTH", "autoDeposit": false, "delevPercentage": 0,
            "openingTimestamp": pos.opened_ms, "currentTimestamp": clock.now_ms,
            "currentQty": number(pos.qty), "currentCost": number(cost),
            "currentComm": number(pos.comm), "unrealisedCost": number(cost),
            "realisedGrossCost": 0, "realisedCost": number(pos.comm),
            "isOpen": !pos.qty.is_zero(), "markPrice": number(pos.entry),
            "markValue": number(cost), "posCost": number(cost), "posInit": number(pos.margin),
            "posMargin": number(pos.margin), "posCross": 0, "posComm": 0, "posLoss": 0,
            "posFunding": 0, "posMaint": 0, "maintMargin": number(pos.margin),
            "realisedGrossPnl": 0, "realisedPnl": number(pos.realised_pnl),
            "unrealisedPnl": 0, "unrealisedPnlPcnt": 0, "unrealisedRoePcnt": 0,
            "avgEntryPrice": number(pos.entry), "liquidationPrice": 0, "bankruptPrice": 0,
            "settleCurrency": "USDT", "maintMarginReq": 0.005, "riskLimit": 500000,
            "riskLimitLevel": 1, "leverage": number(pos.leverage), "realLeverage": number(pos.leverage),
        })
    }

    fn wallet_push(&mut self, clock: Clock) -> Push {
        self.wallet_version += 1;
        let pos: Decimal = self.positions.values().map(|p| p.margin).sum();
        let equity = self.wallet + self.order_margin + pos;
        let topic = "/contractAccount/wallet".to_owned();
        Push {
            frame: json!({
                "topic": topic, "type": "message", "subject": "walletBalance.change",
                "id": format!("{:024x}", self.wallet_version), "userId": "fake-user",
                "channelType": "private",
                "data": {
                    "crossPosMargin": "0", "isolatedOrderMargin": text(self.order_margin),
                    "holdBalance": "0", "equity": text(equity),
                    "version": self.wallet_version.to_string(),
                    "availableBalance": text(self.wallet), "isolatedPosMargin": text(pos),
                    "walletBalance": text(equity), "isolatedFundingFeeMargin": "0",
                    "crossUnPnl": "0", "totalCrossMargin": text(self.wallet), "currency": "USDT",
                    "isolatedUnPnl": "0", "crossOrderMargin": "0",
                    "timestamp": clock.now_ms.to_string(),
                },
            })
            .to_string(),
            topic,
        }
    }

    fn balance_push(
        &mut self,
        currency: &str,
        available_change: Decimal,
        hold_change: Decimal,
        event: &str,
        context: Option<(&str, &str, Option<u64>)>,
        clock: Clock,
    ) -> Push {
        self.next_event += 1;
        let event_id = self.next_event.to_string();
        let account = self.account(currency).clone();
        let mut data = json!({
            "accountId": account.id, "currency": currency,
            "total": text(account.available + account.holds),
            "available": text(account.available), "hold": text(account.holds),
            "availableChange": text(available_change), "holdChange": text(hold_change),
            "relationEvent": event, "relationEventId": event_id,
            "time": clock.now_ms.to_string(),
        });
        if let Some((symbol, order_id, trade_id)) = context {
            let mut ctx = json!({"symbol": symbol, "orderId": order_id});
            if let Some(t) = trade_id {
                ctx["tradeId"] = json!(t.to_string());
            }
            data["relationContext"] = ctx;
        }
        let topic = "/account/balance".to_owned();
        Push {
            frame: json!({
                "topic": topic, "type": "message", "subject": "account.balance",
                "id": event_id, "userId": "fake-user", "channelType": "private", "data": data,
            })
            .to_string(),
            topic,
        }
    }
}

/// A decimal as a JSON number, as futures answers carry them.
fn number(value: Decimal) -> Value {
    serde_json::from_str(&text(value)).unwrap_or(Value::Null)
}

/// Whether a path segment can be an order id (not one of the literal sub-paths).
fn is_id(segment: &str) -> bool {
    !segment.is_empty()
        && !matches!(
            segment,
            "active"
                | "done"
                | "multi"
                | "sync"
                | "test"
                | "alter"
                | "cancelAll"
                | "dead-cancel-all"
                | "client-order"
                | "byClientOid"
                | "multi-cancel"
        )
}

/// An order named by its id or by its clientOid.
enum Key {
    Order(String),
    Client(String),
}

fn spot_order_json(o: &Order) -> Value {
    let funds = o.price * o.size;
    let quote = pair(&o.symbol).map_or("USDT", |(_, q)| q);
    json!({
        "id": o.id, "clientOid": o.client_oid, "symbol": o.symbol, "opType": "DEAL",
        "type": if o.limit { "limit" } else { "market" }, "side": o.side.as_str(),
        "price": text(o.price), "size": text(o.size), "funds": text(funds),
        "dealSize": text(o.deal_size), "dealFunds": text(o.deal_funds),
        "remainSize": text(o.remain()),
        "remainFunds": text(if o.active { o.price * o.remain() } else { Decimal::ZERO }),
        "cancelledSize": text(o.cancelled_size),
        "cancelledFunds": text(o.price * o.cancelled_size),
        "fee": text(o.fee), "feeCurrency": quote, "stp": null, "timeInForce": o.time_in_force,
        "postOnly": false, "hidden": false, "iceberg": false, "visibleSize": "0",
        "cancelAfter": 0, "channel": "API", "remark": o.remark, "tags": null,
        "cancelExist": !o.cancelled_size.is_zero(), "tradeType": "TRADE",
        "inOrderBook": o.in_book, "active": o.active, "tax": "0",
        "createdAt": o.created_ms, "lastUpdatedAt": o.updated_ms,
    })
}

/// What one request works with besides the exchange.
struct Ctx<'a> {
    market: Market,
    symbols: &'a [SymbolSpec],
    books: &'a mut BTreeMap<String, Book>,
    clock: Clock,
    updates: Vec<(String, Update)>,
    pushes: Vec<Push>,
}

impl Ctx<'_> {
    fn outcome(self) -> Outcome {
        Outcome {
            reply: Reply::ok(&Value::Null),
            updates: self.updates,
            pushes: self.pushes,
        }
    }

    fn spec(&self, symbol: &str) -> Option<&SymbolSpec> {
        self.symbols.iter().find(|s| s.symbol == symbol)
    }

    /// Turns the book changes a trade made into level-2 updates (spot: one message; futures:
    /// one message per change).
    fn publish(&mut self, symbol: &str, changes: Vec<Change>) {
        if changes.is_empty() {
            return;
        }
        let time_ms = self.clock.now_ms;
        let messages: Vec<Vec<Change>> = match self.market {
            Market::Spot => vec![changes],
            Market::Futures => changes.into_iter().map(|c| vec![c]).collect(),
        };
        for changes in messages {
            let (Some(first), Some(last)) = (changes.first(), changes.last()) else {
                continue;
            };
            let update = Update {
                seq_start: first.seq,
                seq_end: last.seq,
                changes: changes.clone(),
                time_ms,
            };
            self.updates.push((symbol.to_owned(), update));
        }
    }

    /// A change of `order` on the private order channel.
    fn push_order(
        &mut self,
        exchange: &mut Exchange,
        order: &Order,
        kind: &str,
        status: &str,
        fill: Option<(Decimal, Decimal, u64, bool)>,
    ) {
        exchange.next_event += 1;
        let ts =
            u128::from(self.clock.now_ms) * 1_000_000 + u128::from(exchange.next_event % 1_000_000);
        let remain = if matches!(kind, "filled" | "canceled") {
            Decimal::ZERO
        } else {
            order.remain()
        };
        let futures = self.market == Market::Futures;
        let mut data = json!({
            "symbol": order.symbol, "orderType": if order.limit { "limit" } else { "market" },
            "side": order.side.as_str(), "orderId": order.id, "type": kind, "status": status,
            "size": text(order.size), "filledSize": text(order.deal_size),
            "remainSize": text(remain), "canceledSize": text(order.cancelled_size),
            "ts": ts,
        });
        if order.limit {
            data["price"] = json!(text(order.price));
        }
        if let Some(c) = &order.client_oid {
            data["clientOid"] = json!(c);
        }
        if futures {
            data["orderTime"] = json!(u128::from(order.created_ms) * 1_000_000);
            data["marginMode"] = json!("ISOLATED");
            data["tradeType"] = json!("trade");
        } else {
            data["orderTime"] = json!(order.created_ms);
            data["originSize"] = json!(text(order.size));
        }
        if let Some((price, size, trade_id, maker)) = fill {
            data["matchPrice"] = json!(text(price));
            data["matchSize"] = json!(text(size));
            data["tradeId"] = json!(trade_id.to_string());
            data["liquidity"] = json!(if maker { "maker" } else { "taker" });
            data["feeType"] = json!(if maker { "makerFee" } else { "takerFee" });
        }
        let (topic, subject) = if futures {
            let topic = format!("/contractMarket/tradeOrders:{}", order.symbol);
            self.pushes.push(Push {
                frame: json!({
                    "topic": topic, "type": "message", "subject": "symbolOrderChange",
                    "userId": "fake-user", "channelType": "private", "data": data,
                })
                .to_string(),
                topic,
            });
            ("/contractMarket/tradeOrders".to_owned(), "orderChange")
        } else {
            ("/spotMarket/tradeOrdersV2".to_owned(), "orderChange")
        };
        self.pushes.push(Push {
            frame: json!({
                "topic": topic, "type": "message", "subject": subject, "userId": "fake-user",
                "channelType": "private", "data": data,
            })
            .to_string(),
            topic,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(text: &str) -> Decimal {
        Decimal::from_str(text).unwrap()
    }

    fn spot() -> (Exchange, Vec<SymbolSpec>, BTreeMap<String, Book>) {
        let spec = SymbolSpec::spot("BTC-USDT");
        let mut book = Book::new(spec.clone(), 1);
        // A known ask side: 67000.0 × 0.5, 67000.5 × 1, 67001.0 × 2.
        book.asks.clear();
        book.bids.clear();
        book.asks.insert(670_000, 50_000_000);
        book.asks.insert(670_005, 100_000_000);
        book.asks.insert(670_010, 200_000_000);
        book.bids.insert(669_990, 100_000_000);
        let mut books = BTreeMap::new();
        books.insert("BTC-USDT".to_owned(), book);
        (Exchange::new(1), vec![spec], books)
    }

    const CLOCK: Clock = Clock {
        now_ms: 1_700_000_000_000,
    };

    fn call(
        ex: &mut Exchange,
        specs: &[SymbolSpec],
        books: &mut BTreeMap<String, Book>,
        method: &str,
        path: &str,
        query: &str,
        body: &str,
    ) -> (Value, Outcome) {
        let out = ex
            .route(
                Market::Spot,
                specs,
                books,
                (method, path, query, body),
                CLOCK,
            )
            .expect("an exchange route");
        (serde_json::from_str(&out.reply.body).unwrap(), out)
    }

    #[test]
    fn a_marketable_buy_takes_levels_in_price_order_and_pays_exact_fees() {
        let (mut ex, specs, mut books) = spot();
        ex.fund(Market::Spot, "USDT", d("100000"), CLOCK);
        let body =
            r#"{"symbol":"BTC-USDT","side":"buy","type":"limit","price":"67000.5","size":"1"}"#;
        let (v, out) = call(
            &mut ex,
            &specs,
            &mut books,
            "POST",
            "/api/v1/hf/orders",
            "",
            body,
        );
        assert_eq!(v["code"], "200000", "{v}");
        // 0.5 at 67000 and 0.5 at 67000.5; the rest of the second level stays.
        let book = &books["BTC-USDT"];
        assert_eq!(book.asks.get(&670_000), None);
        assert_eq!(book.asks.get(&670_005), Some(&50_000_000));
        assert_eq!(out.updates.len(), 1);
        assert_eq!(out.updates[0].1.changes.len(), 2);
        // Cost: 33500 + 33500.25 = 67000.25; fee 67.00025.
        let usdt = &ex.spot["USDT"];
        assert_eq!(usdt.available, d("100000") - d("67000.25") - d("67.00025"));
        assert_eq!(usdt.holds, Decimal::ZERO);
        assert_eq!(ex.spot["BTC"].available, d("1"));
        let kinds: Vec<String> = out
            .pushes
            .iter()
            .filter(|p| p.topic == "/spotMarket/tradeOrdersV2")
            .map(|p| serde_json::from_str::<Value>(&p.frame).unwrap()["data"]["type"].to_string())
            .collect();
        assert_eq!(
            kinds,
            ["\"received\"", "\"match\"", "\"match\"", "\"filled\""]
        );
    }

    #[test]
    fn a_resting_buy_holds_price_size_and_fee_and_cancel_releases_it() {
        let (mut ex, specs, mut books) = spot();
        ex.fund(Market::Spot, "USDT", d("1000"), CLOCK);
        let body =
            r#"{"symbol":"BTC-USDT","side":"buy","price":"50000","size":"0.01","clientOid":"a1"}"#;
        let (v, _) = call(
            &mut ex,
            &specs,
            &mut books,
            "POST",
            "/api/v1/hf/orders",
            "",
            body,
        );
        let id = v["data"]["orderId"].as_str().unwrap().to_owned();
        assert_eq!(ex.spot["USDT"].available, d("499.5"));
        assert_eq!(ex.spot["USDT"].holds, d("500.5"));
        let (v, _) = call(
            &mut ex,
            &specs,
            &mut books,
            "GET",
            "/api/v1/hf/orders/active",
            "symbol=BTC-USDT",
            "",
        );
        assert_eq!(v["data"].as_array().unwrap().len(), 1);
        // Duplicate clientOid.
        let (v, _) = call(
            &mut ex,
            &specs,
            &mut books,
            "POST",
            "/api/v1/hf/orders",
            "",
            body,
        );
        assert_eq!(v["code"], "400100");
        let path = format!("/api/v1/hf/orders/{id}");
        let (v, out) = call(
            &mut ex,
            &specs,
            &mut books,
            "DELETE",
            &path,
            "symbol=BTC-USDT",
            "",
        );
        assert_eq!(v["data"]["orderId"], id.as_str());
        assert_eq!(ex.spot["USDT"].available, d("1000"));
        assert_eq!(ex.spot["USDT"].holds, Decimal::ZERO);
        assert_eq!(out.pushes.len(), 2);
        // A second cancel: unknown.
        let (v, _) = call(
            &mut ex,
            &specs,
            &mut books,
            "DELETE",
            &path,
            "symbol=BTC-USDT",
            "",
        );
        assert_eq!(v["code"], "400100");
        let (v, _) = call(
            &mut ex,
            &specs,
            &mut books,
            "GET",
            &path,
            "symbol=BTC-USDT",
            "",
        );
        assert_eq!(v["data"]["active"], false);
        assert_eq!(v["data"]["cancelledSize"], "0.01");
    }

    #[test]
    fn refusals_change_nothing() {
        let (mut ex, specs, mut books) = spot();
        ex.fund(Market::Spot, "USDT", d("10"), CLOCK);
        let before = books["BTC-USDT"].asks.clone();
        let cases = [
            (
                r#"{"symbol":"BTC-USDT","side":"buy","price":"67000","size":"0.5"}"#,
                "200004",
            ),
            (
                r#"{"symbol":"DOGE-USDT","side":"buy","price":"1","size":"1"}"#,
                "900001",
            ),
            (
                r#"{"symbol":"BTC-USDT","side":"buy","price":"67000.01","size":"0.5"}"#,
                "400100",
            ),
            (
                r#"{"symbol":"BTC-USDT","side":"up","price":"67000","size":"0.5"}"#,
                "400100",
            ),
            (
                r#"{"symbol":"BTC-USDT","side":"sell","price":"67000","size":"0.5"}"#,
                "200004",
            ),
            ("not json", "400100"),
            ("[1,2]", "400100"),
            (
                r#"{"symbol":"BTC-USDT","side":"buy","price":"1e300","size":"1"}"#,
                "400100",
            ),
            (
                r#"{"symbol":"BTC-USDT","side":"buy","price":"999999999999","size":"99999999999"}"#,
                "200004",
            ),
            (
                r#"{"symbol":"BTC-USDT","side":"buy","price":"79228162514264337593543950335","size":"1"}"#,
                "400100",
            ),
            (
                r#"{"symbol":"BTC-USDT","side":"buy","price":"-1","size":"1"}"#,
                "400100",
            ),
            (
                r#"{"symbol":"BTC-USDT","side":"buy","price":1,"size":{"a":1}}"#,
                "400100",
            ),
            (
                r#"{"symbol":"BTC-USDT","side":"buy","type":"stop","size":"1"}"#,
                "400100",
            ),
        ];
        for (body, code) in cases {
            let (v, out) = call(
                &mut ex,
                &specs,
                &mut books,
                "POST",
                "/api/v1/hf/orders",
                "",
                body,
            );
            assert_eq!(v["code"], code, "{body}");
            assert!(out.pushes.is_empty() && out.updates.is_empty());
        }
        assert_eq!(books["BTC-USDT"].asks, before);
        assert_eq!(ex.spot["USDT"].available, d("10"));
        assert!(ex.orders.is_empty());
    }

    /// Every push decodes with kucoin-proto's typed decoder of its channel.
    fn assert_pushes_decode(pushes: &[Push]) {
        use kucoin_proto::ws::channels::decode;
        for push in pushes {
            let frame: Value = serde_json::from_str(&push.frame).unwrap();
            assert_eq!(frame["topic"], push.topic.as_str());
            let subject = frame["subject"].as_str().unwrap();
            let data = frame["data"].to_string();
            let decoded = decode(&push.topic, subject, &data);
            assert!(decoded.is_ok(), "{}: {decoded:?}", push.frame);
            assert!(decoded.unwrap().kind.is_private(), "{}", push.topic);
        }
    }

    fn futures() -> (Exchange, Vec<SymbolSpec>, BTreeMap<String, Book>) {
        let spec = SymbolSpec::futures("XBTUSDTM");
        let mut book = Book::new(spec.clone(), 1);
        book.asks.clear();
        book.bids.clear();
        // Asks 90000.0 × 3, 90001.0 × 10; bids 89999.0 × 5.
        book.asks.insert(900_000, 3);
        book.asks.insert(900_010, 10);
        book.bids.insert(899_990, 5);
        let mut books = BTreeMap::new();
        books.insert("XBTUSDTM".to_owned(), book);
        (Exchange::new(1), vec![spec], books)
    }

    fn fcall(
        ex: &mut Exchange,
        specs: &[SymbolSpec],
        books: &mut BTreeMap<String, Book>,
        request: (&str, &str, &str, &str),
    ) -> (Value, Outcome) {
        let out = ex
            .route(Market::Futures, specs, books, request, CLOCK)
            .expect("an exchange route");
        (serde_json::from_str(&out.reply.body).unwrap(), out)
    }

    #[test]
    fn every_spot_push_decodes_with_the_typed_channel_decoders() {
        let (mut ex, specs, mut books) = spot();
        let mut pushes = ex.fund(Market::Spot, "USDT", d("1000000"), CLOCK);
        pushes.extend(ex.fund(Market::Spot, "BTC", d("1"), CLOCK));
        let bodies = [
            r#"{"symbol":"BTC-USDT","side":"buy","price":"67000.5","size":"0.7"}"#,
            r#"{"symbol":"BTC-USDT","side":"buy","price":"60000","size":"0.1","clientOid":"x"}"#,
            r#"{"symbol":"BTC-USDT","side":"sell","type":"market","size":"0.2"}"#,
            r#"{"symbol":"BTC-USDT","side":"buy","price":"67001","size":"9","timeInForce":"IOC"}"#,
        ];
        for body in bodies {
            let (v, out) = call(
                &mut ex,
                &specs,
                &mut books,
                "POST",
                "/api/v1/hf/orders",
                "",
                body,
            );
            assert_eq!(v["code"], "200000", "{body}: {v}");
            pushes.extend(out.pushes);
        }
        let (_, out) = call(
            &mut ex,
            &specs,
            &mut books,
            "DELETE",
            "/api/v1/hf/orders",
            "symbol=BTC-USDT",
            "",
        );
        pushes.extend(out.pushes);
        let kinds: Vec<String> = pushes
            .iter()
            .filter(|p| p.topic == "/spotMarket/tradeOrdersV2")
            .map(|p| serde_json::from_str::<Value>(&p.frame).unwrap()["data"]["type"].to_string())
            .collect();
        // IOC past the book: its rest is cancelled; the resting order is cancelled by cancel-all.
        assert!(kinds.contains(&"\"canceled\"".to_owned()), "{kinds:?}");
        assert!(pushes.len() > 15, "{}", pushes.len());
        assert_pushes_decode(&pushes);
    }

    #[test]
    fn futures_fills_open_add_reduce_and_close_a_position_with_exact_pnl() {
        let (mut ex, specs, mut books) = futures();
        let mut pushes = ex.fund(Market::Futures, "USDT", d("1000"), CLOCK);
        // Buy 2 at 90000 (leverage 10): value 180, margin 18, fee 0.18.
        let buy = r#"{"clientOid":"f1","symbol":"XBTUSDTM","side":"buy","type":"limit","price":"90000","size":2,"leverage":10}"#;
        let (v, out) = fcall(
            &mut ex,
            &specs,
            &mut books,
            ("POST", "/api/v1/orders", "", buy),
        );
        assert_eq!(v["code"], "200000", "{v}");
        pushes.extend(out.pushes);
        assert_eq!(ex.wallet, d("1000") - d("18") - d("0.18"));
        assert_eq!(ex.positions["XBTUSDTM"].qty, d("2"));
        assert_eq!(books["XBTUSDTM"].asks.get(&900_000), Some(&1));
        // Sell 2 at 89999: closes; PnL (89999 - 90000) × 2 × 0.001 = -0.002; fee 0.179998.
        let sell = r#"{"clientOid":"f2","symbol":"XBTUSDTM","side":"sell","type":"market","size":2,"leverage":10}"#;
        let (v, out) = fcall(
            &mut ex,
            &specs,
            &mut books,
            ("POST", "/api/v1/orders", "", sell),
        );
        assert_eq!(v["code"], "200000", "{v}");
        pushes.extend(out.pushes);
        let position = &ex.positions["XBTUSDTM"];
        assert!(position.qty.is_zero() && position.margin.is_zero());
        assert_eq!(
            position.realised_pnl,
            d("-0.002") - d("0.18") - d("0.179998")
        );
        assert_eq!(
            ex.wallet,
            d("1000") - d("0.18") - d("0.002") - d("0.179998")
        );
        // A resting order holds margin; its cancel gives it back.
        let rest = r#"{"clientOid":"f3","symbol":"XBTUSDTM","side":"buy","price":"80000","size":5,"leverage":4}"#;
        let (v, out) = fcall(
            &mut ex,
            &specs,
            &mut books,
            ("POST", "/api/v1/orders", "", rest),
        );
        pushes.extend(out.pushes);
        let id = v["data"]["orderId"].as_str().unwrap().to_owned();
        assert_eq!(ex.order_margin, d("100"));
        let (v, _) = fcall(
            &mut ex,
            &specs,
            &mut books,
            ("GET", "/api/v1/orders", "status=active", ""),
        );
        assert_eq!(v["data"]["totalNum"], 1);
        assert_eq!(v["data"]["items"][0]["id"], id.as_str());
        let (v, _) = fcall(
            &mut ex,
            &specs,
            &mut books,
            ("GET", "/api/v1/orders", "status=done", ""),
        );
        assert_eq!(v["data"]["totalNum"], 2);
        let (v, out) = fcall(
            &mut ex,
            &specs,
            &mut books,
            ("DELETE", &format!("/api/v1/orders/{id}"), "", ""),
        );
        pushes.extend(out.pushes);
        assert_eq!(v["data"]["cancelledOrderIds"][0], id.as_str());
        assert!(ex.order_margin.is_zero());
        let (v, _) = fcall(
            &mut ex,
            &specs,
            &mut books,
            ("GET", "/api/v1/account-overview", "currency=USDT", ""),
        );
        assert_eq!(v["data"]["availableBalance"].to_string(), text(ex.wallet));
        // Too much: margin 90000 × 100 × 0.001 / 1 = 9000 > wallet.
        let big =
            r#"{"clientOid":"f4","symbol":"XBTUSDTM","side":"buy","price":"90000","size":100}"#;
        let (v, _) = fcall(
            &mut ex,
            &specs,
            &mut books,
            ("POST", "/api/v1/orders", "", big),
        );
        assert_eq!(v["code"], "200004");
        let (v, _) = fcall(
            &mut ex,
            &specs,
            &mut books,
            ("DELETE", "/api/v1/orders/123", "", ""),
        );
        assert_eq!(v["code"], "100004");
        // Cancel-all (v3) of a symbol.
        let rest = r#"{"clientOid":"f5","symbol":"XBTUSDTM","side":"sell","price":"95000","size":1,"leverage":2}"#;
        let (v, out) = fcall(
            &mut ex,
            &specs,
            &mut books,
            ("POST", "/api/v1/orders", "", rest),
        );
        pushes.extend(out.pushes);
        let id = v["data"]["orderId"].as_str().unwrap().to_owned();
        let (v, out) = fcall(
            &mut ex,
            &specs,
            &mut books,
            ("DELETE", "/api/v3/orders", "symbol=XBTUSDTM", ""),
        );
        pushes.extend(out.pushes);
        assert_eq!(v["data"]["cancelledOrderIds"], json!([id]));
        assert!(ex.order_margin.is_zero());
        assert_pushes_decode(&pushes);
    }

    #[test]
    fn a_resting_buy_trades_as_maker_when_the_market_crosses_it() {
        let (mut ex, specs, mut books) = spot();
        ex.fund(Market::Spot, "USDT", d("100000"), CLOCK);
        // Rests between the bid (66999) and the ask (67000).
        let body = r#"{"symbol":"BTC-USDT","side":"buy","price":"66999.5","size":"0.8"}"#;
        let (v, _) = call(
            &mut ex,
            &specs,
            &mut books,
            "POST",
            "/api/v1/hf/orders",
            "",
            body,
        );
        let id = v["data"]["orderId"].as_str().unwrap().to_owned();
        let hold = d("66999.5") * d("0.8") * d("1.001");
        assert_eq!(ex.spot["USDT"].holds, hold);
        // Nothing crosses yet.
        let out = ex.cross(Market::Spot, &specs, &mut books, "BTC-USDT", CLOCK);
        assert!(out.updates.is_empty() && out.pushes.is_empty());
        // The market brings asks at 66999.2 × 0.5 and 66999.4 × 1.
        let book = books.get_mut("BTC-USDT").unwrap();
        book.set_level(BookSide::Ask, 669_992, 50_000_000);
        book.set_level(BookSide::Ask, 669_994, 100_000_000);
        let out = ex.cross(Market::Spot, &specs, &mut books, "BTC-USDT", CLOCK);
        assert_eq!(out.updates.len(), 1);
        assert_eq!(out.updates[0].1.changes.len(), 2);
        let book = &books["BTC-USDT"];
        assert_eq!(book.asks.get(&669_992), None);
        assert_eq!(book.asks.get(&669_994), Some(&70_000_000));
        // Maker at its own price: 0.8 × 66999.5 = 53599.6, fee 53.5996, all from the hold.
        assert_eq!(ex.spot["USDT"].holds, Decimal::ZERO);
        assert_eq!(ex.spot["USDT"].available, d("100000") - hold);
        assert_eq!(hold, d("53599.6") + d("53.5996"));
        assert_eq!(ex.spot["BTC"].available, d("0.8"));
        let kinds: Vec<String> = out
            .pushes
            .iter()
            .filter(|p| p.topic == "/spotMarket/tradeOrdersV2")
            .map(|p| {
                serde_json::from_str::<Value>(&p.frame).unwrap()["data"]["liquidity"].to_string()
            })
            .collect();
        assert_eq!(kinds, ["\"maker\"", "\"maker\"", "null"]);
        assert_pushes_decode(&out.pushes);
        let order = &ex.orders[&id];
        assert!(!order.active && !order.in_book);
        assert!(!ex.has_resting("BTC-USDT"));
        let (v, _) = call(
            &mut ex,
            &specs,
            &mut books,
            "GET",
            "/api/v1/hf/fills",
            "symbol=BTC-USDT",
            "",
        );
        assert_eq!(v["data"]["items"][0]["liquidity"], "maker");
        assert_eq!(v["data"]["items"][0]["feeRate"], MAKER_FEE_RATE);
    }

    #[test]
    fn a_marketable_sell_receives_price_size_minus_fee() {
        let (mut ex, specs, mut books) = spot();
        ex.fund(Market::Spot, "BTC", d("0.3"), CLOCK);
        let body = r#"{"symbol":"BTC-USDT","side":"sell","type":"market","size":"0.3"}"#;
        let (v, _) = call(
            &mut ex,
            &specs,
            &mut books,
            "POST",
            "/api/v1/hf/orders/sync",
            "",
            body,
        );
        assert_eq!(v["data"]["status"], "done", "{v}");
        assert_eq!(v["data"]["dealSize"], "0.3");
        // 0.3 × 66999 = 20099.7; fee 20.0997.
        assert_eq!(ex.spot["USDT"].available, d("20079.6003"));
        assert_eq!(ex.spot["BTC"].available, Decimal::ZERO);
        assert_eq!(books["BTC-USDT"].bids.get(&669_990), Some(&70_000_000));
        let (v, _) = call(
            &mut ex,
            &specs,
            &mut books,
            "GET",
            "/api/v1/hf/fills",
            "symbol=BTC-USDT",
            "",
        );
        assert_eq!(v["data"]["items"][0]["fee"], "20.0997");
    }
}
