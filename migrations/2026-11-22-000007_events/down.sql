DROP FUNCTION publish_events();
DROP TABLE events;
