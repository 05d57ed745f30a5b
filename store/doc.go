// Package store is Valv's vault: a folder with a directory file and one
// bbolt file per compartment, in which everything a person typed is
// sealed.
//
// # Files
//
// A vault folder (mode 0700) holds
//
//   - directory.valv: the format version, the vault id, the recovery
//     recipient, the key holders (public data: card serial, slot,
//     age-plugin-yubikey recipient, signing key, role), the list of
//     compartments and the grants (random ids only), the directory key
//     wrapped to the admins and the recovery key, the names of staff and
//     compartments sealed under the directory key, and the directory's
//     audit log;
//   - <compartment id>.valv for each compartment: its format version and
//     id, its public recipient, its key wrapped (crypto/compartmentkey) to
//     the granted key holders and the recovery key, its grants, and its
//     sealed customers, history, index and audit log.
//
// Files are mode 0600. SPEC.md next to this file gives every bucket and
// what is in the clear.
//
// # Keys and sessions
//
// [Open] opens the files and decrypts nothing. [Vault.Unlock] takes an
// identity (a key holder's card, through crypto/pivage, or the recovery
// key) and returns a [Session] holding what it opens: the directory key
// for an admin or the recovery key, and the key of each compartment
// granted to it. A key holder of compartment A has no key that opens
// anything of compartment B: B is another file with another key.
//
// The directory key is vouched for outside itself by the directory anchor
// (anchor.go, SPEC.md "Directory anchor"): a hash-chained list of
// statements naming the directory key, the recovery recipient, the
// admins' slot 9C keys and every compartment's recipient, each signed by
// an admin's card or the recovery key (with a signing key derived from
// its secret). An admin unlock (which needs the card's signer) and a
// recovery unlock follow the chain from the newest statement they signed
// themselves and refuse ([ErrAnchor]) a directory key, holder list or
// compartment key the chain does not vouch for, before anything is
// wrapped to anyone.
//
// # Sealed intake
//
// Anything encrypted to a compartment's public recipient in the
// store/intake format can be imported while the compartment is locked
// ([Vault.ImportIntake]: no key, the ciphertext stored as-is); its key
// holders list the queue ([Session.IntakeQueue]) and file each item as a
// customer's document ([Session.FileIntake]) or discard it.
//
// # Invariants
//
// These hold after every committed transaction, and so after a crash at
// any point:
//
//   - Every value a person typed is sealed (crypto/seal) under the key of
//     its compartment or the directory, with the record id and version in
//     the associated data: a value copied to another record, version,
//     compartment or purpose does not open.
//   - A customer's current version and its code index entry and lookup
//     tag are written in one transaction with the audit entry that
//     records the change (add: version 1, edit: the new version), so the
//     log says which version is current: a read refuses one its history
//     has passed, and VerifyAudit one its log has passed
//     (record_versions.go). A read (view, reveal, history, list) is returned
//     only if its audit entry was committed.
//   - A compartment's grants, its wrapped key and their keyed tag change
//     together; the compartment file is authoritative, the directory's
//     copy of the grants serves listings.
//   - Each audit log is numbered from 0 without gaps, each entry chained
//     to the previous one by a keyed HMAC (seal.ChainLink) and the sealed
//     head records the size and last link.
//   - A compartment file is replaced only whole: a new file is written
//     under a temporary name, committed (bbolt fsyncs), renamed over the
//     old one, and the folder fsynced. A new vault is made the same way.
//     Rotation ([Session.Revoke]) and erasure ([Session.EraseCustomers],
//     which copies only the live data, so that an erased customer leaves
//     nothing in a free page) replace compartment files so.
//     A leftover temporary file is never read and is replaced by the next
//     writer.
//
// bbolt's own guarantees apply: one writer at a time, readers see
// consistent snapshots, a commit is durable when it returns (fsync), and
// only one process may have a file open (Open fails with [ErrLocked]).
//
// # Audit
//
// Every unlock, failed PIN ([Vault.ReportFailedPIN]), view, reveal,
// history, list, search, add, edit, delete, erasure, retention listing,
// grant, revoke, enrolment, compartment creation, audit verification and
// export, customer import and export (one entry each, beside the "add"
// entry of every imported customer) is an [Entry]: sequence number,
// time, key holder, action, and an object that is a customer code or an
// id (never a name or number; [Entry] refuses anything else). Entries go
// to the log of the compartment concerned, or the directory's. Actions
// taken without the directory key (a failed PIN, a non-admin unlock) are
// encrypted to the directory key's public recipient and chained at the
// next admin unlock; anyone can encrypt to it, so an unlock is signed by
// the card when the session has its signer (else it is chained as
// unlock-unsigned) and a failed PIN names its card (pending.go). A sealed intake import ([Vault.ImportIntake]), done
// with no key at all, is logged the same way in its compartment, by
// [IntakeHolder], and chained at the compartment's next unlock.
//
// When a session with a signer (the card's slot 9C key) is locked, the
// head of every log it wrote is signed as a [Checkpoint], chained to the
// log's previous one (the sealed head names the newest), and recording
// where the other files' logs end: a directory checkpoint every
// compartment's, a compartment checkpoint the directory's
// (checkpoint.go). [Session.VerifyAudit] checks each file's pages
// (bbolt's Tx.Check, verify_pages.go), numbering, links,
// sealing, the head, every checkpoint and the chain, and each file's log
// against the other files' records of it, and names the first bad entry
// ([AuditError]). An admin or recovery unlock does not open a
// compartment whose file is behind the directory's newest checkpoint (an
// older copy put back), and fails with [ErrRolledBack] if the directory
// is behind a compartment's (rollback.go).
//
// # Search
//
// [Session.SearchCustomers] finds customers by code, personnummer or
// samordningsnummer (any written form, compared as 12 digits), and by
// words of the name, tags and notes, folded (NFKD, marks dropped, lower
// case, ø→o, æ→ae, ß→ss, …: "asa" finds "Åsa") and matched as word
// prefixes. Ranking: code, personnummer, the whole name, name words, name
// prefixes, tags, notes; ties by code.
//
// Each customer has a sealed search entry (its code, name, personnummer,
// tags and notes) in the `search` bucket, written in the transaction that
// writes its record and bound to the record's version. No plaintext index
// is ever on disk. The in-memory index of a compartment is built lazily,
// by the first search of a session in it (never at unlock, so the first
// page of a listing does not wait for it); adds, edits and deletes keep it
// current, and Lock zeroes its text (it lives in arena chunks, see
// search_index.go). Every search is an audit entry ("search") in each
// compartment searched, with the number of hits; the query is never
// logged.
//
// # Staff register
//
// Staff records (name, role, screening with its date and screener, the
// signed NDA with the document itself) are sealed under the directory
// key ([Session.AddStaff], [Session.Screen], [Session.RecordNDA]). A card
// is enrolled only for a person who is screened and has an NDA on file
// ([Session.CheckEnrolment]; the first admin's record is checked by
// [CheckFirstAdmin] before [Create]). Deactivating a person
// ([Session.Deactivate]) revokes their grants, rotating every compartment
// key they held, and the directory key if they were an admin.
//
// # Backups
//
// [Session.Snapshot] gives a consistent copy of every file of the vault
// (read transactions begun together) for store/backup, which writes,
// verifies, restores and rotates backups (docs/backup-format.md). Backups,
// their verification, restores, drills and rotations are audit entries
// ([Session.LogBackup]).
//
// # Formats and migration
//
// Each file records its kind and format version. Opening an older file
// runs its migrations (one function per version step, in one
// transaction); a newer file is refused ([ErrNewerFormat]).
//
// Directory and compartment format 3 chained the checkpoints (the log
// head names the newest); the migration from 2 converts nothing.
//
// Compartment format 2 added the `search` bucket: the migration from 1
// makes it and marks the file; the first search with the key then writes
// the entries of the customers already there and clears the mark.
package store
