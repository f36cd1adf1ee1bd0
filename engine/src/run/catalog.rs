//! What `--list-tags` and `--list-tasks` show of a play's body: the op calls
//! an offline run of it goes ahead with (after `--tags`/`--skip-tags`), and
//! their tags. A Rhai play body declares no tasks up front, so running it
//! offline, as `kbz-play render` does, is the only way to know them; what
//! depends on facts the offline host does not have (see `render.rs`) is
//! listed as that offline run takes it.

use std::collections::BTreeSet;
use std::sync::Mutex;

/// One op call, as ansible-playbook lists a task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Task {
    /// The op and what it manages (`file /etc/app.conf`), after `ROLE : `
    /// when a role wrote it, as ansible-playbook names a role's tasks.
    pub name: String,
    /// Its tags (the play's, its own, its role's), sorted, each once.
    pub tags: Vec<String>,
}

impl Task {
    /// The op call `kind target`, written in `role` (if any), with `tags`.
    pub fn new(role: Option<&str>, kind: &str, target: &str, tags: &[String]) -> Task {
        let op = format!("{kind} {target}").trim_end().to_string();
        let name = match role {
            Some(role) => format!("{role} : {op}"),
            None => op,
        };
        let tags: BTreeSet<&String> = tags.iter().collect();
        Task {
            name,
            tags: tags.into_iter().cloned().collect(),
        }
    }
}

/// The op calls of an offline run, per play and host, in call order.
#[derive(Debug, Default)]
pub struct Catalog {
    calls: Mutex<Vec<(usize, String, Task)>>,
}

impl Catalog {
    /// Notes that `host` called `task` in play number `play` (from 0).
    pub fn record(&self, play: usize, host: &str, task: Task) {
        self.lock().push((play, host.to_string(), task));
    }

    /// The play's tasks, each once: the first of `hosts`' in its call
    /// order, then what each next host called that the others did not.
    /// Hosts run at once, so `hosts` fixes the order, not their timing.
    pub fn tasks(&self, play: usize, hosts: &[String]) -> Vec<Task> {
        let calls = self.lock();
        let mut tasks: Vec<Task> = Vec::new();
        for host in hosts {
            let called = calls.iter().filter(|(p, h, _)| *p == play && h == host);
            for (_, _, task) in called {
                if !tasks.contains(task) {
                    tasks.push(task.clone());
                }
            }
        }
        tasks
    }

    /// Every tag of the play's op calls, on any host, sorted.
    pub fn tags(&self, play: usize) -> Vec<String> {
        let calls = self.lock();
        let tags: BTreeSet<&String> = calls
            .iter()
            .filter(|(p, _, _)| *p == play)
            .flat_map(|(_, _, task)| &task.tags)
            .collect();
        tags.into_iter().cloned().collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<(usize, String, Task)>> {
        // A host thread that panicked holding it left whole entries only.
        self.calls.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn tasks_are_listed_once_in_the_first_hosts_order_then_the_others() {
        let catalog = Catalog::default();
        let a = Task::new(None, "command", "true", &tags(&["web"]));
        let b = Task::new(Some("redis"), "file", "/etc/b", &tags(&["redis", "web"]));
        let c = Task::new(None, "file", "/etc/only-on-02", &tags(&["x"]));
        catalog.record(0, "web-02", a.clone());
        catalog.record(0, "web-02", c.clone());
        catalog.record(0, "web-01", a.clone());
        catalog.record(0, "web-01", b.clone());
        catalog.record(
            1,
            "web-01",
            Task::new(None, "command", "", &tags(&["other"])),
        );
        let hosts = tags(&["web-01", "web-02"]);
        assert_eq!(catalog.tasks(0, &hosts), vec![a, b.clone(), c]);
        assert_eq!(b.name, "redis : file /etc/b");
        assert_eq!(catalog.tags(0), tags(&["redis", "web", "x"]));
        assert_eq!(catalog.tags(1), tags(&["other"]));
        assert_eq!(catalog.tasks(1, &hosts)[0].name, "command");
    }

    #[test]
    fn a_tasks_tags_are_sorted_once_each() {
        let task = Task::new(None, "file", "/x", &tags(&["web", "app", "web"]));
        assert_eq!(task.tags, tags(&["app", "web"]));
    }
}
