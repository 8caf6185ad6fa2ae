-- Mail bombing (issue 15): how many mails were queued to one address in one clock hour, so that
-- no more than the configured cap are queued (Store::enqueue_mail_capped: a conditional upsert,
-- atomic across nodes). Rows older than two hours are purged.
CREATE TABLE mail_quota (
    to_addr      TEXT NOT NULL,             -- the recipient, lower case
    window_start BIGINT NOT NULL,           -- the hour's first second
    queued       BIGINT NOT NULL,
    PRIMARY KEY (to_addr, window_start)
);
