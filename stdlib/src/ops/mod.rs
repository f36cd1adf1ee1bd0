//! The built-in operations, one module each, and what they share.
//!
//! Each module holds an argument struct (serde + [`OpArgs`](kbz_engine::op::OpArgs) table, and
//! [`Build`]: what the op ensures, its call forms, how it is built) and an
//! [`Operation`](kbz_engine::op::Operation) (probes and a pure plan). [`ALL`] lists them once; the
//! Rhai functions, `kbz-play doc`, the offline test builder and the README
//! table all come from that list. Building an operation from its arguments
//! goes through [`Build`], the same path for Rhai calls and for the offline
//! tests.

pub(crate) use crate::build::{Build, Env, Failure, Form};
use crate::registry::Entry;

pub(crate) mod attrs;
pub(crate) mod command;
pub(crate) mod content;
pub(crate) mod copy;
pub(crate) mod docker;
pub(crate) mod docker_container;
pub(crate) mod docker_image;
pub(crate) mod edit;
pub(crate) mod file;
pub(crate) mod fstab;
pub(crate) mod group;
pub(crate) mod line;
pub(crate) mod package;
pub(crate) mod query;
pub(crate) mod service;
pub(crate) mod shared_regex;
pub(crate) mod swap;
pub(crate) mod sysctl;
pub(crate) mod template;
pub(crate) mod ufw;
pub(crate) mod user;
pub(crate) mod values;
pub(crate) mod wait_for;
pub(crate) mod xfs_volume;

/// Every operation, in the order `kbz-play doc` and the README list them.
/// Adding an op is adding its module above and one line here.
pub(crate) const ALL: &[Entry] = &[
    Entry::of::<file::Args>(),
    Entry::of::<copy::Args>(),
    Entry::of::<template::Args>(),
    Entry::of::<line::Args>(),
    Entry::of::<command::Args<command::Argv>>(),
    Entry::of::<command::Args<command::Sh>>(),
    Entry::of::<package::Args>(),
    Entry::of::<service::Args>(),
    Entry::of::<sysctl::Args>(),
    Entry::of::<user::Args>(),
    Entry::of::<group::Args>(),
    Entry::of::<wait_for::Args>(),
    Entry::of::<ufw::Args>(),
    Entry::of::<swap::Args>(),
    Entry::of::<xfs_volume::Args>(),
    Entry::of::<docker_container::Args>(),
    Entry::of::<docker_image::Args>(),
];

/// Fails unless exactly one of the named parameters is given.
pub(crate) fn exactly_one(given: &[(&str, bool)]) -> Result<(), String> {
    let names: Vec<&str> = given.iter().map(|(n, _)| *n).collect();
    match given.iter().filter(|(_, g)| *g).count() {
        1 => Ok(()),
        0 => Err(format!("needs one of {}", names.join(", "))),
        _ => Err(format!("takes only one of {}", names.join(", "))),
    }
}
