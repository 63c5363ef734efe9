//! levity's integration tests, compiled into one binary: translation tables,
//! the proxy against fake upstreams, the command line, and real client SDKs.

mod accounting;
mod anthropic;
mod broken;
mod cli;
mod cluster;
mod common;
mod dashboard_api;
mod embeddings;
mod fake;
mod fake_responses;
mod faults;
mod golden;
mod hostile;
mod images;
mod keys;
mod matrix;
mod openapi;
mod pool;
mod proxy;
mod real_clients;
mod responses;
mod responses_upstream;
mod responses_ws;
mod resume;
mod search;
mod security;
mod translation;
