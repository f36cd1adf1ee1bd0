//! The MinIO image tag: MinIO's release tags carry seconds
//! (RELEASE.YYYY-MM-DDTHH-MM-SSZ); any other form names no image, so the
//! minio role fails the run, naming where the tag comes from and the form.

use super::*;

#[test]
fn the_pinned_minio_tag_is_a_full_release_tag() {
    let cmds = read("minio-01", "commands.sh");
    assert!(
        cmds.contains(" minio/minio:RELEASE.2024-10-02T17-50-41Z server "),
        "{cmds}"
    );
}

#[test]
fn a_minio_tag_without_the_release_form_fails_the_render() {
    for bad in [
        "minio/minio:RELEASE.2024-10-02T10-00Z",
        "minio/minio:RELEASE.2024-10-02T17-50-4xZ",
        "minio/minio:2024-10-02",
    ] {
        let o = ImageRender::new("minio", bad, "minio").output;
        let log = common::text(&o);
        assert!(!o.status.success(), "{bad} rendered\n{log}");
        for part in [
            format!("MinIO image '{bad}'"),
            "images.minio in playbooks/versions.yaml".to_string(),
            "the tag must be RELEASE.YYYY-MM-DDTHH-MM-SSZ".to_string(),
        ] {
            assert!(log.contains(&part), "{bad}: no `{part}`\n{log}");
        }
    }
}
