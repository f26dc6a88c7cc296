DROP INDEX api_tokens_by_user;
DROP TABLE api_tokens;
