"""The organisation residents reach: terms, stations, deputies, groups, departments, deputies' QR codes and posters, the roster Excel and public lookups."""
