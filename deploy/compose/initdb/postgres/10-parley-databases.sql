-- One database per service (each service owns its data and never reads another's tables), owned by
-- the `parley` user (POSTGRES_USER). The postgres image runs this once, on an empty data volume.
CREATE DATABASE parley_gateway;
CREATE DATABASE parley_leads;
CREATE DATABASE parley_catalog;
CREATE DATABASE parley_scheduler;
CREATE DATABASE parley_voice_bridge;
CREATE DATABASE parley_rag;
CREATE DATABASE parley_prospectus;
CREATE DATABASE parley_mailer;
