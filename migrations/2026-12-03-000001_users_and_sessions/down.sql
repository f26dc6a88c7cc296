DROP TABLE app_settings;
DROP TABLE user_tokens;
DROP TABLE sessions;
DROP TABLE recovery_codes;
DROP TABLE users;
