-- Issue 15 (refresh rotation grace): the token a spent refresh token was rotated to, so that a
-- client which lost that answer may present the spent token again within the grace and have
-- its unused child replaced (see Store::rotate_refresh_within). NULL: not rotated yet, or
-- superseded by a retry (then a later presentation is reuse).
ALTER TABLE refresh_tokens ADD COLUMN rotated_to TEXT;
