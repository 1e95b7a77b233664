//! Trailport's shared library: everything its Lambda functions have in common.
//!
//! Each function's `main` is one call to [`runtime::serve`] with its handler from [`api`].
//! Handlers parse and check input, call the rules in the other modules, and map the outcome to
//! a response; nothing in a handler talks to DynamoDB or STS directly.

pub mod account;
pub mod api;
pub mod app;
pub mod aws_access;
pub mod buckets;
pub mod clock;
pub mod config;
pub mod console;
pub mod credentials;
pub mod error;
pub mod http;
pub mod password;
pub mod rotation;
pub mod runtime;
pub mod session;
pub mod store;
pub mod trail_events;
pub mod trails;
pub mod vault;

pub use app::App;
pub use error::ApiError;
