//! `swap_off`: no swap now, none after a reboot (Kubernetes, Patroni and
//! RabbitMQ hosts need it off): `swapoff -a`, and every swap entry of
//! `/etc/fstab` commented out.

use kbz_engine::op::{Action, Change, OpArgs, OpError, Operation, Param, Plan, Symbol};
use kbz_engine::probe::{Observation, Observed, Probe};
use serde::Deserialize;

use super::query::{self, Sections};
use super::{fstab, Build, Env, Failure, Form};

/// `swap_off()` takes no parameters; the struct exists for the doc table
/// and so that a map with a typo is refused.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Args {}

impl OpArgs for Args {
    const OP: &'static str = "swap_off";
    const SUMMARY: &'static str = "Turn swap off now (swapoff -a) and for good (swap entries in /etc/fstab commented out with \"# \").";
    const EXAMPLE: &'static str = r#"swap_off();
swap_off(#{ tags: ["base"] });"#;
    const PARAMS: &'static [Param] = &[];
}

impl Build for Args {
    const ENSURES: &'static str = "swap off now and commented out in `/etc/fstab`";
    const FORMS: &'static [Form] = &[Form::Bare];

    fn build(self, _env: &dyn Env) -> Result<Box<dyn Operation>, Failure> {
        Ok(Box::new(SwapOffOp))
    }
}

/// Active swap areas, one `NAME TYPE` line each, sorted: `--show` with
/// explicit columns leaves out the usage, which changes all the time.
const ACTIVE: &str = "o=$(swapon --show=NAME,TYPE --noheadings --raw) || exit; \
                      [ -z \"$o\" ] || printf '%s\\n' \"$o\" | sort";

/// What a fresh host answers (for the offline render): no swap.
const FRESH: &str = "@@ active 0";

/// The query: [`ACTIVE`] as a section.
fn active_query() -> String {
    query::script(&[("active", ACTIVE.to_string())])
}

/// Turns swap off.
#[derive(Debug)]
pub(crate) struct SwapOffOp;

impl Operation for SwapOffOp {
    fn kind(&self) -> &'static str {
        Args::OP
    }

    fn target(&self) -> String {
        "swap".to_string()
    }

    fn probes(&self) -> Vec<Probe> {
        vec![
            query::probe(&active_query()),
            Probe::path_with_content(fstab::PATH),
        ]
    }

    fn plan(&self, observed: &Observed) -> Result<Plan, OpError> {
        let answer = &observed.query(&active_query())?.stdout;
        let active = Sections::parse_or(answer, FRESH).get("active");
        if active.rc != 0 {
            return Err(OpError::Conflict(format!(
                "cannot list the active swap areas (swapon --show exited with {})",
                active.rc
            )));
        }
        let names: Vec<&str> = active
            .lines
            .iter()
            .filter_map(|l| l.split_whitespace().next())
            .collect();
        let probe = Probe::path_with_content(fstab::PATH);
        let Observation::Path(table) = observed.get(&probe)? else {
            return Err(kbz_engine::probe::NotProbed(probe).into());
        };
        let before = fstab::text(table)?;
        let mut changes = Vec::new();
        if !names.is_empty() {
            changes.push(Change::new(
                Symbol::Delete,
                format!("active swap {}", names.join(", ")),
                vec![Action::exec("swapoff -a")],
            ));
        }
        let (after, commented) = fstab::comment_swap(&before);
        if commented > 0 {
            let lines = if commented == 1 { "line" } else { "lines" };
            changes.push(fstab::rewrite(
                table,
                &before,
                after,
                Symbol::Update,
                format!("{}: {commented} swap {lines} commented out", fstab::PATH),
            ));
        }
        Ok(if changes.is_empty() {
            Plan::noop(format!("no active swap, no swap entry in {}", fstab::PATH))
        } else {
            Plan::of(changes)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_query_is_stable_and_sorted() {
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!(
                "swapon() {{ printf '/swap.img file\\n/dev/sda2 partition\\n'; }}\n{ACTIVE}"
            ))
            .output()
            .unwrap();
        assert_eq!(
            String::from_utf8(out.stdout).unwrap(),
            "/dev/sda2 partition\n/swap.img file\n"
        );
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!("swapon() {{ :; }}\n{ACTIVE}"))
            .output()
            .unwrap();
        assert_eq!((out.status.code(), out.stdout.len()), (Some(0), 0));
    }
}
