-- Where a brand's service lives (ISSUE-16): the pages that end without a relying party to return
-- to (a direct login, a logout, an error) lead there. An absolute https URL (http on loopback),
-- at most 512 bytes, checked where the operator gives it (sekisho_core::service_url). NULL: none.
ALTER TABLE brands ADD COLUMN service_url TEXT;
