-- Issue 6: a user is invited (registered by the contractor or an admin, not yet signed up),
-- active, or disabled by the contractor or an admin. Only active users sign in or keep tokens.
ALTER TABLE users ADD COLUMN status TEXT NOT NULL DEFAULT 'active';
