//! Vault password files as Ansible reads them: a file's content, or an
//! executable's output.

use std::path::Path;

use super::PasswordError;

/// Reads a password file as Ansible does: an executable file is run and its
/// standard output, end-of-line characters stripped, is the password (a
/// `*-client` script gets `--vault-id LABEL`); any other file's content,
/// surrounding whitespace stripped, is the password.
pub fn read_password_file(file: &Path, label: &str) -> Result<Vec<u8>, PasswordError> {
    let fail = |reason: String| PasswordError::File {
        file: file.to_path_buf(),
        reason,
    };
    let meta = std::fs::metadata(file).map_err(|e| fail(e.to_string()))?;
    let password = if is_executable(&meta) {
        run_password_script(file, label).map_err(fail)?
    } else {
        let bytes = std::fs::read(file).map_err(|e| fail(e.to_string()))?;
        bytes.trim_ascii().to_vec()
    };
    if password.is_empty() {
        return Err(fail("the password is empty".to_owned()));
    }
    Ok(password)
}

fn is_executable(meta: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::PermissionsExt;
    meta.is_file() && meta.permissions().mode() & 0o111 != 0
}

/// Runs a password script; its stderr goes to the operator's terminal, as
/// with Ansible (a script may prompt there).
fn run_password_script(file: &Path, label: &str) -> Result<Vec<u8>, String> {
    let mut command = std::process::Command::new(file);
    if is_client_script(file) {
        command.args(["--vault-id", label]);
    }
    let out = command
        .stdin(std::process::Stdio::inherit())
        .stderr(std::process::Stdio::inherit())
        .output()
        .map_err(|e| format!("cannot run it: {e}"))?;
    if !out.status.success() {
        return Err(format!("the script failed ({})", out.status));
    }
    let end = out
        .stdout
        .iter()
        .rposition(|&b| b != b'\r' && b != b'\n')
        .map_or(0, |i| i + 1);
    let start = out.stdout[..end]
        .iter()
        .position(|&b| b != b'\r' && b != b'\n')
        .unwrap_or(end);
    Ok(out.stdout[start..end].to_vec())
}

/// Ansible's `script_is_client`: `NAME-client` or `NAME-client.EXT`.
fn is_client_script(file: &Path) -> bool {
    file.file_stem()
        .and_then(|s| s.to_str())
        .is_some_and(|s| s.ends_with("-client"))
}
