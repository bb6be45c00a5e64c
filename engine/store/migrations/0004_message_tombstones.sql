-- Deleted messages, version 4: what is left of a message deleted over the REST API or the
-- embedding API, so a carrier's late retry of it is not stored again.
--
-- A deleted message's rows go (its message, raw payload and deliveries with their
-- attempts); its carrier ids stay in `carrier_ids`, still naming the deleted id, so a
-- retried part is "seen" and ignored. Its own carrier id is also kept here: the store
-- loads these when it opens and answers a retry of the whole message as a duplicate,
-- writing nothing. Nothing on the ingest path reads or writes this table.

CREATE TABLE message_tombstones (
    carrier TEXT NOT NULL,
    carrier_message_id TEXT NOT NULL,
    message_id BLOB NOT NULL,
    tenant TEXT NOT NULL,
    deleted_at INTEGER NOT NULL,
    PRIMARY KEY (carrier, carrier_message_id)
) WITHOUT ROWID;
