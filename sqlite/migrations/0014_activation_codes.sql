-- The SMS-Activate protocol (issue 21): a service's short code in that protocol
-- ("tg", "wa"…), by which its tools buy it. '' is none; NULL is a row from before
-- codes, which the catalog seed gives its default code once (SeedCatalog) and an
-- admin's edit turns into a value. A code names one service.
ALTER TABLE services ADD COLUMN activation_code TEXT;
CREATE UNIQUE INDEX services_activation_code ON services (activation_code) WHERE activation_code <> '';
