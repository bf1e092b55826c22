"""Infrastructure: the database, the event store and the SQL behind it."""
