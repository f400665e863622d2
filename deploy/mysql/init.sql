-- First-start initialisation of the MySQL 8 container (docker-compose.yml
-- mounts this file into /docker-entrypoint-initdb.d/). One schema and one
-- user per service, each user granted only its own schema, so a compromised
-- service cannot read another's data. Each service runs its own migrations.
--
-- The passwords below are DEVELOPMENT DEFAULTS matching docker-compose.yml.
-- Change them (here and in .env) for anything but a local sandbox.

CREATE DATABASE IF NOT EXISTS wework_user     CHARACTER SET utf8mb4 COLLATE utf8mb4_0900_ai_ci;
CREATE DATABASE IF NOT EXISTS wework_account  CHARACTER SET utf8mb4 COLLATE utf8mb4_0900_ai_ci;
CREATE DATABASE IF NOT EXISTS wework_message  CHARACTER SET utf8mb4 COLLATE utf8mb4_0900_ai_ci;
CREATE DATABASE IF NOT EXISTS wework_callback CHARACTER SET utf8mb4 COLLATE utf8mb4_0900_ai_ci;
CREATE DATABASE IF NOT EXISTS wework_task     CHARACTER SET utf8mb4 COLLATE utf8mb4_0900_ai_ci;

CREATE USER IF NOT EXISTS 'wework_user'@'%'     IDENTIFIED BY 'wework_user_dev';
CREATE USER IF NOT EXISTS 'wework_account'@'%'  IDENTIFIED BY 'wework_account_dev';
CREATE USER IF NOT EXISTS 'wework_message'@'%'  IDENTIFIED BY 'wework_message_dev';
CREATE USER IF NOT EXISTS 'wework_callback'@'%' IDENTIFIED BY 'wework_callback_dev';
CREATE USER IF NOT EXISTS 'wework_task'@'%'     IDENTIFIED BY 'wework_task_dev';

GRANT ALL PRIVILEGES ON wework_user.*     TO 'wework_user'@'%';
GRANT ALL PRIVILEGES ON wework_account.*  TO 'wework_account'@'%';
GRANT ALL PRIVILEGES ON wework_message.*  TO 'wework_message'@'%';
GRANT ALL PRIVILEGES ON wework_callback.* TO 'wework_callback'@'%';
GRANT ALL PRIVILEGES ON wework_task.*     TO 'wework_task'@'%';

FLUSH PRIVILEGES;
