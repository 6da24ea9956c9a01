-- An app password made from now on carries its row's id (`<id>_<secret>`): a login looks up
-- that one row and runs one argon2 check, whoever logs in and however many passwords they
-- have, so the cost of an attempt no longer tells whether the login is a member. Older rows
-- (and passwords an admin chose) have no id in them and are still checked one by one.
ALTER TABLE app_passwords ADD COLUMN keyed BOOLEAN NOT NULL DEFAULT FALSE;
