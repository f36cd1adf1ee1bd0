//! `copy`: a file with given content, from a string or a local file.

use kbz_engine::op::{OpArgs, Operation, Param};
use serde::Deserialize;

use super::attrs::{Attrs, Mode};
use super::content::ContentOp;
use super::edit::OnPath;
use super::values::{absolute_path, yes};
use super::{exactly_one, Build, Env, Failure};

/// Arguments of `copy()`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Args {
    dest: String,
    #[serde(default)]
    content: Option<String>,
    #[serde(default)]
    src: Option<String>,
    #[serde(default)]
    mode: Option<Mode>,
    #[serde(default)]
    owner: Option<String>,
    #[serde(default)]
    group: Option<String>,
    #[serde(default)]
    validate: Option<String>,
    #[serde(default = "yes")]
    force: bool,
}

/// The parameters `copy` and `template` both have, documented once.
pub(crate) const DEST: Param = Param {
    name: "dest",
    ty: "string",
    default: None,
    doc: "Absolute path of the file on the host, e.g. \"/etc/motd\". Written atomically (temp file, then rename); an existing directory there is an error.",
};
/// See [`DEST`].
pub(crate) const MODE: Param = Param {
    name: "mode",
    ty: "\"0644\" string or int",
    default: Some("unchanged (0644 for a new file)"),
    doc: "Permission bits: \"0640\" (string, always octal) or 0o640 (Rhai octal int; a plain 640 int is decimal).",
};
/// See [`DEST`].
pub(crate) const OWNER: Param = Param {
    name: "owner",
    ty: "string",
    default: Some("unchanged (the remote user for a new file)"),
    doc: "Owner name or numeric uid, e.g. \"root\".",
};
/// See [`DEST`].
pub(crate) const VALIDATE: Param = Param {
    name: "validate",
    ty: "string",
    default: Some("none"),
    doc: "A command that must accept the new content before it replaces the file, with {} for the path of the new (temporary) file, e.g. \"sshd -t -f {}\" or \"haproxy -c -f {}\". On failure the old file stays and the op fails with the command's output. Runs only when the content changes (a mode or owner fix alone is not validated). {} is a copy in a new private folder (mktemp -d, 0700), named as the target and with its final owner and mode, so a service that owns the target's folder cannot swap what the command reads.",
};
/// See [`DEST`].
pub(crate) const FORCE: Param = Param {
    name: "force",
    ty: "bool",
    default: Some("true"),
    doc: "false: write the file only when it does not exist, and otherwise leave it exactly as it is (content, mode, owner), e.g. for a bootstrap seed that the service rewrites itself (sentinel.conf). As Ansible's force: no.",
};
/// See [`DEST`]; `file` has it too, since a group reads the same on any path
/// (its mode and owner defaults differ: directories and links).
pub(crate) const GROUP: Param = Param {
    name: "group",
    ty: "string",
    default: Some("unchanged"),
    doc: "Group name or numeric gid, e.g. \"adm\".",
};

impl OpArgs for Args {
    const OP: &'static str = "copy";
    const SUMMARY: &'static str =
        "Ensure a file has exactly the given content (a string or a local file), mode and owner.";
    const EXAMPLE: &'static str = r#"copy(#{ dest: "/etc/motd", content: "Managed by kbz-play\n" });
copy(#{ src: "app.service", dest: "/etc/systemd/system/app.service", mode: "0644" });
copy(#{ dest: "/etc/ssh/sshd_config.d/10-hardening.conf", content: "PasswordAuthentication no\n", validate: "sshd -t -f {}" });"#;
    const PARAMS: &'static [Param] = &[
        DEST,
        Param {
            name: "content",
            ty: "string",
            default: Some("none"),
            doc: "The file's exact content, e.g. \"vm.swappiness = 10\\n\". Give content or src, not both.",
        },
        Param {
            name: "src",
            ty: "string",
            default: Some("none"),
            doc: "A local file to copy, looked up in `files/` beside the calling script, then the script's folder, then the project's `files/` and root, e.g. \"app.service\".",
        },
        MODE,
        OWNER,
        GROUP,
        VALIDATE,
        FORCE,
    ];
}

impl Build for Args {
    const ENSURES: &'static str = "a file has exactly this content (string or local file), mode and owner; `validate: \"cmd {}\"` checks the new file before it replaces the old; `force: false` writes it only when absent (a seed the service rewrites itself)";

    fn build(self, env: &dyn Env) -> Result<Box<dyn Operation>, Failure> {
        absolute_path("dest", &self.dest)?;
        exactly_one(&[
            ("content", self.content.is_some()),
            ("src", self.src.is_some()),
        ])?;
        let attrs = Attrs::new(self.mode, self.owner, self.group)?;
        let content = match (self.content, self.src) {
            (Some(c), _) => c.into_bytes(),
            (None, Some(src)) => env.read_local(&src)?,
            (None, None) => Vec::new(),
        };
        Ok(OnPath::boxed(
            ContentOp::new(Args::OP, self.dest, content, attrs)
                .validated(self.validate)?
                .forced(self.force),
        ))
    }
}
