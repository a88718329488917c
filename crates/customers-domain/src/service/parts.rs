//! Contacts, addresses and notes of a customer.
//!
//! Contacts and addresses are part of the customer aggregate: every change to them is a write
//! of the customer (version bumped, `customer.updated` emitted), so marking one primary
//! un-marks the previous one in the same transaction. Notes are not: a customer may have any
//! number of them, and they are stored on their own.

use crate::commands::{MAX_ADDRESSES, MAX_CONTACTS, NewAddress, NewContact};
use crate::error::{CustomerError, ValidationErrors};
use crate::ids::{AddressId, ContactId, CustomerId, NoteId, Scope, UserId};
use crate::model::{CustomerAddress, CustomerContact, CustomerNote};
use crate::ports::{Clock, CustomerCache, CustomerRepository, CustomerSearch, EventPublisher, RepositoryError};
use crate::query::Page;

use super::{Children, CustomerService, change_events, internal};

const CONTACTS: Children = Children {
    contacts: true,
    addresses: false,
};
const ADDRESSES: Children = Children {
    contacts: false,
    addresses: true,
};

/// Un-marks every other primary contact when `keep` is primary.
fn single_primary_contact(contacts: &mut [CustomerContact], keep: ContactId) {
    if contacts.iter().any(|c| c.id == keep && c.is_primary) {
        for contact in contacts.iter_mut().filter(|c| c.id != keep) {
            contact.is_primary = false;
        }
    }
}

/// Un-marks every other primary address of the same type when `keep` is primary.
fn single_primary_address(addresses: &mut [CustomerAddress], keep: AddressId) {
    let Some(kept) = addresses
        .iter()
        .find(|a| a.id == keep && a.is_primary)
        .map(|a| a.address_type)
    else {
        return;
    };
    for address in addresses.iter_mut().filter(|a| a.id != keep && a.address_type == kept) {
        address.is_primary = false;
    }
}

