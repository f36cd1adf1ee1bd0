//! Files over a real sshd: atomic writes, modes and owners, reads; the same under `--become`.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::time::Instant;

use kbz_engine::op::WriteFile;
use kbz_engine::transport::{Become, Transport, TransportError};

use super::sshd::*;

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs sshd and the OpenSSH client (openssh-server, openssh-client): bash tests/run.sh installs them"]
async fn files_over_a_real_sshd() {
    let sshd = sshd();
    let t = Transport::connect(&sshd.opts()).await.unwrap();
    let dir = sshd.dir.path().join("files");
    std::fs::create_dir(&dir).unwrap();
    let target = format!("{}/app's.conf", dir.display());

    assert_eq!(t.read_file(&target).await.unwrap(), None);
    let e = t.read_file(dir.to_str().unwrap()).await.unwrap_err();
    assert!(matches!(e, TransportError::ReadFile { .. }), "{e}");

    // New file: content (binary), default mode 0644, nothing left behind.
    let content: Vec<u8> = (0..=255u8).cycle().take(100_000).collect();
    let started = Instant::now();
    t.write_file(&file(&target, &content)).await.unwrap();
    eprintln!("write_file 100 kB (new file): {}", ms(started.elapsed()));
    assert_eq!(std::fs::read(&target).unwrap(), content);
    assert_eq!(mode_of(&target), 0o644);
    assert_eq!(
        t.read_file(&target).await.unwrap().as_deref(),
        Some(&content[..])
    );

    // Replacing: a new inode is renamed over the target; the mode is kept when not given.
    std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o640)).unwrap();
    let inode = std::fs::metadata(&target).unwrap().ino();
    t.write_file(&file(&target, b"v2\n")).await.unwrap();
    let meta = std::fs::metadata(&target).unwrap();
    assert_ne!(
        meta.ino(),
        inode,
        "the target must be replaced by rename, not rewritten"
    );
    assert_eq!(meta.permissions().mode() & 0o7777, 0o640);
    assert_eq!(std::fs::read(&target).unwrap(), b"v2\n");

    // Explicit mode; empty content.
    t.write_file(&WriteFile {
        mode: Some(0o600),
        ..file(&target, b"")
    })
    .await
    .unwrap();
    assert_eq!(mode_of(&target), 0o600);
    assert_eq!(t.read_file(&target).await.unwrap(), Some(vec![]));

    if is_root() {
        // Owner by name, then kept on the next write that does not name one.
        let owned = WriteFile {
            owner: Some("nobody".into()),
            group: Some("root".into()),
            ..file(&target, b"x")
        };
        t.write_file(&owned).await.unwrap();
        let nobody = std::fs::metadata(&target).unwrap().uid();
        assert_ne!(nobody, 0);
        t.write_file(&file(&target, b"y")).await.unwrap();
        assert_eq!(std::fs::metadata(&target).unwrap().uid(), nobody);
        t.write_file(&WriteFile {
            owner: Some("root".into()),
            ..file(&target, b"z")
        })
        .await
        .unwrap();
        let meta = std::fs::metadata(&target).unwrap();
        assert_eq!((meta.uid(), meta.gid()), (0, 0));
        // chown clears setuid bits, so the mode must be set after it.
        t.write_file(&WriteFile {
            owner: Some("nobody".into()),
            mode: Some(0o4750),
            ..file(&target, b"s")
        })
        .await
        .unwrap();
        assert_eq!(mode_of(&target), 0o4750);
    } else {
        eprintln!("not root: owner checks skipped");
    }

    // Failures leave the target alone and no temp file behind.
    let bad_owner = WriteFile {
        owner: Some("no-such-user-kbz".into()),
        ..file(&target, b"never")
    };
    let e = t.write_file(&bad_owner).await.unwrap_err();
    assert!(matches!(e, TransportError::WriteFile { .. }), "{e}");
    assert!(e.to_string().contains("cannot set the owner/group"), "{e}");
    let e = t
        .write_file(&file(&format!("{}/missing/x", dir.display()), b"x"))
        .await
        .unwrap_err();
    assert!(matches!(e, TransportError::WriteFile { .. }), "{e}");
    assert_ne!(std::fs::read(&target).unwrap(), b"never");
    assert!(
        temp_leftovers(&dir).is_empty(),
        "{:?}",
        temp_leftovers(&dir)
    );

    let n = 20;
    let started = Instant::now();
    for i in 0..n {
        t.write_file(&file(&target, format!("config {i}\n").as_bytes()))
            .await
            .unwrap();
    }
    eprintln!(
        "write_file small file over an existing one: {} per call (mean of {n})",
        ms(started.elapsed() / n)
    );
    let started = Instant::now();
    for _ in 0..n {
        t.read_file(&target).await.unwrap().unwrap();
    }
    eprintln!(
        "read_file small file: {} per call (mean of {n})",
        ms(started.elapsed() / n)
    );
    let big = vec![7u8; 20 << 20];
    let started = Instant::now();
    t.write_file(&file(&target, &big)).await.unwrap();
    eprintln!("write_file 20 MB: {}", ms(started.elapsed()));
    assert_eq!(std::fs::metadata(&target).unwrap().len(), big.len() as u64);
    assert!(temp_leftovers(&dir).is_empty());
    t.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs sshd, the OpenSSH client, sudo, and root: bash tests/run.sh installs them; run it as root"]
async fn become_through_sudo() {
    let sshd = sshd();
    // Becoming another user without a password needs a sudoers entry; as
    // root it works out of the box (root may sudo to anyone).
    assert!(
        is_root() && Path::new("/usr/bin/sudo").exists(),
        "become needs root (and sudo) on this loopback host: run as root, with sudo installed"
    );
    let mut opts = sshd.opts();
    opts.become_ = Some(Become {
        user: "nobody".into(),
    });
    let t = Transport::connect(&opts).await.unwrap();
    let out = t.exec("id -un; echo warn >&2; exit 4", None).await.unwrap();
    assert_eq!(
        (out.rc, &out.stdout[..], &out.stderr[..]),
        (4, &b"nobody\n"[..], &b"warn\n"[..])
    );
    let out = t.exec("cat", Some(b"through sudo")).await.unwrap();
    assert_eq!(out.stdout, b"through sudo");
    let long = format!("{}id -un >&2", ": padding line\n".repeat(20_000));
    let out = t.exec(&long, None).await.unwrap();
    assert_eq!((out.rc, &out.stderr[..]), (0, &b"nobody\n"[..]));
    t.close().await.unwrap();

    opts.become_ = Some(Become::default());
    let t = Transport::connect(&opts).await.unwrap();
    let target = sshd.path("root-owned");
    t.write_file(&WriteFile {
        owner: Some("nobody".into()),
        mode: Some(0o600),
        ..file(&target, b"secret")
    })
    .await
    .unwrap();
    assert_eq!(
        t.read_file(&target).await.unwrap().as_deref(),
        Some(&b"secret"[..])
    );
    assert_eq!(t.read_file(&sshd.path("nope")).await.unwrap(), None);
    t.close().await.unwrap();

    opts.become_ = Some(Become {
        user: "no-such-user-kbz".into(),
    });
    let t = Transport::connect(&opts).await.unwrap();
    let e = t.exec("true", None).await.unwrap_err();
    assert!(matches!(e, TransportError::Become { .. }), "{e}");
    assert!(!e.is_unreachable());
    eprintln!("become error reads: {e}");
    t.close().await.unwrap();
}
