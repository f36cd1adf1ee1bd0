use super::*;
use std::os::unix::fs::MetadataExt;

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().mode() & 0o7777
}

fn entry(digest: &str) -> HostCache {
    HostCache::new(
        vec![Probe::path("/etc/a"), Probe::Service { unit: "ssh".into() }],
        [("/etc/a".to_string(), digest.to_string())].into(),
    )
}

#[test]
fn round_trip_and_corruption() {
    let base = tempfile::tempdir().unwrap();
    let cache = Cache::open(base.path(), Path::new("/x/inventory.tsv")).unwrap();
    assert_eq!(cache.load("h1").probes, vec![]);
    let (old, new) = ("ab".repeat(32), "cd".repeat(32));
    cache.store("h1", &entry(&old), Coverage::Whole).unwrap();
    let back = cache.load("h1");
    assert_eq!(back.probes, entry(&old).probes);
    let now = |d: &str| entry(d).digests;
    assert_eq!(back.drifted(&now(&old)), Vec::<String>::new());
    assert_eq!(back.drifted(&now(&new)), vec!["/etc/a".to_string()]);
    std::fs::write(cache.file("h1").unwrap(), b"{not json").unwrap();
    assert_eq!(cache.load("h1").probes, vec![]);
    let other = Cache::open(base.path(), Path::new("/y/inventory.tsv")).unwrap();
    assert_eq!(other.load("h1").probes, vec![]);
    assert_eq!(Cache::disabled().load("h1"), HostCache::default());
}

#[test]
fn the_facts_come_back_as_the_next_runs_guess() {
    let base = tempfile::tempdir().unwrap();
    let cache = Cache::open(base.path(), Path::new("/x/inventory.tsv")).unwrap();
    let facts = Facts {
        hostname: "h1".into(),
        memory_mb: 2048,
        ..Facts::default()
    };
    cache
        .store(
            "h1",
            &entry("ab").with_facts(facts.clone()),
            Coverage::Whole,
        )
        .unwrap();
    assert_eq!(cache.load("h1").facts, Some(facts));
    cache.store("h2", &entry("ab"), Coverage::Whole).unwrap();
    assert_eq!(cache.load("h2").facts, None);
}

#[test]
fn folders_and_files_are_private_and_digests_keyed() {
    let base = tempfile::tempdir().unwrap();
    let root = base.path().join("kbz-play");
    let cache = Cache::open(&root, Path::new("/x/inventory.tsv")).unwrap();
    let digest = crate::digest::sha256_hex(b"password\n");
    cache.store("h1", &entry(&digest), Coverage::Whole).unwrap();
    let file = cache.file("h1").unwrap();
    assert_eq!(mode(&root), 0o700);
    assert_eq!(mode(file.parent().unwrap()), 0o700);
    assert_eq!(mode(&file), 0o600);
    assert_eq!(mode(&root.join(KEY_FILE)), 0o600);
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(!text.contains(&digest), "a plain digest was stored: {text}");
    // The same key serves the next run.
    let again = Cache::open(&root, Path::new("/x/inventory.tsv")).unwrap();
    assert_eq!(
        again.load("h1").drifted(&entry(&digest).digests),
        Vec::<String>::new()
    );
}

#[test]
fn storing_the_same_entry_again_leaves_the_file_alone() {
    let base = tempfile::tempdir().unwrap();
    let cache = Cache::open(base.path(), Path::new("/x/inventory.tsv")).unwrap();
    let digest = crate::digest::sha256_hex(b"x\n");
    cache.store("h1", &entry(&digest), Coverage::Whole).unwrap();
    let file = cache.file("h1").unwrap();
    let inode = std::fs::metadata(&file).unwrap().ino();
    cache.store("h1", &entry(&digest), Coverage::Whole).unwrap();
    assert_eq!(std::fs::metadata(&file).unwrap().ino(), inode, "rewritten");
    cache
        .store(
            "h1",
            &entry(&crate::digest::sha256_hex(b"y\n")),
            Coverage::Whole,
        )
        .unwrap();
    assert_ne!(
        std::fs::metadata(&file).unwrap().ino(),
        inode,
        "not replaced"
    );
}

