-- The `mysql` profile: one database (schema) per service, for the `parley` user (MARIADB_USER, created
-- by the image before this runs). Runs once, on an empty data volume.
CREATE DATABASE IF NOT EXISTS parley_gateway CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
CREATE DATABASE IF NOT EXISTS parley_leads CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
CREATE DATABASE IF NOT EXISTS parley_catalog CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
CREATE DATABASE IF NOT EXISTS parley_scheduler CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
CREATE DATABASE IF NOT EXISTS parley_voice_bridge CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
CREATE DATABASE IF NOT EXISTS parley_rag CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
CREATE DATABASE IF NOT EXISTS parley_prospectus CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
CREATE DATABASE IF NOT EXISTS parley_mailer CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
GRANT ALL PRIVILEGES ON parley_gateway.* TO 'parley'@'%';
GRANT ALL PRIVILEGES ON parley_leads.* TO 'parley'@'%';
GRANT ALL PRIVILEGES ON parley_catalog.* TO 'parley'@'%';
GRANT ALL PRIVILEGES ON parley_scheduler.* TO 'parley'@'%';
GRANT ALL PRIVILEGES ON parley_voice_bridge.* TO 'parley'@'%';
GRANT ALL PRIVILEGES ON parley_rag.* TO 'parley'@'%';
GRANT ALL PRIVILEGES ON parley_prospectus.* TO 'parley'@'%';
GRANT ALL PRIVILEGES ON parley_mailer.* TO 'parley'@'%';
