DROP INDEX tasks_user_search_idx;
-- The extensions stay: other objects of the database may have come to use
-- them since, and keeping an unused extension is harmless.
