//! Typed identifiers: a customer id cannot be passed where a workspace id is expected.

use std::fmt;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! typed_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(Uuid);

        impl $name {
            /// A new time-ordered (UUID v7) id.
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }

            /// Wraps an existing UUID.
            pub const fn from_uuid(id: Uuid) -> Self {
                Self(id)
            }

            /// The underlying UUID.
            pub const fn as_uuid(&self) -> &Uuid {
                &self.0
            }

            /// Consumes the id, returning the UUID.
            pub const fn into_uuid(self) -> Uuid {
                self.0
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl From<Uuid> for $name {
            fn from(id: Uuid) -> Self {
                Self(id)
            }
        }

        impl From<$name> for Uuid {
            fn from(id: $name) -> Self {
                id.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

typed_id!(
    /// Identifies a customer.
    CustomerId
);
typed_id!(
    /// Identifies a contact person of a customer.
    ContactId
);
typed_id!(
    /// Identifies an address of a customer.
    AddressId
);
typed_id!(
    /// Identifies a note on a customer.
    NoteId
);
typed_id!(
    /// Identifies an organization (the tenant).
    OrganizationId
);
typed_id!(
    /// Identifies a workspace inside an organization.
    WorkspaceId
);
typed_id!(
    /// Identifies a user (an actor: who created or changed something).
    UserId
);

/// The tenant boundary of every operation: an organization and one of its workspaces.
///
/// Every repository call takes a scope; a record outside it behaves exactly as if it did not exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Scope {
    /// The organization, from the caller's token.
    pub organization_id: OrganizationId,
    /// The workspace, from the request path.
    pub workspace_id: WorkspaceId,
}

impl Scope {
    /// A scope for an organization's workspace.
    pub const fn new(organization_id: OrganizationId, workspace_id: WorkspaceId) -> Self {
        Self {
            organization_id,
            workspace_id,
        }
    }
}
