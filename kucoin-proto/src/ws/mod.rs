//! WebSocket session: bullet tokens, connect, welcome, ping/pong, subscriptions, reconnects.
