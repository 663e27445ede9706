//! SSTP PDUs: the link-state protocol between Satellite switches
//! (HELLO, LSP, complete and partial sequence-number summaries, FAIL).

use super::MacAddr;
use core::fmt;
use serde::{Deserialize, Serialize};

/// The identity of a Satellite switch in SSTP: its bridge address (the
/// lowest port MAC). Unlike the RSTP Bridge Identifier it carries no
/// priority, so moving the root by priority never changes who a switch is
/// to the link state.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub struct SystemId(pub MacAddr);

impl fmt::Display for SystemId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl fmt::Debug for SystemId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl From<SystemId> for String {
    fn from(s: SystemId) -> String {
        s.to_string()
    }
}

impl TryFrom<String> for SystemId {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        s.parse().map(SystemId)
    }
}
