"""The only place with SQL: the store's schema, its versions and migrations, and typed methods."""
