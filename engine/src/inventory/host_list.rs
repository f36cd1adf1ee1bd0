//! A comma-separated host list as `-i` (`-i web-01,10.0.0.5:2222,`; a single
//! host needs the trailing comma), read as ansible-core's `host_list` plugin
//! reads it: a source that is no existing path and holds a comma. Its hosts
//! are in no group but `all`; a `host:port` sets `ansible_port`; a host named
//! twice keeps its first entry. No ranges (Ansible's `advanced_host_list`
//! plugin, off by default, has them) and no `group_vars/`/`host_vars/`: as in
//! Ansible, a host list has no folder for them.

use super::host_range::split_port;
use super::{InventoryError, RawInventory};
use serde_json::Value;
use std::path::Path;

/// Whether the source `path` is a host list rather than a file or folder.
pub(crate) fn is_host_list(path: &Path) -> bool {
    !path.exists() && path.to_str().is_some_and(|s| s.contains(','))
}

/// The hosts of the list `source`.
pub(crate) fn parse(source: &Path) -> Result<RawInventory, InventoryError> {
    let text = source.to_string_lossy();
    let mut raw = RawInventory::new(source);
    for item in text.split(',').map(str::trim).filter(|i| !i.is_empty()) {
        let (name, port) = split_port(item);
        let (host, new) = raw.host(name);
        if let (true, Some(port)) = (new, port) {
            host.vars
                .insert("ansible_port".to_string(), Value::from(port));
        }
    }
    Ok(raw)
}