#[test]
fn an_older_open_cache_folder_is_tightened() {
    use std::os::unix::fs::PermissionsExt;
    let base = tempfile::tempdir().unwrap();
    std::fs::set_permissions(base.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    Cache::open(base.path(), Path::new("/x/inventory.tsv")).unwrap();
    assert_eq!(mode(base.path()), 0o700);
}

#[test]
fn queries_come_back_only_under_their_seal() {
    let base = tempfile::tempdir().unwrap();
    let cache = Cache::open(base.path(), Path::new("/x/inventory.tsv")).unwrap();
    let query = Probe::Query {
        script: "ufw status".into(),
    };
    let mut with_query = entry("ab");
    with_query.probes.push(query.clone());
    cache.store("h1", &with_query, Coverage::Whole).unwrap();
    let stored = std::fs::read_to_string(cache.file("h1").unwrap()).unwrap();
    assert!(cache.load("h1").probes.contains(&query), "{stored}");

    // A query planted as plain data, or sealed with another key, or
    // whose script was edited under its seal, is dropped.
    let mut planted: serde_json::Value = serde_json::from_str(&stored).unwrap();
    let plain = serde_json::json!({ "probe": "query", "script": "touch /tmp/planted" });
    planted["probes"].as_array_mut().unwrap().push(plain);
    planted["runs"][0]["queries"][0]["probe"]["script"] = "touch /tmp/planted".into();
    planted["runs"][0]["queries"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!({ "probe": { "probe": "query", "script": "id" }, "mac": "00".repeat(32) }));
    std::fs::write(cache.file("h1").unwrap(), planted.to_string()).unwrap();
    let loaded = cache.load("h1").probes;
    assert!(
        !loaded.iter().any(|p| matches!(p, Probe::Query { .. })),
        "{loaded:?}"
    );
    assert!(loaded.contains(&Probe::path("/etc/a")));
}

/// A playbook file the runs' scripts read, and the cache of a run with
/// the parameters `params` (in canonical form) that read it.
struct Runs {
    base: tempfile::TempDir,
    playbook: PathBuf,
    inputs: crate::definition::Inputs,
}

impl Runs {
    fn new() -> Runs {
        let base = tempfile::tempdir().unwrap();
        let playbook = base.path().join("site.rhai");
        std::fs::write(&playbook, "v1").unwrap();
        let inputs = crate::definition::Inputs::default();
        inputs.record_file(&playbook);
        Runs {
            base,
            playbook,
            inputs,
        }
    }

    fn under(&self, params: &[u8]) -> Cache {
        Cache::open(self.base.path(), Path::new("/x/inventory.tsv"))
            .unwrap()
            .bind(Definition::from_params(params, vec![self.inputs.clone()]))
    }

    fn store(&self, params: &[u8], probes: &[Probe], coverage: Coverage) {
        let entry = HostCache::new(probes.to_vec(), BTreeMap::new());
        self.under(params).store("h1", &entry, coverage).unwrap();
    }

    fn loaded(&self, params: &[u8]) -> Vec<Probe> {
        self.under(params).load("h1").probes
    }
}

fn query(script: &str) -> Probe {
    Probe::Query {
        script: script.into(),
    }
}

#[test]
fn a_query_runs_again_only_for_the_same_definition() {
    let runs = Runs::new();
    let query = query("touch /tmp/asked-by-v1");
    let with_query = [Probe::path("/etc/a"), query.clone()];
    runs.store(b"A", &with_query, Coverage::Whole);
    let kept = |params: &[u8]| runs.loaded(params).contains(&query);

    assert!(kept(b"A"), "the same definition drops its own query");
    assert!(!kept(b"B"), "a query of other parameters was kept");
    std::fs::write(&runs.playbook, "v2").unwrap();
    assert!(!kept(b"A"), "a query of an earlier playbook was kept");
    std::fs::remove_file(&runs.playbook).unwrap();
    assert!(!kept(b"A"), "a query of a playbook now gone was kept");
    assert!(runs.loaded(b"B").contains(&Probe::path("/etc/a")));
}

#[test]
fn a_run_through_part_of_the_plays_adds_to_the_entry() {
    let base = tempfile::tempdir().unwrap();
    let cache = Cache::open(base.path(), Path::new("/x/inventory.tsv")).unwrap();
    let (d1, d2, d3) = ("11".repeat(32), "22".repeat(32), "33".repeat(32));
    let whole = HostCache::new(
        vec![Probe::path("/etc/a"), Probe::path("/etc/b")],
        [("/etc/a".into(), d1.clone()), ("/etc/b".into(), d2)].into(),
    );
    cache.store("h1", &whole, Coverage::Whole).unwrap();
    let tagged = HostCache::new(
        vec![Probe::path("/etc/b")],
        [("/etc/b".into(), d3.clone())].into(),
    );
    cache.store("h1", &tagged, Coverage::Part).unwrap();

    let back = cache.load("h1");
    assert_eq!(
        back.probes,
        [Probe::path("/etc/b"), Probe::path("/etc/a")],
        "what the tags left out is kept"
    );
    let now = |a: &str, b: &str| {
        BTreeMap::from([
            ("/etc/a".to_string(), a.into()),
            ("/etc/b".into(), b.into()),
        ])
    };
    assert_eq!(back.drifted(&now(&d1, &d3)), Vec::<String>::new());
    assert_eq!(
        back.drifted(&now(&d3, &d3)),
        ["/etc/a"],
        "the first run's digest is gone"
    );

    let shrunk = HostCache::new(vec![Probe::path("/etc/c")], BTreeMap::new());
    cache.store("h1", &shrunk, Coverage::Whole).unwrap();
    let back = cache.load("h1");
    assert_eq!(
        back.probes, shrunk.probes,
        "a whole run forgets what it no longer asks"
    );
    assert_eq!(back.drifted(&now(&d3, &d1)), Vec::<String>::new());
}

#[test]
fn each_definition_keeps_its_own_queries() {
    let runs = Runs::new();
    let store = |params: &[u8], scripts: &[&str], coverage| {
        let probes: Vec<Probe> = scripts.iter().map(|s| query(s)).collect();
        runs.store(params, &probes, coverage);
    };
    let loaded = |params: &[u8]| -> Vec<String> {
        let probes = runs.loaded(params).into_iter();
        probes
            .filter_map(|p| match p {
                Probe::Query { script } => Some(script),
                _ => None,
            })
            .collect()
    };
    store(b"whole", &["ufw status"], Coverage::Whole);
    store(b"tags", &["swapon --show"], Coverage::Part);
    assert_eq!(loaded(b"whole"), ["ufw status"]);
    assert_eq!(loaded(b"tags"), ["swapon --show"]);
    store(b"whole", &["ufw status"], Coverage::Whole);
    assert_eq!(
        loaded(b"tags"),
        ["swapon --show"],
        "a whole run dropped them"
    );

    // A run of the same definition through part of the plays adds its
    // queries; a whole one replaces them.
    store(b"whole", &["getenforce"], Coverage::Part);
    assert_eq!(loaded(b"whole"), ["getenforce", "ufw status"]);
    store(b"whole", &["getenforce"], Coverage::Whole);
    assert_eq!(loaded(b"whole"), ["getenforce"]);

    // The newest few definitions are kept.
    for params in [&b"C"[..], b"D", b"E"] {
        store(params, &["true"], Coverage::Part);
    }
    assert_eq!(loaded(b"tags"), [""; 0], "more than {KEPT_RUNS} kept");
    assert_eq!(loaded(b"whole"), ["getenforce"]);

    // Those whose files are gone are dropped at the next store.
    std::fs::remove_file(&runs.playbook).unwrap();
    store(b"F", &[], Coverage::Part);
    let file = runs.under(b"F").file("h1").unwrap();
    let stored = std::fs::read_to_string(file).unwrap();
    assert!(!stored.contains("getenforce"), "{stored}");
}

#[test]
fn a_cache_folder_of_another_user_is_refused() {
    let base = tempfile::tempdir().unwrap();
    let theirs = base.path().join("kbz-play");
    private::ensure(&theirs).unwrap();
    std::os::unix::fs::chown(&theirs, Some(65534), Some(65534)).expect("needs root (chown)");
    let err = Cache::open(&theirs, Path::new("/x/inventory.tsv")).unwrap_err();
    assert!(
        matches!(
            err,
            CacheError::Folder(PrivateDirError::NotOwned { owner: 65534, .. })
        ),
        "{err}"
    );
    assert_eq!(std::fs::metadata(&theirs).unwrap().uid(), 65534);
    assert!(!theirs.join(KEY_FILE).exists());
}
