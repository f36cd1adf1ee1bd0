//! Galera (module 7) in the review: what a rerun asks each node.

use super::*;

#[test]
fn the_wait_for_synced_runs_the_probe_s_own_script() {
    // probe() and wait_synced() run one script, so a rerun's opening asks
    // it once for both: one `docker exec` of the node per rerun, not two.
    for h in hosts_in("mariadb") {
        let cmds = read(&h, "commands.sh");
        let probe = cmds
            .lines()
            .find(|l| l.starts_with("if [ -f /opt/keybuzz/mariadb/data/grastate.dat ]"))
            .unwrap_or_else(|| panic!("{h}: no probe in\n{cmds}"));
        assert_eq!(probe.matches("docker exec").count(), 1, "{h}: {probe}");
        assert!(
            probe.contains("wsrep_cluster_status") && probe.contains("wsrep_local_state_comment"),
            "{h}: {probe}"
        );
        let wait = format!(
            "if kbz_out=$(sh -c {} 2>&1)",
            kbz_engine::shell::quote(probe)
        );
        assert!(
            cmds.contains(&wait),
            "{h}: the wait checks {probe:?}:\n{cmds}"
        );
    }
}
