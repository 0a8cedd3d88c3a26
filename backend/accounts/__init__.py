"""Who signs in: staff accounts, residents, and binding a WeChat account to either."""
