-- The tutorial's schema (example-app-python-sqlalchemy/dbinit.sql), re-creatable.
-- It works in whatever database the connection URL names; it never switches databases.
DROP TABLE IF EXISTS accounts;
CREATE TABLE accounts (
    id UUID PRIMARY KEY,
    balance INT8
);
