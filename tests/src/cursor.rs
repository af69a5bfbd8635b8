//! Cursor (`lastId`) paging in the fake: `GET /api/v1/hf/fills` serves several pages.
//!
//! The fake holds [`FILLS`] fills with ids `FIRST_FILL_ID + FILLS - 1` down to `FIRST_FILL_ID`,
//! newest first, as KuCoin lists them: a request without `lastId` gets the newest `limit`
//! (default 20) fills, one with `lastId` the next `limit` fills older than it; every answer
//! carries the id of its last fill as `lastId`, and an empty page says there are no more.
//! Each fill is the specification's example fill with its own `id` and `tradeId`.

/// The number of fills the fake serves through `spot.order.getTradeHistory`.
pub const FILLS: i64 = 7;
/// The id of the oldest fill.
pub const FIRST_FILL_ID: i64 = 19_814_995_255_001;

/// The answer of the cursor-paged operation `id` to `query`, when the fake pages it.
pub(crate) fn answer(id: &str, query: &str) -> Option<String> {
    if id != "spot.order.getTradeHistory" {
        return None;
    }
    let param = |name: &str| {
        query
            .split('&')
            .filter_map(|kv| kv.split_once('='))
            .find(|(k, _)| *k == name)
            .and_then(|(_, v)| v.parse::<i64>().ok())
    };
    let limit = param("limit").unwrap_or(20).clamp(1, 100);
    let before = param("lastId").unwrap_or(i64::MAX);
    let example = crate::spec::example_answers()
        .get(id)
        .and_then(|a| a.pointer("/data/items/0"))
        .cloned()
        .unwrap_or_else(|| serde_json::json!({}));
    let items: Vec<serde_json::Value> = (FIRST_FILL_ID..FIRST_FILL_ID + FILLS)
        .rev()
        .filter(|fill| *fill < before)
        .take(usize::try_from(limit).unwrap_or(20))
        .map(|fill| {
            let mut item = example.clone();
            if let Some(o) = item.as_object_mut() {
                o.insert("id".into(), fill.into());
                o.insert("tradeId".into(), (fill * 10).into());
            }
            item
        })
        .collect();
    let last = items
        .last()
        .and_then(|i| i.get("id"))
        .cloned()
        .unwrap_or(serde_json::Value::Null);
    Some(
        serde_json::json!({ "code": "200000", "data": { "items": items, "lastId": last } })
            .to_string(),
    )
}
