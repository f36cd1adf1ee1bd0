//! The SSH guard: refusing a rule set that would lock out the SSH
//! connection this run goes through (and every later run).
//!
//! kbz-play cannot know which address the controller connects from, so a
//! rule restricted to a source CIDR counts as allowing SSH; only the port
//! and protocol are checked.

use kbz_engine::op::OpError;

use super::rule::Wanted;
use super::{Policy, Proto, UfwOp, Verdict};

impl Wanted {
    /// Whether the rule names `port` over tcp (explicitly, or all ports when
    /// it gives none and `all_ports` says that counts).
    fn covers(&self, port: u16, all_ports: bool) -> bool {
        if self.proto == Proto::Udp {
            return false;
        }
        let Some(spec) = &self.port else {
            return all_ports;
        };
        spec.split(',').any(|item| match item.split_once(':') {
            Some((a, b)) => {
                a.parse::<u16>().is_ok_and(|a| a <= port)
                    && b.parse::<u16>().is_ok_and(|b| port <= b)
            }
            None => item.parse::<u16>() == Ok(port),
        })
    }
}

impl UfwOp {
    /// Refuses a rule set that would cut the connection this run uses.
    ///
    /// Run before anything is planned, so a locking-out rule set never
    /// touches the host: a rule that denies or rejects the SSH port is
    /// refused, and so is enabling the firewall with a closed incoming
    /// policy and no rule that allows or limits it.
    pub(super) fn check_ssh(&self) -> Result<(), OpError> {
        let port = self.ssh_port;
        if let Some(r) = self
            .rules
            .iter()
            .find(|r| matches!(r.verdict, Verdict::Deny | Verdict::Reject) && r.covers(port, false))
        {
            return Err(OpError::Conflict(format!(
                "refusing the rule `{}`: it would {} SSH (port {port}), which this run connects through",
                r.rule().command(),
                r.verdict.word()
            )));
        }
        let closed = self.enabled && self.incoming != Policy::Allow;
        let open = self
            .rules
            .iter()
            .any(|r| matches!(r.verdict, Verdict::Allow | Verdict::Limit) && r.covers(port, true));
        if closed && !open {
            return Err(OpError::Conflict(format!(
                "refusing to enable ufw with default_incoming \"{}\": no rule allows SSH (port {port}/tcp), \
                 so this run would lock itself out; add #{{ rule: \"allow\", port: {port}, proto: \"tcp\" }} \
                 (with from: a CIDR holding the controller's address, to narrow it), or set ssh_port",
                self.incoming.word()
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::rule::wanted;
    use super::*;

    #[test]
    fn ssh_coverage() {
        assert!(wanted(Verdict::Allow, "any", Some("22"), Proto::Tcp).covers(22, true));
        assert!(wanted(Verdict::Allow, "any", Some("20:30"), Proto::Tcp).covers(22, true));
        assert!(wanted(Verdict::Allow, "any", Some("80,22"), Proto::Tcp).covers(22, true));
        assert!(!wanted(Verdict::Allow, "any", Some("22"), Proto::Udp).covers(22, true));
        assert!(wanted(Verdict::Allow, "10.0.0.0/8", None, Proto::Any).covers(22, true));
        assert!(!wanted(Verdict::Deny, "10.0.0.0/8", None, Proto::Any).covers(22, false));
    }
}