impl<R, S, C, E, K> CustomerService<R, S, C, E, K>
where
    R: CustomerRepository,
    S: CustomerSearch,
    C: CustomerCache,
    E: EventPublisher,
    K: Clock,
{
    /// The customer's contacts.
    pub async fn contacts(&self, scope: Scope, customer: CustomerId) -> Result<Vec<CustomerContact>, CustomerError> {
        Ok(self.get(scope, customer).await?.contacts)
    }

    /// One contact of the customer.
    pub async fn contact(
        &self,
        scope: Scope,
        customer: CustomerId,
        contact: ContactId,
    ) -> Result<CustomerContact, CustomerError> {
        self.contacts(scope, customer)
            .await?
            .into_iter()
            .find(|c| c.id == contact)
            .ok_or(CustomerError::PartNotFound("contact"))
    }

    /// Adds a contact; when it is primary, the previous primary contact is un-marked.
    pub async fn add_contact(
        &self,
        scope: Scope,
        actor: UserId,
        customer: CustomerId,
        input: NewContact,
    ) -> Result<CustomerContact, CustomerError> {
        let (before, after, now) = self
            .write(scope, actor, customer, None, CONTACTS, |current, now| {
                if current.contacts.len() >= MAX_CONTACTS {
                    return Err(ValidationErrors::single(
                        "contacts",
                        format!("a customer has at most {MAX_CONTACTS} contacts"),
                    )
                    .into());
                }
                let mut next = current.clone();
                let contact = input.clone().into_contact(current.id, now);
                let id = contact.id;
                next.contacts.push(contact);
                single_primary_contact(&mut next.contacts, id);
                Ok(next)
            })
            .await?;
        self.publish(change_events(&before, &after, actor, now)).await;
        after
            .contacts
            .last()
            .cloned()
            .ok_or_else(|| CustomerError::Internal("added contact missing".into()))
    }

    /// Replaces a contact's fields (its id and creation time stay).
    pub async fn replace_contact(
        &self,
        scope: Scope,
        actor: UserId,
        customer: CustomerId,
        contact: ContactId,
        input: NewContact,
    ) -> Result<CustomerContact, CustomerError> {
        let (before, after, now) = self
            .write(scope, actor, customer, None, CONTACTS, |current, now| {
                let mut next = current.clone();
                let slot = next
                    .contacts
                    .iter_mut()
                    .find(|c| c.id == contact)
                    .ok_or(CustomerError::PartNotFound("contact"))?;
                let mut replacement = input.clone().into_contact(current.id, now);
                replacement.id = slot.id;
                replacement.created_at = slot.created_at;
                *slot = replacement;
                single_primary_contact(&mut next.contacts, contact);
                Ok(next)
            })
            .await?;
        self.publish(change_events(&before, &after, actor, now)).await;
        after
            .contacts
            .into_iter()
            .find(|c| c.id == contact)
            .ok_or(CustomerError::PartNotFound("contact"))
    }

    /// Removes a contact.
    pub async fn remove_contact(
        &self,
        scope: Scope,
        actor: UserId,
        customer: CustomerId,
        contact: ContactId,
    ) -> Result<(), CustomerError> {
        let (before, after, now) = self
            .write(scope, actor, customer, None, CONTACTS, |current, _| {
                let mut next = current.clone();
                let count = next.contacts.len();
                next.contacts.retain(|c| c.id != contact);
                if next.contacts.len() == count {
                    return Err(CustomerError::PartNotFound("contact"));
                }
                Ok(next)
            })
            .await?;
        self.publish(change_events(&before, &after, actor, now)).await;
        Ok(())
    }

    /// The customer's addresses.
    pub async fn addresses(&self, scope: Scope, customer: CustomerId) -> Result<Vec<CustomerAddress>, CustomerError> {
        Ok(self.get(scope, customer).await?.addresses)
    }

    /// One address of the customer.
    pub async fn address(
        &self,
        scope: Scope,
        customer: CustomerId,
        address: AddressId,
    ) -> Result<CustomerAddress, CustomerError> {
        self.addresses(scope, customer)
            .await?
            .into_iter()
            .find(|a| a.id == address)
            .ok_or(CustomerError::PartNotFound("address"))
    }

    /// Adds an address; when it is primary, the previous primary address of its type is
    /// un-marked.
    pub async fn add_address(
        &self,
        scope: Scope,
        actor: UserId,
        customer: CustomerId,
        input: NewAddress,
    ) -> Result<CustomerAddress, CustomerError> {
        let (before, after, now) = self
            .write(scope, actor, customer, None, ADDRESSES, |current, now| {
                if current.addresses.len() >= MAX_ADDRESSES {
                    return Err(ValidationErrors::single(
                        "addresses",
                        format!("a customer has at most {MAX_ADDRESSES} addresses"),
                    )
                    .into());
                }
                let mut next = current.clone();
                let address = input.clone().into_address(current.id, now);
                let id = address.id;
                next.addresses.push(address);
                single_primary_address(&mut next.addresses, id);
                Ok(next)
            })
            .await?;
        self.publish(change_events(&before, &after, actor, now)).await;
        after
            .addresses
            .last()
            .cloned()
            .ok_or_else(|| CustomerError::Internal("added address missing".into()))
    }

    /// Replaces an address's fields (its id and creation time stay).
    pub async fn replace_address(
        &self,
        scope: Scope,
        actor: UserId,
        customer: CustomerId,
        address: AddressId,
        input: NewAddress,
    ) -> Result<CustomerAddress, CustomerError> {
        let (before, after, now) = self
            .write(scope, actor, customer, None, ADDRESSES, |current, now| {
                let mut next = current.clone();
                let slot = next
                    .addresses
                    .iter_mut()
                    .find(|a| a.id == address)
                    .ok_or(CustomerError::PartNotFound("address"))?;
                let mut replacement = input.clone().into_address(current.id, now);
                replacement.id = slot.id;
                replacement.created_at = slot.created_at;
                *slot = replacement;
                single_primary_address(&mut next.addresses, address);
                Ok(next)
            })
            .await?;
        self.publish(change_events(&before, &after, actor, now)).await;
        after
            .addresses
            .into_iter()
            .find(|a| a.id == address)
            .ok_or(CustomerError::PartNotFound("address"))
    }

    /// Removes an address.
    pub async fn remove_address(
        &self,
        scope: Scope,
        actor: UserId,
        customer: CustomerId,
        address: AddressId,
    ) -> Result<(), CustomerError> {
        let (before, after, now) = self
            .write(scope, actor, customer, None, ADDRESSES, |current, _| {
                let mut next = current.clone();
                let count = next.addresses.len();
                next.addresses.retain(|a| a.id != address);
                if next.addresses.len() == count {
                    return Err(CustomerError::PartNotFound("address"));
                }
                Ok(next)
            })
            .await?;
        self.publish(change_events(&before, &after, actor, now)).await;
        Ok(())
    }

    /// Adds a note by `actor` (`body` from [`crate::commands::NoteDraft::parse`]).
    pub async fn add_note(
        &self,
        scope: Scope,
        actor: UserId,
        customer: CustomerId,
        body: String,
    ) -> Result<CustomerNote, CustomerError> {
        let now = self.clock.now();
        let note = CustomerNote {
            id: NoteId::new(),
            customer_id: customer,
            author_id: actor,
            body,
            created_at: now,
            updated_at: now,
        };
        match self.repository.add_note(scope, &note).await {
            Ok(()) => Ok(note),
            Err(RepositoryError::NotFound) => Err(CustomerError::NotFound),
            Err(other) => Err(internal(other)),
        }
    }

    /// The customer's notes, newest first.
    pub async fn notes(
        &self,
        scope: Scope,
        customer: CustomerId,
        page: u32,
        limit: u32,
    ) -> Result<Page<CustomerNote>, CustomerError> {
        self.repository
            .list_notes(scope, customer, page, limit)
            .await
            .map_err(internal)?
            .ok_or(CustomerError::NotFound)
    }

    /// Changes a note's text. Only its author may, or a user allowed to update any customer
    /// (`may_edit_any`).
    pub async fn update_note(
        &self,
        scope: Scope,
        actor: UserId,
        may_edit_any: bool,
        customer: CustomerId,
        note: NoteId,
        body: String,
    ) -> Result<CustomerNote, CustomerError> {
        let mut stored = self.editable_note(scope, actor, may_edit_any, customer, note).await?;
        stored.body = body;
        stored.updated_at = self.clock.now();
        match self.repository.update_note(scope, &stored).await {
            Ok(()) => Ok(stored),
            Err(RepositoryError::NotFound) => Err(CustomerError::PartNotFound("note")),
            Err(other) => Err(internal(other)),
        }
    }

    /// Deletes a note, under the same rule as [`CustomerService::update_note`].
    pub async fn delete_note(
        &self,
        scope: Scope,
        actor: UserId,
        may_edit_any: bool,
        customer: CustomerId,
        note: NoteId,
    ) -> Result<(), CustomerError> {
        self.editable_note(scope, actor, may_edit_any, customer, note).await?;
        if self
            .repository
            .delete_note(scope, customer, note)
            .await
            .map_err(internal)?
        {
            Ok(())
        } else {
            Err(CustomerError::PartNotFound("note"))
        }
    }

    async fn editable_note(
        &self,
        scope: Scope,
        actor: UserId,
        may_edit_any: bool,
        customer: CustomerId,
        note: NoteId,
    ) -> Result<CustomerNote, CustomerError> {
        let stored = match self
            .repository
            .get_note(scope, customer, note)
            .await
            .map_err(internal)?
        {
            Some(stored) => stored,
            None => {
                // Tell a missing customer from a missing note.
                self.load(scope, customer).await?;
                return Err(CustomerError::PartNotFound("note"));
            }
        };
        if stored.author_id != actor && !may_edit_any {
            return Err(CustomerError::Forbidden(
                "only the author or a user with customers:update may change a note",
            ));
        }
        Ok(stored)
    }
}
