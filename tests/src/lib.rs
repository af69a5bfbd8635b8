//! A fake KuCoin exchange (REST and WebSocket on 127.0.0.1) for end-to-end tests.
