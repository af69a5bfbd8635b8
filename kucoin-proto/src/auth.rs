//! Credentials and request signing (`KC-API-*` headers).
