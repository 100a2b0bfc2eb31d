ALTER TABLE quotes DROP COLUMN decided_by_name, DROP COLUMN decided_from, DROP COLUMN decided_user_agent;
DROP TABLE quote_links;
DROP TABLE quote_sendings;
ALTER TABLE settings DROP COLUMN quote_email_subject, DROP COLUMN quote_email_text;
