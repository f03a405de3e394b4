//! Plumbing every cloud provider shares.

pub mod folders;
