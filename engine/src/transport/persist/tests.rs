use std::process::Command;

use super::*;

/// A master folder as openssh leaves it once its master idled out: no
/// socket, last changed `age` ago.
fn gone_master(dir: &Path, age: Duration) -> PathBuf {
    let conn = dir.join(format!("{CONNECTION_PREFIX}Ab12Cd"));
    std::fs::create_dir(&conn).unwrap();
    let folder = std::fs::File::open(&conn).unwrap();
    folder.set_modified(SystemTime::now() - age).unwrap();
    conn
}

#[tokio::test]
async fn a_folder_whose_master_is_gone_is_removed_without_a_process_search() {
    let dir = tempfile::tempdir().unwrap();
    let conn = gone_master(dir.path(), Duration::from_secs(600));
    // A process naming the folder, as a master's command line does: a
    // search for the master (every process's command line) would end it.
    let mut named = Command::new("sh")
        .arg("-c")
        .arg("sleep 30")
        .arg(&conn)
        .spawn()
        .unwrap();
    let found = live_master(dir.path(), "", Duration::from_secs(5)).await;
    assert!(found.is_none());
    assert!(!conn.exists(), "the dead master's folder stayed");
    std::thread::sleep(Duration::from_millis(200));
    let ended = named.try_wait().unwrap();
    let _ = named.kill();
    let _ = named.wait();
    assert!(ended.is_none(), "a process naming the folder was ended");
}

#[tokio::test]
async fn a_folder_still_without_a_socket_within_patience_is_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let conn = gone_master(dir.path(), Duration::from_secs(1));
    let found = live_master(dir.path(), "", Duration::from_secs(60)).await;
    assert!(found.is_none());
    assert!(
        conn.exists(),
        "another run's master, still connecting, lost its folder"
    );
}

#[test]
fn the_host_file_is_not_rewritten_while_it_holds() {
    let base = tempfile::tempdir().unwrap();
    let opts = ConnectOptions::new("h1", "10.0.0.1", base.path().to_path_buf());
    let resolved = "user root\nhostname 10.0.0.1\nport 22\n";
    let b = SessionBuilder::default();
    let dir = master_dir(&opts, &b, "10.0.0.1", resolved, "Add").unwrap();
    let file = std::fs::File::options()
        .append(true)
        .open(dir.join(HOST_FILE))
        .unwrap();
    let then = SystemTime::now() - Duration::from_secs(600);
    file.set_modified(then).unwrap();
    let again = master_dir(&opts, &b, "10.0.0.1", resolved, "Add").unwrap();
    assert_eq!(again, dir);
    let modified = std::fs::metadata(dir.join(HOST_FILE)).unwrap().modified();
    assert_eq!(modified.unwrap(), then, "rewritten");
    let text = std::fs::read_to_string(dir.join(HOST_FILE)).unwrap();
    assert_eq!(text, "h1\nroot@10.0.0.1:22\n");
}
