"""Personal data (个人信息保护法): retention, a resident's own data and its deletion, key rotation."""
