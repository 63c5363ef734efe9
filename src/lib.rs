//! levity: a local AI gateway.
//!
//! Code map (see ARCHITECTURE.md for the invariants):
//! - `canonical`: the protocol-neutral request, response and stream events.
//! - `protocol`: one module per wire format, decode/encode to canonical. Pure.
//! - `provider`: one module per upstream kind; the shared HTTP client.
//! - `scheduler`: which account serves a request, from an immutable snapshot.
//! - `store`: the only module that touches redb; secrets sealed at rest.
//! - `server`: the only module that touches poem: proxy, admin API, dashboard.
//! - `cluster`: instances sharing one pool through Redis (off without an address).
//! - `connect`: the tools' own config files pointed at levity (`levity connect`).
//! - `config`: typed runtime settings. `cli` / `commands`: the command line.

pub mod canonical;
pub mod catalogue;
pub mod cli;
pub mod cluster;
pub mod commands;
pub mod config;
pub mod connect;
pub mod error;
pub mod protocol;
pub mod provider;
pub mod runtime;
pub mod scheduler;
pub mod server;
pub mod store;
pub mod util;
